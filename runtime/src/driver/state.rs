//! The completion side, behind the driver's `cs_mirror_lock` (and what its CQ interrupt handler
//! does): the CS table, the mirror list of in-flight CSs, the TDR timer, the engines' job counts
//! and the simulator's lanes. Submission runs on its own lock (`hw_queues.rs`); the two meet
//! lock-free in `handoff.rs`, and this side drains what the submitters handed over before it
//! completes anything.
//!
//! `tdr.rs` and `reset.rs` add the timer and the reset. Every method runs with the lock held and
//! leaves signals, wake-ups and a requested reset in [`Effects`].

use crate::asic::{Asic, CompletionMode, CsEvent, QueueType};
use crate::driver::backend::{EngineJob, JobDoneError, JobEnd, JobId};
use crate::driver::config::{DeviceStats, DriverConfig};
use crate::driver::cs::{self, CsRecord, NIL};
use crate::driver::effects::Effects;
use crate::driver::engine::EngineMask;
use crate::driver::handoff::{Handoff, RingEnds, Submitted};
use crate::driver::sync_stream::{RSVD_SOBS, StagedInfo, SyncManager, SyncRole};
use crate::fence::{Outcome, Timestamp};
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

/// The armed TDR timer: one per device, on the oldest in-flight CS that needs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Armed {
    pub(crate) record: u32,
    pub(crate) seq: u64,
    pub(crate) ticket: u64,
    pub(crate) deadline: u64,
}

/// Released CSs by outcome, counted on the side that released them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Released {
    pub(crate) completed: u64,
    pub(crate) timed_out: u64,
    pub(crate) aborted: u64,
    pub(crate) not_submitted: u64,
    pub(crate) lifecycle_violations: u64,
}

impl Released {
    pub(crate) fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.completed += 1,
            Outcome::TimedOut => self.timed_out += 1,
            Outcome::Aborted => self.aborted += 1,
            _ => self.not_submitted += 1,
        }
    }

    /// The outcome to signal for `rec`, which is being released, counted: the terminal state's
    /// outcome, or, if the spec and the runtime disagree, a panic in debug builds and `Aborted`
    /// plus a counted lifecycle violation in release builds (`cs.rs` says why).
    pub(crate) fn settle<A: Asic>(&mut self, rec: &CsRecord<A::CsState>) -> Outcome {
        let outcome = match cs::release_outcome::<A>(rec) {
            Ok(outcome) => outcome,
            Err(violation) => {
                if cfg!(debug_assertions) {
                    panic!("{violation}");
                }
                self.lifecycle_violations += 1;
                Outcome::Aborted
            }
        };
        self.count(outcome);
        outcome
    }

    /// Add these counts into `stats`.
    pub(crate) fn add_to(&self, stats: &mut DeviceStats) {
        stats.completed += self.completed;
        stats.timed_out += self.timed_out;
        stats.aborted += self.aborted;
        stats.not_submitted += self.not_submitted;
        stats.lifecycle_violations += self.lifecycle_violations;
    }
}

pub(crate) struct State<A: Asic> {
    pub(crate) cfg: DriverConfig,
    pub(crate) handoff: Arc<Handoff>,
    /// The consuming ends of the submission log and the lane rings.
    rings: RingEnds,
    pub(crate) records: Box<[CsRecord<A::CsState>]>,
    pub(crate) mirror_head: u32,
    pub(crate) mirror_tail: u32,
    pub(crate) in_flight: u64,
    pub(crate) tdr: Option<Armed>,
    pub(crate) tdr_sleep_until: u64,
    /// Per engine, jobs queued or running on it (the busy mask).
    pub(crate) engine_jobs: Box<[u32]>,
    /// Per lane, its jobs by due time.
    pub(crate) heaps: Box<[BinaryHeap<EngineJob>]>,
    /// Jobs whose backend reports their end (`Started::Running`), by id: started, not
    /// reported yet.
    pub(crate) running: HashMap<JobId, EngineJob>,
    pub(crate) released: Released,
    pub(crate) tdr_fired: u64,
    pub(crate) resets: u64,
    /// Reset requests served by another reset (`DeviceStats::resets_merged`).
    pub(crate) resets_merged: u64,
    pub(crate) engine_faults: u64,
    pub(crate) needs_reset: bool,
    /// The sync manager: SOB values and references, monitors, held jobs (§5).
    pub(crate) sm: SyncManager,
    /// Per CS row, its place in a staged submission (§5), written by the submitter under this
    /// lock.
    pub(crate) staged: Box<[StagedInfo]>,
    /// Per CS row, when its sync-stream CS was scheduled (device clock), written by the
    /// submitter under this lock; empty on a generation without sync streams.
    pub(crate) sync_started: Box<[u64]>,
}

