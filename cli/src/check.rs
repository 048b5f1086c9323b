//! `asicgen check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Checks each spec; prints diagnostics to stderr and one summary line per spec to stdout.
pub fn run(specs: &[PathBuf]) -> ExitCode {
    let specs = if specs.is_empty() {
        match default_specs() {
            Ok(found) if !found.is_empty() => found,
            Ok(_) => {
                eprintln!("error: no specs given and no `*.asic` file in `specs/`");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("error: no specs given and cannot list `specs/`: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        specs.to_vec()
    };
    let mut failed = 0;
    let mut checked: Vec<(String, asicgen_dsl::Model)> = Vec::new();
    for spec in &specs {
        let display = spec.to_string_lossy();
        match asicgen_dsl::load(spec, &display).result {
            Ok(model) => {
                println!(
                    "ok: {display}: {} with {} engines, {} queues, lifecycle `{}` ({} states)",
                    model.name,
                    model.engines.len(),
                    model.queues.len(),
                    model.lifecycle.name,
                    model.lifecycle.states.len()
                );
                checked.push((display.into_owned(), model));
            }
            Err(report) => {
                failed += 1;
                eprint!("{report}");
                println!(
                    "failed: {display}: {} error{}",
                    report.diagnostics().len(),
                    if report.diagnostics().len() == 1 {
                        ""
                    } else {
                        "s"
                    }
                );
            }
        }
    }
    failed += clashes(&checked);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Every `specs/*.asic`, sorted, so `asicgen check` alone checks the shipped specs.
pub fn default_specs() -> std::io::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(Path::new("specs"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "asic"))
        .collect();
    found.sort();
    Ok(found)
}

/// Specs checked together must not share an ASIC name or a uapi prefix (compared ignoring case):
/// their generated modules, C include guards and enum tags would collide. Returns how many
/// clashes it reported.
fn clashes(checked: &[(String, asicgen_dsl::Model)]) -> usize {
    let mut found = 0;
    for (i, (path, model)) in checked.iter().enumerate() {
        for (other_path, other) in &checked[..i] {
            for (what, mine, theirs) in [
                ("ASIC name", &model.name, &other.name),
                ("uapi_prefix", &model.uapi_prefix, &other.uapi_prefix),
            ] {
                if mine.eq_ignore_ascii_case(theirs) {
                    found += 1;
                    eprintln!(
                        "error: {path} and {other_path} have the same {what} `{mine}`\n  \
                         = help: every generation needs its own; their generated names would collide\n"
                    );
                }
            }
        }
    }
    found
}
