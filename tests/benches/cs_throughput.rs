//! CS submit -> complete throughput and round-trip latency on the simulated device, side by side
//! with a straightforward `Arc<Mutex<_>> + Condvar` implementation of the same lifecycle and the
//! same driver bookkeeping (the dma-fence-copy style the habanalabs maintainers moved away from),
//! in one run.
//!
//! Both sides run one submitter thread (the bench's), one engine thread completing zero-latency
//! jobs and one idle TDR thread, on Gaudi's first external queue, with up to 32 CSs in flight,
//! and both place their threads the same way: criterion's groups pin the submitter to CPU 0 and
//! the engine thread to CPU 1 (as `docs/peer-baseline.md` pins); the interleaved section
//! also runs both on CPU 0 and unpinned. Per CS both do the same work:
//!
//! | step | asicgen `Device` | baseline |
//! |---|---|---|
//! | `allocate_cs`: seq, ring slot, "try again" if the slot's fence is pending | `FencePool` slot recycled in place (mutex, no allocation) | `ctx` mutex; slot's fence mutex to test it; `Arc` fence + `Arc` CS allocated |
//! | validate the queue (known, not driver-only, not binned, has a completion) | yes | yes |
//! | queue space check, CQ reservation, `pi` advance | under the submission lock (`ci` and CQ counts cached, reloaded only when they say full) | under the `hw_queues` mutex |
//! | mirror-list append; arm the TDR if the CS is the head | completion side, when it takes the CS from the submission log | under the `mirror` mutex |
//! | lifecycle `Submit` through `Gaudi::transition`; `submitted` counter | yes | yes (CS mutex) |
//! | hand the job to the engine thread | submission log + lane ring (SPSC), doorbell store (+ unpark only if parked) | `Mutex<VecDeque>` + `Condvar::notify_one` |
//! | completion: `ci` advance, CQ entry released | under the completion lock (published atomics) | under the `hw_queues` mutex |
//! | lifecycle `JobsDone`; release: mirror remove, cancel own TDR, arm the next head's | under the completion lock, a batch of jobs per hold | `mirror` mutex per CS |
//! | outcome from `Gaudi::outcome`, completion timestamp, counters | yes | yes |
//! | signal the fence (outcome, timestamp if asked) | one atomic RMW, a futex wake only with sleepers | fence mutex, `Condvar::notify_all` |
//! | wait by seq: ring lookup, then wait | `FencePool` mutex + kref, atomic load / spin / futex | `ctx` mutex + `Arc` clone, fence mutex + `Condvar` |
//!
//! The baseline's fence is `Arc<(Mutex<FenceState>, Condvar)>` holding the state, the error
//! (outcome) and the timestamp; it has no callback list because the runtime's fence offers no
//! callbacks. It has no sleeps and no work the `Device` does not do; what it does not have are the
//! simulator's own costs (a due-time heap and a random draw per job, a clock read per batch).
//!
//! - `throughput/*`: 10,000 CSs per iteration with up to 32 in flight (the submitter waits for
//!   its oldest CS when 32 are outstanding).
//! - `round_trip/*`: one CS at a time, submit then wait.
//! - After criterion, `round_trip_percentiles` prints p50/p99 of 20,000 single round trips per
//!   side, and `interleaved_throughput` measures the pipelined case in 21 alternating rounds per
//!   placement (cross-core, same core, unpinned) and prints the median ratio with its spread:
//!   the figure to quote, since the shared machine drifts between fast and slow states and
//!   criterion measures the two sides seconds apart.
//!
//! `cargo bench -p asicgen-tests --bench cs_throughput`
//!
//! For a quick A/B of two builds, `INTERLEAVED_ONLY=CrossCore,SameCore,Unpinned` runs only
//! those interleaved measurements and `INTERLEAVED_ROUNDS=N` sets their rounds.
//! `BASELINE_ENGINE_BATCH=1` runs the baseline's engine thread in `SCHED_BATCH`, the class the
//! runtime gives its engine workers (their wake-up does not preempt the submitter), to show how
//! much of a same-core figure is that class rather than the design. The interleaved lines also
//! print each side's context switches per CS (every thread of the process, `getrusage`).

