//! CS submit -> complete throughput and round-trip latency on the simulated device, side by side
//! with a straightforward `Arc<Mutex<_>> + Condvar` implementation of the same lifecycle (the
//! dma-fence-copy style the habanalabs maintainers moved away from), in one run.
//!
//! Both sides: one submitter thread, one engine thread running zero-latency jobs, Gaudi's
//! generated lifecycle (`A::transition` / `A::outcome`), a pending ring of `max_pending_cs`
//! fences with "try again" when a slot is busy, and waits on the CS fence.
//!
//! - `throughput/*`: 10,000 CSs per iteration with up to 32 in flight (the submitter waits for
//!   its oldest CS when 32 are outstanding).
//! - `round_trip/*`: one CS at a time, submit then wait.
//!
//! `cargo bench -p asicgen-tests --bench cs_throughput`

use asicgen_generated::gaudi::Gaudi;
use asicgen_runtime::asic::{Asic, CsEvent};
use asicgen_runtime::{
    ClockMode, ContextId, CsSubmit, Device, DeviceConfig, Job, Outcome, Runner, SimConfig,
    WaitStatus,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const BATCH: u64 = 10_000;
const WINDOW: usize = 32;
const CTX: ContextId = ContextId(0);
const FOREVER: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// The baseline: every CS is an `Arc` holding a mutex-protected state and a condvar; the device
// is a mutex-protected job queue with a condvar the engine thread sleeps on.

type State = <Gaudi as Asic>::CsState;

struct BaselineCs {
    seq: u64,
    state: Mutex<(State, Option<Outcome>)>,
    done: Condvar,
}

impl BaselineCs {
    fn fire(&self, event: CsEvent) {
        let mut st = self.state.lock().expect("cs lock");
        st.0 = Gaudi::next_state(st.0, event);
        if let Some(outcome) = Gaudi::outcome(st.0) {
            st.1 = Some(outcome);
            self.done.notify_all();
        }
    }

    fn wait(&self) -> Outcome {
        let mut st = self.state.lock().expect("cs lock");
        loop {
            if let Some(outcome) = st.1 {
                return outcome;
            }
            st = self.done.wait(st).expect("cs lock");
        }
    }

    fn is_done(&self) -> bool {
        self.state.lock().expect("cs lock").1.is_some()
    }
}

struct BaselineShared {
    queue: Mutex<(VecDeque<Arc<BaselineCs>>, bool)>,
    work: Condvar,
    /// The context's pending ring.
    ring: Mutex<(u64, Vec<Option<Arc<BaselineCs>>>)>,
}

struct Baseline {
    shared: Arc<BaselineShared>,
    engine: Option<JoinHandle<()>>,
}

impl Baseline {
    fn new() -> Baseline {
        let n = Gaudi::LIMITS.max_pending_cs as usize;
        let shared = Arc::new(BaselineShared {
            queue: Mutex::new((VecDeque::new(), false)),
            work: Condvar::new(),
            ring: Mutex::new((1, vec![None; n])),
        });
        let s = Arc::clone(&shared);
        let engine = thread::spawn(move || {
            loop {
                let cs = {
                    let mut q = s.queue.lock().expect("queue lock");
                    loop {
                        if let Some(cs) = q.0.pop_front() {
                            break cs;
                        }
                        if q.1 {
                            return;
                        }
                        q = s.work.wait(q).expect("queue lock");
                    }
                };
                cs.fire(CsEvent::JobsDone);
            }
        });
        Baseline {
            shared,
            engine: Some(engine),
        }
    }

    /// `Err(pending)` when the ring slot is busy.
    fn submit(&self) -> Result<Arc<BaselineCs>, Arc<BaselineCs>> {
        let cs = {
            let mut ring = self.shared.ring.lock().expect("ring lock");
            let seq = ring.0;
            let slot = seq as usize & (ring.1.len() - 1);
            if let Some(old) = &ring.1[slot]
                && !old.is_done()
            {
                return Err(Arc::clone(old));
            }
            let cs = Arc::new(BaselineCs {
                seq,
                state: Mutex::new((Gaudi::INITIAL_STATE, None)),
                done: Condvar::new(),
            });
            ring.1[slot] = Some(Arc::clone(&cs));
            ring.0 += 1;
            cs
        };
        cs.fire(CsEvent::Submit);
        self.shared
            .queue
            .lock()
            .expect("queue lock")
            .0
            .push_back(Arc::clone(&cs));
        self.shared.work.notify_one();
        Ok(cs)
    }

    fn submit_retrying(&self) -> Arc<BaselineCs> {
        loop {
            match self.submit() {
                Ok(cs) => return cs,
                Err(pending) => {
                    pending.wait();
                }
            }
        }
    }
}

impl Drop for Baseline {
    fn drop(&mut self) {
        self.shared.queue.lock().expect("queue lock").1 = true;
        self.shared.work.notify_all();
        if let Some(engine) = self.engine.take() {
            let _ = engine.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// asicgen: the runtime's Device on real threads.

fn device() -> (Device<Gaudi>, Runner) {
    let mut cfg = DeviceConfig::for_asic::<Gaudi>();
    cfg.clock = ClockMode::Real;
    cfg.sim = SimConfig {
        latency: Duration::ZERO,
        lanes: 1,
        ..SimConfig::default()
    };
    let d = Device::<Gaudi>::new(cfg).expect("config");
    let runner = Runner::start(&d).expect("threads");
    (d, runner)
}

fn wait(d: &Device<Gaudi>, seq: u64) {
    let status = d.wait_cs(CTX, seq, FOREVER, None);
    assert!(
        matches!(status, Ok(WaitStatus::Completed { .. })),
        "{status:?}"
    );
}

fn submit(d: &Device<Gaudi>, cs: &CsSubmit<'_>) -> u64 {
    loop {
        match d.submit(CTX, cs) {
            Ok(seq) => return seq,
            Err(asicgen_runtime::SubmitError::TooManyInFlight { pending_seq, .. }) => {
                let _ = d.wait_cs(CTX, pending_seq, FOREVER, None);
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn benches(c: &mut Criterion) {
    let queue: u32 = <Gaudi as Asic>::QUEUES
        .iter()
        .find(|q| q.accepts_user_jobs() && q.queue_type.has_completion())
        .map(|q| q.id)
        .expect("a completing queue");
    let jobs = [Job::new(queue)];
    let cs = CsSubmit::new(&jobs);

    let mut g = c.benchmark_group("throughput");
    g.throughput(Throughput::Elements(BATCH));
    {
        let (d, _runner) = device();
        g.bench_function("asicgen", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let mut window = VecDeque::with_capacity(WINDOW);
                    for _ in 0..BATCH {
                        window.push_back(submit(&d, &cs));
                        if window.len() == WINDOW
                            && let Some(seq) = window.pop_front()
                        {
                            wait(&d, seq);
                        }
                    }
                    for seq in window {
                        wait(&d, seq);
                    }
                }
                start.elapsed()
            });
        });
    }
    {
        let base = Baseline::new();
        g.bench_function("mutex_condvar_baseline", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    let mut window = VecDeque::with_capacity(WINDOW);
                    for _ in 0..BATCH {
                        window.push_back(base.submit_retrying());
                        if window.len() == WINDOW
                            && let Some(cs) = window.pop_front()
                        {
                            black_box(cs.wait());
                        }
                    }
                    for cs in window {
                        black_box((cs.seq, cs.wait()));
                    }
                }
                start.elapsed()
            });
        });
    }
    g.finish();

    let mut g = c.benchmark_group("round_trip");
    {
        let (d, _runner) = device();
        g.bench_function("asicgen", |b| {
            b.iter(|| wait(&d, submit(&d, &cs)));
        });
    }
    {
        let base = Baseline::new();
        g.bench_function("mutex_condvar_baseline", |b| {
            b.iter(|| black_box(base.submit_retrying().wait()));
        });
    }
    g.finish();
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
