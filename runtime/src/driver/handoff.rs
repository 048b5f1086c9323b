//! What the submission side (`HwQueues`, the driver's `hw_queues_lock`) and the completion side
//! (`State`, the driver's `cs_mirror_lock` and the CQ interrupt) share without sharing a lock.
//!
//! The driver's submission path and its completion path take different locks and meet in the
//! hardware: the submitter writes buffer descriptors and rings a doorbell (`pi`), the engines
//! report back through completion queues and `ci`. The device keeps that split:
//!
//! - **submission log**: one entry per CS written to its queues, in submission order. The
//!   completion side moves entries into its mirror list (firing `Submit`, arming the TDR for a new
//!   head) before it completes anything, so the mirror list keeps submission order and a job never
//!   completes before its CS is in the list;
//! - **lane rings**: the jobs handed to each engine lane (what the hardware fetches from its
//!   queue). A job is pushed after its CS's log entry, and the completion side drains the lane
//!   rings before the log, so every job it drains has its CS's entry visible;
//! - **indexes the other side moves**: each queue's `ci` and each completion queue's count of
//!   released entries are written only by the completion side and read by the submitter, which
//!   keeps its own cached copies and reloads them only when a space check would fail (the usual
//!   single-producer/single-consumer trick: one cache line transfer per refill, not per CS);
//! - the CS's `(queue, count)` uses: the first rides in its log entry; the rest (a CS on several
//!   queues) go to the per-record use table, written by the submitter before the log entry is
//!   pushed (the push publishes them) and read by the completion side after the entry is
//!   drained; a row is only rewritten once its CS's fence was signalled, which happens after its
//!   release. (The first rides along because the table is large, a row per ring slot of every
//!   context, and a CS on one queue would otherwise write a cold line of it per submission:
//!   about a quarter of a same-CPU submission's time in the profile, BENCHMARKS.md.)
//!
//! A reset takes both locks (submission first, the driver's order) and resets all of it.

use crate::driver::backend::EngineJob;
use crate::driver::config::ClockMode;
use crate::fence::Fence;
use crate::fence::Timestamp;
use crate::sync::CacheLine;
use crate::sync::channel::{Carried, Cursor, Doorbell, Hint, VirtualClock};
use crate::sync::handshake::SleepHandshake;
use crate::sync::spin::CpuSeen;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Most entries a ring holds before a submitter drains it itself (taking the completion lock).
/// The workers drain continuously, so a ring only fills while they are held up; a small ring
/// keeps its slots in cache.
const RING_MAX: usize = 1 << 10;

/// The rings' two ends: the producers live with the submission side, the consumers with the
/// completion side, so each end is only ever used under its side's lock (single producer,
/// single consumer: `rtrb`, whose ends cache each other's index and touch the shared one only
/// when the cached one says full or empty).
pub(crate) struct Rings {
    pub(crate) log: rtrb::Producer<Submitted>,
    pub(crate) lanes: Box<[rtrb::Producer<EngineJob>]>,
}

/// The consuming ends of [`Rings`].
pub(crate) struct RingEnds {
    pub(crate) log: rtrb::Consumer<Submitted>,
    pub(crate) lanes: Box<[rtrb::Consumer<EngineJob>]>,
}

/// A submission log with room for `records` CSs and a job ring per lane.
pub(crate) fn rings(records: usize, lane_caps: &[usize]) -> (Rings, RingEnds) {
    let (log, log_end) = rtrb::RingBuffer::new(records.clamp(1, RING_MAX));
    let (lanes, lane_ends): (Vec<_>, Vec<_>) = lane_caps
        .iter()
        .map(|&cap| rtrb::RingBuffer::new(cap.clamp(1, RING_MAX)))
        .unzip();
    (
        Rings {
            log,
            lanes: lanes.into(),
        },
        RingEnds {
            log: log_end,
            lanes: lane_ends.into(),
        },
    )
}

/// A CS the submitter wrote to its queues, on its way to the mirror list.
pub(crate) struct Submitted {
    /// Record index (context ring slot).
    pub(crate) record: u32,
    pub(crate) seq: u64,
    /// Unique per device (`EngineJob::ticket`).
    pub(crate) ticket: u64,
    /// The CS's own fence reference (`cs->fence`).
    pub(crate) fence: Fence,
    /// TDR timeout in ns, `None` for no timer.
    pub(crate) timeout_ns: Option<u64>,
    /// Jobs with their own completion.
    pub(crate) pending: u32,
    /// Its `(queue, count)` uses: the first (packed as in [`Handoff::uses`]), and how many
    /// there are in all (the rest are in the use table).
    pub(crate) first_use: u64,
    pub(crate) uses: u16,
    /// `HL_CS_FLAGS_TIMESTAMP`.
    pub(crate) wants_timestamp: bool,
    /// What it does to the sync manager (§5).
    pub(crate) sync: crate::driver::sync_stream::SyncRole,
}