/// Position of raw queue id `id` in `A::QUEUES`.
pub(crate) fn queue_index<A: Asic>(id: u32) -> Option<usize> {
    A::QUEUES.binary_search_by_key(&id, |q| q.id).ok()
}

/// Position of raw engine id `id` in `A::ENGINES`.
pub(crate) fn engine_index<A: Asic>(id: u32) -> Option<usize> {
    A::ENGINES.binary_search_by_key(&id, |e| e.id).ok()
}

/// Per lane, room for every job its queues can hold at once, capped.
pub(crate) fn lane_capacities<A: Asic>(lanes: usize) -> Vec<usize> {
    let lanes = lanes.max(1);
    let mut caps = vec![0usize; lanes];
    for q in A::QUEUES {
        let lane = q
            .engine
            .and_then(engine_index::<A>)
            .map_or(0, |e| e % lanes);
        caps[lane] += q.pq_len as usize;
    }
    caps
}

/// Use-table entries per record: a CS touches at most this many queues besides the first,
/// whose use rides in its log entry (`handoff.rs`).
pub(crate) fn use_stride<A: Asic>() -> usize {
    A::QUEUES
        .len()
        .min(A::LIMITS.max_jobs_per_cs as usize)
        .saturating_sub(1)
}

impl<A: Asic> State<A> {
    pub(crate) fn new(cfg: DriverConfig, handoff: Arc<Handoff>, rings: RingEnds) -> State<A> {
        let records_len = A::LIMITS.max_pending_cs as usize * cfg.contexts as usize;
        State {
            cfg,
            records: (0..records_len)
                .map(|_| CsRecord::empty(A::INITIAL_STATE))
                .collect(),
            mirror_head: NIL,
            mirror_tail: NIL,
            in_flight: 0,
            tdr: None,
            tdr_sleep_until: 0,
            engine_jobs: vec![0; A::ENGINES.len()].into_boxed_slice(),
            // why: room for every job the queues of a lane can hold at once (capped), so the
            // heap stops growing after warm-up; beyond that it grows once and keeps its capacity.
            heaps: lane_capacities::<A>(cfg.lanes)
                .into_iter()
                .map(|cap| BinaryHeap::with_capacity(cap.min(1 << 14)))
                .collect(),
            // Empty (no allocation) until a backend answers `Running`.
            running: HashMap::new(),
            released: Released::default(),
            tdr_fired: 0,
            resets: 0,
            resets_merged: 0,
            engine_faults: 0,
            needs_reset: false,
            staged: vec![StagedInfo::default(); records_len].into_boxed_slice(),
            sync_started: vec![
                0;
                if A::FEATURES.sync_stream {
                    records_len
                } else {
                    0
                }
            ]
            .into_boxed_slice(),
            sm: SyncManager::new::<A>(
                A::QUEUES.iter().filter(|q| q.supports_sync_stream).count() * RSVD_SOBS as usize,
            ),
            handoff,
            rings,
        }
    }

    /// The device clock in ns.
    pub(crate) fn now(&self) -> u64 {
        self.handoff.now(self.cfg.clock)
    }

    pub(crate) fn set_operational(&self, on: bool) {
        self.handoff.set_operational(on);
    }

    /// Ask for a reset once the completion lock is dropped (it takes the submission lock
    /// first). A request while one is already pending here is served by that one: counted as
    /// merged.
    pub(crate) fn request_reset(&mut self, out: &mut Effects) {
        if out.reset.is_some() {
            self.resets_merged += 1;
        } else {
            out.reset = Some(self.resets);
        }
    }

