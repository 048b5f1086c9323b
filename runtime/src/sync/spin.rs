//! Adaptive spin budgets: how long a thread spins for an event before it sleeps.
//!
//! Spinning pays when the thread that will produce the event runs on another CPU: the event
//! arrives within a few hundred nanoseconds and nobody pays a futex round trip. It is pure loss
//! when both threads share a CPU, because the spinner holds the CPU the producer needs (measured:
//! a fixed 2,000-iteration idle spin made the engine worker 3.5x slower than an always-sleeping
//! design when the scheduler put it on the submitter's CPU). So the budget adapts, as an
//! adaptive mutex does: a spin that saw its event doubles it, a spin that ran out halves it,
//! within `[floor, max]`. The floor keeps a few spins, so a budget that collapsed while the
//! threads shared a CPU can grow back once they do not.
//!
//! The floor alone is not enough: two threads on two CPUs can settle into taking turns to sleep
//! (each one's short spin runs out while the other is still waking from its futex, so each
//! sleeps in turn and each wake-up costs tens of microseconds on a virtual machine), and then
//! no spin ever pays. Measured: 1.9–2.6 instead of 7–8 M CS/s for a whole run, in about one
//! run in four. So after every `PROBE_EVERY` spins in a row that ran out comes one at the full
//! budget: long enough to bridge the other thread's wake-up and find that spinning pays again
//! (then 6 of 6 runs were fast). When the threads do share a CPU the probe is the only loss,
//! one full spin per `PROBE_EVERY` sleeps (1.7x the baseline there before, 1.6–2.0x after;
//! probing every 32nd cost a third).
//!
//! On a host whose wake-ups are slower than the full budget even the probe runs out, and the
//! turn-taking returns. [`CpuSeen`] settles it where it matters: a thread that knows its
//! producer runs on another CPU spins for a bounded *time* ([`spin_for`]) instead of a count.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Spins a budget never drops below (unless its maximum is lower): enough to notice that
/// spinning pays again.
const FLOOR: u32 = 16;
/// After this many spins in a row that ran out, try one at the full budget.
const PROBE_EVERY: u32 = 256;

/// A spin budget shared by the threads that spin on the same kind of event; updates are
/// relaxed loads and stores (a lost update only nudges a heuristic).
#[derive(Debug)]
pub(crate) struct SpinBudget {
    max: u32,
    now: AtomicU32,
    /// Spins in a row that ran out.
    misses: AtomicU32,
}

impl SpinBudget {
    /// A budget starting at, and never above, `max` spins.
    pub(crate) fn new(max: u32) -> SpinBudget {
        SpinBudget {
            max,
            now: AtomicU32::new(max),
            misses: AtomicU32::new(0),
        }
    }

    /// Spins to try now.
    pub(crate) fn get(&self) -> u32 {
        self.now.load(Ordering::Relaxed)
    }

    /// The event came while spinning.
    pub(crate) fn paid_off(&self) {
        if self.misses.load(Ordering::Relaxed) != 0 {
            self.misses.store(0, Ordering::Relaxed);
        }
        let next = self.get().saturating_mul(2).max(FLOOR).min(self.max);
        self.set(next);
    }

    /// The spin ran out without the event.
    pub(crate) fn wasted(&self) {
        let misses = self.misses.load(Ordering::Relaxed).wrapping_add(1);
        self.misses.store(misses, Ordering::Relaxed);
        let floor = FLOOR.min(self.max);
        let next = if misses.is_multiple_of(PROBE_EVERY) {
            self.max
        } else if misses % PROBE_EVERY == 1 && misses > 1 {
            // The probe ran out too: straight back down.
            floor
        } else {
            (self.get() / 2).max(floor)
        };
        self.set(next);
    }

    /// Whether spinning has been paying: the budget is at least a quarter of its maximum.
    pub(crate) fn is_paying(&self) -> bool {
        self.max > 0 && self.get() >= self.max / 4
    }

    fn set(&self, v: u32) {
        // why: skip the store when nothing changes, so a steady budget is a line nobody writes.
        if self.get() != v {
            self.now.store(v, Ordering::Relaxed);
        }
    }
}

/// The CPU a thread was last seen on, published for the threads that wait for it. Spinning for
/// another thread's event pays while that thread runs on another CPU (the rule of the kernel's
/// adaptive mutex, which spins while the lock owner is on a CPU); what the adaptive budget
/// alone cannot tell apart is a producer that needs our CPU (stop at once) from one on another
/// CPU that is slow to wake (keep spinning: it costs that CPU nothing). Measured on a virtual
/// machine whose futex wake-ups take tens of microseconds: the budget's turn-taking slump
/// (above) hit most rounds there, 0.5–4 M CS/s round to round; spinning across CPUs for a
/// bounded time instead gave 3.2–4.2 M CS/s in every round (BENCHMARKS.md).
#[derive(Debug)]
pub(crate) struct CpuSeen(AtomicU32);

