//! The reserved sync-object layout as the kernel tables state it, read from the spec's
//! `sync_manager` block, and the collective-group constants derived from the queues' roles.
//!
//! The sync manager's reserved ranges are laid out in order; the range called `sync_stream` is
//! the per-queue sync-stream range the driver computes (`sync_stream_first_sob/mon`), the ranges
//! before it are the kernel's reserved enums (Gaudi2's `gaudi2_reserved_sob_id`), and what
//! follows the last range is the user's (`first_available_user_sob/mon`).

use asicgen_dsl::model::{CollectiveMode, EngineKind, Model, SyncRange};

/// The name of the sync manager's per-queue sync-stream range.
pub const SYNC_STREAM_RANGE: &str = "sync_stream";
/// The name of the collective range (Gaudi).
pub const COLLECTIVE_RANGE: &str = "collective";

/// The collective part of the layout (only generations with collective slaves have one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Collective {
    /// Engines whose queues are collective slaves (`NUMBER_OF_COLLECTIVE_QUEUES`).
    pub queues: u32,
    /// Streams per collective engine (`QMAN_STREAMS`).
    pub streams: u32,
    /// SOBs in one collective group: one per NIC slave, plus one for the reduction engine when
    /// non-NIC slaves exist (`NUMBER_OF_SOBS_IN_GRP`).
    pub sobs_in_group: u32,
}

/// The layout the kernel tables state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncLayout {
    /// Collective parameters, `None` without collective slaves.
    pub collective: Option<Collective>,
    /// `prop->collective_first_sob`.
    pub collective_first_sob: u32,
    /// `prop->collective_first_mon`.
    pub collective_first_mon: u32,
    /// `prop->sync_stream_first_sob`.
    pub sync_stream_first_sob: u32,
    /// `prop->sync_stream_first_mon`.
    pub sync_stream_first_mon: u32,
    /// Queues that support sync stream (the driver's local `num_sync_stream_queues`).
    pub sync_stream_queues: u32,
    /// `prop->first_available_user_sob[<the sync manager's dcore>]`.
    pub first_available_user_sob: u32,
    /// `prop->first_available_user_mon[<the sync manager's dcore>]`.
    pub first_available_user_mon: u32,
    /// The reserved ranges before the sync-stream range, for the reserved SOB/monitor enums.
    pub reserved: Vec<SyncRange>,
}

/// The layout of `model`; all zero without a sync manager (Goya: the driver never assigns
/// these and they stay 0).
pub fn derive(model: &Model) -> SyncLayout {
    let sync_stream_queues = model
        .queues
        .iter()
        .filter(|q| q.props.supports_sync_stream)
        .count() as u32;
    let collective = collective(model);
    let Some(sm) = &model.sync_manager else {
        return SyncLayout {
            collective,
            sync_stream_queues,
            ..SyncLayout::default()
        };
    };
    let range = |name: &str| sm.ranges.iter().find(|r| r.name == name);
    let sync_stream = range(SYNC_STREAM_RANGE);
    let collective_range = range(COLLECTIVE_RANGE);
    SyncLayout {
        collective,
        collective_first_sob: collective_range.map_or(0, |r| r.first_sob),
        collective_first_mon: collective_range.map_or(0, |r| r.first_monitor),
        sync_stream_first_sob: sync_stream.map_or(sm.first_user_sob(), |r| r.first_sob),
        sync_stream_first_mon: sync_stream.map_or(sm.first_user_monitor(), |r| r.first_monitor),
        sync_stream_queues,
        first_available_user_sob: sm.first_user_sob(),
        first_available_user_mon: sm.first_user_monitor(),
        reserved: sm
            .ranges
            .iter()
            .take_while(|r| r.name != SYNC_STREAM_RANGE)
            .cloned()
            .collect(),
    }
}

/// Collective slaves: one engine per collective queue family; its queues are the streams.
fn collective(model: &Model) -> Option<Collective> {
    let mut slave_engines: Vec<u32> = model
        .queues
        .iter()
        .filter(|q| q.props.collective == CollectiveMode::Slave)
        .filter_map(|q| q.props.engine)
        .collect();
    slave_engines.sort_unstable();
    slave_engines.dedup();
    if slave_engines.is_empty() {
        return None;
    }
    let streams = slave_engines
        .iter()
        .map(|e| {
            model
                .queues
                .iter()
                .filter(|q| q.props.engine == Some(*e))
                .count() as u32
        })
        .max()
        .unwrap_or(0);
    let nic = slave_engines
        .iter()
        .filter(|e| {
            model
                .engine(**e)
                .is_some_and(|e| e.props.kind == EngineKind::Nic)
        })
        .count() as u32;
    // One SOB per NIC engine, and one for the reduction engine (DMA5 or TPC7 on Gaudi).
    let reduction = u32::from((nic as usize) < slave_engines.len());
    Some(Collective {
        queues: slave_engines.len() as u32,
        streams,
        sobs_in_group: nic + reduction,
    })
}
