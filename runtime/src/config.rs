//! How a device is set up: [`DeviceConfig`], the driver's settings plus the simulated engines'.

use crate::asic::Asic;
use crate::driver::config::{ClockMode, DriverConfig, MAX_FUSE_MASKS};
use crate::sim::SimConfig;
use std::time::Duration;

/// How a device is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceConfig {
    /// Most contexts open at once (the ASID limit; each has its own seqs, ring and counters).
    pub contexts: u32,
    /// The device TDR timeout (`timeout_locked`); `None` switches TDR off, and so does
    /// [`NEVER_TIMED`](crate::NEVER_TIMED) or more (e.g. `Duration::MAX`, the driver's
    /// `MAX_SCHEDULE_TIMEOUT`): then no CS is timed, not even one with its own timeout. Defaults
    /// to the spec's `cs_timeout`.
    pub tdr_timeout: Option<Duration>,
    /// Reset the device when the TDR fires (`reset_on_lockup`, default true); otherwise the
    /// device only stops taking work until [`Device::reset`](crate::Device::reset).
    pub reset_on_lockup: bool,
    /// Virtual or real time.
    pub clock: ClockMode,
    /// How the simulated engines behave.
    pub sim: SimConfig,
    /// This device's fuse masks, one per binning rule of the generation (`Asic::BINNING`, in
    /// spec order; the rest zero): bit `i` of mask `r` marks unit `i` of rule `r` faulty. With
    /// `n` faulty units the rule's first `n` substitutes stand in and their queues are binned on
    /// this device; more than the rule allows is [`DeviceError::Binning`](crate::DeviceError).
    pub fuse_masks: [u64; MAX_FUSE_MASKS],
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
            fuse_masks: [0; MAX_FUSE_MASKS],
        }
    }
}

impl DeviceConfig {
    /// The driver core's part.
    pub(crate) fn driver(&self) -> DriverConfig {
        DriverConfig {
            contexts: self.contexts,
            tdr_timeout: self.tdr_timeout,
            reset_on_lockup: self.reset_on_lockup,
            clock: self.clock,
            lanes: self.sim.lanes,
            poll_spins: self.sim.poll_spins,
            lane_cpu: self.sim.lane_cpu,
            fuse_masks: self.fuse_masks,
        }
    }
}
