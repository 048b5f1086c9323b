//! What a user submits (a CS of jobs) and every way a submission is refused.
//!
//! Errors carry the driver's errno ([`SubmitError::errno`]), whether retrying can help
//! ([`SubmitError::is_try_again`]), the drop counter they bumped ([`SubmitError::counter`]) and,
//! for failures after `allocate_cs`, the seq the CS used up ([`SubmitError::consumed_seq`]):
//! such a CS is released as not submitted and a wait on its seq reports it completed, while the
//! ioctl hands the user `u64::MAX` (§3).

use crate::driver::counters::DropCounter;
use crate::driver::queue::SpaceError;
use crate::driver::sync_stream::SyncQueueRejection;
use std::fmt;
use std::time::Duration;

/// What a job's command buffer makes its engine do on the simulated device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Work {
    /// Whatever the simulator's configuration draws: its latency, and its hang and fault rates.
    #[default]
    Default,
    /// Run for this long, then complete.
    Run(Duration),
    /// Never complete (the engine locks up until a reset halts it).
    Hang,
    /// Raise an engine error on completion: the device resets.
    Fault,
}

/// Who allocated a job's command buffer (`HL_CS_CHUNK_FLAGS_USER_ALLOC_CB`). Only H/W queues
/// let the job choose; other queue types fix the kind from their `cb_alloc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CbChoice {
    /// Whatever the queue allows (kernel first). Not a driver notion: a convenience for callers
    /// that do not care.
    #[default]
    Auto,
    /// A kernel CB handle (needs `CB_ALLOC_KERNEL` on an H/W queue).
    Kernel,
    /// A user CB (needs `CB_ALLOC_USER` on an H/W queue).
    User,
}

/// One job (an execute chunk): a command buffer for one hardware queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Job {
    /// Raw uapi queue id, as the ioctl passes it.
    pub queue: u32,
    /// Who allocated the command buffer.
    pub cb: CbChoice,
    /// What the engine does with it (simulated device).
    pub work: Work,
}

impl Job {
    /// A job on `queue` doing the simulator's default work.
    pub const fn new(queue: u32) -> Job {
        Job {
            queue,
            cb: CbChoice::Auto,
            work: Work::Default,
        }
    }

    /// The same job doing `work`.
    pub const fn with_work(self, work: Work) -> Job {
        Job { work, ..self }
    }

    /// The same job with an explicit command-buffer kind.
    pub const fn with_cb(self, cb: CbChoice) -> Job {
        Job { cb, ..self }
    }
}

/// A command submission (`union hl_cs_args` for a default CS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CsSubmit<'a> {
    /// The jobs, in chunk order.
    pub jobs: &'a [Job],
    /// `HL_CS_FLAGS_CUSTOM_TIMEOUT`: this CS's TDR timeout instead of the device's. Zero fires
    /// the TDR as soon as the CS is the oldest in flight, as the driver's zero-delay work does;
    /// [`NEVER_TIMED`](crate::NEVER_TIMED) or more (about 146 years, e.g. `Duration::MAX`)
    /// means the CS is never timed, as the driver's `MAX_SCHEDULE_TIMEOUT`. With the device's
    /// TDR off no CS is timed.
    pub timeout: Option<Duration>,
    /// `HL_CS_FLAGS_TIMESTAMP`: record the completion time on the fence.
    pub timestamp: bool,
}

impl<'a> CsSubmit<'a> {
    /// A CS of `jobs` with the device's timeout and no timestamp.
    pub const fn new(jobs: &'a [Job]) -> CsSubmit<'a> {
        CsSubmit {
            jobs,
            timeout: None,
            timestamp: false,
        }
    }

    /// The same CS with its own TDR timeout.
    pub const fn with_timeout(self, timeout: Duration) -> CsSubmit<'a> {
        CsSubmit {
            timeout: Some(timeout),
            ..self
        }
    }

    /// The same CS asking for a completion timestamp.
    pub const fn with_timestamp(self) -> CsSubmit<'a> {
        CsSubmit {
            timestamp: true,
            ..self
        }
    }
}

/// Why a job's queue was refused (`validate_queue_index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueRejection {
    /// No queue has this id (index >= max_queues, or type NA).
    Unknown,
    /// Only the driver may submit to it.
    DriverOnly,
    /// Its engine is fused off.
    Binned,
    /// An H/W queue asked for a kernel CB but only takes user CBs.
    KernelCbNotAllowed,
    /// An H/W queue asked for a user CB but only takes kernel CBs.
    UserCbNotAllowed,
}

impl fmt::Display for QueueRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QueueRejection::Unknown => "no such queue",
            QueueRejection::DriverOnly => "the queue is driver-only",
            QueueRejection::Binned => "the queue is binned",
            QueueRejection::KernelCbNotAllowed => "the queue does not take kernel CBs",
            QueueRejection::UserCbNotAllowed => "the queue does not take user CBs",
        })
    }
}

