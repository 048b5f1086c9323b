//! The review copies under `generated/review/` are exactly what the generator produces today,
//! and every spec under `specs/` has a module in `src/lib.rs`.
//!
//! After changing a spec or the generator, update the copies with
//!
//! ```text
//! ASICGEN_BLESS=1 cargo test -p asicgen-generated --test review
//! ```
//!
//! and review the diff like any other change.

use std::fs;
use std::path::{Path, PathBuf};

/// Every `specs/*.asic`, by stem, sorted.
fn spec_stems() -> Vec<String> {
    let dir = manifest_dir().join("../specs");
    let mut stems: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "asic"))
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
        .collect();
    stems.sort();
    stems
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The spec path exactly as `src/lib.rs` passes it to `asic!`, so provenance lines match.
fn display_path(stem: &str) -> String {
    format!("../specs/{stem}.asic")
}

fn model(stem: &str) -> asicgen_dsl::Model {
    let display = display_path(stem);
    match asicgen_dsl::load(&manifest_dir().join(&display), &display).result {
        Ok(model) => model,
        Err(report) => panic!("specs/{stem}.asic does not check:\n{report}"),
    }
}

/// Compares (or, with `ASICGEN_BLESS=1`, rewrites) one review copy; returns a complaint.
fn ensure(path: &Path, expected: &str) -> Option<String> {
    let actual = fs::read_to_string(path).unwrap_or_default();
    if actual == expected {
        return None;
    }
    if std::env::var_os("ASICGEN_BLESS").is_some() {
        if let Err(e) = fs::write(path, expected) {
            return Some(format!("{}: cannot write: {e}", path.display()));
        }
        return None;
    }
    let first = actual
        .lines()
        .zip(expected.lines())
        .position(|(a, e)| a != e)
        .unwrap_or(actual.lines().count().min(expected.lines().count()));
    Some(format!(
        "{} is stale (first difference at line {}):\n  checked in: {:?}\n  generated:  {:?}",
        path.display(),
        first + 1,
        actual.lines().nth(first).unwrap_or("<end of file>"),
        expected.lines().nth(first).unwrap_or("<end of file>"),
    ))
}

#[test]
fn review_copies_are_up_to_date() {
    let review = manifest_dir().join("review");
    let mut stale = Vec::new();
    for stem in spec_stems() {
        let model = model(&stem);
        let outputs = [
            ("rs", asicgen_codegen::rust_module_pretty(&model)),
            ("h", asicgen_codegen::c_header(&model)),
            ("md", asicgen_codegen::markdown(&model)),
        ];
        for (ext, text) in outputs {
            stale.extend(ensure(&review.join(format!("{stem}.{ext}")), &text));
        }
    }
    assert!(
        stale.is_empty(),
        "{}\n\nrun `ASICGEN_BLESS=1 cargo test -p asicgen-generated --test review` and review the diff",
        stale.join("\n")
    );
}

#[test]
fn every_spec_has_a_module() {
    let lib = fs::read_to_string(manifest_dir().join("src/lib.rs")).unwrap_or_default();
    for stem in spec_stems() {
        let call = format!("asicgen_macros::asic!(\"{}\")", display_path(&stem));
        assert!(
            lib.contains(&format!("pub mod {stem} {{")) && lib.contains(&call),
            "specs/{stem}.asic has no `pub mod {stem} {{ {call}; }}` in generated/src/lib.rs"
        );
    }
}
