//! [`CancelToken`]: what a pending Unix signal is to the kernel's interruptible waits.
//!
//! `Completion::wait_interruptible` and the fence equivalents return
//! [`WaitError::Interrupted`](crate::fence::completion::WaitError::Interrupted) once the token is
//! cancelled, and cancelling *wakes* a waiter that is already asleep: the token remembers which
//! completion its waiter sleeps on and kicks that completion's wake word.
//!
//! # Protocol
//!
//! The token is one word: the address of the completion its waiter is registered on (or 0), a
//! `CANCELLED` bit and a `BUSY` bit.
//! - A waiter registers with a CAS from "no address" to its completion's address; it fails if
//!   the token is already cancelled (the wait returns `Interrupted` unless the completion is
//!   done) or already registered by another concurrent waiter (see below).
//! - [`CancelToken::cancel`] sets `CANCELLED`, and if a waiter is registered it also sets `BUSY`
//!   in the same CAS, kicks the completion (bumps its wake word and wakes all its sleepers), then
//!   clears `BUSY` with Release.
//! - The waiter unregisters before its wait returns and, if `BUSY` is set, waits until it is
//!   cleared. So the completion cannot go away while `cancel` touches it: `BUSY` covers exactly
//!   one atomic add and one `FUTEX_WAKE`.
//!
//! A token has room for one registered waiter at a time. If several threads wait with the same
//! token at once, the first is woken immediately by `cancel`; the others notice the cancellation
//! within [`CancelToken::SHARED_POLL`] (they sleep in slices of that length). Give each waiting
//! thread its own token (clones share the cancellation) for immediate wake-ups.

use crate::fence::completion::Completion;
use crate::sync::{Arc, AtomicUsize, Ordering, spin_hint};
use std::fmt;
use std::time::Duration;

const CANCELLED: usize = 1;
const BUSY: usize = 2;
const ADDR_MASK: usize = !(CANCELLED | BUSY);

/// A cancellation token that stands in for a signal: cancelling it interrupts (and wakes) the
/// interruptible waits that were given it. Clones share one cancellation state.
#[derive(Clone)]
pub struct CancelToken {
    word: Arc<AtomicUsize>,
}

/// Why a waiter could not register with a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegisterError {
    /// The token is cancelled.
    Cancelled,
    /// Another waiter is registered; fall back to sliced sleeping.
    InUse,
}

/// A waiter's registration; unregisters (waiting out a concurrent `cancel`) when dropped.
pub(crate) struct Registration<'a> {
    word: &'a AtomicUsize,
}

impl CancelToken {
    /// How often a waiter that shares its token with another concurrent waiter re-checks it.
    pub const SHARED_POLL: Duration = Duration::from_millis(1);

    /// A new, not cancelled token.
    pub fn new() -> Self {
        CancelToken {
            word: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Cancel: every current and future interruptible wait with this token returns
    /// `Interrupted` (unless what it waits for is already done) until [`reset`](Self::reset).
    pub fn cancel(&self) {
        let mut cur = self.word.load(Ordering::Relaxed);
        let addr = loop {
            if cur & CANCELLED != 0 {
                return;
            }
            let addr = cur & ADDR_MASK;
            let new = cur | CANCELLED | if addr != 0 { BUSY } else { 0 };
            // Acquire: pairs with the waiter's Release registration, so the completion behind
            // `addr` is visible to us. Release: a waiter that sees CANCELLED sees our writes.
            match self
                .word
                .compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => break addr,
                Err(actual) => cur = actual,
            }
        };
        if addr != 0 {
            // SAFETY: `addr` was registered by a waiter from a `&Completion` it holds for the
            // whole wait; that waiter cannot unregister (and so cannot return and release the
            // borrow) while BUSY is set, which we set in the CAS above and clear below.
            let completion = unsafe { &*(addr as *const Completion) };
            completion.kick();
            // Release: the waiter's Acquire that sees BUSY cleared orders our kick before it.
            self.word.fetch_and(!BUSY, Ordering::Release);
        }
    }

    /// Whether the token is cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.word.load(Ordering::Acquire) & CANCELLED != 0
    }

    /// Clear the cancellation (the "signal" has been handled). Waits that already returned
    /// `Interrupted` stay returned.
    pub fn reset(&self) {
        self.word.fetch_and(!CANCELLED, Ordering::AcqRel);
    }

    /// Register `completion` as the one this token's waiter sleeps on.
    pub(crate) fn register<'a>(
        &'a self,
        completion: &'a Completion,
    ) -> Result<Registration<'a>, RegisterError> {
        let addr = completion as *const Completion as usize;
        debug_assert_eq!(
            addr & !ADDR_MASK,
            0,
            "Completion is at least 4-byte aligned"
        );
        let mut cur = self.word.load(Ordering::Relaxed);
        loop {
            if cur & CANCELLED != 0 {
                return Err(RegisterError::Cancelled);
            }
            if cur & ADDR_MASK != 0 {
                return Err(RegisterError::InUse);
            }
            // Release: publishes our (initialised) completion to a canceller's Acquire.
            match self.word.compare_exchange_weak(
                cur,
                cur | addr,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(Registration { word: &self.word }),
                Err(actual) => cur = actual,
            }
        }
    }
}

impl Default for CancelToken {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let mut round = 0;
        let mut cur = self.word.load(Ordering::Acquire);
        loop {
            if cur & BUSY != 0 {
                // A canceller is kicking our completion right now: wait for it to finish.
                spin_hint(&mut round);
                cur = self.word.load(Ordering::Acquire);
                continue;
            }
            // Acquire: if a canceller cleared BUSY, its kick happens before we return.
            match self.word.compare_exchange_weak(
                cur,
                cur & CANCELLED,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => cur = actual,
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn cancel_and_reset() {
        let token = CancelToken::new();
        assert!(!token.is_cancelled());
        token.cancel();
        assert!(token.is_cancelled());
        assert!(token.clone().is_cancelled(), "clones share the state");
        token.cancel();
        token.reset();
        assert!(!token.is_cancelled());
    }

    #[test]
    fn registration_is_exclusive_and_released() {
        let token = CancelToken::new();
        let c = Completion::new();
        let reg = token.register(&c).expect("free token");
        assert_eq!(token.register(&c).err(), Some(RegisterError::InUse));
        drop(reg);
        let reg = token.register(&c).expect("free again");
        token.cancel();
        drop(reg);
        assert_eq!(token.register(&c).err(), Some(RegisterError::Cancelled));
        assert!(token.is_cancelled());
    }
}
