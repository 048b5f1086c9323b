//! Real-time mode: one worker thread per engine lane and a TDR thread.
//!
//! A worker takes the completion lock, takes over what submitters handed over, completes every
//! job of its lane that is due (up to a batch, so it never holds the lock long), drops the lock,
//! signals the fences, and goes again; with
//! nothing due it spins briefly on its lane's "jobs pushed" counter and then parks until its next
//! due time. Submitters unpark it only when a new job comes due before that (an `unpark` of a
//! thread that is not parked is one atomic swap). Once a push is seen the worker coalesces, as
//! an interrupt controller would: it keeps spinning while pushes keep arriving and takes the lock
//! after 32 of them, after a short quiet spell, or as soon as a thread waits in `wait_cs`, so
//! a stream of submissions is completed in batches instead of one lock hold per CS.
//!
//! Workers run in the `SCHED_BATCH` class, so a submitter that wakes one on its own CPU keeps
//! that CPU (a doorbell does not stop the driver that rings it), and a waiter that finds its
//! worker on its own CPU completes what is due itself instead of sleeping until the worker runs
//! (`Core::poll_engines`). Together they take a pipeline that shares one CPU from a context
//! switch every three CSs to almost none (BENCHMARKS.md).
//!
//! The TDR thread parks until the armed deadline, or one device TDR period when nothing is
//! armed; arming an earlier deadline unparks it.

use crate::asic::Asic;
use crate::driver::config::ClockMode;
use crate::driver::core::{Core, ThreadSlot};
use crate::driver::effects::Effects;
use crate::driver::hw_queues::tdr_ns;
use crate::sync::channel::Doorbell;
use crate::sync::spin::{SpinBudget, spin_for};
use std::fmt;
use std::sync::atomic::Ordering;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Jobs a worker completes per lock hold.
const BATCH: usize = 256;
/// Pushed jobs after which a coalescing worker drains (see `coalesce`).
const COALESCE_JOBS: u64 = 8;
/// Spins without a new push after which a coalescing worker drains.
const COALESCE_QUIET: u32 = 8;
/// Longest park after a barrier that could not be trusted (`membarrier.rs`).
const UNTRUSTED_PARK_NS: u64 = 1_000_000;
/// Pauses between two looks at the doorbell while spinning. Every look pulls the doorbell's
/// cache line away from the submitter, whose next push then waits for it; looking every ~200 ns
/// instead of every pause lets a stream of pushes hit a line the submitter still owns.
const PAUSES_PER_LOOK: u32 = 8;
/// Due times closer than this are waited for by yielding rather than parking (a timed park
/// costs tens of microseconds of timer slack).
const YIELD_BELOW_NS: u64 = 50_000;
/// How long a worker spins for pushes from a submitter on another CPU before it sleeps: longer
/// than a futex wake-up of the submitter on a virtual machine (tens of µs; `spin.rs`).
const CROSS_CPU_SPIN: Duration = Duration::from_micros(100);

/// Why [`Runner::start`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunnerError {
    /// The device runs on the virtual clock; drive it with `advance` instead.
    VirtualClock,
    /// A [`Runner`] for this device is running (stop it first).
    AlreadyStarted,
    /// The OS refused to start a thread.
    Spawn,
    /// The device was torn down (its last handle dropped).
    DeviceGone,
    /// A lane worker could not be pinned to its CPU (`SimConfig::lane_cpu`).
    Affinity {
        /// The CPU it was to run on.
        cpu: usize,
    },
}

impl fmt::Display for RunnerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunnerError::VirtualClock => "a virtual-clock device has no threads to run",
            RunnerError::AlreadyStarted => "the device's threads are already running",
            RunnerError::Spawn => "could not start a device thread",
            RunnerError::DeviceGone => "the device was torn down",
            RunnerError::Affinity { cpu } => {
                return write!(f, "could not pin an engine lane to CPU {cpu}");
            }
        })
    }
}

impl std::error::Error for RunnerError {}

/// The running engine and TDR threads of a real-time device; stops and joins them on drop,
/// after which the device can be given a new `Runner`.
pub struct Runner {
    device: Box<dyn Threads>,
    threads: Vec<JoinHandle<()>>,
}

/// What a [`Runner`] needs of its device, without its generation in the type.
trait Threads: Send + Sync {
    /// Ask every thread to stop and wake them.
    fn shutdown(&self);
    /// Every thread has been joined: forget them, so threads can be started again.
    fn stopped(&self);
    /// Roll back whatever is still in flight.
    fn engines_stopped(&self);
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("threads", &self.threads.len())
            .finish()
    }
}

