//! The shipped specs reproduce the kernel's tables row by row (tests/reference/*.tsv): every
//! queue id and engine id with its uapi name, every queue property, and the device limits.

use std::path::{Path, PathBuf};

use asicgen_dsl::model::{CbAlloc, CollectiveMode, CompletionMode, QueueType};
use asicgen_dsl::{Model, load};
use asicgen_runtime::binning::{BinningRule, Substitute, binned_queues};

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

/// Every ASIC a reference table has rows for: the specs checked against it, with no list to
/// keep in step by hand.
fn asics(table: &str) -> Vec<String> {
    let path = root().join("tests/reference").join(table);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut asics: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .map(str::to_string)
        .collect();
    asics.dedup();
    asics
}

#[test]
fn every_reference_asic_is_covered() {
    for table in ["queue_ids.tsv", "engine_ids.tsv", "queue_props.tsv"] {
        assert_eq!(asics(table), ["goya", "gaudi", "gaudi2"], "{table}");
    }
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
    for asic in asics("queue_ids.tsv") {
        let asic = asic.as_str();
        let m = model(asic);
        let ours = m
            .queues
            .iter()
            .map(|q| (q.c_name.clone(), q.props.id))
            .collect();
        check_ids(asic, "queue_ids.tsv", "QUEUE", ours, m.queue_id_size());
    }
}

