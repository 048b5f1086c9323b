//! `asicgen diff` as a reviewer runs it: one case per kind of spec edit, made to the shipped
//! Gaudi spec, with the exit code the uapi rules demand and the text report pinned by a snapshot.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{asicgen, workspace};

/// A scratch directory holding a copy of `specs/lifecycle` so copied specs find their lifecycle.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("asicgen-diff-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("lifecycle")).expect("temp dir");
    for entry in std::fs::read_dir(workspace().join("specs/lifecycle")).expect("lifecycles") {
        let path = entry.expect("entry").path();
        std::fs::copy(
            &path,
            dir.join("lifecycle").join(path.file_name().expect("name")),
        )
        .expect("copy lifecycle");
    }
    dir
}

fn gaudi() -> String {
    std::fs::read_to_string(workspace().join("specs/gaudi.asic")).expect("gaudi spec")
}

/// `text` with each `(from, to)` replaced once; a `from` that is missing fails the test, so a
/// case cannot silently stop testing anything when the shipped spec changes.
fn edit(text: &str, edits: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (from, to) in edits {
        assert!(out.contains(from), "edit target `{from}` not in the spec");
        out = out.replacen(from, to, 1);
    }
    out
}

struct Case {
    name: &'static str,
    edits: &'static [(&'static str, &'static str)],
    allow: Option<&'static str>,
    exit: i32,
}

const DMA5: &str = "    internal DMA_5 streams 4";
const NIC: &str = "    internal NIC_0..NIC_9 streams 4 {";

const CASES: &[Case] = &[
    Case {
        name: "unchanged",
        edits: &[],
        allow: None,
        exit: 0,
    },
    Case {
        // The newcomer's mistake from the issue: one queue inserted mid-table.
        name: "queue_inserted_mid_table",
        edits: &[(
            DMA5,
            "    internal DMA_9 { engine = DMA_5, cb_alloc = user }\n    internal DMA_5 streams 4",
        )],
        allow: None,
        exit: 1,
    },
    Case {
        name: "queue_appended",
        edits: &[(
            "        engine = NIC_0..NIC_9, cb_alloc = user, pq_len = 4096, collective = slave\n    }\n",
            "        engine = NIC_0..NIC_9, cb_alloc = user, pq_len = 4096, collective = slave\n    }\n    internal EXTRA { engine = NIC_9, cb_alloc = user }\n",
        )],
        allow: None,
        exit: 0,
    },
    Case {
        name: "queue_family_renamed",
        edits: &[(DMA5, "    internal DMA_X streams 4")],
        allow: None,
        exit: 1,
    },
    Case {
        name: "last_queues_removed",
        edits: &[
            (NIC, "    internal NIC_0..NIC_8 streams 4 {"),
            (
                "engine = NIC_0..NIC_9, cb_alloc = user, pq_len = 4096",
                "engine = NIC_0..NIC_8, cb_alloc = user, pq_len = 4096",
            ),
        ],
        allow: None,
        exit: 1,
    },
    Case {
        name: "uapi_prefix_changed",
        edits: &[("uapi_prefix = \"GAUDI\"", "uapi_prefix = \"GAUDI1\"")],
        allow: None,
        exit: 1,
    },
    Case {
        name: "properties_limits_features_lifecycle",
        edits: &[
            (
                "pq_len = 1024 }\n    internal MME_1",
                "pq_len = 512 }\n    internal MME_1",
            ),
            ("cs_timeout      = 600s", "cs_timeout      = 60s"),
            ("multi_cs_wait     = true", "multi_cs_wait     = false"),
            ("lifecycle/default.lifecycle", "lifecycle/per_cs.lifecycle"),
        ],
        allow: None,
        exit: 0,
    },
    Case {
        // One queue changing several properties at once: listed in the reference table's
        // column order (type, engine, cb_alloc, flags, collective, pq_len, cq).
        name: "several_properties_of_one_queue",
        edits: &[(
            "internal MME_0 streams 4 { engine = MME_0, cb_alloc = user, pq_len = 1024 }",
            "internal MME_0 streams 4 { engine = MME_1, cb_alloc = kernel, pq_len = 512, binned }",
        )],
        allow: None,
        exit: 0,
    },
    Case {
        name: "renumbering_allowed_with_a_reason",
        edits: &[(
            DMA5,
            "    internal DMA_9 { engine = DMA_5, cb_alloc = user }\n    internal DMA_5 streams 4",
        )],
        allow: Some(
            "[[allow]]\nlint = \"enumerator_renumbered\"\nitem = \"GAUDI_QUEUE_ID_*\"\n\
             reason = \"no Gaudi user space was released with these ids\"\n\
             [[allow]]\nlint = \"define_changed\"\nitem = \"NOTHING\"\nreason = \"stale\"\n",
        ),
        exit: 0,
    },
];

