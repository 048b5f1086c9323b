//! The device state behind the device lock (the driver's `hw_queues_lock` and `cs_mirror_lock`
//! in one): hardware queues, completion queues, the CS table, the mirror list of in-flight CSs,
//! the TDR timer, the engines and the simulator's lanes.
//!
//! This file has submission and completion; `tdr.rs` and `reset.rs` add the timer and the reset.
//! Every method runs with the lock held and leaves signals and wake-ups in [`Effects`].

use crate::asic::{Asic, CompletionMode, CsEvent, QueueType};
use crate::context::Context;
use crate::cs::{self, CsRecord, NIL};
use crate::device::{DeviceConfig, DeviceStats};
use crate::effects::Effects;
use crate::engine::{EngineMask, EngineState};
use crate::fence::{Outcome, Timestamp};
use crate::queue::{CompletionQueue, HwQueue};
use crate::sim::{self, ClockMode, Drawn, JobEnd, SimJob, XorShift};
use crate::submit::{CbChoice, CsSubmit, Job, QueueRejection, SubmitError};
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The armed TDR timer: one per device, on the oldest in-flight CS that needs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Armed {
    pub(crate) record: u32,
    pub(crate) seq: u64,
    pub(crate) deadline: u64,
}

/// One engine lane: its jobs by due time, and when its worker (real mode) sleeps until.
pub(crate) struct Lane {
    pub(crate) heap: BinaryHeap<SimJob>,
    /// 0 while the worker is awake; otherwise the time it sleeps until (`u64::MAX`: no timeout).
    pub(crate) sleep_until: u64,
}

pub(crate) struct State<A: Asic> {
    pub(crate) cfg: DeviceConfig,
    /// Shared with the lock-free checks of `Device`; written only under the lock.
    pub(crate) operational: Arc<AtomicBool>,
    pub(crate) queues: Box<[HwQueue]>,
    pub(crate) cqs: Box<[CompletionQueue]>,
    pub(crate) records: Box<[CsRecord<A::CsState>]>,
    /// Per record, `stride` packed `(queue index << 16) | job count` pairs
    /// (the driver's `jobs_in_queue_cnt`, without its zero entries).
    uses: Box<[u32]>,
    stride: usize,
    /// Jobs per queue of the CS being scheduled, and the queues it touches.
    scratch: Box<[u16]>,
    touched: Vec<u16>,
    pub(crate) ring_len: u32,
    pub(crate) mirror_head: u32,
    pub(crate) mirror_tail: u32,
    pub(crate) tdr: Option<Armed>,
    pub(crate) tdr_sleep_until: u64,
    pub(crate) engines: Box<[EngineState]>,
    pub(crate) lanes: Box<[Lane]>,
    pub(crate) virtual_now: u64,
    rng: XorShift,
    order: u64,
    pub(crate) stats: DeviceStats,
}

/// Position of raw queue id `id` in `A::QUEUES`.
pub(crate) fn queue_index<A: Asic>(id: u32) -> Option<usize> {
    A::QUEUES.binary_search_by_key(&id, |q| q.id).ok()
}

/// Position of raw engine id `id` in `A::ENGINES`.
fn engine_index<A: Asic>(id: u32) -> Option<usize> {
    A::ENGINES.binary_search_by_key(&id, |e| e.id).ok()
}

impl<A: Asic> State<A> {
    pub(crate) fn new(cfg: DeviceConfig, operational: Arc<AtomicBool>) -> State<A> {
        let ring_len = A::LIMITS.max_pending_cs;
        let records_len = ring_len as usize * cfg.contexts as usize;
        let stride = A::QUEUES
            .len()
            .min(A::LIMITS.max_jobs_per_cs as usize)
            .max(1);
        let lanes = cfg.sim.lanes.max(1);
        // why: room for every job the queues of a lane can hold at once (capped), so the heap
        // stops growing after warm-up; beyond that it grows once and keeps its capacity.
        let mut lane_cap = vec![0usize; lanes];
        for q in A::QUEUES {
            let lane = q
                .engine
                .and_then(engine_index::<A>)
                .map_or(0, |e| e % lanes);
            lane_cap[lane] += q.pq_len as usize;
        }
        let cq_len = A::LIMITS.cq_length.max(1);
        State {
            cfg,
            operational,
            queues: A::QUEUES.iter().map(HwQueue::new).collect(),
            cqs: (0..A::completion_queue_count())
                .map(|_| CompletionQueue::new(cq_len))
                .collect(),
            records: (0..records_len)
                .map(|_| CsRecord::empty(A::INITIAL_STATE))
                .collect(),
            uses: vec![0; records_len * stride].into_boxed_slice(),
            stride,
            scratch: vec![0; A::QUEUES.len()].into_boxed_slice(),
            touched: Vec::with_capacity(A::QUEUES.len()),
            ring_len,
            mirror_head: NIL,
            mirror_tail: NIL,
            tdr: None,
            tdr_sleep_until: 0,
            engines: vec![EngineState::default(); A::ENGINES.len()].into_boxed_slice(),
            lanes: lane_cap
                .into_iter()
                .map(|cap| Lane {
                    heap: BinaryHeap::with_capacity(cap.min(1 << 14)),
                    sleep_until: 0,
                })
                .collect(),
            virtual_now: 0,
            rng: XorShift::new(cfg.sim.seed),
            order: 0,
            stats: DeviceStats::default(),
        }
    }

