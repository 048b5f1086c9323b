//! Multi-thread stress tests: bounded iterations, finishing in seconds, no timing assertions.
#![cfg(not(loom))]

use asicgen_runtime::{
    AllocError, CancelToken, Completion, Fence, FencePool, Outcome, Timestamp, WaitError,
};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

/// Producers post N units with complete(), consumers take exactly N in total with a mix of
/// timed and polling waits: nothing lost, nothing doubled. (2 × PER_THREAD stays below
/// `Completion::MAX_DONE`, so saturation cannot drop units even if consumers fall behind.)
#[test]
fn stress_counting_completion() {
    const PER_THREAD: u64 = 5_000;
    const _: () = assert!(2 * PER_THREAD < Completion::MAX_DONE as u64);
    let c = Arc::new(Completion::new());
    let taken = Arc::new(AtomicU64::new(0));
    let producers: Vec<_> = (0..2)
        .map(|_| {
            let c = Arc::clone(&c);
            thread::spawn(move || {
                for _ in 0..PER_THREAD {
                    c.complete();
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..3u64)
        .map(|k| {
            let (c, taken) = (Arc::clone(&c), Arc::clone(&taken));
            thread::spawn(move || {
                let mut mine = 0;
                while taken.load(Ordering::Relaxed) < 2 * PER_THREAD {
                    let got = match (k, mine % 3) {
                        (0, _) => c.wait_timeout(Duration::from_millis(1)).is_ok(),
                        (1, _) => c.try_wait(),
                        _ => c.wait_timeout(Duration::from_micros(50)).is_ok(),
                    };
                    if got {
                        mine += 1;
                        taken.fetch_add(1, Ordering::Relaxed);
                    }
                }
                mine
            })
        })
        .collect();
    for p in producers {
        p.join().expect("producer");
    }
    let total: u64 = consumers
        .into_iter()
        .map(|t| t.join().expect("consumer"))
        .sum();
    assert_eq!(total, 2 * PER_THREAD);
    assert!(!c.try_wait(), "no unit left over");
}

/// Many rounds of one fence, several waiters of every kind, one signal: every waiter returns
/// with the outcome (or its own timeout/interruption), and the fence is released.
#[test]
fn stress_fence_broadcast_rounds() {
    const ROUNDS: u64 = 2_000;
    for round in 1..=ROUNDS {
        let f = Fence::new(round);
        let token = CancelToken::new();
        let waiters: Vec<_> = (0..4)
            .map(|k| {
                let (f, token) = (f.clone(), token.clone());
                thread::spawn(move || match k {
                    0 => Ok(f.wait()),
                    1 => f.wait_timeout(Duration::from_micros(20)),
                    2 => f.wait_interruptible(&token, None),
                    _ => f.wait_signalled(None, None).map(|s| s.outcome),
                })
            })
            .collect();
        if round % 3 == 0 {
            token.cancel();
        }
        f.signal_with_timestamp(Outcome::TimedOut, Timestamp::now())
            .expect("signal");
        for (k, w) in waiters.into_iter().enumerate() {
            match (k, w.join().expect("waiter")) {
                (_, Ok(o)) => assert_eq!(o, Outcome::TimedOut),
                (1, Err(WaitError::TimedOut)) => {}
                (2, Err(WaitError::Interrupted)) => assert_eq!(round % 3, 0),
                (k, Err(e)) => panic!("waiter {k}: {e}"),
            }
        }
        assert_eq!(f.ref_count(), 1);
    }
}

/// Concurrent clone/drop storms on shared fences while they are signalled and waited on.
#[test]
fn stress_kref_get_put() {
    let fences: Vec<Fence> = (1..=64).map(Fence::new).collect();
    let shared = Arc::new(fences);
    let workers: Vec<_> = (0..4)
        .map(|k| {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                for i in 0..20_000usize {
                    let f = &shared[(i * 7 + k) % shared.len()];
                    let a = f.clone();
                    let b = a.clone();
                    drop(a);
                    if i % 64 == k {
                        let _ = b.signal(Outcome::Ok);
                    }
                    if b.is_signalled() {
                        assert_eq!(b.wait(), Outcome::Ok);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    for f in shared.iter() {
        assert_eq!(f.ref_count(), 1, "every get matched by a put");
    }
}

/// The ring under load: a submitter allocates seqs in order (retrying on Busy), a completer
/// signals them with varying outcomes, and lookers hold handles across laps. Every handle only
/// ever reports its own CS's outcome, and every fence is released at the end.
#[test]
fn stress_pool_ring_with_stale_waiters() {
    const CAP: usize = 8;
    const CSS: u64 = 20_000;
    let pool = Arc::new(FencePool::new(CAP).expect("pool"));
    let expected: Arc<Vec<AtomicU8>> = Arc::new((0..=CSS).map(|_| AtomicU8::new(0)).collect());
    let next = Arc::new(AtomicU64::new(1));
    let outcome_of = |seq: u64| match seq % 4 {
        0 => Outcome::Ok,
        1 => Outcome::TimedOut,
        2 => Outcome::Aborted,
        _ => Outcome::NotSubmitted,
    };
    let (tx, rx) = mpsc::sync_channel::<Fence>(CAP);
    let completer = {
        let expected = Arc::clone(&expected);
        thread::spawn(move || {
            for f in rx {
                let o = outcome_of(f.seq());
                expected[f.seq() as usize].store(1, Ordering::Release);
                f.signal_with_timestamp(o, Timestamp::from_nanos(f.seq()))
                    .expect("signalled once");
            }
        })
    };
    let lookers: Vec<_> = (0..2)
        .map(|k| {
            let (pool, next) = (Arc::clone(&pool), Arc::clone(&next));
            thread::spawn(move || {
                let mut held: Vec<Fence> = Vec::new();
                let mut checked = 0u64;
                loop {
                    let n = next.load(Ordering::Acquire);
                    if n > CSS {
                        break;
                    }
                    let seq = n.saturating_sub(1 + (checked % 5)).max(1);
                    if let Some(f) = pool.get(seq) {
                        assert_eq!(f.seq(), seq);
                        held.push(f);
                    }
                    if held.len() > 2 * CAP + k {
                        for f in held.drain(..) {
                            let s = f.wait_signalled(None, None).expect("no deadline");
                            assert_eq!(s.outcome, outcome_of(f.seq()), "own outcome");
                            assert_eq!(s.timestamp.map(Timestamp::as_nanos), Some(f.seq()));
                            checked += 1;
                        }
                    }
                }
                for f in held {
                    assert_eq!(f.wait(), outcome_of(f.seq()));
                }
                checked
            })
        })
        .collect();
    let mut busy = 0u64;
    for seq in 1..=CSS {
        let f = loop {
            match pool.allocate(seq) {
                Ok(f) => break f,
                Err(AllocError::Busy { .. }) => {
                    busy += 1;
                    thread::yield_now();
                }
                Err(e) => panic!("{e}"),
            }
        };
        next.store(seq + 1, Ordering::Release);
        tx.send(f).expect("completer alive");
    }
    drop(tx);
    completer.join().expect("completer");
    let checked: u64 = lookers.into_iter().map(|t| t.join().expect("looker")).sum();
    assert!(
        expected
            .iter()
            .skip(1)
            .all(|e| e.load(Ordering::Acquire) == 1)
    );
    pool.retire_signalled();
    let stats = pool.stats();
    assert_eq!(pool.live(), 0, "every fence released: {stats:?}");
    assert_eq!(stats.allocated, CSS);
    // Informational: visible with --nocapture.
    println!("busy retries {busy}, handles checked {checked}, {stats:?}");
}

/// Interruptible waiters racing cancellations and signals on counting completions.
#[test]
fn stress_cancel_vs_complete() {
    for _ in 0..2_000 {
        let c = Arc::new(Completion::new());
        let token = CancelToken::new();
        let (c2, t2) = (Arc::clone(&c), token.clone());
        let w = thread::spawn(move || c2.wait_interruptible(&t2));
        let (c3, t3) = (Arc::clone(&c), token.clone());
        let s = thread::spawn(move || {
            c3.complete();
            t3.cancel();
        });
        s.join().expect("signaller");
        match w.join().expect("waiter") {
            Ok(()) => assert!(!c.try_wait()),
            Err(WaitError::Interrupted) => assert!(c.try_wait(), "unit not lost"),
            Err(e) => panic!("{e}"),
        }
    }
}
