//! `asicgen emit`: one generated output of one spec, on stdout.
//!
//! The same text as the review copies under `generated/review/`, so a user can look at, pipe or
//! diff an output without building the generated crate.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::ValueEnum;

/// Which output to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// The Rust items `asic!` expands to, formatted by prettyplease.
    Rust,
    /// The C uapi header.
    C,
    /// The driver's per-ASIC C tables (queue types, queue → engine, queue properties, stream
    /// masters, CQ and DMA assignment, reserved sync objects), to include in the driver.
    Kernel,
    /// The Markdown reference page, with the lifecycle as a Mermaid diagram.
    Doc,
}

/// Prints `output` of `spec` to stdout; on spec errors prints the diagnostics to stderr and
/// fails.
pub fn run(output: Output, spec: &Path) -> ExitCode {
    let literal = spec.to_string_lossy();
    // why: name the spec the way `asic!` does, so the output is the expansion's, byte for byte,
    // from whichever directory of the workspace this runs.
    let display = match std::env::current_dir() {
        Ok(cwd) => asicgen_codegen::spec_display_path_from(&cwd, &literal),
        Err(_) => literal.into_owned(),
    };
    let model = match asicgen_dsl::load(spec, &display).result {
        Ok(model) => model,
        Err(report) => {
            crate::check::print_report(&report);
            return ExitCode::FAILURE;
        }
    };
    let text = match output {
        Output::Rust => asicgen_codegen::rust_module_pretty(&model),
        Output::C => asicgen_codegen::c_header(&model),
        Output::Kernel => asicgen_codegen::kernel_header(&model),
        Output::Doc => asicgen_codegen::markdown(&model),
    };
    match io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        // why: `asicgen emit rust x | head` closes the pipe early; that is not an error to report.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            ExitCode::from(2)
        }
    }
}
