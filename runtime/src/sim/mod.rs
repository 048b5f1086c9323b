//! The simulated device: engines that run jobs with a latency, and can hang, fault or finish out
//! of order, on a virtual clock (deterministic tests) or on real threads (demo, benchmarks).
//!
//! A job written to a queue becomes a `SimJob` with a due time, handed to its engine's *lane*
//! (a ring, then a min-heap by due time on the completion side). In virtual mode nothing runs by
//! itself: the caller advances the clock ([`Device::advance`](crate::Device::advance),
//! or a wait with a timeout), and due jobs and TDR expiries are processed in time order, one per
//! completion-lock hold. In real mode each lane has a worker thread that sleeps until its next
//! due job, and a TDR thread sleeps until the armed deadline ([`Runner`]).
//!
//! Randomness comes from one [`XorShift`] seeded by [`SimConfig::seed`] and drawn under the
//! submission lock, so a virtual run driven from one thread is a pure function of its seed and
//! its inputs. (Submitting from one thread while another advances the virtual clock is allowed
//! but not reproducible: a submission reads the clock without waiting for an advance.)

mod engines;
mod rng;
pub(crate) mod runner;

pub use crate::driver::config::ClockMode;
pub use engines::SimEngines;
pub use rng::XorShift;
pub use runner::{Runner, RunnerError};

#[cfg(test)]
mod tests {
    #[test]
    fn pinning_to_a_cpu_past_the_end_is_an_error() {
        for cpu in [usize::MAX, usize::MAX - 1, 1 << 20] {
            let err = super::pin_current_thread(cpu).expect_err("no such CPU");
            assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "cpu {cpu}");
        }
    }
}
use std::time::Duration;

/// How the simulated engines behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SimConfig {
    /// Base latency of a job.
    pub latency: Duration,
    /// Up to this much extra latency, drawn per job.
    pub jitter: Duration,
    /// Chance, in parts per million, that a [`Work::Default`](crate::driver::submit::Work) job hangs.
    pub hang_ppm: u32,
    /// Chance, in parts per million, that a default job raises an engine error.
    pub fault_ppm: u32,
    /// Jobs of one engine overlap (each finishes `latency + jitter` after it was written)
    /// instead of running one after the other; with jitter, CSs then complete out of order.
    pub out_of_order: bool,
    /// Seed of the pseudo-random draws.
    pub seed: u64,
    /// Engine lanes: worker threads in real mode. Engine `i` runs on lane `i % lanes`.
    pub lanes: usize,
    /// Real mode: how many times an idle worker re-checks for new work (spinning) before it
    /// parks; interrupt coalescing in miniature. 0 parks at once.
    pub poll_spins: u32,
    /// Real mode: pin lane `i`'s worker to CPU `(lane_cpu + i) % online CPUs`, as a driver
    /// sets the affinity of its completion interrupts; `None` leaves placement to the
    /// scheduler. A worker that spins for completions loses badly when the scheduler puts it on
    /// the submitter's CPU, so benchmarks pin.
    pub lane_cpu: Option<u16>,
}

/// Pin the calling thread to `cpu` (`sched_setaffinity`).
pub fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    // why: `usize::MAX + 1` would overflow; no such CPU exists, which is EINVAL.
    let end = cpu
        .checked_add(1)
        .ok_or_else(|| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    set_affinity(cpu..end)
}

/// Let the calling thread run on every online CPU again.
pub fn unpin_current_thread() -> std::io::Result<()> {
    set_affinity(0..online_cpus())
}

fn set_affinity(cpus: std::ops::Range<usize>) -> std::io::Result<()> {
    // SAFETY: `cpu_set_t` is a plain bit array for which all-zero is a valid (empty) value.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if cpus.end > 8 * std::mem::size_of::<libc::cpu_set_t>() {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    for cpu in cpus {
        // SAFETY: `cpu` is inside the set (checked above) and `set` is a valid, owned
        // cpu_set_t.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: pid 0 is the calling thread; the size and pointer describe `set`, which lives
    // across the call.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Put the calling thread in the `SCHED_BATCH` class (`sched(7)`): it keeps its fair share of
/// the CPU, but waking it never preempts the thread that woke it.
pub(crate) fn into_batch_class() -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` lives across the call and its priority must
    // be 0 for SCHED_BATCH.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// CPUs online (at least 1). Not `available_parallelism`, which shrinks to 1 once the calling
/// thread is pinned.
pub fn online_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(1).max(1)
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            latency: Duration::from_micros(10),
            jitter: Duration::ZERO,
            hang_ppm: 0,
            fault_ppm: 0,
            out_of_order: false,
            seed: 1,
            lanes: 1,
            poll_spins: 2000,
            lane_cpu: None,
        }
    }
}
