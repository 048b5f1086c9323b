//! Loom models of the completion, the fence kref and ring-slot reuse.
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p asicgen-runtime --release loom`
//!
//! Under loom the futex is modelled by a mutex + condvar and a timed wait times out at once
//! (loom has no clock), so every "timeout" below races the signal at every possible point.
#![cfg(loom)]

use asicgen_runtime::{
    CancelToken, Completion, Fence, FencePool, Outcome, Signalled, Timestamp, WaitError,
};
use loom::sync::Arc;
use loom::thread;
use std::time::{Duration, Instant};

fn far() -> Instant {
    Instant::now() + Duration::from_secs(3600)
}

/// complete() vs a sleeping wait(): the waiter always wakes and consumes the one unit.
#[test]
fn loom_complete_wakes_blocked_waiter() {
    loom::model(|| {
        let c = Arc::new(Completion::new());
        let c2 = Arc::clone(&c);
        let waiter = thread::spawn(move || c2.wait());
        c.complete();
        waiter.join().unwrap();
        assert!(!c.is_done(), "the wait consumed the unit");
    });
}

/// complete() vs a timed wait that gives up: the unit is consumed exactly once, either by the
/// waiter (Ok) or left for the next try_wait (TimedOut). Never lost, never doubled.
#[test]
fn loom_complete_vs_timeout_never_loses_a_unit() {
    loom::model(|| {
        let c = Arc::new(Completion::new());
        let c2 = Arc::clone(&c);
        let waiter = thread::spawn(move || c2.wait_deadline(far()));
        c.complete();
        let r = waiter.join().unwrap();
        let left = c.try_wait();
        match r {
            Ok(()) => assert!(!left),
            Err(WaitError::TimedOut) => assert!(left),
            Err(e) => panic!("unexpected {e}"),
        }
        assert!(!c.try_wait());
    });
}

/// complete() vs complete_all() with two waiters (one blocking, one timed): counting is
/// consistent, and after complete_all every waiter passes and keeps passing.
#[test]
fn loom_complete_vs_complete_all_counting() {
    loom::model(|| {
        let c = Arc::new(Completion::new());
        let (c1, c2) = (Arc::clone(&c), Arc::clone(&c));
        let blocking = thread::spawn(move || c1.wait());
        let signaller = thread::spawn(move || {
            c2.complete();
            c2.complete_all();
        });
        blocking.join().unwrap();
        signaller.join().unwrap();
        assert!(c.is_done());
        assert!(c.try_wait() && c.try_wait(), "complete_all is sticky");
        c.reinit().unwrap();
        assert!(!c.is_done());
    });
}

/// Two complete() calls wake two sleeping waiters (the "wake one" path twice).
#[test]
fn loom_two_completes_wake_two_waiters() {
    loom::model(|| {
        let c = Arc::new(Completion::new());
        let (c1, c2) = (Arc::clone(&c), Arc::clone(&c));
        let w1 = thread::spawn(move || c1.wait());
        let w2 = thread::spawn(move || c2.wait());
        c.complete();
        c.complete();
        w1.join().unwrap();
        w2.join().unwrap();
        assert!(!c.is_done());
    });
}

/// cancel() vs complete() vs an interruptible wait: the waiter always returns; if it was
/// interrupted the unit is still there.
#[test]
fn loom_cancel_wakes_interruptible_waiter() {
    loom::model(|| {
        let c = Arc::new(Completion::new());
        let token = CancelToken::new();
        let (c2, t2) = (Arc::clone(&c), token.clone());
        let waiter = thread::spawn(move || c2.wait_interruptible(&t2));
        let c3 = Arc::clone(&c);
        let signaller = thread::spawn(move || c3.complete());
        token.cancel();
        let r = waiter.join().unwrap();
        signaller.join().unwrap();
        match r {
            Ok(()) => assert!(!c.try_wait()),
            Err(WaitError::Interrupted) => assert!(c.try_wait()),
            Err(e) => panic!("unexpected {e}"),
        }
    });
}

/// Fence signal vs wait: the waiter sees the outcome and the timestamp written after the
/// publishing CAS.
#[test]
fn loom_fence_signal_vs_wait_sees_outcome_and_timestamp() {
    loom::model(|| {
        let f = Fence::new(7);
        let f2 = f.clone();
        let waiter = thread::spawn(move || f2.wait_signalled(None, None));
        f.signal_with_timestamp(Outcome::TimedOut, Timestamp::from_nanos(5))
            .unwrap();
        assert_eq!(
            waiter.join().unwrap(),
            Ok(Signalled {
                outcome: Outcome::TimedOut,
                timestamp: Some(Timestamp::from_nanos(5)),
            })
        );
    });
}

/// Fence signal vs a timed wait: Ok(outcome) or TimedOut, and a TimedOut waiter leaves
/// nothing behind (the waiter count returns to zero, so the fence could be recycled).
#[test]
fn loom_fence_signal_vs_timeout() {
    loom::model(|| {
        let f = Fence::new(1);
        let f2 = f.clone();
        let waiter = thread::spawn(move || f2.wait_deadline(far()));
        f.signal(Outcome::Ok).unwrap();
        let r = waiter.join().unwrap();
        assert!(r == Ok(Outcome::Ok) || r == Err(WaitError::TimedOut));
        assert_eq!(f.wait(), Outcome::Ok);
        assert_eq!(f.ref_count(), 1);
    });
}

/// Two concurrent signals: exactly one wins, the loser gets AlreadySignalled with the winner's
/// outcome, and the timestamp is the winner's.
#[test]
fn loom_fence_double_signal_exactly_once() {
    loom::model(|| {
        let f = Fence::new(3);
        let f2 = f.clone();
        let other = thread::spawn(move || {
            f2.signal_with_timestamp(Outcome::Aborted, Timestamp::from_nanos(1))
        });
        let mine = f.signal_with_timestamp(Outcome::Ok, Timestamp::from_nanos(2));
        let theirs = other.join().unwrap();
        assert!(mine.is_ok() != theirs.is_ok(), "exactly one signal wins");
        let s = f.signalled().unwrap();
        let expected = if mine.is_ok() {
            (Outcome::Ok, 2)
        } else {
            (Outcome::Aborted, 1)
        };
        assert_eq!(
            (s.outcome, s.timestamp.map(Timestamp::as_nanos)),
            (expected.0, Some(expected.1))
        );
    });
}

/// Concurrent get/put racing the release: clones and drops on two threads; the object is
/// released exactly once (loom reports a leak otherwise; a double free would crash).
#[test]
fn loom_kref_get_put_races_release() {
    loom::model(|| {
        let f = Fence::new(1);
        let f2 = f.clone();
        let t = thread::spawn(move || {
            let f3 = f2.clone();
            drop(f2);
            f3.signal(Outcome::Ok).ok();
            drop(f3);
        });
        let g = f.clone();
        drop(f);
        assert!(g.ref_count() >= 1);
        drop(g);
        t.join().unwrap();
    });
}

/// Ring-slot recycling vs a stale waiter: the waiter holding the handle of CS 1 sees CS 1's
/// outcome even though slot 1 is reused for CS 3 (in place or by detaching the old object,
/// depending on whether the waiter has dropped its handle yet).
#[test]
fn loom_slot_recycling_vs_stale_waiter() {
    loom::model(|| {
        let pool = Arc::new(FencePool::new(2).unwrap());
        let cs1 = pool.allocate(1).unwrap();
        let stale = pool.get(1).unwrap();
        let waiter = thread::spawn(move || {
            let outcome = stale.wait();
            (stale.seq(), outcome)
        });
        cs1.signal(Outcome::Aborted).unwrap();
        drop(cs1);
        let cs3 = pool.allocate(3).unwrap();
        cs3.signal(Outcome::Ok).unwrap();
        assert_eq!(waiter.join().unwrap(), (1, Outcome::Aborted));
        drop(cs3);
        pool.retire_signalled();
        assert_eq!(pool.live(), 0, "every fence released");
    });
}

/// A handle's last put racing the pool's drop: the object is freed exactly once, by
/// whichever side lets go last.
#[test]
fn loom_pool_drop_vs_last_handle() {
    loom::model(|| {
        let pool = FencePool::new(2).unwrap();
        let cs = pool.allocate(1).unwrap();
        let t = thread::spawn(move || {
            cs.signal(Outcome::Ok).ok();
            drop(cs);
        });
        drop(pool);
        t.join().unwrap();
    });
}
