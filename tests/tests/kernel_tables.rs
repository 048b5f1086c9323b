//! The kernel header of every shipped spec says what the kernel's hand-written tables say
//! (tests/reference/kernel_tables.tsv), row by row.
//!
//! The generated tables are reduced to `(table, index, value)` rows
//! (`asicgen_codegen::kernel_rows`, plus the uapi header's `#define`s as `uapi_define` rows) and
//! compared with every Goya and Gaudi row of the reference. Kernel names on both sides are resolved through the reference's own
//! `kernel_enum`/`kernel_define`/`uapi_enum` rows, so `HL_COMPLETION_MODE_JOB` equals `0` and
//! `HL_GAUDI_WS_DCORE` equals index `0`; queue and engine names are compared as names.
//!
//! A reference row the header does not carry must be listed in [`NOT_IN_THE_HEADER`] with the
//! reason (what the spec cannot say yet); a row the header carries with another value must be
//! listed in [`KNOWN_DIFFERENCES`] (the kernel's own inconsistencies). Each list entry must be
//! used, so neither list can go stale. Every other difference fails with a readable list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use asicgen_codegen::{KernelRow, kernel_rows};
use asicgen_dsl::load;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One reference row.
#[derive(Clone, Debug)]
struct Fact {
    asic: String,
    table: String,
    index: String,
    value: String,
}

fn facts() -> Vec<Fact> {
    let path = root().join("tests/reference/kernel_tables.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert!(cols.len() >= 4, "malformed reference row: {l:?}");
            Fact {
                asic: cols[0].trim().to_string(),
                table: cols[1].trim().to_string(),
                index: cols[2].trim().to_string(),
                value: cols[3].trim().to_string(),
            }
        })
        .collect()
}

/// A reference row the kernel header deliberately does not carry.
struct NotInHeader {
    asic: &'static str,
    table: &'static str,
    /// `*` for any index the header has no row for.
    index: &'static str,
    /// What the kernel's value must be for the reason to hold (`None`: any).
    value: Option<&'static str>,
    why: &'static str,
}

const NOT_IN_THE_HEADER: &[NotInHeader] = &[
    NotInHeader {
        asic: "*",
        table: "first_available_user_sob",
        index: "*",
        value: Some("0"),
        why: "the driver assigns only the sync-stream sync manager's; the others stay 0",
    },
    NotInHeader {
        asic: "*",
        table: "first_available_user_mon",
        index: "*",
        value: Some("0"),
        why: "the driver assigns only the sync-stream sync manager's; the others stay 0",
    },
    NotInHeader {
        asic: "*",
        table: "first_available_cq",
        index: "*",
        value: Some("65535"),
        why: "user completion queues: the spec declares no user CQs or interrupts",
    },
    NotInHeader {
        asic: "*",
        table: "user_interrupt_count",
        index: "-",
        value: Some("0"),
        why: "user interrupts: the spec declares none",
    },
    NotInHeader {
        asic: "*",
        table: "first_available_user_interrupt",
        index: "-",
        value: Some("65535"),
        why: "user interrupts: the spec declares none",
    },
    NotInHeader {
        asic: "goya",
        table: "kernel_define",
        index: "NUMBER_OF_INTERRUPTS",
        value: None,
        why: "the MSI-X layout (CQs plus the event queue) is not in the spec",
    },
    NotInHeader {
        asic: "gaudi",
        table: "kernel_define",
        index: "NUM_SOB_GROUPS",
        value: None,
        why: "a constant of the driver's sync-stream code (HL_RSVD_SOBS * QMAN_STREAMS)",
    },
    NotInHeader {
        asic: "gaudi",
        table: "kernel_define",
        index: "MONITOR_MAX_SOBS",
        value: None,
        why: "a constant of the driver's monitor code (HL_MAX_SOBS_PER_MONITOR)",
    },
    NotInHeader {
        asic: "gaudi",
        table: "kernel_define",
        index: "NUM_OF_SOB_IN_BLOCK",
        value: Some("?"),
        why: "the block size the driver computes from register addresses; the reference has no \
              value (`?`) to compare the sync manager's `sobs`/`monitors` with",
    },
    NotInHeader {
        asic: "gaudi",
        table: "kernel_define",
        index: "NUM_OF_MONITORS_IN_BLOCK",
        value: Some("?"),
        why: "the block size the driver computes from register addresses; the reference has no \
              value (`?`) to compare the sync manager's `sobs`/`monitors` with",
    },
    NotInHeader {
        asic: "gaudi",
        table: "uapi_enum",
        index: "*",
        value: None,
        why: "the names of Gaudi's four sync managers (dcores): the spec declares one",
    },
    NotInHeader {
        asic: "goya",
        table: "uapi_define",
        index: "-",
        value: Some("(none)"),
        why: "Goya publishes no sync-object define, and the uapi header has none either",
    },
];

