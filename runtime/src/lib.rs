//! The asicgen driver runtime.
#![warn(missing_docs)]

pub mod asic;
pub mod cancel;
pub mod completion;
pub mod fence;
pub mod fence_pool;
mod sync;

pub use cancel::CancelToken;
pub use completion::{Completion, ReinitError, WaitError};
pub use fence::{Fence, Outcome, SignalError, Signalled, Timestamp};
pub use fence_pool::{AllocError, FencePool, PoolError, PoolStats};