use asicgen_generated::gaudi::Gaudi;
use asicgen_runtime::asic::{Asic, CsEvent, QueueType};
use asicgen_runtime::sim::{online_cpus, pin_current_thread, unpin_current_thread};
use asicgen_runtime::{
    ClockMode, CompletionQueue, Context, CsSubmit, Device, DeviceConfig, HwQueue, Job, Outcome,
    Runner, SimConfig, Timestamp, WaitStatus,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::cell::Cell;
use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const BATCH: u64 = 10_000;
const WINDOW: usize = 32;
const FOREVER: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// The baseline.

type CsState = <Gaudi as Asic>::CsState;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().expect("baseline lock")
}

/// dma-fence style: state, error and timestamp behind a mutex, a condvar for waiters.
#[derive(Default)]
struct FenceState {
    signalled: bool,
    outcome: Option<Outcome>,
    timestamp: Option<Timestamp>,
}

struct BaselineFence {
    seq: u64,
    state: Mutex<FenceState>,
    cond: Condvar,
}

impl BaselineFence {
    fn is_signalled(&self) -> bool {
        lock(&self.state).signalled
    }

    fn signal(&self, outcome: Outcome, timestamp: Option<Timestamp>) {
        let mut st = lock(&self.state);
        st.signalled = true;
        st.outcome = Some(outcome);
        st.timestamp = timestamp;
        drop(st);
        self.cond.notify_all();
    }

    fn wait(&self) -> (Outcome, Option<Timestamp>) {
        let mut st = lock(&self.state);
        while !st.signalled {
            st = self.cond.wait(st).expect("baseline lock");
        }
        (st.outcome.unwrap_or(Outcome::Aborted), st.timestamp)
    }
}

/// `struct hl_cs`: the fields the lifecycle and the TDR need, behind the CS's own mutex.
struct CsInner {
    state: CsState,
    pending: u32,
    submitted: bool,
    timed_out: bool,
    tdr_active: bool,
    completed_at: Option<u64>,
}

struct BaselineCs {
    seq: u64,
    queue: usize,
    jobs: u32,
    timeout_ns: Option<u64>,
    wants_timestamp: bool,
    fence: Arc<BaselineFence>,
    inner: Mutex<CsInner>,
}

/// `hw_queues_lock`: queue pointers and completion-queue counts.
struct HwQueues {
    queues: Vec<HwQueue>,
    cqs: Vec<CompletionQueue>,
}

/// `cs_mirror_lock`: in-flight CSs oldest first, the armed TDR, counters.
struct Mirror {
    list: VecDeque<Arc<BaselineCs>>,
    tdr: Option<(u64, u64)>,
    tdr_sleep_until: u64,
    submitted: u64,
    completed: u64,
    in_flight: u64,
}

struct BaselineShared {
    /// The context: next seq and the pending ring of fences.
    ctx: Mutex<(u64, Vec<Option<Arc<BaselineFence>>>)>,
    hw: Mutex<HwQueues>,
    mirror: Mutex<Mirror>,
    tdr_cond: Condvar,
    /// The engine's job queue and the shutdown flag.
    jobs: Mutex<(VecDeque<Arc<BaselineCs>>, bool)>,
    work: Condvar,
    tdr_timeout_ns: Option<u64>,
}

struct Baseline {
    shared: Arc<BaselineShared>,
    threads: Vec<JoinHandle<()>>,
}

fn now_ns() -> u64 {
    Timestamp::now().as_nanos()
}

fn queue_index(id: u32) -> Option<usize> {
    Gaudi::QUEUES.binary_search_by_key(&id, |q| q.id).ok()
}

