//! The shipped specs reproduce the kernel's tables row by row (tests/reference/*.tsv): every
//! queue id and engine id with its uapi name, every queue property, and the device limits.

use std::path::{Path, PathBuf};

use asicgen_dsl::model::{CbAlloc, CollectiveMode, CompletionMode, QueueType};
use asicgen_dsl::{Model, load};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn model(asic: &str) -> Model {
    let display = format!("specs/{asic}.asic");
    match load(&root().join(&display), &display).result {
        Ok(model) => model,
        Err(report) => panic!("{display} does not check:\n{report}"),
    }
}

/// Rows of a reference table for one ASIC, header skipped.
fn rows(table: &str, asic: &str) -> Vec<Vec<String>> {
    let path = root().join("tests/reference").join(table);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .map(|l| l.split('\t').map(str::to_string).collect::<Vec<_>>())
        .filter(|cols| cols[0] == asic)
        .collect()
}

fn check_ids(asic: &str, table: &str, kind: &str, ours: Vec<(String, u32)>, size: u32) {
    let model = model(asic);
    let mut expected: Vec<(String, u32)> = rows(table, asic)
        .into_iter()
        .map(|cols| (cols[2].clone(), cols[3].parse().expect("numeric value")))
        .collect();
    expected.sort_by_key(|(_, v)| *v);
    let mut got = ours;
    got.push((format!("{}_{kind}_ID_SIZE", model.uapi_prefix), size));
    got.sort_by_key(|(_, v)| *v);
    assert!(
        !expected.is_empty(),
        "no reference rows for {asic} in {table}"
    );
    assert_eq!(got, expected, "{asic} {table}");
}

#[test]
fn queue_ids_match_the_kernel_uapi() {
    for asic in ["goya", "gaudi"] {
        let m = model(asic);
        let ours = m
            .queues
            .iter()
            .map(|q| (format!("{}_QUEUE_ID_{}", m.uapi_prefix, q.name), q.id))
            .collect();
        check_ids(asic, "queue_ids.tsv", "QUEUE", ours, m.queue_id_size());
    }
}

#[test]
fn engine_ids_match_the_kernel_uapi() {
    for asic in ["goya", "gaudi"] {
        let m = model(asic);
        let ours = m
            .engines
            .iter()
            .map(|e| (format!("{}_ENGINE_ID_{}", m.uapi_prefix, e.name), e.id))
            .collect();
        check_ids(asic, "engine_ids.tsv", "ENGINE", ours, m.engine_id_size());
    }
}