fn run_case(case: &Case) -> (i32, String, String) {
    let dir = scratch(case.name);
    let old = gaudi();
    std::fs::write(dir.join("old.asic"), &old).expect("write old");
    std::fs::write(dir.join("new.asic"), edit(&old, case.edits)).expect("write new");
    let mut args = vec!["diff", "old.asic", "new.asic"];
    if let Some(allow) = case.allow {
        std::fs::write(dir.join("allow.toml"), allow).expect("write allow");
        args.extend(["--allow", "allow.toml"]);
    }
    let out = asicgen(&args, &dir);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn each_kind_of_edit_gets_its_exit_code_and_report() {
    for case in CASES {
        let (code, stdout, stderr) = run_case(case);
        assert_eq!(code, case.exit, "{}:\n{stdout}{stderr}", case.name);
        insta::assert_snapshot!(case.name, stdout);
    }
}

#[test]
fn markdown_and_json_say_the_same_verdict() {
    let case = &CASES[1];
    let dir = scratch("formats");
    let old = gaudi();
    std::fs::write(dir.join("old.asic"), &old).expect("write old");
    std::fs::write(dir.join("new.asic"), edit(&old, case.edits)).expect("write new");
    let md = asicgen(
        &["diff", "old.asic", "new.asic", "--format", "markdown"],
        &dir,
    );
    assert_eq!(md.status.code(), Some(1));
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.starts_with("### asicgen diff: ⚠️ breaking uapi change"),
        "{md}"
    );
    assert!(md.contains("| `error[enumerator_renumbered]` |"), "{md}");
    let json = asicgen(&["diff", "old.asic", "new.asic", "--format", "json"], &dir);
    assert_eq!(json.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("valid JSON");
    assert_eq!(doc["breaking"], true);
    // JSON keeps every item: 92 renumbered queues (DMA_5_0 .. NIC_9_3), none folded.
    assert_eq!(doc["summary"]["errors"], 92);
    let findings = doc["diffs"][0]["findings"].as_array().expect("findings");
    assert!(findings.iter().any(|f| f["lint"] == "enumerator_added"
        && f["item"] == "GAUDI_QUEUE_ID_DMA_9"
        && f["level"] == "info"));
}

#[test]
fn input_errors_exit_2_and_say_why() {
    let dir = scratch("errors");
    std::fs::write(dir.join("old.asic"), gaudi()).expect("write");
    std::fs::write(dir.join("broken.asic"), "asic X {\n").expect("write");
    std::fs::write(
        dir.join("noreason.toml"),
        "[[allow]]\nlint = \"define_changed\"\nitem = \"X\"\n",
    )
    .expect("write");
    for (args, expect) in [
        (&["diff", "old.asic"][..], "give two spec files"),
        (
            &["diff", "old.asic", "old.asic", "old.asic"][..],
            "give two spec files",
        ),
        (
            &["diff", "old.asic", "missing.asic"][..],
            "`missing.asic` is not a file",
        ),
        (
            &["diff", "old.asic", "broken.asic"][..],
            "`broken.asic` does not check",
        ),
        (
            &["diff", "old.asic", "old.asic", "--allow", "noreason.toml"][..],
            "has no reason",
        ),
        (
            &["diff", "old.asic", "old.asic", "--allow", "nope.toml"][..],
            "cannot read allow-list",
        ),
        (
            &["diff", "old.asic", "old.asic", "--format", "xml"][..],
            "invalid value 'xml'",
        ),
    ] {
        let out = asicgen(args, &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn base_compares_the_working_tree_with_a_revision() {
    // A repository shaped like a user's: specs/ with its lifecycles, one commit.
    let repo = scratch("git");
    let specs = repo.join("specs");
    std::fs::create_dir_all(&specs).expect("specs dir");
    std::fs::rename(repo.join("lifecycle"), specs.join("lifecycle")).expect("move lifecycles");
    std::fs::write(specs.join("gaudi.asic"), gaudi()).expect("write");
    let goya = std::fs::read_to_string(workspace().join("specs/goya.asic")).expect("goya");
    std::fs::write(specs.join("goya.asic"), goya).expect("write");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "specs"]);

    // Unchanged: exit 0.
    let out = asicgen(&["diff", "--base", "HEAD"], &repo);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Edit Gaudi, delete Goya, add a copy of Gaudi under a new prefix.
    let new = edit(
        &gaudi(),
        &[(
            DMA5,
            "    internal DMA_9 { engine = DMA_5, cb_alloc = user }\n    internal DMA_5 streams 4",
        )],
    );
    std::fs::write(specs.join("gaudi.asic"), new).expect("write");
    std::fs::remove_file(specs.join("goya.asic")).expect("rm");
    let added = edit(
        &gaudi(),
        &[("uapi_prefix = \"GAUDI\"", "uapi_prefix = \"GAUDIX\"")],
    );
    std::fs::write(specs.join("gaudix.asic"), added).expect("write");
    let out = asicgen(&["diff", "--base", "HEAD"], &repo);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("HEAD:specs/gaudi.asic → specs/gaudi.asic"),
        "{stdout}"
    );
    assert!(stdout.contains("error[header_removed] GOYA"), "{stdout}");
    assert!(stdout.contains("info[header_added] GAUDIX"), "{stdout}");

    // Named specs only, from a subdirectory: paths are relative to where the user stands.
    let out = asicgen(&["diff", "--base", "HEAD", "gaudix.asic"], &specs);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = asicgen(&["diff", "--base", "no-such-rev"], &repo);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`no-such-rev` is not a git revision"));
}

/// Gaudi's spec with its `reserve collective { ... }` range replaced by `with`.
fn gaudi_with_collective(with: &str) -> String {
    let text = gaudi();
    let start = text
        .find("reserve collective")
        .expect("gaudi.asic reserves a collective range");
    let end = start + text[start..].find('}').expect("closing brace") + 1;
    format!("{}{with}{}", &text[..start], &text[end..])
}

#[test]
fn the_uapi_history_of_the_first_available_sync_object_is_caught() {
    // The kernel renumbered GAUDI_FIRST_AVAILABLE_W_S_SYNC_OBJECT / _MONITOR twice: 48/24, then
    // 32/16, then 144/72 (today's layout, gaudi.asic as shipped). Each step breaks user space.
    let dir = scratch("history");
    let steps = [
        (
            "v48.asic",
            gaudi_with_collective("reserve collective { sobs = 32, monitors = 16 }"),
        ),
        (
            "v32.asic",
            gaudi_with_collective("reserve collective { sobs = 16, monitors = 8 }"),
        ),
        ("v144.asic", gaudi()),
    ];
    for (name, text) in &steps {
        std::fs::write(dir.join(name), text).expect("write");
    }
    for (old, new, sob, mon) in [
        ("v48.asic", "v32.asic", "48 → 32", "24 → 16"),
        ("v32.asic", "v144.asic", "32 → 144", "16 → 72"),
    ] {
        let out = asicgen(&["diff", old, new], &dir);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!(
                "error[define_changed] GAUDI_FIRST_AVAILABLE_W_S_SYNC_OBJECT: changed: {sob}"
            )),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!(
                "error[define_changed] GAUDI_FIRST_AVAILABLE_W_S_MONITOR: changed: {mon}"
            )),
            "{stdout}"
        );
        insta::assert_snapshot!(format!("history_{old}_{new}"), stdout);
    }
}