impl Runner {
    /// Start the threads of `device` (see [`Runner::start`](Runner::start), in `device.rs`).
    pub(crate) fn start_core<A: Asic>(device: &Core<A>) -> Result<Runner, RunnerError> {
        if device.shared.handoff_ref().is_dead() {
            return Err(RunnerError::DeviceGone);
        }
        if device.config().clock != ClockMode::Real {
            return Err(RunnerError::VirtualClock);
        }
        let wakers = &device.shared.wakers;
        if wakers.started.swap(true, Ordering::AcqRel) {
            return Err(RunnerError::AlreadyStarted);
        }
        // Dropped on any early return below: stops and joins what was started, and the device
        // can be started again.
        let mut runner = Runner {
            device: Box::new(device.clone()),
            threads: Vec::new(),
        };
        for lane in 0..wakers.lanes.len() {
            let d = device.clone();
            let handle = thread::Builder::new()
                .name(format!("{}-lane{lane}", A::NAME.to_lowercase()))
                .spawn(move || d.lane_worker(lane))
                .map_err(|_| RunnerError::Spawn)?;
            register(&wakers.lanes[lane], &handle);
            runner.threads.push(handle);
        }
        let d = device.clone();
        let handle = thread::Builder::new()
            .name(format!("{}-tdr", A::NAME.to_lowercase()))
            .spawn(move || d.tdr_worker())
            .map_err(|_| RunnerError::Spawn)?;
        register(&wakers.tdr, &handle);
        runner.threads.push(handle);
        // why: return only once every thread runs, so the threads' own start-up (the OS thread,
        // its name, its stack guard) is over before the first CS; a submitter and a spinning
        // worker could otherwise keep a late thread off the CPU until well into the workload.
        let threads = runner.threads.len() as u32;
        while wakers.running.load(Ordering::Acquire) < threads {
            thread::yield_now();
        }
        let unpinned = wakers.unpinned.load(Ordering::Acquire);
        if unpinned != usize::MAX {
            runner.join();
            return Err(RunnerError::Affinity { cpu: unpinned });
        }
        device.shared.handoff_ref().resume();
        Ok(runner)
    }

    /// Stop the threads and wait for them. Every CS still in flight is then rolled back
    /// (outcome aborted): with the engines stopped nothing would ever complete it, and its
    /// waiters must return.
    pub fn stop(mut self) {
        self.join();
    }

    fn join(&mut self) {
        self.device.shutdown();
        for t in self.threads.drain(..) {
            // why: a worker only panics on a debug lifecycle assertion, already reported.
            let _ = t.join();
        }
        self.device.stopped();
        self.device.engines_stopped();
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.join();
    }
}

fn register(slot: &ThreadSlot, handle: &JoinHandle<()>) {
    slot.set(Some(handle.thread().clone()));
    // The thread may have parked before its handle was registered: wake it once to re-check.
    handle.thread().unpark();
}

impl<A: Asic> Threads for Core<A> {
    fn shutdown(&self) {
        self.stop_threads();
    }

    fn engines_stopped(&self) {
        Core::engines_stopped(self);
    }

    fn stopped(&self) {
        let w = &self.shared.wakers;
        for slot in w.lanes.iter() {
            slot.set(None);
        }
        w.tdr.set(None);
        w.running.store(0, Ordering::Relaxed);
        w.unpinned.store(usize::MAX, Ordering::Relaxed);
        w.shutdown.store(false, Ordering::Relaxed);
        // Release: a later `start` that sees `false` sees the reset fields above.
        w.started.store(false, Ordering::Release);
    }
}

impl<A: Asic> Core<A> {
    fn shutting_down(&self) -> bool {
        self.shared.wakers.shutdown.load(Ordering::Acquire)
    }

