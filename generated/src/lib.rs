//! Driver code generated from `specs/` at build time, one module per ASIC generation.
//!
//! Each module is what `asicgen_macros::asic!` expands its spec to: `QueueId` and `EngineId`
//! enums, the `QUEUES`/`ENGINES`/`LIMITS`/`FEATURES` tables, the `CsState` lifecycle and a
//! zero-sized type (`goya::Goya`, ...) implementing `asicgen_runtime::asic::Asic`. Readable copies
//! of every output are checked in under `generated/review/` and kept current by a test.
//!
//! Adding a generation is one module here (plus its spec).
#![warn(missing_docs)]

/// Habana Goya, from `specs/goya.asic`.
pub mod goya {
    asicgen_macros::asic!("../specs/goya.asic");
}
/// Habana Gaudi, from `specs/gaudi.asic`.
pub mod gaudi {
    asicgen_macros::asic!("../specs/gaudi.asic");
}
/// A made-up generation exercising what Goya and Gaudi do not, from `specs/example.asic`.
pub mod example {
    asicgen_macros::asic!("../specs/example.asic");
}
