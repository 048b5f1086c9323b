//! The asicgen spec language: grammar, parser, semantic checks and diagnostics.
//!
//! The pipeline reads top to bottom: [`load()`] reads a spec and the lifecycle files it names,
//! [`parse`] turns text into a syntax tree ([`ast`]) that keeps spans, [`check`] validates it
//! and lowers it to the [`Model`] that code generation consumes. Every error of a run is
//! collected into a [`Report`] and rendered rustc-style (file:line:col, the source line, a
//! caret and a help line), in source order.
//!
//! ```no_run
//! let loaded = asicgen_dsl::load(std::path::Path::new("specs/goya.asic"), "specs/goya.asic");
//! match loaded.result {
//!     Ok(model) => println!("{} has {} queues", model.name, model.queues.len()),
//!     Err(report) => eprint!("{report}"),
//! }
//! ```
#![warn(missing_docs)]

pub mod ast;
pub mod check;
pub mod codes;
mod delimiters;
pub mod diagnostic;
pub mod format;
pub mod load;
pub mod model;
pub mod parse;
pub mod source;
pub mod suggest;
pub mod synthetic;

pub use diagnostic::{Diagnostic, Report};
pub use load::{FileRef, Loaded, check_with, load};
pub use model::Model;
