//! Per-device binning, from the driver's rule (`gaudi2_set_tpc_binning_masks`,
//! `gaudi2_set_edma_binning_masks`; docs/driver-semantics.md): a device is created with its fuse
//! masks; with `n` faulty units of a rule, the rule's first `n` spares stand in and their queues
//! are binned on that device, refused exactly as a queue the spec bins for every part; more
//! faulty units than the rule allows fail device creation (the driver fails `hw_init`).
//!
//! Gaudi2's facts are written here from the kernel, by C name, not read back from the spec:
//! up to 2 faulty TPCs, replaced by DCORE0_TPC_6 and then DCORE3_TPC_5; one faulty EDMA, replaced
//! by DCORE3_EDMA_1. Every generation then gets the generic rules through the registry.

mod common;

use asicgen_generated::gaudi2::Gaudi2;
use asicgen_runtime::asic::Asic;
use asicgen_runtime::binning::BinningError;
use asicgen_runtime::{
    CsSubmit, Device, DeviceConfig, DeviceError, Job, QueueRejection, SubmitError,
};
use common::device_with;

/// The ids of the queues whose C name starts with `prefix` (e.g. `GAUDI2_QUEUE_ID_DCORE0_TPC_6`).
fn queues_named<A: Asic>(prefix: &str) -> Vec<u32> {
    let ids: Vec<u32> = A::QUEUES
        .iter()
        .map(|q| q.id)
        .filter(|&id| {
            A::QueueId::try_from(id).is_ok_and(|q| q.to_string().starts_with(&format!("{prefix}_")))
        })
        .collect();
    assert!(!ids.is_empty(), "no queue named {prefix}_*");
    ids
}

fn with_masks<A: Asic>(masks: &[u64]) -> Result<Device<A>, DeviceError> {
    let mut cfg = DeviceConfig::for_asic::<A>();
    cfg.fuse_masks[..masks.len()].copy_from_slice(masks);
    Device::<A>::new(cfg)
}

/// Whether a one-job CS on `queue` is refused as binned.
fn refused_as_binned<A: Asic>(d: &Device<A>, queue: u32) -> bool {
    let ctx = d.open().expect("a free context");
    let refused = matches!(
        ctx.submit(&CsSubmit::new(&[Job::new(queue)])),
        Err(SubmitError::InvalidQueue {
            reason: QueueRejection::Binned,
            ..
        })
    );
    drop(ctx);
    refused
}

const TPC6: &str = "GAUDI2_QUEUE_ID_DCORE0_TPC_6";
const D3_TPC5: &str = "GAUDI2_QUEUE_ID_DCORE3_TPC_5";
const D3_EDMA1: &str = "GAUDI2_QUEUE_ID_DCORE3_EDMA_1";

#[test]
fn gaudi2_faulty_tpcs_bin_the_spares_in_order() {
    // Rule order is the spec's: [tpc, edma].
    let none = with_masks::<Gaudi2>(&[0, 0]).expect("a clean part");
    assert!(none.binned_queues().is_empty());
    for q in queues_named::<Gaudi2>(TPC6) {
        assert!(!refused_as_binned(&none, q), "queue {q} on a clean part");
    }

    // One faulty TPC (any one): DCORE0_TPC_6 stands in, its four streams are binned.
    for bit in [0, 7, 23] {
        let d = with_masks::<Gaudi2>(&[1 << bit]).expect("one faulty TPC works");
        assert_eq!(d.binned_queues(), queues_named::<Gaudi2>(TPC6), "bit {bit}");
        for q in queues_named::<Gaudi2>(TPC6) {
            assert!(refused_as_binned(&d, q), "queue {q}");
        }
        for q in queues_named::<Gaudi2>(D3_TPC5) {
            assert!(!refused_as_binned(&d, q), "queue {q} is not a spare yet");
        }
    }

    // Two faulty TPCs: DCORE3_TPC_5 too.
    let d = with_masks::<Gaudi2>(&[0b101]).expect("two faulty TPCs work");
    let mut expected = queues_named::<Gaudi2>(TPC6);
    expected.extend(queues_named::<Gaudi2>(D3_TPC5));
    expected.sort_unstable();
    assert_eq!(d.binned_queues(), expected);

    // Three: no working part.
    assert_eq!(
        with_masks::<Gaudi2>(&[0b111]).err(),
        Some(DeviceError::Binning(BinningError::TooManyFaulty {
            rule: "tpc",
            faulty: 3,
            max: 2
        }))
    );
}

#[test]
fn gaudi2_one_faulty_edma_bins_dcore3_edma_1() {
    let d = with_masks::<Gaudi2>(&[0, 1 << 3]).expect("one faulty EDMA works");
    assert_eq!(d.binned_queues(), queues_named::<Gaudi2>(D3_EDMA1));
    for q in queues_named::<Gaudi2>(D3_EDMA1) {
        assert!(refused_as_binned(&d, q), "queue {q}");
    }
    assert!(matches!(
        with_masks::<Gaudi2>(&[0, 0b11]),
        Err(DeviceError::Binning(BinningError::TooManyFaulty {
            rule: "edma",
            ..
        }))
    ));
}

/// A fuse bit past a rule's units, or a mask for a rule the generation does not have, is a
/// typed error at creation for every generation.
fn masks_outside_the_rules_are_refused<A: Asic>() {
    let rules = A::BINNING.len();
    if rules < asicgen_runtime::MAX_FUSE_MASKS {
        let mut masks = vec![0u64; rules + 1];
        masks[rules] = 1;
        assert_eq!(
            with_masks::<A>(&masks).err(),
            Some(DeviceError::Binning(BinningError::UnknownRule {
                index: rules,
                rules
            })),
            "{}",
            A::NAME
        );
    }
    for (r, rule) in A::BINNING.iter().enumerate() {
        let units = rule.units.len() as u32;
        if units < 64 {
            let mut masks = vec![0u64; r + 1];
            masks[r] = 1 << units;
            assert!(
                matches!(
                    with_masks::<A>(&masks),
                    Err(DeviceError::Binning(BinningError::UnknownUnit { bit, .. })) if bit == units
                ),
                "{} rule {}",
                A::NAME,
                rule.name
            );
        }
    }
    // No fuses: exactly the spec's own binned queues are refused, nothing else.
    let (d, _ctx) = device_with::<A>(|_| {});
    assert!(d.binned_queues().is_empty(), "{}", A::NAME);
}

for_each_asic!(masks_outside_the_rules_are_refused);
