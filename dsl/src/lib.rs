//! The asicgen spec language.
#![warn(missing_docs)]
