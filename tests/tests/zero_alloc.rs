//! Zero heap allocations per CS in steady state (ARCHITECTURE.md: "no allocation per CS"),
//! proved with a counting global allocator: warm up, then count every allocation of the process
//! over N submit -> complete -> wait cycles, on the virtual clock and on real engine threads.
//!
//! The allocator counts every thread of the process, so this binary holds exactly one test: with
//! a second one, the test harness's own thread allocates (to report the first test's result)
//! while the second is counting, which made the count flaky.

use asicgen_generated::{example::Example, gaudi::Gaudi, goya::Goya};
use asicgen_runtime::asic::Asic;
use asicgen_runtime::{ClockMode, CsSubmit, Device, DeviceConfig, Job, Runner, WaitStatus, Work};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const WARM_UP: usize = 2_000;
const MEASURED: usize = 5_000;

fn queue<A: Asic>() -> u32 {
    A::QUEUES
        .iter()
        .find(|q| q.accepts_user_jobs() && q.queue_type.has_completion())
        .map(|q| q.id)
        .expect("a completing queue")
}

/// Allocations over `MEASURED` cycles after `WARM_UP` ones.
fn allocations_per_cycles<A: Asic>(clock: ClockMode) -> u64 {
    let mut cfg = DeviceConfig::for_asic::<A>();
    cfg.clock = clock;
    cfg.sim.latency = Duration::ZERO;
    let d = Device::<A>::new(cfg).expect("config");
    let ctx = d.open().expect("a free context");
    let runner = (clock == ClockMode::Real).then(|| Runner::start(&d).expect("threads"));
    let jobs = [Job::new(queue::<A>()).with_work(Work::Default)];
    let cs = CsSubmit::new(&jobs).with_timestamp();
    let cycle = || {
        let seq = ctx.submit(&cs).expect("submitted");
        let status = ctx.wait_cs(seq, Duration::from_secs(60), None);
        assert!(
            matches!(status, Ok(WaitStatus::Completed { .. })),
            "{status:?}"
        );
    };
    for _ in 0..WARM_UP {
        cycle();
    }
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    for _ in 0..MEASURED {
        cycle();
    }
    COUNTING.store(false, Ordering::Relaxed);
    drop(runner);
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Allocations over `MEASURED` CSs after `WARM_UP` ones, 32 in flight, with the submitter and
/// the engine worker on one CPU: the waiter completes the due CSs itself (busy polling), many
/// signals per lock hold.
fn allocations_pipelined_on_one_cpu<A: Asic>() -> u64 {
    asicgen_runtime::sim::pin_current_thread(0).expect("pin");
    let mut cfg = DeviceConfig::for_asic::<A>();
    cfg.clock = ClockMode::Real;
    cfg.sim.latency = Duration::ZERO;
    cfg.sim.lane_cpu = Some(0);
    let d = Device::<A>::new(cfg).expect("config");
    let ctx = d.open().expect("a free context");
    let runner = Runner::start(&d).expect("threads");
    let jobs = [Job::new(queue::<A>())];
    let cs = CsSubmit::new(&jobs).with_timestamp();
    let mut window = std::collections::VecDeque::with_capacity(32);
    let mut run = |n: usize| {
        for _ in 0..n {
            window.push_back(ctx.submit(&cs).expect("submitted"));
            if window.len() == 32 {
                let seq = window.pop_front().expect("in flight");
                assert!(ctx.wait_cs(seq, Duration::from_secs(60), None).is_ok());
            }
        }
        while let Some(seq) = window.pop_front() {
            assert!(ctx.wait_cs(seq, Duration::from_secs(60), None).is_ok());
        }
    };
    run(WARM_UP);
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    run(MEASURED);
    COUNTING.store(false, Ordering::Relaxed);
    drop(runner);
    asicgen_runtime::sim::unpin_current_thread().expect("unpin");
    ALLOCATIONS.load(Ordering::Relaxed)
}

#[test]
fn zero_allocations_per_cs() {
    // The counter does count.
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    drop(std::hint::black_box(Box::new(7u64)));
    COUNTING.store(false, Ordering::Relaxed);
    assert_eq!(ALLOCATIONS.load(Ordering::Relaxed), 1);

    assert_eq!(
        allocations_per_cycles::<Goya>(ClockMode::Virtual),
        0,
        "Goya, virtual clock"
    );
    assert_eq!(
        allocations_per_cycles::<Gaudi>(ClockMode::Virtual),
        0,
        "Gaudi, virtual clock"
    );
    assert_eq!(
        allocations_per_cycles::<Example>(ClockMode::Virtual),
        0,
        "Example, virtual clock"
    );
    assert_eq!(
        allocations_per_cycles::<Goya>(ClockMode::Real),
        0,
        "Goya, real threads"
    );
    assert_eq!(
        allocations_per_cycles::<Example>(ClockMode::Real),
        0,
        "Example, real threads"
    );
    assert_eq!(
        allocations_pipelined_on_one_cpu::<Gaudi>(),
        0,
        "Gaudi, real threads on one CPU, 32 in flight"
    );
}
