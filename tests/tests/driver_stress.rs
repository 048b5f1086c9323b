//! Stress on real threads: several submitters and extra waiters on one device whose engines
//! run with jitter, out of order, hang and fault, under a short TDR. Bounded by the number of
//! CSs, not by time; no timed assertions (a wait's generous timeout only turns a deadlock into a
//! failure instead of a hung test).
//!
//! Checks: every CS that got a seq ends in exactly one terminal state and the waits agree with
//! the device's release counts; every waiter returns; nothing is left in flight; every fence is
//! released (`live_fences() == 0`); the drop counters add up.

mod common;

use asicgen_generated::gaudi::Gaudi;
use asicgen_runtime::asic::Asic;
use asicgen_runtime::sim::XorShift;
use asicgen_runtime::{
    ClockMode, Context, CsSubmit, CsWaitError, Device, DeviceConfig, Job, Runner, SignalSubmit,
    SimConfig, StagedSubmit, SubmitError, WaitCs, WaitStatus, WaitSubmit, Work,
};
use common::{completing_queues, internal_queue};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

const SUBMITTERS: u64 = 4;
const CS_PER_SUBMITTER: u64 = 400;
const WINDOW: usize = 16;

/// Submitter threads: [`SUBMITTERS`] where the pending-CS ring is far larger than all their
/// windows, one where it is small (Gaudi2's 64). Several submitters on a small ring would let
/// the others run a ring's length ahead of one stuck on a hung CS: the driver then refuses with
/// EAGAIN (`TooManyInFlight`) and a wait on the old seq can no longer tell its outcome, both
/// right, but this test counts every outcome exactly.
fn submitters<A: Asic>() -> u64 {
    if A::LIMITS.max_pending_cs as usize >= 64 * SUBMITTERS as usize * WINDOW {
        SUBMITTERS
    } else {
        1
    }
}

/// CSs each submitter keeps in flight: [`WINDOW`], or less when the ring is small.
fn window<A: Asic>() -> usize {
    WINDOW.min(A::LIMITS.max_pending_cs as usize / (2 * submitters::<A>() as usize))
}
/// Only a deadlock would reach this.
const FOREVER: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Tally {
    completed: AtomicU64,
    timed_out: AtomicU64,
    aborted: AtomicU64,
    queue_full: AtomicU64,
    in_reset: AtomicU64,
    not_operational: AtomicU64,
    seqs: AtomicU64,
    /// Staged CSs whose first CS a reset had rolled back.
    staged_orphans: AtomicU64,
}

/// Wait until the CS reaches a terminal state; retries while the device is in reset.
fn wait_terminal<A: Asic>(ctx: &Context<A>, seq: u64, tally: &Tally) {
    loop {
        match ctx.wait_cs(seq, FOREVER, None) {
            Ok(WaitStatus::Completed { gone, .. }) => {
                assert!(!gone, "CS {seq}: the ring is far larger than the run");
                tally.completed.fetch_add(1, Ordering::Relaxed);
            }
            Err(CsWaitError::TimedOut { .. }) => {
                tally.timed_out.fetch_add(1, Ordering::Relaxed);
            }
            Err(CsWaitError::Aborted { .. }) => {
                tally.aborted.fetch_add(1, Ordering::Relaxed);
            }
            Err(CsWaitError::DeviceNotOperational) => {
                thread::yield_now();
                continue;
            }
            other => panic!("CS {seq}: wait returned {other:?}"),
        }
        return;
    }
}

