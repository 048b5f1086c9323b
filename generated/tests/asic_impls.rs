//! The generated `Asic` implementations say what their specs say: every table row, limit,
//! feature and lifecycle transition is compared with the checked Model, through the trait only
//! (the way the runtime sees a generation), and the id enums round-trip.

use std::collections::HashSet;

use asicgen_dsl::model::{self as m, Action, Event, Model};
use asicgen_generated::{AsicVisitor, NAMES, gaudi, goya, visit};
use asicgen_runtime::asic::{
    Asic, CsEvent, FenceOutcome, InvalidEngineId, InvalidQueueId, Transition,
};

fn model(stem: &str) -> Model {
    let display = format!("../specs/{stem}.asic");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(&display);
    match asicgen_dsl::load(&path, &display).result {
        Ok(model) => model,
        Err(report) => panic!("specs/{stem}.asic does not check:\n{report}"),
    }
}

fn outcome(o: m::FenceOutcome) -> FenceOutcome {
    match o {
        m::FenceOutcome::Ok => FenceOutcome::Ok,
        m::FenceOutcome::TimedOut => FenceOutcome::TimedOut,
        m::FenceOutcome::Aborted => FenceOutcome::Aborted,
        m::FenceOutcome::NotSubmitted => FenceOutcome::NotSubmitted,
    }
}

fn event(e: Event) -> CsEvent {
    match e {
        Event::Submit => CsEvent::Submit,
        Event::ScheduleFailure => CsEvent::ScheduleFailure,
        Event::JobsDone => CsEvent::JobsDone,
        Event::TimeoutDetected => CsEvent::TimeoutDetected,
        Event::Reset => CsEvent::Reset,
    }
}

fn check<A: Asic>(model: &Model) {
    assert_eq!(A::NAME, model.name);
    assert_eq!(A::UAPI_PREFIX, model.uapi_prefix);
    assert_eq!(A::PCI_VENDOR, model.pci_vendor);
    assert_eq!(A::PCI_DEVICES, model.pci_devices.as_slice());
    // The exact line is checked against the review copy in `review.rs`; here its shape.
    let hash = A::PROVENANCE
        .strip_prefix(&format!(
            "asicgen {} from ",
            asicgen_codegen::GENERATOR_VERSION
        ))
        .and_then(|rest| rest.rsplit_once(" (output sha256 "))
        .and_then(|(_, hash)| hash.strip_suffix(')'))
        .unwrap_or_default();
    assert!(
        hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{}",
        A::PROVENANCE
    );

    // Queues: every row, in id order, typed ids in the same order.
    assert_eq!(A::QUEUES.len(), model.queues.len());
    assert_eq!(A::QUEUE_IDS.len(), model.queues.len());
    assert_eq!(A::QUEUE_ID_SIZE, model.queue_id_size());
    for ((props, id), q) in A::QUEUES.iter().zip(A::QUEUE_IDS).zip(&model.queues) {
        // why: `properties` is every property but the id and the name (the tables crate's
        // compiler-checked list), so this compares the whole row without naming a property.
        assert_eq!(props.properties(), q.props.properties(), "{}", q.props.name);
        assert_eq!(props.id, q.props.id);
        assert_eq!(props.name, q.props.name);
        assert_eq!((*id).into(), q.props.id);
        assert_eq!(A::QueueId::try_from(q.props.id), Ok(*id));
        assert_eq!(A::queue(q.props.id), Some(props));
        assert_eq!(id.to_string(), q.c_name);
    }
    let ids: HashSet<u32> = model.queues.iter().map(|q| q.props.id).collect();
    for raw in 0..A::QUEUE_ID_SIZE + 3 {
        if !ids.contains(&raw) {
            assert_eq!(A::QueueId::try_from(raw), Err(InvalidQueueId(raw)));
            assert_eq!(A::queue(raw), None);
        }
    }

    // Engines.
    assert_eq!(A::ENGINES.len(), model.engines.len());
    assert_eq!(A::ENGINE_ID_SIZE, model.engine_id_size());
    for ((props, id), e) in A::ENGINES.iter().zip(A::ENGINE_IDS).zip(&model.engines) {
        assert_eq!((props.id, props.name), (e.props.id, e.props.name.as_str()));
        assert_eq!(props.kind, e.props.kind);
        assert_eq!((*id).into(), e.props.id);
        assert_eq!(A::EngineId::try_from(e.props.id), Ok(*id));
        assert_eq!(A::engine(e.props.id), Some(props));
        assert_eq!(id.to_string(), e.c_name);
    }

    // Reserved completion queues, the sync manager and binning.
    let cqs: Vec<(&str, u32)> = A::RESERVED_CQS.iter().map(|c| (c.name, c.id)).collect();
    let want: Vec<(&str, u32)> = model
        .reserved_cqs
        .iter()
        .map(|c| (c.name.as_str(), c.id))
        .collect();
    assert_eq!(cqs, want);
    assert_eq!(A::FIRST_USER_CQ, model.first_user_cq());
    match (&A::SYNC_MANAGER, &model.sync_manager) {
        (None, None) => {}
        (Some(got), Some(sm)) => {
            assert_eq!((got.sobs, got.monitors), (sm.sobs, sm.monitors));
            assert_eq!(
                (got.first_user_sob, got.first_user_monitor),
                (sm.first_user_sob(), sm.first_user_monitor())
            );
            let ranges: Vec<_> = got
                .ranges
                .iter()
                .map(|r| (r.name, r.first_sob, r.sobs, r.first_monitor, r.monitors))
                .collect();
            let want: Vec<_> = sm
                .ranges
                .iter()
                .map(|r| {
                    (
                        r.name.as_str(),
                        r.first_sob,
                        r.sobs,
                        r.first_monitor,
                        r.monitors,
                    )
                })
                .collect();
            assert_eq!(ranges, want);
        }
        (got, want) => panic!("sync manager {got:?}, spec {want:?}"),
    }
    assert_eq!(A::BINNING.len(), model.binning.len());
    for (got, r) in A::BINNING.iter().zip(&model.binning) {
        assert_eq!(
            (got.name, got.units, got.max_faulty),
            (r.name.as_str(), r.units.as_slice(), r.max_faulty)
        );
        let subs: Vec<(u32, &[u32])> = got
            .substitutes
            .iter()
            .map(|s| (s.engine, s.queues))
            .collect();
        let want: Vec<(u32, &[u32])> = r
            .substitutes
            .iter()
            .map(|s| (s.engine, s.queues.as_slice()))
            .collect();
        assert_eq!(subs, want);
    }
    assert_eq!(
        A::EngineId::try_from(A::ENGINE_ID_SIZE),
        Err(InvalidEngineId(A::ENGINE_ID_SIZE))
    );

    // Limits and features.
    assert_eq!(A::LIMITS, model.limits);
    assert_eq!(A::FEATURES, model.features);
    assert_eq!(A::completion_queue_count(), model.completion_queue_count());

    // Lifecycle: every (state, event) pair, through the trait.
    let lc = &model.lifecycle;
    assert_eq!(A::STATES.len(), lc.states.len());
    assert_eq!(A::state_index(A::INITIAL_STATE), lc.initial);
    for (i, (state, s)) in A::STATES.iter().zip(&lc.states).enumerate() {
        assert_eq!(A::state_index(*state), i);
        assert_eq!(A::state_name(*state), s.name);
        assert_eq!(state.to_string(), s.name);
        assert_eq!(A::STATE_NAMES[i], s.name);
        assert_eq!(A::outcome(*state), s.outcome.map(outcome));
        for e in Event::ALL {
            let expected = match lc.action(i, e) {
                Action::Goto(to) => Transition::Goto(A::STATES[to]),
                Action::Ignore => Transition::Ignore,
            };
            assert_eq!(
                A::transition(*state, event(e)),
                expected,
                "{} on {e}",
                s.name
            );
        }
    }
}