/// The lock-free meeting point of the two sides (module docs). Every word one side writes sits
/// on cache lines of its own (`CacheLine`): the submitter rings a doorbell per CS and the worker
/// moves `ci`, the CQ counts and `progress` per batch, and on shared lines each write would
/// take the line from under the other side's reads (cross-core throughput about a tenth higher
/// padded, BENCHMARKS.md).
pub(crate) struct Handoff {
    /// Per lane, whether and until when its worker (real mode) sleeps, and the fences that
    /// keep a submitter and a parking worker from missing each other (`handshake.rs`).
    pub(crate) lane_sleep: Box<[CacheLine<SleepHandshake>]>,
    /// Per lane, jobs pushed so far: the doorbell a spinning worker watches. Written only under
    /// the submission lock, so a plain store (no locked instruction on the submit path).
    pub(crate) lane_pushed: Box<[CacheLine<Doorbell>]>,
    /// Completion batches run so far (real mode): a spinning waiter that sees this move knows
    /// a worker is running on another CPU, even if its own CS is not done yet.
    pub(crate) progress: CacheLine<Hint>,
    /// Per queue (position in `A::QUEUES`), `ci` in `[0, 2L)`.
    pub(crate) ci: Box<[CacheLine<Cursor>]>,
    /// Per completion queue, entries given back since the last reset (wrapping).
    pub(crate) cq_released: Box<[CacheLine<Cursor>]>,
    /// Per record, `stride` packed `(queue index << 32) | job count` pairs: the jobs of the CS
    /// on each of its queues but the first (which rides in its [`Submitted`] entry) whose `ci`
    /// has not moved on yet.
    pub(crate) uses: Box<[Carried]>,
    pub(crate) stride: usize,
    /// The virtual clock (ns); moved only by the completion side.
    pub(crate) virtual_now: VirtualClock,
    /// Whether the device takes work; written with the completion lock held.
    pub(crate) operational: Arc<AtomicBool>,
    /// The device was torn down: it never takes work again.
    dead: AtomicBool,
    /// The engines were stopped (a runner's threads joined) and none has started since: no CS
    /// is taken, since nothing would run it or time it out. Written with both locks held.
    halted: AtomicBool,
    /// Where a submitter last ran when it had to wake a sleeping worker: a worker spins for
    /// pushes from another CPU rather than sleep (`spin.rs`).
    pub(crate) submitter_cpu: CacheLine<CpuSeen>,
    /// Per lane, where its worker last ran: a waiter spins for its CS rather than sleep if that
    /// is another CPU, and polls the engines itself if it is its own (`Core::poll_engines`).
    pub(crate) worker_cpu: Box<[CacheLine<CpuSeen>]>,
}

impl Handoff {
    pub(crate) fn new(
        records: usize,
        stride: usize,
        lanes: usize,
        queues: usize,
        cqs: usize,
        operational: Arc<AtomicBool>,
    ) -> Handoff {
        Handoff {
            lane_sleep: (0..lanes)
                .map(|_| CacheLine(SleepHandshake::new()))
                .collect(),
            lane_pushed: (0..lanes).map(|_| CacheLine(Doorbell::new())).collect(),
            progress: CacheLine(Hint::new()),
            ci: (0..queues).map(|_| CacheLine(Cursor::new())).collect(),
            cq_released: (0..cqs).map(|_| CacheLine(Cursor::new())).collect(),
            uses: (0..records * stride).map(|_| Carried::new()).collect(),
            stride,
            virtual_now: VirtualClock::new(),
            operational,
            dead: AtomicBool::new(false),
            halted: AtomicBool::new(false),
            submitter_cpu: CacheLine(CpuSeen::new()),
            worker_cpu: (0..lanes).map(|_| CacheLine(CpuSeen::new())).collect(),
        }
    }

    /// Whether some lane's worker was last seen on `cpu`: it cannot run while we do there.
    pub(crate) fn a_worker_is_here(&self, cpu: Option<u32>) -> bool {
        self.worker_cpu.iter().any(|seen| seen.here(cpu))
    }

    /// Whether the lanes' workers were last seen on other CPUs than `cpu` (none on it, one at
    /// least seen somewhere).
    pub(crate) fn workers_are_elsewhere(&self, cpu: Option<u32>) -> bool {
        !self.a_worker_is_here(cpu) && self.worker_cpu.iter().any(|seen| seen.elsewhere(cpu))
    }

    pub(crate) fn set_operational(&self, on: bool) {
        // Release: a submitter that sees `true` again sees the reset queues (it takes the
        // submission lock anyway before touching them; this only orders the early `-EBUSY`).
        self.operational.store(on, Ordering::Release);
    }

    /// The device clock in ns: the virtual clock, or `CLOCK_MONOTONIC`. The one place the
    /// clock mode is looked at.
    pub(crate) fn now(&self, clock: ClockMode) -> u64 {
        match clock {
            ClockMode::Virtual => self.virtual_now.now(),
            ClockMode::Real => Timestamp::now().as_nanos(),
        }
    }

    /// Take the device out of service for good (device fini).
    pub(crate) fn kill(&self) {
        self.dead.store(true, Ordering::Release);
        self.set_operational(false);
    }

    /// The engines stopped (both locks held): refuse new CSs until [`resume`](Self::resume).
    pub(crate) fn halt(&self) {
        self.halted.store(true, Ordering::Relaxed);
    }

    /// Engines run again.
    pub(crate) fn resume(&self) {
        self.halted.store(false, Ordering::Release);
    }

    /// Read under the submission lock, which orders it against [`halt`](Self::halt).
    pub(crate) fn is_halted(&self) -> bool {
        self.halted.load(Ordering::Acquire)
    }

    pub(crate) fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    pub(crate) fn is_operational(&self) -> bool {
        self.operational.load(Ordering::Relaxed)
    }
}