impl Baseline {
    fn new(placement: Placement) -> Baseline {
        let n = Gaudi::LIMITS.max_pending_cs as usize;
        let cq_len = Gaudi::LIMITS.cq_length.max(1);
        let shared = Arc::new(BaselineShared {
            ctx: Mutex::new((1, vec![None; n])),
            hw: Mutex::new(HwQueues {
                queues: Gaudi::QUEUES.iter().map(HwQueue::new).collect(),
                cqs: (0..Gaudi::completion_queue_count())
                    .map(|_| CompletionQueue::new(cq_len))
                    .collect(),
            }),
            mirror: Mutex::new(Mirror {
                list: VecDeque::new(),
                tdr: None,
                tdr_sleep_until: 0,
                submitted: 0,
                completed: 0,
                in_flight: 0,
            }),
            tdr_cond: Condvar::new(),
            jobs: Mutex::new((VecDeque::new(), false)),
            work: Condvar::new(),
            tdr_timeout_ns: Gaudi::LIMITS
                .tdr_timeout()
                .map(|d| d.as_nanos().try_into().unwrap_or(u64::MAX)),
        });
        let s = Arc::clone(&shared);
        let engine = thread::spawn(move || {
            placement.pin_engine();
            if std::env::var_os("BASELINE_ENGINE_BATCH").is_some() {
                into_batch_class();
            }
            loop {
                let cs = {
                    let mut q = lock(&s.jobs);
                    loop {
                        if let Some(cs) = q.0.pop_front() {
                            break cs;
                        }
                        if q.1 {
                            return;
                        }
                        q = s.work.wait(q).expect("baseline lock");
                    }
                };
                s.complete(&cs);
            }
        });
        let s = Arc::clone(&shared);
        let tdr = thread::spawn(move || s.tdr_thread());
        Baseline {
            shared,
            threads: vec![engine, tdr],
        }
    }

    /// `hl_cs_ioctl` for one job on `queue`: `Err(pending_seq)` when the ring slot is busy.
    fn submit(&self, queue: u32) -> Result<u64, u64> {
        let s = &self.shared;
        // allocate_cs
        let cs = {
            let mut ctx = lock(&s.ctx);
            let seq = ctx.0;
            let slot = seq as usize & (ctx.1.len() - 1);
            if let Some(old) = &ctx.1[slot]
                && !old.is_signalled()
            {
                return Err(old.seq);
            }
            let fence = Arc::new(BaselineFence {
                seq,
                state: Mutex::new(FenceState::default()),
                cond: Condvar::new(),
            });
            ctx.1[slot] = Some(Arc::clone(&fence));
            ctx.0 += 1;
            let q = queue_index(queue).expect("known queue");
            Arc::new(BaselineCs {
                seq,
                queue: q,
                jobs: 1,
                timeout_ns: s.tdr_timeout_ns,
                wants_timestamp: false,
                fence,
                inner: Mutex::new(CsInner {
                    state: Gaudi::INITIAL_STATE,
                    pending: 0,
                    submitted: false,
                    timed_out: false,
                    tdr_active: false,
                    completed_at: None,
                }),
            })
        };
        // validate_queue_index and the only-internal rule
        let props = &Gaudi::QUEUES[cs.queue];
        assert!(!props.driver_only && !props.binned && props.queue_type.has_completion());
        // hl_hw_queue_schedule_cs
        {
            let mut hw = lock(&s.hw);
            let hq = hw.queues[cs.queue];
            hq.check_space(cs.jobs).expect("queue space");
            if let (QueueType::External, Some(cq)) = (hq.queue_type(), hq.cq()) {
                hw.cqs[cq as usize].reserve(cq, cs.jobs).expect("cq space");
            }
            let now = now_ns();
            {
                let mut m = lock(&s.mirror);
                m.list.push_back(Arc::clone(&cs));
                m.in_flight += 1;
                m.submitted += 1;
                if m.list.len() == 1
                    && let Some(t) = cs.timeout_ns
                {
                    let wake = s.arm(&mut m, &cs, now, t);
                    drop(m);
                    if wake {
                        s.tdr_cond.notify_one();
                    }
                }
            }
            hw.queues[cs.queue].produce(cs.jobs);
            {
                let mut inner = lock(&cs.inner);
                inner.pending = cs.jobs;
                inner.submitted = true;
                inner.state = Gaudi::next_state(inner.state, CsEvent::Submit);
            }
            lock(&s.jobs).0.push_back(Arc::clone(&cs));
        }
        s.work.notify_one();
        Ok(cs.seq)
    }

    fn submit_retrying(&self, queue: u32) -> u64 {
        loop {
            match self.submit(queue) {
                Ok(seq) => return seq,
                Err(pending) => {
                    self.wait(pending);
                }
            }
        }
    }

    /// `hl_cs_wait_ioctl`: look the seq up in the ring, wait on its fence.
    fn wait(&self, seq: u64) -> Outcome {
        let fence = {
            let ctx = lock(&self.shared.ctx);
            let slot = seq as usize & (ctx.1.len() - 1);
            match &ctx.1[slot] {
                Some(f) if f.seq == seq => Arc::clone(f),
                _ => return Outcome::Ok, // gone
            }
        };
        fence.wait().0
    }
}

