//! [`Completion`]: Linux `struct completion` semantics in two words.
//!
//! `done` is a counter of posted, not yet consumed completions: [`Completion::complete`] adds
//! one and wakes one waiter, a successful wait consumes one. [`Completion::complete_all`] makes
//! the completion done for every current and future waiter (nothing is consumed) until
//! [`Completion::reinit`]. Waits come in the kernel's flavours: forever, with a timeout, until a
//! deadline, interruptible (a [`CancelToken`] stands in for a signal) and `try_wait`.
//!
//! # Layout and protocol
//!
//! ```text
//! state (AtomicU32):  [31] ALL | [30:27] tag | [26:13] done | [12:0] waiters
//! wake  (AtomicU32):  wake sequence, the futex word waiters sleep on
//! ```
//!
//! Everything a waker and a waiter must agree on (done, ALL and the number of registered
//! waiters) lives in the one `state` word, so there is never a two-location (Dekker) race and no
//! `SeqCst` is needed:
//! - A waiter reads `wake`, then reads `state`; if nothing is posted it registers itself
//!   (`waiters += 1`, a CAS on `state`) and sleeps on `wake` *only if `wake` still holds the
//!   value read before*.
//! - A waker does one RMW on `state` (`done += 1` or `|= ALL`). The old value tells it whether
//!   any waiter is registered; only then does it bump `wake` (Release) and call `FUTEX_WAKE`.
//!   So a signal with nobody waiting is exactly one atomic RMW and no system call.
//! - No lost wake-up: if the waiter's `state` read came before the waker's RMW, the waker sees
//!   the registration and bumps `wake` after the waiter read it, so the futex refuses to sleep
//!   or is woken. (If the waiter's `wake` read had seen that bump, the Release/Acquire pair would
//!   put the waker's RMW before the waiter's `state` read, which would then have seen it.)
//! - `complete_all` wakes all sleepers with one `FUTEX_WAKE(INT_MAX)`: one system call, no lock
//!   held, no chain of wakers. Each woken waiter unregisters with one CAS.
//! - A waiter that gives up (timeout, interruption) first tries once more to consume: a
//!   completion posted concurrently is taken, never lost, exactly like the kernel's
//!   `do_wait_for_common`, which reports success whenever `done` is set on the way out.
//!
//! The `tag` bits are set atomically with `ALL` by the fence (its outcome); they are zero for a
//! plain completion.
//!
//! Lifetime: unlike the kernel's `completion_done()`, nothing here needs to take a lock to know
//! that a signaller has stopped touching the object: Rust's borrow rules keep the object alive
//! for the whole `complete_all(&self)` call (the signaller holds a reference, an `Arc` or, for a
//! [`Fence`](crate::fence::Fence), a kref), and `FUTEX_WAKE` never dereferences the word.

use crate::fence::cancel::{CancelToken, RegisterError};
use crate::sync::{AtomicU32, Ordering, Park, Parker, earliest};
use std::fmt;
use std::time::{Duration, Instant};

pub(crate) const WAITER_ONE: u32 = 1;
pub(crate) const WAITERS_MASK: u32 = (1 << 13) - 1;
pub(crate) const DONE_SHIFT: u32 = 13;
pub(crate) const DONE_ONE: u32 = 1 << DONE_SHIFT;
pub(crate) const DONE_MAX: u32 = (1 << 14) - 1;
pub(crate) const DONE_MASK: u32 = DONE_MAX << DONE_SHIFT;
pub(crate) const TAG_SHIFT: u32 = 27;
pub(crate) const TAG_MASK: u32 = 0xF << TAG_SHIFT;
pub(crate) const ALL: u32 = 1 << 31;

/// Why a wait returned without the completion (or fence) being done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitError {
    /// The caller's timeout or deadline passed first (the kernel's `0` return). This is the
    /// *waiter* giving up; it says nothing about the CS (compare `Outcome::TimedOut`).
    TimedOut,
    /// The [`CancelToken`] was cancelled first (the kernel's `-ERESTARTSYS`).
    Interrupted,
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WaitError::TimedOut => "wait timed out before completion",
            WaitError::Interrupted => "wait interrupted by cancellation",
        })
    }
}

