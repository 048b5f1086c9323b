//! A spec that does not exist: one error naming it.

mod nope {
    asicgen_macros::asic!("specs/nope.asic");
}

fn main() {
    let _ = nope::Nope;
}
