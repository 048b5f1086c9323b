//! The reserved sync-object layout of a generation, derived the way `gaudi_set_fixed_properties`
//! computes it.
//!
//! why this module is alone: the spec language does not declare a sync manager yet, so the
//! layout is derived here from what the spec does say (features, collective roles, sync-stream
//! queues) and the driver's common constants. When specs declare their sync-manager block, this
//! module is the one place that switches to reading it; nothing else in the kernel output
//! computes a sync-object number.

use asicgen_dsl::model::{CollectiveMode, EngineKind, Model};

/// SOBs reserved per sync-stream queue (`HL_RSVD_SOBS`, habanalabs.h).
pub const HL_RSVD_SOBS: u32 = 2;
/// Monitors reserved per sync-stream queue (`HL_RSVD_MONS`, habanalabs.h).
pub const HL_RSVD_MONS: u32 = 1;
/// Monitors reserved per collective master queue (`HL_COLLECTIVE_RSVD_MSTR_MONS`).
pub const HL_COLLECTIVE_RSVD_MSTR_MONS: u32 = 2;
/// SOBs one monitor can watch (`HL_MAX_SOBS_PER_MONITOR`).
pub const HL_MAX_SOBS_PER_MONITOR: u32 = 8;

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

/// The reserved ranges, in the order the driver lays them out: collective, then sync stream,
/// then the first SOB and monitor users may take (in the sync-stream sync manager).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
    /// `prop->first_available_user_sob[<sync-stream dcore>]`.
    pub first_available_user_sob: u32,
    /// `prop->first_available_user_mon[<sync-stream dcore>]`.
    pub first_available_user_mon: u32,
}

/// The layout of `model`; all zero when the generation has no sync stream (Goya: the driver
/// never assigns these and they stay 0).
pub fn derive(model: &Model) -> SyncLayout {
    if !model.features.sync_stream {
        return SyncLayout::default();
    }
    let mut slave_engines: Vec<u32> = model
        .queues
        .iter()
        .filter(|q| q.collective == CollectiveMode::Slave)
        .filter_map(|q| q.engine)
        .collect();
    slave_engines.sort_unstable();
    slave_engines.dedup();
    let masters = count(model, |q| q.collective == CollectiveMode::Master);
    let collective = (!slave_engines.is_empty()).then(|| {
        let streams = slave_engines
            .iter()
            .map(|e| count(model, |q| q.engine == Some(*e)))
            .max()
            .unwrap_or(0);
        let nic = slave_engines
            .iter()
            .filter(|e| model.engine(**e).is_some_and(|e| e.kind == EngineKind::Nic))
            .count() as u32;
        let reduction = u32::from(nic < slave_engines.len() as u32);
        Collective {
            queues: slave_engines.len() as u32,
            streams,
            sobs_in_group: nic + reduction,
        }
    });
    // "2 SOBs per internal queue stream are reserved for collective"; "1 monitor per internal
    // queue stream ... 2 monitors per external queue stream are reserved for collective".
    let (sobs, mons) = match collective {
        Some(c) => (
            align(c.sobs_in_group, HL_MAX_SOBS_PER_MONITOR)
                .saturating_mul(c.streams)
                .saturating_mul(HL_RSVD_SOBS),
            c.queues
                .saturating_mul(c.streams)
                .saturating_add(masters.saturating_mul(HL_COLLECTIVE_RSVD_MSTR_MONS)),
        ),
        None => (0, 0),
    };
    let sync_stream_queues = count(model, |q| q.supports_sync_stream);
    SyncLayout {
        collective,
        collective_first_sob: 0,
        collective_first_mon: 0,
        sync_stream_first_sob: sobs,
        sync_stream_first_mon: mons,
        sync_stream_queues,
        first_available_user_sob: sobs
            .saturating_add(sync_stream_queues.saturating_mul(HL_RSVD_SOBS)),
        first_available_user_mon: mons
            .saturating_add(sync_stream_queues.saturating_mul(HL_RSVD_MONS)),
    }
}

fn count(model: &Model, pred: impl Fn(&asicgen_dsl::model::Queue) -> bool) -> u32 {
    model.queues.iter().filter(|q| pred(q)).count() as u32
}

/// `ALIGN(value, to)` for a power-of-two `to`.
fn align(value: u32, to: u32) -> u32 {
    value.div_ceil(to).saturating_mul(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_rounds_up_to_the_multiple() {
        assert_eq!(align(11, 8), 16);
        assert_eq!(align(16, 8), 16);
        assert_eq!(align(0, 8), 0);
    }
}
