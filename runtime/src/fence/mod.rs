//! [`Fence`]: a CS completion = kref + [`Completion`] + CS seq + outcome + optional timestamp.
//!
//! This is the habanalabs `struct hl_fence` (after the 2020 switch from a dma-fence copy to
//! "kref + completion"), not a dma-fence: no ops table, no callbacks, no timeline.
//!
//! - **kref**: [`Fence`] is a counted handle. `Clone` is `kref_get` (Relaxed increment),
//!   `Drop` is `kref_put` (Release decrement, Acquire fence on the last one), and the release
//!   runs exactly once, when the count reaches zero: a standalone fence ([`Fence::new`]) is
//!   freed; a pooled fence (see [`fence_pool`](crate::fence::pool)) becomes reusable by its pool.
//!   [`Fence::ref_count`] observes the count.
//! - **Signalled exactly once**: [`Fence::signal`] sets the completion's `ALL` bit and the
//!   outcome in the same CAS of the completion's state word, so with nobody waiting a signal is
//!   one atomic RMW. A second signal fails with [`SignalError::AlreadySignalled`] and changes
//!   nothing.
//! - **Outcome and timestamp**: waits return the [`Outcome`]; [`Fence::wait_signalled`] and
//!   [`Fence::signalled`] also return the [`Timestamp`] when the signaller gave one. The
//!   timestamp is stored right after the publishing CAS (only the winner of that CAS writes it,
//!   so a racing second signal can never overwrite it); a reader that sees the "has timestamp"
//!   bit before the store lands spins for those few instructions, as `dma_fence_timestamp` does.
//!
//! # Size
//!
//! `size_of::<Fence>()` is 8 (one pointer; `Option<Fence>` too). The shared object it points to
//! (`FenceInner`: kref 4 B + completion 8 B + seq 8 B + timestamp 8 B) is 32 bytes; both are
//! pinned by `tests/size.rs`. The heap block of a standalone fence is exactly that object.

pub mod cancel;
pub mod completion;
pub mod pool;

use crate::fence::cancel::CancelToken;
use crate::fence::completion::{ALL, Completion, TAG_MASK, TAG_SHIFT, WaitError, deadline_after};
use crate::sync::{AtomicU32, AtomicU64, Ordering, fence, spin_hint};
use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

/// kref word: low bits count, top bit "owned by a pool" (the last put does not free).
pub(crate) const KREF_POOLED: u32 = 1 << 31;
pub(crate) const KREF_COUNT: u32 = !KREF_POOLED;
/// Counts beyond this abort the process, like `std::sync::Arc` (a leak of 2^30 handles).
const KREF_MAX: u32 = 1 << 30;

/// Tag bit (in the completion's tag field) meaning "a timestamp was given".
const TAG_HAS_TS: u32 = 0b1000;
const TAG_OUTCOME: u32 = 0b0111;
/// Timestamp word bit meaning "written".
const TS_VALID: u64 = 1 << 63;

/// How a CS ended: what its fence was signalled with (one type with the lifecycle's outcome,
/// defined beside the `Asic` trait).
pub use asicgen_tables::FenceOutcome as Outcome;

/// Encoding of an outcome in 3 bits; 0 means "not signalled".
const fn outcome_code(outcome: Outcome) -> u32 {
    match outcome {
        Outcome::Ok => 1,
        Outcome::TimedOut => 2,
        Outcome::Aborted => 3,
        Outcome::NotSubmitted => 4,
    }
}

const fn outcome_from_code(code: u32) -> Option<Outcome> {
    match code {
        1 => Some(Outcome::Ok),
        2 => Some(Outcome::TimedOut),
        3 => Some(Outcome::Aborted),
        4 => Some(Outcome::NotSubmitted),
        _ => None,
    }
}

