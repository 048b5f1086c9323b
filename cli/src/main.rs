//! `asicgen`: check specs, emit generated code, run the simulated device.
//!
//! `simulate` exists only with the `simulate` feature (on by default) on Linux, where the driver
//! runtime builds; every other command builds anywhere Rust does.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod check;
mod diff;
mod emit;
mod fmt;
mod graph;
mod new;
#[cfg(all(feature = "simulate", target_os = "linux"))]
mod simulate;
#[cfg(all(feature = "simulate", target_os = "linux"))]
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
        /// `human` (rustc-style on stderr, coloured on a terminal unless `NO_COLOR`) or `json`
        /// (one object per diagnostic and line on stdout: file, line, column, end_line,
        /// end_column, code, level, message, label, help, notes).
        #[arg(long, value_enum, default_value_t)]
        message_format: check::MessageFormat,
    },
    /// Print one generated output of a spec to stdout.
    ///
    /// `rust` is what `asic!` expands to (formatted), `c` the uapi header, `kernel` the driver's
    /// per-ASIC C tables (include it after habanalabs.h and the uapi header), `doc` the Markdown
    /// reference. Inside a cargo workspace the spec is named from its root (`specs/x.asic`), as
    /// `asic!` names it, so the output is exactly the copy in `generated/review/`. On spec
    /// errors, prints the diagnostics to stderr and exits 1.
    Emit {
        /// Which output.
        output: emit::Output,
        /// The spec file (`*.asic`).
        spec: PathBuf,
    },
    /// Rewrite spec and lifecycle files in the one canonical layout (or `--check` them).
    ///
    /// Four-space indentation, one item per line, aligned `=` and `->`, properties on the
    /// declaration's line while it fits in 100 columns. Comments and doc comments are kept; the
    /// result always parses to the same spec (checked before a file is written).
    Fmt(fmt::Args),
    /// Run command submissions on a simulated device and report what happened.
    ///
    /// Submitter threads keep a window of CSs in flight on one context; engines run their jobs
    /// with the given latency and may hang or fault; the TDR times hung CSs out and the device
    /// resets. The summary counts every CS by outcome, with throughput, latency percentiles
    /// (submit to completion timestamp), the drop counters and the resets. `--virtual` runs on a
    /// deterministic virtual clock instead (one thread, reproducible from `--seed`).
    #[cfg(all(feature = "simulate", target_os = "linux"))]
    Simulate(simulate::Args),
    /// Print the CS lifecycle of a spec as a Mermaid state diagram.
    ///
    /// The same diagram the generated Markdown reference shows; paste it into any Mermaid
    /// renderer, or a GitHub comment inside a ```mermaid block.
    Graph {
        /// The spec file (`*.asic`).
        spec: PathBuf,
    },
    /// Compare two versions of specs: what changed, and whether the uapi header breaks.
    ///
    /// Prints a semantic change list (engines and queues added, removed, renumbered, renamed;
    /// properties, limits, features, lifecycle) and uapi lints over the generated C header, each
    /// with an id and a level (`error` breaks user space, `warn`, `info` is additive). Exits 1
    /// on a breaking change that no `--allow` entry waives.
    Diff(diff::Args),
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
    /// Print a shell completion script for asicgen.
    ///
    /// For example `asicgen completions bash > ~/.local/share/bash-completion/completions/asicgen`,
    /// `asicgen completions zsh > ~/.zfunc/_asicgen` (with `~/.zfunc` in `fpath`), or
    /// `asicgen completions fish > ~/.config/fish/completions/asicgen.fish`.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            specs,
            message_format,
        } => check::run(&specs, message_format),
        Command::Emit { output, spec } => emit::run(output, &spec),
        Command::Fmt(args) => fmt::run(&args),
        #[cfg(all(feature = "simulate", target_os = "linux"))]
        Command::Simulate(args) => simulate::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Graph { spec } => graph::run(&spec),
        Command::New { name, prefix, dir } => new::run(&name, prefix.as_deref(), &dir),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "asicgen",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
    }
}

/// `asicgen ... | head` ends like any Unix tool when the reader goes away: the default SIGPIPE
/// action ends the process quietly, where Rust's runtime would make `println!` panic on EPIPE.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; restoring the
    // default disposition of one signal has no other effect on the process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