/// A row the header carries with a value other than the kernel's.
struct KnownDifference {
    asic: &'static str,
    table: &'static str,
    index: &'static str,
    kernel: &'static str,
    ours: &'static str,
    why: &'static str,
}

const KNOWN_DIFFERENCES: &[KnownDifference] = &[
    KnownDifference {
        asic: "gaudi",
        table: "kernel_define",
        index: "NUMBER_OF_INT_HW_QUEUES",
        kernel: "100",
        ours: "104",
        why: "gaudiP.h's define is stale: gaudi_queue_type[] has 104 internal queues",
    },
    KnownDifference {
        asic: "gaudi",
        table: "kernel_define",
        index: "NUMBER_OF_HW_QUEUES",
        kernel: "109",
        ours: "113",
        why: "EXT + CPU + the stale INT count; GAUDI_QUEUE_ID_SIZE is 113",
    },
];

/// Kernel names with a numeric value in the reference, for `asic`.
fn symbols(facts: &[Fact], asic: &str) -> BTreeMap<String, u64> {
    facts
        .iter()
        .filter(|f| f.asic == "common" || f.asic == asic)
        .filter(|f| {
            matches!(
                f.table.as_str(),
                "kernel_enum" | "kernel_define" | "uapi_enum"
            )
        })
        .filter_map(|f| Some((f.index.clone(), number(&f.value)?)))
        .collect()
}

fn number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// A value as a number when it is one or names one, else the name as written.
fn normal(text: &str, symbols: &BTreeMap<String, u64>) -> String {
    number(text)
        .or_else(|| symbols.get(text).copied())
        .map_or_else(|| text.to_string(), |n| n.to_string())
}

/// An index as the rows key it: dcore names (`uapi_enum`) become their numbers.
fn normal_index(table: &str, index: &str, symbols: &BTreeMap<String, u64>) -> String {
    if table.starts_with("first_available_") {
        normal(index, symbols)
    } else {
        index.to_string()
    }
}

/// Per table: rows equal, rows the header does not carry (with why), rows known to differ.
#[derive(Default)]
struct Tally {
    matched: BTreeMap<String, usize>,
    not_in_header: BTreeMap<String, usize>,
    known_different: BTreeMap<String, usize>,
    extra_tables: BTreeMap<String, usize>,
}

