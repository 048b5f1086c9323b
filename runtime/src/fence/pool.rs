//! [`FencePool`]: fence storage shaped like the context's pending-CS ring.
//!
//! The ring has `capacity` slots (`max_pending_cs`, a power of two > 1); the fence of CS `seq`
//! lives in slot `seq & (capacity - 1)`. As in the driver, the ring holds one reference to each
//! slot's fence, [`FencePool::allocate`] hands out a second one (the CS's), and waiters get their
//! own through [`FencePool::get`] or by cloning.
//!
//! # Recycling without a heap allocation per CS
//!
//! Fence objects are owned by the pool (their kref word carries a "pooled" bit, so the last
//! `put` does not free them). When `allocate(seq)` reuses a slot whose previous fence is signalled:
//! - if the ring's reference is the only one left (the common case: the CS and its waiters are
//!   done with it), the object is recycled in place: count, seq, state and timestamp are reset
//!   and it becomes the new fence. No allocation.
//! - if some handle is still held (a "stale" waiter), the old object is moved to a side list and
//!   keeps its seq, outcome and timestamp for as long as that handle lives. The slot gets a
//!   spare object from the free list, which is refilled from side-list objects whose count has
//!   dropped to zero; only if there is none is a new object allocated (counted in
//!   [`PoolStats::heap_allocations`]). In a steady state this stops happening.
//!
//! # Why a stale handle can never see a later CS
//!
//! A handle is a counted reference to one object, and an object is only recycled when its
//! count is zero (checked under the pool lock with an Acquire load that pairs with every
//! handle's Release `put`). So while any handle to the fence of CS N exists, its object still
//! *is* the fence of CS N: it reports N's own seq, outcome and timestamp, forever. This is
//! stronger than a generation check on every access (which could only say "gone"), and free on
//! the fast paths: a wait or signal never touches the pool.
//!
//! # Release accounting
//!
//! [`PoolStats::released`] counts fences whose every reference (the ring's included) has been
//! dropped; [`FencePool::live`] is `allocated - released`. After the ring lets go of all slots
//! ([`FencePool::retire_signalled`]) and every handle is dropped, `live() == 0` proves every
//! fence was released. Dropping the pool frees the objects nobody references and hands the
//! others to their last handle, which frees them on its `put`.

use crate::fence::{Fence, FenceInner, KREF_COUNT, KREF_POOLED, Signalled};
use crate::sync::{Mutex, Ordering, fence, lock};
use std::fmt;
use std::ptr::NonNull;

/// Counters of a [`FencePool`] (a snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PoolStats {
    /// Fences handed out by [`FencePool::allocate`].
    pub allocated: u64,
    /// Fences whose every reference, the ring's included, has been dropped.
    pub released: u64,
    /// Allocations that reused the slot's previous object in place.
    pub recycled_in_place: u64,
    /// Allocations that found the slot's previous fence still referenced by some handle.
    pub detached: u64,
    /// Fence objects allocated on the heap (the initial `capacity` included).
    pub heap_allocations: u64,
}

/// Why [`FencePool::new`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PoolError {
    /// The capacity is not a power of two greater than 1 (the driver's
    /// `IS_MAX_PENDING_CS_VALID`), or is too large to allocate.
    InvalidCapacity {
        /// The capacity asked for.
        capacity: usize,
    },
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::InvalidCapacity { capacity } => write!(
                f,
                "fence pool capacity {capacity} is not a power of two greater than 1 (at most 2^24)"
            ),
        }
    }
}

impl std::error::Error for PoolError {}

/// Why [`FencePool::allocate`] refused. Nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AllocError {
    /// 0 and `u64::MAX` are never valid CS seqs (the uapi rule).
    InvalidSeq {
        /// The seq asked for.
        seq: u64,
    },
    /// The slot's fence has not been signalled yet: too many CSs in flight, try again later
    /// (the driver's `-EAGAIN`).
    Busy {
        /// The seq asked for.
        seq: u64,
        /// Its ring slot.
        slot: usize,
        /// The seq whose unsignalled fence occupies the slot.
        pending_seq: u64,
    },
    /// The slot already holds the fence of this seq or a later one: seqs must increase.
    SeqNotNewer {
        /// The seq asked for.
        seq: u64,
        /// Its ring slot.
        slot: usize,
        /// The seq whose fence occupies the slot.
        current_seq: u64,
    },
}

