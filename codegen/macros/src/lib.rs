//! asicgen proc-macros.
