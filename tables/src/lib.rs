//! The `Asic` trait and the plain tables it carries: everything a generated ASIC generation
//! gives a driver.
//!
//! `#![no_std]` and allocation-free on purpose: this crate, and the `asicgen-generated` crate
//! whose expansions implement the trait, are what a Rust-for-Linux driver could take as they
//! are. The std runtime (`asicgen-runtime`) depends on it and re-exports it as its `asic` module.
//!
//! The runtime never parses a spec. `asicgen_macros::asic!` expands a spec into a zero-sized type
//! that implements [`Asic`]: typed queue and engine ids, const property tables, limits, feature
//! flags and the CS lifecycle as a transition function. Contexts, queues, engines, the CS
//! lifecycle driver, TDR and reset are written once, generic over `A: Asic`, and monomorphised per
//! generation (static dispatch, no vtables, tables in `.rodata`).
//!
//! The plain types here mirror the kernel's (`enum hl_queue_type`, `enum queue_cb_alloc_flags`,
//! `enum hl_collective_mode`, `struct hw_queue_properties`). They are also the one spelling of
//! these concepts: the spec language's Model (`asicgen-dsl`) uses the enums below as they are,
//! with the names specs write them in, so a driver never depends on the dsl crate while the
//! dsl and the code generator never keep a mirror of them.
//!
//! Architecture invariant: the tables are ordered by id, and every id enum value has exactly one
//! table row. Generated code proves this at compile time with [`assert_tables`].
#![no_std]
#![warn(missing_docs)]

use core::fmt;
use core::hash::Hash;
use core::time::Duration;

/// The outcome a CS fence is signalled with; a terminal lifecycle state names one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FenceOutcome {
    /// Completed normally.
    Ok,
    /// Timeout detection (TDR) fired for the CS (the driver's `-ETIMEDOUT`).
    TimedOut,
    /// Rolled back by a device reset (`-EIO`).
    Aborted,
    /// Never reached the hardware, e.g. a parse error or full queue (`-EBUSY`).
    NotSubmitted,
}

impl FenceOutcome {
    /// Whether the CS completed normally.
    pub const fn is_ok(self) -> bool {
        matches!(self, FenceOutcome::Ok)
    }

    /// Short lower-case name (`ok`, `timed out`, `aborted`, `not submitted`).
    pub const fn as_str(self) -> &'static str {
        match self {
            FenceOutcome::Ok => "ok",
            FenceOutcome::TimedOut => "timed out",
            FenceOutcome::Aborted => "aborted",
            FenceOutcome::NotSubmitted => "not submitted",
        }
    }
}

impl fmt::Display for FenceOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule of a generation's binning table (generated from the spec's `binning` block).
///
/// Bit `i` of the rule's fuse mask is `units[i]`; with `n` bits set, the first `n` substitutes
/// stand in and their queues are binned on that device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BinningRule {
    /// The rule's name as the spec writes it (`"tpc"`).
    pub name: &'static str,
    /// Engine ids, in fuse-mask bit order: bit `i` of the mask is `units[i]`.
    pub units: &'static [u32],
    /// Most faulty units a working device may have.
    pub max_faulty: u32,
    /// The spares, in substitution order.
    pub substitutes: &'static [Substitute],
}

/// One spare of a [`BinningRule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Substitute {
    /// The engine that stands in for a faulty unit.
    pub engine: u32,
    /// The queue ids served by that engine: binned once it stands in.
    pub queues: &'static [u32],
}