/// Why a CS was refused. Variants with a `seq` failed after `allocate_cs`: that seq is used up
/// and its fence is signalled "not submitted".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubmitError {
    /// The device is in reset or needs one (`hl_cs_sanity_checks`: `-EBUSY`), or its engines
    /// were stopped ([`Runner::stop`](crate::Runner::stop), or the runner dropped) and no runner
    /// has started since: nothing would run the CS or time it out.
    DeviceNotOperational,
    /// A default CS with no jobs (`-EINVAL`).
    NoJobs,
    /// More jobs than `max_jobs_per_cs` (`-EINVAL`).
    TooManyJobs {
        /// Jobs in the CS.
        jobs: usize,
        /// The limit.
        max: u32,
    },
    /// The context's ring slot for the next seq holds a CS that has not completed: too many
    /// in flight (`-EAGAIN`, try again). Nothing was used up.
    TooManyInFlight {
        /// The seq the CS would have had.
        next_seq: u64,
        /// The in-flight CS occupying its slot.
        pending_seq: u64,
    },
    /// A job names a queue a user may not submit to (`-EINVAL`).
    InvalidQueue {
        /// The seq the CS used up.
        seq: u64,
        /// Index of the job in the CS.
        job: usize,
        /// The queue id it named.
        queue: u32,
        /// Why the queue was refused.
        reason: QueueRejection,
    },
    /// Every job is on an internal queue, yet the CS needs a completion (`-EINVAL`).
    OnlyInternalJobs {
        /// The seq the CS used up.
        seq: u64,
    },
    /// The device stopped being operational before the jobs were written
    /// (`hl_hw_queue_schedule_cs`: `-EPERM`).
    DeviceInReset {
        /// The seq the CS used up.
        seq: u64,
    },
    /// A queue (or its completion queue) had no room: `-EAGAIN`, try again; an internal queue
    /// shorter than the jobs for it gives `-ENOMEM`. Completion-queue reservations already made
    /// for the CS were undone.
    QueueFull {
        /// The seq the CS used up.
        seq: u64,
        /// The queue that refused.
        queue: u32,
        /// What was short.
        cause: SpaceError,
    },
    /// A signal, wait or collective wait CS on a generation without sync streams
    /// (`hl_cs_sanity_checks`: "Sync stream CS is not supported", `-EINVAL`; Goya).
    SyncStreamNotSupported,
    /// A sync-stream operation names a queue that cannot take it (`-EINVAL`).
    SyncQueue {
        /// The queue id it named.
        queue: u32,
        /// Why the queue was refused.
        reason: SyncQueueRejection,
    },
    /// A wait CS must name exactly one signal seq (`num_signal_seq_arr != 1`, `-EINVAL`).
    SignalSeqCount {
        /// Seqs given.
        len: usize,
    },
    /// The signal seq is not a seq of this context yet (or 0 / `u64::MAX`):
    /// `hl_ctx_get_fence` fails with `-EINVAL`.
    InvalidSignalSeq {
        /// The seq named.
        seq: u64,
        /// The context's next seq then.
        next_seq: u64,
    },
    /// The seq a wait names is not a signal CS (`-EINVAL`).
    NotASignalCs {
        /// The seq named.
        seq: u64,
    },
    /// The SOB value would wrap and the queue's other SOB is still referenced
    /// (`hl_cs_signal_sob_wraparound_handler`: "Cannot switch SOBs", `-EINVAL`). A signal CS
    /// has used up its seq by then; a reservation has none.
    CannotSwitchSob {
        /// The seq the CS used up, for a signal CS.
        seq: Option<u64>,
        /// The queue.
        queue: u32,
    },
    /// A collective wait while every NIC port is disabled (`nic_ports_mask == 0`, `-EINVAL`).
    NicPortsDisabled,
    /// A collective wait names a reduction engine that is not one (`-EINVAL`, after the seq
    /// was allocated).
    InvalidCollectiveEngine {
        /// The seq the CS used up.
        seq: u64,
        /// The engine id named.
        engine: u32,
    },
    /// Reserving `count >= HL_MAX_SOB_VAL` signals (`-EINVAL`).
    SignalCountTooLarge {
        /// The count asked for.
        count: u32,
    },
    /// Unreserving a handle this context does not hold (`-EINVAL`).
    NoSuchReservation {
        /// The handle named.
        handle: u32,
    },
    /// A staged submission on a generation without them (`hl_cs_sanity_checks`: "staged
    /// submission not supported", `-EPERM`).
    StagedNotSupported,
    /// A staged CS that is not the first names a staged seq whose first CS is not in flight
    /// (`hl_hw_queue_schedule_cs`: `-EINVAL`, the seq used up).
    StagedFirstNotFound {
        /// The seq the CS used up.
        seq: u64,
        /// The staged seq it named.
        staged_seq: u64,
    },
    /// A staged CS joins a staged submission that already has its last CS (`-EINVAL`, the
    /// seq used up).
    StagedAlreadyLast {
        /// The seq the CS used up.
        seq: u64,
        /// The staged seq it named.
        staged_seq: u64,
    },
    /// A wait on encapsulated signals names an offset past the reservation's count
    /// (`-EINVAL`).
    EncapsOffset {
        /// The offset named.
        offset: u32,
        /// The reservation's count.
        count: u32,
    },
    /// Unreserving after the queue's SOB value moved (another signal or reservation since, or
    /// a SOB switch): "SOB val ran out of sync", `-EINVAL`; the handle stays.
    ReservationOutOfSync {
        /// The handle named.
        handle: u32,
    },
}

