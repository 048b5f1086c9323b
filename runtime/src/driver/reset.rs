//! Device reset (§2.6, `cleanup_resources`): halt the engines, roll back every in-flight CS, wake
//! every waiter, reset the queue pointers; the device then takes work again.
//!
//! The reset holds both the submission lock and the completion lock (taken in that order, the
//! driver's `hw_queues_lock` then `cs_mirror_lock`), so a submitter sees the device either before
//! it (its CS is rolled back) or after it. CSs handed over but not yet in the mirror list are
//! taken in first and rolled back with the rest. Each rolled-back CS gets [`CsEvent::Reset`] and
//! is released; its lifecycle decides the outcome (the default one: aborted, or timed out if the
//! TDR had fired for it, as `timedout` is checked before `aborted`). Its waiters wake when its
//! fence is signalled, right after the locks are dropped.
//!
//! An engine error or a TDR expiry found under the completion lock alone asks for a reset
//! (`Effects::reset`); the device stops taking work at once and runs the reset as soon as that
//! lock is dropped, as the driver queues its reset work. In that short window, as in the
//! driver: submissions and waits get "device not operational", another lane may still complete
//! CSs normally, and a [`Device::mark_needs_reset`](crate::Device::mark_needs_reset)
//! made meanwhile is cleared by the reset that follows. A reset that some other caller ran in
//! the window is not repeated.

use crate::asic::{Asic, CsEvent};
use crate::driver::cs::{self, NIL};
use crate::driver::effects::Effects;
use crate::driver::hw_queues::HwQueues;
use crate::driver::state::State;

impl<A: Asic> State<A> {
    /// Reset the device; `hw` is the submission side, locked by the caller.
    pub(crate) fn reset(&mut self, hw: &mut HwQueues<A>, out: &mut Effects) {
        self.set_operational(false);
        self.resets += 1;
        self.drain(out);
        // halt_engines: nothing queued on an engine will ever come due.
        for heap in self.heaps.iter_mut() {
            heap.clear();
        }
        // A halted engine reports nothing more: later reports of these are refused.
        self.running.clear();
        for jobs in self.engine_jobs.iter_mut() {
            *jobs = 0;
        }
        // hl_cs_rollback_all, oldest first.
        let now = self.now();
        while self.mirror_head != NIL {
            let idx = self.mirror_head;
            let rec = &mut self.records[idx as usize];
            rec.aborted = true;
            cs::fire::<A>(rec, CsEvent::Reset);
            self.release(idx, now, out);
        }
        self.tdr = None;
        // hl_hw_queue_reset.
        for ci in self.handoff.ci.iter() {
            ci.clear();
        }
        for released in self.handoff.cq_released.iter() {
            released.clear();
        }
        // The sync manager is reinitialised with the engines: no monitor armed, every SOB at 0
        // with only its own reference (`sync_stream_queue_reset` for the driver's side).
        self.sm.reset();
        hw.reset();
        self.needs_reset = false;
        // A device torn down (`Core::fini`) stays out of service.
        self.set_operational(!self.handoff.is_dead());
    }
}