/// A completion time: nanoseconds of `CLOCK_MONOTONIC` (the clock behind `Instant` on Linux
/// and the kernel's `ktime_get`), below 2^63.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// Largest representable value.
    pub const MAX: Timestamp = Timestamp(TS_VALID - 1);

    /// The current `CLOCK_MONOTONIC` time.
    pub fn now() -> Timestamp {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
        let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
        Timestamp::from_nanos(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    /// From nanoseconds; values from 2^63 on saturate to [`Timestamp::MAX`].
    pub const fn from_nanos(nanos: u64) -> Timestamp {
        if nanos > Timestamp::MAX.0 {
            Timestamp::MAX
        } else {
            Timestamp(nanos)
        }
    }

    /// Nanoseconds of `CLOCK_MONOTONIC`.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
}

/// What a signalled fence says: its outcome, and its completion time if one was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signalled {
    /// How the CS ended.
    pub outcome: Outcome,
    /// When, if the signaller recorded it.
    pub timestamp: Option<Timestamp>,
}

/// Why a signal was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignalError {
    /// The fence was already signalled; nothing was changed.
    AlreadySignalled {
        /// The fence's CS seq.
        seq: u64,
        /// The outcome it was first signalled with (and still has).
        outcome: Outcome,
    },
}

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalError::AlreadySignalled { seq, outcome } => {
                write!(f, "fence of CS {seq} already signalled ({outcome})")
            }
        }
    }
}

impl std::error::Error for SignalError {}

/// The shared fence object. `repr(C)` so the 32-byte layout is the documented one.
#[repr(C)]
pub(crate) struct FenceInner {
    pub(crate) kref: AtomicU32,
    pub(crate) completion: Completion,
    /// Written only while nobody else can reach the object (creation, pool recycling).
    pub(crate) seq: AtomicU64,
    pub(crate) timestamp: AtomicU64,
    /// Lets loom report a fence that is never released.
    #[cfg(loom)]
    _track: loom::alloc::Track<()>,
}

impl FenceInner {
    pub(crate) fn new(seq: u64, kref: u32) -> Self {
        FenceInner {
            kref: AtomicU32::new(kref),
            completion: Completion::new(),
            seq: AtomicU64::new(seq),
            timestamp: AtomicU64::new(0),
            #[cfg(loom)]
            _track: loom::alloc::Track::new(()),
        }
    }

    /// Heap-allocate; the caller owns the returned pointer.
    pub(crate) fn alloc(seq: u64, kref: u32) -> NonNull<FenceInner> {
        NonNull::from(Box::leak(Box::new(FenceInner::new(seq, kref))))
    }

    /// Free a heap object.
    ///
    /// # Safety
    /// `ptr` came from [`FenceInner::alloc`], and nothing can reach it any more.
    pub(crate) unsafe fn free(ptr: NonNull<FenceInner>) {
        // SAFETY: guaranteed by the caller.
        drop(unsafe { Box::from_raw(ptr.as_ptr()) });
    }

    /// Make an unreachable object a fresh, unsignalled fence for `seq` with count `kref`.
    /// The caller publishes it afterwards with a release operation (a mutex unlock).
    pub(crate) fn recycle(&self, seq: u64, kref: u32) {
        self.completion.reset_exclusive();
        self.seq.store(seq, Ordering::Relaxed);
        self.timestamp.store(0, Ordering::Relaxed);
        self.kref.store(kref, Ordering::Relaxed);
    }

    pub(crate) fn count(&self) -> u32 {
        self.kref.load(Ordering::Acquire) & KREF_COUNT
    }

    pub(crate) fn is_signalled(&self) -> bool {
        self.completion.peek() & ALL != 0
    }

    /// Outcome and timestamp if signalled (what [`Fence::signalled`] returns).
    #[cfg_attr(loom, allow(dead_code))] // the driver, its only user, is not built under loom
    pub(crate) fn signalled(&self) -> Option<Signalled> {
        let state = self.completion.peek();
        (state & ALL != 0).then(|| self.decode(state))
    }

    /// The outcome in a state word that has ALL set.
    #[inline]
    fn outcome_of(state: u32) -> Outcome {
        // The tag was written by `signal` in the same CAS as ALL, so it is always valid; the
        // fallback only exists so that no state can make this panic.
        outcome_from_code((state & TAG_MASK) >> TAG_SHIFT & TAG_OUTCOME).unwrap_or(Outcome::Aborted)
    }