/// Runs [`check`] for the generation the registry hands it.
struct Check(Model);

impl AsicVisitor for Check {
    type Output = ();
    fn visit<A: Asic>(self) {
        check::<A>(&self.0);
    }
}

#[test]
fn every_generation_says_what_its_spec_says() {
    assert!(NAMES.len() >= 4, "{NAMES:?}");
    for name in NAMES {
        assert_eq!(visit(name, Check(model(name))), Some(()), "{name}");
    }
}

#[test]
fn the_runtime_fires_exactly_the_dsl_vocabulary() {
    let runtime: Vec<&str> = CsEvent::ALL.iter().map(|e| e.name()).collect();
    let dsl: Vec<&str> = Event::ALL.iter().map(|e| e.spec_name()).collect();
    assert_eq!(runtime, dsl);
    for e in Event::ALL {
        assert_eq!(event(e).index(), e as usize);
    }
}

#[test]
fn id_types_are_plain_words_and_the_asic_is_zero_sized() {
    assert_eq!(size_of::<gaudi::QueueId>(), 4);
    assert_eq!(size_of::<gaudi::EngineId>(), 4);
    assert_eq!(size_of::<gaudi::Gaudi>(), 0);
    assert_eq!(size_of::<gaudi::CsState>(), 1);
}

#[test]
fn the_lifecycle_is_usable_in_const_context() {
    const AFTER: gaudi::CsState = match gaudi::CsState::INITIAL.transition(CsEvent::Submit) {
        Transition::Goto(s) => s,
        Transition::Ignore => gaudi::CsState::INITIAL,
    };
    assert_eq!(AFTER.name(), "InFlight");
    assert_eq!(gaudi::QueueId::CPU_PQ.props().id, 8);
    assert_eq!(goya::QueueId::from_u32(5), Some(goya::QueueId::CPU_PQ));
}
