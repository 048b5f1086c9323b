//! `asicgen fmt`'s layout: golden files for every construct, and on every spec and lifecycle
//! the repository has (shipped ones and the diagnostics test cases): formatting is idempotent,
//! and a spec that checks gives the same Model after formatting.

use std::path::{Path, PathBuf};

use asicgen_dsl::format::{FileKind, format};
use asicgen_dsl::{FileRef, Model};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file of a kind asicgen formats under `dir`, recursively, sorted.
fn files_under(dir: &Path) -> Vec<(PathBuf, FileKind)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some(kind) = FileKind::of_path(&path) {
                out.push((path, kind));
            }
        }
    }
    out.sort();
    out
}

fn fmt(path: &Path, kind: FileKind, text: &str) -> String {
    format(text, kind, &path.display().to_string()).unwrap_or_else(|r| panic!("{r}"))
}

#[test]
fn golden_files() {
    for (path, kind) in files_under(&root().join("dsl/tests/fmt")) {
        let text = std::fs::read_to_string(&path).expect("read");
        let formatted = fmt(&path, kind, &text);
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        insta::assert_snapshot!(name.clone(), formatted);
        assert_eq!(
            fmt(&path, kind, &formatted),
            formatted,
            "{name}: not idempotent"
        );
    }
}

#[test]
fn shipped_specs_and_lifecycles_are_formatted() {
    let files = files_under(&root().join("specs"));
    assert!(files.len() >= 4, "{files:?}");
    let mut unformatted = Vec::new();
    for (path, kind) in files {
        let text = std::fs::read_to_string(&path).expect("read");
        if fmt(&path, kind, &text) != text {
            unformatted.push(path.display().to_string());
        }
    }
    assert!(
        unformatted.is_empty(),
        "not formatted (run `asicgen fmt`): {unformatted:?}"
    );
}

/// The Model of `spec` read from disk, with the spec's own text replaced by `text`.
fn model_with(spec: &Path, text: &str) -> Result<Model, String> {
    let file = FileRef::new(spec.display().to_string());
    let loaded = asicgen_dsl::check_with(file, &mut |f: &FileRef| {
        if f.real == spec {
            Ok(text.as_bytes().to_vec())
        } else {
            std::fs::read(&f.real)
        }
    });
    loaded.result.map_err(|r| r.to_string()).map(|mut m| {
        // The provenance hashes the bytes; everything else must be equal.
        m.provenance.content_hash.clear();
        m
    })
}

#[test]
fn every_file_in_the_repository_formats_idempotently_to_the_same_model() {
    let mut files = files_under(&root().join("specs"));
    files.extend(files_under(&root().join("dsl/tests/cases")));
    let mut checked_models = 0;
    for (path, kind) in files {
        let text = std::fs::read_to_string(&path).expect("read");
        // Test cases with syntax errors are refused with their diagnostic, untouched.
        let Ok(once) = format(&text, kind, &path.display().to_string()) else {
            continue;
        };
        let twice = fmt(&path, kind, &once);
        assert_eq!(twice, once, "{}: not idempotent", path.display());
        if kind == FileKind::Spec
            && let Ok(before) = model_with(&path, &text)
        {
            let after = model_with(&path, &once)
                .unwrap_or_else(|e| panic!("{}: formatted spec fails: {e}", path.display()));
            assert_eq!(before, after, "{}: Model changed", path.display());
            checked_models += 1;
        }
    }
    assert!(checked_models >= 4, "only {checked_models} specs compared");
}

#[test]
fn a_syntax_error_is_reported_and_nothing_is_formatted() {
    let err = format("asic X {\n  uapi_prefix = \n", FileKind::Spec, "x.asic").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("unclosed `{`") && text.contains("x.asic:1:8"),
        "{text}"
    );
}

#[test]
fn comments_are_never_lost() {
    let text = "// a\nlifecycle x // b\n// c\nstate A { // d\n  // e\n  submit -> A // f\n  // g\n} // h\n// i\n";
    let out = fmt(Path::new("x.lifecycle"), FileKind::Lifecycle, text);
    for c in [
        "// a", "// b", "// c", "// d", "// e", "// f", "// g", "// h", "// i",
    ] {
        assert!(out.contains(c), "{c} lost:\n{out}");
    }
}
