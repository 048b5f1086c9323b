//! `asicgen`: check specs, emit generated code, run the simulated device.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;

/// Describe an accelerator generation in a spec; get its driver state code.
#[derive(Parser)]
#[command(name = "asicgen", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check specs and print every problem found, rustc-style.
    ///
    /// Exits 0 when every spec is clean and 1 when any has errors. Lifecycle files are read
    /// relative to the spec that names them.
    Check {
        /// Spec files (`*.asic`). With none, checks every `*.asic` in `specs/`.
        specs: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { specs } => check::run(&specs),
    }
}