#[test]
fn engine_ids_match_the_kernel_uapi() {
    for asic in asics("engine_ids.tsv") {
        let asic = asic.as_str();
        let m = model(asic);
        let ours = m
            .engines
            .iter()
            .map(|e| (e.c_name.clone(), e.props.id))
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
    for asic in asics("queue_props.tsv") {
        let asic = asic.as_str();
        let m = model(asic);
        let reference = rows("queue_props.tsv", asic);
        assert_eq!(reference.len(), m.queues.len(), "{asic}: queue count");
        for cols in reference {
            let (name, ty, driver_only, sync, other) =
                (&cols[1], &cols[2], &cols[3], &cols[4], &cols[5]);
            let q = m
                .queues
                .iter()
                .find(|q| &q.c_name == name)
                .unwrap_or_else(|| panic!("{asic}: no queue {name}"));
            let at = format!("{asic} {name}");
            assert_eq!(q.props.queue_type.kernel_name(), ty, "{at}: type");
            assert_eq!(q.props.driver_only, driver_only == "1", "{at}: driver_only");
            assert_eq!(
                q.props.supports_sync_stream,
                sync == "1",
                "{at}: supports_sync_stream"
            );
            let cb = match field(other, "cb_alloc_flags") {
                Some("CB_ALLOC_KERNEL") => CbAlloc::Kernel,
                Some("CB_ALLOC_USER") => CbAlloc::User,
                other => panic!("{at}: cb_alloc_flags {other:?}"),
            };
            assert_eq!(q.props.cb_alloc, cb, "{at}: cb_alloc");
            let collective = match field(other, "collective_mode") {
                None | Some("HL_COLLECTIVE_NOT_SUPPORTED") => CollectiveMode::None,
                Some("HL_COLLECTIVE_MASTER") => CollectiveMode::Master,
                Some("HL_COLLECTIVE_SLAVE") => CollectiveMode::Slave,
                other => panic!("{at}: collective_mode {other:?}"),
            };
            assert_eq!(q.props.collective, collective, "{at}: collective");
            // The engine, where the reference names it (Goya, Gaudi; `_SIZE` is "no engine").
            let ours = q
                .props
                .engine
                .and_then(|id| m.engine(id))
                .map(|e| e.c_name.clone());
            match field(other, "engine") {
                Some(e) if e.contains("_SIZE") => assert_eq!(ours, None, "{at}: engine"),
                Some(e) => assert_eq!(ours.as_deref(), Some(e), "{at}: engine"),
                None if ty == "QUEUE_TYPE_CPU" => assert_eq!(ours, None, "{at}: engine"),
                None => {}
            }
            // An external queue's own CQ (`cq_id=msi_vec=N`, `cq=N`), or the reserved CQ a hw
            // queue's per-CS completion goes through ("reserved CQ 0").
            let cq = field(other, "cq")
                .or_else(|| field(other, "cq_id"))
                .and_then(|v| number_after(v, ""))
                .or_else(|| number_after(other, "reserved CQ"));
            assert_eq!(q.props.cq, cq, "{at}: completion queue");
            // "binned=1 if ..." is per device (see `gaudi2_binning_bins_the_kernels_queues`);
            // a plain "binned=1" is static.
            assert_eq!(
                q.props.binned,
                field(other, "binned") == Some("1"),
                "{at}: binned"
            );
            assert_eq!(
                q.props.stream_master,
                field(other, "stream_master") == Some("yes"),
                "{at}: stream master"
            );
            // PQ length: "PQ=HL_QUEUE_LENGTH(4096)", "TPC_QMAN_LENGTH=1024", "PQ in SRAM, 64 entries".
            let pq = number_after(other, "PQ in SRAM").or_else(|| number_after(other, "LENGTH"));
            if let Some(pq) = pq {
                assert_eq!(q.props.pq_len, pq, "{at}: PQ length");
            }
            let completes_through_cq = q.props.queue_type == QueueType::External
                || (q.props.queue_type == QueueType::Hw
                    && m.limits.completion == CompletionMode::PerCs);
            assert_eq!(
                completes_through_cq,
                q.props.cq.is_some(),
                "{at}: external queues and per-CS hw queues have a CQ"
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
    assert_eq!(goya.limits.cs_timeout.as_millis(), 30_000);
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
    assert_eq!(gaudi.limits.cs_timeout.as_millis(), 600_000);
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
fn gaudi2_limits_and_features_match_the_driver() {
    let m = model("gaudi2");
    assert_eq!(m.pci_vendor, 0x1da3);
    assert_eq!(m.pci_devices, [0x1020]);
    assert_eq!(m.limits.max_pending_cs, 64);
    assert_eq!(m.limits.max_jobs_per_cs, 512);
    assert_eq!(m.limits.queue_length, 4096);
    assert_eq!(m.limits.cq_length, 4096);
    assert_eq!(m.limits.cs_timeout.as_millis(), 30_000);
    assert_eq!(m.limits.completion, CompletionMode::PerCs);
    // supports_sync_stream, supports_compute_reset; no multi-CS wait, no staged submission.
    assert!(m.features.sync_stream && m.features.compute_reset);
    assert!(!m.features.multi_cs_wait && !m.features.staged_submission);
    assert!(!m.features.context_switch);
    assert_eq!(m.queues.len(), 261);
    assert_eq!(m.engines.len(), 79);
}

/// One value of `sync_manager.tsv`.
fn sync_fact(asic: &str, item: &str) -> String {
    rows("sync_manager.tsv", asic)
        .into_iter()
        .find(|cols| cols[1] == item)
        .map(|cols| cols[2].clone())
        .unwrap_or_else(|| panic!("{asic}: no `{item}` in sync_manager.tsv"))
}

#[test]
fn sync_manager_layouts_match_the_driver() {
    for asic in ["gaudi", "gaudi2"] {
        let m = model(asic);
        let sm = m.sync_manager.as_ref().expect("a sync_manager block");
        let n = |item: &str| -> u32 { sync_fact(asic, item).parse().expect("a number") };
        assert_eq!(sm.sobs, n("sobs"), "{asic}");
        assert_eq!(sm.monitors, n("monitors"), "{asic}");
        let sync_stream = sm
            .ranges
            .iter()
            .find(|r| r.name == "sync_stream")
            .expect("a sync_stream range");
        assert_eq!(sync_stream.first_sob, n("sync_stream_first_sob"), "{asic}");
        assert_eq!(
            sync_stream.first_monitor,
            n("sync_stream_first_mon"),
            "{asic}"
        );
        assert_eq!(sm.first_user_sob(), n("first_available_user_sob"), "{asic}");
        assert_eq!(
            sm.first_user_monitor(),
            n("first_available_user_mon"),
            "{asic}"
        );
        assert_eq!(
            m.completion_queue_count(),
            n("completion_queues_count"),
            "{asic}"
        );
    }
    let gaudi2 = model("gaudi2");
    assert_eq!(
        gaudi2.first_user_cq(),
        sync_fact("gaudi2", "first_available_cq")
            .parse::<u32>()
            .unwrap()
    );
    // The uapi header publishes Gaudi's first user SOB and monitor, name and value.
    let header = asicgen_codegen::c_header(&model("gaudi"));
    for define in rows("sync_manager.tsv", "gaudi")
        .into_iter()
        .filter(|cols| cols[1] == "uapi_define")
    {
        let (name, value) = define[2].split_once('=').expect("NAME=value");
        assert!(
            header
                .lines()
                .any(|l| l == format!("#define {name} {value}")),
            "no `#define {name} {value}` in:\n{header}"
        );
    }
    assert!(!asicgen_codegen::c_header(&gaudi2).contains("#define GAUDI2_FIRST_AVAILABLE"));
}

/// The model's rules in the runtime's table form, as the generated `BINNING` holds them.
fn runtime_rules(m: &Model) -> Vec<BinningRule> {
    let leak = |v: Vec<u32>| -> &'static [u32] { Vec::leak(v) };
    m.binning
        .iter()
        .map(|r| BinningRule {
            name: String::leak(r.name.clone()),
            units: leak(r.units.clone()),
            max_faulty: r.max_faulty,
            substitutes: Vec::leak(
                r.substitutes
                    .iter()
                    .map(|s| Substitute {
                        engine: s.engine,
                        queues: leak(s.queues.clone()),
                    })
                    .collect(),
            ),
        })
        .collect()
}

#[test]
fn gaudi2_binning_bins_the_kernels_queues() {
    let m = model("gaudi2");
    let rules = runtime_rules(&m);
    let names: Vec<&str> = rules.iter().map(|r| r.name).collect();
    assert_eq!(names, ["tpc", "edma"]);
    // The queues queue_props.tsv marks "binned=1 if <condition>", by condition.
    let binned_if = |condition: &str| -> Vec<u32> {
        let mut ids: Vec<u32> = rows("queue_props.tsv", "gaudi2")
            .into_iter()
            .filter(|cols| cols[5].contains(&format!("binned=1 if {condition}")))
            .map(|cols| {
                m.queues
                    .iter()
                    .find(|q| q.c_name == cols[1])
                    .expect("queue")
                    .props
                    .id
            })
            .collect();
        ids.sort_unstable();
        ids
    };
    let first_tpc = binned_if("1st faulty TPC");
    let second_tpc = binned_if("2nd faulty TPC");
    let edma = binned_if("an EDMA");
    assert_eq!((first_tpc.len(), second_tpc.len(), edma.len()), (4, 4, 4));
    let union = |a: &[u32], b: &[u32]| {
        let mut v = [a, b].concat();
        v.sort_unstable();
        v
    };
    // Up to 2 faulty TPCs (any of them), then DCORE0_TPC_6 and DCORE3_TPC_5 stand in.
    assert_eq!(binned_queues(&rules, &[0, 0]), Ok(vec![]));
    assert_eq!(binned_queues(&rules, &[1 << 7, 0]), Ok(first_tpc.clone()));
    assert_eq!(
        binned_queues(&rules, &[1 << 3 | 1 << 20, 0]),
        Ok(union(&first_tpc, &second_tpc))
    );
    assert!(binned_queues(&rules, &[0b111, 0]).is_err());
    // One faulty EDMA bins DCORE3_EDMA_1; two are too many.
    assert_eq!(binned_queues(&rules, &[0, 1 << 2]), Ok(edma.clone()));
    assert_eq!(binned_queues(&rules, &[1, 1]), Ok(union(&first_tpc, &edma)));
    assert!(binned_queues(&rules, &[0, 0b11]).is_err());
    // 25 TPCs and 8 EDMAs carry fuse bits; a bit past them is refused.
    assert_eq!(rules[0].units.len(), 25);
    assert_eq!(rules[1].units.len(), 8);
    assert!(binned_queues(&rules, &[1 << 25, 0]).is_err());
}

#[test]
fn the_example_uses_what_goya_and_gaudi_do_not() {
    let m = model("example");
    assert_eq!(m.limits.completion, CompletionMode::PerCs);
    assert!(m.queues.iter().any(|q| q.props.queue_type == QueueType::Hw));
    assert!(m.queues.iter().any(|q| q.props.binned));
    assert!(m.queues.iter().any(|q| q.props.cb_alloc == CbAlloc::Both));
    assert_eq!(m.reserved_engine_ids, [2]);
    assert_eq!(m.lifecycle.name, "per_cs");
}

/// Repeated hardware is declared once: Gaudi2's spec stays short, and no two of its lines differ
/// only in their numbers (a copied line with the numbers changed is what groups replace).
#[test]
fn gaudi2_is_declared_without_repetition() {
    let text = std::fs::read_to_string(root().join("specs/gaudi2.asic")).expect("gaudi2.asic");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .collect();
    assert!(lines.len() <= 80, "{} lines", lines.len());
    let mut shapes: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for line in lines
        .iter()
        .filter(|l| l.chars().any(|c| c.is_ascii_alphabetic()))
    {
        // Every run of digits becomes one `N`.
        let mut shape = String::new();
        for c in line.chars() {
            if !c.is_ascii_digit() {
                shape.push(c);
            } else if !shape.ends_with('#') {
                shape.push('#');
            }
        }
        if let Some(other) = shapes.insert(shape, line) {
            assert_eq!(
                other, *line,
                "`{other}` and `{line}` differ only in their numbers"
            );
        }
    }
}
