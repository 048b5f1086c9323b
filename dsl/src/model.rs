//! The Model: a checked spec as plain data, the IR that code generation consumes.
//!
//! Everything here is owned, already validated and in its final order: ids are resolved, ranges
//! are expanded into one entry per queue or engine, and the lifecycle is a complete table in
//! which every `(state, event)` pair has exactly one [`Action`]. Consumers never need to
//! re-check anything, and nothing here refers back to source text except the doc comments and
//! the provenance.

use std::fmt;

// why: the tables crate is the one spelling of these concepts (their spec names included); the
// Model uses its enums as they are, so no mirror has to be kept in step.
pub use asicgen_tables::{
    CbAlloc, CollectiveMode, CompletionMode, EngineKind, EngineProps, Features, Limits,
    QUEUE_FLAGS, QueueProperty, QueueProps, QueueType, QueueValue,
};

/// One checked ASIC generation: its header, limits, features, engines, queues and lifecycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    /// Where the model came from: spec path as given, content hash of every file read.
    pub provenance: Provenance,
    /// The generation's name as written after `asic` (e.g. `Gaudi`).
    pub name: String,
    /// Doc comment lines (`///`) written above the `asic` block, without the `///` marker.
    pub doc: Vec<String>,
    /// Prefix used for C names: `GAUDI` gives `GAUDI_QUEUE_ID_DMA_0_0` and `enum gaudi_queue_id`.
    pub uapi_prefix: String,
    /// PCI vendor id (0x1da3 for Habana).
    pub pci_vendor: u16,
    /// PCI device ids this generation answers to, in spec order.
    pub pci_devices: Vec<u16>,
    /// Device limits and modes.
    pub limits: Limits,
    /// Feature flags.
    pub features: Features,
    /// Engines ordered by id (ids are dense unless `reserved`).
    pub engines: Vec<Engine>,
    /// Queues ordered by id (ids are dense unless `reserved`).
    pub queues: Vec<Queue>,
    /// Queue ids deliberately left unused (`reserved` in the spec); they count towards `_SIZE`.
    pub reserved_queue_ids: Vec<u32>,
    /// Engine ids deliberately left unused (`reserved` in the spec); they count towards `_SIZE`.
    pub reserved_engine_ids: Vec<u32>,
    /// Completion queues the driver keeps for itself (`completion_queues` block), by id.
    pub reserved_cqs: Vec<ReservedCq>,
    /// The sync manager's layout (`sync_manager` block), if the spec has one.
    pub sync_manager: Option<SyncManager>,
    /// Per-device binning rules (`binning` block), in spec order.
    pub binning: Vec<BinningRule>,
    /// The CS lifecycle this generation runs.
    pub lifecycle: Lifecycle,
    /// What the driver's hand-written C tables need beyond queues and engines (`kernel`).
    pub kernel: KernelSpec,
}

impl Model {
    /// The `_SIZE` sentinel of the queue-id enum: one past the highest id (queue or reserved).
    pub fn queue_id_size(&self) -> u32 {
        id_size(
            self.queues.iter().map(|q| q.props.id),
            &self.reserved_queue_ids,
        )
    }

    /// The `_SIZE` sentinel of the engine-id enum: one past the highest id (engine or reserved).
    pub fn engine_id_size(&self) -> u32 {
        id_size(
            self.engines.iter().map(|e| e.props.id),
            &self.reserved_engine_ids,
        )
    }

    /// Number of completion queues: the reserved ones and one per external queue (each binds
    /// its own `cq`).
    pub fn completion_queue_count(&self) -> u32 {
        self.queues
            .iter()
            .filter_map(|q| q.props.cq)
            .chain(self.reserved_cqs.iter().map(|c| c.id))
            .map(|cq| cq + 1)
            .max()
            .unwrap_or(0)
    }

    /// The first completion queue a user may get: one past the reserved ones (0 if none).
    pub fn first_user_cq(&self) -> u32 {
        self.reserved_cqs
            .iter()
            .map(|c| c.id + 1)
            .max()
            .unwrap_or(0)
    }