impl AllocError {
    /// Whether retrying later can succeed (the "try again" case).
    pub const fn is_busy(&self) -> bool {
        matches!(self, AllocError::Busy { .. })
    }
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllocError::InvalidSeq { seq } => write!(f, "invalid CS seq {seq}"),
            AllocError::Busy {
                seq,
                slot,
                pending_seq,
            } => write!(
                f,
                "cannot allocate CS {seq}: slot {slot} still holds unsignalled CS {pending_seq} (too many in flight, try again)"
            ),
            AllocError::SeqNotNewer {
                seq,
                slot,
                current_seq,
            } => write!(
                f,
                "cannot allocate CS {seq}: slot {slot} already holds CS {current_seq}"
            ),
        }
    }
}

impl std::error::Error for AllocError {}

struct PoolState {
    /// The ring: one counted reference per occupied slot.
    slots: Box<[Option<NonNull<FenceInner>>]>,
    /// Detached objects still referenced by some handle (no ring reference).
    detached: Vec<NonNull<FenceInner>>,
    /// Unreferenced objects ready for reuse.
    free: Vec<NonNull<FenceInner>>,
    stats: PoolStats,
}

/// Fence storage for a context's ring of `capacity` in-flight CSs; see the [module docs](self).
pub struct FencePool {
    state: Mutex<PoolState>,
    mask: u64,
}

// SAFETY: the raw pointers are objects owned by the pool (or shared with `Fence` handles, which
// are Send + Sync); all access to the lists goes through the mutex, and the objects themselves
// are made of atomics.
unsafe impl Send for FencePool {}
// SAFETY: as above.
unsafe impl Sync for FencePool {}

impl FencePool {
    /// Largest accepted capacity.
    pub const MAX_CAPACITY: usize = 1 << 24;

    /// A pool for `capacity` in-flight CSs, with `capacity` fence objects allocated up front.
    pub fn new(capacity: usize) -> Result<FencePool, PoolError> {
        if capacity < 2 || !capacity.is_power_of_two() || capacity > Self::MAX_CAPACITY {
            return Err(PoolError::InvalidCapacity { capacity });
        }
        let free: Vec<_> = (0..capacity)
            .map(|_| FenceInner::alloc(0, KREF_POOLED))
            .collect();
        Ok(FencePool {
            state: Mutex::new(PoolState {
                slots: vec![None; capacity].into_boxed_slice(),
                detached: Vec::with_capacity(capacity),
                free,
                stats: PoolStats {
                    heap_allocations: capacity as u64,
                    ..PoolStats::default()
                },
            }),
            mask: capacity as u64 - 1,
        })
    }

    /// Number of ring slots (`max_pending_cs`).
    pub fn capacity(&self) -> usize {
        (self.mask + 1) as usize
    }

    /// The ring slot of `seq`.
    pub fn slot_of(&self, seq: u64) -> usize {
        (seq & self.mask) as usize
    }