    /// Take over what submitters handed over: jobs into their lanes' heaps first, then the CSs
    /// into the mirror list (module docs of `handoff.rs` say why in that order).
    pub(crate) fn drain(&mut self, out: &mut Effects) {
        for (lane, ring) in self.rings.lanes.iter_mut().enumerate() {
            while let Ok(job) = ring.pop() {
                if let Some(e) = job.engine {
                    self.engine_jobs[e as usize] += 1;
                }
                if job.reported {
                    self.running.insert(JobId(job.order), job);
                } else if job.end != JobEnd::Hang {
                    self.heaps[lane].push(job);
                }
            }
        }
        while let Ok(entry) = self.rings.log.pop() {
            self.enter(entry, out);
        }
    }

    /// When the next job of `lane` is due.
    pub(crate) fn next_due(&self, lane: usize) -> Option<u64> {
        self.heaps[lane].peek().map(|j| j.due)
    }

    /// Whether submitters handed over anything not drained yet (a worker about to park looks
    /// once more, after saying so).
    pub(crate) fn has_handed_over(&self) -> bool {
        !self.rings.log.is_empty() || self.rings.lanes.iter().any(|l| !l.is_empty())
    }

    /// A submitted CS joins the mirror list (`hl_hw_queue_schedule_cs` after the doorbells):
    /// `Submit` fires, and a new head arms the TDR from now. That is when the completion side
    /// takes the CS in, at most one completion batch after the submitter wrote it (microseconds;
    /// the driver's own TDR runs on jiffies), which spares the submit path a clock read. On the
    /// virtual clock the two are the same instant. The clock is read here, after the entry was
    /// taken, never earlier: a time read before the submitter wrote the CS would arm its TDR
    /// before it existed.
    fn enter(&mut self, s: Submitted, out: &mut Effects) {
        let idx = s.record;
        let rec = &mut self.records[idx as usize];
        rec.start(s.seq, A::INITIAL_STATE, s.fence);
        rec.ticket = s.ticket;
        rec.wants_timestamp = s.wants_timestamp;
        rec.timeout_ns = s.timeout_ns;
        rec.first_use = s.first_use;
        rec.uses = s.uses;
        rec.pending = s.pending;
        rec.sync = s.sync;
        rec.submitted = true;
        cs::fire::<A>(rec, CsEvent::Submit);
        self.mirror_append(idx);
        if self.mirror_head == idx && self.records[idx as usize].timeout_ns.is_some() {
            let now = self.now();
            self.arm(idx, now, out);
        }
    }

    /// A job came due: the engine finished it (the CQ interrupt, `job_finish`, or per-CS
    /// `cs_finish` once the last job of the CS is done). `now` is the device clock read once for
    /// the whole batch of completions (one interrupt, one timestamp), not once per job.
    pub(crate) fn complete_job(&mut self, job: EngineJob, now: u64, out: &mut Effects) {
        if let Some(e) = job.engine {
            let jobs = &mut self.engine_jobs[e as usize];
            *jobs = jobs.saturating_sub(1);
        }
        if job.end == JobEnd::Fault {
            // The engine error interrupt: the device stops taking work now and is reset once
            // this lock is dropped (the reset takes the submission lock first, as the driver
            // orders its locks).
            self.engine_faults += 1;
            self.set_operational(false);
            self.request_reset(out);
            return;
        }
        if !job.completes {
            return;
        }
        let rec = &self.records[job.record as usize];
        if rec.ticket != job.ticket || !rec.submitted || rec.pending == 0 {
            return; // stale: the CS was rolled back before its job came due
        }
        // §5: a sync-stream job, or any job while the sync manager holds jobs back.
        if rec.sync != SyncRole::None || self.sm.held_count > 0 {
            self.complete_sync(job, now, out);
            return;
        }
        self.finish_job(job, now, out);
    }

    /// A sync-stream job came due, or a job while monitors hold jobs: a job whose queue is held
    /// up, or whose monitor would not fire yet, is held on its engine (`sync_stream.rs`);
    /// otherwise it completes, and a signal job first moves its SOB on, which may fire monitors:
    /// the jobs they release go back to their engine lanes, due as late as the engine stalled.
    fn complete_sync(&mut self, job: EngineJob, now: u64, out: &mut Effects) {
        let rec = &self.records[job.record as usize];
        let role = rec.sync;
        let gate = match role {
            SyncRole::Wait { sob, val } => Some((sob, val)),
            _ => None,
        };
        if !job.released && self.sm.must_hold(job.queue as usize, gate) {
            if let Some(e) = job.engine {
                // Still on its engine, stalled on the fence.
                self.engine_jobs[e as usize] += 1;
            }
            let heads = self.sm.is_idle(job.queue as usize);
            let start = self.sync_start(&job);
            self.sm.hold(job, gate, now, start);
            if heads {
                self.hold_behind(job, now);
            }
            return;
        }
        if let SyncRole::Signal { sob } = role {
            self.sm.signal(sob, now);
            self.requeue_released(out);
        }
        self.finish_job(job, now, out);
    }

