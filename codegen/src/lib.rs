//! asicgen code generation: a checked [`Model`] in, every generated output out.
//!
//! - [`rust_module`] / [`rust_module_pretty`]: the Rust items `asic!` expands to (quote), and the
//!   same formatted by prettyplease for the checked-in review copy;
//! - [`c_header`]: the C uapi header with the kernel's enumerator names (askama);
//! - [`kernel_header`]: the driver's per-ASIC C tables (queue types, queue → engine, queue
//!   properties, stream masters, CQ and DMA assignment, sync-object layout), and
//!   [`kernel_rows`], the same reduced to `(table, index, value)` rows;
//! - [`markdown`]: the reference page with tables and a Mermaid lifecycle diagram (askama);
//! - [`state_diagram`]: the CS lifecycle alone, as a Mermaid `stateDiagram-v2`;
//! - [`fallback_module`]: what the macro emits next to `compile_error!` when a spec is broken;
//! - [`spec_display_path`]: how a spec is named in diagnostics and provenance (crate- or
//!   workspace-relative); [`spec_display_path_from`] the same for a tool run in a directory.
//!
//! Every output is deterministic (no timestamps, no absolute paths, stable order) and carries a
//! [`provenance`] line. Nothing here panics on a model, however odd: names are sanitised and a
//! model that breaks its own invariants yields a `compile_error!` in the expansion.
#![warn(missing_docs)]

mod c_header;
mod c_text;
mod fallback;
mod kernel;
mod markdown;
mod mermaid;
mod names;
mod provenance;
mod rust;
mod spec_path;

#[cfg(test)]
mod fixture;

pub use asicgen_dsl::model::Model;
pub use c_header::c_header;
pub use fallback::fallback_module;
pub use kernel::{KernelRow, kernel_header, kernel_rows};
pub use markdown::markdown;
pub use mermaid::state_diagram;
pub use provenance::{GENERATOR_VERSION, HASH_PLACEHOLDER, output_hash, provenance, seal, verify};
pub use rust::{rust_module, rust_module_pretty};
pub use spec_path::{spec_display_path, spec_display_path_from, workspace_root};