fn compare(asic: &str, facts: &[Fact], used: &mut BTreeSet<String>) -> Result<Tally, Vec<String>> {
    let display = format!("specs/{asic}.asic");
    let model = match load(&root().join(&display), &display).result {
        Ok(model) => model,
        Err(report) => panic!("{display} does not check:\n{report}"),
    };
    let symbols = symbols(facts, asic);
    let uapi_defines = asicgen_codegen::c_header(&model)
        .lines()
        .filter_map(|l| {
            let mut words = l.strip_prefix("#define ")?.split_whitespace();
            let (name, value) = (words.next()?, words.next()?);
            Some(KernelRow {
                table: "uapi_define".into(),
                index: name.into(),
                value: value.into(),
            })
        })
        .filter(|r| !r.index.ends_with("_H_"))
        .collect::<Vec<_>>();
    let ours: BTreeMap<(String, String), String> = kernel_rows(&model)
        .into_iter()
        .chain(uapi_defines)
        .map(
            |KernelRow {
                 table,
                 index,
                 value,
             }| {
                let key = (table.clone(), normal_index(&table, &index, &symbols));
                (key, normal(&value, &symbols))
            },
        )
        .collect();
    let theirs: Vec<&Fact> = facts.iter().filter(|f| f.asic == asic).collect();
    let reference_tables: BTreeSet<&str> = theirs.iter().map(|f| f.table.as_str()).collect();
    let mut tally = Tally::default();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for fact in &theirs {
        let key = (
            fact.table.clone(),
            normal_index(&fact.table, &fact.index, &symbols),
        );
        let kernel = normal(&fact.value, &symbols);
        let known = KNOWN_DIFFERENCES
            .iter()
            .find(|k| k.asic == asic && k.table == fact.table && k.index == fact.index);
        match (ours.get(&key), known) {
            (Some(value), Some(k)) => {
                used.insert(format!("known {}/{}/{}", k.asic, k.table, k.index));
                seen.insert(key.clone());
                if kernel == k.kernel && *value == k.ours {
                    *tally.known_different.entry(fact.table.clone()).or_default() += 1;
                } else {
                    problems.push(format!(
                        "{asic} {} [{}]: listed as kernel {} / ours {} ({}), but kernel {kernel} \
                         / ours {value}",
                        fact.table, fact.index, k.kernel, k.ours, k.why
                    ));
                }
            }
            (Some(value), None) => {
                seen.insert(key.clone());
                if *value == kernel {
                    *tally.matched.entry(fact.table.clone()).or_default() += 1;
                } else {
                    problems.push(format!(
                        "{asic} {} [{}]: kernel {}, generated {value}",
                        fact.table, fact.index, fact.value
                    ));
                }
            }
            (None, _) => {
                let exempt = NOT_IN_THE_HEADER.iter().position(|n| {
                    (n.asic == "*" || n.asic == asic)
                        && n.table == fact.table
                        && (n.index == "*" || n.index == fact.index)
                });
                match exempt.map(|i| (i, &NOT_IN_THE_HEADER[i])) {
                    Some((i, n)) if n.value.is_none_or(|v| normal(v, &symbols) == kernel) => {
                        used.insert(format!("not-in-header {i}"));
                        *tally.not_in_header.entry(fact.table.clone()).or_default() += 1;
                    }
                    Some((_, n)) => problems.push(format!(
                        "{asic} {} [{}]: not generated because \"{}\", which assumes the kernel's \
                         value is {}, but it is {}",
                        fact.table,
                        fact.index,
                        n.why,
                        n.value.unwrap_or("?"),
                        fact.value
                    )),
                    None => problems.push(format!(
                        "{asic} {} [{}]: kernel {}, not generated",
                        fact.table, fact.index, fact.value
                    )),
                }
            }
        }
    }
    for ((table, index), value) in &ours {
        if seen.contains(&(table.clone(), index.clone())) {
            continue;
        }
        if reference_tables.contains(table.as_str()) {
            problems.push(format!(
                "{asic} {table} [{index}]: generated {value}, not in the kernel's table"
            ));
        } else {
            *tally.extra_tables.entry(table.clone()).or_default() += 1;
        }
    }
    if problems.is_empty() {
        Ok(tally)
    } else {
        Err(problems)
    }
}

fn report(asic: &str, tally: &Tally) {
    let total: usize = tally.matched.values().sum();
    eprintln!("{asic}: {total} reference rows reproduced");
    for (table, n) in &tally.matched {
        eprintln!("  {table:32} {n:4} equal");
    }
    for (table, n) in &tally.known_different {
        eprintln!("  {table:32} {n:4} known kernel inconsistency");
    }
    for (table, n) in &tally.not_in_header {
        eprintln!("  {table:32} {n:4} not in the header (the spec cannot say it)");
    }
    for (table, n) in &tally.extra_tables {
        eprintln!("  {table:32} {n:4} generated, no kernel table to compare");
    }
}