    /// The device clock in ns.
    pub(crate) fn now(&self) -> u64 {
        match self.cfg.clock {
            ClockMode::Virtual => self.virtual_now,
            ClockMode::Real => Timestamp::now().as_nanos(),
        }
    }

    pub(crate) fn is_operational(&self) -> bool {
        self.operational.load(Ordering::Relaxed)
    }

    pub(crate) fn set_operational(&self, on: bool) {
        // Release: a submitter that sees `true` again sees the reset queues (it takes the lock
        // anyway before touching them; this only orders the early `-EBUSY` check).
        self.operational.store(on, Ordering::Release);
    }

    /// `cs_ioctl_default` from `allocate_cs` on: allocate, validate, schedule. On a failure after
    /// the allocation the CS is released as not submitted (its seq is used up).
    pub(crate) fn submit(
        &mut self,
        ctx: &Context,
        ctx_index: usize,
        cs: &CsSubmit<'_>,
        out: &mut Effects,
    ) -> Result<u64, SubmitError> {
        let (seq, fence) = ctx
            .allocate()
            .map_err(|pending_seq| SubmitError::TooManyInFlight {
                next_seq: ctx.next_seq(),
                pending_seq,
            })?;
        let slot = (seq & u64::from(self.ring_len - 1)) as usize;
        let idx = ctx_index * self.ring_len as usize + slot;
        let device_timeout = self.cfg.tdr_timeout.map(sim::duration_ns);
        let rec = &mut self.records[idx];
        rec.start(seq, A::INITIAL_STATE, fence);
        rec.wants_timestamp = cs.timestamp;
        // why: device TDR off (timeout 0) switches every timer off; a per-CS timeout of zero
        // switches off only this CS's (the driver would fire it at once, which no user wants).
        rec.timeout_ns = device_timeout.and_then(|dflt| match cs.timeout {
            None => Some(dflt),
            Some(t) if t.is_zero() => None,
            Some(t) => Some(sim::duration_ns(t)),
        });
        let result = self.schedule(idx as u32, seq, cs.jobs, out);
        for &q in &self.touched {
            self.scratch[q as usize] = 0;
        }
        self.touched.clear();
        match result {
            Ok(()) => Ok(seq),
            Err(e) => {
                cs::fire::<A>(&mut self.records[idx], CsEvent::ScheduleFailure);
                let now = self.now();
                self.release(idx as u32, now, out);
                Err(e)
            }
        }
    }

