//! Synthetic specs of any size, for benchmarks and build-time measurements.

use std::fmt::Write as _;

use crate::{FileRef, Loaded, check_with};

/// The shipped default lifecycle (`specs/lifecycle/default.lifecycle`), which synthetic and
/// scaffolded specs name.
pub const DEFAULT_LIFECYCLE: &str = include_str!("../../specs/lifecycle/default.lifecycle");

/// The shipped per-CS lifecycle (Gaudi2's), which extends the default one.
pub const PER_CS_LIFECYCLE: &str = include_str!("../../specs/lifecycle/per_cs.lifecycle");

/// Checks the spec text `spec` from memory as `spec.asic`, serving [`DEFAULT_LIFECYCLE`] for
/// `lifecycle/default.lifecycle`, [`PER_CS_LIFECYCLE`] for `lifecycle/per_cs.lifecycle` and
/// "not found" for any other file. For benchmarks and tests
/// that should not touch the file system.
pub fn check(spec: &str) -> Loaded {
    check_with(
        FileRef::new("spec.asic"),
        &mut |f: &FileRef| match f.display.as_str() {
            "spec.asic" => Ok(spec.as_bytes().to_vec()),
            "lifecycle/default.lifecycle" => Ok(DEFAULT_LIFECYCLE.as_bytes().to_vec()),
            "lifecycle/per_cs.lifecycle" => Ok(PER_CS_LIFECYCLE.as_bytes().to_vec()),
            _ => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
        },
    )
}

/// A valid spec with `engines` engines and `queues` queues (4 streams per family, so `queues`
/// is rounded up to a multiple of 4). Every 10th family is external with its own completion
/// queues; the rest are internal. It names `lifecycle/default.lifecycle`.
pub fn spec(engines: usize, queues: usize) -> String {
    let engines = engines.max(1);
    let families = queues.div_ceil(4).max(1);
    let mut s = String::new();
    s.push_str(
        "/// A synthetic generation for benchmarks.\n\
         asic Synthetic {\n    uapi_prefix = \"SYNTH\"\n    pci_vendor = 0x1da3\n    \
         pci_devices = [0xf000]\n    lifecycle = \"lifecycle/default.lifecycle\"\n}\n\n\
         limits {\n    max_pending_cs = 1024\n    max_jobs_per_cs = 512\n    queue_length = 4096\n    \
         cs_timeout = 30s\n    completion = per_job\n}\n\n\
         features { sync_stream = true, multi_cs_wait = true }\n\nengines {\n",
    );
    // Ten engines a line, as real specs group them.
    for first in (0..engines).step_by(10) {
        let last = (first + 9).min(engines - 1);
        let _ = writeln!(
            s,
            "    /// Engines {first} to {last}\n    tpc E_{first}..E_{last}"
        );
    }
    s.push_str("}\n\nqueues {\n");
    let mut cq = 0;
    for family in 0..families {
        let engine = family % engines;
        if family % 10 == 0 {
            let _ = writeln!(
                s,
                "    /// External family {family}\n    external Q_{family} streams 4 {{ engine = E_{engine}, cq = {cq}, cb_alloc = kernel, sync_stream }}"
            );
            cq += 4;
        } else {
            let _ = writeln!(
                s,
                "    internal Q_{family} streams 4 {{ engine = E_{engine}, cb_alloc = user, pq_len = 1024, collective = slave }}"
            );
        }
    }
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn synthetic_specs_check_clean() {
        let model = super::check(&super::spec(300, 1000))
            .result
            .expect("synthetic spec checks");
        assert_eq!(model.engines.len(), 300);
        assert_eq!(model.queues.len(), 1000);
    }

    #[test]
    fn check_serves_only_the_default_lifecycle() {
        let other = super::spec(1, 4).replace("lifecycle/default.lifecycle", "other.lifecycle");
        let report = super::check(&other).result.expect_err("no such lifecycle");
        assert!(report.to_string().contains("cannot read `other.lifecycle`"));
    }
}
