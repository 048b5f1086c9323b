//! The asicgen driver runtime.
#![warn(missing_docs)]

pub mod asic;
pub mod binning;
pub mod cancel;
pub mod completion;
pub mod fence;
pub mod fence_pool;
mod sync;

pub use cancel::CancelToken;
pub use completion::{Completion, ReinitError, WaitError};
pub use fence::{Fence, Outcome, SignalError, Signalled, Timestamp};
pub use fence_pool::{AllocError, FencePool, PoolError, PoolStats};

// The driver runtime on top of the fences. Not built under `--cfg loom`: the loom models cover
// the fences, and these modules use std threads and locks directly.
#[cfg(not(loom))]
pub mod context;
#[cfg(not(loom))]
pub mod counters;
#[cfg(not(loom))]
pub mod cs;
#[cfg(not(loom))]
pub mod device;
#[cfg(not(loom))]
mod effects;
#[cfg(not(loom))]
pub mod engine;
#[cfg(not(loom))]
mod handoff;
#[cfg(any(not(loom), test))]
mod handshake;
#[cfg(not(loom))]
mod hw_queues;
#[cfg(not(loom))]
mod membarrier;
#[cfg(not(loom))]
pub mod queue;
#[cfg(not(loom))]
mod reset;
#[cfg(not(loom))]
pub mod sim;
#[cfg(not(loom))]
mod spin;
#[cfg(not(loom))]
mod state;
#[cfg(not(loom))]
pub mod submit;
#[cfg(not(loom))]
mod tdr;
#[cfg(not(loom))]
pub mod wait;

#[cfg(not(loom))]
pub use context::{Context, ContextId, Lookup};
#[cfg(not(loom))]
pub use counters::{CsCounters, DropCounter};
#[cfg(not(loom))]
pub use cs::LifecycleViolation;
#[cfg(not(loom))]
pub use device::{Device, DeviceConfig, DeviceError, DeviceStats};
#[cfg(not(loom))]
pub use engine::EngineMask;
#[cfg(not(loom))]
pub use queue::{CompletionQueue, HwQueue, SpaceError};
#[cfg(not(loom))]
pub use sim::{ClockMode, Runner, RunnerError, SimConfig};
#[cfg(not(loom))]
pub use submit::{CbChoice, CsSubmit, Job, QueueRejection, SubmitError, Work};
#[cfg(not(loom))]
pub use wait::{CsWaitError, MultiWaitStatus, WaitStatus};
