//! The driver's own settings ([`DriverConfig`]), why a setup is refused, and the statistics it
//! reports. Plain data shared by the driver core, the facade and the backends, so none of them
//! imports another for it.

use crate::binning::BinningError;
use crate::fence::pool::PoolError;
use std::fmt;
use std::time::Duration;

/// Most seqs one multi-CS wait takes (`HL_WAIT_MULTI_CS_LIST_MAX_LEN`).
pub const MULTI_CS_MAX_LEN: usize = 32;
/// Multi-CS waits that can run at once (`MULTI_CS_MAX_USER_CTX`).
pub const MULTI_CS_SLOTS: usize = 2;
/// Most engine lanes (worker threads).
pub const MAX_LANES: usize = 64;

/// Where the device's time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ClockMode {
    /// A virtual clock that only moves when the caller advances it; no threads, no sleeps.
    #[default]
    Virtual,
    /// `CLOCK_MONOTONIC`; jobs and the TDR run on threads started with
    /// [`Runner::start`](crate::Runner::start).
    Real,
}

/// What the driver core needs to know of its setup (the facade's
/// [`DeviceConfig`](crate::DeviceConfig) without the backend's own settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DriverConfig {
    /// Most contexts open at once (the ASID limit).
    pub contexts: u32,
    /// The device TDR timeout; `None` or [`NEVER_TIMED`](crate::NEVER_TIMED) and more switch
    /// TDR off.
    pub tdr_timeout: Option<Duration>,
    /// Reset the device when the TDR fires.
    pub reset_on_lockup: bool,
    /// Virtual or real time.
    pub clock: ClockMode,
    /// Completion lanes (real mode: one worker thread each); engine `i` reports on lane
    /// `i % lanes`.
    pub lanes: usize,
    /// Real mode: how many times an idle lane worker re-checks for work before it parks.
    pub poll_spins: u32,
    /// Real mode: pin lane `i`'s worker to CPU `(lane_cpu + i) % online CPUs`.
    pub lane_cpu: Option<u16>,
    /// This device's fuse masks, one per binning rule of the generation (`Asic::BINNING`, in
    /// spec order; the rest zero): bit `i` of mask `r` says unit `i` of rule `r` is faulty.
    pub fuse_masks: [u64; MAX_FUSE_MASKS],
}

/// Most binning rules a device's fuse masks can cover.
pub const MAX_FUSE_MASKS: usize = 8;

/// Why [`Device::new`](crate::Device::new) refused a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceError {
    /// `contexts` was 0.
    NoContexts,
    /// `contexts` was above [`MAX_CONTEXTS`]: every context's ring is set up with the device.
    TooManyContexts {
        /// The contexts asked for.
        contexts: u32,
    },
    /// `lanes` was 0 or above [`MAX_LANES`].
    BadLaneCount {
        /// The lanes asked for.
        lanes: usize,
    },
    /// The spec's `max_pending_cs` cannot size a ring.
    Ring(PoolError),
    /// The fuse masks describe no working device (too many faulty units, a unit or rule the
    /// generation does not have): the driver fails `hw_init`.
    Binning(BinningError),
}

/// Most contexts a device may be configured with: the driver's ASID space (`MAX_ASID` in
/// goyaP.h is 1024; every context needs an ASID). Each context's ring is set up when the device
/// is, so an unbounded count would only fail later, as an allocation failure.
pub const MAX_CONTEXTS: u32 = 1024;

/// Why [`Device::open`](crate::Device::open) refused to open a context (`hl_ctx_init`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpenError {
    /// Every context the device was configured with is open (the ASID limit).
    NoFreeContext {
        /// The limit, [`DeviceConfig::contexts`](crate::DeviceConfig::contexts).
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
            DeviceError::TooManyContexts { contexts } => write!(
                f,
                "{contexts} contexts: use 1 to {MAX_CONTEXTS} (the habanalabs ASID space)"
            ),
            DeviceError::BadLaneCount { lanes } => {
                write!(f, "{lanes} engine lanes: use 1 to {MAX_LANES}")
            }
            DeviceError::Ring(e) => write!(f, "context ring: {e}"),
            DeviceError::Binning(e) => write!(f, "binning: {e}"),
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
    /// The TDR fired without a reset: the device waits for [`Device::reset`](crate::Device::reset).
    pub needs_reset: bool,
}

impl DeviceStats {
    /// Every CS released so far.
    pub const fn released(&self) -> u64 {
        self.completed + self.timed_out + self.aborted + self.not_submitted
    }
}
