//! Hardware queues and completion queues: pointer arithmetic and space checks (§6 of
//! `docs/driver-semantics.md`).
//!
//! `pi` and `ci` move through `[0, 2L)` (`hl_hw_queue_add_ptr` masks with `2L - 1`), so a full
//! queue (`pi - ci == L`) and an empty one (`pi == ci`) differ. The entry slot is `pi & (L - 1)`.
//! Free slots, with `d = pi - ci`: `L - d` if `d >= 0`, else `|d| - L`.
//!
//! These are plain values: the device keeps them under its submission lock (the driver's
//! `hw_queues_lock`), with `ci` and the completion queues' released entries published by the
//! completion side and folded in when a check would otherwise fail (`hw_queues.rs`).

use crate::asic::{QueueProps, QueueType};
use std::fmt;

/// Why a queue refused jobs. Nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpaceError {
    /// Fewer free entries than jobs (`-EAGAIN`: try again).
    QueueFull {
        /// Free entries.
        free: u32,
        /// Entries asked for.
        needed: u32,
    },
    /// The completion queue could not reserve an entry per job (`-EAGAIN`: try again).
    CompletionQueueFull {
        /// The completion queue.
        cq: u32,
        /// Free entries.
        free: u32,
        /// Entries asked for.
        needed: u32,
    },
    /// More jobs than an internal queue can ever hold (`-ENOMEM`).
    ExceedsInternalQueue {
        /// The queue's length.
        len: u32,
        /// Entries asked for.
        needed: u32,
    },
}

impl SpaceError {
    /// The driver's errno for this failure (negative).
    pub const fn errno(&self) -> i32 {
        match self {
            SpaceError::QueueFull { .. } | SpaceError::CompletionQueueFull { .. } => -11,
            SpaceError::ExceedsInternalQueue { .. } => -12,
        }
    }
}

impl fmt::Display for SpaceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpaceError::QueueFull { free, needed } => {
                write!(f, "queue full: {free} free entries, {needed} needed")
            }
            SpaceError::CompletionQueueFull { cq, free, needed } => write!(
                f,
                "no space on completion queue {cq}: {free} free entries, {needed} needed"
            ),
            SpaceError::ExceedsInternalQueue { len, needed } => write!(
                f,
                "{needed} jobs do not fit an internal queue of {len} entries"
            ),
        }
    }
}

impl std::error::Error for SpaceError {}

/// One hardware queue's producer and consumer indexes (`struct hl_hw_queue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HwQueue {
    pi: u32,
    ci: u32,
    len: u32,
    queue_type: QueueType,
    cq: Option<u32>,
}

impl HwQueue {
    /// An empty queue with the properties' type and length (`pq_len`: the spec fills it with the
    /// device's `queue_length` unless the queue sets its own, as `int_queue_len` does).
    pub fn new(props: &QueueProps) -> HwQueue {
        HwQueue {
            pi: 0,
            ci: 0,
            len: props.pq_len.max(1),
            queue_type: props.queue_type,
            cq: props.cq,
        }
    }

    /// Number of entries `L`.
    pub const fn length(&self) -> u32 {
        self.len
    }

    /// The producer index, in `[0, 2L)`.
    pub const fn pi(&self) -> u32 {
        self.pi
    }

    /// The consumer index, in `[0, 2L)`.
    pub const fn ci(&self) -> u32 {
        self.ci
    }

    /// The entry `pi` points at (`hl_pi_2_offset`).
    pub const fn pi_slot(&self) -> u32 {
        self.pi & (self.len - 1)
    }

    /// The queue type.
    pub const fn queue_type(&self) -> QueueType {
        self.queue_type
    }

    /// The completion queue, for external queues.
    pub const fn cq(&self) -> Option<u32> {
        self.cq
    }

    /// Free entries: `d = pi - ci`; `L - d` if `d >= 0`, else `|d| - L` (`queue_free_slots`).
    pub const fn free_slots(&self) -> u32 {
        let d = self.pi as i64 - self.ci as i64;
        let free = if d >= 0 {
            self.len as i64 - d
        } else {
            -d - self.len as i64
        };
        // why: pi and ci stay in [0, 2L) and pi runs at most L ahead, so free is in [0, L].
        if free < 0 { 0 } else { free as u32 }
    }

    /// Entries written and not yet consumed.
    pub const fn used_slots(&self) -> u32 {
        self.len - self.free_slots()
    }

    /// `(p + n) & (2L - 1)` (`hl_hw_queue_add_ptr`).
    const fn add_ptr(&self, p: u32, n: u32) -> u32 {
        p.wrapping_add(n) & (2 * self.len - 1)
    }