    /// Decode a state word that has ALL set, timestamp included.
    #[inline]
    fn decode(&self, state: u32) -> Signalled {
        let timestamp = if (state & TAG_MASK) >> TAG_SHIFT & TAG_HAS_TS != 0 {
            Some(self.read_timestamp())
        } else {
            None
        };
        Signalled {
            outcome: Self::outcome_of(state),
            timestamp,
        }
    }

    /// Read the timestamp of a fence whose state says it has one.
    fn read_timestamp(&self) -> Timestamp {
        let mut round = 0;
        loop {
            // Acquire: pairs with the signaller's Release store.
            let ts = self.timestamp.load(Ordering::Acquire);
            if ts & TS_VALID != 0 {
                return Timestamp(ts & !TS_VALID);
            }
            // The signaller won the CAS and is about to store the timestamp.
            spin_hint(&mut round);
        }
    }
}

/// A counted handle to a CS fence; see the [module docs](self).
pub struct Fence {
    ptr: NonNull<FenceInner>,
    _owns: PhantomData<FenceInner>,
}

// SAFETY: a `Fence` is a counted shared reference to a `FenceInner`, whose fields are all
// atomics (Send + Sync); the count keeps the object alive for as long as any handle exists, on
// whichever thread it is.
unsafe impl Send for Fence {}
// SAFETY: as above; every method takes `&self` and only does atomic operations.
unsafe impl Sync for Fence {}

impl Fence {
    /// Size in bytes of the shared fence object a handle points to (kref, completion, seq,
    /// timestamp): the "fence is at most 32 bytes" budget. A handle itself is one pointer.
    pub const SHARED_OBJECT_SIZE: usize = std::mem::size_of::<FenceInner>();

    /// A new, unsignalled standalone (heap) fence for CS `seq`, with a count of 1.
    /// For the context ring use [`FencePool`](crate::fence::pool::FencePool), which recycles.
    pub fn new(seq: u64) -> Fence {
        // SAFETY: a fresh allocation with count 1, owned by the returned handle.
        unsafe { Fence::from_owned(FenceInner::alloc(seq, 1)) }
    }

    /// Wrap a pointer whose count already includes this handle.
    ///
    /// # Safety
    /// `ptr` is a live `FenceInner` and the caller transfers one counted reference.
    pub(crate) unsafe fn from_owned(ptr: NonNull<FenceInner>) -> Fence {
        Fence {
            ptr,
            _owns: PhantomData,
        }
    }

    #[inline]
    fn inner(&self) -> &FenceInner {
        // SAFETY: our counted reference keeps the object alive.
        unsafe { self.ptr.as_ref() }
    }

    /// The CS sequence number this fence belongs to.
    #[inline]
    pub fn seq(&self) -> u64 {
        self.inner().seq.load(Ordering::Relaxed)
    }

    /// The current reference count (`kref_read`): a snapshot, for tests and debugging.
    pub fn ref_count(&self) -> u32 {
        self.inner().count()
    }

    /// Whether both handles refer to the same fence object.
    pub fn ptr_eq(a: &Fence, b: &Fence) -> bool {
        a.ptr == b.ptr
    }

    /// Signal the fence with `outcome` and wake every waiter (`complete_all`). With nobody
    /// waiting this is one atomic RMW and no system call.
    #[inline]
    pub fn signal(&self, outcome: Outcome) -> Result<(), SignalError> {
        self.signal_inner(outcome, None)
    }

    /// Like [`signal`](Self::signal), also recording the completion time.
    #[inline]
    pub fn signal_with_timestamp(
        &self,
        outcome: Outcome,
        timestamp: Timestamp,
    ) -> Result<(), SignalError> {
        self.signal_inner(outcome, Some(timestamp))
    }