    /// Install a fresh, unsignalled fence for CS `seq` in its slot and return the CS's handle
    /// (the ring keeps its own reference). Fails with [`AllocError::Busy`] if the slot's
    /// previous fence is not signalled yet.
    pub fn allocate(&self, seq: u64) -> Result<Fence, AllocError> {
        if seq == 0 || seq == u64::MAX {
            return Err(AllocError::InvalidSeq { seq });
        }
        let slot = self.slot_of(seq);
        let mut st = lock(&self.state);
        let obj = match st.slots[slot] {
            None => st.take_spare(),
            Some(old) => {
                // SAFETY: the ring's reference keeps `old` alive.
                let old_ref = unsafe { old.as_ref() };
                let old_seq = old_ref.seq.load(Ordering::Relaxed);
                if !old_ref.is_signalled() {
                    return Err(AllocError::Busy {
                        seq,
                        slot,
                        pending_seq: old_seq,
                    });
                }
                if seq <= old_seq {
                    return Err(AllocError::SeqNotNewer {
                        seq,
                        slot,
                        current_seq: old_seq,
                    });
                }
                // Drop the ring's reference. Release: like any put. If it was the last one we
                // now own the object exclusively; the Acquire fence orders every other
                // handle's accesses (their Release puts) before our reuse.
                let prev = old_ref.kref.fetch_sub(1, Ordering::Release);
                if prev & KREF_COUNT == 1 {
                    fence(Ordering::Acquire);
                    st.stats.released += 1;
                    st.stats.recycled_in_place += 1;
                    old
                } else {
                    st.stats.detached += 1;
                    st.detached.push(old);
                    st.take_spare()
                }
            }
        };
        // SAFETY: `obj` is unreachable by anyone else (recycled with count 0, or spare); the
        // mutex unlock publishes the reset before any other thread can get a reference.
        unsafe { obj.as_ref() }.recycle(seq, KREF_POOLED | 2);
        st.slots[slot] = Some(obj);
        st.stats.allocated += 1;
        // SAFETY: the count 2 above includes this handle's reference.
        Ok(unsafe { Fence::from_owned(obj) })
    }

    /// A new reference to the fence of `seq` if its slot still holds it (`None` if the slot
    /// holds another CS or is empty). The context's lookup rules (invalid / gone) sit on top.
    pub fn get(&self, seq: u64) -> Option<Fence> {
        let st = lock(&self.state);
        let obj = st.slots[self.slot_of(seq)]?;
        // SAFETY: the ring's reference keeps `obj` alive while we hold the lock.
        let obj_ref = unsafe { obj.as_ref() };
        if obj_ref.seq.load(Ordering::Relaxed) != seq {
            return None;
        }
        // Relaxed: we hold (through the ring) a reference already, as in `Fence::clone`.
        obj_ref.kref.fetch_add(1, Ordering::Relaxed);
        // SAFETY: we just added the reference the handle owns.
        Some(unsafe { Fence::from_owned(obj) })
    }

    /// What a wait needs for `seq` without taking a reference when it need not: the outcome
    /// if its fence is signalled, else a reference to wait on (`None`: the slot holds another
    /// CS or is empty, as for [`get`](Self::get)). Saves a signalled-fence wait the kref
    /// increment and decrement, two atomic read-modify-writes on a line the signaller wrote.
    #[cfg_attr(loom, allow(dead_code))] // the driver, its only user, is not built under loom
    pub(crate) fn poll_or_get(&self, seq: u64) -> Option<Result<Signalled, Fence>> {
        let st = lock(&self.state);
        let obj = st.slots[self.slot_of(seq)]?;
        // SAFETY: the ring's reference keeps `obj` alive while we hold the lock.
        let obj_ref = unsafe { obj.as_ref() };
        if obj_ref.seq.load(Ordering::Relaxed) != seq {
            return None;
        }
        if let Some(signalled) = obj_ref.signalled() {
            return Some(Ok(signalled));
        }
        // Relaxed: we hold (through the ring) a reference already, as in `Fence::clone`.
        obj_ref.kref.fetch_add(1, Ordering::Relaxed);
        // SAFETY: we just added the reference the handle owns.
        Some(Err(unsafe { Fence::from_owned(obj) }))
    }

