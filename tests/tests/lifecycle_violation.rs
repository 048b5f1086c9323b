//! The runtime catches a lifecycle that cannot finish a CS: Goya's tables with a lifecycle that
//! drops `jobs_done`, so a CS whose jobs are done is released while still `InFlight`. A debug
//! build stops with the ASIC, state and event; a release build signals the defined error outcome
//! (aborted) and counts the violation, so no completion is ever lost.

use asicgen_generated::goya::Goya;
use asicgen_runtime::asic::{
    Asic, CsEvent, EngineProps, Features, FenceOutcome, Limits, QueueProps, Transition,
};
use asicgen_runtime::{CsSubmit, Device, DeviceConfig, Job, Work};
use std::time::Duration;

/// Goya with a broken lifecycle.
#[derive(Clone, Copy, Debug, Default)]
struct Broken;

impl Asic for Broken {
    const NAME: &'static str = "Broken";
    const UAPI_PREFIX: &'static str = Goya::UAPI_PREFIX;
    const PROVENANCE: &'static str = "test fixture";
    const PCI_VENDOR: u16 = Goya::PCI_VENDOR;
    const PCI_DEVICES: &'static [u16] = Goya::PCI_DEVICES;
    type QueueId = <Goya as Asic>::QueueId;
    type EngineId = <Goya as Asic>::EngineId;
    type CsState = <Goya as Asic>::CsState;
    const QUEUES: &'static [QueueProps] = Goya::QUEUES;
    const ENGINES: &'static [EngineProps] = Goya::ENGINES;
    const QUEUE_IDS: &'static [Self::QueueId] = Goya::QUEUE_IDS;
    const ENGINE_IDS: &'static [Self::EngineId] = Goya::ENGINE_IDS;
    const QUEUE_ID_SIZE: u32 = Goya::QUEUE_ID_SIZE;
    const ENGINE_ID_SIZE: u32 = Goya::ENGINE_ID_SIZE;
    const LIMITS: Limits = Goya::LIMITS;
    const FEATURES: Features = Goya::FEATURES;
    const INITIAL_STATE: Self::CsState = Goya::INITIAL_STATE;
    const STATES: &'static [Self::CsState] = Goya::STATES;
    const STATE_NAMES: &'static [&'static str] = Goya::STATE_NAMES;

    fn transition(state: Self::CsState, event: CsEvent) -> Transition<Self::CsState> {
        match event {
            CsEvent::JobsDone => Transition::Ignore,
            _ => Goya::transition(state, event),
        }
    }

    fn outcome(state: Self::CsState) -> Option<FenceOutcome> {
        Goya::outcome(state)
    }

    fn state_index(state: Self::CsState) -> usize {
        Goya::state_index(state)
    }
}

#[test]
#[cfg_attr(
    debug_assertions,
    should_panic(
        expected = "Broken lifecycle: CS 1 must be released but its state `InFlight` is not terminal (after event `jobs_done`)"
    )
)]
fn release_in_a_non_terminal_state_is_caught() {
    let d = Device::<Broken>::new(DeviceConfig::for_asic::<Broken>()).expect("config");
    let ctx = d.open().expect("a free context");
    let seq = ctx
        .submit(&CsSubmit::new(&[
            Job::new(0).with_work(Work::Run(Duration::ZERO))
        ]))
        .expect("submitted");
    d.advance(Duration::ZERO);
    // Release builds only: the completion is not lost, it is an error.
    assert_eq!(d.stats().lifecycle_violations, 1);
    assert!(ctx.wait_cs(seq, Duration::ZERO, None).is_err());
}