/// No CPU seen yet.
const UNKNOWN_CPU: u32 = u32::MAX;

impl CpuSeen {
    pub(crate) fn new() -> CpuSeen {
        CpuSeen(AtomicU32::new(UNKNOWN_CPU))
    }

    /// Publish the calling thread's CPU and return it. A load first: a thread that stays put
    /// writes nothing, so the line stays shared.
    #[inline]
    pub(crate) fn note(&self) -> Option<u32> {
        let cpu = current_cpu()?;
        self.set(cpu);
        Some(cpu)
    }

    fn set(&self, cpu: u32) {
        if self.0.load(Ordering::Relaxed) != cpu {
            self.0.store(cpu, Ordering::Relaxed);
        }
    }

    /// Whether the thread was last seen on `mine` (known on both sides).
    #[inline]
    pub(crate) fn here(&self, mine: Option<u32>) -> bool {
        matches!(mine, Some(cpu) if self.0.load(Ordering::Relaxed) == cpu)
    }

    /// Whether the thread was last seen on a CPU other than `mine`. Unknown on either side: no
    /// (the adaptive budget decides).
    #[inline]
    pub(crate) fn elsewhere(&self, mine: Option<u32>) -> bool {
        let seen = self.0.load(Ordering::Relaxed);
        matches!(mine, Some(cpu) if seen != UNKNOWN_CPU && seen != cpu)
    }
}

/// The CPU the calling thread runs on (`sched_getcpu`, read from the rseq area: a few ns).
#[inline]
pub(crate) fn current_cpu() -> Option<u32> {
    // SAFETY: `sched_getcpu` takes no arguments and writes no memory of ours.
    let cpu = unsafe { libc::sched_getcpu() };
    u32::try_from(cpu).ok()
}

/// Spin until `done()` or for about `limit` of wall time; returns whether `done()` held. The
/// clock is read once every 64 looks, so a look stays a load and a `pause`.
pub(crate) fn spin_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            if done() {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= limit {
            return done();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_to_the_floor_and_doubles_back_to_the_max() {
        let b = SpinBudget::new(2000);
        assert!(b.is_paying());
        for _ in 0..20 {
            b.wasted();
        }
        assert_eq!(b.get(), FLOOR);
        assert!(!b.is_paying());
        for _ in 0..20 {
            b.paid_off();
        }
        assert_eq!(b.get(), 2000);
    }

    #[test]
    fn a_long_run_of_misses_probes_the_full_budget() {
        let b = SpinBudget::new(2000);
        let budgets: Vec<u32> = (0..2 * PROBE_EVERY)
            .map(|_| {
                b.wasted();
                b.get()
            })
            .collect();
        let probes: Vec<usize> = (0..budgets.len()).filter(|&i| budgets[i] == 2000).collect();
        let every = PROBE_EVERY as usize;
        assert_eq!(probes, vec![every - 1, 2 * every - 1]);
        assert_eq!(
            budgets[every], FLOOR,
            "a probe that ran out drops to the floor"
        );
        b.paid_off();
        assert_eq!(b.get(), 2000, "and a probe that paid keeps the full budget");
    }

    #[test]
    fn another_cpu_is_elsewhere_and_unknown_is_not() {
        let seen = CpuSeen::new();
        assert!(!seen.elsewhere(Some(0)), "nothing seen yet");
        assert!(!seen.here(Some(0)), "nothing seen yet");
        seen.set(1);
        assert!(seen.elsewhere(Some(0)));
        assert!(!seen.here(Some(0)));
        assert!(!seen.elsewhere(Some(1)), "the same CPU");
        assert!(seen.here(Some(1)));
        assert!(!seen.elsewhere(None), "our own CPU unknown");
        assert!(!seen.here(None), "our own CPU unknown");
        let mine = seen.note();
        assert_eq!(mine, current_cpu());
        assert!(
            !seen.elsewhere(mine),
            "a thread is never elsewhere from itself"
        );
    }

    #[test]
    fn spin_for_stops_at_the_event_or_the_limit() {
        let mut looks = 0;
        assert!(spin_for(Duration::from_secs(3600), || {
            looks += 1;
            looks == 100
        }));
        assert_eq!(looks, 100, "stops at the first look that sees the event");
        assert!(
            !spin_for(Duration::ZERO, || false),
            "a spent limit ends the spin"
        );
        assert!(spin_for(Duration::ZERO, || true));
    }

    #[test]
    fn a_zero_budget_stays_zero() {
        let b = SpinBudget::new(0);
        b.paid_off();
        assert_eq!(b.get(), 0);
        b.wasted();
        assert_eq!(b.get(), 0);
        assert!(!b.is_paying());
    }
}
