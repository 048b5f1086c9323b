//! Work a lock holder leaves for after the unlock: fences to signal, threads to wake, a reset to
//! run.
//!
//! Fences are signalled *after* the locks are dropped, so a woken waiter never runs into
//! the lock its waker still holds, and the wake-up of all waiters of a fence is one futex call
//! made with no lock held. Delaying the signal is safe: the CS is already out of the mirror
//! list, and its ring slot cannot be reused before its fence is signalled.

use crate::fence::{Fence, Outcome, Timestamp};
use std::cell::Cell;

thread_local! {
    /// This thread's buffer for the signals it collects outside a worker loop (a waiter that
    /// polls the engines, `Core::poll_engines`): allocated at the thread's first poll and kept,
    /// so a poll allocates only if it completes more CSs than the buffer ever held.
    static SPARE: Cell<Vec<PendingSignal>> = const { Cell::new(Vec::new()) };
}

/// A fence to signal once the lock is dropped.
pub(crate) struct PendingSignal {
    pub(crate) fence: Fence,
    pub(crate) outcome: Outcome,
    pub(crate) timestamp: Option<Timestamp>,
    /// The context slot whose outcome store keeps this CS's end (it asked for a timestamp).
    pub(crate) stored_in: Option<u32>,
}

impl PendingSignal {
    /// Signal and drop the CS's reference (`complete_all`, then `hl_fence_put(cs->fence)`).
    fn fire(self) {
        let result = match self.timestamp {
            Some(ts) => self.fence.signal_with_timestamp(self.outcome, ts),
            None => self.fence.signal(self.outcome),
        };
        // why: a record gives its fence away exactly once (`Option::take` at release), so a
        // second signal would be a runtime bug, not something a user can cause.
        debug_assert!(result.is_ok(), "CS fence signalled twice: {result:?}");
    }
}

/// Side effects collected under the submission or completion lock.
#[derive(Default)]
pub(crate) struct Effects {
    /// The usual case holds one signal; only a reset releases many (and may allocate).
    first: Option<PendingSignal>,
    rest: Vec<PendingSignal>,
    /// Lanes whose worker sleeps past a new job's due time.
    pub(crate) wake_lanes: u64,
    /// The TDR thread sleeps past a newly armed deadline.
    pub(crate) wake_tdr: bool,
    /// An engine error or a TDR expiry asks for a device reset (run once the completion lock is
    /// dropped, because the reset takes the submission lock first). Holds the device's reset
    /// count when asked, so a reset that happened in between is not repeated.
    pub(crate) reset: Option<u64>,
}

impl Drop for Effects {
    fn drop(&mut self) {
        // why: a fence dropped here unsignalled would leave its waiters waiting forever; every
        // collection goes through `Core::defer`, whose guard applies it. Debug builds check.
        debug_assert!(
            std::thread::panicking() || (self.first.is_none() && self.reset.is_none()),
            "effects dropped without being applied"
        );
    }
}

impl Effects {
    /// With room for `n` signals beyond the first (worker threads reuse one of these).
    pub(crate) fn with_capacity(n: usize) -> Effects {
        let mut fx = Effects::default();
        fx.rest.reserve_exact(n);
        fx
    }

    /// Effects collecting into this thread's spare buffer, with room for at least `n` signals
    /// beyond the first; [`keep_spare`](Self::keep_spare) gives the buffer back once they were
    /// applied.
    pub(crate) fn thread_spare(n: usize) -> Effects {
        let mut fx = Effects::default();
        // why: `try_with` fails only while the thread's locals are torn down; a fresh buffer
        // is right then.
        fx.rest = SPARE.try_with(Cell::take).unwrap_or_default();
        fx.rest.reserve(n);
        fx
    }

    /// Keep this (applied, so empty) buffer as the thread's spare.
    pub(crate) fn keep_spare(mut self) {
        let rest = std::mem::take(&mut self.rest);
        debug_assert!(rest.is_empty(), "a spare buffer is kept only once applied");
        let _ = SPARE.try_with(|spare| spare.set(rest));
    }

    pub(crate) fn signal(&mut self, fence: Fence, outcome: Outcome, timestamp: Option<Timestamp>) {
        self.push(PendingSignal {
            fence,
            outcome,
            timestamp,
            stored_in: None,
        });
    }

    /// [`signal`](Self::signal), and first record the outcome in context slot `context`'s
    /// outcome store (§2.4 step 10: before `complete_all`, so a waiter that finds the fence gone
    /// finds the outcome).
    pub(crate) fn signal_and_store(
        &mut self,
        context: u32,
        fence: Fence,
        outcome: Outcome,
        timestamp: Option<Timestamp>,
    ) {
        self.push(PendingSignal {
            fence,
            outcome,
            timestamp,
            stored_in: Some(context),
        });
    }

    fn push(&mut self, pending: PendingSignal) {
        if self.first.is_none() {
            self.first = Some(pending);
        } else {
            self.rest.push(pending);
        }
    }

    /// Signal every collected fence; returns how many. `store(context, seq, outcome,
    /// timestamp)` runs before the signal of each fence that is to be kept in an outcome store.
    /// Keeps the buffer's capacity.
    pub(crate) fn fire_signals(
        &mut self,
        mut store: impl FnMut(u32, u64, Outcome, Option<Timestamp>),
    ) -> usize {
        let mut fired = 0;
        let mut fire = |p: PendingSignal| {
            if let Some(context) = p.stored_in {
                store(context, p.fence.seq(), p.outcome, p.timestamp);
            }
            p.fire();
            fired += 1;
        };
        if let Some(p) = self.first.take() {
            fire(p);
        }
        for p in self.rest.drain(..) {
            fire(p);
        }
        fired
    }
}