    /// The engine with this id, if any.
    pub fn engine(&self, id: u32) -> Option<&Engine> {
        self.engines.iter().find(|e| e.props.id == id)
    }
}

fn id_size(ids: impl Iterator<Item = u32>, reserved: &[u32]) -> u32 {
    ids.chain(reserved.iter().copied())
        .map(|id| id + 1)
        .max()
        .unwrap_or(0)
}

/// What the driver's hand-written C tables need that queues and engines do not say (the spec's
/// optional `kernel` block). Everything else in those tables (queue types, engines, CQ
/// assignment, stream masters, collective modes) is derived from the queues.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelSpec {
    /// How `<prefix>_queue_id_to_engine_id[]` treats a queue without an engine.
    pub queue_to_engine: QueueEngineMap,
    /// `enum <prefix>_dma_channels` in order, each with the engine `<prefix>_dma_assignment[]`
    /// gives it; empty when the driver has no such table.
    pub dma_channels: Vec<DmaChannel>,
}

/// How the driver's queue → engine table treats queues that feed no engine (the CPU queue).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum QueueEngineMap {
    /// The driver has no queue → engine table (Goya).
    None,
    /// Every queue has an entry; one without an engine maps to `<PREFIX>_ENGINE_ID_SIZE`
    /// (Gaudi's CPU_PQ).
    #[default]
    Sentinel,
    /// Queues without an engine have no entry; they must come after every queue that has one,
    /// so that the array simply ends before them (Gaudi2's CPU_PQ, the last id).
    Omit,
}

impl QueueEngineMap {
    /// Every choice, in the order the spec documentation lists them.
    pub const ALL: [QueueEngineMap; 3] = [
        QueueEngineMap::None,
        QueueEngineMap::Sentinel,
        QueueEngineMap::Omit,
    ];

    /// The spelling used in specs.
    pub const fn spec_name(self) -> &'static str {
        match self {
            QueueEngineMap::None => "none",
            QueueEngineMap::Sentinel => "sentinel",
            QueueEngineMap::Omit => "omit",
        }
    }

    /// Parses a spec spelling.
    pub fn from_spec_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.spec_name() == name)
    }
}

/// One of the driver's DMA channels (`GAUDI_PCI_DMA_1`) and the engine assigned to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmaChannel {
    /// Name without the prefix, e.g. `PCI_DMA_1` (C name: `GAUDI_PCI_DMA_1`).
    pub name: String,
    /// Id of the DMA engine serving it.
    pub engine: u32,
    /// Doc comment lines of its `dma_channel` line.
    pub doc: Vec<String>,
}

/// Where a model came from, for the provenance line of every generated output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// The spec path exactly as the caller named it (relative paths stay relative).
    pub spec_path: String,
    /// The lifecycle file paths as the spec names them, the spec's first, then what they extend.
    pub lifecycle_paths: Vec<String>,
    /// SHA-256 over the spec and every lifecycle file it pulled in, hex, lowercase.
    pub content_hash: String,
}

impl Provenance {
    /// The first 16 hex digits of the content hash: enough to tell two spec versions apart.
    pub fn short_hash(&self) -> &str {
        let end = self.content_hash.len().min(16);
        &self.content_hash[..end]
    }
}

/// A completion queue the driver reserves (Gaudi2: CQ 0 for CS completion, CQ 1 for KDMA).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReservedCq {
    /// The name the spec gives it, e.g. `CS_COMPLETION`.
    pub name: String,
    /// Its index.
    pub id: u32,
    /// Doc comment lines.
    pub doc: Vec<String>,
}

/// The sync manager: how many sync objects (SOBs) and monitors it has, and the ranges the
/// driver reserves at its start, in order. What follows the last range is the user's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncManager {
    /// Sync objects in the block.
    pub sobs: u32,
    /// Monitors in the block.
    pub monitors: u32,
    /// The middle part of the uapi defines `<PREFIX>_FIRST_AVAILABLE_<uapi_name>_SYNC_OBJECT`
    /// and `..._MONITOR`, if the uapi header publishes them (Gaudi: `W_S`).
    pub uapi_name: Option<String>,
    /// Reserved ranges in layout order, each starting where the previous ended.
    pub ranges: Vec<SyncRange>,
    /// Doc comment lines.
    pub doc: Vec<String>,
}

