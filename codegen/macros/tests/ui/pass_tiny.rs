//! A good spec expands to documented, warning-free items implementing `Asic`.
#![deny(warnings, missing_docs, unused)]

/// The tiny generation.
pub mod tiny {
    asicgen_macros::asic!("specs/tiny.asic");
}

use asicgen_tables::{Asic, CsEvent};

fn main() {
    assert_eq!(<tiny::Tiny as Asic>::QUEUES.len(), 3);
    assert_eq!(tiny::QueueId::CPU_PQ.to_string(), "TINY_QUEUE_ID_CPU_PQ");
    let next = tiny::Tiny::next_state(tiny::Tiny::INITIAL_STATE, CsEvent::Submit);
    assert_eq!(next, tiny::CsState::InFlight);
}
