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
//! both sides fall back to SeqCst fences.

use std::sync::atomic::{Ordering, compiler_fence, fence};

/// `MEMBARRIER_CMD_PRIVATE_EXPEDITED` (`include/uapi/linux/membarrier.h`).
const CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
/// `MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED`.
const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

/// The pair of fences; see the module docs.
#[derive(Debug)]
pub(crate) struct AsymmetricFence {
    /// The process is registered for expedited private membarriers.
    expedited: bool,
}

impl AsymmetricFence {
    /// Register the process for expedited membarriers if the kernel allows it.
    pub(crate) fn new() -> AsymmetricFence {
        AsymmetricFence {
            expedited: membarrier(CMD_REGISTER_PRIVATE_EXPEDITED),
        }
    }

    /// The hot side: between its store and its load.
    #[inline]
    pub(crate) fn light(&self) {
        if self.expedited {
            // The heavy side's membarrier runs a full barrier on this thread if it is running;
            // if it is not, the context switch was one. Only the compiler must not reorder.
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    /// The rare side: between its store and its load.
    pub(crate) fn heavy(&self) {
        if !(self.expedited && membarrier(CMD_PRIVATE_EXPEDITED)) {
            fence(Ordering::SeqCst);
        }
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
        f.heavy();
    }
}
