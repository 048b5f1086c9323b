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

/// How to show the spec that `asic!(literal)` names from the crate in `manifest_dir`, with `/`
/// separators:
/// - a spec inside the calling crate is shown relative to that crate (`specs/x.asic`): the crate
///   is the smallest context that names it, and this stays true when the crate itself lives
///   somewhere odd (trybuild builds its test crate inside the workspace's `target/`);
/// - a spec elsewhere in the workspace is shown relative to the workspace root (`generated/`
///   naming `../specs/goya.asic` shows `specs/goya.asic`);
/// - anything else keeps the literal as written.
///
/// The path is folded lexically (`a/../b` is `b`); symlinks are not resolved, so a spec reached
/// through one keeps its literal, which is still correct, only less tidy.
pub fn spec_display_path(manifest_dir: &Path, literal: &str) -> String {
    let spec = fold(&manifest_dir.join(literal));
    if let Some(relative) = relative_to(&spec, &fold(manifest_dir)) {
        return relative;
    }
    workspace_root(manifest_dir)
        .and_then(|root| relative_to(&spec, &fold(&root)))
        .unwrap_or_else(|| literal.to_string())
}

/// How `asicgen emit`, run in `cwd`, shows the spec `literal` (relative to `cwd`): as
/// [`spec_display_path`] would for a crate in the nearest directory at or above `cwd` that has a
/// `Cargo.toml`, so the output matches what `asic!` in that crate expands to.
pub fn spec_display_path_from(cwd: &Path, literal: &str) -> String {
    let Some(crate_dir) = cwd.ancestors().find(|dir| dir.join("Cargo.toml").is_file()) else {
        return literal.to_string();
    };
    let spec = fold(&cwd.join(literal));
    match relative_to(&spec, &fold(crate_dir)) {
        Some(from_crate) => spec_display_path(crate_dir, &from_crate),
        None => spec_display_path(cwd, literal),
    }
}

/// `path` relative to `base` with `/` separators, if it lies strictly inside it.
fn relative_to(path: &Path, base: &Path) -> Option<String> {
    let relative = path.strip_prefix(base).ok()?;
    relative.components().next()?;
    Some(
        relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
    )
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
        // Inside the calling crate: relative to the crate.
        assert_eq!(spec_display_path(&member, "./specs/../x.asic"), "x.asic");
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
    fn a_crate_inside_another_workspace_shows_its_own_specs_from_itself() {
        // trybuild's test crate lives in `target/tests/trybuild/<crate>/` of the workspace.
        let root = tree(
            "trybuild",
            &[("Cargo.toml", WORKSPACE), ("target/t/Cargo.toml", MEMBER)],
        );
        let krate = root.join("target/t");
        assert_eq!(
            spec_display_path(&krate, "specs/broken.asic"),
            "specs/broken.asic"
        );
    }

    #[test]
    fn emit_names_a_spec_as_the_enclosing_crate_would() {
        let root = tree(
            "emit",
            &[
                ("Cargo.toml", WORKSPACE),
                ("generated/Cargo.toml", MEMBER),
                ("specs/x", ""),
            ],
        );
        assert_eq!(
            spec_display_path_from(&root.join("specs"), "goya.asic"),
            "specs/goya.asic"
        );
        assert_eq!(
            spec_display_path_from(&root, "specs/goya.asic"),
            "specs/goya.asic"
        );
        assert_eq!(
            spec_display_path_from(&root.join("generated"), "../specs/goya.asic"),
            "specs/goya.asic"
        );
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
