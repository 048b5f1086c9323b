//! Sync streams (§5): signal and wait CSs, collective waits and reserved (encapsulated) signals,
//! built on the sync manager's sync objects (SOBs) and monitors.
//!
//! Two halves, as in the driver and its hardware:
//!
//! - **the driver's bookkeeping** (`SyncStreams`, submission side, under the `hw_queues_lock`
//!   as `hl_hw_queue_schedule_cs` and the reserve/unreserve ioctls hold it): per sync-stream
//!   queue its two reserved SOBs and its monitor (ids from the spec's `sync_stream` range:
//!   `first_sob + idx * 2`, `first_monitor + idx`), the current SOB and `next_sob_val`, the
//!   wrap-around handler, per CS row the SOB and value a signal CS was given, and per context
//!   its reservation handles;
//! - **the sync manager itself** (`SyncManager`, completion side, under the `cs_mirror_lock`):
//!   SOB values (15 bits), the SOB references (`hw_sob->kref`; a put that reaches zero resets
//!   the SOB to 0 and its count to 1, as `hl_sob_reset` does) and the monitors: a wait job that
//!   reaches its engine before its SOB reached the value is held there (its monitor is armed)
//!   with every later job of its queue behind it, and released when a signal job moves the SOB
//!   far enough (the monitor fires).
//!
//! The submission side reaches the completion side only through the completion lock, taken
//! from its own guard (the driver's lock order), so a SOB increment and a monitor arming never
//! race: both run under the completion lock. That is why there is no loom model of the
//! "monitor armed after the signal" race: it cannot happen here, by construction.

use crate::asic::{Asic, CollectiveMode, EngineKind};
use crate::driver::backend::EngineJob;
use crate::driver::state::engine_index;
use crate::driver::submit::{CsSubmit, Work};
use std::collections::VecDeque;
use std::time::Duration;

/// `HL_MAX_SOB_VAL`: SOB values are 15 bits; a SOB is switched before its value reaches this.
pub const MAX_SOB_VAL: u32 = 1 << 15;

/// `HL_RSVD_SOBS`: SOBs each sync-stream queue reserves, used alternately.
pub const RSVD_SOBS: u32 = 2;

/// A signal CS (`HL_CS_FLAGS_SIGNAL`): one job on a sync-stream queue that adds 1 to the
/// queue's current SOB when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalSubmit {
    /// Raw uapi queue id (it must support sync streams).
    pub queue: u32,
    /// What the job does on the simulated device before it signals.
    pub work: Work,
    /// Its own TDR timeout (`HL_CS_FLAGS_CUSTOM_TIMEOUT`), as [`CsSubmit::timeout`](crate::CsSubmit::timeout).
    pub timeout: Option<Duration>,
    /// Record the completion time on the fence.
    pub timestamp: bool,
}

impl SignalSubmit {
    /// A signal CS on `queue`.
    pub const fn new(queue: u32) -> SignalSubmit {
        SignalSubmit {
            queue,
            work: Work::Default,
            timeout: None,
            timestamp: false,
        }
    }

    /// The same CS doing `work`.
    pub const fn with_work(self, work: Work) -> SignalSubmit {
        SignalSubmit { work, ..self }
    }

    /// The same CS with its own TDR timeout.
    pub const fn with_timeout(self, timeout: Duration) -> SignalSubmit {
        SignalSubmit {
            timeout: Some(timeout),
            ..self
        }
    }
}

/// A wait CS (`HL_CS_FLAGS_WAIT`): one job on a sync-stream queue that arms the queue's monitor
/// on the SOB value a signal CS of the same context was given, then fences on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WaitSubmit<'a> {
    /// Raw uapi queue id (it must support sync streams).
    pub queue: u32,
    /// `signal_seq_arr`: the driver takes exactly one seq.
    pub signal_seqs: &'a [u64],
    /// What the job does on the simulated device once the monitor fired.
    pub work: Work,
    /// Its own TDR timeout.
    pub timeout: Option<Duration>,
    /// Record the completion time on the fence.
    pub timestamp: bool,
}

impl<'a> WaitSubmit<'a> {
    /// A wait CS on `queue` for the signal CSs `signal_seqs` (exactly one is valid).
    pub const fn new(queue: u32, signal_seqs: &'a [u64]) -> WaitSubmit<'a> {
        WaitSubmit {
            queue,
            signal_seqs,
            work: Work::Run(Duration::ZERO),
            timeout: None,
            timestamp: false,
        }
    }

    /// The same CS doing `work` after the fence.
    pub const fn with_work(self, work: Work) -> WaitSubmit<'a> {
        WaitSubmit { work, ..self }
    }