impl SubmitError {
    /// The driver's (negative) errno.
    pub const fn errno(&self) -> i32 {
        const EINVAL: i32 = -22;
        const EBUSY: i32 = -16;
        const EAGAIN: i32 = -11;
        const EPERM: i32 = -1;
        match self {
            SubmitError::NoJobs
            | SubmitError::TooManyJobs { .. }
            | SubmitError::InvalidQueue { .. }
            | SubmitError::OnlyInternalJobs { .. }
            | SubmitError::SyncStreamNotSupported
            | SubmitError::SyncQueue { .. }
            | SubmitError::SignalSeqCount { .. }
            | SubmitError::InvalidSignalSeq { .. }
            | SubmitError::NotASignalCs { .. }
            | SubmitError::CannotSwitchSob { .. }
            | SubmitError::NicPortsDisabled
            | SubmitError::InvalidCollectiveEngine { .. }
            | SubmitError::SignalCountTooLarge { .. }
            | SubmitError::NoSuchReservation { .. }
            | SubmitError::ReservationOutOfSync { .. }
            | SubmitError::StagedFirstNotFound { .. }
            | SubmitError::StagedAlreadyLast { .. }
            | SubmitError::EncapsOffset { .. } => EINVAL,
            SubmitError::DeviceNotOperational => EBUSY,
            SubmitError::TooManyInFlight { .. } => EAGAIN,
            SubmitError::DeviceInReset { .. } | SubmitError::StagedNotSupported => EPERM,
            SubmitError::QueueFull { cause, .. } => cause.errno(),
        }
    }

    /// Whether the same CS can succeed later unchanged (`-EAGAIN`: the ioctl leaves its
    /// arguments untouched for the retry).
    pub const fn is_try_again(&self) -> bool {
        self.errno() == -11
    }

    /// The seq the failed CS used up, if it failed after `allocate_cs`.
    pub const fn consumed_seq(&self) -> Option<u64> {
        match self {
            SubmitError::InvalidQueue { seq, .. }
            | SubmitError::OnlyInternalJobs { seq }
            | SubmitError::DeviceInReset { seq }
            | SubmitError::QueueFull { seq, .. }
            | SubmitError::InvalidCollectiveEngine { seq, .. }
            | SubmitError::StagedFirstNotFound { seq, .. }
            | SubmitError::StagedAlreadyLast { seq, .. } => Some(*seq),
            SubmitError::CannotSwitchSob { seq, .. } => *seq,
            _ => None,
        }
    }

