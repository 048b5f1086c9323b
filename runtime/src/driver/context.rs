//! A context's CS sequence numbers and its pending-CS ring (`Ring`, `docs/driver-semantics.md`
//! §3), and the wait-only fence handle ([`CsFence`]) a lookup gives out.
//!
//! Seqs start at 1 and are handed out in order; the fence of CS `seq` lives in ring slot
//! `seq & (N - 1)` of a [`FencePool`] (N = `max_pending_cs`). A new CS cannot take a slot whose
//! fence has not been signalled (too many in flight: try again). With `S` the next seq:
//!
//! - `seq >= S`, `seq == 0` or `seq == u64::MAX`: invalid (`-EINVAL`);
//! - `seq + N < S`: gone, assumed completed long ago;
//! - otherwise the slot's fence (exactly the N seqs `S - N ..= S - 1`).
//!
//! For Goya (N = 64) with S = 101: 101 is invalid, 36 is gone, 37..=100 come from their slots
//! (slot 37 still holds seq 37, because 101 has not been allocated).
//!
//! Deviation, documented: the driver looks seq 0 up like any other (its slot is empty right
//! after init, so it reads as gone); the uapi says 0 is never a valid seq and so do we.

use crate::driver::counters::{AtomicCsCounters, CsCounters, DropCounter};
use crate::driver::outcome::OutcomeStore;
use crate::fence::cancel::CancelToken;
use crate::fence::completion::WaitError;
use crate::fence::pool::{AllocError, FencePool, PoolError, PoolStats};
use crate::fence::{Fence, Outcome, Signalled};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Names an open context of a device (its ASID slot). Only the device makes one: it cannot be
/// used to reach a context, only to tell contexts apart.
///
/// ```compile_fail,E0423
/// let someone_elses = asicgen_runtime::ContextId(0); // not constructible outside the runtime
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContextId(pub(crate) u32);

impl ContextId {
    /// The slot number, `0..DeviceConfig::contexts`.
    pub const fn index(self) -> u32 {
        self.0
    }
}

/// A wait-only handle to a CS's fence, as a lookup hands it out (`hl_ctx_get_fence`): it can be
/// polled and waited on, never signalled. Only the driver completes a CS's fence, in its release
/// (`cs_do_release`), so a waiter can never see "completed" for a CS that is still running.
///
/// ```compile_fail,E0599
/// # fn f(fence: asicgen_runtime::CsFence) {
/// fence.signal(asicgen_runtime::Outcome::Ok); // no such method: only the driver signals
/// # }
/// ```
#[derive(Clone)]
pub struct CsFence(Fence);

impl CsFence {
    /// The CS's seq.
    #[inline]
    pub fn seq(&self) -> u64 {
        self.0.seq()
    }

    /// Whether the CS was released (`completion_done`).
    #[inline]
    pub fn is_signalled(&self) -> bool {
        self.0.is_signalled()
    }

    /// The outcome if the CS was released, without waiting.
    #[inline]
    pub fn poll(&self) -> Option<Outcome> {
        self.0.poll()
    }

    /// Outcome and timestamp if the CS was released, without waiting.
    #[inline]
    pub fn signalled(&self) -> Option<Signalled> {
        self.0.signalled()
    }

    /// Wait until the CS is released; returns its outcome.
    pub fn wait(&self) -> Outcome {
        self.0.wait()
    }

    /// Wait at most `timeout` (zero polls).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<Outcome, WaitError> {
        self.0.wait_timeout(timeout)
    }

    /// Wait until released, `token` is cancelled or `deadline` passes.
    pub fn wait_signalled(
        &self,
        deadline: Option<Instant>,
        token: Option<&CancelToken>,
    ) -> Result<Signalled, WaitError> {
        self.0.wait_signalled(deadline, token)
    }

    /// The fence itself, for the driver's own polls.
    pub(crate) fn into_fence(self) -> Fence {
        self.0
    }

    /// The fence's reference count (`kref_read`): a snapshot, for tests and debugging.
    pub fn ref_count(&self) -> u32 {
        self.0.ref_count()
    }
}