    /// The same CS with its own TDR timeout.
    pub const fn with_timeout(self, timeout: Duration) -> WaitSubmit<'a> {
        WaitSubmit {
            timeout: Some(timeout),
            ..self
        }
    }
}

/// A collective wait CS (`HL_CS_FLAGS_COLLECTIVE_WAIT`, Gaudi): a wait on a collective master
/// queue, with a job on each collective slave queue of the same stream (the NIC queues whose
/// engine is not binned, and the queue of `collective_engine`), all waiting for the signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CollectiveWaitSubmit<'a> {
    /// Raw uapi id of the master queue.
    pub queue: u32,
    /// Uapi engine id of the reduction engine (`collective_engine_id`): one whose queues are
    /// collective slaves and that is not a NIC.
    pub collective_engine: u32,
    /// `signal_seq_arr`: exactly one seq.
    pub signal_seqs: &'a [u64],
    /// Its own TDR timeout.
    pub timeout: Option<Duration>,
    /// Record the completion time on the fence.
    pub timestamp: bool,
}

impl<'a> CollectiveWaitSubmit<'a> {
    /// A collective wait on master `queue` with reduction engine `collective_engine`.
    pub const fn new(
        queue: u32,
        collective_engine: u32,
        signal_seqs: &'a [u64],
    ) -> CollectiveWaitSubmit<'a> {
        CollectiveWaitSubmit {
            queue,
            collective_engine,
            signal_seqs,
            timeout: None,
            timestamp: false,
        }
    }
}

/// A signal CS on its queue (the ioctl's `seq`, `sob_base_addr_offset` and
/// `sob_count_before_submission`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalCs {
    /// Its seq.
    pub seq: u64,
    /// The SOB id the queue signals now (after a wrap-around, the other reserved SOB).
    pub sob: u32,
    /// `next_sob_val - 1` after this CS took its value.
    pub sob_count_before: u32,
}

/// What a wait or collective wait CS ioctl did. The driver returns 0 without creating a CS when
/// the signal it would wait for is already done, so "no CS" is a success, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitCs {
    /// A wait CS was created and written to its queue(s).
    Submitted {
        /// Its seq.
        seq: u64,
    },
    /// The signal CS had completed (or its seq is gone from the ring, read as completed): no
    /// wait CS exists and the ioctl returned 0. If the signal completed only after the wait CS
    /// had taken a seq (the check made again at schedule time), that seq is used up: it is
    /// released as not submitted (a wait on it reports completed) and named here.
    SignalDone {
        /// The seq the dropped wait CS used up, if it got that far.
        consumed_seq: Option<u64>,
    },
}

impl WaitCs {
    /// The seq of the wait CS, if one was created.
    pub const fn seq(&self) -> Option<u64> {
        match self {
            WaitCs::Submitted { seq } => Some(*seq),
            WaitCs::SignalDone { .. } => None,
        }
    }
}

/// Signals reserved on a queue (`HL_CS_FLAGS_RESERVE_SIGNALS_ONLY`): the ioctl's `handle_id`,
/// `sob_base_addr_offset` and `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalReservation {
    /// The handle (per context, from 1).
    pub handle: u32,
    /// The SOB id the signals are on.
    pub sob: u32,
    /// The queue's `next_sob_val` after the reservation (what the ioctl reports as `count`).
    pub count: u32,
    /// The first reserved value (`pre_sob_val`).
    pub first_value: u32,
}

/// A CS of a staged submission (`HL_CS_FLAGS_STAGED_SUBMISSION`, Gaudi): several CSs the
/// hardware runs as one. Only the last one reports completion (its jobs write CQ entries),
/// only the first one is timed (its TDR covers the chain), and every CS of the chain is
/// released when the last one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StagedSubmit<'a> {
    /// The CS (its timeout counts only on the first CS).
    pub cs: CsSubmit<'a>,
    /// `HL_CS_FLAGS_STAGED_SUBMISSION_FIRST`: this CS opens the submission; its seq becomes the
    /// staged seq.
    pub first: bool,
    /// `HL_CS_FLAGS_STAGED_SUBMISSION_LAST`: this CS closes it.
    pub last: bool,
    /// `in.seq`: the staged seq (the first CS's), for a CS that is not the first.
    pub staged_seq: u64,
    /// `HL_CS_FLAGS_ENCAP_SIGNALS` with `encaps_sig_handle_id`, on the first CS: the
    /// reservation whose signals this submission sends (ignored on a later CS). The handle is
    /// then bound to the staged seq and leaves the context's handles.
    pub encaps_handle: Option<u32>,
}