    /// The queue of `job` stalls behind it: its later jobs still in their lane (not due yet)
    /// are held behind it too, so that they run only after it, as late as it stalled.
    fn hold_behind(&mut self, job: EngineJob, now: u64) {
        let lanes = self.heaps.len().max(1);
        let lane = job.engine.map_or(0, |e| e as usize % lanes);
        let mut behind = Vec::new();
        self.heaps[lane].retain(|j| {
            let later = j.queue == job.queue && j.order > job.order;
            if later {
                behind.push(*j);
            }
            !later
        });
        behind.sort_unstable_by_key(|j| j.order);
        for j in behind {
            let gate = match self.records[j.record as usize].sync {
                SyncRole::Wait { sob, val }
                    if self.records[j.record as usize].ticket == j.ticket =>
                {
                    Some((sob, val))
                }
                _ => None,
            };
            let start = self.sync_start(&j);
            self.sm.hold(j, gate, now, start);
        }
    }

    /// When the sync-stream CS of `job` was scheduled, if it is one.
    fn sync_start(&self, job: &EngineJob) -> Option<u64> {
        let r = job.record as usize;
        let rec = &self.records[r];
        (rec.ticket == job.ticket && rec.sync != SyncRole::None)
            .then(|| self.sync_started.get(r).copied())
            .flatten()
    }

    /// Hand the jobs monitors released back to their lanes (they stay counted on their engines
    /// until their completion takes the count off, as for any job in a lane).
    fn requeue_released(&mut self, out: &mut Effects) {
        let lanes = self.heaps.len().max(1);
        while let Some(job) = self.sm.ready.pop_front() {
            let lane = job.engine.map_or(0, |e| e as usize % lanes);
            self.heaps[lane].push(job);
            out.wake_lanes |= 1 << lane;
        }
    }

    /// The rest of [`complete_job`](Self::complete_job) for a live job that completes now.
    #[inline]
    fn finish_job(&mut self, job: EngineJob, now: u64, out: &mut Effects) {
        let per_job = A::LIMITS.completion == CompletionMode::PerJob;
        let idx = job.record as usize;
        if per_job {
            // job_finish: this job's queue moves on by one.
            self.consume_one(idx, job.queue as usize);
        }
        let rec = &mut self.records[idx];
        rec.pending -= 1;
        if rec.pending > 0 {
            return;
        }
        rec.completed_at = Some(now);
        if !per_job {
            // cs_finish: the queue of every job of the CS moves on.
            self.consume_uses(idx, |_| true);
        }
        cs::fire::<A>(&mut self.records[idx], CsEvent::JobsDone);
        self.release(job.record, now, out);
    }

    /// The engines reported how job `id` ended (the completion interrupt of a backend whose jobs
    /// run until reported): it completes now, as a job that came due does. Everything handed
    /// over must have been drained first (the caller holds the submission lock too, so the job
    /// was pushed before its report is looked up).
    pub(crate) fn report(
        &mut self,
        id: JobId,
        end: JobEnd,
        out: &mut Effects,
    ) -> Result<(), JobDoneError> {
        if end == JobEnd::Hang {
            return Err(JobDoneError::NotAnEnd);
        }
        let mut job = self
            .running
            .remove(&id)
            .ok_or(JobDoneError::UnknownJob(id))?;
        job.end = end;
        let now = self.now();
        self.complete_job(job, now, out);
        Ok(())
    }

    /// Advance `ci` of the CS's queues that `which` selects by the job counts still recorded
    /// for them, and record them as consumed.
    fn consume_uses(&mut self, idx: usize, which: impl Fn(QueueType) -> bool) {
        self.consume_uses_cq(idx, which, true);
    }

