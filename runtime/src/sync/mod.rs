//! The one place that switches between `std` and `loom` (the tokio `loom` shim pattern).
//!
//! Everything in the runtime that is shared between threads goes through this module: the
//! atomics, `Arc`, `Mutex`, the spin hint and the [`Parker`] that puts a thread to sleep on a
//! 32-bit word. With `--cfg loom` they come from loom so the model checker sees every access;
//! otherwise they are the `std` types and a Linux futex. Non-loom builds do not compile loom.
//!
//! # Why a raw futex underneath
//!
//! A completion must be able to wake *every* waiter with one call and without holding a lock
//! while it does so, and a signal with nobody waiting must cost one atomic RMW. A futex gives
//! exactly that: the waiter sleeps on a 32-bit word with "sleep only if the word still holds
//! the value I saw" checked atomically by the kernel, and `FUTEX_WAKE(INT_MAX)` wakes all
//! sleepers of that word in one system call. The waker never takes a lock, so there is no wake
//! chain and no lock hand-off among woken threads (`parking_lot`'s broadcast requeues waiters
//! one by one onto a mutex, which is why it is ~3x slower for 8 waiters in
//! `docs/peer-baseline.md`). `parking_lot_core` would also work but adds a global hash
//! table, a bucket lock on every park and unpark, and a dependency; the futex word is embedded in
//! the object, costs nothing when unused, and `FUTEX_WAIT` with a relative timeout and
//! `FUTEX_WAKE` with `FUTEX_PRIVATE_FLAG` have existed since Linux 2.6.22, so they run on any
//! Linux CI machine.
//!
//! Under loom the futex is replaced by a per-object loom `Mutex` + `Condvar` that implements the
//! same contract (compare-and-sleep is atomic with respect to wake), so loom can model it. A timed
//! park under loom never sleeps: it reports "timed out" at once, which is the most adversarial
//! timing loom can explore for the timeout paths (loom has no clock).

// The driver's concurrency helpers (std threads only, plus their loom models).
// Under loom only the models use it (the driver is not built).
#[cfg(any(not(loom), test))]
#[cfg_attr(loom, allow(dead_code))]
pub(crate) mod channel;
#[cfg(any(not(loom), test))]
pub(crate) mod handshake;

/// A value on cache lines of its own, so that one thread's writes to it do not take away the
/// line of what another thread is using next to it (false sharing). 128 bytes: x86's adjacent-
/// line prefetcher moves lines in pairs. Measured on the two driver locks, which one side takes
/// per CS and the other per batch: cross-core throughput 1.5–1.6x → 2.0–2.1x of the baseline
/// (BENCHMARKS.md).
#[derive(Debug, Default)]
#[repr(align(128))]
#[cfg_attr(loom, allow(dead_code))] // the driver, its only user, is not built under loom
pub(crate) struct CacheLine<T>(pub(crate) T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}
#[cfg(not(loom))]
pub(crate) mod membarrier;
#[cfg(not(loom))]
pub(crate) mod spin;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering, fence};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering, fence};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

use std::time::Instant;

