//! Generated driver code.