/// One ASIC generation, as generated from its spec.
///
/// Implemented by a zero-sized type (e.g. `Gaudi`); the runtime is generic over it
/// (`Device<A: Asic>`), so every property below is a compile-time constant.
pub trait Asic: Copy + Default + fmt::Debug + Send + Sync + 'static {
    /// The generation's name as written in the spec (e.g. `"Gaudi"`).
    const NAME: &'static str;
    /// Prefix of the C uapi names (e.g. `"GAUDI"` gives `GAUDI_QUEUE_ID_DMA_0_0`).
    const UAPI_PREFIX: &'static str;
    /// Where the generated code came from: generator version, spec path and the hash of the
    /// generated module's own text.
    const PROVENANCE: &'static str;
    /// PCI vendor id (0x1da3 for Habana).
    const PCI_VENDOR: u16;
    /// PCI device ids this generation answers to.
    const PCI_DEVICES: &'static [u16];

    /// Typed queue id; its `u32` value is the uapi `enum <prefix>_queue_id` value.
    type QueueId: Copy
        + Eq
        + Ord
        + Hash
        + fmt::Debug
        + fmt::Display
        + Into<u32>
        + TryFrom<u32, Error = InvalidQueueId>
        + Send
        + Sync
        + 'static;
    /// Typed engine id; its `u32` value is the uapi engine id and its bit in the busy mask.
    type EngineId: Copy
        + Eq
        + Ord
        + Hash
        + fmt::Debug
        + fmt::Display
        + Into<u32>
        + TryFrom<u32, Error = InvalidEngineId>
        + Send
        + Sync
        + 'static;
    /// A state of the CS lifecycle.
    type CsState: Copy + Eq + Hash + fmt::Debug + fmt::Display + Send + Sync + 'static;

    /// Every queue's properties, ordered by strictly increasing id (ids may have reserved gaps).
    const QUEUES: &'static [QueueProps];
    /// Every engine's properties, ordered by strictly increasing id.
    const ENGINES: &'static [EngineProps];
    /// Every queue id, in the same order as [`Asic::QUEUES`].
    const QUEUE_IDS: &'static [Self::QueueId];
    /// Every engine id, in the same order as [`Asic::ENGINES`].
    const ENGINE_IDS: &'static [Self::EngineId];
    /// The `_SIZE` sentinel of the queue-id enum: one past the highest (possibly reserved) id.
    const QUEUE_ID_SIZE: u32;
    /// The `_SIZE` sentinel of the engine-id enum: one past the highest (possibly reserved) id.
    const ENGINE_ID_SIZE: u32;
    /// Device limits and modes.
    const LIMITS: Limits;
    /// Feature flags.
    const FEATURES: Features;

    /// Completion queues the driver reserves (Gaudi2: CS completion and KDMA), by id.
    const RESERVED_CQS: &'static [ReservedCq] = &[];
    /// The first completion queue left to users: one past the reserved ones.
    const FIRST_USER_CQ: u32 = 0;
    /// The sync manager's layout, when the spec states it.
    const SYNC_MANAGER: Option<SyncManagerLayout> = None;
    /// Per-device binning rules (the runtime applies them with `binning::binned_queues`).
    const BINNING: &'static [BinningRule] = &[];

    /// The state a freshly allocated CS starts in.
    const INITIAL_STATE: Self::CsState;
    /// Every lifecycle state, indexed by [`Asic::state_index`].
    const STATES: &'static [Self::CsState];
    /// Every state's name, indexed by [`Asic::state_index`].
    const STATE_NAMES: &'static [&'static str];

    /// What `event` does to a CS in `state`. Total: every pair is either a move or an ignore.
    fn transition(state: Self::CsState, event: CsEvent) -> Transition<Self::CsState>;

    /// The fence outcome a terminal state signals; `None` for states that are not terminal.
    fn outcome(state: Self::CsState) -> Option<FenceOutcome>;

    /// Dense index of `state` in `0..STATES.len()`, for per-state arrays and counters.
    fn state_index(state: Self::CsState) -> usize;

    /// The state after `event`: the target of a move, or `state` itself if the event is ignored.
    fn next_state(state: Self::CsState, event: CsEvent) -> Self::CsState {
        match Self::transition(state, event) {
            Transition::Goto(next) => next,
            Transition::Ignore => state,
        }
    }

    /// Whether a CS in `state` is finished (its fence is signalled on release).
    fn is_terminal(state: Self::CsState) -> bool {
        Self::outcome(state).is_some()
    }

    /// The name of `state` as the spec spells it.
    fn state_name(state: Self::CsState) -> &'static str {
        Self::STATE_NAMES
            .get(Self::state_index(state))
            .copied()
            .unwrap_or("?")
    }

    /// The properties of the queue with this raw uapi id, if there is such a queue.
    ///
    /// Raw because the ioctl hands the driver a `u32`; a typed id converts with `.into()`.
    fn queue(id: u32) -> Option<&'static QueueProps> {
        // why: QUEUES is sorted by id (checked by `assert_tables`), ids may have reserved gaps.
        let queues = Self::QUEUES;
        queues
            .binary_search_by_key(&id, |q| q.id)
            .ok()
            .map(|i| &queues[i])
    }

    /// The properties of the engine with this raw uapi id, if there is such an engine.
    fn engine(id: u32) -> Option<&'static EngineProps> {
        let engines = Self::ENGINES;
        engines
            .binary_search_by_key(&id, |e| e.id)
            .ok()
            .map(|i| &engines[i])
    }

    /// Number of completion queues: one past the highest `cq` a queue reports through or the
    /// driver reserves.
    fn completion_queue_count() -> u32 {
        Self::QUEUES
            .iter()
            .filter_map(|q| q.cq)
            .chain(Self::RESERVED_CQS.iter().map(|c| c.id))
            .map(|cq| cq + 1)
            .max()
            .unwrap_or(0)
    }
}

/// The events the runtime fires into a CS lifecycle; specs cannot add to this vocabulary.
///
/// Deliberately not `#[non_exhaustive]`: generated transition functions match on
/// `(state, event)` without a wildcard arm, so that rustc proves them exhaustive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CsEvent {
    /// Every job of the CS was written to its hardware queue.
    Submit,
    /// The CS failed after its seq was allocated (queue full, device in reset, invalid job).
    ScheduleFailure,
    /// Every job of the CS completed.
    JobsDone,
    /// The device TDR timer of the CS expired.
    TimeoutDetected,
    /// A device reset rolled back every in-flight CS.
    Reset,
}