    #[inline]
    fn signal_inner(&self, outcome: Outcome, ts: Option<Timestamp>) -> Result<(), SignalError> {
        let inner = self.inner();
        let tag = outcome_code(outcome) | if ts.is_some() { TAG_HAS_TS } else { 0 };
        match inner.completion.complete_all_tagged(tag) {
            Ok(old) => {
                if let Some(ts) = ts {
                    // Release: a reader's Acquire load that sees TS_VALID sees the value.
                    inner.timestamp.store(ts.0 | TS_VALID, Ordering::Release);
                }
                inner.completion.wake_if_waiters(old);
                Ok(())
            }
            Err(state) => Err(SignalError::AlreadySignalled {
                seq: self.seq(),
                outcome: FenceInner::outcome_of(state),
            }),
        }
    }

    /// Whether the fence is signalled (`completion_done`).
    #[inline]
    pub fn is_signalled(&self) -> bool {
        self.inner().is_signalled()
    }

    /// The outcome if signalled, without waiting (a wait with timeout 0).
    #[inline]
    pub fn poll(&self) -> Option<Outcome> {
        let state = self.inner().completion.peek();
        (state & ALL != 0).then(|| FenceInner::outcome_of(state))
    }

    /// Outcome and timestamp if signalled, without waiting.
    #[inline]
    pub fn signalled(&self) -> Option<Signalled> {
        let state = self.inner().completion.peek();
        (state & ALL != 0).then(|| self.inner().decode(state))
    }

    /// Wait until signalled; returns the outcome. On a signalled fence this is one Acquire load.
    #[inline]
    pub fn wait(&self) -> Outcome {
        let state = self.inner().completion.peek();
        if state & ALL != 0 {
            return FenceInner::outcome_of(state);
        }
        match self.wait_signalled(None, None) {
            Ok(s) => s.outcome,
            // Unreachable: without deadline or token a wait only returns when signalled.
            Err(_) => Outcome::Aborted,
        }
    }

    /// Wait at most `timeout` (zero polls).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<Outcome, WaitError> {
        self.wait_signalled(deadline_after(timeout), None)
            .map(|s| s.outcome)
    }

    /// Wait until `deadline` at the latest.
    pub fn wait_deadline(&self, deadline: Instant) -> Result<Outcome, WaitError> {
        self.wait_signalled(Some(deadline), None).map(|s| s.outcome)
    }

    /// Wait until signalled, `token` is cancelled (which wakes this waiter) or `deadline`.
    pub fn wait_interruptible(
        &self,
        token: &CancelToken,
        deadline: Option<Instant>,
    ) -> Result<Outcome, WaitError> {
        self.wait_signalled(deadline, Some(token))
            .map(|s| s.outcome)
    }

    /// The general wait: optional deadline, optional cancellation token; returns the outcome
    /// and the timestamp. A signal that races with the deadline or the cancellation wins.
    pub fn wait_signalled(
        &self,
        deadline: Option<Instant>,
        token: Option<&CancelToken>,
    ) -> Result<Signalled, WaitError> {
        let inner = self.inner();
        let state = inner.completion.wait_state(deadline, token)?;
        Ok(inner.decode(state))
    }
}

