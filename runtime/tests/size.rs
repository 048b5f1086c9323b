//! Size budgets, pinned (in the spirit of the oneshot crate's `tests/assert_mem.rs`).
//!
//! What is measured: `Fence` is the handle every holder owns (one pointer); the shared object
//! it points to (`Fence::SHARED_OBJECT_SIZE`: kref u32 + completion 2×u32 + seq u64 + timestamp
//! u64) is the 32-byte fence of ARCHITECTURE.md (`fence/`), and it is the whole heap block of a
//! standalone fence. `Completion` is the two words of the completion alone.
#![cfg(not(loom))]

use asicgen_runtime::{CancelToken, Completion, Fence};
use std::mem::{align_of, size_of};

#[test]
fn fence_handle_is_one_pointer() {
    assert_eq!(size_of::<Fence>(), size_of::<usize>());
    assert_eq!(size_of::<Option<Fence>>(), size_of::<usize>(), "niche kept");
}

#[test]
fn shared_fence_object_is_32_bytes() {
    assert_eq!(Fence::SHARED_OBJECT_SIZE, 32);
}

#[test]
fn completion_is_two_words() {
    assert_eq!(size_of::<Completion>(), 8);
    assert_eq!(align_of::<Completion>(), 4);
    assert_eq!(size_of::<CancelToken>(), size_of::<usize>());
}