fn submitter<A: Asic>(ctx: &Context<A>, id: u64, tally: &Tally) {
    let queues = completing_queues::<A>();
    let int = internal_queue::<A>();
    let mut rng = XorShift::new(id);
    let width = window::<A>();
    let mut window = std::collections::VecDeque::with_capacity(width);
    let mut jobs = Vec::with_capacity(4);
    for _ in 0..CS_PER_SUBMITTER {
        jobs.clear();
        for _ in 0..1 + rng.below(3) {
            jobs.push(Job::new(queues[rng.below(queues.len() as u64) as usize]));
        }
        if let Some(int) = int.filter(|_| rng.below(4) == 0) {
            jobs.push(Job::new(int));
        }
        let seq = loop {
            match ctx.submit(&CsSubmit::new(&jobs).with_timestamp()) {
                Ok(seq) => break seq,
                Err(e) => {
                    match e {
                        SubmitError::QueueFull { .. } => &tally.queue_full,
                        // Refused at scheduling (hl_hw_queue_schedule_cs): counted by the device.
                        SubmitError::DeviceInReset { .. } => &tally.in_reset,
                        // Refused by the ioctl's sanity check before a seq is taken: the driver
                        // counts nothing for it, and neither does the device here.
                        SubmitError::DeviceNotOperational => &tally.not_operational,
                        other => panic!("unexpected {other}"),
                    }
                    .fetch_add(1, Ordering::Relaxed);
                    if let Some(used) = e.consumed_seq() {
                        // The failed CS used a seq: it too ends in a terminal state.
                        tally.seqs.fetch_add(1, Ordering::Relaxed);
                        wait_terminal(ctx, used, tally);
                    }
                    thread::yield_now();
                }
            }
        };
        tally.seqs.fetch_add(1, Ordering::Relaxed);
        window.push_back(seq);
        if window.len() == width
            && let Some(oldest) = window.pop_front()
        {
            wait_terminal(ctx, oldest, tally);
        }
    }
    for seq in window {
        wait_terminal(ctx, seq, tally);
    }
}