impl<'a> StagedSubmit<'a> {
    /// The first CS of a staged submission.
    pub const fn first(cs: CsSubmit<'a>) -> StagedSubmit<'a> {
        StagedSubmit {
            cs,
            first: true,
            last: false,
            staged_seq: 0,
            encaps_handle: None,
        }
    }

    /// A later CS of staged submission `staged_seq`.
    pub const fn next(cs: CsSubmit<'a>, staged_seq: u64) -> StagedSubmit<'a> {
        StagedSubmit {
            cs,
            first: false,
            last: false,
            staged_seq,
            encaps_handle: None,
        }
    }

    /// The same CS, closing the submission.
    pub const fn last(self) -> StagedSubmit<'a> {
        StagedSubmit { last: true, ..self }
    }

    /// The same (first) CS, sending the signals of reservation `handle`.
    pub const fn with_encaps_signals(self, handle: u32) -> StagedSubmit<'a> {
        StagedSubmit {
            encaps_handle: Some(handle),
            ..self
        }
    }
}

/// A wait CS on encapsulated signals (`HL_CS_FLAGS_WAIT | HL_CS_FLAGS_ENCAP_SIGNALS`): it
/// waits for signal `offset` of the reservation bound to staged submission `staged_seq`
/// (`pre_sob_val + offset - 1`; offset 0 waits for the first, as offset 1 does).
///
/// The runtime's device sends a bound reservation's signals when the staged submission
/// completes (the user CBs that would send them one by one are not simulated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncapsWaitSubmit {
    /// Raw uapi queue id (it must support sync streams).
    pub queue: u32,
    /// `encaps_signal_seq`: the staged seq the reservation was bound to.
    pub staged_seq: u64,
    /// `encaps_signal_offset`.
    pub offset: u32,
    /// What the job does on the simulated device once the monitor fired.
    pub work: Work,
    /// Its own TDR timeout.
    pub timeout: Option<Duration>,
}

impl EncapsWaitSubmit {
    /// A wait on `queue` for signal `offset` of the reservation bound to `staged_seq`.
    pub const fn new(queue: u32, staged_seq: u64, offset: u32) -> EncapsWaitSubmit {
        EncapsWaitSubmit {
            queue,
            staged_seq,
            offset,
            work: Work::Run(Duration::ZERO),
            timeout: None,
        }
    }
}

/// A CS of a staged submission was scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StagedCs {
    /// The staged seq, which the ioctl returns for every CS of the submission (a wait on it
    /// returns when the whole submission was released).
    pub seq: u64,
    /// This CS's own seq.
    pub cs_seq: u64,
}

/// Per CS row, its place in a staged submission (`staged_first`, `staged_last`,
/// `staged_sequence`), valid while `ticket` is the row's CS's ticket.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StagedInfo {
    pub(crate) ticket: u64,
    /// Row and ticket of the submission's first CS.
    pub(crate) chain: u32,
    pub(crate) chain_ticket: u64,
    pub(crate) first: bool,
    pub(crate) last: bool,
    /// On the first CS: a last CS has joined.
    pub(crate) has_last: bool,
    /// On the first CS: the reservation bound to it (`ENCAP_SIGNALS`): its SOB (whose reference
    /// the CS now holds), `pre_sob_val` and count.
    pub(crate) encaps: Option<(u16, u32, u32)>,
}

/// Why a queue was refused for a sync-stream operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncQueueRejection {
    /// No queue has this id.
    Unknown,
    /// The queue does not support sync-stream operations.
    NoSyncStream,
    /// A collective wait names a queue that is not a collective master.
    NotCollectiveMaster,
}

impl std::fmt::Display for SyncQueueRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SyncQueueRejection::Unknown => "no such queue",
            SyncQueueRejection::NoSyncStream => "the queue does not support sync stream operations",
            SyncQueueRejection::NotCollectiveMaster => "the queue is not a collective master",
        })
    }
}

/// What a sync-stream queue reserves in the sync manager (`sync_stream_queue_init`): two SOBs,
/// used alternately, and one monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReservedIds {
    /// `base_sob_id` and the SOB after it.
    pub sobs: [u32; 2],
    /// `base_mon_id`.
    pub monitor: u32,
}

/// The sync manager's use now, for leak checks: with no CS in flight and no reservation held,
/// every count is zero (the reserved baseline).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SyncStats {
    /// References on the reserved SOBs beyond each SOB's own (`kref - 1`, summed).
    pub sob_refs_held: u32,
    /// Monitors armed now (a wait job held on its engine).
    pub monitors_armed: u32,
    /// Jobs held behind an armed monitor (the waits themselves included).
    pub held_jobs: u32,
    /// Reservation handles alive over every context.
    pub reservations: u32,
}

