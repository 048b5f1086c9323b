//! `asicgen new`: start a spec for a new generation from a template that checks clean.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// Writes `<dir>/<name in lower case>.asic` (never over an existing file), checks it, and says
/// what to do next.
pub fn run(name: &str, prefix: Option<&str>, dir: &Path) -> ExitCode {
    let valid_name = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_name {
        eprintln!(
            "error: `{name}` cannot name a generation: use letters, digits and `_`, starting with a letter"
        );
        return ExitCode::from(2);
    }
    let prefix = prefix.map_or_else(|| name.to_ascii_uppercase(), str::to_string);
    let module = name.to_ascii_lowercase();
    let path = dir.join(format!("{module}.asic"));
    let text = template(name, &prefix);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        eprintln!("error: cannot create `{}`: {e}", path.display());
        return ExitCode::FAILURE;
    }
    let display = path.to_string_lossy();
    println!("created {display}");
    match asicgen_dsl::load(&path, &display).result {
        Ok(_) => {}
        Err(report) => {
            // The template is valid; what fails is its surroundings (most likely no
            // `lifecycle/default.lifecycle` next to it).
            crate::check::print_report(&report);
            eprintln!("note: {display} was written; fix the problems above before building");
        }
    }
    println!(
        "next:\n  1. fill in the PCI ids, limits, engines and queues of {name} in {display}\n  \
         2. `asicgen check {display}` until it is clean\n  \
         3. add to the `generations!` list in generated/src/lib.rs:\n       \
         /// {name}, from `specs/{module}.asic`.\n       \
         pub mod {module} {{ asicgen_macros::asic!(\"../specs/{module}.asic\"); }} => {name};\n  \
         4. `INSTA_UPDATE=always cargo test -p asicgen-generated` and commit the spec and \
         generated/review/{module}.*"
    );
    ExitCode::SUCCESS
}

fn template(name: &str, prefix: &str) -> String {
    format!(
        r#"/// {name}: describe the generation here; doc comments flow into the generated docs.
asic {name} {{
    uapi_prefix = "{prefix}"
    pci_vendor  = 0x1da3
    /// The PCI device ids this generation answers to.
    pci_devices = [0x0000]
    lifecycle   = "lifecycle/default.lifecycle"
}}

limits {{
    /// A power of two greater than 1: the context's pending-CS ring.
    max_pending_cs  = 64
    /// At most `queue_length`.
    max_jobs_per_cs = 512
    queue_length    = 4096
    cs_timeout      = 30s
    completion      = per_job
}}

features {{
    sync_stream   = false
    multi_cs_wait = false
}}

engines {{
    dma DMA_0..DMA_1
    tpc TPC_0..TPC_3
}}

queues {{
    /// Host DMA queues; queue i completes through completion queue i.
    external DMA_0..DMA_1 {{ engine = DMA_0..DMA_1, cq = 0, cb_alloc = kernel }}
    cpu      CPU_PQ       {{ cb_alloc = kernel, driver_only }}
    internal TPC_0..TPC_3 streams 4 {{ engine = TPC_0..TPC_3, cb_alloc = user, pq_len = 1024 }}
}}
"#
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_template_checks_clean() {
        let text = super::template("Gaudi3", "GAUDI3");
        let model = match asicgen_dsl::synthetic::check(&text).result {
            Ok(model) => model,
            Err(report) => panic!("{report}"),
        };
        assert_eq!(model.name, "Gaudi3");
        assert_eq!(model.queues.len(), 2 + 1 + 16);
    }
}