impl CsEvent {
    /// Number of events.
    pub const COUNT: usize = 5;

    /// Every event, in vocabulary order (the order `index` numbers them).
    pub const ALL: [CsEvent; CsEvent::COUNT] = [
        CsEvent::Submit,
        CsEvent::ScheduleFailure,
        CsEvent::JobsDone,
        CsEvent::TimeoutDetected,
        CsEvent::Reset,
    ];

    /// Dense index in `0..COUNT`.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The spelling lifecycle files use (`submit`, `jobs_done`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            CsEvent::Submit => "submit",
            CsEvent::ScheduleFailure => "schedule_failure",
            CsEvent::JobsDone => "jobs_done",
            CsEvent::TimeoutDetected => "timeout_detected",
            CsEvent::Reset => "reset",
        }
    }
}

impl fmt::Display for CsEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one `(state, event)` pair of a lifecycle does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transition<S> {
    /// Move to this state.
    Goto(S),
    /// Stay where the CS is: the spec drops this event in this state on purpose.
    Ignore,
}

/// The queue types of `enum hl_queue_type` (NA is not a queue).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueueType {
    /// Host-visible DMA queue that completes through a completion queue (QUEUE_TYPE_EXT).
    External,
    /// In-device queue with no completion of its own (QUEUE_TYPE_INT).
    Internal,
    /// Driver to device-CPU queue (QUEUE_TYPE_CPU).
    Cpu,
    /// Queue whose completion the hardware sends (QUEUE_TYPE_HW).
    Hw,
}

impl QueueType {
    /// Every type, in uapi order.
    pub const ALL: [QueueType; 4] = [
        QueueType::External,
        QueueType::Internal,
        QueueType::Cpu,
        QueueType::Hw,
    ];

    /// The kernel's `enum hl_queue_type` value.
    pub const fn kernel_value(self) -> u32 {
        match self {
            QueueType::External => 1,
            QueueType::Internal => 2,
            QueueType::Cpu => 3,
            QueueType::Hw => 4,
        }
    }

    /// The kernel's enumerator name (`QUEUE_TYPE_EXT`, ...).
    pub const fn kernel_name(self) -> &'static str {
        match self {
            QueueType::External => "QUEUE_TYPE_EXT",
            QueueType::Internal => "QUEUE_TYPE_INT",
            QueueType::Cpu => "QUEUE_TYPE_CPU",
            QueueType::Hw => "QUEUE_TYPE_HW",
        }
    }

    /// Whether jobs on such a queue report their own completion (a CQ entry or a hardware one).
    pub const fn has_completion(self) -> bool {
        matches!(self, QueueType::External | QueueType::Hw)
    }

    /// The spelling specs use.
    pub const fn spec_name(self) -> &'static str {
        match self {
            QueueType::External => "external",
            QueueType::Internal => "internal",
            QueueType::Cpu => "cpu",
            QueueType::Hw => "hw",
        }
    }

    /// Parses a spec spelling.
    pub fn from_spec_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.spec_name() == name)
    }
}

impl fmt::Display for QueueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.spec_name())
    }
}

/// Who allocates the command buffers of jobs on a queue (`enum queue_cb_alloc_flags`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CbAlloc {
    /// The kernel driver (CB_ALLOC_KERNEL).
    Kernel,
    /// The user (CB_ALLOC_USER).
    User,
    /// Either, chosen per job (CB_ALLOC_KERNEL | CB_ALLOC_USER).
    Both,
}

impl CbAlloc {
    /// Every choice, in the order the spec documentation lists them.
    pub const ALL: [CbAlloc; 3] = [CbAlloc::Kernel, CbAlloc::User, CbAlloc::Both];

    /// The spelling specs use.
    pub const fn spec_name(self) -> &'static str {
        match self {
            CbAlloc::Kernel => "kernel",
            CbAlloc::User => "user",
            CbAlloc::Both => "both",
        }
    }

    /// Parses a spec spelling.
    pub fn from_spec_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.spec_name() == name)
    }

    /// The flags as the kernel's C writes them (`CB_ALLOC_KERNEL | CB_ALLOC_USER`).
    pub const fn kernel_name(self) -> &'static str {
        match self {
            CbAlloc::Kernel => "CB_ALLOC_KERNEL",
            CbAlloc::User => "CB_ALLOC_USER",
            CbAlloc::Both => "CB_ALLOC_KERNEL | CB_ALLOC_USER",
        }
    }

    /// The kernel's flag bits.
    pub const fn kernel_flags(self) -> u32 {
        match self {
            CbAlloc::Kernel => 0x1,
            CbAlloc::User => 0x2,
            CbAlloc::Both => 0x3,
        }
    }

    /// Whether a job whose CB the kernel allocates is allowed.
    pub const fn allows_kernel(self) -> bool {
        self.kernel_flags() & 0x1 != 0
    }

    /// Whether a job whose CB the user allocates is allowed.
    pub const fn allows_user(self) -> bool {
        self.kernel_flags() & 0x2 != 0
    }
}

