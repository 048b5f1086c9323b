//! Adversarial tests, third round: the runtime's real-clock threads (ARCHITECTURE.md, "Runtime
//! invariants", bullet "Threads and CPUs, real mode"), written from the public docs only:
//!
//! 1. engine lane workers run in `SCHED_BATCH` (and nobody else is moved into it);
//! 2. a waiter in `wait_cs` / `wait_multi` whose worker was last seen on its own CPU completes
//!    the due jobs itself (busy polling): raced here against resets, `mark_needs_reset`, context
//!    teardown, runner stops and device teardown, with hanging and faulting jobs, several lanes,
//!    several contexts and sync-stream CSs; every CS must end exactly once with the outcome the
//!    rules give it, the statistics must add up, and no wait may hang;
//! 3. the TDR thread with nothing armed sleeps one device TDR period, yet a CS armed with an
//!    earlier deadline still times out on time; a zero, a huge or no device period must neither
//!    spin the thread nor stop it from firing a CS's own timeout.
//!
//! Every test body runs under one process-wide lock (the tests pin threads to CPU 0, look up
//! runtime threads by name and count CPU time, so no sibling test may share the CPU or the
//! names) and on a thread of its own with a hang limit. There are no wall-time assertions:
//! outcomes, CPU time and the sleeps of a thread (`ru_nvcsw`), which a loaded machine can only
//! delay or lower, as in `same_cpu.rs`.
//!
//! Two tests failed on the tree they were written against, and pass since their fixes:
//! completion timestamps of zero-latency jobs could precede their CS's submission when the lane
//! worker ran on another CPU, by up to 58 µs (the worker read the clock before taking in the
//! jobs it then completed: `zero_latency_completions_are_not_stamped_before_their_submission`),
//! and a waiter on its lane worker's CPU stopped busy polling whenever another lane's worker, on
//! another CPU, was seen last, 1,093–1,448 sleeps in 250 batches (one CPU record for all lanes:
//! `busy_polling_follows_the_lane_of_the_cs_not_any_worker`).

mod common;

use asicgen_generated::{gaudi::Gaudi, gaudi2::Gaudi2, goya::Goya};
use asicgen_runtime::asic::Asic;
use asicgen_runtime::sim::pin_current_thread;
use asicgen_runtime::{
    CancelToken, Context, CsSubmit, CsWaitError, Device, DeviceConfig, Job, Lookup,
    MultiWaitStatus, NEVER_TIMED, Outcome, Runner, SignalSubmit, StagedSubmit, SubmitError, WaitCs,
    WaitStatus, WaitSubmit, Work,
};
use common::{real_device, within_for};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

// =============================================================================================
// Harness
// =============================================================================================

/// Only a hang reaches this.
const LIMIT: Duration = Duration::from_secs(30);
/// A bounded "forever" for one wait.
const LONG: Duration = Duration::from_secs(10);
/// A device TDR period no test reaches.
const IDLE_TDR: Duration = Duration::from_secs(60);
/// The CPU the tests share with a lane worker.
const CPU: usize = 0;

// Gaudi: DMA_0_0 (engine 0) and DMA_1_0 (engine 1) are external, sync-stream and stream-master
// queues; with two lanes engine 0 reports on lane 0 and engine 1 on lane 1.
const Q0: u32 = 0;
const Q1: u32 = 4;

static SERIAL: Mutex<()> = Mutex::new(());

/// One test at a time (see the module docs); a failed test does not poison the others.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Run `f` alone and on a thread of its own, failing on a hang.
fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let _g = serial();
    within_for(LIMIT, f)
}

/// A real device of generation `A` whose lane `i` is pinned to CPU `CPU + i`, `lanes` lanes,
/// workers parking at once, jobs of zero latency, a device TDR period of 60 s; changed by `f`.
fn pinned<A: Asic>(
    lanes: usize,
    f: impl FnOnce(&mut DeviceConfig),
) -> (Device<A>, Context<A>, Runner) {
    real_device::<A>(Duration::ZERO, |c| {
        c.sim.lanes = lanes;
        c.sim.lane_cpu = Some(CPU as u16);
        c.tdr_timeout = Some(IDLE_TDR);
        f(c);
    })
}

fn one(queue: u32, work: Work) -> [Job; 1] {
    [Job::new(queue).with_work(work)]
}

/// Submit, retrying while the driver says try again.
fn submit<A: Asic>(ctx: &Context<A>, cs: &CsSubmit<'_>) -> Result<u64, SubmitError> {
    loop {
        match ctx.submit(cs) {
            Err(e) if e.is_try_again() => thread::yield_now(),
            other => return other,
        }
    }
}

/// How a CS ended, as a waiter saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Completed,
    TimedOut,
    Aborted,
}

/// Wait for `seq` until it ends (retrying while the device is not operational), with
/// `wait_multi` on that one seq when `multi`; `None` if it was still busy after `LONG`.
fn end_of<A: Asic>(ctx: &Context<A>, seq: u64, multi: bool) -> Option<End> {
    loop {
        let r = if multi {
            match ctx.wait_multi(&[seq], LONG, None) {
                Ok(MultiWaitStatus::Completed { bitmap, .. }) => {
                    assert_eq!(bitmap, 1, "CS {seq}");
                    Ok(WaitStatus::Completed {
                        gone: false,
                        timestamp: None,
                    })
                }
                Ok(MultiWaitStatus::Busy) => Ok(WaitStatus::Busy),
                Err(e) => Err(e),
            }
        } else {
            ctx.wait_cs(seq, LONG, None)
        };
        return match r {
            Ok(WaitStatus::Completed { gone, .. }) => {
                assert!(!gone, "CS {seq} gone from a ring it cannot have left");
                Some(End::Completed)
            }
            Ok(WaitStatus::Busy) => None,
            Err(CsWaitError::TimedOut { seq: s }) => {
                assert_eq!(s, seq);
                Some(End::TimedOut)
            }
            Err(CsWaitError::Aborted { seq: s }) => {
                assert_eq!(s, seq);
                Some(End::Aborted)
            }
            Err(CsWaitError::DeviceNotOperational) | Err(CsWaitError::NoMultiWaitSlot) => {
                thread::sleep(Duration::from_micros(200));
                continue;
            }
            Err(e) => panic!("CS {seq}: unexpected wait error {e:?}"),
        };
    }
}

fn must_end<A: Asic>(ctx: &Context<A>, seq: u64, multi: bool) -> End {
    end_of(ctx, seq, multi).unwrap_or_else(|| panic!("CS {seq} still busy after {LONG:?}"))
}

/// Outcomes seen by waiters, to hold against the device statistics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    completed: u64,
    timed_out: u64,
    aborted: u64,
}

impl Tally {
    fn add(&mut self, e: End) {
        match e {
            End::Completed => self.completed += 1,
            End::TimedOut => self.timed_out += 1,
            End::Aborted => self.aborted += 1,
        }
    }
    fn plus(self, o: Tally) -> Tally {
        Tally {
            completed: self.completed + o.completed,
            timed_out: self.timed_out + o.timed_out,
            aborted: self.aborted + o.aborted,
        }
    }
}

/// Nothing in flight (waiting up to `LONG` for the last releases), and every CS that got a seq
/// released exactly once.
fn assert_settled<A: Asic>(d: &Device<A>) {
    let mut s = d.stats();
    for _ in 0..10_000 {
        if s.in_flight == 0 {
            break;
        }
        thread::sleep(Duration::from_millis(1));
        s = d.stats();
    }
    assert_eq!(s.in_flight, 0, "{s:?}");
    assert_eq!(
        s.released(),
        s.submitted + s.not_submitted,
        "every CS with a seq released once: {s:?}"
    );
    assert_eq!(
        s.submitted,
        s.completed + s.timed_out + s.aborted,
        "every submitted CS ended once: {s:?}"
    );
    assert_eq!(s.lifecycle_violations, 0, "{s:?}");
}

/// The waiters' tally is exactly what the device counted for the submitted CSs.
fn assert_tally<A: Asic>(d: &Device<A>, t: Tally) {
    let s = d.stats();
    assert_eq!(
        (s.completed, s.timed_out, s.aborted),
        (t.completed, t.timed_out, t.aborted),
        "waiters saw {t:?}, device counted {s:?}"
    );
}

/// Checks `submitted == completed + timed_out + aborted + in_flight` on every snapshot while it
/// runs; returns the bad snapshots seen (at most 5).
struct StatsMonitor {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<Vec<String>>,
}

impl StatsMonitor {
    fn start<A: Asic>(d: &Device<A>) -> StatsMonitor {
        let stop = Arc::new(AtomicBool::new(false));
        let (d, s2) = (d.clone(), Arc::clone(&stop));
        let handle = thread::spawn(move || {
            let mut bad = Vec::new();
            while !s2.load(Ordering::Relaxed) {
                let s = d.stats();
                if s.submitted != s.completed + s.timed_out + s.aborted + s.in_flight
                    && bad.len() < 5
                {
                    bad.push(format!("{s:?}"));
                }
                thread::sleep(Duration::from_micros(50));
            }
            bad
        });
        StatsMonitor { stop, handle }
    }

    fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        let bad = self.handle.join().expect("monitor");
        assert!(bad.is_empty(), "inconsistent snapshots: {bad:#?}");
    }
}