impl Clone for Fence {
    /// `kref_get`.
    #[inline]
    fn clone(&self) -> Fence {
        // Relaxed: we already hold a reference, so the object cannot go away; nothing else
        // needs ordering (as in `Arc::clone` and the kernel's `refcount_inc`).
        let old = self.inner().kref.fetch_add(1, Ordering::Relaxed);
        if old & KREF_COUNT >= KREF_MAX {
            std::process::abort();
        }
        Fence {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl Drop for Fence {
    /// `kref_put`: the last put releases the fence.
    #[inline]
    fn drop(&mut self) {
        // Release: our accesses happen before the release (which Acquires below or in the pool).
        let old = self.inner().kref.fetch_sub(1, Ordering::Release);
        if old & KREF_COUNT != 1 || old & KREF_POOLED != 0 {
            // Not the last reference, or the pool reclaims it (with an Acquire load).
            return;
        }
        fence(Ordering::Acquire);
        // SAFETY: this was the last reference to a standalone (or orphaned pool) object, both
        // of which come from `FenceInner::alloc`; nobody can reach it any more.
        unsafe { FenceInner::free(self.ptr) };
    }
}

impl fmt::Debug for Fence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fence")
            .field("seq", &self.seq())
            .field("refs", &self.ref_count())
            .field("signalled", &self.signalled())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn kref_counts_handles() {
        let f = Fence::new(7);
        assert_eq!(f.ref_count(), 1);
        let g = f.clone();
        assert!(Fence::ptr_eq(&f, &g));
        assert_eq!(f.ref_count(), 2);
        drop(g);
        assert_eq!(f.ref_count(), 1);
        assert_eq!(f.seq(), 7);
    }

    #[test]
    fn signal_exactly_once() {
        let f = Fence::new(3);
        assert_eq!(f.poll(), None);
        f.signal(Outcome::TimedOut).expect("first signal");
        assert_eq!(
            f.signal(Outcome::Ok),
            Err(SignalError::AlreadySignalled {
                seq: 3,
                outcome: Outcome::TimedOut
            })
        );
        assert_eq!(
            f.wait(),
            Outcome::TimedOut,
            "the second signal changed nothing"
        );
        assert_eq!(
            SignalError::AlreadySignalled {
                seq: 3,
                outcome: Outcome::TimedOut
            }
            .to_string(),
            "fence of CS 3 already signalled (timed out)"
        );
    }

    #[test]
    fn timestamp_round_trips() {
        let f = Fence::new(1);
        let ts = Timestamp::now();
        f.signal_with_timestamp(Outcome::Ok, ts).expect("signal");
        assert_eq!(
            f.signalled(),
            Some(Signalled {
                outcome: Outcome::Ok,
                timestamp: Some(ts)
            })
        );
        assert!(
            f.signal_with_timestamp(Outcome::Aborted, Timestamp::MAX)
                .is_err()
        );
        assert_eq!(f.signalled().and_then(|s| s.timestamp), Some(ts));
        let g = Fence::new(2);
        g.signal(Outcome::NotSubmitted).expect("signal");
        assert_eq!(g.wait_signalled(None, None).map(|s| s.timestamp), Ok(None));
        assert_eq!(Timestamp::from_nanos(u64::MAX), Timestamp::MAX);
    }

    #[test]
    fn every_outcome_round_trips() {
        for o in [
            Outcome::Ok,
            Outcome::TimedOut,
            Outcome::Aborted,
            Outcome::NotSubmitted,
        ] {
            let f = Fence::new(1);
            f.signal(o).expect("signal");
            assert_eq!(f.wait_timeout(Duration::ZERO), Ok(o));
            assert_eq!(o.is_ok(), o == Outcome::Ok);
        }
    }

    #[test]
    fn waits_time_out_and_interrupt() {
        let f = Fence::new(1);
        assert_eq!(f.wait_timeout(Duration::ZERO), Err(WaitError::TimedOut));
        assert_eq!(
            f.wait_deadline(Instant::now() + Duration::from_millis(1)),
            Err(WaitError::TimedOut)
        );
        let token = CancelToken::new();
        token.cancel();
        assert_eq!(
            f.wait_interruptible(&token, None),
            Err(WaitError::Interrupted)
        );
        f.signal(Outcome::Ok).expect("signal");
        assert_eq!(f.wait_interruptible(&token, None), Ok(Outcome::Ok));
    }

    #[test]
    fn cross_thread_signal_wakes_waiters() {
        let f = Fence::new(9);
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let f = f.clone();
                thread::spawn(move || f.wait_signalled(None, None))
            })
            .collect();
        f.signal_with_timestamp(Outcome::Aborted, Timestamp::from_nanos(42))
            .expect("signal");
        for w in waiters {
            assert_eq!(
                w.join().expect("waiter"),
                Ok(Signalled {
                    outcome: Outcome::Aborted,
                    timestamp: Some(Timestamp::from_nanos(42))
                })
            );
        }
        assert_eq!(f.ref_count(), 1);
    }

    #[test]
    fn debug_output() {
        let f = Fence::new(5);
        assert_eq!(
            format!("{f:?}"),
            "Fence { seq: 5, refs: 1, signalled: None }"
        );
    }
}