/// A queue's role in collective operations (`enum hl_collective_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CollectiveMode {
    /// HL_COLLECTIVE_NOT_SUPPORTED.
    #[default]
    None,
    /// HL_COLLECTIVE_MASTER.
    Master,
    /// HL_COLLECTIVE_SLAVE.
    Slave,
}

impl CollectiveMode {
    /// Every mode, in the kernel's order.
    pub const ALL: [CollectiveMode; 3] = [
        CollectiveMode::None,
        CollectiveMode::Master,
        CollectiveMode::Slave,
    ];

    /// The spelling specs use.
    pub const fn spec_name(self) -> &'static str {
        match self {
            CollectiveMode::None => "none",
            CollectiveMode::Master => "master",
            CollectiveMode::Slave => "slave",
        }
    }

    /// Parses a spec spelling.
    pub fn from_spec_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.spec_name() == name)
    }

    /// The kernel's enumerator name (`HL_COLLECTIVE_MASTER`, ...).
    pub const fn kernel_name(self) -> &'static str {
        match self {
            CollectiveMode::None => "HL_COLLECTIVE_NOT_SUPPORTED",
            CollectiveMode::Master => "HL_COLLECTIVE_MASTER",
            CollectiveMode::Slave => "HL_COLLECTIVE_SLAVE",
        }
    }
}

/// How the hardware reports completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompletionMode {
    /// One CQ entry per job (HL_COMPLETION_MODE_JOB; Goya, Gaudi).
    PerJob,
    /// One completion per CS (HL_COMPLETION_MODE_CS; Gaudi2).
    PerCs,
}

impl CompletionMode {
    /// Every mode.
    pub const ALL: [CompletionMode; 2] = [CompletionMode::PerJob, CompletionMode::PerCs];

    /// Parses a spec spelling.
    pub fn from_spec_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.spec_name() == name)
    }

    /// The spelling specs use.
    pub const fn spec_name(self) -> &'static str {
        match self {
            CompletionMode::PerJob => "per_job",
            CompletionMode::PerCs => "per_cs",
        }
    }
}

/// Engine kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EngineKind {
    /// DMA engine (PCI or HBM DMA).
    Dma,
    /// Matrix multiplication engine.
    Mme,
    /// Tensor processing core.
    Tpc,
    /// Network interface engine.
    Nic,
    /// Rotator.
    Rot,
    /// Video decoder.
    Dec,
    /// Kernel (driver-owned) DMA.
    Kdma,
    /// ARC scheduler farm.
    Arc,
    /// PCIe block.
    Pcie,
    /// PSOC block.
    Psoc,
}

impl EngineKind {
    /// Every kind, in declaration order; also the list "did you mean" searches.
    pub const ALL: [EngineKind; 10] = [
        EngineKind::Dma,
        EngineKind::Mme,
        EngineKind::Tpc,
        EngineKind::Nic,
        EngineKind::Rot,
        EngineKind::Dec,
        EngineKind::Kdma,
        EngineKind::Arc,
        EngineKind::Pcie,
        EngineKind::Psoc,
    ];

    /// The spelling specs use.
    pub const fn spec_name(self) -> &'static str {
        match self {
            EngineKind::Dma => "dma",
            EngineKind::Mme => "mme",
            EngineKind::Tpc => "tpc",
            EngineKind::Nic => "nic",
            EngineKind::Rot => "rot",
            EngineKind::Dec => "dec",
            EngineKind::Kdma => "kdma",
            EngineKind::Arc => "arc",
            EngineKind::Pcie => "pcie",
            EngineKind::Psoc => "psoc",
        }
    }

    /// Parses a spec spelling.
    pub fn from_spec_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.spec_name() == name)
    }
}

/// The static properties of one hardware queue (`struct hw_queue_properties` and friends).
///
/// This struct is the one place a queue property is declared. `Name` is who owns the name: a
/// generated table borrows it for `'static` (the default, and all the runtime ever sees); the
/// dsl's Model owns it (`QueueProps<String>`). Adding a property is adding a field here, its
/// line in [`QueueProps::properties`] (and [`QUEUE_FLAGS`] for a flag), and its emission in
/// the code generator; `ARCHITECTURE.md` lists the steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QueueProps<Name = &'static str> {
    /// Uapi queue id.
    pub id: u32,
    /// Name without the uapi prefix, e.g. `"DMA_0_0"`.
    pub name: Name,
    /// The queue type.
    pub queue_type: QueueType,
    /// Id of the engine behind the queue; `None` for the CPU queue.
    pub engine: Option<u32>,
    /// Who allocates command buffers for jobs on this queue.
    pub cb_alloc: CbAlloc,
    /// Only the driver may submit here.
    pub driver_only: bool,
    /// The engine behind it is fused off on this part.
    pub binned: bool,
    /// Can take part in sync-stream signal/wait CSs.
    pub supports_sync_stream: bool,
    /// A stream master for multi-CS wait.
    pub stream_master: bool,
    /// Role in collective operations.
    pub collective: CollectiveMode,
    /// Length of the queue's PQ in entries (a power of two).
    pub pq_len: u32,
    /// Completion queue this queue reports through (external queues).
    pub cq: Option<u32>,
}

