//! `asicgen simulate --trace`: the timeline parses as Chrome-trace JSON and keeps its
//! invariants, on the virtual clock and in real time, with hangs, faults and resets.

mod support;

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;
use support::{asicgen, workspace};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("asicgen-trace-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `N` from a summary line holding `label N`.
fn figure(stdout: &str, label: &str) -> u64 {
    let at = stdout
        .find(label)
        .unwrap_or_else(|| panic!("no `{label}` in:\n{stdout}"));
    stdout[at + label.len()..]
        .trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after `{label}` in:\n{stdout}"))
}

/// A timestamp in whole ns (the file has µs with three decimals).
fn ns(v: &Value) -> i64 {
    (v.as_f64().expect("a number") * 1000.0).round() as i64
}

/// Runs a traced simulation and checks every invariant of the timeline.
fn check(name: &str, extra: &[&str]) {
    let dir = scratch(name);
    let file = dir.join("trace.json");
    let file_arg = file.to_string_lossy().into_owned();
    let mut args = vec!["simulate", "--cs", "2000", "--trace", &file_arg];
    args.extend_from_slice(extra);
    let out = asicgen(&args, &workspace());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).expect("trace written"))
        .expect("the trace is JSON");
    let events = doc["traceEvents"].as_array().expect("traceEvents");
    assert!(
        stdout.contains(&format!("trace          {} events", events.len())),
        "{stdout}"
    );

    // One span per CS, each closed once, never before it opened.
    let mut spans: HashMap<String, (Option<i64>, Option<i64>)> = HashMap::new();
    for e in events.iter().filter(|e| e["cat"] == "cs") {
        let id = e["id"].as_str().expect("span id").to_string();
        let slot = spans.entry(id).or_default();
        match e["ph"].as_str() {
            Some("b") => assert!(slot.0.replace(ns(&e["ts"])).is_none(), "span opened twice"),
            Some("e") => assert!(slot.1.replace(ns(&e["ts"])).is_none(), "span closed twice"),
            other => panic!("unexpected CS event {other:?}"),
        }
    }
    assert_eq!(spans.len(), 2000, "one span per CS");
    for (id, (open, close)) in &spans {
        let (open, close) = (
            open.expect("opened"),
            close.unwrap_or_else(|| panic!("{id} open")),
        );
        assert!(close >= open, "{id} closes before it opens");
    }

    // Jobs: on named tracks, and no two overlapping on one track.
    let named: Vec<i64> = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .filter_map(|e| e["tid"].as_i64())
        .collect();
    let mut tracks: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
    for e in events.iter().filter(|e| e["ph"] == "X") {
        let tid = e["tid"].as_i64().expect("tid");
        assert!(named.contains(&tid), "job on unnamed track {tid}");
        let begin = ns(&e["ts"]);
        tracks
            .entry(tid)
            .or_default()
            .push((begin, begin + ns(&e["dur"])));
    }
    assert!(!tracks.is_empty(), "no job recorded");
    for (tid, jobs) in &mut tracks {
        jobs.sort_unstable();
        for pair in jobs.windows(2) {
            assert!(
                pair[1].0 >= pair[0].1,
                "track {tid}: {:?} overlaps {:?}",
                pair[0],
                pair[1]
            );
        }
    }

    // The in-flight counter never goes below zero and ends at zero.
    let counts: Vec<i64> = events
        .iter()
        .filter(|e| e["ph"] == "C")
        .map(|e| e["args"]["cs_in_flight"].as_i64().expect("count"))
        .collect();
    assert!(counts.iter().all(|&c| c >= 0), "negative in-flight count");
    assert_eq!(counts.last(), Some(&0));

    // An instant for every TDR expiry and reset the summary counts.
    let instants = |name: &str| {
        events
            .iter()
            .filter(|e| e["ph"] == "i" && e["name"] == name)
            .count() as u64
    };
    assert_eq!(
        instants("drm_sched_job_timedout"),
        figure(&stdout, "TDR fired")
    );
    assert_eq!(instants("hl_device_reset"), figure(&stdout, ", resets"));
}

#[test]
fn virtual_run_with_hangs_faults_and_resets() {
    check(
        "virtual",
        &[
            "--asic",
            "gaudi",
            "--virtual",
            "--latency",
            "10us",
            "--jitter",
            "5us",
            "--jobs",
            "3",
            "--hang-rate",
            "0.01",
            "--fault-rate",
            "0.005",
        ],
    );
}

#[test]
fn out_of_order_engines_get_as_many_lanes_as_they_need() {
    check(
        "ooo",
        &[
            "--asic",
            "goya",
            "--virtual",
            "--latency",
            "10us",
            "--jitter",
            "8us",
            "--out-of-order",
        ],
    );
}

#[test]
fn real_time_with_two_submitters() {
    check(
        "real",
        &[
            "--asic",
            "gaudi",
            "--threads",
            "2",
            "--latency",
            "5us",
            "--jobs",
            "2",
            "--hang-rate",
            "0.002",
            "--timeout",
            "2ms",
        ],
    );
}

#[test]
fn an_unwritable_trace_file_is_refused_before_the_run() {
    let out = asicgen(
        &[
            "simulate",
            "--asic",
            "goya",
            "--cs",
            "10",
            "--virtual",
            "--trace",
            "/nonexistent/dir/t.json",
        ],
        &workspace(),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot create trace file `/nonexistent/dir/t.json`"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing ran: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
