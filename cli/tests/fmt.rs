//! `asicgen fmt` as a user runs it: rewrite, `--check`, and files it must leave alone.

mod support;

use std::path::PathBuf;

use support::{asicgen, workspace};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("asicgen-fmt-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).expect("temp dir");
    dir
}

const MESSY: &str = "lifecycle x\ninitial state A { submit->B  ignore schedule_failure,jobs_done,timeout_detected,reset }\nterminal state B signals ok\n";
const TIDY: &str = "lifecycle x\n\ninitial state A {\n    submit -> B\n    ignore schedule_failure, jobs_done, timeout_detected, reset\n}\n\nterminal state B signals ok\n";

#[test]
fn check_reports_a_diff_and_changes_nothing_then_fmt_rewrites() {
    let dir = scratch("rewrite");
    std::fs::write(dir.join("sub/x.lifecycle"), MESSY).expect("write");
    std::fs::write(dir.join("sub/notes.txt"), "not a spec").expect("write");

    let out = asicgen(&["fmt", "--check", "."], &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("+    submit -> B"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(dir.join("sub/x.lifecycle")).unwrap(),
        MESSY
    );

    let out = asicgen(&["fmt", "sub"], &dir);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("formatted sub/x.lifecycle"));
    assert_eq!(
        std::fs::read_to_string(dir.join("sub/x.lifecycle")).unwrap(),
        TIDY
    );

    // Formatted files are left alone, and `--check` passes.
    let out = asicgen(&["fmt", "--check", "sub/x.lifecycle"], &dir);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn files_that_cannot_be_formatted_exit_2_and_stay_untouched() {
    let dir = scratch("errors");
    let broken = "asic X {\n  uapi_prefix = \n";
    std::fs::write(dir.join("broken.asic"), broken).expect("write");
    std::fs::write(dir.join("binary.asic"), [0xff, 0xfe, 0x00]).expect("write");
    std::fs::write(dir.join("x.txt"), "").expect("write");
    for (args, expect) in [
        (&["fmt", "broken.asic"][..], "broken.asic:1:8"),
        (&["fmt", "binary.asic"][..], "not UTF-8"),
        (
            &["fmt", "x.txt"][..],
            "neither a `.asic` spec nor a `.lifecycle` file",
        ),
        (&["fmt", "missing.asic"][..], "cannot read `missing.asic`"),
        (&["fmt", "sub"][..], "no `*.asic` or `*.lifecycle` file"),
    ] {
        let out = asicgen(args, &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("broken.asic")).unwrap(),
        broken
    );
}

#[test]
fn the_shipped_specs_are_formatted() {
    let out = asicgen(&["fmt", "--check"], &workspace());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
