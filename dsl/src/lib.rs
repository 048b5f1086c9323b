//! The asicgen spec language: grammar, parser, semantic checks and diagnostics.
//!
//! The pipeline reads top to bottom: [`load`] reads a spec and the lifecycle files it names,
//! `parse` turns text into a syntax tree that keeps spans, `check` validates it and lowers it to
//! the [`model::Model`] that code generation consumes. Every error of a run is collected into a
//! [`Report`] and rendered rustc-style (file:line:col, the source line, a caret and a help line).
#![warn(missing_docs)]

pub mod model;

pub use model::Model;
