//! Semantic checks: syntax tree in, Model parts out, every problem reported as a diagnostic.

pub mod binning;
pub mod groups;
pub mod lifecycle;
pub mod names;
pub mod reserved;
pub mod settings;
pub mod spec;
pub mod sync;
