//! The path a spec is shown by in diagnostics and provenance lines.
//!
//! `asic!("../specs/goya.asic")` names its spec relative to the calling crate, which reads oddly
//! in a header (`from ../specs/goya.asic`) and differs between crates that use the same spec.
//! Shown relative to the workspace root instead (`specs/goya.asic`), it reads the same from every
//! crate, from `asicgen emit` run at the root, and from a clickable terminal path.

use std::fs;
use std::path::{Component, Path, PathBuf};

/// The nearest directory at or above `start` whose `Cargo.toml` declares a `[workspace]`.
///
/// Only reads files. `None` when there is none (a crate outside any workspace) or a manifest
/// cannot be read.
pub fn workspace_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| {
            fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|text| declares_workspace(&text))
        })
        .map(Path::to_path_buf)
}

/// Whether a manifest has a `[workspace]` table header (not merely `x.workspace = true` keys).
fn declares_workspace(manifest: &str) -> bool {
    manifest.lines().any(|line| {
        let line = line.split('#').next().unwrap_or_default().trim();
        line == "[workspace]"
    })
}

/// How to show the spec that `asic!(literal)` names from the crate in `manifest_dir`: relative to
/// the workspace root with `/` separators when the spec lies inside that workspace, else the
/// literal as written.
///
/// The path is folded lexically (`a/../b` is `b`); symlinks are not resolved, so a spec reached
/// through one keeps its literal, which is still correct, only less tidy.
pub fn spec_display_path(manifest_dir: &Path, literal: &str) -> String {
    let Some(root) = workspace_root(manifest_dir) else {
        return literal.to_string();
    };
    let spec = fold(&manifest_dir.join(literal));
    match spec.strip_prefix(fold(&root)) {
        Ok(relative) if relative.components().next().is_some() => relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        _ => literal.to_string(),
    }
}

/// Folds `.` and `..` lexically; a `..` above the root is dropped, as the OS does.
fn fold(path: &Path) -> PathBuf {
    let mut folded = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            // why: `file_name` is `None` for a root and for a trailing `..`, neither of which a
            // `..` may pop.
            Component::ParentDir if folded.file_name().is_some() => {
                folded.pop();
            }
            Component::ParentDir if folded.has_root() => {}
            Component::ParentDir => folded.push(".."),
            other => folded.push(other),
        }
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch tree under the temp dir: `files` are `(relative path, contents)`.
    fn tree(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("asicgen-spec-path-{}-{name}", std::process::id()));
        for (path, contents) in files {
            let path = root.join(path);
            fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            fs::write(path, contents).expect("write");
        }
        root
    }

    const WORKSPACE: &str = "[workspace]\nmembers = [\"generated\"]\n";
    const MEMBER: &str = "[package]\nname = \"g\"\n\n[lints]\nworkspace = true\n";

    #[test]
    fn a_spec_in_the_workspace_is_shown_from_its_root() {
        let root = tree(
            "inside",
            &[("Cargo.toml", WORKSPACE), ("generated/Cargo.toml", MEMBER)],
        );
        let member = root.join("generated");
        assert_eq!(workspace_root(&member), Some(root.clone()));
        assert_eq!(
            spec_display_path(&member, "../specs/goya.asic"),
            "specs/goya.asic"
        );
        assert_eq!(
            spec_display_path(&member, "./specs/../x.asic"),
            "generated/x.asic"
        );
        assert_eq!(
            spec_display_path(&root, "specs/goya.asic"),
            "specs/goya.asic"
        );
    }

    #[test]
    fn a_spec_outside_the_workspace_keeps_its_literal() {
        let root = tree(
            "outside",
            &[("Cargo.toml", WORKSPACE), ("generated/Cargo.toml", MEMBER)],
        );
        let member = root.join("generated");
        assert_eq!(
            spec_display_path(&member, "../../elsewhere/x.asic"),
            "../../elsewhere/x.asic"
        );
        // The root itself is not a spec.
        assert_eq!(spec_display_path(&member, ".."), "..");
    }

    #[test]
    fn without_a_workspace_the_literal_is_kept() {
        let root = tree("none", &[("crate/Cargo.toml", MEMBER)]);
        let krate = root.join("crate");
        // why: the temp dir's ancestors could hold a stray workspace manifest; only assert the
        // fallback when they do not.
        if workspace_root(&krate).is_none() {
            assert_eq!(spec_display_path(&krate, "big.asic"), "big.asic");
        }
    }

    #[test]
    fn only_a_workspace_table_header_counts() {
        assert!(declares_workspace("[workspace]\n"));
        assert!(declares_workspace(
            "  [workspace]   # the root\nresolver = \"3\"\n"
        ));
        assert!(!declares_workspace(MEMBER));
        assert!(!declares_workspace("[workspace.dependencies]\nx = 1\n"));
        assert!(!declares_workspace("# [workspace]\n"));
    }

    #[test]
    fn folding_is_lexical() {
        assert_eq!(fold(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
        assert_eq!(fold(Path::new("a/../../b")), PathBuf::from("../b"));
        assert_eq!(fold(Path::new("../../b")), PathBuf::from("../../b"));
        assert_eq!(fold(Path::new("/../b")), PathBuf::from("/b"));
    }
}