/// The calling thread's CPU time (user + system).
fn my_cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` fills the `rusage` it is given, which we own.
    let u = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()), 0);
        usage.assume_init()
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// `(tid, name)` of every thread of this process.
fn threads() -> Vec<(i32, String)> {
    let mut v = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("procfs") {
        let dir = task.expect("a task").path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        let tid = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
            .expect("a tid");
        v.push((tid, comm.trim_end().to_owned()));
    }
    v
}

fn threads_named(prefix: &str) -> Vec<(i32, String)> {
    threads()
        .into_iter()
        .filter(|(_, n)| n.starts_with(prefix))
        .collect()
}

/// User plus system CPU time, in clock ticks (10 ms), of thread `tid`.
fn thread_ticks(tid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).expect("its stat");
    let rest = &stat[stat.rfind(')').expect("comm field") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks = |n: usize| fields[n - 3].parse::<u64>().expect("a tick count");
    ticks(14) + ticks(15)
}

fn policy_of(tid: i32) -> i32 {
    // SAFETY: no pointers; a tid of this process.
    unsafe { libc::sched_getscheduler(tid) }
}

fn my_policy() -> i32 {
    // SAFETY: no pointers; 0 is the calling thread.
    unsafe { libc::sched_getscheduler(0) }
}

// ---------------------------------------------------------------------------------------------
// A per-thread allocation counter: only threads that switch it on are counted, so the test
// harness's own allocations (reporting another test) never show up.

struct Counting;

thread_local! {
    static COUNT_HERE: Cell<bool> = const { Cell::new(false) };
}
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

fn count_if_on() {
    if COUNT_HERE.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_if_on();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_if_on();
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_if_on();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by the calling thread inside `f`.
fn allocations_in(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNT_HERE.with(|c| c.set(true));
    f();
    COUNT_HERE.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::Relaxed)
}

// =============================================================================================
// 1. SCHED_BATCH
// =============================================================================================

/// Every lane worker is `SCHED_BATCH`, after a restart too; the threads that start the runner,
/// submit and busy-poll keep their own class; stopping the runner leaves no worker behind.
/// (The only test with a `Gaudi2` device, so its threads are the only ones of that name.)
#[test]
fn lane_workers_are_batch_and_nobody_else_is_moved() {
    run(|| {
        pin_current_thread(CPU).expect("pin");
        let before = my_policy();
        assert_eq!(
            before,
            libc::SCHED_OTHER,
            "the test thread starts in SCHED_OTHER"
        );
        let (d, ctx, first) = pinned::<Gaudi2>(3, |_| {});
        let mut runner = Some(first);
        let queue = common::completing_queue::<Gaudi2>();
        let jobs = one(queue, Work::Default);
        for round in 0..3 {
            let lanes = threads_named("gaudi2-lane");
            assert_eq!(lanes.len(), 3, "round {round}: {lanes:?}");
            for (tid, name) in &lanes {
                assert_eq!(policy_of(*tid), libc::SCHED_BATCH, "round {round}: {name}");
            }
            // Busy polling on the lane's CPU runs the worker's path on this thread.
            // (Gaudi2 has no multi-CS wait.)
            for _ in 0..200 {
                let seq = submit(&ctx, &CsSubmit::new(&jobs)).expect("submitted");
                assert_eq!(must_end(&ctx, seq, false), End::Completed);
            }
            assert_eq!(
                my_policy(),
                before,
                "round {round}: the waiter changed class"
            );
            // A second start is refused and changes nobody's class.
            let d2 = d.clone();
            let refused = thread::spawn(move || (Runner::start(&d2).err(), my_policy()))
                .join()
                .expect("starter");
            assert_eq!(
                refused,
                (
                    Some(asicgen_runtime::RunnerError::AlreadyStarted),
                    libc::SCHED_OTHER
                ),
                "round {round}"
            );
            assert_eq!(threads_named("gaudi2-lane").len(), 3, "round {round}");
            // Stop, then start again from another thread, which keeps its class.
            drop(runner.take());
            assert!(
                threads_named("gaudi2-lane").is_empty(),
                "round {round}: joined"
            );
            let d2 = d.clone();
            let (r, policy) = thread::spawn(move || (Runner::start(&d2), my_policy()))
                .join()
                .expect("starter");
            assert_eq!(
                policy,
                libc::SCHED_OTHER,
                "round {round}: the starter changed class"
            );
            runner = Some(r.expect("restarted"));
        }
        drop(ctx);
        drop(runner);
        assert!(threads_named("gaudi2-lane").is_empty(), "workers joined");
        assert!(threads_named("gaudi2-tdr").is_empty(), "TDR thread joined");
        assert_settled(&d);
    });
}

// =============================================================================================
// 2. Busy polling
// =============================================================================================

/// A CS of the pipeline: its seq and what its job does.
struct InFlight {
    seq: u64,
    work: Work,
}

/// A pipeline on `ctx` from a thread pinned to CPU 0 (lane 0's): CSs of zero or tiny latency on
/// `queues` in turn, every `hang_every`-th a hung job with a 20 ms timeout, up to 8 in flight,
/// waited for in order with `wait_cs` or (odd CSs, when `multi`) `wait_multi`, until `stop` or
/// `max` CSs. Checks each end against the rules (a hung CS never completes; a running CS,
/// timed by the 60 s device TDR, never times out; a seq used up by a failed submission reads
/// completed) and returns the tally of the CSs it submitted.
fn pipeline<A: Asic>(
    ctx: &Context<A>,
    queues: &[u32],
    hang_every: u64,
    multi: bool,
    stop: &AtomicBool,
    max: u64,
) -> Tally {
    pin_current_thread(CPU).expect("pin");
    pipeline_with(ctx, queues, hang_every, Work::Hang, multi, stop, max)
}

/// [`pipeline`] from the calling thread, wherever it runs, whose every `special_every`-th CS
/// does `special` (`Work::Hang`, timed out after 20 ms, or `Work::Fault`, which can only end
/// aborted).
fn pipeline_with<A: Asic>(
    ctx: &Context<A>,
    queues: &[u32],
    special_every: u64,
    special: Work,
    multi: bool,
    stop: &AtomicBool,
    max: u64,
) -> Tally {
    let mut tally = Tally::default();
    let mut window = std::collections::VecDeque::new();
    let check = |f: InFlight, tally: &mut Tally| {
        let e = must_end(ctx, f.seq, multi && f.seq % 2 == 1);
        match (f.work, e) {
            (Work::Hang, End::Completed) => panic!("hung CS {} completed", f.seq),
            (Work::Fault, End::Completed | End::TimedOut) => {
                panic!("faulting CS {} ended {e:?}", f.seq)
            }
            (Work::Run(_) | Work::Default, End::TimedOut) => {
                panic!("running CS {} timed out", f.seq)
            }
            _ => tally.add(e),
        }
    };
    let mut i = 0u64;
    while i < max && !stop.load(Ordering::Relaxed) {
        let odd = special_every > 0 && i % special_every == special_every - 1;
        let work = match (odd, i % 3) {
            (true, _) => special,
            (false, 0) => Work::Run(Duration::ZERO),
            (false, 1) => Work::Run(Duration::from_micros(50)),
            (false, _) => Work::Default,
        };
        let jobs = one(queues[i as usize % queues.len()], work);
        let cs = if work == Work::Hang {
            CsSubmit::new(&jobs).with_timeout(Duration::from_millis(20))
        } else {
            CsSubmit::new(&jobs)
        };
        i += 1;
        match submit(ctx, &cs) {
            Ok(seq) => window.push_back(InFlight { seq, work }),
            Err(SubmitError::DeviceNotOperational) => {
                thread::sleep(Duration::from_micros(100));
                continue;
            }
            Err(e) => {
                let seq = e.consumed_seq().unwrap_or_else(|| panic!("refused: {e:?}"));
                assert_eq!(
                    end_of(ctx, seq, false),
                    Some(End::Completed),
                    "a seq used up by {e:?} reads completed"
                );
            }
        }
        if window.len() >= 8 {
            check(window.pop_front().expect("in flight"), &mut tally);
        }
    }
    while let Some(f) = window.pop_front() {
        check(f, &mut tally);
    }
    tally
}

/// Each kind of job, waited for by a thread on its worker's CPU (busy polling, both waits),
/// ends as on the virtual clock and leaves the same counts.
#[test]
fn busy_polled_outcomes_match_the_virtual_clock() {
    run(|| {
        pin_current_thread(CPU).expect("pin");
        type Case = (&'static str, fn() -> Vec<(Job, Option<Duration>)>);
        let cases: [Case; 6] = [
            ("run 0", || {
                vec![(Job::new(Q0).with_work(Work::Run(Duration::ZERO)), None)]
            }),
            ("run 3 ms", || {
                vec![(
                    Job::new(Q0).with_work(Work::Run(Duration::from_millis(3))),
                    None,
                )]
            }),
            ("fault", || {
                vec![(Job::new(Q0).with_work(Work::Fault), None)]
            }),
            ("hang, own timeout", || {
                vec![(
                    Job::new(Q0).with_work(Work::Hang),
                    Some(Duration::from_millis(30)),
                )]
            }),
            ("run then fault on two lanes", || {
                vec![
                    (Job::new(Q0).with_work(Work::Run(Duration::ZERO)), None),
                    (Job::new(Q1).with_work(Work::Fault), None),
                ]
            }),
            ("hang on lane 1, timeout 0", || {
                vec![
                    (Job::new(Q0).with_work(Work::Run(Duration::ZERO)), None),
                    (Job::new(Q1).with_work(Work::Hang), Some(Duration::ZERO)),
                ]
            }),
        ];
        let counts = |d: &Device<Gaudi>| {
            let s = d.stats();
            (
                s.completed,
                s.timed_out,
                s.aborted,
                s.engine_faults,
                s.hangs,
                s.tdr_fired,
                s.resets + s.resets_merged,
            )
        };
        for (name, make) in cases {
            let spec = make();
            let jobs: Vec<Job> = spec.iter().map(|(j, _)| *j).collect();
            let timeout = spec.iter().find_map(|(_, t)| *t);
            let mut cs = CsSubmit::new(&jobs);
            if let Some(t) = timeout {
                cs = cs.with_timeout(t);
            }
            let (vd, vctx) = common::device_with::<Gaudi>(|c| {
                c.sim.latency = Duration::ZERO;
                c.sim.lanes = 2;
                c.tdr_timeout = Some(IDLE_TDR);
            });
            let warm = one(Q0, Work::Run(Duration::ZERO));
            let warm1 = one(Q1, Work::Default);
            for w in [&warm, &warm1] {
                let wseq = submit(&vctx, &CsSubmit::new(w)).expect("warm");
                assert_eq!(must_end(&vctx, wseq, false), End::Completed);
            }
            let vseq = submit(&vctx, &cs).expect("virtual");
            let expect = end_of(&vctx, vseq, false);
            vd.run_until_idle();
            let expect_counts = counts(&vd);
            for multi in [false, true] {
                let (d, ctx, runner) = pinned::<Gaudi>(2, |_| {});
                // The workers have run and been seen on their CPUs.
                let w = submit(&ctx, &CsSubmit::new(&warm)).expect("warm");
                assert_eq!(must_end(&ctx, w, false), End::Completed);
                let w = submit(&ctx, &CsSubmit::new(&warm1)).expect("warm");
                assert_eq!(must_end(&ctx, w, false), End::Completed);
                let seq = submit(&ctx, &cs).expect("real");
                let got = end_of(&ctx, seq, multi);
                assert_eq!(got, expect, "{name} (multi: {multi})");
                assert_settled(&d);
                assert_eq!(counts(&d), expect_counts, "{name} (multi: {multi})");
                drop(runner);
            }
        }
    });
}

/// A waiter on its worker's CPU whose CS cannot complete yet (a hung job, TDR off; a job that
/// takes 600 ms) sleeps: it burns far less CPU than the time it waits. (CPU time, not wall
/// time: load can only lower it.)
#[test]
fn a_busy_polling_waiter_sleeps_while_nothing_is_due() {
    run(|| {
        let (d, ctx, _runner) = pinned::<Gaudi>(1, |c| c.tdr_timeout = None);
        pin_current_thread(CPU).expect("pin");
        let warm = submit(&ctx, &CsSubmit::new(&one(Q0, Work::Default))).expect("warm");
        assert_eq!(must_end(&ctx, warm, false), End::Completed);
        let hung = submit(&ctx, &CsSubmit::new(&one(Q0, Work::Hang))).expect("hang");
        let wait = Duration::from_millis(600);
        let t0 = my_cpu_time();
        assert_eq!(ctx.wait_cs(hung, wait, None), Ok(WaitStatus::Busy));
        let t1 = my_cpu_time();
        assert_eq!(
            ctx.wait_multi(&[hung], wait, None),
            Ok(MultiWaitStatus::Busy)
        );
        let t2 = my_cpu_time();
        assert!(
            t1 - t0 < wait / 2,
            "wait_cs on a hung CS used {:?} of CPU",
            t1 - t0
        );
        assert!(
            t2 - t1 < wait / 2,
            "wait_multi on a hung CS used {:?} of CPU",
            t2 - t1
        );
        d.reset();
        assert_eq!(must_end(&ctx, hung, false), End::Aborted);
        // A job that is due only later, on a queue the hung one no longer blocks.
        for multi in [false, true] {
            let slow = submit(&ctx, &CsSubmit::new(&one(Q0, Work::Run(wait)))).expect("slow");
            let t0 = my_cpu_time();
            assert_eq!(must_end(&ctx, slow, multi), End::Completed);
            let used = my_cpu_time() - t0;
            assert!(
                used < wait / 2,
                "waiting (multi: {multi}) for a job due in {wait:?} used {used:?} of CPU"
            );
        }
        assert_settled(&d);
    });
}

/// A waiter on its worker's CPU is interrupted by its cancellation token, from either wait.
#[test]
fn a_busy_polling_waiter_is_interrupted_by_its_token() {
    run(|| {
        let (d, ctx, _runner) = pinned::<Gaudi>(1, |c| c.tdr_timeout = None);
        pin_current_thread(CPU).expect("pin");
        let warm = submit(&ctx, &CsSubmit::new(&one(Q0, Work::Default))).expect("warm");
        assert_eq!(must_end(&ctx, warm, false), End::Completed);
        let hung = submit(&ctx, &CsSubmit::new(&one(Q0, Work::Hang))).expect("hang");
        for multi in [false, true] {
            let token = CancelToken::new();
            let t2 = token.clone();
            let canceller = thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                t2.cancel();
            });
            let r = if multi {
                ctx.wait_multi(&[hung], LONG, Some(&token)).map(|_| ())
            } else {
                ctx.wait_cs(hung, LONG, Some(&token)).map(|_| ())
            };
            canceller.join().expect("canceller");
            assert_eq!(r, Err(CsWaitError::Interrupted), "multi: {multi}");
        }
        d.reset();
        assert_eq!(must_end(&ctx, hung, false), End::Aborted);
        assert_settled(&d);
    });
}

/// Polls (timeout zero) in a loop on the worker's CPU make progress, whether the worker spins
/// or parks at once.
#[test]
fn polling_in_a_loop_on_the_workers_cpu_makes_progress() {
    run(|| {
        for spins in [0, 2000] {
            let (d, ctx, _runner) = pinned::<Gaudi>(1, |c| c.sim.poll_spins = spins);
            pin_current_thread(CPU).expect("pin");
            let mut seqs = Vec::new();
            for i in 0..300u64 {
                let work = if i % 2 == 0 {
                    Work::Run(Duration::ZERO)
                } else {
                    Work::Run(Duration::from_micros(200))
                };
                let seq = submit(&ctx, &CsSubmit::new(&one(Q0, work))).expect("submitted");
                seqs.push(seq);
                if seqs.len() < 8 && i < 299 {
                    continue;
                }
                // Poll every CS of the window until all are done.
                let mut polls = 0u64;
                while !seqs.is_empty() {
                    seqs.retain(|&s| {
                        let done = if s % 2 == 0 {
                            ctx.wait_cs(s, Duration::ZERO, None)
                                .expect("poll")
                                .is_completed()
                        } else {
                            matches!(
                                ctx.wait_multi(&[s], Duration::ZERO, None).expect("poll"),
                                MultiWaitStatus::Completed { bitmap: 1, .. }
                            )
                        };
                        !done
                    });
                    polls += 1;
                    assert!(polls < 50_000_000, "spins {spins}: no progress");
                }
            }
            assert_settled(&d);
            assert_eq!(d.stats().completed, 300, "spins {spins}");
        }
    });
}

/// [`pipeline`] on `ctx` (moved to a thread of its own) while `disturb` runs with a handle to
/// `d` on another; the pipeline stops when `disturb` returns. Checks that every CS ended once
/// and the device's counts agree; returns the pipeline's tally.
fn pipeline_while<A: Asic>(
    d: &Device<A>,
    ctx: Context<A>,
    queues: &'static [u32],
    hang_every: u64,
    disturb: impl FnOnce(&Device<A>) + Send + 'static,
) -> Tally {
    let monitor = StatsMonitor::start(d);
    let stop = Arc::new(AtomicBool::new(false));
    let disturber = {
        let (d, stop) = (d.clone(), Arc::clone(&stop));
        thread::spawn(move || {
            disturb(&d);
            stop.store(true, Ordering::Relaxed);
        })
    };
    let tally = thread::spawn(move || pipeline(&ctx, queues, hang_every, true, &stop, u64::MAX))
        .join()
        .expect("pipeline");
    disturber.join().expect("disturber");
    monitor.finish();
    assert_settled(d);
    assert_tally(d, tally);
    tally
}

/// A pipeline on the worker's CPU while another thread resets the device again and again.
#[test]
fn busy_polling_waiters_racing_resets() {
    run(|| {
        let (d, ctx, _runner) = pinned::<Gaudi>(2, |_| {});
        pipeline_while(&d, ctx, &[Q0, Q1, Q0], 5, |d| {
            for _ in 0..60 {
                thread::sleep(Duration::from_millis(2));
                d.reset();
            }
        });
        assert!(d.stats().resets >= 60, "{:?}", d.stats());
    });
}

/// The same while another thread marks the device as needing a reset, then resets it.
#[test]
fn busy_polling_waiters_racing_needs_reset() {
    run(|| {
        let (d, ctx, _runner) = pinned::<Gaudi>(2, |_| {});
        pipeline_while(&d, ctx, &[Q0, Q1], 7, |d| {
            for _ in 0..40 {
                thread::sleep(Duration::from_millis(2));
                d.mark_needs_reset();
                thread::sleep(Duration::from_millis(1));
                d.reset();
            }
        });
        assert!(d.is_operational());
    });
}

/// A pipeline on one context, busy polling lane 1, while another context, busy polling lane 0
/// from the other CPU, is closed with CSs still on the engine and reopened (its seqs start at
/// 1 again): a hung CS of the new context, queued behind the old context's jobs, must not be
/// completed by one of them coming due. A reset per round unlocks the hung engine.
#[test]
fn busy_polling_waiters_racing_context_teardown() {
    run(|| {
        // Lane 1 (engine 1, `Q1`) on CPU 0, lane 0 (`Q0`) on CPU 1.
        let (d, ctx, _runner) = pinned::<Gaudi>(2, |c| {
            c.contexts = 2;
            c.sim.lane_cpu = Some(1);
        });
        let monitor = StatsMonitor::start(&d);
        let stop = Arc::new(AtomicBool::new(false));
        let closer = {
            let (d, stop) = (d.clone(), Arc::clone(&stop));
            thread::spawn(move || {
                pin_current_thread(1).expect("pin");
                let mut reused = 0;
                for round in 0..30 {
                    let c2 = d.open().expect("a free context");
                    let mut seqs = Vec::new();
                    for k in 0..6u64 {
                        let work = Work::Run(Duration::from_micros(100 * (k % 3)));
                        seqs.push(submit(&c2, &CsSubmit::new(&one(Q0, work))).expect("sub"));
                    }
                    // Let some come due on our own polls before the teardown.
                    if round % 2 == 0 {
                        let _ = c2.wait_cs(seqs[0], Duration::from_micros(150), None);
                    }
                    let fences: Vec<_> = seqs
                        .iter()
                        .filter_map(|&s| match c2.lookup(s) {
                            Lookup::Fence(f) => Some(f),
                            _ => None,
                        })
                        .collect();
                    drop(c2);
                    for f in &fences {
                        let o = f.wait_timeout(LONG).expect("released by the teardown");
                        assert!(
                            matches!(o, Outcome::Ok | Outcome::Aborted),
                            "round {round}: {o:?}"
                        );
                    }
                    let c2 = d.open().expect("reopened");
                    let hung = submit(&c2, &CsSubmit::new(&one(Q0, Work::Hang))).expect("hang");
                    let next = submit(&c2, &CsSubmit::new(&one(Q0, Work::Run(Duration::ZERO))))
                        .expect("behind the hang");
                    if seqs.contains(&hung) && seqs.contains(&next) {
                        reused += 1;
                    }
                    assert_eq!(
                        c2.wait_cs(hung, Duration::from_millis(2), None),
                        Ok(WaitStatus::Busy),
                        "round {round}: the new context's hung CS {hung}"
                    );
                    assert_eq!(
                        c2.wait_multi(&[hung, next], Duration::from_millis(2), None),
                        Ok(MultiWaitStatus::Busy),
                        "round {round}: CS {next} behind the hung one"
                    );
                    drop(c2);
                    d.reset();
                }
                stop.store(true, Ordering::Relaxed);
                reused
            })
        };
        let ctx = Arc::new(ctx);
        let c2 = Arc::clone(&ctx);
        let s2 = Arc::clone(&stop);
        let mine = thread::spawn(move || pipeline(&c2, &[Q1], 0, true, &s2, u64::MAX))
            .join()
            .expect("pipeline");
        let reused = closer.join().expect("closer");
        assert_eq!(reused, 30, "the reopened context reused the seqs");
        monitor.finish();
        assert_eq!(mine.timed_out, 0, "{mine:?}");
        assert!(mine.completed > 0, "{mine:?}");
        assert_settled(&d);
        drop(ctx);
        assert_eq!(d.live_fences(), 0, "every fence released");
    });
}

/// Stopping the runner under a busy-polling pipeline, ten times: every CS ends once (completed
/// or aborted), submissions are refused until the next start, and the counts add up.
#[test]
fn busy_polling_waiters_racing_runner_stops() {
    run(|| {
        let (d, ctx, first) = pinned::<Gaudi>(2, |_| {});
        let ctx = Arc::new(ctx);
        let mut runner = Some(first);
        let mut total = Tally::default();
        for round in 0..10 {
            let stop = Arc::new(AtomicBool::new(false));
            let (c2, s2) = (Arc::clone(&ctx), Arc::clone(&stop));
            let h =
                thread::spawn(move || pipeline(&c2, &[Q0, Q1], 0, round % 2 == 1, &s2, u64::MAX));
            thread::sleep(Duration::from_millis(5));
            drop(runner.take());
            let refused = ctx.submit(&CsSubmit::new(&one(Q0, Work::Default)));
            assert_eq!(
                refused,
                Err(SubmitError::DeviceNotOperational),
                "round {round}"
            );
            stop.store(true, Ordering::Relaxed);
            let t = h.join().expect("pipeline");
            assert_eq!(t.timed_out, 0, "round {round}: {t:?}");
            total = total.plus(t);
            assert_settled(&d);
            assert_tally(&d, total);
            runner = Some(Runner::start(&d).expect("restart"));
        }
        assert!(total.completed > 0 && total.aborted > 0, "{total:?}");
    });
}

/// Dropping the last device handle under a busy-polling pipeline: every CS ends (a hung one
/// aborted), the fence of every CS is signalled, later submissions are refused, and the runner
/// still stops cleanly.
#[test]
fn busy_polling_waiters_racing_device_teardown() {
    run(|| {
        for round in 0..5 {
            let (d, ctx, runner) = pinned::<Gaudi>(2, |_| {});
            let (tx, rx) = std::sync::mpsc::channel();
            let h = thread::spawn(move || {
                pin_current_thread(CPU).expect("pin");
                // One hung CS on lane 1 that only the teardown ends.
                let hung = submit(&ctx, &CsSubmit::new(&one(Q1, Work::Hang))).expect("hang");
                let Lookup::Fence(hung_fence) = ctx.lookup(hung) else {
                    panic!("in flight")
                };
                let mut fences = Vec::new();
                let mut window = std::collections::VecDeque::new();
                let mut ends = [0u32; 3];
                let mut refused = false;
                for i in 0..1_000_000u64 {
                    if i == 50 {
                        tx.send(()).expect("main");
                    }
                    match submit(&ctx, &CsSubmit::new(&one(Q0, Work::Run(Duration::ZERO)))) {
                        Ok(seq) => {
                            if let Lookup::Fence(f) = ctx.lookup(seq) {
                                fences.push(f);
                            }
                            window.push_back(seq);
                        }
                        Err(SubmitError::DeviceNotOperational) => {
                            refused = true;
                            break;
                        }
                        // Raced the teardown after taking its seq: released not submitted.
                        Err(e @ SubmitError::DeviceInReset { .. }) => {
                            let seq = e.consumed_seq().expect("a seq");
                            assert!(
                                matches!(
                                    ctx.wait_cs(seq, LONG, None),
                                    Ok(WaitStatus::Completed { .. })
                                        | Err(CsWaitError::DeviceNotOperational)
                                ),
                                "CS {seq}"
                            );
                            refused = true;
                            break;
                        }
                        Err(e) => panic!("{e:?}"),
                    }
                    while window.len() > 4 {
                        let seq = window.pop_front().expect("in flight");
                        let r = if seq % 2 == 0 {
                            ctx.wait_multi(&[seq], LONG, None)
                                .map(|m| matches!(m, MultiWaitStatus::Completed { .. }))
                        } else {
                            ctx.wait_cs(seq, LONG, None).map(|w| w.is_completed())
                        };
                        match r {
                            Ok(true) => ends[0] += 1,
                            Ok(false) => panic!("CS {seq} busy after {LONG:?}"),
                            Err(CsWaitError::Aborted { .. }) => ends[1] += 1,
                            // A wait begun after the teardown.
                            Err(CsWaitError::DeviceNotOperational) => ends[2] += 1,
                            Err(e) => panic!("CS {seq}: {e:?}"),
                        }
                    }
                }
                assert!(refused, "the device went away");
                for f in &fences {
                    let o = f.wait_timeout(LONG).expect("every fence signalled");
                    assert!(
                        matches!(o, Outcome::Ok | Outcome::Aborted),
                        "CS {}: {o:?}",
                        f.seq()
                    );
                }
                assert_eq!(
                    hung_fence.wait_timeout(LONG),
                    Ok(Outcome::Aborted),
                    "hung CS"
                );
                drop(fences);
                drop(hung_fence);
                drop(ctx);
                ends
            });
            rx.recv_timeout(LONG).expect("pipeline started");
            drop(d);
            let ends = h.join().expect("pipeline");
            assert!(ends[0] >= 40, "round {round}: {ends:?}");
            drop(runner);
        }
    });
}

/// Signal and wait CSs across the two lanes (one on the waiter's CPU, one not), waited for by a
/// thread on lane 0's CPU: a wait job held behind its monitor on the polled lane, and one on the
/// other lane released by a signal this thread completed, both run; nothing stays held.
#[test]
fn sync_stream_pairs_with_a_busy_polling_waiter() {
    run(|| {
        let (d, ctx, _runner) = pinned::<Gaudi>(2, |_| {});
        pin_current_thread(CPU).expect("pin");
        for i in 0..300u64 {
            let (sq, wq) = if i % 2 == 0 { (Q0, Q1) } else { (Q1, Q0) };
            let work = Work::Run(Duration::from_micros(50 * (i % 4)));
            let signal = ctx
                .submit_signal(&SignalSubmit::new(sq).with_work(work))
                .expect("signal")
                .seq;
            let waited = [signal];
            let wait = ctx
                .submit_wait(&WaitSubmit::new(wq, &waited))
                .expect("wait");
            let Some(wait) = wait.seq() else {
                assert!(matches!(wait, WaitCs::SignalDone { .. }));
                assert_eq!(
                    must_end(&ctx, signal, false),
                    End::Completed,
                    "signal {signal}"
                );
                continue;
            };
            match i % 3 {
                // The signal first (lane 0's is polled here), then the wait.
                0 => {
                    assert_eq!(
                        must_end(&ctx, signal, false),
                        End::Completed,
                        "signal {signal}"
                    );
                    assert_eq!(must_end(&ctx, wait, false), End::Completed, "wait {wait}");
                }
                // The wait first: it is held until the signal runs.
                1 => {
                    assert_eq!(must_end(&ctx, wait, false), End::Completed, "wait {wait}");
                    assert_eq!(
                        must_end(&ctx, signal, false),
                        End::Completed,
                        "signal {signal}"
                    );
                }
                // Both in one multi-CS wait, until both bits are set.
                _ => {
                    let mut bits = 0;
                    while bits != 0b11 {
                        match ctx.wait_multi(&[wait, signal], LONG, None) {
                            Ok(MultiWaitStatus::Completed { bitmap, .. }) => bits |= bitmap,
                            other => panic!("pair {signal}/{wait}: {other:?}"),
                        }
                    }
                }
            }
        }
        assert_settled(&d);
        assert!(d.sync_stats().is_baseline(), "{:?}", d.sync_stats());
        assert_eq!(
            d.stats().timed_out + d.stats().aborted,
            0,
            "{:?}",
            d.stats()
        );
    });
}

/// CSs with a job on each lane (one worker on each CPU), waited for from either CPU, four
/// lanes: every CS completes, whichever lane's job comes due last.
#[test]
fn cs_across_lanes_on_two_cpus() {
    run(|| {
        for lanes in [2usize, 4] {
            let (d, ctx, _runner) = pinned::<Gaudi>(lanes, |_| {});
            let ctx = Arc::new(ctx);
            let hs: Vec<_> = (0..2)
                .map(|cpu| {
                    let ctx = Arc::clone(&ctx);
                    thread::spawn(move || {
                        pin_current_thread(cpu).expect("pin");
                        let mut window = std::collections::VecDeque::new();
                        for i in 0..400u64 {
                            let (a, b) = match i % 3 {
                                0 => (Duration::ZERO, Duration::from_micros(100)),
                                1 => (Duration::from_micros(100), Duration::ZERO),
                                _ => (Duration::ZERO, Duration::ZERO),
                            };
                            let jobs = [
                                Job::new(Q0).with_work(Work::Run(a)),
                                Job::new(Q1).with_work(Work::Run(b)),
                            ];
                            window.push_back(submit(&ctx, &CsSubmit::new(&jobs)).expect("sub"));
                            if window.len() >= 6 {
                                let s = window.pop_front().expect("in flight");
                                assert_eq!(must_end(&ctx, s, i % 2 == 0), End::Completed);
                            }
                        }
                        for s in window {
                            assert_eq!(must_end(&ctx, s, false), End::Completed);
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().expect("pipeline");
            }
            assert_settled(&d);
            assert_eq!(d.stats().completed, 800, "lanes {lanes}");
        }
    });
}

/// Four contexts, each with a pipeline on the same CPU as its worker (so all of them busy-poll
/// the same lane), two of them waiting with `wait_multi` (two slots).
#[test]
fn several_contexts_busy_polling_one_lane() {
    run(|| {
        let (d, first, _runner) = pinned::<Gaudi>(1, |c| c.contexts = 4);
        let monitor = StatsMonitor::start(&d);
        let stop = Arc::new(AtomicBool::new(false));
        let mut ctxs = vec![first];
        for _ in 1..4 {
            ctxs.push(d.open().expect("a context"));
        }
        let hs: Vec<_> = ctxs
            .into_iter()
            .enumerate()
            .map(|(k, ctx)| {
                let stop = Arc::clone(&stop);
                thread::spawn(move || pipeline(&ctx, &[Q0, Q1], 0, k % 2 == 0, &stop, 1500))
            })
            .collect();
        let total = hs
            .into_iter()
            .map(|h| h.join().expect("pipeline"))
            .fold(Tally::default(), Tally::plus);
        monitor.finish();
        assert_eq!(total.completed, 6000, "{total:?}");
        assert_settled(&d);
        assert_tally(&d, total);
        assert_eq!(d.live_fences(), 0);
    });
}

/// A CS with its own short timeout queued behind a running CS timed by the long device period:
/// when the running CS completes (completed by this thread, busy polling its worker's lane),
/// the timer moves to the queued CS, which must then time out on its own deadline.
#[test]
fn busy_polled_release_rearms_the_tdr_for_an_earlier_deadline() {
    run(|| {
        for (round, multi) in [(0, false), (1, true), (2, false), (3, true)] {
            let (d, ctx, _runner) = pinned::<Gaudi>(1, |_| {});
            pin_current_thread(CPU).expect("pin");
            let warm = submit(&ctx, &CsSubmit::new(&one(Q0, Work::Default))).expect("warm");
            assert_eq!(must_end(&ctx, warm, false), End::Completed);
            let first = one(Q0, Work::Run(Duration::from_millis(30)));
            let first = submit(&ctx, &CsSubmit::new(&first)).expect("first");
            let hung = one(Q0, Work::Hang);
            let hung = submit(
                &ctx,
                &CsSubmit::new(&hung).with_timeout(Duration::from_millis(100)),
            )
            .expect("hung");
            if round >= 2 {
                // Wait for the running CS first: its release happens in our wait.
                assert_eq!(
                    must_end(&ctx, first, multi),
                    End::Completed,
                    "round {round}"
                );
            }
            assert_eq!(must_end(&ctx, hung, multi), End::TimedOut, "round {round}");
            assert_eq!(
                must_end(&ctx, first, false),
                End::Completed,
                "round {round}"
            );
            assert_settled(&d);
            assert_eq!(d.stats().tdr_fired, 1, "round {round}: {:?}", d.stats());
        }
    });
}

/// A CS completed by a busy-polling waiter is never completed before it is due: its
/// timestamp is at least its submission time plus its job's run time (here every job runs a
/// while), and on an in-order engine CSs complete in submission order (with and without
/// jitter; out of order, only the lower bound holds).
#[test]
fn busy_polled_completions_are_never_early() {
    run(|| {
        for (jitter, out_of_order) in [(0, false), (300, false), (300, true)] {
            let (d, ctx, _runner) = pinned::<Gaudi>(2, |c| {
                c.sim.jitter = Duration::from_micros(jitter);
                c.sim.out_of_order = out_of_order;
            });
            pin_current_thread(CPU).expect("pin");
            let mut window = std::collections::VecDeque::new();
            let mut last = [0u64; 2];
            for i in 0..600u64 {
                let run = Duration::from_micros([1, 100, 400, 1000][i as usize % 4]);
                let lane = usize::from(i % 5 == 4);
                let jobs = one([Q0, Q1][lane], Work::Run(run));
                let before = d.now().as_nanos();
                let seq = submit(&ctx, &CsSubmit::new(&jobs).with_timestamp()).expect("sub");
                window.push_back((seq, before, run, lane));
                if window.len() < 8 && i < 599 {
                    continue;
                }
                while let Some((seq, before, run, lane)) = window.pop_front() {
                    let ts = completion_ts(&ctx, seq, seq % 2 == 1);
                    assert!(
                        ts >= before + run.as_nanos() as u64,
                        "CS {seq} ({run:?}) completed {} ns after its submission",
                        ts as i128 - before as i128
                    );
                    if !out_of_order {
                        assert!(ts >= last[lane], "CS {seq} completed before an earlier CS");
                        last[lane] = ts;
                    }
                }
            }
            assert_settled(&d);
        }
    });
}

/// The completion timestamp of CS `seq`, waited for with `wait_cs` or `wait_multi`.
fn completion_ts<A: Asic>(ctx: &Context<A>, seq: u64, multi: bool) -> u64 {
    let ts = if multi {
        match ctx.wait_multi(&[seq], LONG, None) {
            Ok(MultiWaitStatus::Completed { timestamp, .. }) => timestamp,
            other => panic!("CS {seq}: {other:?}"),
        }
    } else {
        match ctx.wait_cs(seq, LONG, None) {
            Ok(WaitStatus::Completed { timestamp, .. }) => timestamp,
            other => panic!("CS {seq}: {other:?}"),
        }
    };
    ts.unwrap_or_else(|| panic!("CS {seq}: no timestamp"))
        .as_nanos()
}

/// A zero-latency job is due at once, but its CS cannot complete before it was submitted: its
/// completion timestamp is at least the device time read just before `submit`. Checked with
/// the worker on the submitter's CPU (busy polling) and on the other CPU, 32 CSs in flight.
#[test]
fn zero_latency_completions_are_not_stamped_before_their_submission() {
    run(|| {
        let mut early = Vec::new();
        for lane_cpu in [0u16, 1] {
            let (d, ctx, _runner) = pinned::<Gaudi>(1, |c| {
                c.sim.lane_cpu = Some(lane_cpu);
                c.sim.poll_spins = 2000;
            });
            pin_current_thread(CPU).expect("pin");
            let jobs = one(Q0, Work::Run(Duration::ZERO));
            let cs = CsSubmit::new(&jobs).with_timestamp();
            let mut window = std::collections::VecDeque::with_capacity(32);
            for i in 0..20_000u64 {
                let before = d.now().as_nanos();
                window.push_back((submit(&ctx, &cs).expect("sub"), before));
                if window.len() == 32 || i == 19_999 {
                    while let Some((seq, before)) = window.pop_front() {
                        let ts = completion_ts(&ctx, seq, seq % 2 == 1);
                        if ts < before && early.len() < 5 {
                            early.push((lane_cpu, seq, before - ts));
                        }
                    }
                }
            }
            assert_settled(&d);
        }
        assert!(
            early.is_empty(),
            "CSs stamped before they were submitted (worker CPU, seq, ns early): {early:?}"
        );
    });
}

/// A multi-CS wait from lane 0's CPU on a hung CS of lane 0 and a running CS of lane 1 returns
/// when the lane-1 CS completes (its worker, on the other CPU, must wake the waiter), and a
/// `wait_cs` on a lane-1 CS from that CPU returns while lane 0 hangs.
#[test]
fn a_waiter_on_one_lanes_cpu_sees_the_other_lane_complete() {
    run(|| {
        let (d, ctx, _runner) = pinned::<Gaudi>(2, |c| c.tdr_timeout = None);
        pin_current_thread(CPU).expect("pin");
        let warm = submit(&ctx, &CsSubmit::new(&one(Q0, Work::Default))).expect("warm");
        assert_eq!(must_end(&ctx, warm, false), End::Completed);
        let hung = submit(&ctx, &CsSubmit::new(&one(Q0, Work::Hang))).expect("hung");
        for round in 0..50u64 {
            let work = Work::Run(Duration::from_micros(200 * (round % 3)));
            let other = submit(&ctx, &CsSubmit::new(&one(Q1, work))).expect("other");
            if round % 2 == 0 {
                match ctx.wait_multi(&[hung, other], LONG, None) {
                    Ok(MultiWaitStatus::Completed { bitmap: 0b10, .. }) => {}
                    r => panic!("round {round}: {r:?}"),
                }
            } else {
                assert_eq!(
                    must_end(&ctx, other, false),
                    End::Completed,
                    "round {round}"
                );
            }
        }
        d.reset();
        assert_eq!(must_end(&ctx, hung, false), End::Aborted);
        assert_settled(&d);
    });
}

/// A `CsFence` waiter on its worker's CPU does not poll the engines, and is still served by the
/// worker (`SCHED_BATCH`, parked or spinning), in a pipeline.
#[test]
fn a_fence_waiter_on_the_workers_cpu_is_served_by_the_worker() {
    run(|| {
        for spins in [0, 2000] {
            let (d, ctx, _runner) = pinned::<Gaudi>(1, |c| c.sim.poll_spins = spins);
            pin_current_thread(CPU).expect("pin");
            let mut window = std::collections::VecDeque::new();
            for i in 0..400u64 {
                let work = Work::Run(Duration::from_micros(100 * (i % 3)));
                let seq = submit(&ctx, &CsSubmit::new(&one(Q0, work))).expect("sub");
                let Lookup::Fence(f) = ctx.lookup(seq) else {
                    panic!("CS {seq} in flight or just done has its fence")
                };
                window.push_back(f);
                if window.len() >= 8 {
                    let f = window.pop_front().expect("in flight");
                    assert_eq!(f.wait_timeout(LONG), Ok(Outcome::Ok), "CS {}", f.seq());
                }
            }
            for f in window {
                assert_eq!(f.wait_timeout(LONG), Ok(Outcome::Ok), "CS {}", f.seq());
            }
            assert_settled(&d);
        }
    });
}

/// Jobs that run until reported (`Step::Report`, the completion interrupt from another
/// thread) are never due: a waiter on the worker's CPU sleeps until the report and then sees
/// the CS end as reported (completed, or aborted by the engine error).
#[test]
fn reported_jobs_with_a_waiter_on_the_workers_cpu() {
    use asicgen_runtime::JobEnd;
    use asicgen_runtime::scripted::Step;
    run(|| {
        let steps = [
            Step::Complete(Duration::ZERO),
            Step::Report,
            Step::Report,
            Step::Report,
            Step::Report,
        ];
        let (d, ctx, running) = common::scripted::<Gaudi>(&steps, |c| {
            c.clock = asicgen_runtime::ClockMode::Real;
            c.sim.poll_spins = 0;
            c.sim.lane_cpu = Some(CPU as u16);
            c.tdr_timeout = None;
        });
        let _runner = Runner::start(&d).expect("runner");
        pin_current_thread(CPU).expect("pin");
        let warm = submit(&ctx, &CsSubmit::new(&[Job::new(Q0)])).expect("warm");
        assert_eq!(must_end(&ctx, warm, false), End::Completed);
        let delay = Duration::from_millis(300);
        for (k, end) in [
            JobEnd::Complete,
            JobEnd::Complete,
            JobEnd::Complete,
            JobEnd::Fault,
        ]
        .into_iter()
        .enumerate()
        {
            let seq = submit(&ctx, &CsSubmit::new(&[Job::new(Q0)])).expect("reported job");
            let ids = running.take();
            assert_eq!(ids.len(), 1, "one job started");
            let d2 = d.clone();
            let reporter = thread::spawn(move || {
                pin_current_thread(1).expect("pin");
                thread::sleep(delay);
                d2.job_done(ids[0], end).expect("reported");
            });
            let t0 = my_cpu_time();
            let got = must_end(&ctx, seq, k % 2 == 1);
            let used = my_cpu_time() - t0;
            reporter.join().expect("reporter");
            let want = if end == JobEnd::Fault {
                End::Aborted
            } else {
                End::Completed
            };
            assert_eq!(got, want, "CS {seq}");
            assert!(
                used < delay / 2,
                "waiting for a report used {used:?} of CPU"
            );
        }
        assert_settled(&d);
    });
}

/// The calling thread's voluntary context switches so far (it slept).
fn my_voluntary_switches() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` fills the `rusage` it is given, which we own.
    let u = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()), 0);
        usage.assume_init()
    };
    u.ru_nvcsw
}

