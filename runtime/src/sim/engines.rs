//! The simulated engines as a backend ([`Engines`]): a job's latency, jitter, hang or fault is
//! drawn from [`SimConfig`] with one seeded [`XorShift`]; in-order engines run their jobs one
//! after the other, and a hung engine holds everything queued behind it until a reset.

use super::{SimConfig, XorShift};
use crate::driver::backend::{Engines, JobEnd, JobStart, NEVER_NS, Started, duration_ns};
use crate::driver::submit::Work;

/// The simulator backend.
#[derive(Debug, Clone)]
pub struct SimEngines {
    cfg: SimConfig,
    rng: XorShift,
    /// Per engine, when it finishes its last queued job (in-order mode); `u64::MAX` once hung.
    busy_until: Box<[u64]>,
}

impl SimEngines {
    /// Engines behaving as `cfg` says, for a device with `engines` engines.
    pub fn new(cfg: SimConfig, engines: usize) -> SimEngines {
        SimEngines {
            rng: XorShift::new(cfg.seed),
            busy_until: vec![0; engines].into_boxed_slice(),
            cfg,
        }
    }

    /// What a job does: runs `latency` ns and ends as `end`, or hangs.
    fn draw(&mut self, work: Work) -> Option<(u64, JobEnd)> {
        let cfg = &self.cfg;
        let base = duration_ns(cfg.latency);
        match work {
            // why: a job that runs for centuries never finishes; moving the clock there would
            // break every later deadline.
            Work::Run(d) if duration_ns(d) >= NEVER_NS => None,
            Work::Run(d) => Some((duration_ns(d), JobEnd::Complete)),
            Work::Hang => None,
            Work::Fault => Some((base, JobEnd::Fault)),
            Work::Default => {
                if self.rng.chance_ppm(cfg.hang_ppm) {
                    return None;
                }
                let end = if self.rng.chance_ppm(cfg.fault_ppm) {
                    JobEnd::Fault
                } else {
                    JobEnd::Complete
                };
                let extra = if cfg.jitter.is_zero() {
                    0
                } else {
                    self.rng.below(duration_ns(cfg.jitter).saturating_add(1))
                };
                Some((base.saturating_add(extra), end))
            }
        }
    }
}

impl Engines for SimEngines {
    fn start(&mut self, job: &JobStart, now: &mut dyn FnMut() -> u64) -> Started {
        let in_order = !self.cfg.out_of_order;
        let Some((latency, end)) = self.draw(job.work) else {
            if let (Some(e), true) = (job.engine, in_order) {
                // The engine locks up: everything queued behind it waits for a reset.
                self.busy_until[e] = u64::MAX;
            }
            return Started::Hang;
        };
        // The clock is read only if the due time depends on it (a zero-latency job is due at
        // once, whenever "now" is): one clock read is a tenth of a submission's cost.
        let now = if latency == 0 { 0 } else { now() };
        match job.engine {
            Some(e) if in_order => {
                let busy = &mut self.busy_until[e];
                if *busy == u64::MAX {
                    return Started::Stuck;
                }
                let due = (*busy).max(now).saturating_add(latency);
                *busy = due;
                Started::Due { at: due, end }
            }
            _ => Started::Due {
                at: now.saturating_add(latency),
                end,
            },
        }
    }

    fn reset(&mut self) {
        self.busy_until.fill(0);
    }
}
