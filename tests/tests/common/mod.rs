//! Helpers shared by the driver tests: devices on the virtual clock and queue pickers that work
//! for any generated `A: Asic`.
#![allow(dead_code)] // each test binary uses its own subset

use asicgen_runtime::asic::{Asic, QueueType};
use asicgen_runtime::scripted::{RunningJobs, Scripted, Step};
use asicgen_runtime::{ClockMode, Context, CsSubmit, Device, DeviceConfig, Job, Runner, Work};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// A virtual-clock device with the spec's defaults, and a context opened on it.
pub fn device<A: Asic>() -> (Device<A>, Context<A>) {
    device_with::<A>(|_| {})
}

/// A virtual-clock device with the spec's defaults changed by `f`, and a context opened on it.
pub fn device_with<A: Asic>(f: impl FnOnce(&mut DeviceConfig)) -> (Device<A>, Context<A>) {
    let mut cfg = DeviceConfig::for_asic::<A>();
    cfg.sim.latency = Duration::from_micros(10);
    f(&mut cfg);
    let d = Device::new(cfg).expect("valid config");
    let ctx = d.open().expect("a free context");
    (d, ctx)
}

/// A virtual-clock device on the scripted backend playing `steps`, changed by `cfg`, a context
/// on it, and the list of the jobs the script holds for a report (`Step::Report`).
pub fn scripted<A: Asic>(
    steps: &[Step],
    cfg: impl FnOnce(&mut DeviceConfig),
) -> (Device<A>, Context<A>, RunningJobs) {
    let script = Scripted::new(steps.to_vec());
    let running = script.running();
    let mut c = DeviceConfig::for_asic::<A>();
    cfg(&mut c);
    let d = Device::<A>::with_engines(c, script).expect("valid config");
    let ctx = d.open().expect("a free context");
    (d, ctx, running)
}

/// A real-clock device whose simulated jobs take `latency`, its workers parking at once (the
/// machine is shared), changed by `f`; with its runner started and a context open.
pub fn real_device<A: Asic>(
    latency: Duration,
    f: impl FnOnce(&mut DeviceConfig),
) -> (Device<A>, Context<A>, Runner) {
    let mut cfg = DeviceConfig::for_asic::<A>();
    cfg.clock = ClockMode::Real;
    cfg.sim.latency = latency;
    cfg.sim.poll_spins = 0;
    f(&mut cfg);
    let d = Device::<A>::new(cfg).expect("valid config");
    let runner = Runner::start(&d).expect("runner");
    let ctx = d.open().expect("a free context");
    (d, ctx, runner)
}

/// Run `f` on a thread; fail if it does not return within `limit` (a hang is a failure, not a
/// stuck run), re-raise its panic.
pub fn within_for<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let h = thread::spawn(move || {
        let v = f();
        let _ = tx.send(v);
    });
    match rx.recv_timeout(limit) {
        Ok(v) => {
            h.join().expect("joined");
            v
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("HANG: did not return within {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => match h.join() {
            Err(p) => std::panic::resume_unwind(p),
            Ok(()) => unreachable!(),
        },
    }
}

/// Run `f` on a thread and hand back a receiver for its result (waiters raced against
/// teardown).
pub fn spawn_waiter<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}

/// `rx`'s value, failing as a hang if `what` does not deliver within `limit`.
pub fn recv_within<T>(rx: &mpsc::Receiver<T>, limit: Duration, what: &str) -> T {
    rx.recv_timeout(limit)
        .unwrap_or_else(|e| panic!("HANG: {what} did not return within {limit:?} ({e:?})"))
}

/// Queues a user may submit to whose jobs report their own completion (external, H/W).
pub fn completing_queues<A: Asic>() -> Vec<u32> {
    A::QUEUES
        .iter()
        .filter(|q| q.accepts_user_jobs() && q.queue_type.has_completion())
        .map(|q| q.id)
        .collect()
}

/// The first queue a plain job can complete on.
pub fn completing_queue<A: Asic>() -> u32 {
    completing_queues::<A>()[0]
}

/// Two completing queues on different engines.
pub fn two_engines<A: Asic>() -> (u32, u32) {
    let qs: Vec<_> = A::QUEUES
        .iter()
        .filter(|q| q.accepts_user_jobs() && q.queue_type.has_completion())
        .collect();
    let a = qs[0];
    let b = qs
        .iter()
        .find(|q| q.engine != a.engine)
        .expect("two engines with completing queues");
    (a.id, b.id)
}

/// An internal queue a user may submit to.
pub fn internal_queue<A: Asic>() -> Option<u32> {
    A::QUEUES
        .iter()
        .find(|q| q.accepts_user_jobs() && q.queue_type == QueueType::Internal)
        .map(|q| q.id)
}

/// Two external queues with their completion queues, in id order.
pub fn two_external<A: Asic>() -> Option<((u32, u32), (u32, u32))> {
    let mut ext = A::QUEUES
        .iter()
        .filter(|q| q.accepts_user_jobs() && q.queue_type == QueueType::External)
        .filter_map(|q| q.cq.map(|cq| (q.id, cq)));
    Some((ext.next()?, ext.next()?))
}

/// Submit one job on `queue` doing `work`; returns its seq.
pub fn submit_one<A: Asic>(ctx: &Context<A>, queue: u32, work: Work) -> u64 {
    ctx.submit(&CsSubmit::new(&[Job::new(queue).with_work(work)]))
        .expect("submitted")
}

/// The spec's TDR timeout.
pub fn tdr<A: Asic>() -> Duration {
    A::LIMITS.cs_timeout
}

/// Run each rule (a generic fn taking `A: Asic`) for every generation in `specs/`, through the
/// registry of `asicgen-generated`: a new spec is tested with no list to edit. Every generation
/// runs even when one fails; the test then names the ones that failed.
#[macro_export]
macro_rules! for_each_asic {
    ($($rule:ident),* $(,)?) => {
        $(
            mod $rule {
                struct Rule;

                impl asicgen_generated::AsicVisitor for Rule {
                    type Output = ();
                    fn visit<A: asicgen_runtime::asic::Asic>(self) {
                        super::$rule::<A>();
                    }
                }

                #[test]
                fn every_generation() {
                    let failed: Vec<&str> = asicgen_generated::NAMES
                        .iter()
                        .copied()
                        .filter(|name| {
                            std::panic::catch_unwind(|| asicgen_generated::visit(name, Rule))
                                .is_err()
                        })
                        .collect();
                    assert!(
                        failed.is_empty(),
                        "{} failed for {failed:?} (see the panics above)",
                        stringify!($rule)
                    );
                }
            }
        )*
    };
}
