//! `asicgen simulate`: command submissions on a simulated device, with a progress bar and a
//! summary.

use crate::trace::{Trace, TracedEngines};
use asicgen_generated::{AsicVisitor, NAMES};
use asicgen_runtime::asic::{Asic, CollectiveMode};
use asicgen_runtime::sim::XorShift;
use asicgen_runtime::{
    ClockMode, CollectiveWaitSubmit, Context, CsSubmit, CsWaitError, Device, DeviceConfig,
    DeviceStats, Job, MAX_FUSE_MASKS, MAX_LANES, Runner, SignalSubmit, SimConfig, SimEngines,
    SubmitError, WaitCs, WaitStatus, WaitSubmit,
};
use clap::builder::PossibleValuesParser;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::VecDeque;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

/// Virtual time: a wait as long as it takes (it returns busy only if nothing pending can ever
/// finish the CS).
const FOREVER: Duration = Duration::from_secs(3600);
/// Real time: a wait looks at the device this often, to reset it when the TDR fired without
/// `reset_on_lockup` (nothing else would release the CS).
const SLICE: Duration = Duration::from_millis(10);
/// Most CSs one run takes: the per-CS latencies are kept (8 bytes each).
const MAX_CS: u64 = 50_000_000;
/// Most submitter threads.
const MAX_THREADS: u64 = 256;

/// Options of `asicgen simulate`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The generation to simulate.
    #[arg(long, value_parser = PossibleValuesParser::new(NAMES.iter().copied()))]
    asic: String,
    /// Number of command submissions to run (1 to 50,000,000).
    #[arg(long, default_value_t = 100_000, value_parser = |s: &str| in_range(s, 1, MAX_CS))]
    cs: u64,
    /// Submitter threads (1 to 256; real time only, a virtual run has one).
    #[arg(long, default_value_t = 2, value_parser = |s: &str| in_range(s, 1, MAX_THREADS))]
    threads: u64,
    /// Engine lanes (1 to 64): worker threads that run the engines (engine i on lane i % lanes).
    #[arg(long, default_value_t = 1, value_parser = |s: &str| in_range(s, 1, MAX_LANES as u64))]
    lanes: u64,
    /// Pin engine lane i to CPU N+i (modulo the online CPUs), as a driver pins its completion
    /// interrupts. Unpinned by default. A lane worker spins briefly for new work, so on a busy
    /// machine pinning it away from the submitters keeps the two from trading one CPU.
    #[arg(long, value_name = "N")]
    lane_cpu: Option<u16>,
    /// CSs each submitter keeps in flight before it waits for its oldest (capped so that all
    /// submitters together use at most half the context's ring, and a CS is still in the ring
    /// when its submitter waits for it).
    #[arg(long, default_value_t = 32, value_parser = |s: &str| in_range(s, 1, u64::from(u32::MAX)))]
    window: u64,
    /// Jobs per CS: 1 to this many (at most the spec's `max_jobs_per_cs`), each on a random
    /// queue with its own completion.
    #[arg(long, default_value_t = 1, value_parser = |s: &str| in_range(s, 1, u64::from(u32::MAX)))]
    jobs: u64,
    /// Engine latency per job (`0`, `500ns`, `10us`, `2ms`, `1s`).
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    latency: Duration,
    /// Up to this much extra latency per job, drawn at random.
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    jitter: Duration,
    /// Fraction of jobs that hang (0 to 1; the TDR then times their CS out), e.g. 0.0001.
    /// Needs the TDR on, and in real time an explicit `--timeout`.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    hang_rate: f64,
    /// Fraction of jobs that raise an engine error (0 to 1; the device resets), e.g. 0.0001.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    fault_rate: f64,
    /// Jobs of one engine overlap, so CSs complete out of order (with --jitter).
    #[arg(long)]
    out_of_order: bool,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// TDR timeout (default: the spec's cs_timeout; `0` switches TDR off).
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// When the TDR fires, do not reset at once: the device refuses work until it is reset
    /// (this tool then resets it, as the driver does when the user releases the device).
    #[arg(long)]
    no_reset_on_lockup: bool,
    /// Run on a deterministic virtual clock instead of real threads.
    #[arg(long = "virtual")]
    virtual_clock: bool,
    /// Write a timeline of the run to FILE: Chrome-trace JSON that ui.perfetto.dev and
    /// chrome://tracing open (a track per engine lane, a span per CS, TDR and reset instants,
    /// a CSs-in-flight counter), on the device's clock. Meant for runs of up to some 100,000
    /// CSs: the timeline is kept in memory until the run ends.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<std::path::PathBuf>,
    /// This device's fuse masks, one per binning rule of the generation in spec order (the
    /// `binning` section of `asicgen emit doc` lists them), comma-separated, decimal or `0x`
    /// hex: bit i of a mask marks unit i of that rule faulty. E.g. on Gaudi2 `--binning 0x5,0`
    /// marks two TPCs faulty, so the queues of both spare TPCs are binned on this device.
    #[arg(long, value_name = "MASK,...", value_delimiter = ',', value_parser = parse_mask)]
    binning: Vec<u64>,
    /// What the submitters submit: `independent` CSs (each of 1 to --jobs jobs on random
    /// queues); `signal-wait` chains (a signal CS on a sync-stream queue, a wait CS on another
    /// for it, then a CS of 1 to --jobs jobs; generations with sync streams); `collective`
    /// chains (a signal CS, then a collective wait on a collective master queue; generations
    /// with collective masters). --cs counts every submission of a chain, a wait the driver
    /// drops (its signal already done) included.
    #[arg(long, value_enum, default_value_t = Workload::Independent)]
    workload: Workload,
}

