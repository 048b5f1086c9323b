//! The two driver locks and their order, as types. The submission lock (`hw_queues_lock`) comes
//! first, the completion lock (`cs_mirror_lock`) second:
//!
//! - [`Locks::submission`] gives a [`SubmissionGuard`]; only that guard can also take the
//!   completion lock ([`SubmissionGuard::completion`], or a [`CompletionLock`] handed down to the
//!   submission code that may need it);
//! - [`Locks::completion`] takes the completion lock alone; nothing reachable from a
//!   [`CompletionGuard`] takes the submission lock. Debug builds also check at run time that a
//!   thread holding a completion guard never asks for the submission lock (a thread-local flag;
//!   release builds carry no cost).

use crate::asic::Asic;
use crate::driver::hw_queues::HwQueues;
use crate::driver::state::State;
use crate::sync::{CacheLine, lock};
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard};

#[cfg(debug_assertions)]
thread_local! {
    /// Completion guards this thread holds (debug builds).
    static COMPLETION_HELD: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Both sides of the driver, each behind its lock.
pub(crate) struct Locks<A: Asic> {
    // why: the submitter takes one lock per CS and a worker the other per batch; on a shared
    // line every lock word write would pull the line from the other CPU (`CacheLine`).
    hw: CacheLine<Mutex<HwQueues<A>>>,
    state: CacheLine<Mutex<State<A>>>,
}

impl<A: Asic> Locks<A> {
    pub(crate) fn new(hw: HwQueues<A>, state: State<A>) -> Locks<A> {
        Locks {
            hw: CacheLine(Mutex::new(hw)),
            state: CacheLine(Mutex::new(state)),
        }
    }

    /// Take the submission lock (first in the order).
    pub(crate) fn submission(&self) -> SubmissionGuard<'_, A> {
        #[cfg(debug_assertions)]
        COMPLETION_HELD.with(|held| {
            assert_eq!(
                held.get(),
                0,
                "lock order: the submission lock is taken before the completion lock"
            );
        });
        SubmissionGuard {
            guard: lock(&self.hw),
            state: &self.state.0,
        }
    }

    /// Take the completion lock alone.
    pub(crate) fn completion(&self) -> CompletionGuard<'_, A> {
        CompletionGuard::take(&self.state.0)
    }
}

/// The submission lock, held.
pub(crate) struct SubmissionGuard<'a, A: Asic> {
    guard: MutexGuard<'a, HwQueues<A>>,
    state: &'a Mutex<State<A>>,
}

impl<'a, A: Asic> SubmissionGuard<'a, A> {
    /// Also take the completion lock (in order: this one is held).
    pub(crate) fn completion(&self) -> CompletionGuard<'a, A> {
        CompletionGuard::take(self.state)
    }

    /// The submission side and the right to take the completion lock while using it.
    pub(crate) fn split(&mut self) -> (&mut HwQueues<A>, CompletionLock<'a, A>) {
        (&mut self.guard, CompletionLock(self.state))
    }
}

impl<A: Asic> Deref for SubmissionGuard<'_, A> {
    type Target = HwQueues<A>;

    fn deref(&self) -> &HwQueues<A> {
        &self.guard
    }
}

impl<A: Asic> DerefMut for SubmissionGuard<'_, A> {
    fn deref_mut(&mut self) -> &mut HwQueues<A> {
        &mut self.guard
    }
}

/// The right to take the completion lock, given only to code that runs under the submission
/// lock (a full handoff ring is drained by the submitter itself).
pub(crate) struct CompletionLock<'a, A: Asic>(&'a Mutex<State<A>>);

impl<'a, A: Asic> CompletionLock<'a, A> {
    pub(crate) fn lock(&self) -> CompletionGuard<'a, A> {
        CompletionGuard::take(self.0)
    }
}

/// The completion lock, held.
pub(crate) struct CompletionGuard<'a, A: Asic> {
    guard: MutexGuard<'a, State<A>>,
}

impl<'a, A: Asic> CompletionGuard<'a, A> {
    fn take(state: &'a Mutex<State<A>>) -> CompletionGuard<'a, A> {
        let guard = lock(state);
        #[cfg(debug_assertions)]
        COMPLETION_HELD.with(|held| held.set(held.get() + 1));
        CompletionGuard { guard }
    }
}

impl<A: Asic> Drop for CompletionGuard<'_, A> {
    fn drop(&mut self) {
        #[cfg(debug_assertions)]
        COMPLETION_HELD.with(|held| held.set(held.get().saturating_sub(1)));
    }
}

impl<A: Asic> Deref for CompletionGuard<'_, A> {
    type Target = State<A>;

    fn deref(&self) -> &State<A> {
        &self.guard
    }
}

impl<A: Asic> DerefMut for CompletionGuard<'_, A> {
    fn deref_mut(&mut self) -> &mut State<A> {
        &mut self.guard
    }
}
