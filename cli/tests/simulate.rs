//! `asicgen simulate`, the README's first command: a run ends with every CS accounted for in the
//! summary, on real threads and on the virtual clock, and bad options are refused with a message.

#![cfg(all(feature = "simulate", target_os = "linux"))]

mod support;

use support::{asicgen, workspace};

/// The summary's count for `label` (`completed`, `aborted`, ...).
fn count(stdout: &str, label: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| {
            let rest = l.trim_start().strip_prefix(label)?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{stdout}"))
}

#[test]
fn every_cs_is_accounted_for() {
    let cases: &[&[&str]] = &[
        &["--asic", "gaudi", "--cs", "5000"],
        &[
            "--asic",
            "goya",
            "--cs",
            "5000",
            "--threads",
            "3",
            "--lane-cpu",
            "0",
        ],
        &[
            "--asic", "example", "--cs", "5000", "--lanes", "2", "--jobs", "3",
        ],
        &[
            "--asic", "gaudi2", "--cs", "5000", "--jobs", "4", "--lanes", "2",
        ],
        &[
            "--asic",
            "gaudi2",
            "--cs",
            "5000",
            "--virtual",
            "--hang-rate",
            "0.002",
            "--latency",
            "5us",
            "--out-of-order",
        ],
        &[
            "--asic",
            "gaudi",
            "--cs",
            "5000",
            "--virtual",
            "--hang-rate",
            "0.002",
            "--fault-rate",
            "0.001",
            "--latency",
            "5us",
            "--jitter",
            "5us",
            "--out-of-order",
        ],
    ];
    for args in cases {
        let mut argv = vec!["simulate"];
        argv.extend_from_slice(args);
        let out = asicgen(&argv, &workspace());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{argv:?}\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let released: u64 = ["completed", "timed out", "aborted", "not submitted"]
            .iter()
            .map(|l| count(&stdout, l))
            .sum();
        assert!(released >= 5000, "{argv:?}: {released} released\n{stdout}");
        if !args.contains(&"--hang-rate") {
            assert_eq!(count(&stdout, "completed"), 5000, "{argv:?}\n{stdout}");
        }
    }
}

#[test]
fn bad_options_are_refused_with_a_message() {
    for (args, expect) in [
        (&["--asic", "gaudi", "--lanes", "0"][..], "lanes"),
        (
            &["--asic", "gaudi", "--latency", "5 parsecs"][..],
            "latency",
        ),
        (&["--asic", "gaudi9"][..], "gaudi9"),
    ] {
        let mut argv = vec!["simulate"];
        argv.extend_from_slice(args);
        let out = asicgen(&argv, &workspace());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{argv:?} must fail");
        assert!(stderr.contains(expect), "{argv:?}: {stderr}");
    }
}