impl SyncManager {
    /// The first SOB left to users: one past the last reserved one.
    pub fn first_user_sob(&self) -> u32 {
        self.ranges.last().map_or(0, |r| r.first_sob + r.sobs)
    }

    /// The first monitor left to users.
    pub fn first_user_monitor(&self) -> u32 {
        self.ranges
            .last()
            .map_or(0, |r| r.first_monitor + r.monitors)
    }
}

/// One reserved range of the sync manager, already laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRange {
    /// The range's name, e.g. `cs_completion`.
    pub name: String,
    /// First SOB of the range.
    pub first_sob: u32,
    /// SOBs in the range.
    pub sobs: u32,
    /// First monitor of the range.
    pub first_monitor: u32,
    /// Monitors in the range.
    pub monitors: u32,
    /// Doc comment lines.
    pub doc: Vec<String>,
}

/// A per-device binning rule: units the fuses may mark faulty, and the spares that stand in for
/// them. Bit `i` of the rule's fuse mask is `units[i]`; with `n` bits set, the queues of the
/// first `n` substitutes are binned on that device; more than `max_faulty` is an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinningRule {
    /// The rule's name, e.g. `tpc`.
    pub name: String,
    /// Engine ids, in fuse-mask bit order.
    pub units: Vec<u32>,
    /// Most faulty units a working device may have.
    pub max_faulty: u32,
    /// Engine ids that take over, in substitution order, with the queue ids binned when each
    /// one is used.
    pub substitutes: Vec<Substitute>,
    /// Doc comment lines.
    pub doc: Vec<String>,
}

/// One spare of a binning rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Substitute {
    /// The engine that stands in.
    pub engine: u32,
    /// The queues served by it, binned when it stands in.
    pub queues: Vec<u32>,
}

/// One engine; its id is also its bit in the busy-engines mask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Engine {
    /// Id (and bit position), name without the uapi prefix (e.g. `TPC_0`) and kind, in the
    /// tables crate's type.
    pub props: EngineProps<String>,
    /// The C enumerator, e.g. `GAUDI_ENGINE_ID_TPC_0` or `GAUDI2_DCORE0_ENGINE_ID_EDMA_0`.
    pub c_name: String,
    /// Doc comment lines of its declaration.
    pub doc: Vec<String>,
}

/// One hardware queue (one stream of a family).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queue {
    /// Id, name (without the uapi prefix, e.g. `DMA_0_0`) and every property, in the tables
    /// crate's type: a property is declared once, there, for the Model and the generated tables.
    /// `cq` is the queue's own completion queue for an external queue, a reserved one shared
    /// by many for a hw queue.
    pub props: QueueProps<String>,
    /// The C enumerator, e.g. `GAUDI_QUEUE_ID_DMA_0_0`.
    pub c_name: String,
    /// Doc comment lines of its declaration.
    pub doc: Vec<String>,
}

/// The CS lifecycle: a complete state machine over the runtime's fixed event vocabulary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    /// The name after `lifecycle`.
    pub name: String,
    /// Doc comment lines of the `lifecycle` header.
    pub doc: Vec<String>,
    /// States in declaration order (a base lifecycle's first, then overrides and additions).
    pub states: Vec<State>,
    /// Index into `states` of the one initial state.
    pub initial: usize,
    /// `table[state][event as usize]`: what happens when `event` reaches `state`.
    /// Terminal states have every entry [`Action::Ignore`].
    pub table: Vec<[Action; Event::COUNT]>,
}

impl Lifecycle {
    /// What `event` does in `state`.
    pub fn action(&self, state: usize, event: Event) -> Action {
        self.table[state][event as usize]
    }