/// The queue properties a spec sets by writing their name alone (`driver_only`), in the order
/// the language documents them. [`QueueProps::flag_mut`] gives the field each one sets.
pub const QUEUE_FLAGS: [&str; 4] = ["driver_only", "binned", "sync_stream", "stream_master"];

impl<Name> QueueProps<Name> {
    /// A queue with every other property at the language's default: no engine, CBs the kernel
    /// allocates, no flag set, no collective role, no completion queue.
    pub const fn new(id: u32, name: Name, queue_type: QueueType, pq_len: u32) -> Self {
        QueueProps {
            id,
            name,
            queue_type,
            engine: None,
            cb_alloc: CbAlloc::Kernel,
            driver_only: false,
            binned: false,
            supports_sync_stream: false,
            stream_master: false,
            collective: CollectiveMode::None,
            pq_len,
            cq: None,
        }
    }

    /// Whether a user CS may put jobs on this queue (it is neither driver-only nor binned).
    pub const fn accepts_user_jobs(&self) -> bool {
        !self.driver_only && !self.binned
    }

    /// The field the flag `spec_name` (one of [`QUEUE_FLAGS`]) sets; `None` for anything else.
    pub fn flag_mut(&mut self, spec_name: &str) -> Option<&mut bool> {
        match spec_name {
            "driver_only" => Some(&mut self.driver_only),
            "binned" => Some(&mut self.binned),
            "sync_stream" => Some(&mut self.supports_sync_stream),
            "stream_master" => Some(&mut self.stream_master),
            _ => None,
        }
    }

    /// Every property but the id and the name, each once, in the order the reference table
    /// shows them: what the Markdown reference, the change list of `asicgen diff` and the
    /// tests read, so that none of them names a property itself.
    pub fn properties(&self) -> [QueueProperty; 10] {
        // why: destructured with no `..`, so a field added to the struct fails to compile here
        // until it has its line below.
        let QueueProps {
            id: _,
            name: _,
            queue_type,
            engine,
            cb_alloc,
            driver_only,
            binned,
            supports_sync_stream,
            stream_master,
            collective,
            pq_len,
            cq,
        } = *self;
        use QueueValue::{Choice, Cq, Engine, Flag, Length};
        let property = QueueProperty::new;
        [
            property("type", "type", Choice(queue_type.spec_name(), false)),
            property("engine", "engine", Engine(engine)),
            property("cb_alloc", "CB alloc", Choice(cb_alloc.spec_name(), false)),
            property("driver_only", "driver only", Flag(driver_only)),
            property("binned", "binned", Flag(binned)),
            property("sync_stream", "sync stream", Flag(supports_sync_stream)),
            property("stream_master", "stream master", Flag(stream_master)),
            property(
                "collective",
                "collective",
                Choice(collective.spec_name(), collective == CollectiveMode::None),
            ),
            property("pq_len", "PQ length", Length(pq_len)),
            property("cq", "CQ", Cq(cq)),
        ]
    }
}

/// One property of a queue, as [`QueueProps::properties`] lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QueueProperty {
    /// The key a spec writes (`cb_alloc`; `type` is the declaration's keyword).
    pub spec_name: &'static str,
    /// The column title of the Markdown reference (`CB alloc`).
    pub title: &'static str,
    /// The queue's value.
    pub value: QueueValue,
}

impl QueueProperty {
    const fn new(spec_name: &'static str, title: &'static str, value: QueueValue) -> Self {
        QueueProperty {
            spec_name,
            title,
            value,
        }
    }
}

/// The value of a [`QueueProperty`], by the way it is shown: each output decides once per kind
/// how to print it, never per property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueueValue {
    /// One of an enum's spec spellings, and whether it is the property's default (shown blank
    /// in the reference).
    Choice(&'static str, bool),
    /// The engine id behind the queue, if any.
    Engine(Option<u32>),
    /// A flag.
    Flag(bool),
    /// A length in entries.
    Length(u32),
    /// A completion queue, if any.
    Cq(Option<u32>),
}

/// The static properties of one engine.
///
/// Like [`QueueProps`], the one declaration of an engine's properties: `Name` is `&'static str`
/// in a generated table and `String` in the dsl's Model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EngineProps<Name = &'static str> {
    /// Uapi engine id; also its bit in the busy-engines mask.
    pub id: u32,
    /// Name without the uapi prefix, e.g. `"TPC_0"`.
    pub name: Name,
    /// What kind of engine it is.
    pub kind: EngineKind,
}

impl<Name> EngineProps<Name> {
    /// Index of the `u64` word of the extended busy-engines mask that holds this engine's bit.
    pub const fn mask_word(&self) -> usize {
        (self.id / 64) as usize
    }

    /// This engine's bit within its mask word.
    pub const fn mask_bit(&self) -> u64 {
        1 << (self.id % 64)
    }
}