impl std::fmt::Debug for CsFence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a seq names in a context right now.
#[derive(Debug)]
pub enum Lookup {
    /// Not handed out yet, or 0 / `u64::MAX`.
    Invalid {
        /// The next seq the context will hand out.
        next_seq: u64,
    },
    /// Older than the ring: completed long ago (or its slot moved on after it completed).
    Gone,
    /// The CS's fence (wait-only), with a reference of its own.
    Fence(CsFence),
}

/// [`Ring::lookup_for_wait`]'s answer.
pub(crate) enum WaitLookup {
    Invalid { next_seq: u64 },
    Gone,
    Signalled(Signalled),
    Pending(Fence),
}

/// A context's driver-side state: its seq counter, its ring of pending fences and its drop
/// counters. Reached only through the owned [`Context`](crate::Context) handle of whoever opened
/// it.
pub(crate) struct Ring {
    pool: FencePool,
    /// The next seq to hand out (`ctx->cs_sequence`). Written only under the submission lock,
    /// together with the ring slot; read lock-free by lookups.
    next_seq: AtomicU64,
    counters: AtomicCsCounters,
    /// How the timestamped CSs ended, kept after their fences left the ring (`outcome.rs`).
    pub(crate) outcomes: OutcomeStore,
}

impl Ring {
    /// A ring of `max_pending_cs` slots.
    pub(crate) fn new(max_pending_cs: u32) -> Result<Ring, PoolError> {
        Ok(Ring {
            pool: FencePool::new(max_pending_cs as usize)?,
            next_seq: AtomicU64::new(1),
            counters: AtomicCsCounters::default(),
            outcomes: OutcomeStore::new(),
        })
    }

    /// The next seq to be handed out.
    pub(crate) fn next_seq(&self) -> u64 {
        // Acquire: pairs with the Release store in `allocate`, so a seq below this one has its
        // fence installed in the ring.
        self.next_seq.load(Ordering::Acquire)
    }

    /// Ring size N.
    pub(crate) fn ring_len(&self) -> u64 {
        self.pool.capacity() as u64
    }

    /// `allocate_cs`: take the next seq and install a fresh fence in its slot; the returned
    /// handle is the CS's own reference. `Err(pending_seq)` if the slot is still busy.
    ///
    /// The device calls this under its submission lock, which serialises allocations.
    pub(crate) fn allocate(&self) -> Result<(u64, Fence), u64> {
        let seq = self.next_seq.load(Ordering::Relaxed);
        match self.pool.allocate(seq) {
            Ok(fence) => {
                self.next_seq.store(seq + 1, Ordering::Release);
                Ok((seq, fence))
            }
            Err(AllocError::Busy { pending_seq, .. }) => Err(pending_seq),
            // Seqs start at 1 and only grow, so neither 0/MAX nor an older seq can come up; if
            // the pool ever said so, refusing like a busy slot is the safe answer.
            Err(_) => Err(seq),
        }
    }

    /// The ring rules before the slot is looked at: `Err(Invalid)` or `Err(Gone)` decided by
    /// the seq alone, `Ok(())` if the slot may still hold it.
    fn in_ring(&self, seq: u64) -> Result<(), Lookup> {
        let next_seq = self.next_seq();
        if seq == 0 || seq == u64::MAX || seq >= next_seq {
            return Err(Lookup::Invalid { next_seq });
        }
        if seq.saturating_add(self.ring_len()) < next_seq {
            return Err(Lookup::Gone);
        }
        Ok(())
    }

    /// Look `seq` up with the ring rules (module docs).
    pub(crate) fn lookup(&self, seq: u64) -> Lookup {
        if let Err(early) = self.in_ring(seq) {
            return early;
        }
        // why: `get` checks that the slot still holds `seq`; if a later CS took the slot, this
        // CS's fence had been signalled first, so "gone" (completed) is the truth.
        match self.pool.get(seq) {
            Some(fence) => Lookup::Fence(CsFence(fence)),
            None => Lookup::Gone,
        }
    }

