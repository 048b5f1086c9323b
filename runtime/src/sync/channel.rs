//! The words the submission and completion sides share (`driver/handoff.rs`), as types whose
//! memory orderings are chosen here, once, with the reason next to them. No other driver code
//! names an `Ordering` for these words.
//!
//! - [`Cursor`]: an index or count that one side moves forward and the other reads to decide
//!   that what it covers may be reused (a queue's `ci`, a CQ's released entries). Moves are
//!   Release, reads Acquire: whoever sees the new value sees everything done before the move.
//! - [`Doorbell`]: a counter only one side rings (under its lock) and the other watches. The
//!   ring is a plain load and a Release store (single writer: no locked instruction on the
//!   submit path); a look is Acquire, so the pushed work is visible.
//! - [`Carried`]: a word published by something else (the submission log's push, a Release
//!   inside the ring buffer) and read after the matching pop: Relaxed both ways.
//! - [`Hint`]: a counter whose value only steers spinning (progress made): Relaxed both ways; a
//!   late look costs a little time, never correctness.
//! - [`VirtualClock`]: moved only under the completion lock, read anywhere: Relaxed (a reader
//!   that needs a consistent time takes the lock).
//!
//! Under `--cfg loom` these are built on loom's atomics; the models below check the Cursor and
//! Doorbell publication rules.

use crate::sync::{AtomicU32, AtomicU64, Ordering};

/// See the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct Cursor(AtomicU32);

impl Cursor {
    pub(crate) fn new() -> Cursor {
        Cursor(AtomicU32::new(0))
    }

    /// The other side's look: Acquire, pairs with [`advance_to`](Self::advance_to) and
    /// [`add`](Self::add).
    #[inline]
    pub(crate) fn read(&self) -> u32 {
        self.0.load(Ordering::Acquire)
    }

    /// The moving side's own look (it is the only writer): Relaxed.
    #[inline]
    pub(crate) fn own(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Move to `v` (only writer): Release, so a reader that sees `v` sees what came before.
    #[inline]
    pub(crate) fn advance_to(&self, v: u32) {
        self.0.store(v, Ordering::Release);
    }

    /// Move forward by `n` (wrapping): Release, as above.
    #[inline]
    pub(crate) fn add(&self, n: u32) {
        self.0.fetch_add(n, Ordering::Release);
    }

    /// Back to 0 with both sides' locks held (a reset): the unlocks publish it.
    pub(crate) fn clear(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// See the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct Doorbell(AtomicU64);

impl Doorbell {
    pub(crate) fn new() -> Doorbell {
        Doorbell(AtomicU64::new(0))
    }

    /// Ring once more. The single ringer (under the submission lock) reads its own last value
    /// Relaxed and publishes the next with Release: no read-modify-write.
    #[inline]
    pub(crate) fn ring(&self) {
        self.0
            .store(self.0.load(Ordering::Relaxed) + 1, Ordering::Release);
    }

    /// Rings so far: Acquire, so work pushed before a ring that is seen is visible.
    #[inline]
    pub(crate) fn rings(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// See the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct Carried(AtomicU64);

impl Carried {
    pub(crate) fn new() -> Carried {
        Carried(AtomicU64::new(0))
    }

    /// Write before the publication that carries it.
    #[inline]
    pub(crate) fn put(&self, v: u64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// Read after the matching consumption (or by the only writer).
    #[inline]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// See the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct Hint(AtomicU64);

impl Hint {
    pub(crate) fn new() -> Hint {
        Hint(AtomicU64::new(0))
    }

    #[inline]
    pub(crate) fn bump(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn read(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// See the [module docs](self).
#[derive(Debug, Default)]
pub(crate) struct VirtualClock(AtomicU64);

impl VirtualClock {
    pub(crate) fn new() -> VirtualClock {
        VirtualClock(AtomicU64::new(0))
    }

    /// Virtual ns now.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Move forward to `t` (never back); returns the time after the move. Completion lock held.
    pub(crate) fn advance_to(&self, t: u64) -> u64 {
        let now = self.now().max(t);
        self.0.store(now, Ordering::Relaxed);
        now
    }
}

#[cfg(all(test, loom))]
mod tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// A Cursor move publishes what came before it: a reader that sees the new index also
    /// sees the entry the mover released (the submitter may then overwrite it safely).
    #[test]
    fn loom_cursor_publishes_what_came_before() {
        loom::model(|| {
            let entry = Arc::new(AtomicU32::new(0));
            let ci = Arc::new(Cursor::new());
            let (entry2, ci2) = (Arc::clone(&entry), Arc::clone(&ci));
            let completion = thread::spawn(move || {
                entry2.store(7, Ordering::Relaxed);
                ci2.advance_to(1);
                ci2.add(1);
            });
            let seen = ci.read();
            if seen >= 1 {
                assert_eq!(entry.load(Ordering::Relaxed), 7);
            }
            completion.join().unwrap();
            assert_eq!(ci.read(), 2);
        });
    }

    /// A seen Doorbell ring makes the pushed job and the word carried with it visible.
    #[test]
    fn loom_doorbell_ring_makes_the_push_visible() {
        loom::model(|| {
            let job = Arc::new(Carried::new());
            let bell = Arc::new(Doorbell::new());
            let (job2, bell2) = (Arc::clone(&job), Arc::clone(&bell));
            let submitter = thread::spawn(move || {
                job2.put(42);
                bell2.ring();
            });
            if bell.rings() == 1 {
                assert_eq!(job.get(), 42);
            }
            submitter.join().unwrap();
            assert_eq!(bell.rings(), 1);
        });
    }
}