impl SyncStats {
    /// Nothing held: the reserved baseline.
    pub const fn is_baseline(&self) -> bool {
        self.sob_refs_held == 0
            && self.monitors_armed == 0
            && self.held_jobs == 0
            && self.reservations == 0
    }
}

/// What a CS does to the sync manager, recorded on its row: a signal adds 1 to `sob` when its
/// job runs; a wait's jobs are held until `sob` reaches `val`. Both hold a reference on `sob`
/// that their release puts (`cs_release_sob_reset_handler`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum SyncRole {
    #[default]
    None,
    Signal {
        sob: u16,
    },
    Wait {
        sob: u16,
        val: u16,
    },
}

impl SyncRole {
    /// The SOB whose reference the CS holds.
    pub(crate) fn sob(self) -> Option<u16> {
        match self {
            SyncRole::None => None,
            SyncRole::Signal { sob } | SyncRole::Wait { sob, .. } => Some(sob),
        }
    }
}

/// One sync-stream queue's `hl_sync_stream_properties`.
#[derive(Debug, Clone, Copy)]
struct StreamProp {
    /// Index of its first reserved SOB in the bank (`idx * 2`).
    bank: u16,
    /// `base_mon_id`.
    monitor: u32,
    /// `curr_sob_offset`.
    curr: u8,
    next_sob_val: u32,
}

impl StreamProp {
    fn current(&self) -> u16 {
        self.bank + u16::from(self.curr)
    }
}

/// A signal CS's `hl_cs_compl` fields, kept per CS row.
#[derive(Debug, Clone, Copy, Default)]
struct SignalInfo {
    seq: u64,
    sob: u16,
    val: u16,
    /// Device resets before it was scheduled: a reset since rolled it back.
    epoch: u64,
}

/// An encapsulated-signals handle (`struct hl_cs_encaps_sig_handle`).
#[derive(Debug, Clone, Copy)]
struct Reservation {
    id: u32,
    queue: usize,
    sob: u16,
    pre_sob_val: u32,
    count: u32,
}

/// The sync-stream range of `A`'s sync-manager layout: its first SOB and first monitor (both 0
/// if the spec states no such range).
fn sync_stream_range<A: Asic>() -> (u32, u32) {
    A::SYNC_MANAGER
        .and_then(|sm| sm.ranges.iter().find(|r| r.name == "sync_stream").copied())
        .map_or((0, 0), |r| (r.first_sob, r.first_monitor))
}

/// The stream of queue `q`: its position among the queues of its engine.
pub(crate) fn stream_of<A: Asic>(q: usize) -> usize {
    let engine = A::QUEUES[q].engine;
    A::QUEUES[..q]
        .iter()
        .filter(|p| p.engine.is_some() && p.engine == engine)
        .count()
}

/// The driver's side of the sync manager (module docs); lives in the submission side.
pub(crate) struct SyncStreams {
    /// Per queue position, if the queue supports sync streams.
    props: Box<[Option<StreamProp>]>,
    /// SOB id of bank index 0.
    first_sob: u32,
    /// Per CS row (context slot × ring slot): the signal CS that holds it.
    signals: Box<[SignalInfo]>,
    /// Per context slot: its reservation handles.
    handles: Box<[Vec<Reservation>]>,
    /// Device resets so far.
    epoch: u64,
}

/// The wrap-around handler's refusal: the other SOB is still referenced.
pub(crate) struct CannotSwitch;

/// What `init_signal_cs` gave a signal CS.
pub(crate) struct SignalInit {
    /// Bank index of the SOB it adds to.
    pub(crate) sob: u16,
    /// The value it brings that SOB to.
    pub(crate) val: u32,
    /// The SOB id the queue signals now.
    pub(crate) current_sob_id: u32,
    /// `next_sob_val - 1`.
    pub(crate) count_before: u32,
}

impl SyncStreams {
    pub(crate) fn new<A: Asic>(records: usize, contexts: usize) -> SyncStreams {
        let (first_sob, first_monitor) = sync_stream_range::<A>();
        let mut idx = 0u16;
        let props = A::QUEUES
            .iter()
            .map(|q| {
                q.supports_sync_stream.then(|| {
                    let p = StreamProp {
                        bank: idx * RSVD_SOBS as u16,
                        monitor: first_monitor + u32::from(idx),
                        curr: 0,
                        next_sob_val: 1,
                    };
                    idx += 1;
                    p
                })
            })
            .collect();
        let any = A::FEATURES.sync_stream && idx > 0;
        SyncStreams {
            props,
            first_sob,
            signals: vec![SignalInfo::default(); if any { records } else { 0 }].into_boxed_slice(),
            handles: (0..contexts).map(|_| Vec::new()).collect(),
            epoch: 0,
        }
    }