/// A pipeline of 8000 zero-latency CSs on `Q0` (lane 0, on CPU 0) from a thread on CPU 0, 32 in
/// flight, while a thread on CPU 1 runs one CS on `Q1` every 100 µs through another context:
/// the pipeline thread's voluntary context switches (sleeps). With `lanes` 2 that CS runs on
/// lane 1's worker, on CPU 1; with 1, on lane 0's (the same completion-lock traffic, no other
/// worker).
fn sleeps_beside_another_lane(lanes: usize) -> i64 {
    let (d, ctx, _runner) = pinned::<Gaudi>(lanes, |c| {
        c.contexts = 2;
        c.sim.poll_spins = 2000;
    });
    let stop = Arc::new(AtomicBool::new(false));
    let other = {
        let (d, stop) = (d.clone(), Arc::clone(&stop));
        thread::spawn(move || {
            pin_current_thread(1).expect("pin");
            let c2 = d.open().expect("a context");
            let jobs = one(Q1, Work::Default);
            while !stop.load(Ordering::Relaxed) {
                let s = submit(&c2, &CsSubmit::new(&jobs)).expect("lane 1");
                assert_eq!(must_end(&c2, s, false), End::Completed);
                thread::sleep(Duration::from_micros(100));
            }
        })
    };
    let sleeps = thread::spawn(move || {
        pin_current_thread(CPU).expect("pin");
        let jobs = one(Q0, Work::Default);
        let cs = CsSubmit::new(&jobs);
        let mut window = std::collections::VecDeque::with_capacity(32);
        let mut go = |n: u64| {
            for _ in 0..n {
                window.push_back(submit(&ctx, &cs).expect("sub"));
                if window.len() == 32 {
                    let s = window.pop_front().expect("in flight");
                    assert_eq!(must_end(&ctx, s, false), End::Completed);
                }
            }
            while let Some(s) = window.pop_front() {
                assert_eq!(must_end(&ctx, s, false), End::Completed);
            }
        };
        go(256);
        let before = my_voluntary_switches();
        go(8000);
        my_voluntary_switches() - before
    })
    .join()
    .expect("pipeline");
    stop.store(true, Ordering::Relaxed);
    other.join().expect("lane 1 thread");
    sleeps
}

