//! The driver core: what the kernel driver does between the ioctls and the hardware, generic
//! over the generated `A: Asic`. It names no simulator type: the engines sit behind the seam in
//! `backend` (start a job, halt/reset; completions come back through the completion side in
//! due-time order; the driver owns the clock), and nothing in here imports `sim`, `device` or
//! `config` (the facade's).
//!
//! - `backend`: the seam ([`Engines`](backend::Engines));
//! - `config`: the driver's settings, errors, statistics (plain data);
//! - `context`: a context's seqs and pending-fence ring, the wait-only [`CsFence`](context::CsFence);
//! - `submit`, `wait`, `counters`, `queue`, `engine`: the user-visible vocabulary;
//! - `hw_queues` (submission side, `hw_queues_lock`) and `state` (completion side,
//!   `cs_mirror_lock`), meeting in `handoff`; `tdr`, `reset` and `effects` on top;
//! - `cs`: one CS and the lifecycle driver;
//! - `core`: the shared state both public faces (`Device`, `Context`) use.

pub mod backend;
pub mod config;
pub mod context;
pub(crate) mod core;
pub mod counters;
pub(crate) mod cs;
pub(crate) mod effects;
pub mod engine;
pub(crate) mod handoff;
pub(crate) mod hw_queues;
pub(crate) mod locks;
pub(crate) mod outcome;
pub mod queue;
pub(crate) mod reset;
pub(crate) mod state;
pub mod submit;
pub mod sync_stream;
pub(crate) mod tdr;
pub mod wait;