/// Device limits and modes (the spec's `limits` block).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Size of a context's pending-CS ring; a power of two greater than 1.
    pub max_pending_cs: u32,
    /// Most jobs (chunks) one CS may carry (HL_MAX_JOBS_PER_CS).
    pub max_jobs_per_cs: u32,
    /// Default PQ length in entries for queues that do not set `pq_len` (HL_QUEUE_LENGTH).
    pub queue_length: u32,
    /// Completion-queue length in entries (HL_CQ_LENGTH).
    pub cq_length: u32,
    /// Default CS timeout (TDR), whole milliseconds as specs write it; zero disables TDR.
    pub cs_timeout: Duration,
    /// How completions are reported.
    pub completion: CompletionMode,
}

impl Limits {
    /// The TDR timeout, or `None` when TDR is disabled (`cs_timeout` of zero).
    pub const fn tdr_timeout(&self) -> Option<Duration> {
        if self.cs_timeout.is_zero() {
            None
        } else {
            Some(self.cs_timeout)
        }
    }
}

/// A completion queue the driver keeps for itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReservedCq {
    /// The spec's name for it (`"CS_COMPLETION"`).
    pub name: &'static str,
    /// Its index.
    pub id: u32,
}

/// The sync manager: its sync objects (SOBs) and monitors, the ranges the driver reserves at the
/// start, and what is left to users from there on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SyncManagerLayout {
    /// Sync objects in the block.
    pub sobs: u32,
    /// Monitors in the block.
    pub monitors: u32,
    /// Reserved ranges in layout order.
    pub ranges: &'static [SyncRange],
    /// The first SOB left to users (uapi `..._FIRST_AVAILABLE_..._SYNC_OBJECT`).
    pub first_user_sob: u32,
    /// The first monitor left to users (uapi `..._FIRST_AVAILABLE_..._MONITOR`).
    pub first_user_monitor: u32,
}

/// One reserved range of the sync manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SyncRange {
    /// The spec's name for it (`"cs_completion"`).
    pub name: &'static str,
    /// First SOB.
    pub first_sob: u32,
    /// SOBs in the range.
    pub sobs: u32,
    /// First monitor.
    pub first_monitor: u32,
    /// Monitors in the range.
    pub monitors: u32,
}

/// Feature flags (the spec's `features` block). Each defaults to `false`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Features {
    /// Signal/wait CSs through sync objects (supports_sync_stream).
    pub sync_stream: bool,
    /// Staged submissions (supports_staged_submission).
    pub staged_submission: bool,
    /// The multi-CS wait ioctl (supports_wait_for_multi_cs).
    pub multi_cs_wait: bool,
    /// Resetting only the compute engines instead of the whole device.
    pub compute_reset: bool,
    /// The driver switches context on a context's first CS (supports_ctx_switch).
    pub context_switch: bool,
}

impl Features {
    /// Every feature as `(spec name, value)`, in the order specs and tables list them.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, bool)> {
        // why: destructured with no `..`, so a new feature fails to compile here until listed.
        let Features {
            sync_stream,
            staged_submission,
            multi_cs_wait,
            compute_reset,
            context_switch,
        } = *self;
        [
            ("sync_stream", sync_stream),
            ("staged_submission", staged_submission),
            ("multi_cs_wait", multi_cs_wait),
            ("compute_reset", compute_reset),
            ("context_switch", context_switch),
        ]
        .into_iter()
    }

    /// The field of the feature a spec calls `spec_name`; `None` for anything else.
    pub fn flag_mut(&mut self, spec_name: &str) -> Option<&mut bool> {
        match spec_name {
            "sync_stream" => Some(&mut self.sync_stream),
            "staged_submission" => Some(&mut self.staged_submission),
            "multi_cs_wait" => Some(&mut self.multi_cs_wait),
            "compute_reset" => Some(&mut self.compute_reset),
            "context_switch" => Some(&mut self.context_switch),
            _ => None,
        }
    }
}

/// A `u32` that names no queue of this generation (the ioctl's "invalid queue index").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InvalidQueueId(pub u32);

impl fmt::Display for InvalidQueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no queue has id {}", self.0)
    }
}

impl core::error::Error for InvalidQueueId {}

/// A `u32` that names no engine of this generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InvalidEngineId(pub u32);

impl fmt::Display for InvalidEngineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no engine has id {}", self.0)
    }
}

impl core::error::Error for InvalidEngineId {}