    fn lane_worker(&self, lane: usize) {
        let wakers = &self.shared.wakers;
        if let Some(first) = self.config().lane_cpu {
            let cpu = (usize::from(first) + lane) % crate::sim::online_cpus();
            if crate::sim::pin_current_thread(cpu).is_err() {
                wakers.unpinned.store(cpu, Ordering::Release);
            }
        }
        // why: a doorbell does not take the CPU from the driver that rings it, and neither
        // should the wake-up of a simulated engine: as a normal thread, a worker woken by a
        // submitter on its own CPU preempted it at once, ran one CS and slept again, two context
        // switches per CS (0.33 per CS measured in a same-CPU pipeline, 0.06 as a batch thread;
        // BENCHMARKS.md). It still gets its share of the CPU, and all of an idle one. A refusal
        // (a sandbox that filters the call) only costs that speed.
        let _ = crate::sim::into_batch_class();
        wakers.running.fetch_add(1, Ordering::Release);
        let budget = SpinBudget::new(self.config().poll_spins);
        let handoff = self.shared.handoff_ref();
        let pushed = &handoff.lane_pushed[lane];
        let sleep = &handoff.lane_sleep[lane];
        let mut fx = Effects::with_capacity(BATCH);
        while !self.shutting_down() {
            sleep.awake();
            let seen = pushed.rings();
            let mut out = self.defer_with(fx);
            let (done, next_due, now) = self.lock().run_lane(lane, BATCH, &mut out);
            fx = out.finish();
            if done > 0 {
                handoff.progress.bump();
                continue;
            }
            let wait = next_due.map(|due| due.saturating_sub(now));
            if wait.is_some_and(|ns| ns < YIELD_BELOW_NS) {
                thread::yield_now();
                continue;
            }
            let mine = handoff.worker_cpu[lane].note();
            let (spins, mut spun) = (budget.get(), 0);
            if handoff.submitter_cpu.elsewhere(mine) && spins > 0 {
                // why: the submitter runs on another CPU, so spinning costs it nothing, and a
                // spin that outlasts its wake-up keeps both sides out of the futex (`spin.rs`).
                if spin_for(CROSS_CPU_SPIN, || {
                    pushed.rings() != seen || self.shutting_down()
                }) {
                    spun = 1;
                }
            } else {
                while spun < spins && pushed.rings() == seen && !self.shutting_down() {
                    pause(PAUSES_PER_LOOK);
                    spun += PAUSES_PER_LOOK;
                }
            }
            if pushed.rings() != seen {
                // why: spin only once it pays (a submitter on another CPU), and coalesce only
                // then: a coalescing spin on the submitter's own CPU waits for pushes that
                // cannot come until it stops.
                if spun > 0 {
                    budget.paid_off();
                }
                if budget.is_paying() {
                    self.coalesce(pushed, seen);
                }
                continue;
            }
            budget.wasted();
            // Going to sleep: say until when, then look once more (`handshake.rs`: either we
            // see a job pushed meanwhile, or its submitter sees us asleep and unparks us). The
            // fence runs before the lock is taken, so nobody waits for its IPIs. Jobs another
            // thread moved into our heap meanwhile count too.
            let trusted = sleep.announce_sleep(next_due.unwrap_or(u64::MAX));
            let more = {
                let st = self.lock();
                st.has_handed_over() || st.next_due(lane) != next_due
            };
            if more {
                continue;
            }
            // why: a barrier that could not be trusted may have missed a submission; sleep a
            // bounded while instead of until woken.
            let wait = if trusted {
                wait
            } else {
                Some(wait.map_or(UNTRUSTED_PARK_NS, |ns| ns.min(UNTRUSTED_PARK_NS)))
            };
            match wait {
                Some(ns) => thread::park_timeout(Duration::from_nanos(ns)),
                None => thread::park(),
            }
        }
    }

    /// Interrupt coalescing: new jobs were pushed since `seen`; keep spinning while more arrive,
    /// so one completion-lock hold and one pass over the rings serve a batch rather than one
    /// job. Drain once `COALESCE_JOBS` were pushed, the pushes go quiet for `COALESCE_QUIET`
    /// looks, or somebody waits for a CS.
    fn coalesce(&self, pushed: &Doorbell, seen: u64) {
        let waiting = &self.shared.wakers.waiting.0;
        let mut last = pushed.rings();
        let mut quiet = 0;
        while last.wrapping_sub(seen) < COALESCE_JOBS
            && quiet < COALESCE_QUIET
            && waiting.load(Ordering::Relaxed) == 0
        {
            pause(PAUSES_PER_LOOK);
            let now = pushed.rings();
            if now == last {
                quiet += 1;
            } else {
                last = now;
                quiet = 0;
            }
        }
    }

    fn tdr_worker(&self) {
        self.shared.wakers.running.fetch_add(1, Ordering::Release);
        while !self.shutting_down() {
            let mut out = self.defer();
            let wait = {
                let mut st = self.lock();
                // A CS handed over to an empty mirror list arms the timer here at the latest.
                st.drain(&mut out);
                st.tdr_sleep_until = 0;
                let now = st.now();
                if st.tdr.is_some_and(|a| a.deadline <= now) {
                    st.fire_tdr(&mut out);
                }
                // why: with nothing armed, sleep one device TDR period rather than until woken.
                // A CS armed later has a deadline at least that far off, so arming it needs no
                // wake-up; sleeping "until woken" instead cost a wake-up (and, on a shared CPU,
                // three context switches) every time the mirror list ran empty and filled again,
                // once per batch in a pipeline (BENCHMARKS.md). Only a shorter per-CS timeout
                // wakes the thread early. (A zero period would make this a busy loop; a CS
                // armed with it wakes the thread as before.)
                let idle = tdr_ns(self.config().tdr_timeout)
                    .filter(|&t| t > 0)
                    .map(|t| now.saturating_add(t));
                let next = st.tdr.map(|a| a.deadline).or(idle);
                st.tdr_sleep_until = next.unwrap_or(u64::MAX);
                next.map(|d| d.saturating_sub(now))
            };
            drop(out);
            match wait {
                Some(0) => {}
                Some(ns) => thread::park_timeout(Duration::from_nanos(ns)),
                None => thread::park(),
            }
        }
    }
}

/// `n` spin-loop hints in a row.
fn pause(n: u32) {
    for _ in 0..n {
        std::hint::spin_loop();
    }
}