    /// [`consume_uses`](Self::consume_uses); `cq` false for a CS that reserved no CQ entries
    /// (a staged CS before the last, §5).
    fn consume_uses_cq(&mut self, idx: usize, which: impl Fn(QueueType) -> bool, cq: bool) {
        for k in 0..self.records[idx].uses as usize {
            let packed = self.use_of(idx, k);
            let (q, n) = ((packed >> 32) as usize, packed as u32);
            if n > 0 && which(A::QUEUES[q].queue_type) {
                self.set_use(idx, k, packed & !u64::from(u32::MAX));
                self.consume(q, n, cq);
            }
        }
    }

    /// One job of record `idx` on queue `q` finished on its own (`job_finish`): the queue moves
    /// on by one, and the CS's recorded count for it goes down by one.
    fn consume_one(&mut self, idx: usize, q: usize) {
        for k in 0..self.records[idx].uses as usize {
            let packed = self.use_of(idx, k);
            if (packed >> 32) as usize == q && packed as u32 > 0 {
                self.set_use(idx, k, packed - 1);
                break;
            }
        }
        self.consume(q, 1, true);
    }

    /// Use `k` of record `idx`, packed `(queue << 32) | count`: the first came in the CS's log
    /// entry, the others from the use table, whose words the entry's pop made visible (only this
    /// side writes them afterwards, under its lock).
    fn use_of(&self, idx: usize, k: usize) -> u64 {
        match k.checked_sub(1) {
            None => self.records[idx].first_use,
            Some(t) => self.handoff.uses[idx * self.handoff.stride + t].get(),
        }
    }

    fn set_use(&mut self, idx: usize, k: usize, packed: u64) {
        match k.checked_sub(1) {
            None => self.records[idx].first_use = packed,
            Some(t) => self.handoff.uses[idx * self.handoff.stride + t].put(packed),
        }
    }

    /// Advance `ci` of queue `q` by `n` (`hl_hw_queue_add_ptr`, in `[0, 2L)`); an external
    /// queue also gives its `n` completion-queue entries back (the CQ interrupt handler's
    /// `free_slots_cnt` increment), in either completion mode.
    fn consume(&self, q: usize, n: u32, cq: bool) {
        let props = &A::QUEUES[q];
        let len = props.pq_len.max(1);
        let ci = &self.handoff.ci[q];
        // A submitter that sees the new `ci` may overwrite the consumed entries.
        ci.advance_to(ci.own().wrapping_add(n) & (2 * len - 1));
        if let (true, QueueType::External, Some(cq)) = (cq, props.queue_type, props.cq)
            && let Some(released) = self.handoff.cq_released.get(cq as usize)
        {
            // The submitter that reads the count may reuse the entries.
            released.add(n);
        }
    }

    /// `hl_ctx_fini` with CSs in flight: roll back every CS of context slot `index` (the
    /// caller holds both locks, so everything handed over is in the mirror list). Each is
    /// marked aborted, gets `Reset` and is released, so its waiters return; its jobs leave
    /// their queues with it (their `ci` and CQ entries move on now; a job still on an engine
    /// is ignored when it comes due).
    pub(crate) fn rollback_context(&mut self, index: usize, out: &mut Effects) {
        let ring_len = A::LIMITS.max_pending_cs as usize;
        let mine = index * ring_len..(index + 1) * ring_len;
        let now = self.now();
        let mut cur = self.mirror_head;
        while cur != NIL {
            let next = self.records[cur as usize].next;
            if mine.contains(&(cur as usize)) {
                self.consume_uses(cur as usize, |_| true);
                let rec = &mut self.records[cur as usize];
                rec.aborted = true;
                cs::fire::<A>(rec, CsEvent::Reset);
                self.release(cur, now, out);
            }
            cur = next;
        }
        // Their jobs held by monitors go with them; what was queued behind them may run now.
        let records = &self.records;
        let engine_jobs = &mut self.engine_jobs;
        self.sm.forget(
            now,
            |job| {
                let rec = &records[job.record as usize];
                rec.ticket != job.ticket || !rec.submitted
            },
            |job| {
                if let Some(e) = job.engine {
                    let jobs = &mut engine_jobs[e as usize];
                    *jobs = jobs.saturating_sub(1);
                }
            },
        );
        self.requeue_released(out);
    }

