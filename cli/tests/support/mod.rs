//! Running the `asicgen` binary the way a user does, shared by the CLI tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `asicgen args...` in `dir`.
pub fn asicgen(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_asicgen"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("asicgen runs")
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}