impl std::error::Error for WaitError {}

/// Why [`Completion::reinit`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReinitError {
    /// Threads are still registered as waiters; reinitialising now could strand them
    /// (the kernel leaves this to the caller; we check it).
    WaitersPresent {
        /// How many waiters were registered.
        waiters: u32,
    },
}

impl fmt::Display for ReinitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReinitError::WaitersPresent { waiters } => {
                write!(
                    f,
                    "cannot reinit a completion with {waiters} waiter(s) present"
                )
            }
        }
    }
}

impl std::error::Error for ReinitError {}

/// A counting completion with the Linux kernel's semantics; see the [module docs](self).
pub struct Completion {
    state: AtomicU32,
    wake: AtomicU32,
    parker: Parker,
}

/// What a consuming wait leaves in `state` when it succeeds, if it can succeed now.
#[inline]
fn take(cur: u32) -> Option<u32> {
    if cur & ALL != 0 {
        Some(cur)
    } else if cur & DONE_MASK != 0 {
        Some(cur - DONE_ONE)
    } else {
        None
    }
}

impl Completion {
    /// Most un-consumed [`complete`](Self::complete) calls remembered; further calls saturate
    /// (the kernel instead flips into `complete_all` mode after `UINT_MAX`).
    pub const MAX_DONE: u32 = DONE_MAX;
    /// Most threads that can sleep on one completion at once; a waiter beyond this polls in
    /// [`CancelToken::SHARED_POLL`] slices instead of sleeping until woken.
    pub const MAX_SLEEPING_WAITERS: u32 = WAITERS_MASK - 1;

    /// A completion with nothing posted (`init_completion`).
    pub fn new() -> Self {
        Completion {
            state: AtomicU32::new(0),
            wake: AtomicU32::new(0),
            parker: Parker::new(),
        }
    }

    /// Post one completion and wake one waiter (`complete`). Does nothing after
    /// [`complete_all`](Self::complete_all) until [`reinit`](Self::reinit).
    /// With nobody waiting this is one atomic RMW (a CAS) and no system call.
    #[inline]
    pub fn complete(&self) {
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            if cur & ALL != 0 {
                return;
            }
            let new = if cur & DONE_MASK == DONE_MASK {
                cur
            } else {
                cur + DONE_ONE
            };
            // Release: a waiter that consumes this unit (Acquire) sees our prior writes.
            match self
                .state
                .compare_exchange_weak(cur, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        if cur & WAITERS_MASK != 0 {
            self.wake_waiters(false);
        }
    }

    /// Complete for every current and future waiter until [`reinit`](Self::reinit)
    /// (`complete_all`). One atomic RMW; with sleepers, one more RMW and one `FUTEX_WAKE` that
    /// wakes all of them at once.
    #[inline]
    pub fn complete_all(&self) {
        // Release: waiters' Acquire loads that see ALL see everything written before.
        let old = self.state.fetch_or(ALL, Ordering::Release);
        if old & WAITERS_MASK != 0 {
            self.wake_waiters(true);
        }
    }

    /// Reset to "nothing posted" (`reinit_completion`). Refuses while waiters are registered.
    pub fn reinit(&self) -> Result<(), ReinitError> {
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            let waiters = cur & WAITERS_MASK;
            if waiters != 0 {
                return Err(ReinitError::WaitersPresent { waiters });
            }
            match self
                .state
                .compare_exchange_weak(cur, 0, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Whether a wait would succeed now (`completion_done`): something is posted or
    /// `complete_all` was called. Consumes nothing.
    #[inline]
    pub fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) & (ALL | DONE_MASK) != 0
    }

    /// Consume one posted completion without sleeping (`try_wait_for_completion`): `true` if one
    /// was consumed (or `complete_all` was called), `false` if a wait would have to sleep.
    #[inline]
    pub fn try_wait(&self) -> bool {
        self.try_take().is_some()
    }

    /// Wait until completed, uninterruptibly (`wait_for_completion`).
    pub fn wait(&self) {
        // Without a deadline or token the only way out is success.
        let _ = self.wait_state(None, None);
    }

    /// Wait at most `timeout` (`wait_for_completion_timeout`). A zero timeout polls.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), WaitError> {
        self.wait_state(deadline_after(timeout), None).map(drop)
    }

