//! `asicgen simulate`: command submissions on a simulated device, with a progress bar and a
//! summary.

use asicgen_generated::{AsicVisitor, NAMES};
use asicgen_runtime::asic::Asic;
use asicgen_runtime::sim::XorShift;
use asicgen_runtime::{
    ClockMode, ContextId, CsSubmit, CsWaitError, Device, DeviceConfig, DeviceStats, Job, Runner,
    SimConfig, SubmitError, WaitStatus,
};
use clap::builder::PossibleValuesParser;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::VecDeque;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

const CTX: ContextId = ContextId(0);
/// A wait that only a lost completion could exhaust.
const FOREVER: Duration = Duration::from_secs(3600);

/// Options of `asicgen simulate`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The generation to simulate.
    #[arg(long, value_parser = PossibleValuesParser::new(NAMES.iter().copied()))]
    asic: String,
    /// Number of command submissions to run.
    #[arg(long, default_value_t = 100_000)]
    cs: u64,
    /// Submitter threads (real time only; a virtual run has one).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Engine lanes: worker threads that run the engines (engine i on lane i % lanes).
    #[arg(long, default_value_t = 1)]
    lanes: usize,
    /// Pin engine lane i to CPU N+i (modulo the online CPUs), as a driver pins its completion
    /// interrupts. Unpinned by default. A lane worker spins briefly for new work, so on a busy
    /// machine pinning it away from the submitters keeps the two from trading one CPU.
    #[arg(long, value_name = "N")]
    lane_cpu: Option<u16>,
    /// CSs each submitter keeps in flight before it waits for its oldest (capped so that all
    /// submitters together use at most half the context's ring, and a CS is still in the ring
    /// when its submitter waits for it).
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// Jobs per CS: 1 to this many, each on a random queue with its own completion.
    #[arg(long, default_value_t = 1)]
    jobs: u32,
    /// Engine latency per job (`0`, `500ns`, `10us`, `2ms`, `1s`).
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    latency: Duration,
    /// Up to this much extra latency per job, drawn at random.
    #[arg(long, default_value = "0", value_parser = parse_duration)]
    jitter: Duration,
    /// Fraction of jobs that hang (the TDR then times their CS out), e.g. 0.0001.
    #[arg(long, default_value_t = 0.0)]
    hang_rate: f64,
    /// Fraction of jobs that raise an engine error (the device resets), e.g. 0.0001.
    #[arg(long, default_value_t = 0.0)]
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

fn ppm(rate: f64) -> u32 {
    (rate.clamp(0.0, 1.0) * 1_000_000.0).round() as u32
}