    /// Drop the ring's reference to every slot whose fence is signalled (the context being torn
    /// down, `hl_ctx_fini`). Unsignalled fences stay. Returns how many slots were emptied.
    pub fn retire_signalled(&self) -> usize {
        let mut st = lock(&self.state);
        let mut retired = 0;
        for i in 0..st.slots.len() {
            let Some(obj) = st.slots[i] else { continue };
            // SAFETY: the ring's reference keeps `obj` alive.
            let obj_ref = unsafe { obj.as_ref() };
            if !obj_ref.is_signalled() {
                continue;
            }
            st.slots[i] = None;
            retired += 1;
            let prev = obj_ref.kref.fetch_sub(1, Ordering::Release);
            if prev & KREF_COUNT == 1 {
                fence(Ordering::Acquire);
                st.stats.released += 1;
                st.free.push(obj);
            } else {
                st.detached.push(obj);
            }
        }
        retired
    }

    /// Ring slots that still hold a fence (after [`retire_signalled`](Self::retire_signalled),
    /// the unsignalled ones).
    pub fn occupied(&self) -> usize {
        lock(&self.state)
            .slots
            .iter()
            .filter(|s| s.is_some())
            .count()
    }

    /// Counters; also takes back detached fences whose last handle has been dropped.
    pub fn stats(&self) -> PoolStats {
        let mut st = lock(&self.state);
        st.reclaim();
        st.stats
    }

    /// Fences allocated and not yet released (ring-held ones included).
    pub fn live(&self) -> u64 {
        let s = self.stats();
        s.allocated - s.released
    }
}

impl PoolState {
    /// Move detached objects whose count reached zero to the free list.
    fn reclaim(&mut self) {
        let mut i = 0;
        while i < self.detached.len() {
            // SAFETY: detached objects stay allocated until the pool frees them.
            let obj = unsafe { self.detached[i].as_ref() };
            // Acquire: pairs with the last handle's Release put.
            if obj.kref.load(Ordering::Acquire) & KREF_COUNT == 0 {
                self.free.push(self.detached.swap_remove(i));
                self.stats.released += 1;
            } else {
                i += 1;
            }
        }
    }

    /// An unreferenced object: from the free list, else a reclaimed one, else a new one.
    fn take_spare(&mut self) -> NonNull<FenceInner> {
        if self.free.is_empty() {
            self.reclaim();
        }
        match self.free.pop() {
            Some(obj) => obj,
            None => {
                self.stats.heap_allocations += 1;
                FenceInner::alloc(0, KREF_POOLED)
            }
        }
    }
}

impl Drop for FencePool {
    fn drop(&mut self) {
        let st = match self.state.get_mut() {
            Ok(st) => st,
            Err(poisoned) => poisoned.into_inner(),
        };
        let ring = st.slots.iter_mut().filter_map(Option::take);
        for obj in ring {
            // SAFETY: the ring's reference keeps `obj` alive.
            let kref = &unsafe { obj.as_ref() }.kref;
            // Drop the ring's reference and the pooled bit in one RMW: from here on the last
            // handle frees the object. AcqRel: Release as a put, Acquire if we free it.
            let mut cur = kref.load(Ordering::Relaxed);
            loop {
                let new = (cur - 1) & KREF_COUNT;
                match kref.compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Relaxed) {
                    Ok(_) => break,
                    Err(actual) => cur = actual,
                }
            }
            if (cur - 1) & KREF_COUNT == 0 {
                // SAFETY: count zero and no longer pooled: nobody else can reach it.
                unsafe { FenceInner::free(obj) };
            }
        }
        for obj in st.detached.drain(..) {
            // SAFETY: detached objects stay allocated until now.
            let prev = unsafe { obj.as_ref() }
                .kref
                .fetch_and(KREF_COUNT, Ordering::AcqRel);
            if prev & KREF_COUNT == 0 {
                // SAFETY: count zero and no longer pooled.
                unsafe { FenceInner::free(obj) };
            }
        }
        for obj in st.free.drain(..) {
            // SAFETY: free objects have count zero and are unreachable.
            unsafe { FenceInner::free(obj) };
        }
    }
}