fn hangs_timeouts_and_resets_lose_nothing_on<A: Asic>() {
    let mut cfg = DeviceConfig::for_asic::<A>();
    cfg.clock = ClockMode::Real;
    cfg.tdr_timeout = Some(Duration::from_millis(20));
    cfg.sim = SimConfig {
        latency: Duration::from_micros(20),
        jitter: Duration::from_micros(80),
        hang_ppm: 2_000,
        fault_ppm: 1_000,
        out_of_order: true,
        seed: 42,
        lanes: 2,
        poll_spins: 200,
        lane_cpu: None,
    };
    let d = Device::<A>::new(cfg).expect("config");
    let runner = Runner::start(&d).expect("threads");
    let ctx = Arc::new(d.open().expect("a free context"));
    let tally = Arc::new(Tally::default());
    let done = Arc::new(AtomicBool::new(false));
    let waiters_returned = Arc::new(AtomicU64::new(0));

    // Extra waiters on whatever was submitted last: every one of their waits must return.
    let watchers: Vec<_> = (0..2)
        .map(|i| {
            let (ctx, done, returned) = (
                Arc::clone(&ctx),
                Arc::clone(&done),
                Arc::clone(&waiters_returned),
            );
            thread::spawn(move || {
                let mut rng = XorShift::new(100 + i);
                while !done.load(Ordering::Acquire) {
                    let next = ctx.next_seq();
                    if next > 1 {
                        let seq = next - 1 - rng.below(next.min(8) - 1);
                        let r = ctx.wait_cs(seq, FOREVER, None);
                        assert!(
                            !matches!(
                                r,
                                Ok(WaitStatus::Busy) | Err(CsWaitError::InvalidSeq { .. })
                            ),
                            "watcher on CS {seq}: {r:?}"
                        );
                        returned.fetch_add(1, Ordering::Relaxed);
                    } else {
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();

    let submitters: Vec<_> = (0..submitters::<A>())
        .map(|id| {
            let (ctx, tally) = (Arc::clone(&ctx), Arc::clone(&tally));
            thread::spawn(move || submitter(&ctx, id, &tally))
        })
        .collect();
    for s in submitters {
        s.join().expect("submitter");
    }
    done.store(true, Ordering::Release);
    for w in watchers {
        w.join().expect("watcher");
    }
    runner.stop();

    let s = d.stats();
    let t = |c: &AtomicU64| c.load(Ordering::Relaxed);
    // Every seq handed out was released exactly once, in exactly one terminal state.
    assert_eq!(s.in_flight, 0);
    assert_eq!(ctx.next_seq() - 1, t(&tally.seqs));
    assert_eq!(s.released(), t(&tally.seqs));
    assert_eq!(s.released(), s.submitted + s.not_submitted);
    // The waits saw exactly the outcomes the device released with.
    assert_eq!(t(&tally.completed), s.completed + s.not_submitted);
    assert_eq!(t(&tally.timed_out), s.timed_out);
    assert_eq!(t(&tally.aborted), s.aborted);
    assert_eq!(s.lifecycle_violations, 0);
    // Every TDR (reset_on_lockup) and every fault asked for a reset; requests that meet a
    // pending or just-run reset are merged into it on purpose, and counted as merged.
    assert_eq!(s.resets + s.resets_merged, s.tdr_fired + s.engine_faults);
    assert!(s.resets <= s.tdr_fired + s.engine_faults);
    // Drop counters add up, per device and per context.
    let counters = d.counters();
    assert_eq!(counters, ctx.counters());
    assert_eq!(counters.queue_full, t(&tally.queue_full));
    assert_eq!(counters.device_in_reset, t(&tally.in_reset));
    assert_eq!(counters.total(), t(&tally.queue_full) + t(&tally.in_reset));
    assert!(t(&waiters_returned) > 0);
    // Every fence released: closing the context lets the ring go, no handle is left.
    Arc::try_unwrap(ctx).expect("every thread joined").close();
    assert_eq!(d.live_fences(), 0);
    assert_eq!(d.stats(), s, "closing an idle context changes nothing");
    eprintln!("{s:?}\n{counters}");
}

/// More CSs in flight than the submission log and the lane ring hold (1,024 entries each): the
/// submitter drains them itself under the completion lock, in the driver's lock order, and
/// nothing is lost or reordered. One job per CS fills the log first, four jobs per CS the lane
/// ring. Virtual time, so nothing completes while they pile up.
struct Stress;

impl asicgen_generated::AsicVisitor for Stress {
    type Output = ();
    fn visit<A: Asic>(self) {
        hangs_timeouts_and_resets_lose_nothing_on::<A>();
    }
}

/// Every generation in `specs/`, Gaudi2's per-CS completion through its reserved CQ included.
#[test]
fn hangs_timeouts_and_resets_lose_nothing() {
    for name in asicgen_generated::NAMES {
        eprintln!("stress: {name}");
        assert_eq!(asicgen_generated::visit(name, Stress), Some(()), "{name}");
    }
}

#[test]
fn more_in_flight_than_the_handoff_rings_hold() {
    for (cs_count, jobs_per_cs) in [(3_000u64, 1usize), (1_000, 4)] {
        let d = Device::<Gaudi>::new(DeviceConfig::for_asic::<Gaudi>()).expect("config");
        let ctx = d.open().expect("a free context");
        let jobs = vec![Job::new(completing_queues::<Gaudi>()[0]); jobs_per_cs];
        for expected in 1..=cs_count {
            let seq = ctx.submit(&CsSubmit::new(&jobs)).expect("room");
            assert_eq!(seq, expected);
        }
        let stats = d.stats();
        assert_eq!((stats.submitted, stats.in_flight), (cs_count, cs_count));
        assert_eq!(
            d.armed_tdr().map(|(seq, _)| seq),
            Some(1),
            "oldest CS is timed"
        );
        assert!(!d.busy_engines().is_idle());
        d.run_until_idle();
        for seq in 1..=cs_count {
            let status = ctx.wait_cs(seq, Duration::ZERO, None);
            assert!(
                matches!(status, Ok(WaitStatus::Completed { gone: false, .. })),
                "{jobs_per_cs} jobs per CS, seq {seq}: {status:?}"
            );
        }
        let stats = d.stats();
        assert_eq!((stats.completed, stats.in_flight), (cs_count, 0));
        assert!(d.busy_engines().is_idle());
    }
}

/// The sleep/wake path between submitters and a lane worker: with no idle spin the worker parks
/// whenever it finds nothing to do, while two submitters keep a few CSs each in flight, so
/// submissions keep landing around the moment it parks. A submitter that fails to wake a parked
/// worker fails a wait here (checked by breaking the wake-up: the test then fails). The
/// nanosecond-wide race itself (a push between the worker's last look and its "asleep" store)
/// is closed by the fence pair argued in `membarrier.rs`, which no test can force.
#[test]
fn a_parking_worker_misses_no_submission() {
    const PER_SUBMITTER: u64 = 20_000;
    let mut cfg = DeviceConfig::for_asic::<Gaudi>();
    cfg.clock = ClockMode::Real;
    cfg.sim = SimConfig {
        poll_spins: 0,
        ..SimConfig::default()
    };
    let d = Device::<Gaudi>::new(cfg).expect("config");
    let ctx = d.open().expect("a free context");
    let runner = Runner::start(&d).expect("threads");
    let queues = completing_queues::<Gaudi>();
    thread::scope(|s| {
        for t in 0..2 {
            let (ctx, queue) = (&ctx, queues[t % queues.len()]);
            s.spawn(move || {
                let jobs = [Job::new(queue)];
                let mut window = std::collections::VecDeque::new();
                for _ in 0..PER_SUBMITTER {
                    window.push_back(ctx.submit(&CsSubmit::new(&jobs)).expect("room"));
                    if window.len() == 4
                        && let Some(seq) = window.pop_front()
                    {
                        let status = ctx.wait_cs(seq, FOREVER, None);
                        assert!(
                            matches!(status, Ok(WaitStatus::Completed { .. })),
                            "{status:?}"
                        );
                    }
                }
                for seq in window {
                    let status = ctx.wait_cs(seq, FOREVER, None);
                    assert!(
                        matches!(status, Ok(WaitStatus::Completed { .. })),
                        "{status:?}"
                    );
                }
            });
        }
    });
    drop(runner);
    assert_eq!(d.stats().completed, 2 * PER_SUBMITTER);
}

/// A CS's TDR clock starts when it is submitted, even if the engine worker is asleep until a
/// later job of an earlier CS (here an internal-queue job that outlives its CS): the submitter
/// wakes the worker for every new CS, so the CS joins the mirror list at once. Had it joined
/// only when the worker woke for that job (1 s later), its 500 ms timeout would have run from
/// then and its 1.2 s job would have finished in time.
#[test]
fn a_sleeping_worker_does_not_delay_a_new_cs_tdr() {
    use asicgen_generated::goya::Goya;
    use asicgen_runtime::{CsWaitError, Work};
    let mut cfg = DeviceConfig::for_asic::<Goya>();
    cfg.clock = ClockMode::Real;
    let d = Device::<Goya>::new(cfg).expect("config");
    let ctx = d.open().expect("a free context");
    let _runner = Runner::start(&d).expect("threads");
    let external = common::two_external::<Goya>().expect("external queues").0.0;
    let internal = common::internal_queue::<Goya>().expect("an internal queue");
    let a = [
        Job::new(external).with_work(Work::Run(Duration::from_millis(1))),
        Job::new(internal).with_work(Work::Run(Duration::from_secs(1))),
    ];
    let seq = ctx.submit(&CsSubmit::new(&a)).expect("room");
    let status = ctx.wait_cs(seq, FOREVER, None);
    assert!(
        matches!(status, Ok(WaitStatus::Completed { .. })),
        "{status:?}"
    );
    // Give the worker time to stop spinning and park until the internal job is due.
    thread::sleep(Duration::from_millis(50));
    let b = [Job::new(external).with_work(Work::Run(Duration::from_millis(1200)))];
    let cs = CsSubmit::new(&b).with_timeout(Duration::from_millis(500));
    let seq = ctx.submit(&cs).expect("room");
    assert_eq!(
        ctx.wait_cs(seq, FOREVER, None),
        Err(CsWaitError::TimedOut { seq })
    );
}

/// A device runs under one `Runner` at a time, and can be given a new one once the old one is
/// stopped: the second `start` while the first runs is refused, after `stop` it works again and
/// the device keeps its state (seqs go on).
#[test]
fn a_device_can_be_run_again_after_its_runner_stops() {
    let mut cfg = DeviceConfig::for_asic::<Gaudi>();
    cfg.clock = ClockMode::Real;
    let d = Device::<Gaudi>::new(cfg).expect("config");
    let ctx = d.open().expect("a free context");
    let jobs = [Job::new(completing_queues::<Gaudi>()[0])];
    for round in 1..=3u64 {
        let runner = Runner::start(&d).expect("threads");
        assert!(matches!(
            Runner::start(&d),
            Err(asicgen_runtime::RunnerError::AlreadyStarted)
        ));
        let seq = ctx.submit(&CsSubmit::new(&jobs)).expect("room");
        assert_eq!(seq, round);
        let status = ctx.wait_cs(seq, FOREVER, None);
        assert!(
            matches!(status, Ok(WaitStatus::Completed { .. })),
            "{status:?}"
        );
        runner.stop();
    }
    assert_eq!(d.stats().completed, 3);
}

/// Submit one sync-stream CS (`make` returns its seq, or `None` for a wait the driver dropped),
/// counting refusals and the seqs failed attempts used up.
fn submit_sync<A: Asic>(
    ctx: &Context<A>,
    tally: &Tally,
    mut make: impl FnMut() -> Result<Option<u64>, SubmitError>,
) -> Option<u64> {
    loop {
        match make() {
            Ok(seq) => {
                if seq.is_some() {
                    tally.seqs.fetch_add(1, Ordering::Relaxed);
                }
                return seq;
            }
            Err(e) => {
                match e {
                    SubmitError::QueueFull { .. } => &tally.queue_full,
                    SubmitError::DeviceInReset { .. } => &tally.in_reset,
                    SubmitError::DeviceNotOperational => &tally.not_operational,
                    other => panic!("unexpected {other}"),
                }
                .fetch_add(1, Ordering::Relaxed);
                if let Some(used) = e.consumed_seq() {
                    tally.seqs.fetch_add(1, Ordering::Relaxed);
                    wait_terminal(ctx, used, tally);
                }
                thread::yield_now();
            }
        }
    }
}

/// A submitter of signal/wait chains across queues: signal on one sync-stream queue, a wait
/// for it on another, then a CS behind the wait.
fn chain_submitter<A: Asic>(ctx: &Context<A>, id: u64, tally: &Tally, dropped: &AtomicU64) {
    let queues: Vec<u32> = A::QUEUES
        .iter()
        .filter(|q| q.supports_sync_stream && q.accepts_user_jobs())
        .map(|q| q.id)
        .collect();
    let mut rng = XorShift::new(1000 + id);
    let width = window::<A>().max(3);
    let mut window = std::collections::VecDeque::with_capacity(width);
    let pick = |rng: &mut XorShift| queues[rng.below(queues.len() as u64) as usize];
    for _ in 0..CS_PER_SUBMITTER / 3 {
        let (qa, qb) = (pick(&mut rng), pick(&mut rng));
        let signal = submit_sync(ctx, tally, || {
            ctx.submit_signal(&SignalSubmit::new(qa))
                .map(|s| Some(s.seq))
        });
        let Some(signal) = signal else {
            unreachable!("a signal CS always has a seq")
        };
        window.push_back(signal);
        let wait = submit_sync(ctx, tally, || {
            ctx.submit_wait(&WaitSubmit::new(qb, &[signal]).with_work(Work::Default))
                .map(|w| match w {
                    WaitCs::Submitted { seq } => Some(seq),
                    WaitCs::SignalDone { consumed_seq } => {
                        dropped.fetch_add(1, Ordering::Relaxed);
                        // A wait dropped at schedule time used a seq: it ends too.
                        if let Some(used) = consumed_seq {
                            tally.seqs.fetch_add(1, Ordering::Relaxed);
                            wait_terminal(ctx, used, tally);
                        }
                        None
                    }
                })
        });
        window.extend(wait);
        let behind = submit_sync(ctx, tally, || {
            ctx.submit(&CsSubmit::new(&[Job::new(qb)])).map(Some)
        });
        window.extend(behind);
        // Now and then a staged submission of three CSs (generations that have them): a reset
        // between its CSs leaves the later ones without a first (-EINVAL, seq used up).
        if A::FEATURES.staged_submission && rng.below(4) == 0 {
            let jobs = [Job::new(qa)];
            let cs = CsSubmit::new(&jobs);
            let mut staged = None;
            for step in 0..3 {
                let req = match (step, staged) {
                    (0, _) => StagedSubmit::first(cs),
                    (_, Some(seq)) => StagedSubmit::next(cs, seq),
                    (_, None) => break,
                };
                let req = if step == 2 { req.last() } else { req };
                match ctx.submit_staged(&req) {
                    Ok(s) => {
                        tally.seqs.fetch_add(1, Ordering::Relaxed);
                        staged = Some(s.seq);
                        window.push_back(s.cs_seq);
                    }
                    Err(e) => {
                        match e {
                            SubmitError::QueueFull { .. } => &tally.queue_full,
                            SubmitError::DeviceInReset { .. } => &tally.in_reset,
                            SubmitError::DeviceNotOperational => &tally.not_operational,
                            SubmitError::StagedFirstNotFound { .. } => &tally.staged_orphans,
                            other => panic!("unexpected {other}"),
                        }
                        .fetch_add(1, Ordering::Relaxed);
                        if let Some(used) = e.consumed_seq() {
                            tally.seqs.fetch_add(1, Ordering::Relaxed);
                            wait_terminal(ctx, used, tally);
                        }
                        if step == 0 {
                            break;
                        }
                    }
                }
            }
        }
        while window.len() >= width {
            if let Some(oldest) = window.pop_front() {
                wait_terminal(ctx, oldest, tally);
            }
        }
    }
    for seq in window {
        wait_terminal(ctx, seq, tally);
    }
}

fn signal_wait_chains_lose_nothing_on<A: Asic>() {
    let mut cfg = DeviceConfig::for_asic::<A>();
    cfg.clock = ClockMode::Real;
    cfg.tdr_timeout = Some(Duration::from_millis(20));
    cfg.sim = SimConfig {
        latency: Duration::from_micros(20),
        jitter: Duration::from_micros(80),
        hang_ppm: 3_000,
        fault_ppm: 1_000,
        out_of_order: false,
        seed: 7,
        lanes: 2,
        poll_spins: 200,
        lane_cpu: None,
    };
    let d = Device::<A>::new(cfg).expect("config");
    if !A::FEATURES.sync_stream {
        let ctx = d.open().expect("a free context");
        let q = completing_queues::<A>()[0];
        assert_eq!(
            ctx.submit_signal(&SignalSubmit::new(q)),
            Err(SubmitError::SyncStreamNotSupported)
        );
        return;
    }
    let runner = Runner::start(&d).expect("threads");
    let ctx = Arc::new(d.open().expect("a free context"));
    let tally = Arc::new(Tally::default());
    let dropped = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    // A user resetting the device now and then, in the middle of chains.
    let resetter = {
        let (d, done) = (d.clone(), Arc::clone(&done));
        thread::spawn(move || {
            let mut resets = 0;
            while !done.load(Ordering::Acquire) && resets < 5 {
                thread::sleep(Duration::from_millis(3));
                d.reset();
                resets += 1;
            }
        })
    };
    let submitters: Vec<_> = (0..submitters::<A>())
        .map(|id| {
            let (ctx, tally, dropped) =
                (Arc::clone(&ctx), Arc::clone(&tally), Arc::clone(&dropped));
            thread::spawn(move || chain_submitter(&ctx, id, &tally, &dropped))
        })
        .collect();
    for s in submitters {
        s.join().expect("submitter");
    }
    done.store(true, Ordering::Release);
    resetter.join().expect("resetter");
    runner.stop();

    let s = d.stats();
    let t = |c: &AtomicU64| c.load(Ordering::Relaxed);
    // Every seq handed out ended in exactly one terminal state, and every waiter returned.
    assert_eq!(s.in_flight, 0);
    assert_eq!(ctx.next_seq() - 1, t(&tally.seqs));
    assert_eq!(s.released(), t(&tally.seqs));
    assert_eq!(t(&tally.completed), s.completed + s.not_submitted);
    assert_eq!(t(&tally.timed_out), s.timed_out);
    assert_eq!(t(&tally.aborted), s.aborted);
    assert_eq!(s.lifecycle_violations, 0);
    // No SOB reference, monitor or held job leaks: the sync manager is at its baseline.
    assert!(d.sync_stats().is_baseline(), "{:?}", d.sync_stats());
    Arc::try_unwrap(ctx).expect("every thread joined").close();
    assert_eq!(d.live_fences(), 0);
    assert!(d.sync_stats().is_baseline(), "{:?}", d.sync_stats());
    eprintln!(
        "{s:?}, {} waits dropped, {} staged CSs without their first",
        t(&dropped),
        t(&tally.staged_orphans)
    );
}

struct ChainStress;

impl asicgen_generated::AsicVisitor for ChainStress {
    type Output = ();
    fn visit<A: Asic>(self) {
        signal_wait_chains_lose_nothing_on::<A>();
    }
}

/// §5 under stress, every generation: signal/wait chains across queues on real threads, with
/// hangs, engine faults, TDR resets and user resets in the middle of chains.
#[test]
fn signal_wait_chains_with_hangs_and_resets_lose_nothing() {
    for name in asicgen_generated::NAMES {
        eprintln!("chain stress: {name}");
        assert_eq!(
            asicgen_generated::visit(name, ChainStress),
            Some(()),
            "{name}"
        );
    }
}

/// §5 on real threads: chains of signal/wait CSs across two queues, each waited for at its
/// end only (as `tests/benches/sync_chain.rs` runs them), finish every time.
#[test]
fn signal_wait_chains_on_real_threads_finish() {
    let mut cfg = DeviceConfig::for_asic::<Gaudi>();
    cfg.clock = ClockMode::Real;
    cfg.sim = SimConfig {
        latency: Duration::from_micros(5),
        lanes: 1,
        ..SimConfig::default()
    };
    let d = Device::<Gaudi>::new(cfg).expect("config");
    let ctx = d.open().expect("a free context");
    let runner = Runner::start(&d).expect("threads");
    let qs: Vec<_> = <Gaudi as Asic>::QUEUES
        .iter()
        .filter(|q| q.supports_sync_stream && q.accepts_user_jobs())
        .collect();
    let other = qs
        .iter()
        .find(|q| q.engine != qs[0].engine)
        .expect("two engines");
    let q = [qs[0].id, other.id];
    for chain in 0..300 {
        let mut last = 0;
        for i in 0..64 {
            let s = ctx
                .submit_signal(&SignalSubmit::new(q[i % 2]))
                .expect("signal");
            last = s.seq;
            if i + 1 < 64 {
                ctx.submit_wait(&WaitSubmit::new(q[(i + 1) % 2], &[s.seq]))
                    .expect("wait");
            }
        }
        let r = ctx.wait_cs(last, Duration::from_secs(10), None);
        assert!(
            matches!(r, Ok(WaitStatus::Completed { .. })),
            "chain {chain}: {r:?}; {:?}; {:?}",
            d.sync_stats(),
            d.stats()
        );
    }
    runner.stop();
    assert!(d.sync_stats().is_baseline(), "{:?}", d.sync_stats());
}