/// Checks, at compile time when called in a `const`, what the runtime assumes of the tables.
///
/// Generated code calls it as `const _: () = assert_tables(...)`, so a codegen bug that breaks an
/// assumption fails the build instead of misrouting jobs: ids strictly increasing and below their
/// `_SIZE`, engines referenced by queues exist, PQ lengths are powers of two, external queues have
/// a completion queue, and `max_pending_cs` is a power of two greater than 1.
///
/// # Panics
/// When an assumption does not hold (at compile time in a `const` context).
pub const fn assert_tables(
    queues: &[QueueProps],
    engines: &[EngineProps],
    queue_id_size: u32,
    engine_id_size: u32,
    limits: &Limits,
) {
    let mut i = 0;
    while i < engines.len() {
        assert!(
            engines[i].id < engine_id_size,
            "engine id not below ENGINE_ID_SIZE"
        );
        assert!(
            i == 0 || engines[i - 1].id < engines[i].id,
            "ENGINES not ordered by strictly increasing id"
        );
        i += 1;
    }
    let mut i = 0;
    while i < queues.len() {
        let q = &queues[i];
        assert!(q.id < queue_id_size, "queue id not below QUEUE_ID_SIZE");
        assert!(
            i == 0 || queues[i - 1].id < q.id,
            "QUEUES not ordered by strictly increasing id"
        );
        assert!(
            q.pq_len.is_power_of_two(),
            "queue pq_len not a power of two"
        );
        assert!(
            !matches!(q.queue_type, QueueType::External) || q.cq.is_some(),
            "external queue without a completion queue"
        );
        if let Some(engine) = q.engine {
            let mut found = false;
            let mut j = 0;
            while j < engines.len() {
                found |= engines[j].id == engine;
                j += 1;
            }
            assert!(found, "queue bound to an engine that is not in ENGINES");
        }
        i += 1;
    }
    assert!(
        limits.max_pending_cs > 1 && limits.max_pending_cs.is_power_of_two(),
        "max_pending_cs not a power of two greater than 1"
    );
}