impl BaselineShared {
    /// Arm the TDR for `cs`; true if the TDR thread sleeps past the new deadline.
    fn arm(&self, m: &mut Mirror, cs: &BaselineCs, now: u64, timeout: u64) -> bool {
        let deadline = now.saturating_add(timeout);
        lock(&cs.inner).tdr_active = true;
        m.tdr = Some((cs.seq, deadline));
        if deadline < m.tdr_sleep_until {
            m.tdr_sleep_until = 0;
            true
        } else {
            false
        }
    }

    /// The engine finished the CS's job: the CQ interrupt, then `cs_do_release`.
    fn complete(&self, cs: &Arc<BaselineCs>) {
        let now = now_ns();
        {
            let mut hw = lock(&self.hw);
            let hq = &mut hw.queues[cs.queue];
            hq.consume(1);
            if let (QueueType::External, Some(cq)) = (hq.queue_type(), hq.cq()) {
                hw.cqs[cq as usize].release(1);
            }
        }
        let (outcome, timed_out, tdr_active) = {
            let mut inner = lock(&cs.inner);
            inner.pending -= 1;
            if inner.pending > 0 {
                return;
            }
            inner.completed_at = Some(now);
            inner.state = Gaudi::next_state(inner.state, CsEvent::JobsDone);
            (
                Gaudi::outcome(inner.state).unwrap_or(Outcome::Aborted),
                inner.timed_out,
                inner.tdr_active,
            )
        };
        // cs_do_release: leave the mirror list, hand the TDR on.
        let mut wake = false;
        {
            let mut m = lock(&self.mirror);
            if let Some(pos) = m.list.iter().position(|c| Arc::ptr_eq(c, cs)) {
                m.list.remove(pos);
                m.in_flight -= 1;
            }
            if self.tdr_timeout_ns.is_some() && !timed_out {
                if tdr_active {
                    lock(&cs.inner).tdr_active = false;
                    if m.tdr.is_some_and(|(seq, _)| seq == cs.seq) {
                        m.tdr = None;
                    }
                }
                if let Some(next) = m.list.iter().find(|c| c.timeout_ns.is_some()).cloned()
                    && !lock(&next.inner).tdr_active
                    && let Some(t) = next.timeout_ns
                {
                    wake = self.arm(&mut m, &next, now, t);
                }
            }
            m.completed += 1;
        }
        if wake {
            self.tdr_cond.notify_one();
        }
        let ts = cs.wants_timestamp.then(|| Timestamp::from_nanos(now));
        cs.fence.signal(outcome, ts);
    }

    fn tdr_thread(&self) {
        let mut m = lock(&self.mirror);
        loop {
            if lock(&self.jobs).1 {
                return;
            }
            let now = now_ns();
            if m.tdr.is_some_and(|(_, d)| d <= now) {
                // Never reached in the bench (600 s timeout); the runtime resets here.
                m.tdr = None;
            }
            let until = m.tdr.map_or(u64::MAX, |(_, d)| d);
            m.tdr_sleep_until = until;
            let wait = Duration::from_nanos(until.saturating_sub(now).min(1_000_000_000));
            m = self
                .tdr_cond
                .wait_timeout(m, wait)
                .expect("baseline lock")
                .0;
        }
    }
}

impl Drop for Baseline {
    fn drop(&mut self) {
        lock(&self.shared.jobs).1 = true;
        self.shared.work.notify_all();
        self.shared.tdr_cond.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// asicgen: the runtime's Device on real threads.

/// Where the submitting thread and the engine thread run. Both sides of a comparison always
/// run with the same placement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// Submitter on CPU 0, engine on CPU 1 (as `docs/peer-baseline.md` pins).
    CrossCore,
    /// Both on CPU 0.
    SameCore,
    /// Wherever the scheduler puts them.
    Unpinned,
}

impl Placement {
    const ALL: [Placement; 3] = [
        Placement::CrossCore,
        Placement::SameCore,
        Placement::Unpinned,
    ];

    fn engine_cpu(self) -> Option<usize> {
        match self {
            Placement::CrossCore => Some(1 % online_cpus()),
            Placement::SameCore => Some(0),
            Placement::Unpinned => None,
        }
    }

    /// Place the calling (submitting) thread.
    fn place_submitter(self) {
        let placed = match self {
            Placement::Unpinned => unpin_current_thread(),
            _ => pin_current_thread(0),
        };
        placed.expect("sched_setaffinity");
    }

