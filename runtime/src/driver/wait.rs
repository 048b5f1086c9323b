//! What a CS wait returns (`hl_cs_wait_ioctl` and the multi-CS wait, §4).
//!
//! The driver's return value and `out.status` map onto `Result<status, error>`:
//!
//! | driver | here |
//! |---|---|
//! | rc 0, COMPLETED (maybe FLAG_GONE, TIMESTAMP_VLD) | `Ok(WaitStatus::Completed { .. })` |
//! | rc 0, BUSY (the caller's timeout expired) | `Ok(WaitStatus::Busy)` |
//! | -ETIMEDOUT, TIMEDOUT (the TDR fired) | `Err(CsWaitError::TimedOut)` |
//! | -EIO, ABORTED (rolled back by a reset) | `Err(CsWaitError::Aborted)` |
//! | -EINTR (a signal: here a cancelled token) | `Err(CsWaitError::Interrupted)` |
//! | -EINVAL (seq not handed out yet, 0 or `u64::MAX`) | `Err(CsWaitError::InvalidSeq { .. })` |
//! | -EBUSY (device not operational) | `Err(CsWaitError::DeviceNotOperational)` |
//!
//! A CS that was never submitted is reported as completed, without a timestamp (§2.6).

use crate::fence::Timestamp;
use std::fmt;

/// The result of a successful wait on one CS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitStatus {
    /// The CS finished (normally, or it was never submitted), or is so old its fence is gone.
    Completed {
        /// `HL_WAIT_CS_STATUS_FLAG_GONE`: the seq fell out of the context's ring.
        gone: bool,
        /// The completion time, if the CS asked for one (`TIMESTAMP_VLD`).
        timestamp: Option<Timestamp>,
    },
    /// Still running when the caller's timeout expired (or at once, for a poll).
    Busy,
}

impl WaitStatus {
    /// Whether the CS is done.
    pub const fn is_completed(&self) -> bool {
        matches!(self, WaitStatus::Completed { .. })
    }
}

/// The result of a successful multi-CS wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MultiWaitStatus {
    /// At least one CS finished.
    Completed {
        /// Bit `i` set when `seqs[i]` completed (or is gone).
        bitmap: u32,
        /// The earliest completion time among the completed CSs that recorded one.
        timestamp: Option<Timestamp>,
        /// Some completed entry was gone from the ring.
        gone: bool,
    },
    /// None finished before the caller's timeout.
    Busy,
}

/// Why a wait did not report a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CsWaitError {
    /// The seq was not handed out yet, or is 0 or `u64::MAX` (`-EINVAL`).
    InvalidSeq {
        /// The seq asked for.
        seq: u64,
        /// The next seq the context will hand out.
        next_seq: u64,
    },
    /// The TDR fired for the CS (`-ETIMEDOUT`, status TIMEDOUT).
    TimedOut {
        /// The CS that timed out.
        seq: u64,
    },
    /// A reset rolled the CS back (`-EIO`, status ABORTED).
    Aborted {
        /// The CS that was aborted.
        seq: u64,
    },
    /// The cancellation token was cancelled first (`-EINTR`; retry the same call).
    Interrupted,
    /// The device is in reset or needs one (`-EBUSY`).
    DeviceNotOperational,
    /// The ASIC has no multi-CS wait (`-EPERM`).
    NotSupported,
    /// More than 32 seqs, or none, in a multi-CS wait (`-EINVAL`).
    BadSeqCount {
        /// How many seqs were passed.
        len: usize,
    },
    /// Both multi-CS wait structures are in use (`-ENOMEM`).
    NoMultiWaitSlot,
}

impl CsWaitError {
    /// The driver's (negative) errno.
    pub const fn errno(&self) -> i32 {
        match self {
            CsWaitError::InvalidSeq { .. } | CsWaitError::BadSeqCount { .. } => -22,
            CsWaitError::TimedOut { .. } => -110,
            CsWaitError::Aborted { .. } => -5,
            CsWaitError::Interrupted => -4,
            CsWaitError::DeviceNotOperational => -16,
            CsWaitError::NotSupported => -1,
            CsWaitError::NoMultiWaitSlot => -12,
        }
    }
}

impl fmt::Display for CsWaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsWaitError::InvalidSeq { seq, next_seq } => write!(
                f,
                "can't wait on CS {seq} because current CS is at seq {next_seq}"
            ),
            CsWaitError::TimedOut { seq } => write!(f, "CS {seq} timed out (TDR)"),
            CsWaitError::Aborted { seq } => write!(f, "CS {seq} was aborted by a reset"),
            CsWaitError::Interrupted => f.write_str("wait interrupted"),
            CsWaitError::DeviceNotOperational => f.write_str("device is not operational"),
            CsWaitError::NotSupported => f.write_str("this ASIC has no multi-CS wait"),
            CsWaitError::BadSeqCount { len } => {
                write!(f, "a multi-CS wait takes 1 to 32 seqs, not {len}")
            }
            CsWaitError::NoMultiWaitSlot => {
                f.write_str("no available multi-CS completion structure")
            }
        }
    }
}

impl std::error::Error for CsWaitError {}