    /// Wait until `deadline` at the latest.
    pub fn wait_deadline(&self, deadline: Instant) -> Result<(), WaitError> {
        self.wait_state(Some(deadline), None).map(drop)
    }

    /// Wait until completed or `token` is cancelled (`wait_for_completion_interruptible`).
    /// Cancelling the token wakes this waiter if it is asleep.
    pub fn wait_interruptible(&self, token: &CancelToken) -> Result<(), WaitError> {
        self.wait_state(None, Some(token)).map(drop)
    }

    /// Interruptible wait with a deadline (`wait_for_completion_interruptible_timeout`).
    pub fn wait_interruptible_deadline(
        &self,
        token: &CancelToken,
        deadline: Instant,
    ) -> Result<(), WaitError> {
        self.wait_state(Some(deadline), Some(token)).map(drop)
    }

    /// The raw state word (Acquire), for the fence's lock-free peeks.
    #[inline]
    pub(crate) fn peek(&self) -> u32 {
        self.state.load(Ordering::Acquire)
    }

    /// Set ALL and `tag` in one CAS, unless ALL is already set (then `Err(old state)`).
    /// Returns the old state; the caller must call [`wake_if_waiters`](Self::wake_if_waiters)
    /// with it once it has published whatever the woken waiters must see.
    #[inline]
    pub(crate) fn complete_all_tagged(&self, tag: u32) -> Result<u32, u32> {
        debug_assert_eq!(tag << TAG_SHIFT & !TAG_MASK, 0);
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            if cur & ALL != 0 {
                return Err(cur);
            }
            // Release: pairs with the waiters' Acquire loads of the state word.
            match self.state.compare_exchange_weak(
                cur,
                cur | ALL | tag << TAG_SHIFT,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(cur),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Second half of [`complete_all_tagged`](Self::complete_all_tagged).
    #[inline]
    pub(crate) fn wake_if_waiters(&self, old: u32) {
        if old & WAITERS_MASK != 0 {
            self.wake_waiters(true);
        }
    }

    /// Reset the state of a completion nobody else can reach (a recycled fence).
    pub(crate) fn reset_exclusive(&self) {
        debug_assert_eq!(self.state.load(Ordering::Relaxed) & WAITERS_MASK, 0);
        self.state.store(0, Ordering::Relaxed);
    }

    /// Wake every sleeper so it re-checks its condition (a cancellation token fired).
    pub(crate) fn kick(&self) {
        self.wake_waiters(true);
    }

    #[cold]
    fn wake_waiters(&self, all: bool) {
        // Release: a waiter whose Acquire read of `wake` sees this bump also sees the state
        // RMW that preceded it (the argument in the module docs).
        self.wake.fetch_add(1, Ordering::Release);
        if all {
            self.parker.unpark_all(&self.wake);
        } else {
            self.parker.unpark_one(&self.wake);
        }
    }

    /// Consume now if possible; returns the state seen.
    #[inline]
    fn try_take(&self) -> Option<u32> {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            let new = take(cur)?;
            if new == cur {
                // complete_all: nothing to consume, the Acquire load already synchronised.
                return Some(cur);
            }
            // Acquire: pairs with complete()'s Release.
            match self
                .state
                .compare_exchange_weak(cur, new, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => return Some(cur),
                Err(actual) => cur = actual,
            }
        }
    }

    /// The wait core shared with the fence: consume one completion (or pass after
    /// `complete_all`), sleeping until `deadline` or until `token` is cancelled. On success
    /// returns the state word seen (its tag bits carry the fence outcome).
    #[inline]
    pub(crate) fn wait_state(
        &self,
        deadline: Option<Instant>,
        token: Option<&CancelToken>,
    ) -> Result<u32, WaitError> {
        match self.try_take() {
            Some(state) => Ok(state),
            None => self.wait_slow(deadline, token),
        }
    }

    #[cold]
    fn wait_slow(
        &self,
        deadline: Option<Instant>,
        token: Option<&CancelToken>,
    ) -> Result<u32, WaitError> {
        if deadline.is_some_and(|d| d <= Instant::now()) {
            return self.try_take().ok_or(WaitError::TimedOut);
        }
        // Sliced sleeping: the token is shared with another concurrent waiter, or too many
        // waiters sleep already; re-check every SHARED_POLL instead of relying on a wake-up.
        let mut sliced = false;
        let _registration = match token.map(|t| t.register(self)) {
            None => None,
            Some(Ok(registration)) => Some(registration),
            Some(Err(RegisterError::Cancelled)) => {
                return self.try_take().ok_or(WaitError::Interrupted);
            }
            Some(Err(RegisterError::InUse)) => {
                sliced = true;
                None
            }
        };
        let mut registered = false;
        let error = 'wait: loop {
            // Read the wake sequence *before* the state the sleep decision is based on.
            let seen = self.wake.load(Ordering::Acquire);
            let mut cur = self.state.load(Ordering::Acquire);
            loop {
                if let Some(mut new) = take(cur) {
                    if registered {
                        new -= WAITER_ONE;
                    }
                    // Acquire: pairs with the waker's Release RMW.
                    match self.state.compare_exchange_weak(
                        cur,
                        new,
                        Ordering::Acquire,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => return Ok(cur),
                        Err(actual) => {
                            cur = actual;
                            continue;
                        }
                    }
                }
                if registered {
                    break;
                }
                if cur & WAITERS_MASK == WAITERS_MASK - 1 {
                    // Keep one value free so the count can never carry into `done`.
                    sliced = true;
                    break;
                }
                // Relaxed: only the modification order of `state` matters here (see docs).
                match self.state.compare_exchange_weak(
                    cur,
                    cur + WAITER_ONE,
                    Ordering::Relaxed,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        registered = true;
                        break;
                    }
                    Err(actual) => cur = actual,
                }
            }
            if token.is_some_and(CancelToken::is_cancelled) {
                break 'wait WaitError::Interrupted;
            }
            let park_deadline = if sliced {
                earliest(
                    deadline,
                    Instant::now().checked_add(CancelToken::SHARED_POLL),
                )
            } else {
                deadline
            };
            match self.parker.park(&self.wake, seen, park_deadline) {
                Park::Woken => {}
                Park::TimedOut if !sliced => break 'wait WaitError::TimedOut,
                Park::TimedOut => {
                    if deadline.is_some_and(|d| d <= Instant::now()) {
                        break 'wait WaitError::TimedOut;
                    }
                }
            }
        };
        if !registered {
            return self.try_take().ok_or(error);
        }
        // Unregister; a completion posted meanwhile is consumed rather than lost.
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            let (new, took) = match take(cur) {
                Some(new) => (new - WAITER_ONE, true),
                None => (cur - WAITER_ONE, false),
            };
            match self
                .state
                .compare_exchange_weak(cur, new, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) if took => return Ok(cur),
                Ok(_) => return Err(error),
                Err(actual) => cur = actual,
            }
        }
    }
}