/// "A waiter ... whose worker was last seen on its own CPU completes what is due itself": the
/// worker of a CS is its lane's. A pipeline on lane 0's CPU keeps busy polling (fewer sleeps
/// than batches of 32) while lane 1's worker, on the other CPU, completes a CS now and then;
/// the control run has the same traffic on lane 0's worker alone.
#[test]
fn busy_polling_follows_the_lane_of_the_cs_not_any_worker() {
    run(|| {
        let batches = 8000 / 32;
        let control = sleeps_beside_another_lane(1);
        assert!(
            control < batches,
            "control: {control} sleeps in {batches} batches"
        );
        let two_lanes = sleeps_beside_another_lane(2);
        assert!(
            two_lanes < batches,
            "the pipeline slept {two_lanes} times in {batches} batches while lane 1's worker \
             ran on the other CPU (control, one lane: {control})"
        );
    });
}

// =============================================================================================
// 3. The TDR thread
// =============================================================================================

/// A real Goya device (the TDR tests' own generation, so `goya-tdr` names its TDR thread)
/// with TDR period `tdr`.
fn goya(tdr: Option<Duration>) -> (Device<Goya>, Context<Goya>, Runner) {
    real_device::<Goya>(Duration::ZERO, |c| c.tdr_timeout = tdr)
}

