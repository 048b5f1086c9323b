//! A submitter and its engine worker on one CPU (real threads), and the TDR thread of an idle
//! device. The rules (ARCHITECTURE.md, "Threads"; `docs/driver-semantics.md` for the TDR):
//!
//! - waking an engine worker never takes the CPU from the thread that rang its doorbell, as a
//!   doorbell write does not stop the driver that makes it;
//! - a waiter whose CS is due while its worker waits for this very CPU completes it itself
//!   (busy polling) rather than sleeping until the worker runs;
//! - the TDR thread of an idle device is not woken by every CS that arms a timer, and still
//!   fires a CS whose own timeout is shorter than the period it sleeps.
//!
//! The first two are counted, not timed: context switches of the calling thread
//! (`getrusage(RUSAGE_THREAD)`), which a loaded machine raises only by preempting it, never by
//! making it sleep. One test per process would keep the counts clean; the pipeline tests run in
//! one `#[test]` so no sibling test shares the pinned CPU.

mod common;

use asicgen_generated::{example::Example, gaudi::Gaudi, goya::Goya};
use asicgen_runtime::asic::Asic;
use asicgen_runtime::sim::{pin_current_thread, unpin_current_thread};
use asicgen_runtime::{Context, CsSubmit, CsWaitError, Job, MultiWaitStatus, WaitStatus, Work};
use common::{completing_queue, real_device, within_for};
use std::collections::VecDeque;
use std::time::Duration;

const CSS: u64 = 8_000;
/// CSs in flight, as in the throughput bench.
const WINDOW: usize = 32;
const FOREVER: Duration = Duration::from_secs(60);

