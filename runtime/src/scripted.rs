//! A scripted, deterministic engine backend for tests: the n-th job started ends as the n-th
//! [`Step`] of the script says, whatever its queue or [`Work`](crate::Work); jobs after the
//! script complete at once. It needs no simulator and draws nothing at random, so a test can
//! state exactly which job hangs, faults or finishes when, or hold a job until the test reports
//! its end ([`Step::Report`], [`Device::job_done`](crate::Device::job_done)) as real hardware's
//! completion interrupt would.

use crate::driver::backend::{Engines, JobEnd, JobId, JobStart, Started, duration_ns};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How one scripted job ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Completes this long after it was started.
    Complete(Duration),
    /// Raises an engine error this long after it was started.
    Fault(Duration),
    /// Never completes (only a reset or the TDR ends its CS).
    Hang,
    /// Runs until its end is reported with [`Device::job_done`](crate::Device::job_done); its
    /// id is listed by [`Scripted::running`].
    Report,
}

/// The scripted backend.
#[derive(Debug, Clone, Default)]
pub struct Scripted {
    steps: Vec<Step>,
    next: usize,
    running: RunningJobs,
}

/// The ids of the jobs a [`Scripted`] backend started with [`Step::Report`], in start order;
/// shared with the backend, so it can be kept after the backend moved into its device.
#[derive(Debug, Clone, Default)]
pub struct RunningJobs(Arc<Mutex<Vec<JobId>>>);

impl RunningJobs {
    /// Every id listed so far, the list emptied.
    pub fn take(&self) -> Vec<JobId> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn push(&self, id: JobId) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(id);
    }
}

impl Scripted {
    /// Jobs end as `steps` says, in the order they are started.
    pub fn new(steps: impl Into<Vec<Step>>) -> Scripted {
        Scripted {
            steps: steps.into(),
            next: 0,
            running: RunningJobs::default(),
        }
    }

    /// Jobs started so far.
    pub fn started(&self) -> usize {
        self.next
    }

    /// The list of jobs started with [`Step::Report`] (a handle that stays valid once the
    /// backend moved into its device).
    pub fn running(&self) -> RunningJobs {
        self.running.clone()
    }
}

impl Engines for Scripted {
    fn start(&mut self, job: &JobStart, now: &mut dyn FnMut() -> u64) -> Started {
        let step = self
            .steps
            .get(self.next)
            .copied()
            .unwrap_or(Step::Complete(Duration::ZERO));
        self.next += 1;
        match step {
            Step::Complete(d) => Started::Due {
                at: now().saturating_add(duration_ns(d)),
                end: JobEnd::Complete,
            },
            Step::Fault(d) => Started::Due {
                at: now().saturating_add(duration_ns(d)),
                end: JobEnd::Fault,
            },
            Step::Hang => Started::Hang,
            Step::Report => {
                self.running.push(job.id);
                Started::Running
            }
        }
    }

    fn reset(&mut self) {}
}