fn goya_q() -> u32 {
    common::completing_queue::<Goya>()
}

/// Submit a hung CS with its own timeout `t` (or the device's) and wait for it; the end.
fn hang_and_wait<A: Asic>(ctx: &Context<A>, queue: u32, t: Option<Duration>) -> Option<End> {
    run_and_wait(ctx, queue, Work::Hang, t)
}

/// One CS doing `work` on `queue`, with its own timeout `t` (or the device's), and its end.
fn run_and_wait<A: Asic>(
    ctx: &Context<A>,
    queue: u32,
    work: Work,
    t: Option<Duration>,
) -> Option<End> {
    let jobs = one(queue, work);
    let cs = match t {
        Some(t) => CsSubmit::new(&jobs).with_timeout(t),
        None => CsSubmit::new(&jobs),
    };
    let seq = submit(ctx, &cs).expect("submitted");
    end_of(ctx, seq, false)
}

/// The CPU ticks the thread named `name` uses over `d` (None if no such thread).
fn ticks_over(name: &str, d: Duration) -> Option<u64> {
    let threads = threads_named(name);
    assert!(threads.len() <= 1, "one {name}: {threads:?}");
    let (tid, _) = threads.into_iter().next()?;
    let before = thread_ticks(tid);
    thread::sleep(d);
    Some(thread_ticks(tid) - before)
}