    /// The drop counter this failure bumped (per device and per context).
    pub const fn counter(&self) -> Option<DropCounter> {
        match self {
            // why: `hl_cs_sanity_checks` refuses these before any counter is touched; only the
            // schedule-time check (`DeviceInReset`, seq used up) bumps `device_in_reset`.
            SubmitError::DeviceNotOperational | SubmitError::NoJobs => None,
            // why: `cs_ioctl_signal_wait` bumps `validation_drop_cnt` for a bad queue, a bad
            // signal seq count or seq, and a seq that is no signal; the sanity check, the
            // wrap-around handler, the collective engine check and the reserve/unreserve
            // ioctls bump nothing.
            SubmitError::SyncQueue { .. }
            | SubmitError::SignalSeqCount { .. }
            | SubmitError::InvalidSignalSeq { .. }
            | SubmitError::NotASignalCs { .. }
            | SubmitError::NicPortsDisabled => Some(DropCounter::Validation),
            SubmitError::SyncStreamNotSupported
            | SubmitError::CannotSwitchSob { .. }
            | SubmitError::InvalidCollectiveEngine { .. }
            | SubmitError::SignalCountTooLarge { .. }
            | SubmitError::NoSuchReservation { .. }
            | SubmitError::ReservationOutOfSync { .. }
            | SubmitError::StagedNotSupported
            | SubmitError::StagedFirstNotFound { .. }
            | SubmitError::StagedAlreadyLast { .. }
            | SubmitError::EncapsOffset { .. } => None,
            SubmitError::DeviceInReset { .. } => Some(DropCounter::DeviceInReset),
            SubmitError::TooManyJobs { .. }
            | SubmitError::InvalidQueue { .. }
            | SubmitError::OnlyInternalJobs { .. } => Some(DropCounter::Validation),
            SubmitError::TooManyInFlight { .. } => Some(DropCounter::MaxCsInFlight),
            SubmitError::QueueFull { .. } => Some(DropCounter::QueueFull),
        }
    }
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::DeviceNotOperational => {
                f.write_str("device is not operational (in reset or needs one)")
            }
            SubmitError::NoJobs => f.write_str("a CS needs at least one job"),
            SubmitError::TooManyJobs { jobs, max } => {
                write!(f, "{jobs} jobs in one CS, at most {max} allowed")
            }
            SubmitError::TooManyInFlight {
                next_seq,
                pending_seq,
            } => write!(
                f,
                "rejecting CS {next_seq} because of too many in-flight CSs (CS {pending_seq} holds its slot); try again"
            ),
            SubmitError::InvalidQueue {
                seq,
                job,
                queue,
                reason,
            } => write!(f, "CS {seq}: job {job} on queue {queue}: {reason}"),
            SubmitError::OnlyInternalJobs { seq } => write!(
                f,
                "CS {seq}: only internal-queue jobs, but the CS needs a completion"
            ),
            SubmitError::DeviceInReset { seq } => {
                write!(f, "CS {seq}: device went into reset before scheduling")
            }
            SubmitError::QueueFull { seq, queue, cause } => {
                write!(f, "CS {seq}: queue {queue}: {cause}")
            }
            SubmitError::SyncStreamNotSupported => {
                f.write_str("sync stream CS is not supported on this generation")
            }
            SubmitError::SyncQueue { queue, reason } => write!(f, "queue {queue}: {reason}"),
            SubmitError::SignalSeqCount { len } => {
                write!(f, "a wait CS takes exactly one signal seq, {len} given")
            }
            SubmitError::InvalidSignalSeq { seq, next_seq } => write!(
                f,
                "signal seq {seq} is not a seq of this context (next seq {next_seq})"
            ),
            SubmitError::NotASignalCs { seq } => write!(f, "CS {seq} is not a signal CS"),
            SubmitError::CannotSwitchSob { seq, queue } => {
                if let Some(seq) = seq {
                    write!(f, "CS {seq}: ")?;
                }
                write!(
                    f,
                    "queue {queue}: cannot switch SOBs, the other reserved SOB is still in use"
                )
            }
            SubmitError::NicPortsDisabled => {
                f.write_str("collective operations need a NIC port, and every one is disabled")
            }
            SubmitError::InvalidCollectiveEngine { seq, engine } => write!(
                f,
                "CS {seq}: engine {engine} is not a collective reduction engine"
            ),
            SubmitError::SignalCountTooLarge { count } => write!(
                f,
                "{count} signals asked for; a reservation must stay below the max SOB value 32768"
            ),
            SubmitError::NoSuchReservation { handle } => {
                write!(
                    f,
                    "no signal reservation with handle {handle} in this context"
                )
            }
            SubmitError::EncapsOffset { offset, count } => write!(
                f,
                "signal offset {offset} is past the {count} reserved signals"
            ),
            SubmitError::StagedNotSupported => {
                f.write_str("staged submission is not supported on this generation")
            }
            SubmitError::StagedFirstNotFound { seq, staged_seq } => write!(
                f,
                "CS {seq}: staged submission {staged_seq} has no first CS in flight"
            ),
            SubmitError::StagedAlreadyLast { seq, staged_seq } => write!(
                f,
                "CS {seq}: staged submission {staged_seq} already has its last CS"
            ),
            SubmitError::ReservationOutOfSync { handle } => write!(
                f,
                "cannot unreserve signals of handle {handle}: the SOB value moved since"
            ),
        }
    }
}

impl std::error::Error for SubmitError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errnos_and_retry() {
        let full = SubmitError::QueueFull {
            seq: 3,
            queue: 1,
            cause: SpaceError::QueueFull { free: 0, needed: 1 },
        };
        assert!(full.is_try_again());
        assert_eq!(full.consumed_seq(), Some(3));
        assert_eq!(full.counter(), Some(DropCounter::QueueFull));
        let busy = SubmitError::TooManyInFlight {
            next_seq: 101,
            pending_seq: 37,
        };
        assert!(busy.is_try_again() && busy.consumed_seq().is_none());
        assert_eq!(SubmitError::DeviceNotOperational.errno(), -16);
        assert_eq!(SubmitError::DeviceInReset { seq: 1 }.errno(), -1);
        assert!(busy.to_string().contains("too many in-flight"));
    }
}
