//! The asicgen driver runtime.
#![warn(missing_docs)]