/// A zero device period: a CS with its own, longer timeout still times out (the idle thread
/// must not wait to be woken for a deadline "later than now + 0"); a CS with the device's
/// timeout times out at once; a CS with a long own timeout completes; and the idle thread does
/// not spin, neither with nothing in flight nor with a never-timed hung CS in flight.
#[test]
fn a_zero_device_period_neither_spins_nor_loses_a_cs_timer() {
    run(|| {
        let (d, ctx, runner) = goya(Some(Duration::ZERO));
        let q = goya_q();
        thread::sleep(Duration::from_millis(30));
        assert_eq!(
            hang_and_wait(&ctx, q, Some(Duration::from_millis(150))),
            Some(End::TimedOut),
            "own timeout, idle TDR"
        );
        assert_eq!(
            hang_and_wait(&ctx, q, None),
            Some(End::TimedOut),
            "device timeout 0"
        );
        let slow = Work::Run(Duration::from_millis(100));
        assert_eq!(
            run_and_wait(&ctx, q, slow, Some(Duration::from_secs(30))),
            Some(End::Completed),
            "own long timeout"
        );
        let idle = ticks_over("goya-tdr", Duration::from_millis(400)).expect("a TDR thread");
        assert!(idle <= 8, "idle TDR thread used {idle} ticks in 400 ms");
        let never = one(q, Work::Hang);
        let never = submit(&ctx, &CsSubmit::new(&never).with_timeout(NEVER_TIMED)).expect("never");
        let busy = ticks_over("goya-tdr", Duration::from_millis(400)).expect("a TDR thread");
        assert!(
            busy <= 8,
            "TDR thread with a never-timed CS used {busy} ticks in 400 ms"
        );
        assert_eq!(
            ctx.wait_cs(never, Duration::from_millis(1), None),
            Ok(WaitStatus::Busy)
        );
        d.reset();
        assert_eq!(end_of(&ctx, never, false), Some(End::Aborted));
        assert_settled(&d);
        drop(runner);
    });
}

