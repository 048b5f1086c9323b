//! Timeout detection (TDR, §2.5): one timer per device, on the oldest in-flight CS that needs
//! one.
//!
//! - A CS that becomes the head of the mirror list at submission arms the timer with its own
//!   timeout.
//! - When a CS is released (`cs_handle_tdr`): nothing happens if it timed out or TDR is off;
//!   otherwise its own timer is cancelled and the first CS of the mirror list that needs a timeout
//!   gets one, unless it has one already. So a queued CS's clock starts when its predecessor
//!   completes, not when it was submitted.
//! - On expiry (`cs_timedout`): a CS that is gone or done is left alone; otherwise it is marked
//!   timed out, [`CsEvent::TimeoutDetected`] is fired, and the reset policy runs: a reset at once
//!   with `reset_on_lockup` (the default), else the device needs a reset and stops taking work
//!   until [`Device::reset`](crate::Device::reset). The TDR never signals the fence
//!   itself; the CS is released, timed out, by the reset or by a late completion.
//!
//! A consequence kept from the driver: after a CS timed out without a reset, its release arms
//! nothing; the next release of a CS that did not time out arms the head again.

use crate::asic::{Asic, CsEvent};
use crate::driver::cs::{self, NIL};
use crate::driver::effects::Effects;
use crate::driver::state::{Armed, State};

impl<A: Asic> State<A> {
    /// Arm the device timer for record `idx`, `timeout` after `now`.
    pub(crate) fn arm(&mut self, idx: u32, now: u64, out: &mut Effects) {
        let rec = &mut self.records[idx as usize];
        let Some(timeout) = rec.timeout_ns else {
            return;
        };
        let deadline = now.saturating_add(timeout);
        rec.tdr_active = true;
        self.tdr = Some(Armed {
            record: idx,
            seq: rec.seq,
            ticket: rec.ticket,
            deadline,
        });
        if deadline < self.tdr_sleep_until {
            self.tdr_sleep_until = 0;
            out.wake_tdr = true;
        }
    }

    /// `cs_handle_tdr`, for record `idx` being released (already out of the mirror list) at
    /// device time `now`.
    pub(crate) fn handle_tdr(&mut self, idx: u32, now: u64, out: &mut Effects) {
        let rec = &mut self.records[idx as usize];
        if crate::driver::hw_queues::tdr_ns(self.cfg.tdr_timeout).is_none() || rec.timed_out {
            return;
        }
        if rec.tdr_active {
            rec.tdr_active = false;
            if self.tdr.is_some_and(|a| a.record == idx) {
                self.tdr = None;
            }
        }
        let mut cur = self.mirror_head;
        while cur != NIL {
            let next = &self.records[cur as usize];
            if next.timeout_ns.is_some() {
                if !next.tdr_active {
                    self.arm(cur, now, out);
                }
                return;
            }
            cur = next.next;
        }
    }

    /// `cs_timedout`: the armed deadline passed.
    pub(crate) fn fire_tdr(&mut self, out: &mut Effects) {
        let Some(armed) = self.tdr.take() else {
            return;
        };
        let rec = &mut self.records[armed.record as usize];
        if rec.ticket != armed.ticket || !rec.submitted {
            return;
        }
        rec.timed_out = true;
        cs::fire::<A>(rec, CsEvent::TimeoutDetected);
        self.tdr_fired += 1;
        // Either way the device stops taking work now.
        self.set_operational(false);
        if self.cfg.reset_on_lockup {
            // Reset once this lock is dropped (it takes the submission lock first).
            self.request_reset(out);
        } else {
            // reset_info.needs_reset: not operational until someone resets the device.
            self.needs_reset = true;
        }
    }
}
