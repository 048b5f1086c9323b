//! A context's outcome store (`ctx->outcome_store`, §2.4 step 10 and §4): how the CSs that
//! asked for a timestamp ended, kept after their fences left the ring, so a wait on such a CS
//! still gets its timestamp or its error instead of "gone".
//!
//! As in the driver: a fixed number of entries made up front (`HL_CS_OUTCOME_HISTORY_LEN`), the
//! oldest dropped when a new one finds the store full ("outcome was lost"), and a lookup that
//! finds an entry removes it (a second wait on the same seq reports gone). The driver hashes by
//! seq; a scan of at most 256 entries is as quick here and needs no second structure. Only CSs
//! submitted with a timestamp reach the store, so the default CS never takes its lock.

use crate::fence::{Outcome, Signalled, Timestamp};
use crate::sync::lock;
use std::collections::VecDeque;
use std::sync::Mutex;

/// `HL_CS_OUTCOME_HISTORY_LEN`: entries per context.
pub(crate) const OUTCOME_HISTORY_LEN: usize = 256;

#[derive(Debug, Clone, Copy)]
struct Entry {
    seq: u64,
    outcome: Outcome,
    timestamp: Option<Timestamp>,
}

/// See the [module docs](self).
#[derive(Debug)]
pub(crate) struct OutcomeStore {
    /// Oldest first; its capacity is made once, so a push never allocates.
    entries: Mutex<VecDeque<Entry>>,
}

impl OutcomeStore {
    pub(crate) fn new() -> OutcomeStore {
        OutcomeStore {
            entries: Mutex::new(VecDeque::with_capacity(OUTCOME_HISTORY_LEN)),
        }
    }

    /// `hl_push_cs_outcome`: remember how `seq` ended, dropping the oldest entry when full.
    pub(crate) fn push(&self, seq: u64, outcome: Outcome, timestamp: Option<Timestamp>) {
        let mut entries = lock(&self.entries);
        if entries.len() == OUTCOME_HISTORY_LEN {
            entries.pop_front();
        }
        entries.push_back(Entry {
            seq,
            outcome,
            timestamp,
        });
    }

    /// `hl_pop_cs_outcome`: how `seq` ended, if the store still has it; the entry is removed.
    pub(crate) fn pop(&self, seq: u64) -> Option<Signalled> {
        let mut entries = lock(&self.entries);
        let at = entries.iter().position(|e| e.seq == seq)?;
        let e = entries.remove(at)?;
        Some(Signalled {
            outcome: e.outcome,
            timestamp: e.timestamp,
        })
    }

    /// Forget everything (the context slot is handed to a new user).
    pub(crate) fn clear(&self) {
        lock(&self.entries).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ns: u64) -> Option<Timestamp> {
        Some(Timestamp::from_nanos(ns))
    }

    #[test]
    fn a_lookup_finds_an_entry_once() {
        let store = OutcomeStore::new();
        store.push(7, Outcome::Ok, at(70));
        store.push(8, Outcome::Aborted, None);
        assert_eq!(store.pop(9), None);
        assert_eq!(
            store.pop(8),
            Some(Signalled {
                outcome: Outcome::Aborted,
                timestamp: None
            })
        );
        assert_eq!(store.pop(8), None, "one-shot");
        assert_eq!(store.pop(7).map(|s| s.timestamp), Some(at(70)));
    }

    #[test]
    fn a_full_store_drops_its_oldest_entry() {
        let store = OutcomeStore::new();
        let n = OUTCOME_HISTORY_LEN as u64;
        for seq in 1..=n + 1 {
            store.push(seq, Outcome::Ok, at(seq));
        }
        assert_eq!(store.pop(1), None, "the oldest outcome was lost");
        assert!(store.pop(2).is_some());
        assert!(store.pop(n + 1).is_some());
        let capacity = lock(&store.entries).capacity();
        assert!((OUTCOME_HISTORY_LEN..2 * OUTCOME_HISTORY_LEN).contains(&capacity));
    }

    #[test]
    fn clear_forgets_everything() {
        let store = OutcomeStore::new();
        store.push(1, Outcome::TimedOut, None);
        store.clear();
        assert_eq!(store.pop(1), None);
    }
}
