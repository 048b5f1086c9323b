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
    for spec in &specs {
        let display = spec.to_string_lossy();
        match asicgen_dsl::load(spec, &display).result {
            Ok(model) => println!(
                "ok: {display}: {} with {} engines, {} queues, lifecycle `{}` ({} states)",
                model.name,
                model.engines.len(),
                model.queues.len(),
                model.lifecycle.name,
                model.lifecycle.states.len()
            ),
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