#[cfg(test)]
extern crate std;

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    /// A hand-written generation, as the macro would expand a tiny spec.
    #[derive(Clone, Copy, Debug, Default)]
    struct Tiny;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    enum Q {
        Dma0 = 0,
        Cpu = 2,
    }

    impl From<Q> for u32 {
        fn from(q: Q) -> u32 {
            q as u32
        }
    }

    impl TryFrom<u32> for Q {
        type Error = InvalidQueueId;
        fn try_from(v: u32) -> Result<Q, InvalidQueueId> {
            match v {
                0 => Ok(Q::Dma0),
                2 => Ok(Q::Cpu),
                _ => Err(InvalidQueueId(v)),
            }
        }
    }

    impl fmt::Display for Q {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                Q::Dma0 => "TINY_QUEUE_ID_DMA_0",
                Q::Cpu => "TINY_QUEUE_ID_CPU_PQ",
            })
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    enum E {
        Dma0 = 0,
    }

    impl From<E> for u32 {
        fn from(e: E) -> u32 {
            e as u32
        }
    }

    impl TryFrom<u32> for E {
        type Error = InvalidEngineId;
        fn try_from(v: u32) -> Result<E, InvalidEngineId> {
            match v {
                0 => Ok(E::Dma0),
                _ => Err(InvalidEngineId(v)),
            }
        }
    }

    impl fmt::Display for E {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("TINY_ENGINE_ID_DMA_0")
        }
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    enum S {
        Allocated,
        Done,
    }

    impl fmt::Display for S {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(Tiny::state_name(*self))
        }
    }

    const QUEUES: [QueueProps; 2] = [
        QueueProps {
            engine: Some(0),
            cq: Some(3),
            ..QueueProps::new(0, "DMA_0", QueueType::External, 4096)
        },
        QueueProps {
            driver_only: true,
            ..QueueProps::new(2, "CPU_PQ", QueueType::Cpu, 4096)
        },
    ];
    const ENGINES: [EngineProps; 1] = [EngineProps {
        id: 0,
        name: "DMA_0",
        kind: EngineKind::Dma,
    }];
    const LIMITS: Limits = Limits {
        max_pending_cs: 64,
        max_jobs_per_cs: 512,
        queue_length: 4096,
        cq_length: 4096,
        cs_timeout: Duration::from_secs(30),
        completion: CompletionMode::PerJob,
    };
    const _: () = assert_tables(&QUEUES, &ENGINES, 3, 1, &LIMITS);

    impl Asic for Tiny {
        const NAME: &'static str = "Tiny";
        const UAPI_PREFIX: &'static str = "TINY";
        const PROVENANCE: &'static str = "hand-written test fixture";
        const PCI_VENDOR: u16 = 0x1da3;
        const PCI_DEVICES: &'static [u16] = &[0xffff];
        type QueueId = Q;
        type EngineId = E;
        type CsState = S;
        const QUEUES: &'static [QueueProps] = &QUEUES;
        const ENGINES: &'static [EngineProps] = &ENGINES;
        const QUEUE_IDS: &'static [Q] = &[Q::Dma0, Q::Cpu];
        const ENGINE_IDS: &'static [E] = &[E::Dma0];
        const QUEUE_ID_SIZE: u32 = 3;
        const ENGINE_ID_SIZE: u32 = 1;
        const LIMITS: Limits = LIMITS;
        const FEATURES: Features = Features {
            sync_stream: false,
            staged_submission: false,
            multi_cs_wait: false,
            compute_reset: true,
            context_switch: false,
        };
        const INITIAL_STATE: S = S::Allocated;
        const STATES: &'static [S] = &[S::Allocated, S::Done];
        const STATE_NAMES: &'static [&'static str] = &["Allocated", "Done"];

        fn transition(state: S, event: CsEvent) -> Transition<S> {
            match (state, event) {
                (S::Allocated, CsEvent::JobsDone) => Transition::Goto(S::Done),
                _ => Transition::Ignore,
            }
        }

        fn outcome(state: S) -> Option<FenceOutcome> {
            match state {
                S::Allocated => None,
                S::Done => Some(FenceOutcome::Ok),
            }
        }

        fn state_index(state: S) -> usize {
            state as usize
        }
    }

    #[test]
    fn queue_lookup_skips_reserved_ids() {
        assert_eq!(Tiny::queue(0).map(|q| q.name), Some("DMA_0"));
        assert_eq!(Tiny::queue(1), None);
        assert_eq!(Tiny::queue(2).map(|q| q.name), Some("CPU_PQ"));
        assert_eq!(Tiny::queue(3), None);
        assert_eq!(Tiny::queue(u32::MAX), None);
        let typed: u32 = Q::Cpu.into();
        assert!(Tiny::queue(typed).is_some_and(|q| !q.accepts_user_jobs()));
    }

    #[test]
    fn engine_lookup_and_mask_bits() {
        let dma = Tiny::engine(0).expect("engine 0 is in the fixture");
        assert_eq!((dma.mask_word(), dma.mask_bit()), (0, 1));
        assert_eq!(Tiny::engine(1), None);
        let far = EngineProps {
            id: 78,
            name: "KDMA",
            kind: EngineKind::Kdma,
        };
        assert_eq!((far.mask_word(), far.mask_bit()), (1, 1 << 14));
    }

    #[test]
    fn lifecycle_defaults() {
        assert_eq!(
            Tiny::next_state(S::Allocated, CsEvent::Submit),
            S::Allocated
        );
        assert_eq!(Tiny::next_state(S::Allocated, CsEvent::JobsDone), S::Done);
        assert!(Tiny::is_terminal(S::Done));
        assert!(!Tiny::is_terminal(Tiny::INITIAL_STATE));
        assert_eq!(Tiny::state_name(S::Done), "Done");
        assert_eq!(S::Done.to_string(), "Done");
    }

    #[test]
    fn completion_queue_count_is_one_past_the_highest_cq() {
        assert_eq!(Tiny::completion_queue_count(), 4);
    }

    #[test]
    fn id_errors_render() {
        assert_eq!(Q::try_from(1), Err(InvalidQueueId(1)));
        assert_eq!(InvalidQueueId(1).to_string(), "no queue has id 1");
        assert_eq!(InvalidEngineId(9).to_string(), "no engine has id 9");
    }

    #[test]
    fn event_vocabulary_is_dense_and_named() {
        for (i, event) in CsEvent::ALL.into_iter().enumerate() {
            assert_eq!(event.index(), i);
        }
        assert_eq!(CsEvent::TimeoutDetected.to_string(), "timeout_detected");
    }

    #[test]
    fn tdr_timeout_zero_disables() {
        assert_eq!(LIMITS.tdr_timeout(), Some(Duration::from_secs(30)));
        let off = Limits {
            cs_timeout: Duration::ZERO,
            ..LIMITS
        };
        assert_eq!(off.tdr_timeout(), None);
    }

    #[test]
    fn every_flag_sets_its_own_property_and_only_flags_are_flags() {
        let plain = QueueProps::new(0, "Q", QueueType::Internal, 2);
        for flag in QUEUE_FLAGS {
            let mut q = plain;
            *q.flag_mut(flag).expect("a listed flag has a field") = true;
            for (before, after) in plain.properties().iter().zip(q.properties()) {
                let expected = if before.spec_name == flag {
                    QueueValue::Flag(true)
                } else {
                    before.value
                };
                assert_eq!(after.value, expected, "setting `{flag}`");
            }
        }
        for p in plain.properties() {
            let is_flag = matches!(p.value, QueueValue::Flag(_));
            assert_eq!(
                QUEUE_FLAGS.contains(&p.spec_name),
                is_flag,
                "{}",
                p.spec_name
            );
        }
        let mut other = plain;
        assert_eq!(other.flag_mut("pq_len"), None);
    }

    #[test]
    fn every_feature_sets_its_own_field() {
        for (name, _) in Features::default().iter() {
            let mut f = Features::default();
            *f.flag_mut(name).expect("a listed feature has a field") = true;
            let on: std::vec::Vec<_> = f.iter().filter(|(_, on)| *on).map(|(n, _)| n).collect();
            assert_eq!(on, [name]);
        }
    }

    #[test]
    fn cb_alloc_flags() {
        assert!(CbAlloc::Both.allows_kernel() && CbAlloc::Both.allows_user());
        assert!(!CbAlloc::User.allows_kernel());
        assert!(QueueType::Hw.has_completion() && !QueueType::Internal.has_completion());
    }
}
