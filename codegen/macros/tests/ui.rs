//! UI tests: what `asic!` makes rustc print, pinned by `tests/ui/*.stderr`.
//!
//! The macro resolves spec paths against the calling crate's manifest directory, which for a
//! trybuild test is trybuild's project directory under the target dir; the fixture specs are
//! copied there first so the `.rs` files can name them as `specs/*.asic`.
//! Update the expectations with `TRYBUILD=overwrite cargo test -p asicgen-macros --test ui`.

use std::fs;
use std::path::{Path, PathBuf};

/// trybuild's project directory for this crate: `<target>/tests/trybuild/<crate>/`.
fn trybuild_project_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("../tests/trybuild")
        .join(env!("CARGO_PKG_NAME"))
}

#[test]
fn ui() {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/specs");
    let to = trybuild_project_dir().join("specs");
    fs::create_dir_all(&to).expect("create the trybuild specs dir");
    for entry in fs::read_dir(&from).expect("read tests/ui/specs") {
        let path = entry.expect("dir entry").path();
        if let Some(name) = path.file_name() {
            fs::copy(&path, to.join(name)).expect("copy a fixture spec");
        }
    }
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/broken_spec.rs");
    t.compile_fail("tests/ui/missing_spec.rs");
    t.compile_fail("tests/ui/not_a_string.rs");
}
