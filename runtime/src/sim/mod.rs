//! The simulated device: engines that run jobs with a latency, and can hang, fault or finish out
//! of order, on a virtual clock (deterministic tests) or on real threads (demo, benchmarks).
//!
//! A job written to a queue becomes a `SimJob` with a due time on its engine's *lane* (a
//! min-heap by due time). In virtual mode nothing runs by itself: the caller advances the clock
//! ([`Device::advance`](crate::device::Device::advance), or a wait with a timeout), and due jobs
//! and TDR expiries are processed in time order, one per device-lock hold. In real mode each lane
//! has a worker thread that sleeps until its next due job, and a TDR thread sleeps until the armed
//! deadline ([`Runner`]).
//!
//! Randomness comes from one [`XorShift`] seeded by [`SimConfig::seed`] and drawn under the
//! device lock, so a virtual run is a pure function of its seed and its inputs.

mod rng;
mod runner;

pub use rng::XorShift;
pub use runner::{Runner, RunnerError};

use std::cmp::Ordering;
use std::time::Duration;

/// Where the device's time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ClockMode {
    /// A virtual clock that only moves when the caller advances it; no threads, no sleeps.
    #[default]
    Virtual,
    /// `CLOCK_MONOTONIC`; jobs and the TDR run on threads started with [`Runner::start`].
    Real,
}

/// How the simulated engines behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SimConfig {
    /// Base latency of a job.
    pub latency: Duration,
    /// Up to this much extra latency, drawn per job.
    pub jitter: Duration,
    /// Chance, in parts per million, that a [`Work::Default`](crate::submit::Work) job hangs.
    pub hang_ppm: u32,
    /// Chance, in parts per million, that a default job raises an engine error.
    pub fault_ppm: u32,
    /// Jobs of one engine overlap (each finishes `latency + jitter` after it was written)
    /// instead of running one after the other; with jitter, CSs then complete out of order.
    pub out_of_order: bool,
    /// Seed of the pseudo-random draws.
    pub seed: u64,
    /// Engine lanes: worker threads in real mode. Engine `i` runs on lane `i % lanes`.
    pub lanes: usize,
    /// Real mode: how many times an idle worker re-checks for new work (spinning) before it
    /// parks; interrupt coalescing in miniature. 0 parks at once.
    pub poll_spins: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            latency: Duration::from_micros(10),
            jitter: Duration::ZERO,
            hang_ppm: 0,
            fault_ppm: 0,
            out_of_order: false,
            seed: 1,
            lanes: 1,
            poll_spins: 2000,
        }
    }
}

/// What a simulated job does when it comes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobEnd {
    /// Completes normally.
    Complete,
    /// Raises an engine error.
    Fault,
}

/// A job on an engine lane.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SimJob {
    /// Device-clock ns at which it finishes.
    pub(crate) due: u64,
    /// Tie-break: submission order (keeps equal due times deterministic).
    pub(crate) order: u64,
    /// Record index of its CS.
    pub(crate) record: u32,
    /// Seq of its CS (a stale job after a reset is recognised by a seq mismatch).
    pub(crate) seq: u64,
    /// Position of its queue in `A::QUEUES`.
    pub(crate) queue: u16,
    /// Position of its engine in `A::ENGINES`, if the queue has one.
    pub(crate) engine: Option<u16>,
    /// The job reports its own completion (external and H/W queues).
    pub(crate) completes: bool,
    pub(crate) end: JobEnd,
}

impl PartialEq for SimJob {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}

impl Eq for SimJob {}

impl PartialOrd for SimJob {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SimJob {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest job first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.order).cmp(&(self.due, self.order))
    }
}

/// Whether a job comes due `latency` after `now`, never, or faults.
pub(crate) enum Drawn {
    Run { latency: u64, end: JobEnd },
    Hang,
}

/// Decide what a job does, from its [`Work`](crate::submit::Work) and the configuration.
pub(crate) fn draw(work: crate::submit::Work, cfg: &SimConfig, rng: &mut XorShift) -> Drawn {
    use crate::submit::Work;
    let base = duration_ns(cfg.latency);
    let jitter = |rng: &mut XorShift| rng.below(duration_ns(cfg.jitter).saturating_add(1));
    match work {
        Work::Run(d) => Drawn::Run {
            latency: duration_ns(d),
            end: JobEnd::Complete,
        },
        Work::Hang => Drawn::Hang,
        Work::Fault => Drawn::Run {
            latency: base,
            end: JobEnd::Fault,
        },
        Work::Default => {
            if rng.chance_ppm(cfg.hang_ppm) {
                Drawn::Hang
            } else {
                let end = if rng.chance_ppm(cfg.fault_ppm) {
                    JobEnd::Fault
                } else {
                    JobEnd::Complete
                };
                let extra = if cfg.jitter.is_zero() { 0 } else { jitter(rng) };
                Drawn::Run {
                    latency: base.saturating_add(extra),
                    end,
                }
            }
        }
    }
}

/// A duration in ns, saturating.
pub(crate) fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
