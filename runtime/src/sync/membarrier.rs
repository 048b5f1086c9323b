//! An asymmetric store-load fence: a cheap side for the hot path, an expensive side for the rare
//! one (`membarrier(2)`, the technique liburcu and folly use).
//!
//! A submitter publishes a job and then reads whether the lane's worker is asleep; a worker
//! about to sleep says so and then looks for jobs once more. Each side stores one location and
//! loads the other, so each needs a store-load fence, or both may miss each other and the job
//! waits forever. A SeqCst fence on the submit path costs a full store-buffer drain per CS (a
//! third of the submit path's time in a profile, since the buffer holds stores to lines the
//! worker owns). With `MEMBARRIER_CMD_PRIVATE_EXPEDITED` the worker, which parks rarely, makes
//! every running thread of the process execute a full barrier, and the submitter's side shrinks
//! to a compiler fence. Where the kernel lacks it (before Linux 4.14, or filtered by seccomp),
//! both sides fall back to SeqCst fences. If the heavy side's call ever fails after the
//! registration worked (a seccomp filter installed later, a `fork` child, whose new address
//! space is not registered), both sides switch to the fallback for good, and the caller is told
//! that this one barrier proved nothing, so it must not sleep without a timeout.

use std::sync::atomic::{AtomicBool, Ordering, compiler_fence, fence};

/// `MEMBARRIER_CMD_PRIVATE_EXPEDITED` (`include/uapi/linux/membarrier.h`).
const CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
/// `MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED`.
const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

/// The pair of fences; see the module docs.
#[derive(Debug)]
pub(crate) struct AsymmetricFence {
    /// The process is registered for expedited private membarriers and they work.
    expedited: AtomicBool,
}

impl AsymmetricFence {
    /// Register the process for expedited membarriers if the kernel allows it.
    pub(crate) fn new() -> AsymmetricFence {
        AsymmetricFence {
            expedited: AtomicBool::new(membarrier(CMD_REGISTER_PRIVATE_EXPEDITED)),
        }
    }

    /// The hot side: between its store and its load.
    #[inline]
    pub(crate) fn light(&self) {
        if self.expedited.load(Ordering::Relaxed) {
            // The heavy side's membarrier runs a full barrier on this thread if it is running;
            // if it is not, the context switch was one. Only the compiler must not reorder.
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    /// The rare side: between its store and its load. `false` if this barrier cannot be
    /// trusted: membarrier stopped working just now, and a light side that ran before it saw
    /// the switch used only a compiler fence.
    #[must_use]
    pub(crate) fn heavy(&self) -> bool {
        if !self.expedited.load(Ordering::Relaxed) {
            fence(Ordering::SeqCst);
            return true;
        }
        if membarrier(CMD_PRIVATE_EXPEDITED) {
            return true;
        }
        self.expedited.store(false, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        false
    }
}

fn membarrier(cmd: libc::c_int) -> bool {
    // SAFETY: membarrier takes two integer arguments (cmd, flags) and a cpu id unused here; it
    // touches no memory of ours and fails with an error code on kernels that lack it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_membarrier,
            cmd,
            0 as libc::c_uint,
            0 as libc::c_int,
        )
    };
    rc == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_run_on_this_kernel() {
        let f = AsymmetricFence::new();
        f.light();
        assert!(f.heavy());
    }
}