/// What one submitter saw.
#[derive(Default)]
struct Tally {
    latencies_ns: Vec<u64>,
    stuck: u64,
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
    cfg.reset_on_lockup = !args.no_reset_on_lockup;
    cfg.sim = SimConfig {
        latency: args.latency,
        jitter: args.jitter,
        hang_ppm: ppm(args.hang_rate),
        fault_ppm: ppm(args.fault_rate),
        out_of_order: args.out_of_order,
        seed: args.seed,
        lanes: args.lanes,
        lane_cpu: args.lane_cpu,
        ..SimConfig::default()
    };
    let device = Device::<A>::new(cfg).map_err(|e| e.to_string())?;
    let queues: Vec<u32> = A::QUEUES
        .iter()
        .filter(|q| q.accepts_user_jobs() && q.queue_type.has_completion())
        .map(|q| q.id)
        .collect();
    if queues.is_empty() {
        return Err(format!(
            "{} has no queue a user CS can complete on",
            A::NAME
        ));
    }
    let threads = if args.virtual_clock {
        1
    } else {
        args.threads.max(1)
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
                let (device, queues, bar) = (&device, &queues, &bar);
                s.spawn(move || submitter(device, id, share, queues, args, bar))
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
    let mut latencies = Vec::with_capacity(args.cs as usize);
    let mut stuck = 0;
    for tally in tallies {
        let tally = tally?;
        latencies.extend(tally.latencies_ns);
        stuck += tally.stuck;
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
    );
    let stats = device.stats();
    if stats.lifecycle_violations > 0 || stuck > 0 {
        return Err(format!(
            "{} lifecycle violation(s), {stuck} CS(s) never finished",
            stats.lifecycle_violations
        ));
    }
    Ok(())
}

fn submitter<A: Asic>(
    device: &Device<A>,
    id: u64,
    count: u64,
    queues: &[u32],
    args: &Args,
    bar: &ProgressBar,
) -> Result<Tally, String> {
    let mut rng = XorShift::new(args.seed ^ (id + 1).wrapping_mul(0x9E37_79B9));
    let mut tally = Tally {
        latencies_ns: Vec::with_capacity(count as usize),
        stuck: 0,
    };
    let cap = (A::LIMITS.max_pending_cs as usize / (2 * args.threads.max(1))).max(1);
    let limit = args.window.clamp(1, cap);
    let mut window: VecDeque<(u64, u64)> = VecDeque::with_capacity(limit);
    let mut jobs = Vec::with_capacity(args.jobs.max(1) as usize);
    for _ in 0..count {
        jobs.clear();
        for _ in 0..1 + rng.below(u64::from(args.jobs.max(1))) {
            jobs.push(Job::new(queues[rng.below(queues.len() as u64) as usize]));
        }
        loop {
            let t0 = device.now().as_nanos();
            match device.submit(CTX, &CsSubmit::new(&jobs).with_timestamp()) {
                Ok(seq) => {
                    window.push_back((seq, t0));
                    break;
                }
                Err(SubmitError::TooManyInFlight { pending_seq, .. }) => {
                    // Another CS holds the ring slot: wait for it, then retry.
                    let _ = device.wait_cs(CTX, pending_seq, FOREVER, None);
                }
                Err(e) if e.is_try_again() || e.consumed_seq().is_some() => {
                    // A full queue: the failed attempt used a seq (released "not submitted");
                    // make room by finishing our oldest CS, then retry.
                    match window.pop_front() {
                        Some(oldest) => finish(device, oldest, &mut tally, bar),
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
            finish(device, oldest, &mut tally, bar);
        }
    }
    while let Some(oldest) = window.pop_front() {
        finish(device, oldest, &mut tally, bar);
    }
    Ok(tally)
}

/// A device that needs a reset gets one (the user "releasing" it); otherwise it is mid-reset.
fn recover<A: Asic>(device: &Device<A>) {
    if device.stats().needs_reset {
        device.reset();
    } else {
        thread::yield_now();
    }
}

/// Wait for a CS of ours until it reaches a terminal state.
fn finish<A: Asic>(
    device: &Device<A>,
    (seq, submitted_ns): (u64, u64),
    tally: &mut Tally,
    bar: &ProgressBar,
) {
    loop {
        match device.wait_cs(CTX, seq, FOREVER, None) {
            Ok(WaitStatus::Completed { timestamp, .. }) => {
                if let Some(ts) = timestamp {
                    tally
                        .latencies_ns
                        .push(ts.as_nanos().saturating_sub(submitted_ns));
                }
            }
            Ok(WaitStatus::Busy) => tally.stuck += 1,
            Err(CsWaitError::DeviceNotOperational) => {
                recover(device);
                continue;
            }
            Err(_) => {} // timed out or aborted: counted by the device
        }
        bar.inc(1);
        return;
    }
}

fn print_summary<A: Asic>(
    args: &Args,
    device: &Device<A>,
    threads: usize,
    wall: Duration,
    virtual_ns: u64,
    latencies: &[u64],
    stuck: u64,
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
    println!("  completed      {:>10}", s.completed);
    println!("  timed out      {:>10}", s.timed_out);
    println!("  aborted        {:>10}", s.aborted);
    println!("  not submitted  {:>10}", s.not_submitted);
    if stuck > 0 {
        println!("  never finished {stuck:>10}  (hung with TDR off)");
    }
    let secs = wall.as_secs_f64().max(1e-9);
    println!(
        "  throughput     {:>10.0} CS/s  ({} CSs released in {:.3} s wall)",
        s.released() as f64 / secs,
        s.released(),
        secs
    );
    if args.virtual_clock {
        println!("  virtual time   {:>10}", format_ns(virtual_ns));
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
        "  TDR fired {}, resets {} (engine faults {}), hung jobs {}",
        s.tdr_fired, s.resets, s.engine_faults, s.hangs
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