    /// Per job `validate_queue_index`, the only-internal rule, then `hl_hw_queue_schedule_cs`.
    fn schedule(
        &mut self,
        idx: u32,
        seq: u64,
        jobs: &[Job],
        out: &mut Effects,
    ) -> Result<(), SubmitError> {
        let mut completion_jobs = 0u32;
        for (i, job) in jobs.iter().enumerate() {
            let reject = |reason| SubmitError::InvalidQueue {
                seq,
                job: i,
                queue: job.queue,
                reason,
            };
            let q = queue_index::<A>(job.queue).ok_or(reject(QueueRejection::Unknown))?;
            let props = &A::QUEUES[q];
            if props.driver_only {
                return Err(reject(QueueRejection::DriverOnly));
            }
            if props.binned {
                return Err(reject(QueueRejection::Binned));
            }
            if props.queue_type == QueueType::Hw {
                match job.cb {
                    CbChoice::Kernel if !props.cb_alloc.allows_kernel() => {
                        return Err(reject(QueueRejection::KernelCbNotAllowed));
                    }
                    CbChoice::User if !props.cb_alloc.allows_user() => {
                        return Err(reject(QueueRejection::UserCbNotAllowed));
                    }
                    _ => {}
                }
            }
            if self.scratch[q] == 0 {
                self.touched.push(q as u16);
            }
            self.scratch[q] += 1;
            if props.queue_type.has_completion() {
                completion_jobs += 1;
            }
        }
        if completion_jobs == 0 {
            return Err(SubmitError::OnlyInternalJobs { seq });
        }
        if !self.is_operational() {
            return Err(SubmitError::DeviceInReset { seq });
        }
        // Space checks in queue-id order, as the driver walks its queues; a failure undoes the
        // CQ reservations made for earlier queues of this CS.
        self.touched.sort_unstable();
        for k in 0..self.touched.len() {
            let q = self.touched[k] as usize;
            let n = u32::from(self.scratch[q]);
            let hq = self.queues[q];
            let checked = hq.check_space(n).and_then(|()| match hq.cq() {
                Some(cq) if hq.queue_type() == QueueType::External => {
                    self.cqs[cq as usize].reserve(cq, n)
                }
                _ => Ok(()),
            });
            if let Err(cause) = checked {
                self.unroll_cq_reservations(k);
                return Err(SubmitError::QueueFull {
                    seq,
                    queue: A::QUEUES[q].id,
                    cause,
                });
            }
        }
        // Commit: nothing below can fail.
        let base = idx as usize * self.stride;
        for (k, &q) in self.touched.iter().enumerate() {
            let n = self.scratch[q as usize];
            self.uses[base + k] = (u32::from(q) << 16) | u32::from(n);
            self.queues[q as usize].produce(u32::from(n));
        }
        let now = self.now();
        let rec = &mut self.records[idx as usize];
        rec.uses = self.touched.len() as u16;
        rec.pending = completion_jobs;
        rec.submitted_at = now;
        self.mirror_append(idx);
        if self.mirror_head == idx && self.records[idx as usize].timeout_ns.is_some() {
            self.arm(idx, now, out);
        }
        for job in jobs {
            // why: validated above, so the lookup cannot fail; skipping is the safe answer.
            if let Some(q) = queue_index::<A>(job.queue) {
                self.start_job(idx, seq, q, job, now, out);
            }
        }
        let rec = &mut self.records[idx as usize];
        rec.submitted = true;
        cs::fire::<A>(rec, CsEvent::Submit);
        self.stats.submitted += 1;
        Ok(())
    }

    /// `unroll_cq_resv`: give back the CQ entries reserved for `touched[..k]`. (The driver
    /// indexes the CQ array by queue index there; we use the queue's own CQ.)
    fn unroll_cq_reservations(&mut self, k: usize) {
        for &q in &self.touched[..k] {
            let hq = self.queues[q as usize];
            if let (QueueType::External, Some(cq)) = (hq.queue_type(), hq.cq()) {
                self.cqs[cq as usize].release(u32::from(self.scratch[q as usize]));
            }
        }
    }

    /// Hand one job to its engine: draw what it does and when it comes due.
    fn start_job(&mut self, idx: u32, seq: u64, q: usize, job: &Job, now: u64, out: &mut Effects) {
        let props = &A::QUEUES[q];
        let engine = props.engine.and_then(engine_index::<A>);
        let lanes = self.lanes.len();
        let lane = engine.map_or(0, |e| e % lanes);
        let drawn = sim::draw(job.work, &self.cfg.sim, &mut self.rng);
        let order = self.order;
        self.order += 1;
        if let Some(e) = engine {
            self.engines[e].jobs += 1;
        }
        let (latency, end) = match drawn {
            Drawn::Hang => {
                self.stats.hangs += 1;
                if let (Some(e), false) = (engine, self.cfg.sim.out_of_order) {
                    // The engine locks up: everything queued behind it waits for a reset.
                    self.engines[e].busy_until = u64::MAX;
                }
                return;
            }
            Drawn::Run { latency, end } => (latency, end),
        };
        let due = match (engine, self.cfg.sim.out_of_order) {
            (Some(e), false) => {
                let eng = &mut self.engines[e];
                if eng.busy_until == u64::MAX {
                    return;
                }
                let due = eng.busy_until.max(now).saturating_add(latency);
                eng.busy_until = due;
                due
            }
            _ => now.saturating_add(latency),
        };
        let lane_state = &mut self.lanes[lane];
        lane_state.heap.push(SimJob {
            due,
            order,
            record: idx,
            seq,
            queue: q as u16,
            engine: engine.map(|e| e as u16),
            completes: props.queue_type.has_completion(),
            end,
        });
        out.pushed_lanes |= 1 << lane;
        if due < lane_state.sleep_until {
            lane_state.sleep_until = 0;
            out.wake_lanes |= 1 << lane;
        }
    }

