//! `asicgen diff`: what a spec change means, for the people reviewing it.
//!
//! Two views of one change:
//! - [`changes`]: the semantic change list, in the spec's own terms (engines and queues added,
//!   removed, renumbered, renamed; properties, limits, features; lifecycle states and
//!   transitions), computed from the two checked Models;
//! - [`lints`]: uapi lints over the C header each side generates (the thing user space compiles
//!   against), each with a stable id and a level; an error is a breaking change unless the
//!   [`allow`] list waives it with a reason.
//!
//! [`report`] renders both as text, Markdown (for a pull-request comment) or JSON.
#![warn(missing_docs)]

pub mod allow;
pub mod changes;
pub mod lints;
pub mod report;
pub mod uapi;

use asicgen_dsl::Model;

pub use allow::AllowList;
pub use changes::Change;
pub use lints::{Finding, Level, Lint};

/// The diff of one generation: its change list and uapi findings.
#[derive(Clone, Debug)]
pub struct SpecDiff {
    /// How the old side is named in reports (e.g. `specs/gaudi.asic@HEAD`), `None` if new.
    pub old: Option<String>,
    /// How the new side is named in reports, `None` if the spec was deleted.
    pub new: Option<String>,
    /// The semantic changes, by section.
    pub changes: Vec<Change>,
    /// The uapi findings, allow-list applied.
    pub findings: Vec<Finding>,
}

impl SpecDiff {
    /// Compares two checked specs.
    pub fn between(old: (&str, &Model), new: (&str, &Model)) -> Result<SpecDiff, uapi::ReadError> {
        let old_uapi = uapi::read(&asicgen_codegen::c_header(old.1))?;
        let new_uapi = uapi::read(&asicgen_codegen::c_header(new.1))?;
        Ok(SpecDiff {
            old: Some(old.0.to_string()),
            new: Some(new.0.to_string()),
            changes: changes::changes(old.1, new.1),
            findings: lints::compare(&old_uapi, &new_uapi),
        })
    }

    /// A generation that only exists on the new side.
    pub fn added(label: &str, model: &Model) -> SpecDiff {
        SpecDiff {
            old: None,
            new: Some(label.to_string()),
            changes: Vec::new(),
            findings: vec![Finding {
                lint: &lints::HEADER_ADDED,
                item: model.uapi_prefix.clone(),
                message: format!("new generation {} ({label})", model.name),
                shift: None,
                allowed: None,
            }],
        }
    }

    /// A generation whose spec is gone on the new side.
    pub fn removed(label: &str, model: &Model) -> SpecDiff {
        SpecDiff {
            old: Some(label.to_string()),
            new: None,
            changes: Vec::new(),
            findings: vec![Finding {
                lint: &lints::HEADER_REMOVED,
                item: model.uapi_prefix.clone(),
                message: format!(
                    "generation {} ({label}) is gone with its {} queue and {} engine ids",
                    model.name,
                    model.queues.len(),
                    model.engines.len()
                ),
                shift: None,
                allowed: None,
            }],
        }
    }

    /// Whether any finding breaks the uapi.
    pub fn is_breaking(&self) -> bool {
        self.findings.iter().any(Finding::is_breaking)
    }
}

/// Applies an allow-list to every diff; returns the entries that waived nothing.
pub fn apply_allow_list<'a>(list: &'a AllowList, diffs: &mut [SpecDiff]) -> Vec<&'a allow::Entry> {
    let mut used = vec![false; list.entries().len()];
    for diff in diffs.iter_mut() {
        for (slot, hit) in used.iter_mut().zip(list.apply(&mut diff.findings)) {
            *slot |= hit;
        }
    }
    list.entries()
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|(entry, _)| entry)
        .collect()
}
