//! Every output of every spec under `specs/` is checked in once, under `generated/review/`
//! (`<spec>.rs`, `.h`, `.md`), and this test is its guard: the copies are exactly what the
//! generator produces today, and every spec has a module in `src/lib.rs`.
//!
//! The copies are for people: the `.md` renders in a PR view, the `.h` is what gcc compiles and
//! the `.rs` is what `asic!` expands to. They follow insta's rules, so one command accepts every
//! snapshot and every copy in the workspace:
//!
//! - `INSTA_UPDATE=always cargo test --workspace` (or `cargo insta test --accept`) rewrites
//!   stale copies and passes;
//! - with `CI` set (or `INSTA_UPDATE=no`) drift fails with a diff;
//! - otherwise (a local `cargo test`) a stale copy is rewritten, as rust-analyzer's sourcegen
//!   does, and the test fails once, naming what it rewrote, so nobody misses the change.
//!
//! A new spec is picked up by listing `specs/`, so adding a generation needs no edit here.

mod support;

use std::fs;
use std::path::Path;

/// What to do with a stale copy, read from the environment the way insta reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Update {
    /// Rewrite it and pass (`INSTA_UPDATE=always`).
    Accept,
    /// Rewrite it and fail once (a local run).
    RewriteAndFail,
    /// Leave it and fail (CI, or `INSTA_UPDATE=no`).
    Fail,
}

fn update_mode() -> Update {
    let ci = match std::env::var("CI").ok().as_deref() {
        Some("" | "0" | "false") => false,
        Some(_) => true,
        None => std::env::var_os("TF_BUILD").is_some(),
    };
    match std::env::var("INSTA_UPDATE").ok().as_deref() {
        Some("always" | "1") => Update::Accept,
        // why: `cargo insta test --accept` runs the tests with `INSTA_FORCE_PASS`; writing the
        // copy and passing is what accepting means for a file that is its own snapshot.
        _ if !ci && std::env::var_os("INSTA_FORCE_PASS").is_some() => Update::Accept,
        Some("no") => Update::Fail,
        _ if ci => Update::Fail,
        _ => Update::RewriteAndFail,
    }
}

/// A stale copy's changes as a unified diff (checked in → generated), cut short if long.
fn difference(path: &Path, actual: &str, expected: &str) -> String {
    const SHOWN: usize = 40;
    let diff = similar::TextDiff::from_lines(actual, expected)
        .unified_diff()
        .context_radius(1)
        .header("checked in", "generated")
        .to_string();
    let lines: Vec<&str> = diff.lines().collect();
    let mut out = format!("{} is stale:\n", path.display());
    for line in lines.iter().take(SHOWN) {
        out.push_str(&format!("  {line}\n"));
    }
    if lines.len() > SHOWN {
        out.push_str(&format!(
            "  ... ({} more diff lines)\n",
            lines.len() - SHOWN
        ));
    }
    out
}

#[test]
fn review_copies_are_up_to_date() {
    let review = support::manifest_dir().join("review");
    let mode = update_mode();
    let mut stale = Vec::new();
    for stem in support::spec_stems() {
        for output in support::outputs(&stem) {
            let path = review.join(format!("{stem}.{}", output.ext));
            let actual = fs::read_to_string(&path).unwrap_or_default();
            if actual == output.text {
                continue;
            }
            let diff = difference(&path, &actual, &output.text);
            if mode != Update::Fail {
                if let Err(e) = fs::write(&path, &output.text) {
                    stale.push(format!("{}: cannot write: {e}", path.display()));
                    continue;
                }
                eprintln!("rewrote {}; review and commit it", path.display());
            }
            if mode != Update::Accept {
                stale.push(diff);
            }
        }
    }
    let advice = match mode {
        Update::RewriteAndFail => {
            "rewrote the copies above; review `git diff generated/review` and commit it (the next \
             run passes)"
        }
        _ => {
            "run `INSTA_UPDATE=always cargo test -p asicgen-generated --test review` locally, \
             review `git diff generated/review` and commit it"
        }
    };
    assert!(stale.is_empty(), "{}\n{advice}", stale.join("\n"));
}

#[test]
fn every_copy_carries_the_hash_of_its_own_text() {
    // why: the provenance line must change exactly when the output does; a hash of anything
    // else (the spec bytes, a timestamp) would touch every copy on every spec edit.
    for stem in support::spec_stems() {
        for output in support::outputs(&stem) {
            assert_eq!(
                asicgen_codegen::verify(&output.text),
                Some(true),
                "{stem}.{}: the provenance hash is not the hash of the output",
                output.ext
            );
        }
    }
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
        // The module carries the provenance of its review copy (hash included).
        let copy = &support::outputs(&stem)[0].text;
        let line = copy
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// @generated by "));
        assert_eq!(
            asicgen_generated::visit(&stem, Provenance),
            line,
            "specs/{stem}.asic"
        );
    }
}

#[test]
fn the_expansion_is_what_the_review_copy_shows() {
    // why: the copies are generated here and the modules by the macro (with the compiler's token
    // implementation); both must name the spec the same way and hash the same text, or a copy
    // would not be what `asic!` expands to.
    let copy = &support::outputs("goya")[0].text;
    let line = copy
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("// @generated by "))
        .unwrap_or_default();
    assert_eq!(asicgen_generated::goya::PROVENANCE, line);
    assert!(
        asicgen_generated::goya::PROVENANCE
            .contains(" from specs/goya.asic with specs/lifecycle/default.lifecycle ")
    );
}
