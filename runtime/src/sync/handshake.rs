//! The sleep/wake handshake between submitters and one engine-lane worker.
//!
//! A submitter publishes a job (pushes it to the lane's ring) and then asks whether the worker
//! sleeps past the job's due time, and if so unparks it. A worker about to park says until when
//! it sleeps and then looks at its rings once more. Each side stores one location and then loads
//! the other's, so each needs a store-load fence between the two, or both could miss each other
//! and the job would wait for a wake-up that never comes. The fences are an asymmetric pair
//! (`membarrier.rs`): the submitter's side is a compiler fence, the rarely-run sleeper's side a
//! `membarrier(2)`.
//!
//! Under `--cfg loom` both sides are SeqCst fences (loom cannot model membarrier) and the model
//! below checks the handshake itself: whatever the interleaving, a job pushed before the worker's
//! last look is seen by the worker or gets it unparked.

#[cfg(not(loom))]
use crate::sync::membarrier::AsymmetricFence;
use crate::sync::{AtomicU64, Ordering};

/// One lane's side of the handshake.
#[derive(Debug)]
pub(crate) struct SleepHandshake {
    /// 0 while the worker is awake; otherwise the device time it sleeps until (`u64::MAX`: until
    /// woken).
    until: AtomicU64,
    barrier: AsymmetricFence,
}

impl SleepHandshake {
    pub(crate) fn new() -> SleepHandshake {
        SleepHandshake {
            until: AtomicU64::new(0),
            barrier: AsymmetricFence::new(),
        }
    }

    /// Submitter, after publishing work due at `due`: whether the worker must be unparked
    /// (it sleeps past `due`). Only one caller gets `true` per sleep.
    #[inline]
    pub(crate) fn must_wake(&self, due: u64) -> bool {
        self.barrier.light();
        due < self.until.load(Ordering::Relaxed) && self.until.swap(0, Ordering::Relaxed) != 0
    }

    /// Worker, before its last look for work: it will sleep until `until`. `false` if this
    /// round's fence cannot be trusted, so the sleep must be bounded.
    pub(crate) fn announce_sleep(&self, until: u64) -> bool {
        self.until.store(until, Ordering::Relaxed);
        self.barrier.heavy()
    }

    /// Worker, running again: submitters need not unpark it. (A load first, so a busy worker
    /// does not write a line every submitter reads.)
    #[inline]
    #[cfg_attr(loom, allow(dead_code))] // the loom models start from a sleeping worker
    pub(crate) fn awake(&self) {
        if self.until.load(Ordering::Relaxed) != 0 {
            self.until.store(0, Ordering::Relaxed);
        }
    }
}

/// What loom can model of the fence pair: a SeqCst fence on each side.
#[cfg(loom)]
#[derive(Debug)]
struct AsymmetricFence;

#[cfg(loom)]
impl AsymmetricFence {
    fn new() -> AsymmetricFence {
        AsymmetricFence
    }

    fn light(&self) {
        crate::sync::fence(Ordering::SeqCst);
    }

    fn heavy(&self) -> bool {
        crate::sync::fence(Ordering::SeqCst);
        true
    }
}

#[cfg(all(test, loom))]
mod tests {
    use super::*;
    use loom::sync::Arc;
    use loom::sync::atomic::AtomicBool;
    use loom::thread;

    /// A push racing a worker about to park: the worker sees the job in its last look, or the
    /// submitter learns it must unpark the worker. Never neither.
    #[test]
    fn loom_parking_worker_never_misses_a_push() {
        loom::model(|| {
            let hs = Arc::new(SleepHandshake::new());
            let ring = Arc::new(AtomicBool::new(false));
            let (hs2, ring2) = (Arc::clone(&hs), Arc::clone(&ring));
            let submitter = thread::spawn(move || {
                ring2.store(true, Ordering::Release);
                hs2.must_wake(0)
            });
            assert!(hs.announce_sleep(u64::MAX));
            let seen = ring.load(Ordering::Acquire);
            let unparked = submitter.join().unwrap();
            assert!(seen || unparked, "the push was missed by both sides");
        });
    }

    /// Two submitters and a sleeping worker: exactly one of them unparks it (the swap), so a
    /// sleep costs one wake-up, not one per submitter.
    #[test]
    fn loom_one_unpark_per_sleep() {
        loom::model(|| {
            let hs = Arc::new(SleepHandshake::new());
            assert!(hs.announce_sleep(u64::MAX));
            let spawn = |hs: Arc<SleepHandshake>| thread::spawn(move || hs.must_wake(0));
            let a = spawn(Arc::clone(&hs));
            let b = spawn(Arc::clone(&hs));
            let woken = [a.join().unwrap(), b.join().unwrap()];
            assert_eq!(woken.iter().filter(|&&w| w).count(), 1);
        });
    }
}