    /// SOBs in the bank.
    pub(crate) fn bank_len(&self) -> usize {
        self.props.iter().flatten().count() * RSVD_SOBS as usize
    }

    /// The SOB id of bank index `b`.
    pub(crate) fn sob_id(&self, b: u16) -> u32 {
        self.first_sob + u32::from(b)
    }

    /// The bank index of SOB id `sob`, if it is one of the sync-stream SOBs.
    pub(crate) fn bank_index(&self, sob: u32) -> Option<u16> {
        let b = sob.checked_sub(self.first_sob)?;
        ((b as usize) < self.bank_len()).then_some(b as u16)
    }

    /// The reserved ids of queue `q`: its two SOBs and its monitor.
    pub(crate) fn reserved(&self, q: usize) -> Option<ReservedIds> {
        let p = self.props.get(q).copied().flatten()?;
        Some(ReservedIds {
            sobs: [self.sob_id(p.bank), self.sob_id(p.bank + 1)],
            monitor: p.monitor,
        })
    }

    /// `hl_cs_signal_sob_wraparound_handler` for queue `q` (which supports sync streams):
    /// takes a reference on the current SOB and moves `next_sob_val` on by `count`; if that
    /// would reach [`MAX_SOB_VAL`], gives the reference back and switches to the other reserved
    /// SOB, which must hold no reference but its own. Returns the SOB now current.
    fn wraparound(
        &mut self,
        q: usize,
        count: u32,
        encaps: bool,
        sm: &mut SyncManager,
    ) -> Result<u16, CannotSwitch> {
        let Some(prop) = self.props[q].as_mut() else {
            return Err(CannotSwitch);
        };
        let sob = prop.current();
        sm.get(sob);
        if prop.next_sob_val + count >= MAX_SOB_VAL {
            // hw_sob_put_err: the reference just taken, never the last one.
            sm.put_no_reset(sob);
            let other_curr = (prop.curr + 1) % RSVD_SOBS as u8;
            let other = prop.bank + u16::from(other_curr);
            if sm.kref(other) != 1 {
                return Err(CannotSwitch);
            }
            prop.next_sob_val = if encaps { count + 1 } else { count };
            prop.curr = other_curr;
            if sm.need_reset(other) {
                sm.put(other);
            }
            if encaps {
                sm.set_need_reset(sob);
                sm.get(other);
            }
            Ok(other)
        } else {
            prop.next_sob_val += count;
            Ok(sob)
        }
    }

    /// `init_signal_cs` for queue `q`: the SOB the signal CS adds to and the value it brings
    /// that SOB to (`cs_cmpl->hw_sob`, `cs_cmpl->sob_val`, taken before the wrap-around
    /// handler), then the handler; returns those with the SOB id now current and
    /// `next_sob_val - 1`. The CS's reference on its SOB is the handler's; after a switch the
    /// handler gave it back, so this CS's release puts the old SOB's last reference and resets
    /// it.
    pub(crate) fn init_signal(
        &mut self,
        q: usize,
        sm: &mut SyncManager,
    ) -> Result<SignalInit, CannotSwitch> {
        let Some(prop) = self.props[q] else {
            return Err(CannotSwitch);
        };
        let sob = prop.current();
        let val = prop.next_sob_val;
        let now = self.wraparound(q, 1, false, sm)?;
        let next = self.props[q].map_or(1, |p| p.next_sob_val);
        Ok(SignalInit {
            sob,
            val,
            current_sob_id: self.sob_id(now),
            count_before: next - 1,
        })
    }

    /// Remember that row `record` holds signal CS `seq`, adding to `sob` up to `val`.
    pub(crate) fn record_signal(&mut self, record: u32, seq: u64, sob: u16, val: u32) {
        let epoch = self.epoch;
        if let Some(s) = self.signals.get_mut(record as usize) {
            *s = SignalInfo {
                seq,
                sob,
                val: val as u16,
                epoch,
            };
        }
    }

    /// The SOB and value of signal CS `seq` in row `record`, if that row holds it, and whether
    /// a device reset rolled it back since (its fence may not be signalled yet: fences are
    /// signalled after the reset dropped its locks, but the SOBs it counted on are gone).
    pub(crate) fn signal_of(&self, record: usize, seq: u64) -> Option<(u16, u16, bool)> {
        self.signals
            .get(record)
            .filter(|s| s.seq == seq)
            .map(|s| (s.sob, s.val, s.epoch != self.epoch))
    }

