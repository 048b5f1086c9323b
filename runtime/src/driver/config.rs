//! How a device is set up ([`DeviceConfig`]), why a setup is refused, and the statistics it
//! reports. Plain data shared by the driver core, the facade and the backends, so none of them
//! imports another for it.

use crate::asic::Asic;
use crate::fence::pool::PoolError;
use crate::sim::{ClockMode, SimConfig};
use std::fmt;
use std::time::Duration;

/// Most seqs one multi-CS wait takes (`HL_WAIT_MULTI_CS_LIST_MAX_LEN`).
pub const MULTI_CS_MAX_LEN: usize = 32;
/// Multi-CS waits that can run at once (`MULTI_CS_MAX_USER_CTX`).
pub const MULTI_CS_SLOTS: usize = 2;
/// Most engine lanes (worker threads).
pub const MAX_LANES: usize = 64;

/// How a device is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceConfig {
    /// Most contexts open at once (the ASID limit; each has its own seqs, ring and counters).
    pub contexts: u32,
    /// The device TDR timeout (`timeout_locked`); `None` switches TDR off. Defaults to the spec's
    /// `cs_timeout`.
    pub tdr_timeout: Option<Duration>,
    /// Reset the device when the TDR fires (`reset_on_lockup`, default true); otherwise the
    /// device only stops taking work until [`Device::reset`].
    pub reset_on_lockup: bool,
    /// Virtual or real time.
    pub clock: ClockMode,
    /// How the simulated engines behave.
    pub sim: SimConfig,
}

impl DeviceConfig {
    /// The defaults for generation `A`: at most one open context, the spec's TDR timeout, reset on lockup,
    /// virtual time, zero-latency engines that never hang or fault.
    pub fn for_asic<A: Asic>() -> DeviceConfig {
        DeviceConfig {
            contexts: 1,
            tdr_timeout: A::LIMITS.tdr_timeout(),
            reset_on_lockup: true,
            clock: ClockMode::Virtual,
            sim: SimConfig::default(),
        }
    }
}

/// Why [`Device::new`] refused a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceError {
    /// `contexts` was 0.
    NoContexts,
    /// `sim.lanes` was 0 or above [`MAX_LANES`].
    BadLaneCount {
        /// The lanes asked for.
        lanes: usize,
    },
    /// The spec's `max_pending_cs` cannot size a ring.
    Ring(PoolError),
}

/// Why [`Device::open`](crate::Device::open) refused to open a context (`hl_ctx_init`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpenError {
    /// Every context the device was configured with is open (the ASID limit).
    NoFreeContext {
        /// The limit, [`DeviceConfig::contexts`].
        limit: u32,
    },
    /// The device was torn down (its last [`Device`](crate::Device) handle dropped).
    DeviceGone,
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::NoFreeContext { limit } => {
                write!(f, "all {limit} contexts of the device are open")
            }
            OpenError::DeviceGone => f.write_str("the device was torn down"),
        }
    }
}

impl std::error::Error for OpenError {}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceError::NoContexts => f.write_str("a device needs at least one context"),
            DeviceError::BadLaneCount { lanes } => {
                write!(f, "{lanes} engine lanes: use 1 to {MAX_LANES}")
            }
            DeviceError::Ring(e) => write!(f, "context ring: {e}"),
        }
    }
}

impl std::error::Error for DeviceError {}

/// Device-wide CS statistics (a snapshot). Every CS that got a seq is released exactly once,
/// so `released() == submitted + not_submitted` once nothing is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct DeviceStats {
    /// CSs written to their queues.
    pub submitted: u64,
    /// Released with outcome ok.
    pub completed: u64,
    /// Released timed out.
    pub timed_out: u64,
    /// Released aborted.
    pub aborted: u64,
    /// Released not submitted (failed after taking a seq).
    pub not_submitted: u64,
    /// CSs in flight now (in the mirror list).
    pub in_flight: u64,
    /// TDR expiries.
    pub tdr_fired: u64,
    /// Device resets.
    pub resets: u64,
    /// Reset requests (TDR with `reset_on_lockup`, engine errors) served by a reset that was
    /// already requested or ran meanwhile: the runtime merges concurrent requests, so
    /// `resets + resets_merged` counts every request plus every explicit reset.
    pub resets_merged: u64,
    /// Engine errors raised by jobs.
    pub engine_faults: u64,
    /// Jobs that hung.
    pub hangs: u64,
    /// Releases in a non-terminal state (release builds only; debug builds panic).
    pub lifecycle_violations: u64,
    /// The TDR fired without a reset: the device waits for [`Device::reset`].
    pub needs_reset: bool,
}

impl DeviceStats {
    /// Every CS released so far.
    pub const fn released(&self) -> u64 {
        self.completed + self.timed_out + self.aborted + self.not_submitted
    }
}
