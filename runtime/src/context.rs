//! [`Context`]: a user context's CS sequence numbers and its pending-CS ring (§3).
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

use crate::counters::{AtomicCsCounters, CsCounters, DropCounter};
use crate::fence::{Fence, Signalled};
use crate::fence_pool::{AllocError, FencePool, PoolError, PoolStats};
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies a context of a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContextId(pub u32);

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
    /// The CS's fence, with a reference of its own.
    Fence(Fence),
}

/// [`Context::lookup_for_wait`]'s answer.
pub(crate) enum WaitLookup {
    Invalid { next_seq: u64 },
    Gone,
    Signalled(Signalled),
    Pending(Fence),
}

/// A context: its seq counter, its ring of pending fences and its drop counters.
pub struct Context {
    id: ContextId,
    pool: FencePool,
    /// The next seq to hand out (`ctx->cs_sequence`). Written only under the submission lock,
    /// together with the ring slot; read lock-free by lookups.
    next_seq: AtomicU64,
    counters: AtomicCsCounters,
}

impl Context {
    /// A context with a ring of `max_pending_cs` slots.
    pub fn new(id: ContextId, max_pending_cs: u32) -> Result<Context, PoolError> {
        Ok(Context {
            id,
            pool: FencePool::new(max_pending_cs as usize)?,
            next_seq: AtomicU64::new(1),
            counters: AtomicCsCounters::default(),
        })
    }

    /// This context's id.
    pub fn id(&self) -> ContextId {
        self.id
    }

    /// The next seq to be handed out.
    pub fn next_seq(&self) -> u64 {
        // Acquire: pairs with the Release store in `allocate`, so a seq below this one has its
        // fence installed in the ring.
        self.next_seq.load(Ordering::Acquire)
    }

    /// Ring size N.
    pub fn ring_len(&self) -> u64 {
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
    pub fn lookup(&self, seq: u64) -> Lookup {
        if let Err(early) = self.in_ring(seq) {
            return early;
        }
        // why: `get` checks that the slot still holds `seq`; if a later CS took the slot, this
        // CS's fence had been signalled first, so "gone" (completed) is the truth.
        match self.pool.get(seq) {
            Some(fence) => Lookup::Fence(fence),
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
    pub fn counters(&self) -> CsCounters {
        self.counters.snapshot()
    }

    /// The fence pool's counters.
    pub fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// Fences allocated and not yet released, the ring's references included.
    pub fn live_fences(&self) -> u64 {
        self.pool.live()
    }

    /// `hl_ctx_fini` for signalled fences: drop the ring's reference to every slot whose fence
    /// is signalled. Returns how many slots were emptied. After this, and once every handle is
    /// dropped, [`live_fences`](Self::live_fences) is 0 when every CS was released.
    pub fn retire_signalled(&self) -> usize {
        self.pool.retire_signalled()
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id)
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
        let ctx = Context::new(ContextId(0), 64).expect("ctx");
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
        let ctx = Context::new(ContextId(0), 2).expect("ctx");
        let (_, f1) = ctx.allocate().expect("1");
        let (_, f2) = ctx.allocate().expect("2");
        assert_eq!(ctx.allocate().err(), Some(1));
        f1.signal(Outcome::Ok).expect("signal");
        assert_eq!(ctx.allocate().map(|(s, _)| s).ok(), Some(3));
        f2.signal(Outcome::Ok).expect("signal");
    }
}