    /// `cs_do_release`: internal-queue `ci`, leave the mirror list, hand the TDR on, and signal
    /// the fence with the outcome of the terminal state. `now` is the device clock (for arming
    /// the next CS's TDR).
    pub(crate) fn release(&mut self, idx: u32, now: u64, out: &mut Effects) {
        let i = idx as usize;
        let staged = self.staged_info(i);
        if self.records[i].submitted {
            if staged.is_some_and(|s| !s.last) {
                // hl_hw_queue_update_ci: a staged CS before the last got no completion, every
                // queue of it moves on now (it reserved no CQ entries).
                self.consume_uses_cq(i, |_| true, false);
            } else if A::LIMITS.completion == CompletionMode::PerJob {
                // hl_hw_queue_update_ci: internal jobs finish with their CS.
                self.consume_uses(i, |t| t == QueueType::Internal);
            }
            self.mirror_remove(idx);
            self.handle_tdr(idx, now, out);
            // cs_release_sob_reset_handler: a signal or wait CS puts its SOB reference, and so
            // does a staged first CS its bound reservation's.
            if let Some(sob) = self.records[i].sync.sob() {
                self.sm.put(sob);
            }
            if let Some((sob, _, _)) = staged.and_then(|s| s.encaps) {
                self.sm.put(sob);
            }
        }
        let rec = &mut self.records[i];
        let outcome = self.released.settle::<A>(rec);
        let wants_timestamp = rec.wants_timestamp;
        let timestamp = if wants_timestamp {
            rec.completed_at.map(Timestamp::from_nanos)
        } else {
            None
        };
        let fence = rec.fence.take();
        rec.seq = 0;
        rec.ticket = 0;
        rec.submitted = false;
        rec.pending = 0;
        rec.uses = 0;
        rec.first_use = 0;
        rec.sync = SyncRole::None;
        let aborted = rec.aborted;
        match fence {
            // §2.4 step 10: a CS that asked for a timestamp leaves its end in the context's
            // outcome store (records are laid out context by context, `ring_len` each).
            Some(fence) if wants_timestamp => {
                let context = idx / A::LIMITS.max_pending_cs;
                out.signal_and_store(context, fence, outcome, timestamp);
            }
            Some(fence) => out.signal(fence, outcome, timestamp),
            None => {}
        }
        self.staged[i].ticket = 0;
        // The last CS of a staged submission puts the references of the others: they are
        // released now, their jobs done with it. A reset or a context rollback releases each
        // CS itself.
        if let Some(s) = staged.filter(|s| s.last && !aborted) {
            // The submission ran: the signals of a reservation bound to it were sent.
            let first = if s.first {
                Some(s)
            } else {
                self.staged_info(s.chain as usize)
                    .filter(|f| f.ticket == s.chain_ticket)
            };
            if let Some((sob, _, count)) = first.and_then(|f| f.encaps) {
                self.sm.signal_by(sob, count, now);
                self.requeue_released(out);
            }
            let mut cur = self.mirror_head;
            while cur != NIL {
                let next = self.records[cur as usize].next;
                if self
                    .staged_info(cur as usize)
                    .is_some_and(|m| (m.chain, m.chain_ticket) == (s.chain, s.chain_ticket))
                {
                    cs::fire::<A>(&mut self.records[cur as usize], CsEvent::JobsDone);
                    self.records[cur as usize].completed_at = Some(now);
                    self.release(cur, now, out);
                }
                cur = next;
            }
        }
    }

    /// Row `i`'s place in a staged submission, if its CS is part of one.
    pub(crate) fn staged_info(&self, i: usize) -> Option<StagedInfo> {
        let s = self.staged[i];
        (s.ticket != 0 && s.ticket == self.records[i].ticket).then_some(s)
    }

    /// The reservation bound to staged submission `seq` in row `r` (its SOB, `pre_sob_val` and
    /// count), if that submission is in flight with one.
    pub(crate) fn encaps_of(&self, r: usize, seq: u64) -> Option<(u16, u32, u32)> {
        if !self.is_staged_first_in_flight(r, seq) {
            return None;
        }
        self.staged_info(r).and_then(|s| s.encaps)
    }

    /// Whether row `r` holds the first CS of staged submission `seq`, in flight
    /// (`hl_staged_cs_find_first`).
    pub(crate) fn is_staged_first_in_flight(&self, r: usize, seq: u64) -> bool {
        let rec = &self.records[r];
        rec.seq == seq && rec.in_mirror && self.staged_info(r).is_some_and(|s| s.first)
    }

