//! `asicgen emit` prints exactly the checked-in review copies, and fails like `check` on a bad
//! spec.

mod support;

use support::{asicgen, workspace};

fn review_copy(name: &str) -> String {
    let path = workspace().join("generated/review").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn emit_prints_the_review_copies() {
    for (output, ext) in [
        ("c", "h"),
        ("kernel", "kernel.h"),
        ("rust", "rs"),
        ("doc", "md"),
    ] {
        let out = asicgen(&["emit", output, "specs/goya.asic"], &workspace());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stderr.is_empty(), "{output}: nothing on stderr");
        assert!(
            String::from_utf8_lossy(&out.stdout) == review_copy(&format!("goya.{ext}")),
            "`asicgen emit {output} specs/goya.asic` differs from generated/review/goya.{ext}"
        );
    }
}

#[test]
fn the_spec_is_named_from_the_workspace_root_wherever_emit_runs() {
    let out = asicgen(&["emit", "c", "goya.asic"], &workspace().join("specs"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), review_copy("goya.h"));
}

#[test]
fn a_bad_spec_exits_1_with_diagnostics_on_stderr_and_nothing_on_stdout() {
    let dir = std::env::temp_dir().join(format!("asicgen-emit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("bad.asic"), "asic X {\n  uapi_prefix = \"X\"\n}\n").expect("write");
    let out = asicgen(&["emit", "c", "bad.asic"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error[E0101]: the spec has no `limits` block"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    let out = asicgen(&["emit", "rust", "does-not-exist.asic"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read `does-not-exist.asic`"));
}

#[test]
fn an_unknown_output_is_a_usage_error() {
    let out = asicgen(&["emit", "python", "specs/goya.asic"], &workspace());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values: rust, c, kernel, doc"));
}