    /// The value the next signal CS on `q` is given.
    pub(crate) fn next_sob_val(&self, q: usize) -> Option<u32> {
        self.props.get(q).copied().flatten().map(|p| p.next_sob_val)
    }

    /// `cs_ioctl_reserve_signals` after its checks: reserve `count` signals on `q` for context
    /// slot `ctx`.
    pub(crate) fn reserve(
        &mut self,
        ctx: usize,
        q: usize,
        count: u32,
        sm: &mut SyncManager,
    ) -> Result<SignalReservation, CannotSwitch> {
        let sob = self.wraparound(q, count, true, sm)?;
        let next = self.props[q].map_or(1, |p| p.next_sob_val);
        let handles = &mut self.handles[ctx];
        // idr_alloc(.., 1, 0): the lowest free id from 1.
        let mut id = 1u32;
        while handles.iter().any(|h| h.id == id) {
            id += 1;
        }
        let pre_sob_val = next - count;
        handles.push(Reservation {
            id,
            queue: q,
            sob,
            pre_sob_val,
            count,
        });
        Ok(SignalReservation {
            handle: id,
            sob: self.sob_id(sob),
            count: next,
            first_value: pre_sob_val,
        })
    }

    /// `cs_ioctl_unreserve_signals`: `Err(true)` if there is no such handle, `Err(false)` if
    /// the SOB moved since the reservation (the handle is kept).
    pub(crate) fn unreserve(
        &mut self,
        ctx: usize,
        handle: u32,
        sm: &mut SyncManager,
    ) -> Result<(), bool> {
        let handles = &mut self.handles[ctx];
        let i = handles.iter().position(|h| h.id == handle).ok_or(true)?;
        let h = handles[i];
        let Some(prop) = self.props[h.queue].as_mut() else {
            return Err(true);
        };
        let current = prop.current();
        if h.pre_sob_val + h.count != prop.next_sob_val || current != h.sob {
            return Err(false);
        }
        prop.next_sob_val -= h.count;
        sm.put(current);
        handles.swap_remove(i);
        Ok(())
    }

    /// Context teardown: drop every handle of slot `ctx`, putting its SOB reference.
    pub(crate) fn drop_handles(&mut self, ctx: usize, sm: &mut SyncManager) {
        for h in self.handles[ctx].drain(..) {
            sm.put(h.sob);
        }
    }

    /// Reservation `handle` of context slot `ctx`: its SOB, `pre_sob_val` and count.
    pub(crate) fn handle(&self, ctx: usize, handle: u32) -> Option<(u16, u32, u32)> {
        self.handles[ctx]
            .iter()
            .find(|h| h.id == handle)
            .map(|h| (h.sob, h.pre_sob_val, h.count))
    }

    /// Bind reservation `handle` to a staged submission: it leaves the context's handles (its
    /// SOB reference goes with it to the staged first CS).
    pub(crate) fn bind_handle(&mut self, ctx: usize, handle: u32) {
        self.handles[ctx].retain(|h| h.id != handle);
    }

    /// Handles alive over every context.
    pub(crate) fn reservations(&self) -> u32 {
        self.handles.iter().map(|h| h.len() as u32).sum()
    }

    /// `sync_stream_queue_reset` for every queue (`hl_hw_queue_reset`).
    pub(crate) fn reset(&mut self) {
        self.epoch += 1;
        for prop in self.props.iter_mut().flatten() {
            prop.curr = 0;
            prop.next_sob_val = 1;
        }
    }
}

/// A job held on its engine: a wait whose monitor has not fired, or any job queued behind one.
#[derive(Debug, Clone, Copy)]
struct Held {
    job: EngineJob,
    gate: Option<(u16, u16)>,
    /// Device time it was held at.
    at: u64,
    /// When its CS was scheduled, for a sync-stream CS (the others are not timed, to keep the
    /// default path free of clock reads).
    start: Option<u64>,
}

/// The sync manager's hardware (module docs); lives in the completion side.
pub(crate) struct SyncManager {
    values: Box<[u32]>,
    krefs: Box<[u32]>,
    need_reset: Box<[bool]>,
    /// Per queue position, the jobs held on it, in queue order.
    held: Box<[VecDeque<Held>]>,
    /// Jobs held over every queue.
    pub(crate) held_count: u32,
    /// Jobs released by a monitor, to hand back to their engine lanes.
    pub(crate) ready: VecDeque<EngineJob>,
}

