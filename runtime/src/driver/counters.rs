//! CS drop counters (`struct hl_cs_counters_atomic`), kept per device and per context.
//!
//! Every rejected CS bumps exactly one counter, in both the device's and the context's set, as
//! the driver does with `hdev->aggregated_cs_counters` and `ctx->cs_counters`. They are exposed
//! like `HL_INFO_CS_COUNTERS`: as a [`CsCounters`] snapshot.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which drop counter a rejection bumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropCounter {
    /// `out_of_mem_drop_cnt`: an allocation or a fixed-size resource ran out.
    OutOfMem,
    /// `parsing_drop_cnt`: the CS parser refused a job.
    Parsing,
    /// `queue_full_drop_cnt`: a hardware or completion queue had no room (try again).
    QueueFull,
    /// `device_in_reset_drop_cnt`: the device was not operational.
    DeviceInReset,
    /// `max_cs_in_flight_drop_cnt`: the context's pending ring slot was busy (try again).
    MaxCsInFlight,
    /// `validation_drop_cnt`: the CS or one of its jobs broke a rule.
    Validation,
}

impl DropCounter {
    /// Every counter, in `hl_info_cs_counters` order.
    pub const ALL: [DropCounter; 6] = [
        DropCounter::OutOfMem,
        DropCounter::Parsing,
        DropCounter::QueueFull,
        DropCounter::DeviceInReset,
        DropCounter::MaxCsInFlight,
        DropCounter::Validation,
    ];

    const fn index(self) -> usize {
        self as usize
    }
}

/// A snapshot of the six drop counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct CsCounters {
    /// CSs dropped because memory or a fixed resource ran out.
    pub out_of_mem: u64,
    /// CSs dropped by the parser.
    pub parsing: u64,
    /// CSs dropped because a queue was full.
    pub queue_full: u64,
    /// CSs dropped because the device was in reset or not operational.
    pub device_in_reset: u64,
    /// CSs dropped because too many were in flight.
    pub max_cs_in_flight: u64,
    /// CSs dropped by validation.
    pub validation: u64,
}

impl CsCounters {
    /// The value of one counter.
    pub const fn get(&self, which: DropCounter) -> u64 {
        match which {
            DropCounter::OutOfMem => self.out_of_mem,
            DropCounter::Parsing => self.parsing,
            DropCounter::QueueFull => self.queue_full,
            DropCounter::DeviceInReset => self.device_in_reset,
            DropCounter::MaxCsInFlight => self.max_cs_in_flight,
            DropCounter::Validation => self.validation,
        }
    }

    /// Sum of every counter.
    pub const fn total(&self) -> u64 {
        self.out_of_mem
            + self.parsing
            + self.queue_full
            + self.device_in_reset
            + self.max_cs_in_flight
            + self.validation
    }
}

impl fmt::Display for CsCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "out_of_mem {}, parsing {}, queue_full {}, device_in_reset {}, max_cs_in_flight {}, validation {}",
            self.out_of_mem,
            self.parsing,
            self.queue_full,
            self.device_in_reset,
            self.max_cs_in_flight,
            self.validation
        )
    }
}

/// The live, atomic set (`struct hl_cs_counters_atomic`).
#[derive(Debug, Default)]
pub(crate) struct AtomicCsCounters {
    counts: [AtomicU64; 6],
}

impl AtomicCsCounters {
    pub(crate) fn bump(&self, which: DropCounter) {
        // Relaxed: statistics, read as a snapshot; nothing is ordered by them.
        self.counts[which.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Every count back to 0 (a context slot opened again).
    pub(crate) fn clear(&self) {
        for c in &self.counts {
            c.store(0, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> CsCounters {
        let get = |which: DropCounter| self.counts[which.index()].load(Ordering::Relaxed);
        CsCounters {
            out_of_mem: get(DropCounter::OutOfMem),
            parsing: get(DropCounter::Parsing),
            queue_full: get(DropCounter::QueueFull),
            device_in_reset: get(DropCounter::DeviceInReset),
            max_cs_in_flight: get(DropCounter::MaxCsInFlight),
            validation: get(DropCounter::Validation),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_and_snapshot() {
        let c = AtomicCsCounters::default();
        c.bump(DropCounter::QueueFull);
        c.bump(DropCounter::QueueFull);
        c.bump(DropCounter::Validation);
        let s = c.snapshot();
        assert_eq!(s.get(DropCounter::QueueFull), 2);
        assert_eq!(s.total(), 3);
        assert!(s.to_string().contains("queue_full 2"));
    }
}
