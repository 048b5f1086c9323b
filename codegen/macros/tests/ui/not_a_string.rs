//! The argument must be a string literal.

asicgen_macros::asic!(specs / gaudi);

fn main() {}
