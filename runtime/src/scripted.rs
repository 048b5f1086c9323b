//! A scripted, deterministic engine backend for tests: the n-th job started ends as the n-th
//! [`Step`] of the script says, whatever its queue or [`Work`](crate::Work); jobs after the
//! script complete at once. It needs no simulator and draws nothing at random, so a test can
//! state exactly which job hangs, faults or finishes when.

use crate::driver::backend::{Engines, JobEnd, JobStart, Started, duration_ns};
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
}

/// The scripted backend.
#[derive(Debug, Clone, Default)]
pub struct Scripted {
    steps: Vec<Step>,
    next: usize,
}

impl Scripted {
    /// Jobs end as `steps` says, in the order they are started.
    pub fn new(steps: impl Into<Vec<Step>>) -> Scripted {
        Scripted {
            steps: steps.into(),
            next: 0,
        }
    }

    /// Jobs started so far.
    pub fn started(&self) -> usize {
        self.next
    }
}

impl Engines for Scripted {
    fn start(&mut self, _job: &JobStart, now: &mut dyn FnMut() -> u64) -> Started {
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
        }
    }

    fn reset(&mut self) {}
}