    fn mirror_append(&mut self, idx: u32) {
        let tail = self.mirror_tail;
        let rec = &mut self.records[idx as usize];
        rec.prev = tail;
        rec.next = NIL;
        rec.in_mirror = true;
        if tail == NIL {
            self.mirror_head = idx;
        } else {
            self.records[tail as usize].next = idx;
        }
        self.mirror_tail = idx;
        self.in_flight += 1;
    }

    fn mirror_remove(&mut self, idx: u32) {
        let rec = &mut self.records[idx as usize];
        if !rec.in_mirror {
            return;
        }
        let (prev, next) = (rec.prev, rec.next);
        rec.in_mirror = false;
        rec.prev = NIL;
        rec.next = NIL;
        if prev == NIL {
            self.mirror_head = next;
        } else {
            self.records[prev as usize].next = next;
        }
        if next == NIL {
            self.mirror_tail = prev;
        } else {
            self.records[next as usize].prev = prev;
        }
        self.in_flight -= 1;
    }

    /// The earliest pending event: a due job or the TDR deadline (jobs first on a tie).
    fn next_event(&self) -> Option<(u64, Option<usize>)> {
        let job = self
            .heaps
            .iter()
            .enumerate()
            .filter_map(|(i, heap)| heap.peek().map(|j| (j.due, Some(i))))
            .min();
        let tdr = self.tdr.map(|a| (a.deadline, None));
        match (job, tdr) {
            (Some(j), Some(t)) => Some(if t.0 < j.0 { t } else { j }),
            (j, t) => j.or(t),
        }
    }

    /// Virtual mode: process the earliest event due at or before `limit`, moving the clock to
    /// it. `false` if there is none.
    pub(crate) fn step(&mut self, limit: u64, out: &mut Effects) -> bool {
        self.drain(out);
        let Some((at, lane)) = self.next_event() else {
            return false;
        };
        if at > limit {
            return false;
        }
        let now = self.handoff.virtual_now.advance_to(at);
        match lane {
            Some(l) => {
                if let Some(job) = self.heaps[l].pop() {
                    self.complete_job(job, now, out);
                }
            }
            None => self.fire_tdr(out),
        }
        true
    }

    /// Real mode: take over what submitters handed over, then complete up to `budget` due jobs
    /// of `lane` (stopping early if one of them asks for a reset); returns how many, when its
    /// next job is due, and the device time it used.
    pub(crate) fn run_lane(
        &mut self,
        lane: usize,
        budget: usize,
        out: &mut Effects,
    ) -> (usize, Option<u64>, u64) {
        // why: the clock is read after the drain, so every job taken in was written before
        // it: a zero-latency job completes at a time no earlier than its submission. (Read
        // first, a job pushed during the drain was stamped up to tens of µs before its submit.)
        self.drain(out);
        let now = self.now();
        let done = self.complete_due(lane, now, budget, out);
        (done, self.heaps[lane].peek().map(|j| j.due), now)
    }

    /// [`run_lane`](Self::run_lane) for every lane at one clock read, as a waiter that polls
    /// the engines does (`Core::poll_engines`); returns the jobs completed.
    pub(crate) fn run_lanes(&mut self, budget: usize, out: &mut Effects) -> usize {
        // As in `run_lane`: the clock after the drain.
        self.drain(out);
        let now = self.now();
        (0..self.heaps.len())
            .map(|lane| self.complete_due(lane, now, budget, out))
            .sum()
    }

    /// Complete up to `budget` jobs of `lane` due by `now` (none once a reset is asked for).
    fn complete_due(&mut self, lane: usize, now: u64, budget: usize, out: &mut Effects) -> usize {
        let mut done = 0;
        while done < budget && out.reset.is_none() {
            match self.heaps[lane].peek() {
                Some(job) if job.due <= now => {}
                _ => break,
            }
            if let Some(job) = self.heaps[lane].pop() {
                self.complete_job(job, now, out);
                done += 1;
            }
        }
        done
    }

    /// The busy-engines mask.
    pub(crate) fn busy_engines(&self) -> EngineMask {
        let mut mask = EngineMask::new(A::ENGINE_ID_SIZE);
        for (e, &jobs) in self.engine_jobs.iter().enumerate() {
            if jobs > 0 {
                mask.set(A::ENGINES[e].id);
            }
        }
        mask
    }
}
