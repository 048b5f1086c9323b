//! asicgen code generation.
#![warn(missing_docs)]