/// Huge device periods (`Duration::MAX`, `NEVER_TIMED` and beyond, just below it, a year):
/// the idle thread's sleep must not overflow (the runner starts, runs and stops without a
/// panic) nor spin; a CS with its own short timeout ends as on the virtual clock (timed out
/// below `NEVER_TIMED`; from `NEVER_TIMED` on the device period reads as TDR off, as the
/// driver's `MAX_SCHEDULE_TIMEOUT` does, on both clocks); a CS with the device's timeout
/// completes or, hung, stays in flight.
#[test]
fn huge_device_periods_agree_with_the_virtual_clock() {
    run(|| {
        let periods = [
            Duration::MAX,
            NEVER_TIMED,
            Duration::from_nanos(u64::MAX),
            NEVER_TIMED - Duration::from_nanos(1),
            Duration::from_secs(365 * 24 * 3600),
        ];
        let short = Some(Duration::from_millis(100));
        for p in periods {
            let expect = {
                let (_d, ctx) = common::device_with::<Goya>(|c| c.tdr_timeout = Some(p));
                hang_and_wait(&ctx, goya_q(), short)
            };
            if p < NEVER_TIMED {
                assert_eq!(expect, Some(End::TimedOut), "virtual, period {p:?}");
            }
            let (d, ctx, runner) = goya(Some(p));
            let q = goya_q();
            let ok = submit(&ctx, &CsSubmit::new(&one(q, Work::Default))).expect("ok");
            assert_eq!(
                end_of(&ctx, ok, false),
                Some(End::Completed),
                "period {p:?}"
            );
            let idle = ticks_over("goya-tdr", Duration::from_millis(100)).unwrap_or(0);
            assert!(
                idle <= 4,
                "period {p:?}: idle TDR thread used {idle} ticks in 100 ms"
            );
            let got = if expect == Some(End::TimedOut) {
                hang_and_wait(&ctx, q, short)
            } else {
                // Busy: a short wait says so as well as a long one.
                let jobs = one(q, Work::Hang);
                let s = submit(
                    &ctx,
                    &CsSubmit::new(&jobs).with_timeout(Duration::from_millis(100)),
                )
                .expect("hung");
                match ctx.wait_cs(s, Duration::from_millis(400), None) {
                    Ok(WaitStatus::Busy) => None,
                    other => panic!("period {p:?}: {other:?}"),
                }
            };
            assert_eq!(
                got, expect,
                "period {p:?}: real and virtual clocks disagree"
            );
            d.reset();
            let hung = submit(&ctx, &CsSubmit::new(&one(q, Work::Hang))).expect("hung");
            assert_eq!(
                ctx.wait_cs(hung, Duration::from_millis(200), None),
                Ok(WaitStatus::Busy),
                "period {p:?}"
            );
            d.reset();
            assert_eq!(
                end_of(&ctx, hung, false),
                Some(End::Aborted),
                "period {p:?}"
            );
            assert_settled(&d);
            runner.stop();
        }
    });
}

/// TDR off: no CS is timed, own timeout or not, and the TDR thread (if any) does not spin.
#[test]
fn tdr_off_times_nothing_and_does_not_spin() {
    run(|| {
        let (d, ctx, runner) = goya(None);
        let q = goya_q();
        let jobs = one(q, Work::Hang);
        let a = submit(&ctx, &CsSubmit::new(&jobs).with_timeout(Duration::ZERO)).expect("a");
        let b = submit(
            &ctx,
            &CsSubmit::new(&jobs).with_timeout(Duration::from_millis(20)),
        )
        .expect("b");
        let used = ticks_over("goya-tdr", Duration::from_millis(400)).unwrap_or(0);
        assert!(
            used <= 8,
            "TDR thread with TDR off used {used} ticks in 400 ms"
        );
        for s in [a, b] {
            assert_eq!(
                ctx.wait_cs(s, Duration::from_millis(50), None),
                Ok(WaitStatus::Busy)
            );
        }
        d.reset();
        assert_eq!(d.stats().tdr_fired, 0);
        assert_settled(&d);
        drop(runner);
    });
}

/// A device period far shorter than a CS's own timeout: the thread wakes every period, yet only
/// the CS's deadline counts, so a slow CS completes; after idle gaps of many periods a hung CS
/// with the device's timeout still times out.
#[test]
fn a_short_device_period_does_not_cut_a_longer_own_timeout() {
    run(|| {
        let (d, ctx, runner) = goya(Some(Duration::from_millis(15)));
        let q = goya_q();
        for round in 0..3 {
            let slow = Work::Run(Duration::from_millis(150));
            assert_eq!(
                run_and_wait(&ctx, q, slow, Some(Duration::from_secs(30))),
                Some(End::Completed),
                "round {round}"
            );
            thread::sleep(Duration::from_millis(100));
            assert_eq!(
                hang_and_wait(&ctx, q, None),
                Some(End::TimedOut),
                "round {round}"
            );
        }
        assert_settled(&d);
        assert_eq!(d.stats().tdr_fired, 3);
        drop(runner);
    });
}