#[test]
fn goya_and_gaudi_kernel_tables_are_the_kernels() {
    let facts = facts();
    let mut used = BTreeSet::new();
    let mut problems = Vec::new();
    for asic in ["goya", "gaudi"] {
        match compare(asic, &facts, &mut used) {
            Ok(tally) => {
                assert!(
                    tally.matched.values().sum::<usize>() > 100 || asic == "goya",
                    "{asic}: suspiciously few rows compared"
                );
                report(asic, &tally);
            }
            Err(p) => problems.extend(p),
        }
    }
    for (i, n) in NOT_IN_THE_HEADER.iter().enumerate() {
        if !used.contains(&format!("not-in-header {i}")) {
            problems.push(format!(
                "NOT_IN_THE_HEADER entry {}/{}/{} matched no reference row: the header now \
                 carries it or the reference changed; remove the entry",
                n.asic, n.table, n.index
            ));
        }
    }
    for k in KNOWN_DIFFERENCES {
        if !used.contains(&format!("known {}/{}/{}", k.asic, k.table, k.index)) {
            problems.push(format!(
                "KNOWN_DIFFERENCES entry {}/{}/{} matched no row",
                k.asic, k.table, k.index
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "the kernel header differs from the kernel's tables:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_uapi_sync_object_defines_equal_the_headers_first_user_sob_and_monitor() {
    // The uapi header publishes the first user SOB and monitor; the kernel header's constants
    // for them are the same numbers.
    let facts = facts();
    let display = "specs/gaudi.asic";
    let model = match load(&root().join(display), display).result {
        Ok(model) => model,
        Err(report) => panic!("{display} does not check:\n{report}"),
    };
    let ours = |table: &str| {
        kernel_rows(&model)
            .into_iter()
            .find(|r| r.table == table && r.index == "0")
            .map(|r| r.value)
    };
    let uapi = |name: &str| {
        facts
            .iter()
            .find(|f| f.asic == "gaudi" && f.table == "uapi_define" && f.index == name)
            .map(|f| f.value.clone())
    };
    assert_eq!(
        ours("first_available_user_sob"),
        uapi("GAUDI_FIRST_AVAILABLE_W_S_SYNC_OBJECT")
    );
    assert_eq!(
        ours("first_available_user_mon"),
        uapi("GAUDI_FIRST_AVAILABLE_W_S_MONITOR")
    );
}

#[test]
fn a_changed_row_is_reported_by_name() {
    // The comparison is not vacuous: flip one reference value and it names the row.
    let mut facts = facts();
    let row = facts
        .iter_mut()
        .find(|f| {
            f.asic == "gaudi"
                && f.table == "queue_id_to_engine_id"
                && f.index == "GAUDI_QUEUE_ID_MME_1_0"
        })
        .expect("the MME_1_0 row");
    row.value = "GAUDI_ENGINE_ID_MME_1".into();
    let problems = match compare("gaudi", &facts, &mut BTreeSet::new()) {
        Ok(_) => Vec::new(),
        Err(p) => p,
    };
    assert_eq!(
        problems,
        [
            "gaudi queue_id_to_engine_id [GAUDI_QUEUE_ID_MME_1_0]: kernel GAUDI_ENGINE_ID_MME_1, \
             generated GAUDI_ENGINE_ID_MME_2"
        ]
    );
}

#[test]
fn gaudi_sync_layout_follows_the_kernels_formulas() {
    // gaudi_set_fixed_properties computes the layout from the collective and queue constants;
    // the spec states the collective range as a number and the roles queue by queue, so the
    // header's constants must agree with the kernel's formulas over its own defines.
    let facts = facts();
    let common = symbols(&facts, "common");
    let constant = |name: &str| -> u64 {
        *common
            .get(name)
            .unwrap_or_else(|| panic!("{name} not in the reference"))
    };
    let display = "specs/gaudi.asic";
    let model = match load(&root().join(display), display).result {
        Ok(model) => model,
        Err(report) => panic!("{display} does not check:\n{report}"),
    };
    let rows = kernel_rows(&model);
    let ours = |table: &str, index: &str| -> u64 {
        rows.iter()
            .find(|r| r.table == table && r.index == index)
            .and_then(|r| number(&r.value))
            .unwrap_or_else(|| panic!("no numeric {table} [{index}] in the header"))
    };
    let define = |name: &str| ours("kernel_define", name);
    let per_monitor = constant("HL_MAX_SOBS_PER_MONITOR");
    let aligned = define("NUMBER_OF_SOBS_IN_GRP").div_ceil(per_monitor) * per_monitor;
    let first_sob = ours("sync_stream_first_sob", "-");
    let first_mon = ours("sync_stream_first_mon", "-");
    assert_eq!(
        first_sob,
        aligned * define("QMAN_STREAMS") * constant("HL_RSVD_SOBS")
    );
    assert_eq!(
        first_mon,
        define("NUMBER_OF_COLLECTIVE_QUEUES") * define("QMAN_STREAMS")
            + define("NUMBER_OF_EXT_HW_QUEUES") * constant("HL_COLLECTIVE_RSVD_MSTR_MONS")
    );
    let queues = ours("num_sync_stream_queues", "-");
    assert_eq!(
        ours("first_available_user_sob", "0"),
        first_sob + queues * constant("HL_RSVD_SOBS")
    );
    assert_eq!(
        ours("first_available_user_mon", "0"),
        first_mon + queues * constant("HL_RSVD_MONS")
    );
}