/// Lock a mutex, ignoring poisoning: no code of ours panics while holding one of our locks, so a
/// poisoned lock can only come from an unwinding allocator, and the data stays consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Back off inside a short wait loop (one that waits for another thread to finish a handful of
/// instructions). Spins briefly, then yields; under loom it is a loom yield so the model checker
/// schedules the thread being waited for.
#[inline]
pub(crate) fn spin_hint(round: &mut u32) {
    #[cfg(loom)]
    {
        let _ = round;
        loom::thread::yield_now();
    }
    #[cfg(not(loom))]
    {
        if *round < 64 {
            *round += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// Why [`Parker::park`] returned. Either way the caller re-checks its condition: a futex may
/// return spuriously.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Park {
    /// Woken, interrupted by a Unix signal, or the word no longer held the expected value.
    Woken,
    /// The deadline passed.
    TimedOut,
}

#[cfg(not(loom))]
pub(crate) use futex::Parker;
#[cfg(loom)]
pub(crate) use modelled::Parker;

#[cfg(not(loom))]
mod futex {
    use super::{AtomicU32, Park};
    use std::time::Instant;

    /// Sleeps on and wakes a 32-bit word (a Linux futex). Zero-sized: the word itself is the
    /// only state, so a [`Parker`] costs nothing in the objects that embed one.
    #[derive(Debug, Default)]
    pub(crate) struct Parker;

    impl Parker {
        pub(crate) const fn new() -> Self {
            Parker
        }

        /// Sleep while `word == expected`, until woken or until `deadline`.
        pub(crate) fn park(
            &self,
            word: &AtomicU32,
            expected: u32,
            deadline: Option<Instant>,
        ) -> Park {
            let timeout = match deadline {
                None => None,
                Some(deadline) => {
                    let now = Instant::now();
                    if deadline <= now {
                        return Park::TimedOut;
                    }
                    let left = deadline - now;
                    Some(libc::timespec {
                        // Clamp absurd timeouts (centuries) instead of overflowing time_t.
                        tv_sec: libc::time_t::try_from(left.as_secs()).unwrap_or(libc::time_t::MAX),
                        // Always < 1e9, which fits every c_long (32-bit included).
                        tv_nsec: left.subsec_nanos() as libc::c_long,
                    })
                }
            };
            let timeout_ptr = timeout
                .as_ref()
                .map_or(std::ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: `word` is a live, 4-byte aligned `AtomicU32` for the duration of the call
            // (we hold a shared reference to it); the kernel only reads it atomically. The
            // timespec pointer is null or points to `timeout`, which outlives the call. The
            // remaining arguments are ignored by FUTEX_WAIT.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    word.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    expected,
                    timeout_ptr,
                    std::ptr::null::<u32>(),
                    0u32,
                )
            };
            if r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT) {
                Park::TimedOut
            } else {
                // 0 (woken), EAGAIN (value changed) or EINTR (Unix signal): re-check.
                Park::Woken
            }
        }

        /// Wake one thread sleeping on `word`.
        pub(crate) fn unpark_one(&self, word: &AtomicU32) {
            wake(word, 1);
        }

        /// Wake every thread sleeping on `word`, with one system call.
        pub(crate) fn unpark_all(&self, word: &AtomicU32) {
            wake(word, i32::MAX);
        }
    }

    fn wake(word: &AtomicU32, count: i32) {
        // SAFETY: FUTEX_WAKE only uses the address as a key to find sleepers; it never reads
        // or writes the memory, so it is sound even if the object were freed concurrently
        // (which our callers rule out anyway: they hold a reference to `word`).
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                count,
            );
        }
    }
}

#[cfg(loom)]
mod modelled {
    use super::{AtomicU32, Ordering, Park, lock};
    use loom::sync::{Condvar, Mutex};
    use std::time::Instant;

    /// Loom model of a futex: compare-and-sleep under a mutex, wake under the same mutex, so
    /// a wake can never fall between the comparison and the sleep (the futex guarantee).
    #[derive(Debug, Default)]
    pub(crate) struct Parker {
        lock: Mutex<()>,
        condvar: Condvar,
    }

    impl Parker {
        pub(crate) fn new() -> Self {
            Parker {
                lock: Mutex::new(()),
                condvar: Condvar::new(),
            }
        }

        pub(crate) fn park(
            &self,
            word: &AtomicU32,
            expected: u32,
            deadline: Option<Instant>,
        ) -> Park {
            let guard = lock(&self.lock);
            if word.load(Ordering::SeqCst) != expected {
                return Park::Woken;
            }
            if deadline.is_some() {
                // Loom has no clock: a timed park times out at once (worst case for callers).
                return Park::TimedOut;
            }
            let _guard = self
                .condvar
                .wait(guard)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Park::Woken
        }

        pub(crate) fn unpark_one(&self, _word: &AtomicU32) {
            let _guard = lock(&self.lock);
            self.condvar.notify_one();
        }

        pub(crate) fn unpark_all(&self, _word: &AtomicU32) {
            let _guard = lock(&self.lock);
            self.condvar.notify_all();
        }
    }
}

/// The earlier of two optional deadlines (`None` = never).
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}
