//! Every diagnostic the test cases produce has a stable code (an entry in `dsl/src/codes.rs`),
//! and `ERRORS.md` lists exactly that table.
//!
//! `ERRORS.md` follows insta's rules: `INSTA_UPDATE=always` (or a local run outside CI) rewrites
//! it; with `CI` set drift fails.

use std::collections::BTreeSet;
use std::path::Path;

use asicgen_dsl::codes::{CODES, INTERNAL, markdown};

fn dsl_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_case_diagnostic_has_a_code() {
    let mut used = BTreeSet::new();
    let mut missing = Vec::new();
    let cases = dsl_dir().join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&cases)
        .expect("cases/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "asic"))
        .collect();
    files.sort();
    assert!(files.len() > 20, "{} cases", files.len());
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        if let Err(report) = asicgen_dsl::load(&path, name).result {
            for d in report.diagnostics() {
                used.insert(d.code());
                if d.code() == INTERNAL {
                    missing.push(format!("{name}: {}", d.message));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "headlines with no entry in dsl/src/codes.rs:\n{}",
        missing.join("\n")
    );
    // why: a table that matched nothing would pass the check above vacuously.
    assert!(used.len() >= 20, "only {} codes used: {used:?}", used.len());
}

#[test]
fn errors_md_lists_every_code() {
    let path = dsl_dir().join("../ERRORS.md");
    let expected = markdown();
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    for c in CODES {
        assert!(expected.contains(&format!("| {} |", c.code)));
    }
    if actual == expected {
        return;
    }
    let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
    let accept = std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always" || v == "1");
    if !ci || accept {
        std::fs::write(&path, &expected).expect("write ERRORS.md");
        eprintln!("rewrote {}; review and commit it", path.display());
    }
    assert!(
        accept,
        "ERRORS.md is not the table in dsl/src/codes.rs; run \
         `INSTA_UPDATE=always cargo test -p asicgen-dsl --test codes` and commit it"
    );
}