impl fmt::Debug for FencePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FencePool")
            .field("capacity", &self.capacity())
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::fence::Outcome;

    #[test]
    fn capacity_rules() {
        for bad in [0, 1, 3, 12, FencePool::MAX_CAPACITY * 2] {
            assert_eq!(
                FencePool::new(bad).err(),
                Some(PoolError::InvalidCapacity { capacity: bad })
            );
        }
        let pool = FencePool::new(64).expect("valid");
        assert_eq!(pool.capacity(), 64);
        assert_eq!(pool.slot_of(101), 37);
    }

    #[test]
    fn busy_until_signalled_then_recycled_in_place() {
        let pool = FencePool::new(4).expect("pool");
        let f1 = pool.allocate(1).expect("seq 1");
        assert_eq!(f1.ref_count(), 2, "ring + CS");
        assert_eq!(
            pool.allocate(5).err(),
            Some(AllocError::Busy {
                seq: 5,
                slot: 1,
                pending_seq: 1
            })
        );
        assert!(pool.allocate(5).err().is_some_and(|e| e.is_busy()));
        f1.signal(Outcome::Ok).expect("signal");
        drop(f1);
        let f5 = pool.allocate(5).expect("slot free again");
        assert_eq!(f5.seq(), 5);
        assert_eq!(f5.poll(), None, "a recycled fence starts unsignalled");
        let s = pool.stats();
        assert_eq!((s.allocated, s.released, s.recycled_in_place), (2, 1, 1));
        assert_eq!(s.heap_allocations, 4);
        f5.signal(Outcome::Ok).expect("signal");
        assert_eq!(
            pool.allocate(1).err(),
            Some(AllocError::SeqNotNewer {
                seq: 1,
                slot: 1,
                current_seq: 5
            })
        );
    }

    #[test]
    fn invalid_seqs() {
        let pool = FencePool::new(2).expect("pool");
        assert_eq!(
            pool.allocate(0).err(),
            Some(AllocError::InvalidSeq { seq: 0 })
        );
        assert_eq!(
            pool.allocate(u64::MAX).err(),
            Some(AllocError::InvalidSeq { seq: u64::MAX })
        );
    }

    #[test]
    fn stale_handle_keeps_its_own_outcome() {
        let pool = FencePool::new(2).expect("pool");
        let f2 = pool.allocate(2).expect("seq 2");
        let waiter = pool.get(2).expect("lookup");
        f2.signal(Outcome::Aborted).expect("signal");
        drop(f2);
        let f4 = pool.allocate(4).expect("slot 0 reused");
        f4.signal(Outcome::Ok).expect("signal");
        assert_eq!(waiter.seq(), 2);
        assert_eq!(waiter.wait(), Outcome::Aborted, "never CS 4's outcome");
        assert!(pool.get(2).is_none(), "the ring moved on");
        assert_eq!(pool.stats().detached, 1);
        drop(waiter);
        drop(f4);
        assert_eq!(pool.retire_signalled(), 1);
        assert_eq!(pool.live(), 0, "every fence released");
        // The detached object is reused: no new heap allocation.
        let f6 = pool.allocate(6).expect("seq 6");
        assert_eq!(pool.stats().heap_allocations, 2);
        f6.signal(Outcome::Ok).expect("signal");
    }

    #[test]
    fn handles_outlive_the_pool() {
        let pool = FencePool::new(2).expect("pool");
        let f = pool.allocate(1).expect("seq 1");
        let g = pool.allocate(2).expect("seq 2");
        g.signal(Outcome::Ok).expect("signal");
        drop(g);
        drop(pool);
        assert_eq!(f.ref_count(), 1);
        f.signal(Outcome::Aborted).expect("signal");
        assert_eq!(f.wait(), Outcome::Aborted);
    }

    #[test]
    fn errors_display() {
        assert_eq!(
            AllocError::Busy {
                seq: 101,
                slot: 37,
                pending_seq: 37
            }
            .to_string(),
            "cannot allocate CS 101: slot 37 still holds unsignalled CS 37 (too many in flight, try again)"
        );
        assert!(
            PoolError::InvalidCapacity { capacity: 3 }
                .to_string()
                .contains("power of two")
        );
    }
}