/// `Instant::now() + timeout`, or `None` (wait forever) if that overflows.
pub(crate) fn deadline_after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

impl Default for Completion {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Ordering::Relaxed);
        f.debug_struct("Completion")
            .field("done", &((s & DONE_MASK) >> DONE_SHIFT))
            .field("all", &(s & ALL != 0))
            .field("waiters", &(s & WAITERS_MASK))
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn complete_is_counting() {
        let c = Completion::new();
        assert!(!c.is_done());
        assert!(!c.try_wait());
        c.complete();
        c.complete();
        assert!(c.is_done());
        assert!(c.try_wait());
        assert!(c.try_wait());
        assert!(!c.try_wait(), "two completes are consumed by two waits");
        assert!(!c.is_done());
    }

    #[test]
    fn complete_all_is_sticky_until_reinit() {
        let c = Completion::new();
        c.complete_all();
        for _ in 0..5 {
            c.wait();
            assert!(c.try_wait());
        }
        c.complete(); // no effect after complete_all
        c.reinit().expect("no waiters");
        assert!(!c.is_done());
        assert_eq!(c.wait_timeout(Duration::ZERO), Err(WaitError::TimedOut));
    }

    #[test]
    fn done_saturates() {
        let c = Completion::new();
        for _ in 0..Completion::MAX_DONE + 10 {
            c.complete();
        }
        let mut n = 0;
        while c.try_wait() {
            n += 1;
        }
        assert_eq!(n, Completion::MAX_DONE);
    }

    #[test]
    fn timeout_and_deadline() {
        let c = Completion::new();
        assert_eq!(
            c.wait_timeout(Duration::from_millis(2)),
            Err(WaitError::TimedOut)
        );
        assert_eq!(
            c.wait_deadline(Instant::now() + Duration::from_millis(1)),
            Err(WaitError::TimedOut)
        );
        c.complete();
        assert_eq!(c.wait_timeout(Duration::from_secs(5)), Ok(()));
        assert!(!c.is_done(), "the successful wait consumed the unit");
        assert_eq!(
            format!("{c:?}"),
            "Completion { done: 0, all: false, waiters: 0 }"
        );
    }

    #[test]
    fn blocked_waiter_is_woken() {
        let c = Arc::new(Completion::new());
        let c2 = Arc::clone(&c);
        let t = thread::spawn(move || c2.wait());
        while c.state.load(Ordering::Relaxed) & WAITERS_MASK == 0 {
            thread::yield_now();
        }
        c.complete();
        t.join().expect("waiter");
        assert!(!c.is_done());
    }

    #[test]
    fn cancel_wakes_a_sleeping_waiter() {
        let c = Arc::new(Completion::new());
        let token = CancelToken::new();
        let (c2, t2) = (Arc::clone(&c), token.clone());
        let t = thread::spawn(move || c2.wait_interruptible(&t2));
        while c.state.load(Ordering::Relaxed) & WAITERS_MASK == 0 {
            thread::yield_now();
        }
        token.cancel();
        assert_eq!(t.join().expect("waiter"), Err(WaitError::Interrupted));
        assert_eq!(c.state.load(Ordering::Relaxed), 0, "waiter unregistered");
        // Done wins over a pending cancellation.
        c.complete();
        assert_eq!(c.wait_interruptible(&token), Ok(()));
        assert_eq!(c.wait_interruptible(&token), Err(WaitError::Interrupted));
    }

    #[test]
    fn shared_token_still_interrupts_every_waiter() {
        let c = Arc::new(Completion::new());
        let token = CancelToken::new();
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let (c, t) = (Arc::clone(&c), token.clone());
                thread::spawn(move || c.wait_interruptible(&t))
            })
            .collect();
        while c.state.load(Ordering::Relaxed) & WAITERS_MASK < 3 {
            thread::yield_now();
        }
        token.cancel();
        for w in waiters {
            assert_eq!(w.join().expect("waiter"), Err(WaitError::Interrupted));
        }
    }

    #[test]
    fn reinit_refuses_with_waiters() {
        let c = Arc::new(Completion::new());
        let c2 = Arc::clone(&c);
        let t = thread::spawn(move || c2.wait());
        while c.state.load(Ordering::Relaxed) & WAITERS_MASK == 0 {
            thread::yield_now();
        }
        assert_eq!(c.reinit(), Err(ReinitError::WaitersPresent { waiters: 1 }));
        c.complete_all();
        t.join().expect("waiter");
        assert_eq!(c.reinit(), Ok(()));
        assert_eq!(
            ReinitError::WaitersPresent { waiters: 2 }.to_string(),
            "cannot reinit a completion with 2 waiter(s) present"
        );
    }

    #[test]
    fn complete_all_wakes_every_waiter() {
        let c = Arc::new(Completion::new());
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let c = Arc::clone(&c);
                thread::spawn(move || c.wait())
            })
            .collect();
        while c.state.load(Ordering::Relaxed) & WAITERS_MASK < 8 {
            thread::yield_now();
        }
        c.complete_all();
        for w in waiters {
            w.join().expect("waiter");
        }
        assert_eq!(c.state.load(Ordering::Relaxed) & WAITERS_MASK, 0);
    }
}