    /// Every explicit transition as `(from, event, to)`, in state then event order.
    pub fn transitions(&self) -> impl Iterator<Item = (usize, Event, usize)> + '_ {
        self.table.iter().enumerate().flat_map(|(from, row)| {
            Event::ALL
                .into_iter()
                .filter_map(move |event| match row[event as usize] {
                    Action::Goto(to) => Some((from, event, to)),
                    Action::Ignore => None,
                })
        })
    }
}

/// One lifecycle state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// The state's name, e.g. `InFlight`.
    pub name: String,
    /// Doc comment lines of its declaration.
    pub doc: Vec<String>,
    /// For a terminal state, the outcome its fence is signalled with.
    pub outcome: Option<FenceOutcome>,
}

impl State {
    /// Whether the CS is finished once it gets here.
    pub fn is_terminal(&self) -> bool {
        self.outcome.is_some()
    }
}

/// What a `(state, event)` pair does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Move to the state with this index.
    Goto(usize),
    /// Stay; the spec says `ignore` (or the state is terminal).
    Ignore,
}

/// The events the runtime fires into a CS lifecycle. A spec cannot add to this vocabulary: the
/// runtime would never fire anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Event {
    /// Every job was written to its hardware queue (`cs->submitted = true`).
    Submit,
    /// The CS could not be scheduled after its seq was allocated (queue full, device in reset,
    /// validation): it will never run.
    ScheduleFailure,
    /// Every job of the CS completed (all CQ entries seen, or the per-CS completion arrived).
    JobsDone,
    /// The TDR timer of this CS expired (`cs_timedout`).
    TimeoutDetected,
    /// A device reset rolled back every in-flight CS (`hl_cs_rollback_all`).
    Reset,
}

impl Event {
    /// Number of events.
    pub const COUNT: usize = 5;

    /// Every event, in vocabulary order.
    pub const ALL: [Event; Event::COUNT] = [
        Event::Submit,
        Event::ScheduleFailure,
        Event::JobsDone,
        Event::TimeoutDetected,
        Event::Reset,
    ];

    /// The spelling used in lifecycle files.
    pub const fn spec_name(self) -> &'static str {
        match self {
            Event::Submit => "submit",
            Event::ScheduleFailure => "schedule_failure",
            Event::JobsDone => "jobs_done",
            Event::TimeoutDetected => "timeout_detected",
            Event::Reset => "reset",
        }
    }

    /// One line on when the runtime fires it, for generated docs.
    pub const fn description(self) -> &'static str {
        match self {
            Event::Submit => "every job of the CS was written to its hardware queue",
            Event::ScheduleFailure => {
                "the CS failed after its seq was allocated (queue full, device in reset, invalid job)"
            }
            Event::JobsDone => "every job of the CS completed",
            Event::TimeoutDetected => "the device TDR timer of the CS expired",
            Event::Reset => "a device reset rolled back every in-flight CS",
        }
    }

    /// Parses a lifecycle spelling.
    pub fn from_spec_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.spec_name() == name)
    }
}

/// The outcome a terminal state signals on the CS fence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FenceOutcome {
    /// Completed normally (fence error 0).
    Ok,
    /// The TDR fired for this CS (-ETIMEDOUT).
    TimedOut,
    /// Rolled back by a reset (-EIO).
    Aborted,
    /// Never reached the hardware (-EBUSY; waits report it as completed).
    NotSubmitted,
}

impl FenceOutcome {
    /// Every outcome.
    pub const ALL: [FenceOutcome; 4] = [
        FenceOutcome::Ok,
        FenceOutcome::TimedOut,
        FenceOutcome::Aborted,
        FenceOutcome::NotSubmitted,
    ];

    /// The spelling used in lifecycle files.
    pub const fn spec_name(self) -> &'static str {
        match self {
            FenceOutcome::Ok => "ok",
            FenceOutcome::TimedOut => "timed_out",
            FenceOutcome::Aborted => "aborted",
            FenceOutcome::NotSubmitted => "not_submitted",
        }
    }

    /// Parses a lifecycle spelling.
    pub fn from_spec_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.spec_name() == name)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.spec_name())
    }
}

impl fmt::Display for FenceOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.spec_name())
    }
}
