//! The seam between the driver and the hardware: what the driver asks of the engines, and how
//! they answer. The driver core names no backend type; a backend implements [`Engines`].
//!
//! - **start a job** ([`Engines::start`]): the driver writes a job to its queue and rings the
//!   doorbell; the backend answers when the job will come due and how it ends
//!   ([`Started`]), or that it never will (a hang). The driver then hands the job to its engine
//!   lane and the completion side reports it back at that time (the CQ interrupt), in due-time
//!   order, whatever the backend;
//! - **report a job's end** ([`Device::job_done`](crate::Device::job_done)): a backend that
//!   cannot tell at start when a job ends (real hardware) answers [`Started::Running`] and later
//!   reports the job's end by its [`JobId`], as the engine's completion interrupt does;
//! - **halt and reset** ([`Engines::reset`]): a device reset halts every engine; nothing started
//!   before comes due or can be reported;
//! - **the clock**: the driver owns it ([`ClockMode`](crate::driver::config::ClockMode)): virtual
//!   time moved by the caller, or `CLOCK_MONOTONIC`; a backend reads "now" through the closure
//!   it is given, only when a job's due time depends on it.
//!
//! The simulator ([`crate::sim::SimEngines`]) is one backend; the scripted one
//! ([`crate::scripted::Scripted`]) plays a fixed list of job ends, for tests.

use crate::driver::submit::Work;
use std::cmp::Ordering;
use std::time::Duration;

/// A job the driver started, as a backend names it when it reports the job's end. Unique per
/// device, never reused (not even across resets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub(crate) u64);

/// A job the driver starts on the engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobStart {
    /// The job's name for [`Device::job_done`](crate::Device::job_done).
    pub id: JobId,
    /// Position of its queue in `A::QUEUES`.
    pub queue: usize,
    /// Position of its engine in `A::ENGINES`, if the queue has one.
    pub engine: Option<usize>,
    /// What the submitter asked the job to do.
    pub work: Work,
}

/// When a started job comes due and how it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// Due at device-clock `at` (ns).
    Due {
        /// When it comes due.
        at: u64,
        /// Whether it completes or raises an engine error then.
        end: JobEnd,
    },
    /// Never comes due: the job hung (counted as a hang); only a reset ends it.
    Hang,
    /// Never comes due: queued behind a job that hung on the same engine.
    Stuck,
    /// Runs until the backend reports its end with
    /// [`Device::job_done`](crate::Device::job_done) (the completion interrupt of real
    /// hardware); until then only the TDR or a reset ends its CS.
    Running,
}

/// Why a reported job end was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobDoneError {
    /// No started job with this id waits for a report: it was reported already, a reset halted
    /// it, or its backend never said [`Started::Running`].
    UnknownJob(JobId),
    /// [`JobEnd::Hang`] is not an end a job can report.
    NotAnEnd,
    /// Called from inside [`Engines::start`] or [`Engines::reset`], which run under the
    /// driver's locks: report from another thread, or answer [`Started::Due`] for a job that is
    /// done already.
    InsideEngines,
}

impl std::fmt::Display for JobDoneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobDoneError::UnknownJob(id) => {
                write!(f, "no running job {} waits for its end", id.0)
            }
            JobDoneError::NotAnEnd => f.write_str("a hang is not a job end that can be reported"),
            JobDoneError::InsideEngines => f.write_str(
                "a job end cannot be reported from inside the engines' start or reset, which run \
                 under the driver's locks",
            ),
        }
    }
}

impl std::error::Error for JobDoneError {}

/// The engines of a device: what the driver asks of hardware. Called under the submission lock
/// (`start`) or with both locks held (`reset`), so an implementation needs no locking of its own,
/// and must not call back into its device from them (a [`Device::job_done`](crate::Device::job_done)
/// from there is refused with [`JobDoneError::InsideEngines`]).
pub trait Engines: Send + 'static {
    /// Start `job`; `now` reads the device clock (ns), for a backend whose due time depends on
    /// it.
    fn start(&mut self, job: &JobStart, now: &mut dyn FnMut() -> u64) -> Started;
    /// Halt every engine and forget what ran (device reset).
    fn reset(&mut self);
}

/// How a job ends when it comes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEnd {
    /// Completes normally.
    Complete,
    /// Raises an engine error.
    Fault,
    /// Never comes due (the job hung, or its engine had): handed to the lane only so that its CS
    /// reaches the mirror list and the TDR can time it out.
    Hang,
}

thread_local! {
    /// Whether this thread is inside a call of the engines (`EnginesCall`).
    static IN_ENGINES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the calling thread as inside a call of the engines (under the driver's locks) while it
/// lives, so a report from there is refused rather than deadlocking on the locks.
pub(crate) struct EnginesCall(());

impl EnginesCall {
    pub(crate) fn enter() -> EnginesCall {
        IN_ENGINES.with(|inside| inside.set(true));
        EnginesCall(())
    }

    /// Whether the calling thread is inside a call of the engines now.
    pub(crate) fn active() -> bool {
        IN_ENGINES.with(std::cell::Cell::get)
    }
}

impl Drop for EnginesCall {
    fn drop(&mut self) {
        IN_ENGINES.with(|inside| inside.set(false));
    }
}

/// A job on an engine lane: the driver's shadow-queue entry, due at the time its backend said.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EngineJob {
    /// Device-clock ns at which it finishes.
    pub(crate) due: u64,
    /// Tie-break: submission order (keeps equal due times deterministic).
    pub(crate) order: u64,
    /// Record index of its CS.
    pub(crate) record: u32,
    /// Its CS's ticket, unique per device (a stale job, whose CS was rolled back, is recognised
    /// by a ticket mismatch even once the record holds a CS with the same seq).
    pub(crate) ticket: u64,
    /// Position of its queue in `A::QUEUES`.
    pub(crate) queue: u16,
    /// Position of its engine in `A::ENGINES`, if the queue has one.
    pub(crate) engine: Option<u16>,
    /// The job reports its own completion (external and H/W queues).
    pub(crate) completes: bool,
    pub(crate) end: JobEnd,
    /// Its backend reports its end ([`Started::Running`]): it waits in the completion side's
    /// `running` table instead of a lane's heap.
    pub(crate) reported: bool,
    /// Released by a sync-manager monitor after it was held (§5): not held again.
    pub(crate) released: bool,
}

impl PartialEq for EngineJob {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}

impl Eq for EngineJob {}

impl PartialOrd for EngineJob {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for EngineJob {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest job first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.order).cmp(&(self.due, self.order))
    }
}

/// Durations from this many ns on (2^62 ns, about 146 years) mean "never": a TDR timeout that
/// long switches the timer off, as the driver's `MAX_SCHEDULE_TIMEOUT` does, and a job that long
/// never finishes.
pub(crate) const NEVER_NS: u64 = 1 << 62;

/// A duration in ns, saturating.
pub(crate) fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