/// The `--workload` of `asicgen simulate`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Independent CSs (the default).
    Independent,
    /// Signal CS, wait CS on another queue, then an independent CS.
    SignalWait,
    /// Signal CS, then a collective wait on a collective master queue.
    Collective,
}

/// CSs by kind, as the submitters submitted them.
#[derive(Default, Clone, Copy)]
struct Kinds {
    default: u64,
    signal: u64,
    wait: u64,
    collective: u64,
    /// Waits the driver dropped because their signal had completed (no CS created).
    wait_dropped: u64,
    /// Of those, the ones dropped at schedule time: they had taken a seq, which the device
    /// counts as not submitted.
    wait_dropped_late: u64,
    /// Attempts refused after they had taken a seq (a full queue), retried: the device counts
    /// each used-up seq as not submitted.
    refused_after_seq: u64,
}

impl Kinds {
    fn add(&mut self, o: &Kinds) {
        self.default += o.default;
        self.signal += o.signal;
        self.wait += o.wait;
        self.collective += o.collective;
        self.wait_dropped += o.wait_dropped;
        self.wait_dropped_late += o.wait_dropped_late;
        self.refused_after_seq += o.refused_after_seq;
    }
}

/// The queues a sync workload uses.
struct SyncPlan {
    /// Sync-stream queues for signals and waits.
    stream: Vec<u32>,
    /// Collective master queues and a reduction engine (collective workload).
    masters: Vec<u32>,
    reduction: u32,
}

/// Check the generation can run `workload` and pick its queues.
fn sync_plan<A: Asic>(
    workload: Workload,
    device: &Device<A>,
    binned: &[u32],
) -> Result<Option<SyncPlan>, String> {
    if workload == Workload::Independent {
        return Ok(None);
    }
    let flag = match workload {
        Workload::SignalWait => "signal-wait",
        _ => "collective",
    };
    if !A::FEATURES.sync_stream {
        return Err(format!(
            "--workload {flag}: {} has no sync stream (its spec sets `sync_stream = false`), so \
             it has no signal, wait or collective CS",
            A::NAME
        ));
    }
    let usable = |q: &&asicgen_runtime::asic::QueueProps| {
        q.supports_sync_stream && q.accepts_user_jobs() && !binned.contains(&q.id)
    };
    let stream: Vec<u32> = A::QUEUES.iter().filter(usable).map(|q| q.id).collect();
    if stream.is_empty() {
        return Err(format!(
            "--workload {flag}: {} has no sync-stream queue a user may submit to on this device",
            A::NAME
        ));
    }
    let masters: Vec<u32> = A::QUEUES
        .iter()
        .filter(usable)
        .filter(|q| q.collective == CollectiveMode::Master)
        .map(|q| q.id)
        .collect();
    let reduction = asicgen_runtime::sync_stream::reduction_engines::<A>().next();
    let nic = device.nic_ports_enabled();
    if workload == Workload::Collective {
        let Some(reduction) = reduction.filter(|_| !masters.is_empty() && nic) else {
            return Err(format!(
                "--workload collective: {} has no collective support (no collective master \
                 queue, reduction engine and NIC port on this device)",
                A::NAME
            ));
        };
        return Ok(Some(SyncPlan {
            stream,
            masters,
            reduction,
        }));
    }
    Ok(Some(SyncPlan {
        stream,
        masters,
        reduction: 0,
    }))
}

