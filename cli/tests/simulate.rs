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

/// Every number on the summary line that starts with `label`, in order.
fn numbers(stdout: &str, label: &str) -> Vec<u64> {
    let line = stdout
        .lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{stdout}"));
    line.split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// The `not submitted` line: every seq used up without a CS is explained, by an attempt refused
/// after it took a seq (and retried) or by a wait dropped at schedule time.
fn assert_not_submitted_explained(stdout: &str) {
    match numbers(stdout, "not submitted")[..] {
        [0] => {}
        [total, refused, late] => assert_eq!(total, refused + late, "{stdout}"),
        _ => panic!("a nonzero `not submitted` without its causes:\n{stdout}"),
    }
}

/// `asicgen simulate ARGS`, which must succeed; its standard output.
fn simulate_ok(args: &[&str]) -> String {
    let mut argv = vec!["simulate"];
    argv.extend_from_slice(args);
    let out = asicgen(&argv, &workspace());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{argv:?}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The CSs the summary counts as released, whatever their outcome.
fn released(stdout: &str) -> u64 {
    ["completed", "timed out", "aborted", "not submitted"]
        .iter()
        .map(|l| count(stdout, l))
        .sum()
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
        let stdout = simulate_ok(args);
        let released: u64 = released(&stdout);
        assert!(released >= 5000, "{args:?}: {released} released\n{stdout}");
        assert_not_submitted_explained(&stdout);
        if !args.contains(&"--hang-rate") {
            assert_eq!(count(&stdout, "completed"), 5000, "{args:?}\n{stdout}");
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
        // Fuse masks: more faulty units than the rule allows, a rule the generation lacks, a
        // unit past the rule's, more masks than any device takes, and no number at all.
        (
            &["--asic", "gaudi2", "--virtual", "--binning", "0x7"][..],
            "3 faulty `tpc` units; a working device has at most 2",
        ),
        (
            &["--asic", "goya", "--virtual", "--binning", "1"][..],
            "mask 0 has no binning rule",
        ),
        (
            &["--asic", "gaudi2", "--virtual", "--binning", "0,0x100"][..],
            "bit 8 of the `edma` mask names no unit",
        ),
        (
            &["--asic", "gaudi2", "--binning", "0,0,0,0,0,0,0,0,0"][..],
            "--binning: 9 masks",
        ),
        (
            &["--asic", "gaudi2", "--binning", "0x"][..],
            "not a 64-bit mask",
        ),
        // Out-of-range counts and rates are refused like `--lanes 0`, not clamped.
        (&["--asic", "gaudi", "--threads", "0"][..], "threads"),
        (&["--asic", "gaudi", "--hang-rate", "1.5"][..], "hang-rate"),
        (&["--asic", "gaudi", "--fault-rate=-0.1"][..], "fault-rate"),
        (&["--asic", "gaudi", "--window", "0"][..], "window"),
        (&["--asic", "gaudi", "--cs", "0"][..], "cs"),
        // A huge run is refused up front, not a panic on allocation.
        (
            &["--asic", "gaudi", "--cs", "18446744073709551615"][..],
            "cs",
        ),
        // More jobs per CS than the spec allows: refused before the first CS, not midway.
        (
            &["--asic", "goya", "--jobs", "100000", "--cs", "10"][..],
            "--jobs",
        ),
        // Hung jobs with the TDR off would never finish (a busy loop or an hour per CS).
        (
            &[
                "--asic",
                "gaudi",
                "--virtual",
                "--timeout",
                "0",
                "--hang-rate",
                "0.01",
            ][..],
            "--timeout 0",
        ),
        (
            &["--asic", "gaudi", "--timeout", "0", "--hang-rate", "0.01"][..],
            "--timeout 0",
        ),
        // In real time the spec's own TDR (600 s on Gaudi) would stall the run per hung CS.
        (&["--asic", "gaudi", "--hang-rate", "0.01"][..], "--timeout"),
    ] {
        let mut argv = vec!["simulate"];
        argv.extend_from_slice(args);
        let out = asicgen(&argv, &workspace());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{argv:?} must fail");
        assert!(stderr.contains(expect), "{argv:?}: {stderr}");
    }
}

/// `--no-reset-on-lockup` with hangs: the TDR fires, the device waits for a reset, and the tool
/// resets it (the user releasing the device); every CS ends, timed out or otherwise, in real
/// time and on the virtual clock, and nothing is reported as "hung with TDR off".
#[test]
fn no_reset_on_lockup_with_hangs_finishes() {
    for clock in [&[][..], &["--virtual"][..]] {
        let mut argv = vec![
            "simulate",
            "--asic",
            "goya",
            "--cs",
            "300",
            "--hang-rate",
            "0.02",
            "--timeout",
            "5ms",
            "--no-reset-on-lockup",
        ];
        argv.extend_from_slice(clock);
        let stdout = simulate_ok(&argv[1..]);
        assert!(count(&stdout, "timed out") > 0, "{argv:?}\n{stdout}");
        assert!(!stdout.contains("never finished"), "{argv:?}\n{stdout}");
        let released: u64 = released(&stdout);
        assert!(released >= 300, "{argv:?}\n{stdout}");
    }
}

/// A virtual run is a pure function of its options: two identical runs print the same summary
/// (no wall-clock figures).
#[test]
fn virtual_runs_are_reproducible() {
    let argv = [
        "simulate",
        "--asic",
        "gaudi",
        "--cs",
        "2000",
        "--virtual",
        "--latency",
        "3us",
        "--jitter",
        "2us",
        "--hang-rate",
        "0.001",
    ];
    let first = asicgen(&argv, &workspace());
    let second = asicgen(&argv, &workspace());
    assert_eq!(first.status.code(), Some(0));
    let (a, b) = (
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&second.stdout),
    );
    assert_eq!(a, b);
    assert!(a.contains("CS/s of virtual time"), "{a}");
}

/// `--binning`: a device with faulty units runs with the spares' queues binned, and never
/// submits to them (every CS completes).
#[test]
fn a_binned_device_runs_on_the_queues_it_has() {
    let stdout = simulate_ok(&[
        "--asic",
        "gaudi2",
        "--cs",
        "3000",
        "--virtual",
        "--jobs",
        "4",
        "--binning",
        "0x81,0x4",
    ]);
    // Two faulty TPCs bin DCORE0_TPC_6 and DCORE3_TPC_5 (4 streams each); one faulty EDMA bins
    // DCORE3_EDMA_1 (4 streams).
    assert_eq!(count(&stdout, "binned"), 12, "{stdout}");
    assert_eq!(count(&stdout, "completed"), 3000, "{stdout}");
}

/// The summary's `CS kinds` line: (signal, wait, collective wait, default, dropped).
fn kinds(stdout: &str) -> (u64, u64, u64, u64, u64) {
    let n = numbers(stdout, "CS kinds");
    (n[0], n[1], n[2], n[3], n[4])
}

#[test]
fn sync_workloads_count_their_cs_kinds() {
    let cases: &[(&[&str], u64)] = &[
        (
            &[
                "--asic",
                "gaudi",
                "--workload",
                "signal-wait",
                "--cs",
                "1",
                "--virtual",
            ],
            1,
        ),
        (
            &[
                "--asic",
                "gaudi2",
                "--workload",
                "signal-wait",
                "--cs",
                "3000",
                "--virtual",
            ],
            3000,
        ),
        (
            &[
                "--asic",
                "gaudi",
                "--workload",
                "collective",
                "--cs",
                "3000",
                "--virtual",
                "--hang-rate",
                "0.002",
                "--latency",
                "3us",
                "--jitter",
                "4us",
            ],
            3000,
        ),
        (
            &[
                "--asic",
                "gaudi",
                "--workload",
                "signal-wait",
                "--cs",
                "4000",
                "--threads",
                "2",
                "--lanes",
                "2",
                "--jobs",
                "3",
                "--fault-rate",
                "0.001",
            ],
            4000,
        ),
        (
            &[
                "--asic",
                "gaudi2",
                "--workload",
                "signal-wait",
                "--cs",
                "4000",
                "--threads",
                "3",
                "--binning",
                "0x5,0",
                "--timeout",
                "20ms",
                "--no-reset-on-lockup",
                "--hang-rate",
                "0.001",
            ],
            4000,
        ),
    ];
    for (args, total) in cases {
        let stdout = simulate_ok(args);
        let (signal, wait, collective, default, dropped) = kinds(&stdout);
        assert_eq!(
            signal + wait + collective + default + dropped,
            *total,
            "{stdout}"
        );
        assert!(signal >= 1, "{stdout}");
        if args.contains(&"collective") {
            assert_eq!(wait + default, 0, "{stdout}");
        } else {
            assert_eq!(collective, 0, "{stdout}");
        }
        // Every CS the device created is released, the dropped waits created none.
        let released: u64 = released(&stdout);
        assert!(released + dropped >= *total, "{args:?}\n{stdout}");
        assert_not_submitted_explained(&stdout);
    }
}

#[test]
fn sync_workloads_combine_with_trace_and_the_smallest_runs() {
    let trace =
        std::env::temp_dir().join(format!("asicgen-sync-trace-{}.json", std::process::id()));
    let trace_arg = trace.to_string_lossy().into_owned();
    for args in [
        &["--asic", "gaudi", "--workload", "collective", "--cs", "1"][..],
        &[
            "--asic",
            "gaudi2",
            "--workload",
            "signal-wait",
            "--cs",
            "2",
            "--threads",
            "2",
        ][..],
        &[
            "--asic",
            "gaudi",
            "--workload",
            "signal-wait",
            "--cs",
            "300",
            "--virtual",
            "--jobs",
            "4",
            "--window",
            "1",
            "--trace",
            &trace_arg,
        ][..],
    ] {
        let stdout = simulate_ok(args);
        let (signal, wait, collective, default, dropped) = kinds(&stdout);
        let total: u64 = args[args.iter().position(|a| *a == "--cs").expect("--cs") + 1]
            .parse()
            .expect("a count");
        assert_eq!(
            signal + wait + collective + default + dropped,
            total,
            "{stdout}"
        );
    }
    let json = std::fs::read_to_string(&trace).expect("the trace was written");
    assert!(json.contains("traceEvents"), "{json}");
    let _ = std::fs::remove_file(&trace);
}

#[test]
fn sync_workloads_need_the_feature() {
    for (args, expect) in [
        (&["goya", "signal-wait"], "Goya has no sync stream"),
        (&["goya", "collective"], "Goya has no sync stream"),
        (&["example", "signal-wait"], "has no sync stream"),
        (
            &["gaudi2", "collective"],
            "Gaudi2 has no collective support",
        ),
    ] {
        let out = asicgen(
            &[
                "simulate",
                "--asic",
                args[0],
                "--workload",
                args[1],
                "--virtual",
                "--cs",
                "10",
            ],
            &workspace(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
    }
}