    fn pin_engine(self) {
        if let Some(cpu) = self.engine_cpu() {
            pin_current_thread(cpu).expect("sched_setaffinity");
        }
    }
}

fn device(placement: Placement) -> (Device<Gaudi>, Context<Gaudi>, Runner) {
    let mut cfg = DeviceConfig::for_asic::<Gaudi>();
    cfg.clock = ClockMode::Real;
    cfg.sim = SimConfig {
        latency: Duration::ZERO,
        lanes: 1,
        lane_cpu: placement.engine_cpu().map(|c| c as u16),
        ..SimConfig::default()
    };
    let d = Device::<Gaudi>::new(cfg).expect("config");
    let ctx = d.open().expect("a free context");
    let runner = Runner::start(&d).expect("threads");
    (d, ctx, runner)
}

fn wait(ctx: &Context<Gaudi>, seq: u64) {
    let status = ctx.wait_cs(seq, FOREVER, None);
    assert!(
        matches!(status, Ok(WaitStatus::Completed { .. })),
        "{status:?}"
    );
}

fn submit(ctx: &Context<Gaudi>, cs: &CsSubmit<'_>) -> u64 {
    loop {
        match ctx.submit(cs) {
            Ok(seq) => return seq,
            Err(asicgen_runtime::SubmitError::TooManyInFlight { pending_seq, .. }) => {
                let _ = ctx.wait_cs(pending_seq, FOREVER, None);
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn first_external_queue() -> u32 {
    <Gaudi as Asic>::QUEUES
        .iter()
        .find(|q| q.accepts_user_jobs() && q.queue_type == QueueType::External)
        .map(|q| q.id)
        .expect("an external queue")
}

fn pipelined(mut submit_one: impl FnMut() -> u64, mut wait_one: impl FnMut(u64)) {
    let mut window = VecDeque::with_capacity(WINDOW);
    for _ in 0..BATCH {
        window.push_back(submit_one());
        if window.len() == WINDOW
            && let Some(seq) = window.pop_front()
        {
            wait_one(seq);
        }
    }
    for seq in window {
        wait_one(seq);
    }
}

fn benches(c: &mut Criterion) {
    let queue = first_external_queue();
    let jobs = [Job::new(queue)];
    let cs = CsSubmit::new(&jobs);
    // `INTERLEAVED_ONLY=CrossCore,SameCore`: only those interleaved runs, nothing else (quick
    // A/B runs of two builds).
    if let Ok(only) = std::env::var("INTERLEAVED_ONLY") {
        for placement in Placement::ALL {
            if only
                .split(',')
                .any(|p| p.trim() == format!("{placement:?}"))
            {
                interleaved_throughput(queue, placement);
            }
        }
        return;
    }
    let placement = Placement::CrossCore;
    placement.place_submitter();

    let mut g = c.benchmark_group("throughput");
    g.throughput(Throughput::Elements(BATCH));
    {
        let (_d, ctx, _runner) = device(placement);
        g.bench_function("asicgen", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    pipelined(|| submit(&ctx, &cs), |seq| wait(&ctx, seq));
                }
                start.elapsed()
            });
        });
    }
    {
        let base = Baseline::new(placement);
        g.bench_function("mutex_condvar_baseline", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    pipelined(
                        || base.submit_retrying(queue),
                        |seq| {
                            black_box(base.wait(seq));
                        },
                    );
                }
                start.elapsed()
            });
        });
    }
    g.finish();

    let mut g = c.benchmark_group("round_trip");
    {
        let (_d, ctx, _runner) = device(placement);
        g.bench_function("asicgen", |b| {
            b.iter(|| wait(&ctx, submit(&ctx, &cs)));
        });
    }
    {
        let base = Baseline::new(placement);
        g.bench_function("mutex_condvar_baseline", |b| {
            b.iter(|| black_box(base.wait(base.submit_retrying(queue))));
        });
    }
    g.finish();
    round_trip_percentiles(queue, placement);
    for placement in Placement::ALL {
        interleaved_throughput(queue, placement);
    }
}