    /// Check that `n` more entries fit, as the type's sanity check does: internal queues
    /// refuse `n > L` with `-ENOMEM` and otherwise a shortfall with `-EAGAIN`; every other type
    /// refuses a shortfall with `-EAGAIN`.
    pub const fn check_space(&self, n: u32) -> Result<(), SpaceError> {
        if matches!(self.queue_type, QueueType::Internal) && n > self.len {
            return Err(SpaceError::ExceedsInternalQueue {
                len: self.len,
                needed: n,
            });
        }
        let free = self.free_slots();
        if free < n {
            return Err(SpaceError::QueueFull { free, needed: n });
        }
        Ok(())
    }

    /// Write `n` entries (advance `pi`). The caller checked the space.
    pub fn produce(&mut self, n: u32) {
        debug_assert!(self.free_slots() >= n, "produce past a full queue");
        self.pi = self.add_ptr(self.pi, n);
    }

    /// Consume `n` entries (advance `ci`), as a completion or a release does.
    pub fn consume(&mut self, n: u32) {
        let n = n.min(self.used_slots());
        self.ci = self.add_ptr(self.ci, n);
    }

    /// Back to empty, as `hl_hw_queue_reset` leaves every queue.
    pub fn reset(&mut self) {
        self.pi = 0;
        self.ci = 0;
    }

    /// Take `ci` as the completion side has moved it (the submitter's copy is refreshed only
    /// when a space check would fail).
    pub(crate) fn observe_ci(&mut self, ci: u32) {
        self.ci = ci & (2 * self.len - 1);
    }
}

/// A completion queue's free-entry count (`struct hl_cq`'s `free_slots_cnt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletionQueue {
    free: i64,
    len: u32,
}

impl CompletionQueue {
    /// An empty completion queue of `len` entries.
    pub const fn new(len: u32) -> CompletionQueue {
        CompletionQueue {
            free: len as i64,
            len,
        }
    }

    /// Free entries.
    pub const fn free_slots(&self) -> u32 {
        if self.free < 0 { 0 } else { self.free as u32 }
    }

    /// Reserve `n` entries: `atomic_add_negative(-n, free_slots_cnt)`, undone if it went
    /// negative (`ext_queue_sanity_checks` with `reserve_cq`).
    pub fn reserve(&mut self, cq: u32, n: u32) -> Result<(), SpaceError> {
        self.free -= i64::from(n);
        if self.free < 0 {
            self.free += i64::from(n);
            return Err(SpaceError::CompletionQueueFull {
                cq,
                free: self.free_slots(),
                needed: n,
            });
        }
        Ok(())
    }

    /// Give back `n` entries: a completion consumed (`free_slots_cnt++` in the CQ handler) or a
    /// reservation undone (`unroll_cq_resv`).
    pub fn release(&mut self, n: u32) {
        self.free = (self.free + i64::from(n)).min(i64::from(self.len));
    }

    /// Back to empty.
    pub fn reset(&mut self) {
        self.free = i64::from(self.len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(queue_type: QueueType, pq_len: u32) -> QueueProps {
        QueueProps {
            engine: Some(0),
            cq: Some(0),
            ..QueueProps::new(0, "Q", queue_type, pq_len)
        }
    }

    #[test]
    fn pointers_wrap_at_twice_the_length() {
        let mut q = HwQueue::new(&props(QueueType::External, 4));
        assert_eq!(q.free_slots(), 4);
        q.produce(4);
        assert_eq!((q.pi(), q.free_slots()), (4, 0), "full differs from empty");
        q.consume(3);
        q.produce(3);
        assert_eq!((q.pi(), q.ci(), q.pi_slot()), (7, 3, 3));
        q.consume(4);
        q.produce(2);
        // pi wrapped past 2L: d = pi - ci < 0, free = |d| - L.
        assert_eq!((q.pi(), q.ci()), (1, 7));
        assert_eq!(q.free_slots(), 2);
    }

    #[test]
    fn space_checks_by_type() {
        let int = HwQueue::new(&props(QueueType::Internal, 8));
        assert_eq!(
            int.check_space(9),
            Err(SpaceError::ExceedsInternalQueue { len: 8, needed: 9 })
        );
        let mut ext = HwQueue::new(&props(QueueType::External, 8));
        ext.produce(6);
        assert_eq!(
            ext.check_space(3),
            Err(SpaceError::QueueFull { free: 2, needed: 3 })
        );
        assert_eq!(ext.check_space(3).map_err(|e| e.errno()), Err(-11));
        assert_eq!(int.check_space(9).map_err(|e| e.errno()), Err(-12));
    }

    #[test]
    fn cq_reservation_undoes_itself() {
        let mut cq = CompletionQueue::new(4);
        cq.reserve(0, 3).expect("fits");
        assert_eq!(
            cq.reserve(0, 2),
            Err(SpaceError::CompletionQueueFull {
                cq: 0,
                free: 1,
                needed: 2
            })
        );
        assert_eq!(cq.free_slots(), 1, "a failed reservation changes nothing");
        cq.release(3);
        assert_eq!(cq.free_slots(), 4);
    }
}