impl SyncManager {
    pub(crate) fn new<A: Asic>(bank: usize) -> SyncManager {
        SyncManager {
            values: vec![0; bank].into_boxed_slice(),
            krefs: vec![1; bank].into_boxed_slice(),
            need_reset: vec![false; bank].into_boxed_slice(),
            held: (0..A::QUEUES.len()).map(|_| VecDeque::new()).collect(),
            held_count: 0,
            ready: VecDeque::new(),
        }
    }

    /// `hw_sob_get`.
    pub(crate) fn get(&mut self, b: u16) {
        if let Some(k) = self.krefs.get_mut(b as usize) {
            *k += 1;
        }
    }

    /// `hw_sob_put`: the last reference resets the SOB (`hl_sob_reset`: value 0, count 1).
    pub(crate) fn put(&mut self, b: u16) {
        let b = b as usize;
        let Some(k) = self.krefs.get_mut(b) else {
            return;
        };
        *k = k.saturating_sub(1);
        if *k == 0 {
            *k = 1;
            self.values[b] = 0;
            self.need_reset[b] = false;
        }
    }

    /// `hw_sob_put_err`: give back a reference known not to be the last.
    fn put_no_reset(&mut self, b: u16) {
        if let Some(k) = self.krefs.get_mut(b as usize) {
            *k = k.saturating_sub(1).max(1);
        }
    }

    fn kref(&self, b: u16) -> u32 {
        self.krefs.get(b as usize).copied().unwrap_or(1)
    }

    fn need_reset(&self, b: u16) -> bool {
        self.need_reset.get(b as usize).copied().unwrap_or(false)
    }

    fn set_need_reset(&mut self, b: u16) {
        if let Some(n) = self.need_reset.get_mut(b as usize) {
            *n = true;
        }
    }

    /// The SOB's value now.
    pub(crate) fn value(&self, b: u16) -> u32 {
        self.values.get(b as usize).copied().unwrap_or(0)
    }

    /// A signal job ran at `now`: the SOB goes up by one (15 bits), and every monitor it
    /// satisfies fires (see [`fire`](Self::fire)).
    pub(crate) fn signal(&mut self, b: u16, now: u64) {
        self.signal_by(b, 1, now);
    }

    /// `n` signals at once on SOB `b` (a staged submission's encapsulated signals).
    pub(crate) fn signal_by(&mut self, b: u16, n: u32, now: u64) {
        if let Some(v) = self.values.get_mut(b as usize) {
            *v = (*v + n) & (MAX_SOB_VAL - 1);
        }
        self.fire(now);
    }

    /// Release every held job whose way is clear at `now`: per queue, the head if its gate is
    /// met (or it has none), and the jobs behind it up to the next unmet gate. The queue stood
    /// still until now: the head comes due now (or when the engine had said, if later), and each
    /// job behind it comes due its own run time after the one before it, never earlier than the
    /// engine had said. A job's run time is its due time less when it could start: the later of
    /// the due time of the job before it and when its CS was scheduled (known for sync-stream
    /// CSs) or it was seen waiting (held before it was due). Released jobs go to
    /// [`ready`](Self::ready), marked so that they are not held again.
    pub(crate) fn fire(&mut self, now: u64) {
        if self.held_count == 0 {
            return;
        }
        for q in 0..self.held.len() {
            // (new due, original due) of the job released before it, on this queue.
            let mut prev: Option<(u64, u64)> = None;
            while let Some(head) = self.held[q].front() {
                if let Some((sob, val)) = head.gate
                    && self.value(sob) < u32::from(val)
                {
                    break;
                }
                if let Some(h) = self.held[q].pop_front() {
                    let due = h.job.due;
                    let new_due = match prev {
                        None => due.max(now),
                        Some((prev_new, prev_due)) => {
                            let seen = h.start.or((h.at < due).then_some(h.at)).unwrap_or(0);
                            let run = due.saturating_sub(prev_due.max(seen));
                            due.max(prev_new.saturating_add(run))
                        }
                    };
                    prev = Some((new_due, due));
                    self.held_count -= 1;
                    self.ready.push_back(EngineJob {
                        due: new_due,
                        released: true,
                        ..h.job
                    });
                }
            }
        }
    }

    /// Whether a job on queue `q` with `gate` must be held: its queue is held up, or its
    /// monitor would not fire yet.
    pub(crate) fn must_hold(&self, q: usize, gate: Option<(u16, u16)>) -> bool {
        !self.held[q].is_empty() || gate.is_some_and(|(sob, val)| self.value(sob) < u32::from(val))
    }