/// Pipelined throughput of both sides measured in alternating rounds (the order flips every
/// round), so a machine that drifts between a fast and a slow state hits both alike; prints
/// the medians and the spread of the per-round ratio.
fn interleaved_throughput(queue: u32, placement: Placement) {
    // `INTERLEAVED_ROUNDS=N` (at least 1): a round takes about 0.1 s, and the median of a few
    // dozen is what steadies on a shared host.
    let rounds: usize = std::env::var("INTERLEAVED_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(21)
        .max(1);
    const BATCHES: u64 = 5;
    placement.place_submitter();
    let jobs = [Job::new(queue)];
    let cs = CsSubmit::new(&jobs);
    let (_d, ctx, runner) = device(placement);
    let base = Baseline::new(placement);
    // Context switches during each side's rounds.
    let (switches_a, switches_b) = (Cell::new(0u64), Cell::new(0u64));
    let rate = |run: &dyn Fn(), switches: &Cell<u64>| {
        let before = context_switches();
        let start = Instant::now();
        for _ in 0..BATCHES {
            run();
        }
        let rate = (BATCHES * BATCH) as f64 / start.elapsed().as_secs_f64();
        switches.set(switches.get() + context_switches() - before);
        rate
    };
    let ours = || pipelined(|| submit(&ctx, &cs), |seq| wait(&ctx, seq));
    let theirs = || {
        pipelined(
            || base.submit_retrying(queue),
            |seq| {
                black_box(base.wait(seq));
            },
        );
    };
    // One unmeasured pass each: warm caches, rings and pools.
    ours();
    theirs();
    let (mut a, mut b, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (x, y) = if round % 2 == 0 {
            let x = rate(&ours, &switches_a);
            (x, rate(&theirs, &switches_b))
        } else {
            let y = rate(&theirs, &switches_b);
            (rate(&ours, &switches_a), y)
        };
        a.push(x);
        b.push(y);
        ratio.push(x / y);
    }
    drop(runner);
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (ma, mb, mr) = (median(&mut a), median(&mut b), median(&mut ratio));
    let per_cs =
        |switches: &Cell<u64>| switches.get() as f64 / (rounds as u64 * BATCHES * BATCH) as f64;
    println!(
        "interleaved_throughput/{placement:?}: asicgen {:.2} M CS/s, baseline {:.2} M CS/s; \
         ratio median {mr:.2}x (min {:.2}x, max {:.2}x, {rounds} rounds of {} CSs each side); \
         context switches per CS: asicgen {:.3}, baseline {:.3}",
        ma / 1e6,
        mb / 1e6,
        ratio[0],
        ratio[rounds - 1],
        BATCHES * BATCH,
        per_cs(&switches_a),
        per_cs(&switches_b),
    );
}

/// Put the calling thread in `SCHED_BATCH`, as the runtime does with its engine workers (its
/// wake-up does not preempt the waker).
fn into_batch_class() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` lives across the call.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    assert_eq!(rc, 0, "sched_setscheduler(SCHED_BATCH)");
}

/// Voluntary plus involuntary context switches of every thread of this process so far.
fn context_switches() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` writes a whole `rusage` into the pointer it is given, which points at
    // one we own.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    (usage.ru_nvcsw + usage.ru_nivcsw) as u64
}

/// p50 and p99 of single submit-then-wait round trips, both sides, printed.
fn round_trip_percentiles(queue: u32, placement: Placement) {
    const N: usize = 20_000;
    fn report(name: &str, mut samples: Vec<Duration>) {
        samples.sort_unstable();
        let at = |p: usize| samples[(samples.len() * p / 100).min(samples.len() - 1)];
        println!(
            "round_trip_percentiles/{name}: p50 {:.2} µs, p99 {:.2} µs",
            at(50).as_secs_f64() * 1e6,
            at(99).as_secs_f64() * 1e6
        );
    }
    let jobs = [Job::new(queue)];
    let cs = CsSubmit::new(&jobs);
    let (_d, ctx, runner) = device(placement);
    let mut samples = Vec::with_capacity(N);
    for _ in 0..N {
        let t = Instant::now();
        wait(&ctx, submit(&ctx, &cs));
        samples.push(t.elapsed());
    }
    drop(runner);
    report("asicgen", samples);
    let base = Baseline::new(placement);
    let mut samples = Vec::with_capacity(N);
    for _ in 0..N {
        let t = Instant::now();
        black_box(base.wait(base.submit_retrying(queue)));
        samples.push(t.elapsed());
    }
    report("mutex_condvar_baseline", samples);
}

criterion_group! {
    name = cs_throughput;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(cs_throughput);