    /// [`lookup`](Self::lookup) for a wait: a signalled CS comes back as its outcome, without
    /// a fence reference taken and dropped again.
    pub(crate) fn lookup_for_wait(&self, seq: u64) -> WaitLookup {
        match self.in_ring(seq) {
            Err(Lookup::Invalid { next_seq }) => return WaitLookup::Invalid { next_seq },
            Err(_) => return WaitLookup::Gone,
            Ok(()) => {}
        }
        // Same "gone" reasoning as in `lookup`.
        match self.pool.poll_or_get(seq) {
            Some(Ok(signalled)) => WaitLookup::Signalled(signalled),
            Some(Err(fence)) => WaitLookup::Pending(fence),
            None => WaitLookup::Gone,
        }
    }

    /// Bump one of this context's drop counters.
    pub(crate) fn bump(&self, which: DropCounter) {
        self.counters.bump(which);
    }

    /// This context's drop counters.
    pub(crate) fn counters(&self) -> CsCounters {
        self.counters.snapshot()
    }

    /// The fence pool's counters.
    pub(crate) fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// Fences allocated and not yet released, the ring's references included.
    pub(crate) fn live_fences(&self) -> u64 {
        self.pool.live()
    }

    /// `hl_ctx_fini`, once every CS of the context was released: drop the ring's reference to
    /// every slot (all are signalled then), so the next context opened in this slot starts
    /// empty, at seq one. Only the context teardown calls this: on a live context it would turn
    /// the outcome of a released CS (aborted, timed out) into "gone", read as completed.
    ///
    /// A CS released by another thread just before the teardown took the locks may still have
    /// its fence signal pending (effects are applied after the locks are dropped); its slot is
    /// let go once that signal lands, a moment later, rather than left occupied for good.
    pub(crate) fn fini(&self) -> usize {
        let mut retired = self.pool.retire_signalled();
        let mut spins = 0u32;
        let mut since: Option<std::time::Instant> = None;
        while self.pool.occupied() > 0 {
            // why: no lock is held here, and every fence still in the ring belongs to a CS that
            // was already released, so its signal is being applied by another thread now. The
            // one-second bound only guards against a broken invariant turning into a hang.
            if spins < 64 {
                std::hint::spin_loop();
            } else if since.get_or_insert_with(std::time::Instant::now).elapsed()
                < std::time::Duration::from_secs(1)
            {
                std::thread::yield_now();
            } else {
                break;
            }
            spins = spins.saturating_add(1);
            retired += self.pool.retire_signalled();
        }
        self.next_seq.store(1, Ordering::Release);
        self.counters.clear();
        self.outcomes.clear();
        retired
    }
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("next_seq", &self.next_seq())
            .field("counters", &self.counters())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fence::Outcome;

    #[test]
    fn goya_example_from_the_reference() {
        let ctx = Ring::new(64).expect("ctx");
        let mut fences = Vec::new();
        for expected in 1..=100 {
            let (seq, fence) = ctx.allocate().expect("slot free");
            assert_eq!(seq, expected);
            fence.signal(Outcome::Ok).expect("signal");
            fences.push(fence);
        }
        assert_eq!(ctx.next_seq(), 101);
        assert!(matches!(ctx.lookup(101), Lookup::Invalid { next_seq: 101 }));
        assert!(matches!(ctx.lookup(36), Lookup::Gone));
        for seq in 37..=100 {
            match ctx.lookup(seq) {
                Lookup::Fence(f) => assert_eq!(f.seq(), seq),
                other => panic!("seq {seq}: {other:?}"),
            }
        }
        assert!(matches!(ctx.lookup(0), Lookup::Invalid { .. }));
        assert!(matches!(ctx.lookup(u64::MAX), Lookup::Invalid { .. }));
    }

    #[test]
    fn busy_slot_refuses() {
        let ctx = Ring::new(2).expect("ctx");
        let (_, f1) = ctx.allocate().expect("1");
        let (_, f2) = ctx.allocate().expect("2");
        assert_eq!(ctx.allocate().err(), Some(1));
        f1.signal(Outcome::Ok).expect("signal");
        assert_eq!(ctx.allocate().map(|(s, _)| s).ok(), Some(3));
        f2.signal(Outcome::Ok).expect("signal");
    }
}