/// The calling thread's (voluntary, involuntary) context switches so far.
fn my_switches() -> (i64, i64) {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` fills the `rusage` it is given, which we own.
    let usage = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()), 0);
        usage.assume_init()
    };
    (usage.ru_nvcsw, usage.ru_nivcsw)
}

fn wait_ok<A: Asic>(ctx: &Context<A>, seq: u64) {
    let status = ctx.wait_cs(seq, FOREVER, None);
    assert!(
        matches!(status, Ok(WaitStatus::Completed { .. })),
        "CS {seq}: {status:?}"
    );
}

/// How the pipeline waits for its oldest CS.
#[derive(Debug, Clone, Copy)]
enum WaitBy {
    /// `wait_cs`.
    Seq,
    /// A multi-CS wait on that one seq.
    Multi,
}

/// `CSS` zero-latency CSs with up to `WINDOW` in flight, submitter and worker on CPU 0; the
/// calling thread's context switches over the run.
fn pipeline_on_one_cpu(by: WaitBy) -> (i64, i64) {
    pin_current_thread(0).expect("pin the submitter");
    let (d, ctx, runner) = real_device::<Gaudi>(Duration::ZERO, |cfg| {
        cfg.sim.lane_cpu = Some(0);
        cfg.sim.poll_spins = 2000;
    });
    let jobs = [Job::new(completing_queue::<Gaudi>())];
    let cs = CsSubmit::new(&jobs);
    let wait = |seq: u64| match by {
        WaitBy::Seq => wait_ok(&ctx, seq),
        WaitBy::Multi => {
            let status = ctx.wait_multi(&[seq], FOREVER, None);
            assert!(
                matches!(status, Ok(MultiWaitStatus::Completed { bitmap: 1, .. })),
                "CS {seq}: {status:?}"
            );
        }
    };
    let mut window = VecDeque::with_capacity(WINDOW);
    let mut run = |n: u64| {
        for _ in 0..n {
            window.push_back(ctx.submit(&cs).expect("submitted"));
            if window.len() == WINDOW {
                wait(window.pop_front().expect("a CS in flight"));
            }
        }
        while let Some(seq) = window.pop_front() {
            wait(seq);
        }
    };
    // Warm up: the worker has run, parked and said where it runs.
    run(256);
    let (v0, i0) = my_switches();
    run(CSS);
    let (v1, i1) = my_switches();
    assert_eq!(d.stats().completed, CSS + 256, "{:?}", d.stats());
    drop(runner);
    unpin_current_thread().expect("unpin");
    (v1 - v0, i1 - i0)
}

#[test]
fn a_pipeline_sharing_its_workers_cpu_neither_sleeps_per_batch_nor_is_preempted_per_wake() {
    // One test for both waits, so no sibling test shares the pinned CPU.
    for by in [WaitBy::Seq, WaitBy::Multi] {
        let (voluntary, involuntary) =
            within_for(Duration::from_secs(120), move || pipeline_on_one_cpu(by));
        let batches = (CSS / WINDOW as u64) as i64;
        // Without busy polling the submitter sleeps on its oldest CS once per batch of 32 (one
        // voluntary switch each, 250 here); with it, only when the worker holds the lock it
        // needs.
        assert!(
            voluntary < batches / 4,
            "{by:?}: the submitter slept {voluntary} times in {batches} batches"
        );
        // A worker in the normal class, woken on the submitter's CPU, preempts it at once: at
        // least once per batch. One that waits its turn takes the CPU only when the
        // scheduler's slice ends.
        assert!(
            involuntary < batches / 4,
            "{by:?}: the submitter was preempted {involuntary} times in {batches} batches"
        );
    }
}

#[test]
fn a_timeout_shorter_than_the_idle_tdr_period_fires_on_time() {
    let outcome = within_for(Duration::from_secs(30), || {
        let (_d, ctx, _runner) = real_device::<Gaudi>(Duration::ZERO, |cfg| {
            cfg.tdr_timeout = Some(Duration::from_secs(60));
        });
        let queue = completing_queue::<Gaudi>();
        // Busy, then idle: the TDR thread disarms and sleeps its idle period (60 s).
        wait_ok(&ctx, common::submit_one(&ctx, queue, Work::Default));
        std::thread::sleep(Duration::from_millis(50));
        let jobs = [Job::new(queue).with_work(Work::Hang)];
        let seq = ctx
            .submit(&CsSubmit::new(&jobs).with_timeout(Duration::from_millis(100)))
            .expect("submitted");
        ctx.wait_cs(seq, FOREVER, None)
    });
    assert!(
        matches!(outcome, Err(CsWaitError::TimedOut { .. })),
        "{outcome:?}"
    );
}

#[test]
fn the_idle_tdr_thread_is_not_woken_by_every_cs_that_arms_it() {
    // One CS at a time with an idle gap after each: the TDR thread has disarmed and gone back to
    // sleep when the next CS arms it. It sleeps one device period when nothing is armed, so a
    // CS armed later needs no wake-up. Counted by the thread's own context switches (the only
    // `Goya` device here).
    const ROUND_TRIPS: u64 = 50;
    let woken = within_for(Duration::from_secs(60), || {
        let (_d, ctx, _runner) = real_device::<Goya>(Duration::ZERO, |cfg| {
            cfg.tdr_timeout = Some(Duration::from_secs(60));
        });
        let queue = completing_queue::<Goya>();
        wait_ok(&ctx, common::submit_one(&ctx, queue, Work::Default));
        std::thread::sleep(Duration::from_millis(2));
        let before = thread_field("goya-tdr", "voluntary_ctxt_switches");
        for _ in 0..ROUND_TRIPS {
            wait_ok(&ctx, common::submit_one(&ctx, queue, Work::Default));
            std::thread::sleep(Duration::from_millis(2));
        }
        thread_field("goya-tdr", "voluntary_ctxt_switches") - before
    });
    assert!(
        woken < ROUND_TRIPS / 5,
        "the TDR thread slept and woke {woken} times in {ROUND_TRIPS} round trips"
    );
}

#[test]
fn a_zero_device_timeout_does_not_spin_the_idle_tdr_thread() {
    // A zero TDR period fires a timed CS at once; with nothing armed the thread must not
    // re-check "every 0 ns". Counted by the TDR thread's own CPU time while idle (a spinning
    // thread burns all of its wall time); the only `Example` device of this binary, so its
    // thread is the only one of that name.
    let used = within_for(Duration::from_secs(30), || {
        let (_d, _ctx, _runner) = real_device::<Example>(Duration::ZERO, |cfg| {
            cfg.tdr_timeout = Some(Duration::ZERO);
        });
        let before = thread_cpu_ticks("example-tdr");
        std::thread::sleep(Duration::from_millis(500));
        thread_cpu_ticks("example-tdr") - before
    });
    // Clock ticks are 10 ms: a spinning thread shows about 50.
    assert!(
        used <= 10,
        "the idle TDR thread used {used} ticks of CPU in 500 ms"
    );
}

/// The `/proc/self/task/<tid>` folder of this process's thread named `name`.
fn thread_dir(name: &str) -> std::path::PathBuf {
    for task in std::fs::read_dir("/proc/self/task").expect("procfs") {
        let dir = task.expect("a task").path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim_end() == name {
            return dir;
        }
    }
    panic!("no thread named {name}");
}

/// A numeric `field:` of the `status` file of the thread named `name`.
fn thread_field(name: &str, field: &str) -> u64 {
    let status = std::fs::read_to_string(thread_dir(name).join("status")).expect("its status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} for {name}"))
}

/// User plus system CPU time, in clock ticks, of this process's thread named `name`
/// (`/proc/self/task/*/stat`, fields 14 and 15).
fn thread_cpu_ticks(name: &str) -> u64 {
    {
        let stat = std::fs::read_to_string(thread_dir(name).join("stat")).expect("its stat");
        // The name is in parentheses and may hold spaces: count fields after the last ')'.
        let rest = &stat[stat.rfind(')').expect("comm field") + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        // `rest` starts at field 3 (state).
        let ticks = |n: usize| fields[n - 3].parse::<u64>().expect("a tick count");
        ticks(14) + ticks(15)
    }
}
