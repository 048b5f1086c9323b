//! `asicgen check` as a user runs it: exit codes, output streams, and no panic on any bytes.

mod support;

use std::path::PathBuf;

use support::{asicgen, workspace};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("asicgen-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn shipped_specs_check_clean_with_exit_0() {
    let out = asicgen(&["check"], &workspace());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let specs = std::fs::read_dir(workspace().join("specs")).expect("specs/");
    let mut checked = 0;
    for path in specs.filter_map(Result::ok).map(|e| e.path()) {
        if path.extension().is_some_and(|x| x == "asic") {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            assert!(stdout.contains(&format!("ok: specs/{name}")), "{stdout}");
            checked += 1;
        }
    }
    assert!(checked >= 4, "{stdout}");
}

#[test]
fn a_bad_spec_exits_1_with_diagnostics_on_stderr() {
    let dir = scratch("bad");
    std::fs::write(dir.join("bad.asic"), "asic X {\n  uapi_prefix = \"X\"\n}\n").expect("write");
    let out = asicgen(&["check", "bad.asic"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--> bad.asic:1:6"), "{stderr}");
    assert!(
        stderr.contains("error[E0101]: the spec has no `limits` block"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("failed: bad.asic"));
}

#[test]
fn json_gives_one_object_per_diagnostic_and_nothing_else() {
    let dir = scratch("json");
    std::fs::write(dir.join("bad.asic"), "asic X {\n  uapi_prefix = \"X\"\n}\n").expect("write");
    let human = asicgen(&["check", "bad.asic"], &dir);
    let errors = String::from_utf8_lossy(&human.stderr)
        .lines()
        .filter(|l| l.starts_with("error["))
        .count();
    let out = asicgen(&["check", "--message-format", "json", "bad.asic"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), errors, "{stdout}");
    assert!(errors >= 3);
    for line in &lines {
        assert!(
            line.starts_with("{\"file\":\"bad.asic\",\"line\":1,\"column\":"),
            "{line}"
        );
        assert!(
            line.ends_with('}') && line.contains("\"level\":\"error\""),
            "{line}"
        );
    }
    assert!(
        lines[0].contains("\"code\":\"E0101\"")
            && lines[0].contains("\"message\":\"the spec has no `limits` block\"")
            && lines[0].contains("\"help\":\"add `limits {"),
        "{}",
        lines[0]
    );
    let pci = lines
        .iter()
        .find(|l| l.contains("missing `pci_vendor`"))
        .expect("pci line");
    assert!(pci.contains("\"line\":1,\"column\":6,"), "{pci}");
}

#[test]
fn colour_only_for_a_terminal() {
    let dir = scratch("colour");
    std::fs::write(dir.join("bad.asic"), "asic X {\n  uapi_prefix = \"X\"\n}\n").expect("write");
    // Piped (as here): plain.
    let piped = asicgen(&["check", "bad.asic"], &dir);
    assert!(
        !piped.stderr.contains(&0x1b),
        "escape codes in piped output"
    );
    // CLICOLOR_FORCE stands in for a terminal, as it does for cargo.
    let forced = std::process::Command::new(env!("CARGO_BIN_EXE_asicgen"))
        .args(["check", "bad.asic"])
        .current_dir(&dir)
        .env("CLICOLOR_FORCE", "1")
        .env_remove("NO_COLOR")
        .output()
        .expect("asicgen runs");
    let stderr = String::from_utf8_lossy(&forced.stderr);
    assert!(
        stderr.contains("\u{1b}["),
        "no colour with CLICOLOR_FORCE: {stderr}"
    );
}

#[test]
fn any_bytes_give_diagnostics_not_a_panic() {
    let dir = scratch("bytes");
    let inputs: &[(&str, &[u8])] = &[
        ("binary.asic", &[0xff, 0xfe, 0x00, 0x01, 0x80]),
        ("truncated.asic", b"asic X { uapi_prefix = \"X"),
        ("huge.asic", b"limits { max_pending_cs = 184467440737095516150000 }"),
        ("empty.asic", b""),
        ("nul.asic", b"asic\0X {}"),
        ("missing_lifecycle.asic", b"asic X { uapi_prefix = \"X\", pci_vendor = 1, pci_devices = [1], lifecycle = \"nope.lifecycle\" }"),
    ];
    for (name, bytes) in inputs {
        std::fs::write(dir.join(name), bytes).expect("write");
        let out = asicgen(&["check", name], &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains("error:"), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    let out = asicgen(&["check", "does-not-exist.asic"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cannot read `does-not-exist.asic`: no such file")
    );
}

#[test]
fn specs_checked_together_must_not_share_a_name_or_prefix() {
    let dir = scratch("clash");
    let specs = workspace().join("specs");
    std::fs::create_dir_all(dir.join("lifecycle")).expect("dir");
    let lifecycle = std::fs::read(specs.join("lifecycle/default.lifecycle")).expect("lifecycle");
    std::fs::write(dir.join("lifecycle/default.lifecycle"), lifecycle).expect("write");
    let goya = std::fs::read_to_string(specs.join("goya.asic")).expect("goya");
    std::fs::write(dir.join("a.asic"), &goya).expect("write");
    std::fs::write(dir.join("b.asic"), goya.replace("asic Goya", "asic Goya2")).expect("write");
    let out = asicgen(&["check", "a.asic", "b.asic"], &dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("b.asic and a.asic have the same uapi_prefix `GOYA`"),
        "{stderr}"
    );
    assert!(!stderr.contains("same ASIC name"), "{stderr}");
    assert!(
        stderr.contains("error[E0114]: b.asic and a.asic"),
        "{stderr}"
    );

    let json = asicgen(
        &["check", "--message-format", "json", "a.asic", "b.asic"],
        &dir,
    );
    let stdout = String::from_utf8_lossy(&json.stdout);
    assert_eq!(json.status.code(), Some(1));
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("{\"file\":\"b.asic\",") && stdout.contains("\"code\":\"E0114\""),
        "{stdout}"
    );
}

#[test]
fn new_writes_a_spec_that_checks_clean_and_never_overwrites() {
    let dir = scratch("new");
    std::fs::create_dir_all(dir.join("lifecycle")).expect("dir");
    let lifecycle =
        std::fs::read(workspace().join("specs/lifecycle/default.lifecycle")).expect("lifecycle");
    std::fs::write(dir.join("lifecycle/default.lifecycle"), lifecycle).expect("write");
    let _ = std::fs::remove_file(dir.join("gaudi3.asic"));
    let out = asicgen(&["new", "Gaudi3", "--dir", "."], &dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = asicgen(&["check", "gaudi3.asic"], &dir);
    assert_eq!(check.status.code(), Some(0));
    let again = asicgen(&["new", "Gaudi3", "--dir", "."], &dir);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("cannot create"));
    let bad = asicgen(&["new", "3rd-gen"], &dir);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn graph_prints_the_lifecycle_diagram() {
    let out = asicgen(&["graph", "specs/goya.asic"], &workspace());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout.starts_with("stateDiagram-v2\n    [*] --> Allocated\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("    InFlight --> Hung: timeout_detected\n"),
        "{stdout}"
    );
    assert!(stdout.contains("    Completed --> [*]: ok\n"), "{stdout}");
}