/// One `key=value` of the `other` column (`cq_id=msi_vec=0` gives `cq_id` -> `msi_vec=0`).
fn field<'a>(other: &'a str, key: &str) -> Option<&'a str> {
    other
        .split(';')
        .find_map(|part| part.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

/// The first number in `s` after `marker`.
fn number_after(s: &str, marker: &str) -> Option<u32> {
    let rest = &s[s.find(marker)? + marker.len()..];
    let digits: String = rest
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn queue_properties_match_the_driver() {
    for asic in ["goya", "gaudi"] {
        let m = model(asic);
        let reference = rows("queue_props.tsv", asic);
        assert_eq!(reference.len(), m.queues.len(), "{asic}: queue count");
        for cols in reference {
            let (name, ty, driver_only, sync, other) =
                (&cols[1], &cols[2], &cols[3], &cols[4], &cols[5]);
            let short = name
                .strip_prefix(&format!("{}_QUEUE_ID_", m.uapi_prefix))
                .expect("uapi prefix");
            let q = m
                .queues
                .iter()
                .find(|q| q.name == short)
                .unwrap_or_else(|| panic!("{asic}: no queue {short}"));
            let at = format!("{asic} {name}");
            assert_eq!(q.queue_type.kernel_name(), ty, "{at}: type");
            assert_eq!(q.driver_only, driver_only == "1", "{at}: driver_only");
            assert_eq!(
                q.supports_sync_stream,
                sync == "1",
                "{at}: supports_sync_stream"
            );
            let cb = match field(other, "cb_alloc_flags") {
                Some("CB_ALLOC_KERNEL") => CbAlloc::Kernel,
                Some("CB_ALLOC_USER") => CbAlloc::User,
                other => panic!("{at}: cb_alloc_flags {other:?}"),
            };
            assert_eq!(q.cb_alloc, cb, "{at}: cb_alloc");
            let collective = match field(other, "collective_mode") {
                None | Some("HL_COLLECTIVE_NOT_SUPPORTED") => CollectiveMode::None,
                Some("HL_COLLECTIVE_MASTER") => CollectiveMode::Master,
                Some("HL_COLLECTIVE_SLAVE") => CollectiveMode::Slave,
                other => panic!("{at}: collective_mode {other:?}"),
            };
            assert_eq!(q.collective, collective, "{at}: collective");
            let engine = field(other, "engine")
                .filter(|e| !e.contains("_SIZE"))
                .map(|e| e.rsplit("ENGINE_ID_").next().unwrap_or(e).to_string());
            let ours = q.engine.and_then(|id| m.engine(id)).map(|e| e.name.clone());
            assert_eq!(ours, engine, "{at}: engine");
            let cq = field(other, "cq")
                .or_else(|| field(other, "cq_id"))
                .and_then(|v| number_after(v, ""));
            assert_eq!(q.cq, cq, "{at}: completion queue");
            assert_eq!(
                q.stream_master,
                field(other, "stream_master") == Some("yes"),
                "{at}: stream master"
            );
            // PQ length: "PQ=HL_QUEUE_LENGTH(4096)", "TPC_QMAN_LENGTH=1024", "PQ in SRAM, 64 entries".
            let pq = number_after(other, "PQ in SRAM").or_else(|| number_after(other, "LENGTH"));
            if let Some(pq) = pq {
                assert_eq!(q.pq_len, pq, "{at}: PQ length");
            }
            assert_eq!(
                q.queue_type == QueueType::External,
                q.cq.is_some(),
                "{at}: only external queues have a CQ"
            );
        }
    }
}

#[test]
fn limits_and_features_match_the_driver() {
    let goya = model("goya");
    assert_eq!(goya.pci_vendor, 0x1da3);
    assert_eq!(goya.pci_devices, [0x0001]);
    assert_eq!(goya.limits.max_pending_cs, 64);
    assert_eq!(goya.limits.max_jobs_per_cs, 512);
    assert_eq!(goya.limits.queue_length, 4096);
    assert_eq!(goya.limits.cs_timeout_ms, 30_000);
    assert_eq!(goya.limits.completion, CompletionMode::PerJob);
    assert_eq!(goya.completion_queue_count(), 5);
    assert!(
        !goya.features.sync_stream
            && !goya.features.multi_cs_wait
            && !goya.features.staged_submission
    );
    assert!(goya.features.compute_reset && goya.features.context_switch);

    let gaudi = model("gaudi");
    assert_eq!(gaudi.pci_devices, [0x1000, 0x1010]);
    assert_eq!(gaudi.limits.max_pending_cs, 16384);
    assert_eq!(gaudi.limits.cs_timeout_ms, 600_000);
    assert_eq!(gaudi.limits.completion, CompletionMode::PerJob);
    assert_eq!(gaudi.completion_queue_count(), 8);
    assert!(
        gaudi.features.sync_stream
            && gaudi.features.multi_cs_wait
            && gaudi.features.staged_submission
    );
    assert!(!gaudi.features.compute_reset);
}

#[test]
fn the_example_uses_what_goya_and_gaudi_do_not() {
    let m = model("example");
    assert_eq!(m.limits.completion, CompletionMode::PerCs);
    assert!(m.queues.iter().any(|q| q.queue_type == QueueType::Hw));
    assert!(m.queues.iter().any(|q| q.binned));
    assert!(m.queues.iter().any(|q| q.cb_alloc == CbAlloc::Both));
    assert_eq!(m.reserved_engine_ids, [2]);
    assert_eq!(m.lifecycle.name, "per_cs");
}
