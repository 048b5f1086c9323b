//! The generated uapi and kernel headers of every spec compile together with
//! `gcc -std=gnu11 -Wall -Wextra -Werror` against the stand-in kernel declarations in
//! `tests/c/kernel_stub/` (so `-I tests/c/kernel_stub` is all a compile needs), and the compiled
//! tables hold the kernel's values: for Goya and Gaudi, every row of
//! `tests/reference/kernel_tables.tsv` the header carries becomes a check in a C program,
//! written with the kernel's own names (`gaudi_queue_type[GAUDI_QUEUE_ID_DMA_0_0] ==
//! QUEUE_TYPE_EXT`), which gcc builds and the test runs. This checks the C text itself, not the
//! rows the generator says it wrote. Gaudi2's queue properties, sync layout and reserved CQs
//! (`queue_props.tsv`, `sync_manager.tsv`) are checked the same way. The stub's own constants
//! are checked against the reference's `common` rows.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn gcc_available() -> bool {
    Command::new("gcc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

struct Fact {
    asic: String,
    table: String,
    index: String,
    value: String,
}

fn facts() -> Vec<Fact> {
    let path = root().join("tests/reference/kernel_tables.tsv");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols.len() >= 4).then(|| Fact {
                asic: cols[0].trim().into(),
                table: cols[1].trim().into(),
                index: cols[2].trim().into(),
                value: cols[3].trim().into(),
            })
        })
        .collect()
}

/// The C expression that holds `fact` in the generated header, if the header carries it.
fn expression(fact: &Fact, lower: &str, upper: &str, kernel_h: &str) -> Option<String> {
    let i = &fact.index;
    let defined = |name: &str| kernel_h.contains(&format!("#define {name}\t"));
    Some(match fact.table.as_str() {
        "queue_type" => format!("{lower}_queue_type[{i}]"),
        "queue_id_to_engine_id" if i != "-" => format!("{lower}_queue_id_to_engine_id[{i}]"),
        t if t.starts_with("props.") => {
            format!("{lower}_hw_queues_props[{i}].{}", &t["props.".len()..])
        }
        "stream_master" => format!("{lower}_stream_master[{i}]"),
        "cq_assignment" => format!("{lower}_cq_assignment[{i}]"),
        "dma_assignment" => format!("{lower}_dma_assignment[{i}]"),
        "max_queues" => format!("ARRAY_SIZE({lower}_queue_type)"),
        "max_pending_cs" => format!("{upper}_MAX_PENDING_CS"),
        "completion_mode" => format!("{upper}_COMPLETION_MODE"),
        "completion_queues_count" => "NUMBER_OF_CMPLT_QUEUES".into(),
        "num_sync_stream_queues" => format!("{upper}_NUM_SYNC_STREAM_QUEUES"),
        "collective_first_sob" => format!("{upper}_COLLECTIVE_FIRST_SOB"),
        "collective_first_mon" => format!("{upper}_COLLECTIVE_FIRST_MON"),
        "sync_stream_first_sob" => format!("{upper}_SYNC_STREAM_FIRST_SOB"),
        "sync_stream_first_mon" => format!("{upper}_SYNC_STREAM_FIRST_MON"),
        // The header states the sync-stream sync manager's (index 0) only.
        "first_available_user_sob" if i == "0" || i == "HL_GAUDI_WS_DCORE" => {
            format!("{upper}_FIRST_AVAILABLE_USER_SOB")
        }
        "first_available_user_mon" if i == "0" || i == "HL_GAUDI_WS_DCORE" => {
            format!("{upper}_FIRST_AVAILABLE_USER_MON")
        }
        // gaudiP.h's stale queue counts are compared (and listed) in tests/kernel_tables.rs.
        "kernel_define"
            if defined(i)
                && !matches!(
                    i.as_str(),
                    "NUMBER_OF_INT_HW_QUEUES" | "NUMBER_OF_HW_QUEUES"
                ) =>
        {
            i.clone()
        }
        _ => return None,
    })
}

/// Compiles and runs a program that includes both headers and checks `checks`
/// (`(C expression, expected C expression)`); returns how many checks ran.
fn compile_and_run(stem: &str, uapi: &str, kernel: &str, checks: &[(String, String)]) -> usize {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("kernel_header_{stem}"));
    fs::create_dir_all(&dir).expect("create tmp dir");
    fs::write(dir.join(format!("{stem}.h")), uapi).expect("write uapi header");
    fs::write(dir.join(format!("{stem}.kernel.h")), kernel).expect("write kernel header");
    let mut main = format!(
        "#include <stdio.h>\n#include <linux/types.h>\n#include \"habanalabs.h\"\n\
         #include \"{stem}.h\"\n#include \"{stem}.kernel.h\"\n#include \"{stem}.kernel.h\"\n\n\
         #define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))\n\n\
         static int failures;\n\n\
         static void check(const char *what, long long got, long long want)\n{{\n\
         \tif (got != want) {{\n\t\tprintf(\"%s: got %lld, want %lld\\n\", what, got, want);\n\
         \t\tfailures++;\n\t}}\n}}\n\nint main(void)\n{{\n"
    );
    for (expr, want) in checks {
        main.push_str(&format!(
            "\tcheck(\"{expr} == {want}\", (long long)({expr}), (long long)({want}));\n"
        ));
    }
    main.push_str("\treturn failures != 0;\n}\n");
    fs::write(dir.join("main.c"), &main).expect("write main.c");
    let exe = dir.join("main");
    let out = Command::new("gcc")
        .args(["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root().join("tests/c/kernel_stub"))
        .arg("-I")
        .arg(&dir)
        .arg(dir.join("main.c"))
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "gcc rejected {stem}.h + {stem}.kernel.h:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run the checks");
    assert!(
        run.status.success(),
        "{stem}: the compiled tables differ from the kernel's:\n{}",
        String::from_utf8_lossy(&run.stdout)
    );
    checks.len()
}

