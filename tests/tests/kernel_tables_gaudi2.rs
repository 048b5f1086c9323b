//! Gaudi2's kernel header against the kernel's Gaudi2 facts in `tests/reference/`: every queue's
//! type and properties (`queue_props.tsv`, from gaudi2.c), the sync-object layout and reserved
//! completion queues (`sync_manager.tsv`, from gaudi2P.h and gaudi2.c), and the shape of
//! `gaudi2_queue_id_to_engine_id[]`: one entry per queue id except CPU_PQ, the last, which has
//! none (`queue_ids.tsv`, `engine_ids.tsv`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use asicgen_codegen::kernel_rows;
use asicgen_dsl::load;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The rows of a reference table whose first column is `gaudi2`, split on tabs, header skipped.
fn reference(file: &str) -> Vec<Vec<String>> {
    let path = root().join("tests/reference").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .map(|l| {
            l.split('\t')
                .map(|c| c.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|cols| cols.first().is_some_and(|a| a == "gaudi2"))
        .collect()
}

fn ours() -> BTreeMap<(String, String), String> {
    let display = "specs/gaudi2.asic";
    let model = match load(&root().join(display), display).result {
        Ok(model) => model,
        Err(report) => panic!("{display} does not check:\n{report}"),
    };
    kernel_rows(&model)
        .into_iter()
        .map(|r| ((r.table, r.index), r.value))
        .collect()
}

/// `(table, index, kernel value)` facts for Gaudi2.
fn facts() -> Vec<(String, String, String)> {
    let mut facts = Vec::new();
    for cols in reference("queue_props.tsv") {
        let [_, queue, queue_type, driver_only, sync_stream, other] = cols.as_slice() else {
            panic!("malformed queue_props.tsv row: {cols:?}");
        };
        facts.push(("queue_type".into(), queue.clone(), queue_type.clone()));
        facts.push((
            "props.driver_only".into(),
            queue.clone(),
            driver_only.clone(),
        ));
        facts.push((
            "props.supports_sync_stream".into(),
            queue.clone(),
            sync_stream.clone(),
        ));
        let cb = other
            .split(';')
            .find_map(|kv| kv.strip_prefix("cb_alloc_flags="))
            .unwrap_or_else(|| panic!("{queue}: no cb_alloc_flags in {other:?}"));
        facts.push(("props.cb_alloc_flags".into(), queue.clone(), cb.to_string()));
    }
    for cols in reference("sync_manager.tsv") {
        let [_, item, value, ..] = cols.as_slice() else {
            panic!("malformed sync_manager.tsv row: {cols:?}");
        };
        let index = match item.as_str() {
            "sync_stream_first_sob" | "sync_stream_first_mon" | "completion_queues_count" => "-",
            // The sync-stream sync manager's (DCORE0's) entry of the per-dcore arrays.
            "first_available_user_sob" | "first_available_user_mon" | "first_available_cq" => "0",
            // SOB and monitor totals describe the block, not a table the driver writes.
            _ => continue,
        };
        facts.push((item.clone(), index.into(), value.clone()));
    }
    facts
}

#[test]
fn gaudi2_queue_properties_and_sync_layout_are_the_kernels() {
    let ours = ours();
    let facts = facts();
    assert!(facts.len() > 1000, "only {} Gaudi2 facts", facts.len());
    let mut matched: BTreeMap<&str, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for (table, index, value) in &facts {
        match ours.get(&(table.clone(), index.clone())) {
            Some(v) if v == value => *matched.entry(table.as_str()).or_default() += 1,
            Some(v) => problems.push(format!("{table} [{index}]: kernel {value}, generated {v}")),
            None => problems.push(format!("{table} [{index}]: kernel {value}, not generated")),
        }
    }
    assert!(
        problems.is_empty(),
        "gaudi2's kernel header differs from the kernel:\n  {}",
        problems.join("\n  ")
    );
    let total: usize = matched.values().sum();
    eprintln!("gaudi2: {total} reference rows reproduced");
    for (table, n) in &matched {
        eprintln!("  {table:32} {n:4} equal");
    }
}

#[test]
fn gaudi2_queue_to_engine_has_every_queue_but_the_cpu_queue() {
    let ours = ours();
    let queues: BTreeSet<String> = reference("queue_ids.tsv")
        .into_iter()
        .filter_map(|cols| cols.get(2).cloned())
        .filter(|name| !name.ends_with("_SIZE") && name != "GAUDI2_QUEUE_ID_CPU_PQ")
        .collect();
    let engines: BTreeSet<String> = reference("engine_ids.tsv")
        .into_iter()
        .filter_map(|cols| cols.get(2).cloned())
        .filter(|name| !name.ends_with("_SIZE"))
        .collect();
    let mapped: BTreeMap<&String, &String> = ours
        .iter()
        .filter(|((table, _), _)| table == "queue_id_to_engine_id")
        .map(|((_, index), value)| (index, value))
        .collect();
    assert_eq!(queues.len(), 260, "gaudi2.c's array has 260 entries");
    let indices: BTreeSet<String> = mapped.keys().map(|k| (*k).clone()).collect();
    assert_eq!(indices, queues);
    for (queue, engine) in &mapped {
        assert!(
            engines.contains(*engine),
            "{queue} maps to {engine}, not an engine"
        );
    }
}
