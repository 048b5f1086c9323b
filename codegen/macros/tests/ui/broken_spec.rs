//! A spec with errors fails the build with one rustc error per spec error; code that
//! uses the module reports nothing else.

mod broken {
    asicgen_macros::asic!("specs/broken.asic");
}

use asicgen_tables::Asic;

fn main() {
    let _ = <broken::Broken as Asic>::QUEUES;
    let _ = broken::QueueId::ALL;
    let _ = broken::CsState::INITIAL;
}