/// Gaudi2's facts as C checks: queue types and properties (`queue_props.tsv`), the sync layout
/// and reserved CQs (`sync_manager.tsv`), and the queue → engine array ending before CPU_PQ.
fn gaudi2_checks() -> Vec<(String, String)> {
    let read = |file: &str| {
        let path = root().join("tests/reference").join(file);
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.lines()
            .skip(1)
            .map(|l| {
                l.split('\t')
                    .map(|c| c.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|cols| cols.first().is_some_and(|a| a == "gaudi2"))
            .collect::<Vec<_>>()
    };
    let mut checks = vec![(
        "ARRAY_SIZE(gaudi2_queue_id_to_engine_id)".to_string(),
        "GAUDI2_QUEUE_ID_CPU_PQ".to_string(),
    )];
    for cols in read("queue_props.tsv") {
        let [_, q, queue_type, driver_only, sync_stream, other] = cols.as_slice() else {
            panic!("malformed queue_props.tsv row: {cols:?}");
        };
        checks.push((format!("gaudi2_queue_type[{q}]"), queue_type.clone()));
        let props = format!("gaudi2_hw_queues_props[{q}]");
        checks.push((format!("{props}.type"), queue_type.clone()));
        checks.push((format!("{props}.driver_only"), driver_only.clone()));
        checks.push((format!("{props}.supports_sync_stream"), sync_stream.clone()));
        if let Some(cb) = other
            .split(';')
            .find_map(|kv| kv.strip_prefix("cb_alloc_flags="))
        {
            checks.push((format!("{props}.cb_alloc_flags"), cb.to_string()));
        }
    }
    for cols in read("sync_manager.tsv") {
        let [_, item, value, ..] = cols.as_slice() else {
            panic!("malformed sync_manager.tsv row: {cols:?}");
        };
        let exprs: &[&str] = match item.as_str() {
            "sync_stream_first_sob" => {
                &["GAUDI2_SYNC_STREAM_FIRST_SOB", "GAUDI2_RESERVED_SOB_NUMBER"]
            }
            "sync_stream_first_mon" => {
                &["GAUDI2_SYNC_STREAM_FIRST_MON", "GAUDI2_RESERVED_MON_NUMBER"]
            }
            "first_available_user_sob" => &["GAUDI2_FIRST_AVAILABLE_USER_SOB"],
            "first_available_user_mon" => &["GAUDI2_FIRST_AVAILABLE_USER_MON"],
            "completion_queues_count" => &["NUMBER_OF_CMPLT_QUEUES", "GAUDI2_RESERVED_CQ_NUMBER"],
            "first_available_cq" => &["GAUDI2_RESERVED_CQ_NUMBER"],
            _ => &[],
        };
        checks.extend(exprs.iter().map(|e| (e.to_string(), value.clone())));
    }
    checks
}

fn check_spec(stem: &str, reference: bool) -> usize {
    let display = format!("specs/{stem}.asic");
    let model = match asicgen_dsl::load(&root().join(&display), &display).result {
        Ok(model) => model,
        Err(report) => panic!("{display} does not check:\n{report}"),
    };
    let uapi = asicgen_codegen::c_header(&model);
    let kernel = asicgen_codegen::kernel_header(&model);
    let upper = model.uapi_prefix.clone();
    let lower = upper.to_ascii_lowercase();
    let facts = facts();
    let mut checks: Vec<(String, String)> = vec![(
        format!("ARRAY_SIZE({lower}_queue_type)"),
        format!("{upper}_QUEUE_ID_SIZE"),
    )];
    // The stub's constants are the kernel's.
    for f in facts.iter().filter(|f| f.asic == "common") {
        if matches!(f.table.as_str(), "kernel_enum")
            || (f.table == "kernel_define" && f.index.starts_with("HL_COMPLETION_MODE_"))
        {
            checks.push((f.index.clone(), f.value.clone()));
        }
    }
    if reference {
        let rows: Vec<(String, String)> = facts
            .iter()
            .filter(|f| f.asic == stem)
            .filter_map(|f| Some((expression(f, &lower, &upper, &kernel)?, f.value.clone())))
            .collect();
        assert!(rows.len() > 50, "{stem}: only {} rows to check", rows.len());
        checks.extend(rows);
    }
    if stem == "gaudi2" {
        checks.extend(gaudi2_checks());
    }
    if !gcc_available() {
        eprintln!("gcc not found: skipping the compile of {stem}'s headers");
        return 0;
    }
    compile_and_run(stem, &uapi, &kernel, &checks)
}

#[test]
fn goya_headers_compile_and_hold_the_kernels_values() {
    let n = check_spec("goya", true);
    eprintln!("goya: {n} checks passed in C");
}

#[test]
fn gaudi_headers_compile_and_hold_the_kernels_values() {
    let n = check_spec("gaudi", true);
    eprintln!("gaudi: {n} checks passed in C");
}

#[test]
fn gaudi2_headers_compile_and_hold_the_kernels_values() {
    let n = check_spec("gaudi2", false);
    eprintln!("gaudi2: {n} checks passed in C");
}

#[test]
fn every_other_spec_compiles() {
    for entry in fs::read_dir(root().join("specs")).expect("specs/") {
        let path = entry.expect("dir entry").path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "asic")
            && !matches!(stem, "goya" | "gaudi" | "gaudi2")
        {
            check_spec(stem, false);
        }
    }
}