    /// Whether queue `q` holds no job.
    pub(crate) fn is_idle(&self, q: usize) -> bool {
        self.held[q].is_empty()
    }

    /// Hold `job` on its queue at device time `at` (arming its monitor if it is the queue's
    /// head).
    pub(crate) fn hold(
        &mut self,
        job: EngineJob,
        gate: Option<(u16, u16)>,
        at: u64,
        start: Option<u64>,
    ) {
        self.held[job.queue as usize].push_back(Held {
            job,
            gate,
            at,
            start,
        });
        self.held_count += 1;
    }

    /// Forget the held jobs `drop` picks (telling `dropped` of each) (a context's rolled-back CSs), then release what is
    /// clear now.
    pub(crate) fn forget(
        &mut self,
        now: u64,
        drop: impl Fn(&EngineJob) -> bool,
        mut dropped: impl FnMut(&EngineJob),
    ) {
        let mut n = 0;
        for q in self.held.iter_mut() {
            q.retain(|h| {
                let gone = drop(&h.job);
                if gone {
                    dropped(&h.job);
                }
                !gone
            });
            n += q.len() as u32;
        }
        self.held_count = n;
        self.fire(now);
    }

    /// Device reset: the sync manager is reinitialised (every SOB 0 with only its own
    /// reference, no monitor armed); held jobs are gone with their engines.
    pub(crate) fn reset(&mut self) {
        self.values.fill(0);
        self.krefs.fill(1);
        self.need_reset.fill(false);
        for q in self.held.iter_mut() {
            q.clear();
        }
        self.held_count = 0;
        self.ready.clear();
    }

    /// Counts for [`SyncStats`] (without the reservations, which the driver side knows).
    pub(crate) fn stats(&self) -> SyncStats {
        SyncStats {
            sob_refs_held: self.krefs.iter().map(|k| k - 1).sum(),
            monitors_armed: self
                .held
                .iter()
                .filter(|q| q.front().is_some_and(|h| h.gate.is_some()))
                .count() as u32,
            held_jobs: self.held_count,
            reservations: 0,
        }
    }
}

/// The jobs of a collective wait on master queue position `master` with reduction engine
/// `engine` (uapi id): the master, then the slave queues of the same stream (NIC queues not in
/// `binned`, and the reduction engine's). `None` if `engine` is not a reduction engine (a
/// non-NIC engine with collective-slave queues).
pub(crate) fn collective_queues<A: Asic>(
    master: usize,
    engine: u32,
    binned: &[bool],
) -> Option<Vec<usize>> {
    let e = engine_index::<A>(engine)?;
    if A::ENGINES[e].kind == EngineKind::Nic {
        return None;
    }
    let stream = stream_of::<A>(master);
    let slave_of = |q: usize, want: &dyn Fn(usize) -> bool| {
        let p = &A::QUEUES[q];
        p.collective == CollectiveMode::Slave
            && p.engine.and_then(engine_index::<A>).is_some_and(want)
            && stream_of::<A>(q) == stream
    };
    let reduction: Vec<usize> = (0..A::QUEUES.len())
        .filter(|&q| slave_of(q, &|pe| pe == e))
        .collect();
    if reduction.is_empty() {
        return None;
    }
    let mut queues = vec![master];
    queues.extend(
        (0..A::QUEUES.len())
            .filter(|&q| !binned[q] && slave_of(q, &|pe| A::ENGINES[pe].kind == EngineKind::Nic)),
    );
    queues.extend(reduction);
    Some(queues)
}

/// The engines a collective wait may name as its reduction engine (uapi engine ids): engines
/// that are no NIC and have collective-slave queues (on Gaudi DMA_5 and TPC_7; none on a
/// generation without collectives).
pub fn reduction_engines<A: Asic>() -> impl Iterator<Item = u32> {
    A::ENGINES
        .iter()
        .enumerate()
        .filter(|&(e, p)| {
            p.kind != EngineKind::Nic
                && A::QUEUES.iter().any(|q| {
                    q.collective == CollectiveMode::Slave
                        && q.engine.and_then(engine_index::<A>) == Some(e)
                })
        })
        .map(|(_, p)| p.id)
}

/// Whether `A` has a NIC collective slave queue that is not binned (`nic_ports_mask != 0`).
pub(crate) fn nic_ports_enabled<A: Asic>(binned: &[bool]) -> bool {
    A::QUEUES.iter().enumerate().any(|(q, p)| {
        p.collective == CollectiveMode::Slave
            && !binned[q]
            && !p.binned
            && p.engine
                .and_then(engine_index::<A>)
                .is_some_and(|e| A::ENGINES[e].kind == EngineKind::Nic)
    })
}
