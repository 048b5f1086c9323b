//! `asicgen`: check specs, emit generated code, run the simulated device.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check;
mod emit;
mod graph;
mod new;
mod simulate;
mod trace;

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
    /// Print one generated output of a spec to stdout.
    ///
    /// `rust` is what `asic!` expands to (formatted), `c` the uapi header, `doc` the Markdown
    /// reference. Inside a cargo workspace the spec is named from its root (`specs/x.asic`), as
    /// `asic!` names it, so the output is exactly the copy in `generated/review/`. On spec
    /// errors, prints the diagnostics to stderr and exits 1.
    Emit {
        /// Which output.
        output: emit::Output,
        /// The spec file (`*.asic`).
        spec: PathBuf,
    },
    /// Run command submissions on a simulated device and report what happened.
    ///
    /// Submitter threads keep a window of CSs in flight on one context; engines run their jobs
    /// with the given latency and may hang or fault; the TDR times hung CSs out and the device
    /// resets. The summary counts every CS by outcome, with throughput, latency percentiles
    /// (submit to completion timestamp), the drop counters and the resets. `--virtual` runs on a
    /// deterministic virtual clock instead (one thread, reproducible from `--seed`).
    Simulate(simulate::Args),
    /// Print the CS lifecycle of a spec as a Mermaid state diagram.
    ///
    /// The same diagram the generated Markdown reference shows; paste it into any Mermaid
    /// renderer, or a GitHub comment inside a ```mermaid block.
    Graph {
        /// The spec file (`*.asic`).
        spec: PathBuf,
    },
    /// Start a spec for a new generation.
    ///
    /// Writes `<dir>/<name in lower case>.asic` from a template that checks clean (it never
    /// overwrites a file), and prints the steps that turn it into generated driver code.
    New {
        /// The generation's name, e.g. `Gaudi3`.
        name: String,
        /// The uapi prefix for C names (default: the name in upper case).
        #[arg(long)]
        prefix: Option<String>,
        /// Where to write the spec.
        #[arg(long, default_value = "specs")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { specs } => check::run(&specs),
        Command::Emit { output, spec } => emit::run(output, &spec),
        Command::Simulate(args) => simulate::run(&args),
        Command::Graph { spec } => graph::run(&spec),
        Command::New { name, prefix, dir } => new::run(&name, prefix.as_deref(), &dir),
    }
}
