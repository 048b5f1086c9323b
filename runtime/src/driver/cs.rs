//! One CS in flight (`struct hl_cs`) and the lifecycle driver: the runtime fires
//! [`CsEvent`]s, the generated `A::transition` decides the next state, and at release the
//! generated `A::outcome` of the (terminal) state decides what the fence is signalled with.
//!
//! The runtime owns *when* things happen (an event, a release); the spec owns *what* they mean.
//! Releasing a CS whose state is not terminal means the spec and the runtime disagree: a debug
//! build stops there with the ASIC, the state and the last event; a release build never loses the
//! completion, signals [`Outcome::Aborted`] (the driver's `-EIO`) and counts a lifecycle
//! violation.

use crate::asic::{Asic, CsEvent, Transition};
use crate::driver::sync_stream::SyncRole;
use crate::fence::{Fence, Outcome};
use std::fmt;

/// "No record" in the mirror-list links.
pub(crate) const NIL: u32 = u32::MAX;

/// A CS record, kept in a preallocated table (one row per context ring slot), so a CS costs no
/// heap allocation.
pub(crate) struct CsRecord<S> {
    /// The CS's seq; 0 while the row is free.
    pub(crate) seq: u64,
    /// The CS's ticket, unique per device; 0 while the row is free.
    pub(crate) ticket: u64,
    pub(crate) state: S,
    /// The CS's own fence reference (`cs->fence`), taken at release to signal it.
    pub(crate) fence: Option<Fence>,
    /// Jobs with their own completion (external and H/W queues) not completed yet.
    pub(crate) pending: u32,
    /// Its `(queue, count)` uses (`handoff.rs`): the first, packed `(queue << 32) | count`, and
    /// how many there are (the others are in the device's use table).
    pub(crate) first_use: u64,
    pub(crate) uses: u16,
    /// Every job was written to its queue (`cs->submitted`).
    pub(crate) submitted: bool,
    /// The TDR fired for it (`cs->timedout`).
    pub(crate) timed_out: bool,
    /// A reset rolled it back (`cs->aborted`).
    pub(crate) aborted: bool,
    /// Its TDR timer is armed (`cs->tdr_active`).
    pub(crate) tdr_active: bool,
    /// `HL_CS_FLAGS_TIMESTAMP`.
    pub(crate) wants_timestamp: bool,
    /// Its TDR timeout in ns; `None` if it is never timed.
    pub(crate) timeout_ns: Option<u64>,
    /// When its last job completed (device clock, ns).
    pub(crate) completed_at: Option<u64>,
    /// The last event fired, for diagnostics.
    pub(crate) last_event: Option<CsEvent>,
    /// Mirror-list links (record indexes), `NIL` at the ends.
    pub(crate) prev: u32,
    pub(crate) next: u32,
    pub(crate) in_mirror: bool,
    /// What it does to the sync manager (§5).
    pub(crate) sync: SyncRole,
}

impl<S: Copy> CsRecord<S> {
    pub(crate) fn empty(initial: S) -> CsRecord<S> {
        CsRecord {
            seq: 0,
            ticket: 0,
            state: initial,
            fence: None,
            pending: 0,
            first_use: 0,
            uses: 0,
            submitted: false,
            timed_out: false,
            aborted: false,
            tdr_active: false,
            wants_timestamp: false,
            timeout_ns: None,
            completed_at: None,
            last_event: None,
            prev: NIL,
            next: NIL,
            in_mirror: false,
            sync: SyncRole::None,
        }
    }

    /// Make the row a freshly allocated CS.
    pub(crate) fn start(&mut self, seq: u64, initial: S, fence: Fence) {
        *self = CsRecord::empty(initial);
        self.seq = seq;
        self.fence = Some(fence);
    }
}

/// Fire `event` into the lifecycle of `rec`.
pub(crate) fn fire<A: Asic>(rec: &mut CsRecord<A::CsState>, event: CsEvent) {
    if let Transition::Goto(next) = A::transition(rec.state, event) {
        rec.state = next;
    }
    rec.last_event = Some(event);
}

/// The spec and the runtime disagree: a CS must be released in a state that is not terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleViolation {
    /// The ASIC generation.
    pub asic: &'static str,
    /// The CS.
    pub seq: u64,
    /// The state it is in.
    pub state: &'static str,
    /// The last event fired into it.
    pub event: Option<CsEvent>,
}

impl fmt::Display for LifecycleViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} lifecycle: CS {} must be released but its state `{}` is not terminal",
            self.asic, self.seq, self.state
        )?;
        match self.event {
            Some(event) => write!(f, " (after event `{event}`)"),
            None => f.write_str(" (no event fired)"),
        }
    }
}

impl std::error::Error for LifecycleViolation {}

/// What to signal on the fence of `rec`, which is being released.
pub(crate) fn release_outcome<A: Asic>(
    rec: &CsRecord<A::CsState>,
) -> Result<Outcome, LifecycleViolation> {
    A::outcome(rec.state).ok_or(LifecycleViolation {
        asic: A::NAME,
        seq: rec.seq,
        state: A::state_name(rec.state),
        event: rec.last_event,
    })
}
