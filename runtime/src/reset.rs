//! Device reset (§2.6, `cleanup_resources`): halt the engines, roll back every in-flight CS, wake
//! every waiter, reset the queue pointers; the device then takes work again.
//!
//! The whole reset runs under the device lock, so a submitter sees the device either before it
//! (its CS is rolled back) or after it. Each rolled-back CS gets [`CsEvent::Reset`] and is
//! released; its lifecycle decides the outcome (the default one: aborted, or timed out if the TDR
//! had fired for it, as `timedout` is checked before `aborted`). Its waiters wake when its fence
//! is signalled, right after the lock is dropped.

use crate::asic::{Asic, CsEvent};
use crate::cs::{self, NIL};
use crate::effects::Effects;
use crate::engine::EngineState;
use crate::state::State;

impl<A: Asic> State<A> {
    /// Reset the device.
    pub(crate) fn reset(&mut self, out: &mut Effects) {
        self.set_operational(false);
        self.stats.resets += 1;
        // halt_engines: nothing queued on an engine will ever come due.
        for lane in self.lanes.iter_mut() {
            lane.heap.clear();
        }
        for engine in self.engines.iter_mut() {
            *engine = EngineState::default();
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
        for q in self.queues.iter_mut() {
            q.reset();
        }
        for cq in self.cqs.iter_mut() {
            cq.reset();
        }
        self.stats.needs_reset = false;
        self.set_operational(true);
    }
}
