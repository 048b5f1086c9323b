//! A chain of CSs across two queues of Gaudi's simulated device, each step after the one
//! before, linked two ways in one run:
//!
//! - `signal_wait`: the driver's way (§5). Step i is a signal CS on queue `q[i % 2]` (its job
//!   runs, then adds 1 to the queue's SOB); a wait CS for it on the other queue holds that
//!   queue until the signal ran, so step i + 1, submitted right behind the wait, runs after
//!   step i. The host submits the whole chain at once and waits only for the last step:
//!   2N - 1 CSs, one host wait.
//! - `host_round_trip`: step i is a default CS on queue `q[i % 2]`; the host waits for it before
//!   it submits step i + 1: N CSs, N host waits.
//!
//! Both run on real threads (one engine lane, the bench's thread submitting), every job with
//! the same simulated latency. Criterion measures each chain length; `interleaved` then
//! alternates the two in rounds and prints the medians and the median ratio, the figure to
//! quote on a shared machine (see BENCHMARKS.md).
//!
//! `cargo bench -p asicgen-tests --bench sync_chain`

use asicgen_generated::gaudi::Gaudi;
use asicgen_runtime::asic::Asic;
use asicgen_runtime::{
    ClockMode, Context, CsSubmit, Device, DeviceConfig, Job, Runner, SignalSubmit, SimConfig,
    WaitCs, WaitStatus, WaitSubmit,
};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::time::{Duration, Instant};

const FOREVER: Duration = Duration::from_secs(60);
/// Simulated engine time per job.
const LATENCY: Duration = Duration::from_micros(5);

fn device() -> (Device<Gaudi>, Context<Gaudi>, Runner) {
    let mut cfg = DeviceConfig::for_asic::<Gaudi>();
    cfg.clock = ClockMode::Real;
    cfg.sim = SimConfig {
        latency: LATENCY,
        lanes: 1,
        ..SimConfig::default()
    };
    let d = Device::<Gaudi>::new(cfg).expect("config");
    let ctx = d.open().expect("a free context");
    let runner = Runner::start(&d).expect("threads");
    (d, ctx, runner)
}

/// Two sync-stream queues on different engines.
fn queues() -> [u32; 2] {
    let qs: Vec<_> = <Gaudi as Asic>::QUEUES
        .iter()
        .filter(|q| q.supports_sync_stream && q.accepts_user_jobs())
        .collect();
    let b = qs
        .iter()
        .find(|q| q.engine != qs[0].engine)
        .expect("two engines");
    [qs[0].id, b.id]
}

fn wait(ctx: &Context<Gaudi>, seq: u64) {
    let status = ctx.wait_cs(seq, FOREVER, None);
    assert!(
        matches!(status, Ok(WaitStatus::Completed { .. })),
        "{status:?}"
    );
}

/// The chain linked by signal/wait CSs; returns when its last step completed.
fn signal_wait(ctx: &Context<Gaudi>, q: [u32; 2], n: usize) {
    let mut last = 0;
    for i in 0..n {
        let s = ctx
            .submit_signal(&SignalSubmit::new(q[i % 2]))
            .expect("signal");
        last = s.seq;
        if i + 1 < n {
            let w = ctx
                .submit_wait(&WaitSubmit::new(q[(i + 1) % 2], &[s.seq]))
                .expect("wait");
            assert!(matches!(
                w,
                WaitCs::Submitted { .. } | WaitCs::SignalDone { .. }
            ));
        }
    }
    wait(ctx, last);
}

/// The chain linked by the host: submit, wait, submit the next.
fn host_round_trip(ctx: &Context<Gaudi>, q: [u32; 2], n: usize) {
    for i in 0..n {
        let jobs = [Job::new(q[i % 2])];
        let seq = ctx.submit(&CsSubmit::new(&jobs)).expect("submit");
        wait(ctx, seq);
    }
}

fn benches(c: &mut Criterion) {
    let q = queues();
    let (d, ctx, runner) = device();
    let mut g = c.benchmark_group("sync_chain");
    for n in [8usize, 64] {
        g.bench_with_input(BenchmarkId::new("signal_wait", n), &n, |b, &n| {
            b.iter(|| signal_wait(&ctx, q, n));
        });
        g.bench_with_input(BenchmarkId::new("host_round_trip", n), &n, |b, &n| {
            b.iter(|| host_round_trip(&ctx, q, n));
        });
    }
    g.finish();
    assert!(d.sync_stats().is_baseline());
    drop(runner);
    interleaved(q, 64);
}

/// Alternate the two variants in rounds; print per-chain medians and the median ratio.
fn interleaved(q: [u32; 2], n: usize) {
    const ROUNDS: usize = 15;
    const CHAINS: usize = 200;
    let (_d, ctx, runner) = device();
    let time = |f: &dyn Fn()| {
        let t = Instant::now();
        for _ in 0..CHAINS {
            f();
        }
        t.elapsed().as_secs_f64() / CHAINS as f64
    };
    let sw = || signal_wait(&ctx, q, n);
    let rt = || host_round_trip(&ctx, q, n);
    sw();
    rt();
    let (mut a, mut b, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (x, y) = if round % 2 == 0 {
            let x = time(&sw);
            (x, time(&rt))
        } else {
            let y = time(&rt);
            (time(&sw), y)
        };
        a.push(x);
        b.push(y);
        r.push(y / x);
    }
    drop(runner);
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (ma, mb, mr) = (median(&mut a), median(&mut b), median(&mut r));
    println!(
        "interleaved/chain of {n}: signal_wait {:.1} µs, host_round_trip {:.1} µs per chain; \
         round trip / signal-wait median {mr:.2}x (min {:.2}x, max {:.2}x; {ROUNDS} rounds of \
         {CHAINS} chains each side, {} µs engine latency per job)",
        ma * 1e6,
        mb * 1e6,
        r[0],
        r[ROUNDS - 1],
        LATENCY.as_micros()
    );
}

criterion_group! {
    name = sync_chain;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(sync_chain);
