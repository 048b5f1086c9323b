//! The review copies under `generated/review/` are exactly what the generator produces today,
//! and every spec under `specs/` has a module in `src/lib.rs`.
//!
//! The copies are for people: the `.md` renders in a PR view and the `.h` is what gcc compiles.
//! The insta snapshots (`tests/outputs.rs`) are the guard, so the copies are not blessed by
//! hand: outside CI this test rewrites a stale copy itself (as rust-analyzer's sourcegen does)
//! and says so; with `CI` set it fails on drift instead, asking for a local
//! `cargo test -p asicgen-generated` and a commit.

mod support;

use std::fs;
use std::path::Path;

/// insta's reading of `CI`, so the snapshots and the copies agree on what CI means.
fn in_ci() -> bool {
    match std::env::var("CI").ok().as_deref() {
        Some("" | "0" | "false") => false,
        Some(_) => true,
        None => std::env::var_os("TF_BUILD").is_some(),
    }
}

/// Where two texts first differ, as a short report.
fn first_difference(path: &Path, actual: &str, expected: &str) -> String {
    let first = actual
        .lines()
        .zip(expected.lines())
        .position(|(a, e)| a != e)
        .unwrap_or(actual.lines().count().min(expected.lines().count()));
    format!(
        "{} is stale (first difference at line {}):\n  checked in: {:?}\n  generated:  {:?}",
        path.display(),
        first + 1,
        actual.lines().nth(first).unwrap_or("<end of file>"),
        expected.lines().nth(first).unwrap_or("<end of file>"),
    )
}

/// Makes `path` hold `expected`: `Ok(true)` if it was rewritten, `Err` with a complaint in CI or
/// when it cannot be written.
fn ensure_file_contents(path: &Path, expected: &str) -> Result<bool, String> {
    let actual = fs::read_to_string(path).unwrap_or_default();
    if actual == expected {
        return Ok(false);
    }
    if in_ci() {
        return Err(first_difference(path, &actual, expected));
    }
    fs::write(path, expected).map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    Ok(true)
}

#[test]
fn review_copies_are_up_to_date() {
    let review = support::manifest_dir().join("review");
    let mut stale = Vec::new();
    for stem in support::spec_stems() {
        for output in support::outputs(&stem) {
            let path = review.join(format!("{stem}.{}", output.ext));
            match ensure_file_contents(&path, &output.text) {
                Ok(true) => eprintln!("updated {}; commit it", path.display()),
                Ok(false) => {}
                Err(complaint) => stale.push(complaint),
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{}\n\nrun `cargo test -p asicgen-generated` locally (it rewrites the review copies), \
         review the diff and commit it",
        stale.join("\n")
    );
}

struct Provenance;

impl asicgen_generated::AsicVisitor for Provenance {
    type Output = &'static str;
    fn visit<A: asicgen_runtime::asic::Asic>(self) -> &'static str {
        A::PROVENANCE
    }
}

#[test]
fn every_spec_has_a_module() {
    // The build script lists `specs/`; each module is what `asic!` expands its own spec to.
    assert_eq!(asicgen_generated::NAMES, support::spec_stems());
    for stem in support::spec_stems() {
        assert_eq!(
            asicgen_generated::visit(&stem, Provenance),
            Some(asicgen_codegen::provenance(&support::model(&stem)).as_str()),
            "specs/{stem}.asic"
        );
    }
}

#[test]
fn the_expansion_names_its_spec_from_the_workspace_root() {
    // why: the copies are generated here and the modules by the macro; both must name the spec
    // the same way, or a copy would not be what `asic!` expands to.
    assert_eq!(
        asicgen_generated::goya::PROVENANCE,
        asicgen_codegen::provenance(&support::model("goya"))
    );
    assert!(
        asicgen_generated::goya::PROVENANCE
            .contains(" from specs/goya.asic with specs/lifecycle/default.lifecycle ")
    );
}
