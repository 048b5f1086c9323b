//! A small hand-built [`Model`] for unit tests: reserved ids, every queue type, a binned queue,
//! a terminal state per outcome, and doc text that needs escaping in every output format.

use std::time::Duration;

use asicgen_dsl::model::{
    Action, CbAlloc, CollectiveMode, CompletionMode, Engine, EngineKind, EngineProps, Event,
    Features, FenceOutcome, KernelSpec, Lifecycle, Limits, Model, Provenance, Queue, QueueProps,
    QueueType, State,
};

fn doc(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| format!(" {l}")).collect()
}

fn queue(name: &str, id: u32, queue_type: QueueType, engine: Option<u32>) -> QueueProps<String> {
    QueueProps {
        engine,
        cb_alloc: CbAlloc::User,
        ..QueueProps::new(id, name.into(), queue_type, 64)
    }
}

fn with_doc(props: QueueProps<String>, doc_lines: &[&str]) -> Queue {
    Queue {
        c_name: format!("TINY_QUEUE_ID_{}", props.name),
        props,
        doc: doc(doc_lines),
    }
}

fn state(name: &str, outcome: Option<FenceOutcome>, doc_lines: &[&str]) -> State {
    State {
        name: name.into(),
        doc: doc(doc_lines),
        outcome,
    }
}

/// The fixture: `Tiny`, prefix `TINY`.
pub fn model() -> Model {
    use Action::{Goto, Ignore};
    let ext = |name: &str, id, cq| {
        let props = QueueProps {
            cb_alloc: CbAlloc::Kernel,
            pq_len: 4096,
            cq: Some(cq),
            supports_sync_stream: true,
            stream_master: true,
            collective: CollectiveMode::Master,
            ..queue(name, id, QueueType::External, Some(0))
        };
        with_doc(props, &["Host DMA | with a pipe, and a */ comment end"])
    };
    Model {
        provenance: Provenance {
            spec_path: "specs/tiny.asic".into(),
            lifecycle_paths: vec!["lifecycle/tiny.lifecycle".into()],
            content_hash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".into(),
        },
        name: "Tiny".into(),
        doc: doc(&["A tiny made-up generation.", "", "Second paragraph."]),
        uapi_prefix: "TINY".into(),
        pci_vendor: 0x1da3,
        pci_devices: vec![0xe001, 0xe002],
        limits: Limits {
            max_pending_cs: 64,
            max_jobs_per_cs: 16,
            queue_length: 4096,
            cq_length: 4096,
            cs_timeout: Duration::from_millis(2500),
            completion: CompletionMode::PerJob,
        },
        features: Features {
            sync_stream: true,
            multi_cs_wait: true,
            ..Features::default()
        },
        engines: vec![
            Engine {
                props: EngineProps {
                    id: 0,
                    name: "DMA_0".into(),
                    kind: EngineKind::Dma,
                },
                c_name: "TINY_ENGINE_ID_DMA_0".into(),
                doc: doc(&["The PCI DMA"]),
            },
            Engine {
                props: EngineProps {
                    id: 1,
                    name: "DMA_1".into(),
                    kind: EngineKind::Dma,
                },
                c_name: "TINY_ENGINE_ID_DMA_1".into(),
                doc: Vec::new(),
            },
            Engine {
                props: EngineProps {
                    id: 3,
                    name: "TPC_0".into(),
                    kind: EngineKind::Tpc,
                },
                c_name: "TINY_ENGINE_ID_TPC_0".into(),
                doc: Vec::new(),
            },
        ],
        queues: vec![
            ext("DMA_0_0", 0, 0),
            ext("DMA_0_1", 1, 1),
            with_doc(
                QueueProps {
                    cb_alloc: CbAlloc::Kernel,
                    driver_only: true,
                    pq_len: 4096,
                    ..queue("CPU_PQ", 2, QueueType::Cpu, None)
                },
                &["The driver's queue to the device CPU"],
            ),
            with_doc(
                QueueProps {
                    collective: CollectiveMode::Slave,
                    ..queue("TPC_0", 3, QueueType::Internal, Some(3))
                },
                &[],
            ),
            with_doc(
                QueueProps {
                    binned: true,
                    cb_alloc: CbAlloc::Both,
                    ..queue("HW_0", 5, QueueType::Hw, Some(1))
                },
                &["Fused off"],
            ),
        ],
        reserved_queue_ids: vec![4],
        reserved_engine_ids: vec![2],
        kernel: KernelSpec::default(),
        reserved_cqs: Vec::new(),
        sync_manager: None,
        binning: Vec::new(),
        lifecycle: Lifecycle {
            name: "tiny".into(),
            doc: doc(&["The tiny lifecycle."]),
            states: vec![
                state("Allocated", None, &["Seq taken."]),
                state("InFlight", None, &["On the hardware."]),
                state(
                    "Completed",
                    Some(FenceOutcome::Ok),
                    &["Every job completed."],
                ),
                state("TimedOut", Some(FenceOutcome::TimedOut), &[]),
                state("Aborted", Some(FenceOutcome::Aborted), &[]),
                state("NotSubmitted", Some(FenceOutcome::NotSubmitted), &[]),
            ],
            initial: 0,
            // Columns: submit, schedule_failure, jobs_done, timeout_detected, reset.
            table: vec![
                [Goto(1), Goto(5), Ignore, Ignore, Ignore],
                [Ignore, Ignore, Goto(2), Goto(3), Goto(4)],
                [Ignore; Event::COUNT],
                [Ignore; Event::COUNT],
                [Ignore; Event::COUNT],
                [Ignore; Event::COUNT],
            ],
        },
    }
}
