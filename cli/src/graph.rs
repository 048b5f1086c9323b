//! `asicgen graph`: the CS lifecycle of a spec as a Mermaid state diagram.

use std::path::Path;
use std::process::ExitCode;

/// Prints the diagram of `spec`'s lifecycle (the one in the generated docs) to stdout.
pub fn run(spec: &Path) -> ExitCode {
    let display = spec.to_string_lossy();
    match asicgen_dsl::load(spec, &display).result {
        Ok(model) => {
            print!("{}", asicgen_codegen::state_diagram(&model.lifecycle));
            ExitCode::SUCCESS
        }
        Err(report) => {
            crate::check::print_report(&report);
            ExitCode::FAILURE
        }
    }
}