/// Parse a fuse mask: decimal or `0x` hex, 64 bits.
fn parse_mask(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("`{s}` is not a 64-bit mask (decimal or 0x hex)"))
}

/// Parse `0`, `<n>ns`, `<n>us`, `<n>µs`, `<n>ms` or `<n>s`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{s}` needs a unit: ns, us, ms or s"))?;
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` does not start with a number"))?;
    match unit {
        "ns" => Ok(Duration::from_nanos(n)),
        "us" | "µs" => Ok(Duration::from_micros(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        _ => Err(format!("unknown unit `{unit}`: use ns, us, ms or s")),
    }
}

/// Parse an integer in `lo..=hi`.
fn in_range(s: &str, lo: u64, hi: u64) -> Result<u64, String> {
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if (lo..=hi).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is out of range: use {lo} to {hi}"))
    }
}

/// Parse a fraction in `[0, 1]`.
fn parse_rate(s: &str) -> Result<f64, String> {
    let r: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("{s} is not a fraction: use 0 to 1"))
    }
}

/// A fraction in `[0, 1]` (checked by `parse_rate`) in parts per million.
fn ppm(rate: f64) -> u32 {
    (rate * 1_000_000.0).round() as u32
}

/// What one submitter saw.
#[derive(Default)]
struct Tally {
    latencies_ns: Vec<u64>,
    stuck: u64,
    kinds: Kinds,
}

/// Run `asicgen simulate`.
pub fn run(args: &Args) -> ExitCode {
    match asicgen_generated::visit(&args.asic, Simulation(args)) {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
        None => {
            eprintln!(
                "error: no generation `{}` (have: {})",
                args.asic,
                NAMES.join(", ")
            );
            ExitCode::FAILURE
        }
    }
}

struct Simulation<'a>(&'a Args);

impl AsicVisitor for Simulation<'_> {
    type Output = Result<(), String>;

    fn visit<A: Asic>(self) -> Result<(), String> {
        simulate::<A>(self.0)
    }
}

fn simulate<A: Asic>(args: &Args) -> Result<(), String> {
    let mut cfg = DeviceConfig::for_asic::<A>();
    cfg.clock = if args.virtual_clock {
        ClockMode::Virtual
    } else {
        ClockMode::Real
    };
    if let Some(t) = args.timeout {
        cfg.tdr_timeout = (!t.is_zero()).then_some(t);
    }
    if args.hang_rate > 0.0 && cfg.tdr_timeout.is_none() {
        return Err(
            "--hang-rate needs the TDR on: with --timeout 0 a hung CS never finishes".into(),
        );
    }
    if args.hang_rate > 0.0 && !args.virtual_clock && args.timeout.is_none() {
        return Err(format!(
            "--hang-rate in real time needs --timeout: {}'s own TDR waits {} s per hung CS",
            A::NAME,
            A::LIMITS.cs_timeout.as_secs()
        ));
    }
    let max_jobs = A::LIMITS.max_jobs_per_cs;
    if args.jobs > u64::from(max_jobs) {
        return Err(format!(
            "--jobs {}: {} takes at most {max_jobs} jobs per CS",
            args.jobs,
            A::NAME
        ));
    }
    cfg.reset_on_lockup = !args.no_reset_on_lockup;
    cfg.sim = SimConfig {
        latency: args.latency,
        jitter: args.jitter,
        hang_ppm: ppm(args.hang_rate),
        fault_ppm: ppm(args.fault_rate),
        out_of_order: args.out_of_order,
        seed: args.seed,
        lanes: args.lanes as usize,
        lane_cpu: args.lane_cpu,
        ..SimConfig::default()
    };
    // The trace file is created before the run, so a bad path fails at once, not after it.
    let trace_file = match &args.trace {
        Some(path) => Some(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot create trace file `{}`: {e}", path.display()))?,
        ),
        None => None,
    };
    if args.binning.len() > MAX_FUSE_MASKS {
        return Err(format!(
            "--binning: {} masks, but {} has {} binning rule(s)",
            args.binning.len(),
            A::NAME,
            A::BINNING.len()
        ));
    }
    cfg.fuse_masks[..args.binning.len()].copy_from_slice(&args.binning);
    let trace = trace_file.as_ref().map(|_| Trace::default());
    let device = match &trace {
        Some(trace) => {
            let engines = SimEngines::new(cfg.sim, A::ENGINES.len());
            Device::<A>::with_engines(cfg, TracedEngines::new(engines, trace.clone()))
        }
        None => Device::<A>::new(cfg),
    }
    .map_err(|e| e.to_string())?;
    let ctx = device.open().map_err(|e| e.to_string())?;
    let binned = device.binned_queues();
    let queues: Vec<u32> = A::QUEUES
        .iter()
        .filter(|q| q.accepts_user_jobs() && q.queue_type.has_completion())
        .map(|q| q.id)
        .filter(|id| !binned.contains(id))
        .collect();
    if queues.is_empty() {
        return Err(format!(
            "{} has no queue a user CS can complete on",
            A::NAME
        ));
    }
    let plan = sync_plan::<A>(args.workload, &device, &binned)?;
    let threads = if args.virtual_clock {
        1
    } else {
        args.threads as usize
    };
    let bar = if std::io::stdout().is_terminal() {
        let bar = ProgressBar::new(args.cs);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} CSs ({per_sec}, eta {eta})",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let runner = match cfg.clock {
        ClockMode::Real => Some(Runner::start(&device).map_err(|e| e.to_string())?),
        ClockMode::Virtual => None,
    };
    let virtual_start = device.now();
    let started = Instant::now();
    let tallies: Vec<Result<Tally, String>> = thread::scope(|s| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|id| {
                let share = args.cs / threads as u64 + u64::from(id < args.cs % threads as u64);
                let (device, ctx, queues, bar) = (&device, &ctx, &queues, &bar);
                let (trace, plan) = (trace.as_ref(), plan.as_ref());
                s.spawn(move || submitter(device, ctx, id, share, queues, plan, args, bar, trace))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a submitter panicked".into()))
            })
            .collect()
    });
    let wall = started.elapsed();
    drop(runner);
    bar.finish_and_clear();
    let mut latencies = Vec::new();
    latencies
        .try_reserve_exact(args.cs as usize)
        .map_err(|_| format!("no memory to keep {} latencies", args.cs))?;
    let mut stuck = 0;
    let mut kinds = Kinds::default();
    for tally in tallies {
        let tally = tally?;
        latencies.extend(tally.latencies_ns);
        stuck += tally.stuck;
        kinds.add(&tally.kinds);
    }
    latencies.sort_unstable();
    let virtual_elapsed = device.now().as_nanos() - virtual_start.as_nanos();
    print_summary::<A>(
        args,
        &device,
        threads,
        wall,
        virtual_elapsed,
        &latencies,
        stuck,
        &kinds,
    );
    let stats = device.stats();
    if let (Some(trace), Some(file), Some(path)) = (&trace, trace_file, &args.trace) {
        trace.counters(stats.tdr_fired, stats.resets, device.now().as_nanos());
        write_trace::<A>(trace, file, path, args)?;
    }
    if stats.lifecycle_violations > 0 || stuck > 0 {
        return Err(format!(
            "{} lifecycle violation(s), {stuck} CS(s) never finished",
            stats.lifecycle_violations
        ));
    }
    let sync = device.sync_stats();
    if !sync.is_baseline() {
        return Err(format!(
            "the sync manager did not return to its reserved baseline: {sync:?}"
        ));
    }
    Ok(())
}

/// The next CS of a submitter's chain (sync workloads).
#[derive(Clone, Copy)]
enum Step {
    Default,
    Signal,
    /// A wait (or collective wait) for this signal seq.
    Wait(u64),
}

#[allow(clippy::too_many_arguments)]
fn submitter<A: Asic>(
    device: &Device<A>,
    ctx: &Context<A>,
    id: u64,
    count: u64,
    queues: &[u32],
    plan: Option<&SyncPlan>,
    args: &Args,
    bar: &ProgressBar,
    trace: Option<&Trace>,
) -> Result<Tally, String> {
    let mut rng = XorShift::new(args.seed ^ (id + 1).wrapping_mul(0x9E37_79B9));
    let mut tally = Tally::default();
    tally
        .latencies_ns
        .try_reserve_exact(count as usize)
        .map_err(|_| format!("no memory to keep {count} latencies"))?;
    let cap = (A::LIMITS.max_pending_cs as usize / (2 * args.threads as usize)).max(1);
    let limit = (args.window as usize).min(cap);
    let mut window: VecDeque<(u64, u64)> = VecDeque::with_capacity(limit);
    let mut jobs = Vec::with_capacity(args.jobs as usize);
    let mut step = if plan.is_some() {
        Step::Signal
    } else {
        Step::Default
    };
    let pick = |rng: &mut XorShift, from: &[u32]| from[rng.below(from.len() as u64) as usize];
    for _ in 0..count {
        jobs.clear();
        for _ in 0..1 + rng.below(args.jobs) {
            jobs.push(Job::new(pick(&mut rng, queues)));
        }
        // The queues of this step of the chain, drawn once (a retry submits the same CS).
        let stream_q = plan.map_or(0, |p| pick(&mut rng, &p.stream));
        let master_q = plan
            .filter(|p| !p.masters.is_empty())
            .map_or(0, |p| pick(&mut rng, &p.masters));
        loop {
            let t0 = device.now().as_nanos();
            let submitted = match (step, plan) {
                (Step::Signal, Some(_)) => ctx
                    .submit_signal(&SignalSubmit {
                        timestamp: true,
                        ..SignalSubmit::new(stream_q)
                    })
                    .map(|s| Some(s.seq)),
                (Step::Wait(signal), Some(p)) if args.workload == Workload::Collective => ctx
                    .submit_collective_wait(&CollectiveWaitSubmit {
                        timestamp: true,
                        ..CollectiveWaitSubmit::new(master_q, p.reduction, &[signal])
                    })
                    .map(|w| placed_wait(w, &mut tally.kinds)),
                (Step::Wait(signal), Some(_)) => ctx
                    .submit_wait(&WaitSubmit {
                        timestamp: true,
                        ..WaitSubmit::new(stream_q, &[signal])
                    })
                    .map(|w| placed_wait(w, &mut tally.kinds)),
                _ => ctx.submit(&CsSubmit::new(&jobs).with_timestamp()).map(Some),
            };
            if let (Some(trace), Err(_)) = (trace, &submitted) {
                trace.submit_failed();
            }
            match submitted {
                Ok(seq) => {
                    match (step, seq) {
                        (Step::Default, _) => tally.kinds.default += 1,
                        (Step::Signal, _) => tally.kinds.signal += 1,
                        (Step::Wait(_), None) => tally.kinds.wait_dropped += 1,
                        (Step::Wait(_), Some(_)) if args.workload == Workload::Collective => {
                            tally.kinds.collective += 1;
                        }
                        (Step::Wait(_), Some(_)) => tally.kinds.wait += 1,
                    }
                    match seq {
                        Some(seq) => {
                            if let Some(trace) = trace {
                                trace.submitted(seq, t0);
                            }
                            window.push_back((seq, t0));
                        }
                        // A wait on a signal already done: the driver created no CS.
                        None => bar.inc(1),
                    }
                    step = match (step, args.workload, seq) {
                        (_, Workload::Independent, _) => Step::Default,
                        (Step::Signal, _, Some(seq)) => Step::Wait(seq),
                        (Step::Wait(_), Workload::SignalWait, _) => Step::Default,
                        _ => Step::Signal,
                    };
                    break;
                }
                Err(SubmitError::TooManyInFlight { pending_seq, .. }) => {
                    // Another CS holds the ring slot: wait for it, then retry.
                    let _ = wait_released(device, ctx, pending_seq, args.virtual_clock);
                }
                Err(e) if e.is_try_again() || e.consumed_seq().is_some() => {
                    if e.consumed_seq().is_some() {
                        tally.kinds.refused_after_seq += 1;
                    }
                    // A full queue (or a SOB still in use at a wrap-around): the failed
                    // attempt used a seq (released "not submitted"); make room by finishing
                    // our oldest CS, then retry.
                    match window.pop_front() {
                        Some(oldest) => finish(device, ctx, oldest, &mut tally, args, bar, trace),
                        None => thread::yield_now(),
                    }
                }
                Err(SubmitError::DeviceNotOperational) => recover(device),
                Err(e) => return Err(format!("submit failed: {e}")),
            }
        }
        if window.len() >= limit
            && let Some(oldest) = window.pop_front()
        {
            finish(device, ctx, oldest, &mut tally, args, bar, trace);
        }
    }
    while let Some(oldest) = window.pop_front() {
        finish(device, ctx, oldest, &mut tally, args, bar, trace);
    }
    Ok(tally)
}

/// The seq of a wait CS the driver created; a wait dropped at schedule time, after it took a
/// seq, is counted as such.
fn placed_wait(wait: WaitCs, kinds: &mut Kinds) -> Option<u64> {
    if let WaitCs::SignalDone {
        consumed_seq: Some(_),
    } = wait
    {
        kinds.wait_dropped_late += 1;
    }
    wait.seq()
}

/// A device that needs a reset gets one (the user "releasing" it); otherwise it is mid-reset.
fn recover<A: Asic>(device: &Device<A>) {
    if device.stats().needs_reset {
        device.reset();
    } else {
        thread::yield_now();
    }
}

/// Wait until CS `seq` is released, resetting the device when the TDR fired without
/// `reset_on_lockup` (the user "releasing" it: nothing else would release a hung CS). `Busy`
/// only if nothing pending can ever release it (virtual time).
fn wait_released<A: Asic>(
    device: &Device<A>,
    ctx: &Context<A>,
    seq: u64,
    virtual_clock: bool,
) -> Result<WaitStatus, CsWaitError> {
    let slice = if virtual_clock { FOREVER } else { SLICE };
    loop {
        match ctx.wait_cs(seq, slice, None) {
            Ok(WaitStatus::Busy) if device.stats().needs_reset => device.reset(),
            // Real time: the CS is still running or waits for the TDR, which is on.
            Ok(WaitStatus::Busy) if !virtual_clock => {}
            Err(CsWaitError::DeviceNotOperational) => recover(device),
            other => return other,
        }
    }
}

/// Writes the recorded timeline to `path`.
fn write_trace<A: Asic>(
    trace: &Trace,
    file: std::fs::File,
    path: &std::path::Path,
    args: &Args,
) -> Result<(), String> {
    let mut out = std::io::BufWriter::new(file);
    let clock = if args.virtual_clock {
        "virtual clock"
    } else {
        "CLOCK_MONOTONIC"
    };
    let title = format!("asicgen simulate: {} ({clock})", A::NAME);
    let queue_name = |i: usize| {
        A::QUEUES
            .get(i)
            .and_then(|q| A::QueueId::try_from(q.id).ok())
            .map_or_else(|| format!("queue #{i}"), |q| q.to_string())
    };
    let engine_name = |i: usize| {
        A::ENGINES
            .get(i)
            .and_then(|e| A::EngineId::try_from(e.id).ok())
            .map_or_else(|| format!("engine #{i}"), |e| e.to_string())
    };
    let events = trace
        .write(&mut out, &title, &queue_name, &engine_name)
        .map_err(|e| format!("cannot write trace file `{}`: {e}", path.display()))?;
    println!("  trace          {events} events in {}", path.display());
    Ok(())
}

/// Wait for a CS of ours until it reaches a terminal state.
fn finish<A: Asic>(
    device: &Device<A>,
    ctx: &Context<A>,
    (seq, submitted_ns): (u64, u64),
    tally: &mut Tally,
    args: &Args,
    bar: &ProgressBar,
    trace: Option<&Trace>,
) {
    let status = wait_released(device, ctx, seq, args.virtual_clock);
    if let Some(trace) = trace {
        let now = device.now().as_nanos();
        let (at, outcome) = match &status {
            Ok(WaitStatus::Completed { timestamp, .. }) => {
                (timestamp.map_or(now, |t| t.as_nanos()), "completed")
            }
            Ok(WaitStatus::Busy) => (now, "stuck"),
            Err(CsWaitError::TimedOut { .. }) => (now, "timed_out"),
            Err(CsWaitError::Aborted { .. }) => (now, "aborted"),
            Err(_) => (now, "error"),
        };
        trace.released(seq, at, outcome);
        let stats = device.stats();
        trace.counters(stats.tdr_fired, stats.resets, now);
    }
    match status {
        Ok(WaitStatus::Completed { timestamp, .. }) => {
            if let Some(ts) = timestamp {
                tally
                    .latencies_ns
                    .push(ts.as_nanos().saturating_sub(submitted_ns));
            }
        }
        Ok(WaitStatus::Busy) => tally.stuck += 1,
        Err(_) => {} // timed out or aborted: counted by the device
    }
    bar.inc(1);
}

#[allow(clippy::too_many_arguments)]
fn print_summary<A: Asic>(
    args: &Args,
    device: &Device<A>,
    threads: usize,
    wall: Duration,
    virtual_ns: u64,
    latencies: &[u64],
    stuck: u64,
    kinds: &Kinds,
) {
    let s: DeviceStats = device.stats();
    let mode = if args.virtual_clock {
        "virtual clock"
    } else {
        "real time"
    };
    println!(
        "asicgen simulate: {} CSs on {} ({mode}), {threads} submitter(s), {} engine lane(s)",
        args.cs,
        A::NAME,
        args.lanes
    );
    let binned = device.binned_queues();
    if !binned.is_empty() {
        println!(
            "  binned         {:>10}  queues, by this device's fuse masks",
            binned.len()
        );
    }
    if args.workload != Workload::Independent {
        println!(
            "  CS kinds       signal {}, wait {}, collective wait {}, default {}; {} wait(s) \
             dropped (signal already done, no CS)",
            kinds.signal, kinds.wait, kinds.collective, kinds.default, kinds.wait_dropped
        );
    }
    println!("  completed      {:>10}", s.completed);
    println!("  timed out      {:>10}", s.timed_out);
    println!("  aborted        {:>10}", s.aborted);
    // why: a seq used up by a refused attempt or by a wait dropped at schedule time is
    // released as not submitted; say so, or the count reads as lost work.
    match (kinds.refused_after_seq, kinds.wait_dropped_late) {
        (0, 0) => println!("  not submitted  {:>10}", s.not_submitted),
        (refused, late) => println!(
            "  not submitted  {:>10}  (seqs used up: {refused} by attempts refused and retried, \
             {late} by waits dropped at schedule time)",
            s.not_submitted
        ),
    }
    if stuck > 0 {
        println!("  never finished {stuck:>10}  (nothing pending could release them)");
    }
    if args.virtual_clock {
        // why: a virtual run is a pure function of its options; wall-clock figures would make
        // two identical runs print different summaries.
        println!("  virtual time   {:>10}", format_ns(virtual_ns));
        match virtual_ns {
            0 => println!("  throughput            n/a  (no virtual time passed)"),
            ns => {
                let rate = s.released() as f64 / (ns as f64 / 1e9);
                // A run dominated by TDR timeouts can release less than one CS per second.
                let digits = if rate < 100.0 { 3 } else { 0 };
                println!("  throughput     {rate:>10.digits$} CS/s of virtual time");
            }
        }
    } else {
        let secs = wall.as_secs_f64().max(1e-9);
        println!(
            "  throughput     {:>10.0} CS/s  ({} CSs released in {:.3} s wall)",
            s.released() as f64 / secs,
            s.released(),
            secs
        );
    }
    let pct = |p: usize| {
        latencies.get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
    };
    match (pct(50), pct(99)) {
        (Some(&p50), Some(&p99)) => println!(
            "  latency        p50 {}, p99 {}  (submit to completion timestamp, {} completed CSs)",
            format_ns(p50),
            format_ns(p99),
            latencies.len()
        ),
        _ => println!("  latency        no completed CS"),
    }
    println!(
        "  TDR fired {}, resets {} (engine faults {}, merged requests {}), hung jobs {}",
        s.tdr_fired, s.resets, s.engine_faults, s.resets_merged, s.hangs
    );
    println!("  drop counters  {}", device.counters());
}

fn format_ns(ns: u64) -> String {
    match ns {
        0..1_000 => format!("{ns} ns"),
        1_000..1_000_000 => format!("{:.1} µs", ns as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2} ms", ns as f64 / 1e6),
        _ => format!("{:.3} s", ns as f64 / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse_duration("2ms"), Ok(Duration::from_millis(2)));
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5h").is_err());
        assert_eq!(ppm(0.001), 1000);
        assert_eq!(format_ns(1_500), "1.5 µs");
    }
}