/// The TDR thread is sleeping towards a later deadline (an idle period, a running CS's own
/// long timeout, the device's timeout of a CS just released) when a CS with an earlier one is
/// armed, by a submission or a release: it must time out on its own deadline. With and without
/// an idle gap, a zero own timeout included.
#[test]
fn an_earlier_deadline_wakes_the_tdr_thread_whatever_it_sleeps_towards() {
    run(|| {
        let (d, ctx, runner) = goya(Some(IDLE_TDR));
        let q = goya_q();
        let short = Some(Duration::from_millis(100));
        for gap in [Duration::ZERO, Duration::from_millis(20)] {
            // Idle: sleeping one period.
            thread::sleep(gap);
            assert_eq!(
                hang_and_wait(&ctx, q, short),
                Some(End::TimedOut),
                "idle, {gap:?}"
            );
            assert_eq!(
                hang_and_wait(&ctx, q, Some(Duration::ZERO)),
                Some(End::TimedOut),
                "idle, zero, {gap:?}"
            );
            // A CS with the device's timeout was armed and released.
            let ok = submit(&ctx, &CsSubmit::new(&one(q, Work::Default))).expect("ok");
            assert_eq!(end_of(&ctx, ok, false), Some(End::Completed));
            thread::sleep(gap);
            assert_eq!(
                hang_and_wait(&ctx, q, short),
                Some(End::TimedOut),
                "after default"
            );
            // A CS with a long own timeout was armed and released.
            assert_eq!(
                run_and_wait(&ctx, q, Work::Default, Some(Duration::from_secs(20))),
                Some(End::Completed)
            );
            thread::sleep(gap);
            assert_eq!(
                hang_and_wait(&ctx, q, short),
                Some(End::TimedOut),
                "after long"
            );
            // Armed by a release: the running CS's timer (its own, long) moves to the hung one.
            let run = one(q, Work::Run(Duration::from_millis(30)));
            let first = submit(
                &ctx,
                &CsSubmit::new(&run).with_timeout(Duration::from_secs(20)),
            )
            .expect("first");
            assert_eq!(
                hang_and_wait(&ctx, q, short),
                Some(End::TimedOut),
                "after release"
            );
            assert_eq!(end_of(&ctx, first, false), Some(End::Completed));
        }
        assert_settled(&d);
        assert_eq!(d.stats().tdr_fired, 10, "{:?}", d.stats());
        drop(runner);
    });
}

/// Without `reset_on_lockup` a TDR leaves its CS in flight, timed out, until
/// [`Device::reset`]: wait for the device to need one, reset it, and read the CS's end.
fn fired_without_reset<A: Asic>(d: &Device<A>, ctx: &Context<A>, seq: u64) -> Option<End> {
    for _ in 0..10_000 {
        if d.stats().needs_reset {
            break;
        }
        thread::sleep(Duration::from_millis(1));
    }
    assert!(d.stats().needs_reset, "CS {seq}: {:?}", d.stats());
    d.reset();
    end_of(ctx, seq, false)
}

/// The TDR still fires after a runner restart, after a TDR without reset and the reset that
/// follows, and for a signal CS and a staged submission (timed by its first CS, hung in its
/// last) with their own timeouts (Gaudi, whose device period is 10 minutes here).
#[test]
fn the_tdr_fires_after_needs_reset_restart_and_for_sync_and_staged_css() {
    run(|| {
        let (d, ctx, runner) = goya(Some(IDLE_TDR));
        let q = goya_q();
        drop(runner);
        let runner = Runner::start(&d).expect("restart");
        let short = Some(Duration::from_millis(100));
        assert_eq!(
            hang_and_wait(&ctx, q, short),
            Some(End::TimedOut),
            "after restart"
        );
        drop((ctx, runner, d));

        let (d, ctx, runner) = real_device::<Gaudi>(Duration::ZERO, |c| {
            c.tdr_timeout = Some(Duration::from_secs(600));
            c.reset_on_lockup = false;
        });
        let jobs = one(Q0, Work::Hang);
        for round in 0..2 {
            let seq = submit(
                &ctx,
                &CsSubmit::new(&jobs).with_timeout(Duration::from_millis(100)),
            )
            .expect("hung");
            assert_eq!(
                fired_without_reset(&d, &ctx, seq),
                Some(End::TimedOut),
                "round {round}"
            );
            thread::sleep(Duration::from_millis(20));
        }
        let signal = ctx
            .submit_signal(
                &SignalSubmit::new(Q0)
                    .with_work(Work::Hang)
                    .with_timeout(Duration::from_millis(100)),
            )
            .expect("signal");
        assert_eq!(
            fired_without_reset(&d, &ctx, signal.seq),
            Some(End::TimedOut),
            "signal CS"
        );
        thread::sleep(Duration::from_millis(20));
        // Only the first CS is timed, for the whole submission; only the last one reports, and
        // it hangs.
        let ok = one(Q1, Work::Default);
        let first = CsSubmit::new(&ok).with_timeout(Duration::from_millis(100));
        let staged = ctx
            .submit_staged(&StagedSubmit::first(first))
            .expect("staged");
        ctx.submit_staged(&StagedSubmit::next(CsSubmit::new(&jobs), staged.seq).last())
            .expect("last");
        assert_eq!(
            fired_without_reset(&d, &ctx, staged.seq),
            Some(End::TimedOut),
            "staged"
        );
        assert_settled(&d);
        assert_eq!(d.stats().tdr_fired, 4, "{:?}", d.stats());
        assert!(d.sync_stats().is_baseline(), "{:?}", d.sync_stats());
        drop(runner);
    });
}

/// Engine errors raised by jobs the waiter completes itself (busy polling, two pinned waiters,
/// one per lane's CPU): a faulting CS only ever ends aborted, and every reset request is served
/// once (`resets + resets_merged` = engine errors, with no TDR and no explicit reset).
#[test]
fn busy_polled_engine_errors_reset_the_device_once_per_request() {
    run(|| {
        let (d, ctx, _runner) = pinned::<Gaudi>(2, |c| c.contexts = 2);
        let monitor = StatsMonitor::start(&d);
        let other = d.open().expect("a context");
        let stop = Arc::new(AtomicBool::new(false));
        let hs: Vec<_> = [(ctx, Q0, 0usize), (other, Q1, 1)]
            .into_iter()
            .map(|(ctx, q, cpu)| {
                let stop = Arc::clone(&stop);
                thread::spawn(move || {
                    pin_current_thread(cpu).expect("pin");
                    pipeline_with(&ctx, &[q], 9, Work::Fault, cpu == 0, &stop, 900)
                })
            })
            .collect();
        let total = hs
            .into_iter()
            .map(|h| h.join().expect("pipeline"))
            .fold(Tally::default(), Tally::plus);
        monitor.finish();
        assert_settled(&d);
        assert_tally(&d, total);
        let s = d.stats();
        assert!(s.engine_faults > 0, "{s:?}");
        assert_eq!(s.tdr_fired, 0, "{s:?}");
        assert_eq!(s.resets + s.resets_merged, s.engine_faults, "{s:?}");
    });
}

// =============================================================================================
// Zero allocations
// =============================================================================================

/// The thread that busy-polls (its waits complete the CSs) allocates nothing per CS: a
/// pipeline across two lanes with both waits and polls, after a warm-up.
#[test]
fn busy_polling_allocates_nothing_per_cs() {
    run(|| {
        let (_d, ctx, runner) = pinned::<Gaudi>(2, |c| c.sim.poll_spins = 2000);
        pin_current_thread(CPU).expect("pin");
        let jobs = [Job::new(Q0), Job::new(Q1)];
        let single = one(Q0, Work::Default);
        let cs = CsSubmit::new(&jobs).with_timestamp();
        let cs1 = CsSubmit::new(&single);
        let mut window = std::collections::VecDeque::with_capacity(32);
        let mut cycle = |n: u64| {
            for i in 0..n {
                let c = if i % 2 == 0 { &cs } else { &cs1 };
                window.push_back(ctx.submit(c).expect("submitted"));
                if window.len() == 16 {
                    let s = window.pop_front().expect("in flight");
                    let done = match i % 3 {
                        0 => ctx.wait_cs(s, LONG, None).is_ok_and(|w| w.is_completed()),
                        1 => matches!(
                            ctx.wait_multi(&[s], LONG, None),
                            Ok(MultiWaitStatus::Completed { bitmap: 1, .. })
                        ),
                        _ => loop {
                            match ctx.wait_cs(s, Duration::ZERO, None) {
                                Ok(WaitStatus::Busy) => std::hint::spin_loop(),
                                r => break r.is_ok_and(|w| w.is_completed()),
                            }
                        },
                    };
                    assert!(done, "CS {s}");
                }
            }
            while let Some(s) = window.pop_front() {
                assert!(ctx.wait_cs(s, LONG, None).is_ok_and(|w| w.is_completed()));
            }
        };
        cycle(2_000);
        let n = allocations_in(|| cycle(5_000));
        drop(runner);
        // The thread's buffer for the signals its polls collect is made at its first poll,
        // with room for a full poll of a lane.
        assert_eq!(n, 0, "allocations by the busy-polling thread over 5000 CSs");
    });
}