    /// A job came due: the engine finished it (the CQ interrupt, `job_finish`, or per-CS
    /// `cs_finish` once the last job of the CS is done). `now` is the device clock read once for
    /// the whole batch of completions (one interrupt, one timestamp), not once per job.
    pub(crate) fn complete_job(&mut self, job: SimJob, now: u64, out: &mut Effects) {
        if let Some(e) = job.engine {
            let eng = &mut self.engines[e as usize];
            eng.jobs = eng.jobs.saturating_sub(1);
        }
        if job.end == JobEnd::Fault {
            self.stats.engine_faults += 1;
            self.reset(out);
            return;
        }
        if !job.completes {
            return;
        }
        let per_job = A::LIMITS.completion == CompletionMode::PerJob;
        let idx = job.record as usize;
        let rec = &self.records[idx];
        if rec.seq != job.seq || !rec.submitted || rec.pending == 0 {
            return; // stale: the CS was rolled back before its job came due
        }
        if per_job {
            let hq = &mut self.queues[job.queue as usize];
            hq.consume(1);
            if let (QueueType::External, Some(cq)) = (hq.queue_type(), hq.cq()) {
                self.cqs[cq as usize].release(1);
            }
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

    /// Advance `ci` of the CS's queues that `which` selects by their recorded job counts.
    fn consume_uses(&mut self, idx: usize, which: impl Fn(QueueType) -> bool) {
        let base = idx * self.stride;
        for k in 0..self.records[idx].uses as usize {
            let packed = self.uses[base + k];
            let (q, n) = ((packed >> 16) as usize, packed & 0xFFFF);
            if which(self.queues[q].queue_type()) {
                self.queues[q].consume(n);
            }
        }
    }

    /// `cs_do_release`: internal-queue `ci`, leave the mirror list, hand the TDR on, and signal
    /// the fence with the outcome of the terminal state. `now` is the device clock (for arming
    /// the next CS's TDR).
    pub(crate) fn release(&mut self, idx: u32, now: u64, out: &mut Effects) {
        let i = idx as usize;
        if self.records[i].submitted {
            if A::LIMITS.completion == CompletionMode::PerJob {
                // hl_hw_queue_update_ci: internal jobs finish with their CS.
                self.consume_uses(i, |t| t == QueueType::Internal);
            }
            self.mirror_remove(idx);
            self.handle_tdr(idx, now, out);
        }
        let rec = &mut self.records[i];
        let outcome = match cs::release_outcome::<A>(rec) {
            Ok(outcome) => outcome,
            Err(violation) => {
                if cfg!(debug_assertions) {
                    panic!("{violation}");
                }
                self.stats.lifecycle_violations += 1;
                Outcome::Aborted
            }
        };
        let timestamp = if rec.wants_timestamp {
            rec.completed_at.map(Timestamp::from_nanos)
        } else {
            None
        };
        let fence = rec.fence.take();
        rec.seq = 0;
        rec.submitted = false;
        rec.pending = 0;
        rec.uses = 0;
        match outcome {
            Outcome::Ok => self.stats.completed += 1,
            Outcome::TimedOut => self.stats.timed_out += 1,
            Outcome::Aborted => self.stats.aborted += 1,
            _ => self.stats.not_submitted += 1,
        }
        if let Some(fence) = fence {
            out.signal(fence, outcome, timestamp);
        }
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
        self.stats.in_flight += 1;
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
        self.stats.in_flight -= 1;
    }

    /// The earliest pending event: a due job or the TDR deadline (jobs first on a tie).
    fn next_event(&self) -> Option<(u64, Option<usize>)> {
        let job = self
            .lanes
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.heap.peek().map(|j| (j.due, Some(i))))
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
        let Some((at, lane)) = self.next_event() else {
            return false;
        };
        if at > limit {
            return false;
        }
        self.virtual_now = self.virtual_now.max(at);
        match lane {
            Some(l) => {
                if let Some(job) = self.lanes[l].heap.pop() {
                    let now = self.virtual_now;
                    self.complete_job(job, now, out);
                }
            }
            None => self.fire_tdr(out),
        }
        true
    }

    /// Real mode: complete up to `budget` due jobs of `lane`; returns how many, and when its
    /// next job is due.
    pub(crate) fn run_lane(
        &mut self,
        lane: usize,
        budget: usize,
        out: &mut Effects,
    ) -> (usize, Option<u64>) {
        let now = self.now();
        let mut done = 0;
        while done < budget {
            match self.lanes[lane].heap.peek() {
                Some(job) if job.due <= now => {}
                _ => break,
            }
            if let Some(job) = self.lanes[lane].heap.pop() {
                self.complete_job(job, now, out);
                done += 1;
            }
        }
        (done, self.lanes[lane].heap.peek().map(|j| j.due))
    }

    /// The busy-engines mask.
    pub(crate) fn busy_engines(&self) -> EngineMask {
        let mut mask = EngineMask::new(A::ENGINE_ID_SIZE);
        for (e, state) in self.engines.iter().enumerate() {
            if state.jobs > 0 {
                mask.set(A::ENGINES[e].id);
            }
        }
        mask
    }
}
