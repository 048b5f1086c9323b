//! Zero heap allocations per CS in steady state, proved with a counting global allocator.
//!
//! Only allocations made by the test's own two threads count: the test harness's main thread
//! does its own bookkeeping (a map of running tests) at a moment that races the window.
#![cfg(not(loom))]

use asicgen_runtime::{Completion, FencePool, Outcome, Timestamp};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set on the threads whose allocations the test counts.
    static COUNTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether an allocation now, on this thread, counts.
fn counts() -> bool {
    COUNTING.load(Ordering::Relaxed) && COUNTED.try_with(std::cell::Cell::get).unwrap_or(false)
}

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counts() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counts() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_cs_lifecycle_allocates_nothing() {
    const CAP: u64 = 16;
    const LAPS: u64 = 50;
    let pool = Arc::new(FencePool::new(CAP as usize).expect("pool"));
    // A waiter thread, spawned before counting starts; handshakes use our own completions.
    let go = Arc::new(Completion::new());
    let done = Arc::new(Completion::new());
    let (p2, go2, done2) = (Arc::clone(&pool), Arc::clone(&go), Arc::clone(&done));
    COUNTED.with(|c| c.set(true));
    let waiter = thread::spawn(move || {
        COUNTED.with(|c| c.set(true));
        let mut seen = 0u64;
        for seq in 1..=CAP * LAPS {
            go2.wait();
            if let Some(f) = p2.get(seq)
                && f.wait() == Outcome::Ok
                && f.signalled().and_then(|s| s.timestamp).is_some()
            {
                seen += 1;
            }
            done2.complete();
        }
        seen
    });
    let run = |seqs: std::ops::RangeInclusive<u64>| {
        for seq in seqs {
            let cs = pool.allocate(seq).expect("slot free");
            go.complete();
            let extra = cs.clone();
            cs.signal_with_timestamp(Outcome::Ok, Timestamp::now())
                .expect("first signal");
            drop(extra);
            done.wait();
            drop(cs);
        }
    };
    // Warm-up lap: the first use of each slot takes a preallocated object.
    run(1..=CAP);
    COUNTING.store(true, Ordering::SeqCst);
    run(CAP + 1..=CAP * LAPS);
    COUNTING.store(false, Ordering::SeqCst);
    let allocs = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(waiter.join().expect("waiter"), CAP * LAPS);
    assert_eq!(
        allocs,
        0,
        "heap allocations during {} CSs",
        CAP * (LAPS - 1)
    );
    let stats = pool.stats();
    assert_eq!(stats.heap_allocations, CAP, "only the up-front objects");
    pool.retire_signalled();
    assert_eq!(pool.live(), 0, "every fence released");
}
