//! The asicgen driver runtime.
//!
//! Section marks in the code (`§2.5`, `§3`, ...) cite `docs/driver-semantics.md`, the project's
//! account of the habanalabs driver rules with the kernel sources they come from.
#![warn(missing_docs)]

/// The `Asic` trait and its tables, from the `no_std` `asicgen-tables` crate.
pub mod asic {
    pub use asicgen_tables::*;
}
pub mod binning;
pub mod fence;
mod sync;

// The fence layer's modules under their old paths.
pub use fence::{cancel, completion, pool as fence_pool};

pub use fence::cancel::CancelToken;
pub use fence::completion::{Completion, ReinitError, WaitError};
pub use fence::pool::{AllocError, FencePool, PoolError, PoolStats};
pub use fence::{Fence, Outcome, SignalError, Signalled, Timestamp};

// The driver on top of the fences. Not built under `--cfg loom`: the loom models cover the
// fences and the handoff types, and these modules use std threads and locks directly.
#[cfg(not(loom))]
pub mod config;
#[cfg(not(loom))]
pub mod device;
#[cfg(not(loom))]
pub mod driver;
#[cfg(not(loom))]
pub mod scripted;
#[cfg(not(loom))]
pub mod sim;

#[cfg(not(loom))]
pub use config::DeviceConfig;
#[cfg(not(loom))]
pub use device::{Context, Device};
#[cfg(not(loom))]
pub use driver::backend::{Engines, JobDoneError, JobEnd, JobId, JobStart, Started};
#[cfg(not(loom))]
pub use driver::config::{
    ClockMode, DeviceError, DeviceStats, MAX_CONTEXTS, MAX_FUSE_MASKS, MAX_LANES, MULTI_CS_MAX_LEN,
    MULTI_CS_SLOTS, OpenError,
};
#[cfg(not(loom))]
pub use driver::context::{ContextId, CsFence, Lookup};
#[cfg(not(loom))]
pub use driver::counters::{CsCounters, DropCounter};
#[cfg(not(loom))]
pub use driver::cs::LifecycleViolation;
#[cfg(not(loom))]
pub use driver::engine::EngineMask;
#[cfg(not(loom))]
pub use driver::queue::{CompletionQueue, HwQueue, SpaceError};
#[cfg(not(loom))]
pub use driver::submit::{CbChoice, CsSubmit, Job, QueueRejection, SubmitError, Work};
#[cfg(not(loom))]
pub use driver::sync_stream::{
    CollectiveWaitSubmit, EncapsWaitSubmit, MAX_SOB_VAL, ReservedIds, SignalCs, SignalReservation,
    SignalSubmit, StagedCs, StagedSubmit, SyncQueueRejection, SyncStats, WaitCs, WaitSubmit,
};
#[cfg(not(loom))]
pub use driver::wait::{CsWaitError, MultiWaitStatus, WaitStatus};
#[cfg(not(loom))]
pub use driver::{counters, engine, queue, submit, sync_stream, wait};
#[cfg(not(loom))]
pub use sim::{Runner, RunnerError, SimConfig, SimEngines};

/// A per-CS TDR timeout from which on the CS is never timed (2^62 ns, about 146 years; the
/// driver's `MAX_SCHEDULE_TIMEOUT`). `Duration::MAX` is one such.
#[cfg(not(loom))]
pub const NEVER_TIMED: std::time::Duration =
    std::time::Duration::from_nanos(driver::backend::NEVER_NS);
