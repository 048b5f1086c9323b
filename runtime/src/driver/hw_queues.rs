//! The submission side, behind the driver's `hw_queues_lock`: seq allocation, validation, queue
//! space and completion-queue reservation, `pi`, and handing the jobs to the engines.
//!
//! It never takes the completion side's lock on the way (see `handoff.rs` for what the two sides
//! share instead), so a submitter and the engine workers completing earlier CSs run in parallel.
//! The one exception is a lane ring that is full because its worker is held up: the submitter then
//! drains it itself under the completion lock, in the driver's lock order.

use crate::asic::{Asic, CsEvent, QueueType};
use crate::driver::backend::{
    EngineJob, Engines, EnginesCall, JobEnd, JobId, JobStart, NEVER_NS, Started, duration_ns,
};
use crate::driver::config::DriverConfig;
use crate::driver::context::Ring;
use crate::driver::cs::{self, CsRecord};
use crate::driver::effects::Effects;
use crate::driver::handoff::{Handoff, Rings, Submitted};
use crate::driver::locks::CompletionLock;
use crate::driver::queue::{CompletionQueue, HwQueue};
use crate::driver::state::{Released, engine_index, queue_index};
use crate::driver::submit::{CbChoice, CsSubmit, Job, QueueRejection, SubmitError};
use crate::driver::sync_stream::{
    SignalCs, StagedCs, StagedInfo, StagedSubmit, SyncRole, SyncStreams, WaitCs,
};
use crate::fence::Fence;
use std::sync::Arc;
use std::time::Duration;

pub(crate) struct HwQueues<A: Asic> {
    cfg: DriverConfig,
    /// Per queue position: binned on this device by its fuse masks (refused like a queue the
    /// spec bins for every part).
    binned: Box<[bool]>,
    /// The engines behind the seam (`backend.rs`).
    engines: Box<dyn Engines>,
    pub(crate) handoff: Arc<Handoff>,
    /// The producing ends of the submission log and the lane rings.
    rings: Rings,
    /// `pi` exact; `ci` as last read from the completion side.
    queues: Box<[HwQueue]>,
    /// Free entries as last counted, and the completion side's released count then.
    cqs: Box<[CompletionQueue]>,
    cq_seen: Box<[u32]>,
    /// Jobs per queue of the CS being scheduled, and the queues it touches. A `u32`: one CS may
    /// put up to `max_jobs_per_cs` jobs on one queue, and a spec may allow 65,536 or more.
    scratch: Box<[u32]>,
    touched: Vec<u16>,
    /// Per queue, its engine's position and lane.
    lane_of: Box<[(Option<u16>, u16)]>,
    ring_len: u32,
    order: u64,
    /// The last CS ticket handed out (`EngineJob::ticket`).
    tickets: u64,
    /// CSs written to their queues, hung jobs drawn.
    pub(crate) submitted: u64,
    pub(crate) hangs: u64,
    /// CSs released here because they failed after taking a seq.
    pub(crate) released: Released,
    /// The driver's side of the sync manager (§5).
    pub(crate) sync: SyncStreams,
    /// `cs_needs_completion` of the CS being scheduled: false only for a staged CS that is not
    /// the last (§5), whose jobs write no CQ entry.
    needs_completion: bool,
    _asic: std::marker::PhantomData<A>,
}

/// A CS just allocated (`allocate_cs`).
struct Allocated {
    seq: u64,
    fence: Fence,
    record: u32,
    ticket: u64,
}

impl<A: Asic> HwQueues<A> {
    pub(crate) fn new(
        cfg: DriverConfig,
        engines: Box<dyn Engines>,
        handoff: Arc<Handoff>,
        rings: Rings,
        binned: Box<[bool]>,
    ) -> HwQueues<A> {
        let lanes = rings.lanes.len().max(1);
        let cq_len = A::LIMITS.cq_length.max(1);
        HwQueues {
            cfg,
            binned,
            engines,
            queues: A::QUEUES.iter().map(HwQueue::new).collect(),
            cqs: (0..A::completion_queue_count())
                .map(|_| CompletionQueue::new(cq_len))
                .collect(),
            cq_seen: vec![0; A::completion_queue_count() as usize].into_boxed_slice(),
            scratch: vec![0; A::QUEUES.len()].into_boxed_slice(),
            touched: Vec::with_capacity(A::QUEUES.len()),
            lane_of: A::QUEUES
                .iter()
                .map(|q| {
                    let engine = q.engine.and_then(engine_index::<A>);
                    (
                        engine.map(|e| e as u16),
                        engine.map_or(0, |e| e % lanes) as u16,
                    )
                })
                .collect(),
            ring_len: A::LIMITS.max_pending_cs,
            order: 0,
            tickets: 0,
            submitted: 0,
            hangs: 0,
            released: Released::default(),
            sync: SyncStreams::new::<A>(
                A::LIMITS.max_pending_cs as usize * cfg.contexts as usize,
                cfg.contexts as usize,
            ),
            needs_completion: true,
            handoff,
            rings,
            _asic: std::marker::PhantomData,
        }
    }

    /// Queue `q` with `ci` as the completion side has it now.
    pub(crate) fn queue(&self, q: usize) -> HwQueue {
        let mut hq = self.queues[q];
        hq.observe_ci(self.handoff.ci[q].read());
        hq
    }

    /// Free entries of completion queue `cq`, counting every entry given back so far.
    pub(crate) fn completion_queue_free(&mut self, cq: usize) -> Option<u32> {
        self.refresh_cq(cq);
        self.cqs.get(cq).map(CompletionQueue::free_slots)
    }

    /// Fold the entries the completion side gave back since the last look into our count.
    fn refresh_cq(&mut self, cq: usize) {
        let Some(released) = self.handoff.cq_released.get(cq) else {
            return;
        };
        let now = released.read();
        let delta = now.wrapping_sub(self.cq_seen[cq]);
        self.cq_seen[cq] = now;
        self.cqs[cq].release(delta);
    }

    /// `cs_ioctl_default` from `allocate_cs` on: allocate, validate, schedule. On a failure after
    /// the allocation the CS is released here as not submitted (its seq is used up).
    pub(crate) fn submit(
        &mut self,
        ctx: &Ring,
        ctx_index: usize,
        cs: &CsSubmit<'_>,
        completion: &CompletionLock<'_, A>,
        out: &mut Effects,
    ) -> Result<u64, SubmitError> {
        let Allocated {
            seq,
            fence,
            record,
            ticket,
        } = self.allocate(ctx, ctx_index)?;
        let result = self.validate(seq, cs.jobs);
        let result = result.and_then(|completion_jobs| {
            self.reserve(seq)?;
            Ok(completion_jobs)
        });
        let result = match result {
            Ok(pending) => {
                self.commit(
                    record,
                    seq,
                    ticket,
                    fence,
                    cs,
                    pending,
                    SyncRole::None,
                    completion,
                    out,
                );
                Ok(seq)
            }
            Err(e) => {
                self.release_unsubmitted(seq, fence, out);
                Err(e)
            }
        };
        self.forget_counts();
        result
    }

    /// `allocate_cs`: the next seq of context `ctx` with its fence, its record (ring slot of
    /// context slot `ctx_index`) and a device-unique ticket; a busy slot is `-EAGAIN`.
    #[inline]
    fn allocate(&mut self, ctx: &Ring, ctx_index: usize) -> Result<Allocated, SubmitError> {
        let (seq, fence) = ctx
            .allocate()
            .map_err(|pending_seq| SubmitError::TooManyInFlight {
                next_seq: ctx.next_seq(),
                pending_seq,
            })?;
        let slot = (seq & u64::from(self.ring_len - 1)) as usize;
        self.tickets += 1;
        Ok(Allocated {
            seq,
            fence,
            record: (ctx_index * self.ring_len as usize + slot) as u32,
            ticket: self.tickets,
        })
    }

    /// A signal, wait or collective wait CS (§5), from `allocate_cs` on: allocate, validate,
    /// reserve queue space, then `init_signal_wait_cs` under the completion lock (the sync
    /// manager's side) and schedule. `kind` says what the CS is; `bad_engine` is a collective
    /// wait's reduction engine that is not one (refused once the seq is taken, as the driver's
    /// `collective_wait_create_jobs` does).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn submit_sync(
        &mut self,
        ctx: &Ring,
        ctx_index: usize,
        cs: &CsSubmit<'_>,
        kind: SyncKind,
        bad_engine: Option<u32>,
        completion: &CompletionLock<'_, A>,
        out: &mut Effects,
    ) -> Result<SyncSubmitted, SubmitError> {
        let Allocated {
            seq,
            fence,
            record,
            ticket,
        } = self.allocate(ctx, ctx_index)?;
        let result = match bad_engine {
            Some(engine) => Err(SubmitError::InvalidCollectiveEngine { seq, engine }),
            None => self.validate(seq, cs.jobs),
        };
        let result = result.and_then(|completion_jobs| {
            self.reserve(seq)?;
            Ok(completion_jobs)
        });
        let result = match result {
            Ok(pending) => {
                let q = cs.jobs.first().and_then(|j| queue_index::<A>(j.queue));
                // init_signal_wait_cs: the SOB bookkeeping, with the sync manager's side held.
                let init = {
                    let now = self.handoff.now(self.cfg.clock);
                    let mut st = completion.lock();
                    if let Some(t) = st.sync_started.get_mut(record as usize) {
                        *t = now;
                    }
                    match (kind, q) {
                        (SyncKind::Signal, Some(q)) => match self.sync.init_signal(q, &mut st.sm) {
                            Ok(i) => Ok((SyncRole::Signal { sob: i.sob }, Some(i))),
                            Err(_) => Err(Some(SubmitError::CannotSwitchSob {
                                seq: Some(seq),
                                queue: A::QUEUES[q].id,
                            })),
                        },
                        (SyncKind::Wait { sob, val, signal }, _) => {
                            // The signal fence is checked again: if it completed meanwhile the
                            // wait CS is dropped and the ioctl still succeeds.
                            if signal.is_signalled() {
                                Err(None)
                            } else {
                                st.sm.get(sob);
                                Ok((SyncRole::Wait { sob, val }, None))
                            }
                        }
                        (SyncKind::Signal, None) => Err(None),
                    }
                };
                match init {
                    Ok((role, signal)) => {
                        self.commit(
                            record, seq, ticket, fence, cs, pending, role, completion, out,
                        );
                        Ok(match signal {
                            Some(i) => {
                                self.sync.record_signal(record, seq, i.sob, i.val);
                                SyncSubmitted::Signal(SignalCs {
                                    seq,
                                    sob: i.current_sob_id,
                                    sob_count_before: i.count_before,
                                })
                            }
                            None => SyncSubmitted::Wait(WaitCs::Submitted { seq }),
                        })
                    }
                    Err(e) => {
                        let k = self.touched.len();
                        self.unroll_cq_reservations(k);
                        self.release_unsubmitted(seq, fence, out);
                        match e {
                            Some(e) => Err(e),
                            None => Ok(SyncSubmitted::Wait(WaitCs::SignalDone {
                                consumed_seq: Some(seq),
                            })),
                        }
                    }
                }
            }
            Err(e) => {
                self.release_unsubmitted(seq, fence, out);
                Err(e)
            }
        };
        self.forget_counts();
        result
    }

    /// A CS of a staged submission (§5), from `allocate_cs` on: as a default CS, except that a
    /// CS before the last needs no completion (no CQ entries; its jobs complete with the last
    /// CS), a CS after the first is not timed, and one that is not the first must find its first
    /// CS in flight, without a last CS yet (checked under the completion lock, as the driver
    /// walks its mirror list under `cs_mirror_lock`).
    pub(crate) fn submit_staged(
        &mut self,
        ctx: &Ring,
        ctx_index: usize,
        req: &StagedSubmit<'_>,
        completion: &CompletionLock<'_, A>,
        out: &mut Effects,
    ) -> Result<StagedCs, SubmitError> {
        // ENCAP_SIGNALS on the first CS: the reservation must exist.
        let encaps = match req.encaps_handle.filter(|_| req.first) {
            Some(handle) => Some(
                self.sync
                    .handle(ctx_index, handle)
                    .ok_or(SubmitError::NoSuchReservation { handle })?,
            ),
            None => None,
        };
        let (seq, fence) = ctx
            .allocate()
            .map_err(|pending_seq| SubmitError::TooManyInFlight {
                next_seq: ctx.next_seq(),
                pending_seq,
            })?;
        let ring_len = self.ring_len as usize;
        let slot = (seq & u64::from(self.ring_len - 1)) as usize;
        let record = (ctx_index * ring_len + slot) as u32;
        self.tickets += 1;
        let ticket = self.tickets;
        self.needs_completion = req.last;
        let result = self.validate(seq, req.cs.jobs).and_then(|pending| {
            self.reserve(seq)?;
            Ok(pending)
        });
        let result = result.and_then(|pending| {
            // Link into the submission (the first CS's row, with the mirror list current).
            let mut st = completion.lock();
            st.drain(out);
            let info = if req.first {
                StagedInfo {
                    ticket,
                    chain: record,
                    chain_ticket: ticket,
                    first: true,
                    last: req.last,
                    has_last: req.last,
                    encaps,
                }
            } else {
                let staged_seq = req.staged_seq;
                let first = Some(staged_seq)
                    .filter(|&s| s != 0 && s < seq)
                    .map(|s| ctx_index * ring_len + (s as usize & (ring_len - 1)))
                    .filter(|&r| st.is_staged_first_in_flight(r, staged_seq));
                let Some(first) = first else {
                    return Err(SubmitError::StagedFirstNotFound { seq, staged_seq });
                };
                if st.staged[first].has_last {
                    return Err(SubmitError::StagedAlreadyLast { seq, staged_seq });
                }
                if req.last {
                    st.staged[first].has_last = true;
                }
                StagedInfo {
                    ticket,
                    chain: first as u32,
                    chain_ticket: st.staged[first].ticket,
                    first: false,
                    last: req.last,
                    has_last: false,
                    encaps: None,
                }
            };
            st.staged[record as usize] = info;
            Ok(pending)
        });
        let result = match result {
            Ok(pending) => {
                // Only the first CS is timed (`cs_needs_timeout`).
                let cs = if req.first {
                    req.cs
                } else {
                    req.cs.with_timeout(std::time::Duration::MAX)
                };
                self.commit(
                    record,
                    seq,
                    ticket,
                    fence,
                    &cs,
                    pending,
                    SyncRole::None,
                    completion,
                    out,
                );
                if let (Some(handle), Some(_)) = (req.encaps_handle, encaps) {
                    self.sync.bind_handle(ctx_index, handle);
                }
                Ok(StagedCs {
                    seq: if req.first { seq } else { req.staged_seq },
                    cs_seq: seq,
                })
            }
            Err(e) => {
                if matches!(
                    e,
                    SubmitError::StagedFirstNotFound { .. } | SubmitError::StagedAlreadyLast { .. }
                ) {
                    let k = self.touched.len();
                    self.unroll_cq_reservations(k);
                }
                self.release_unsubmitted(seq, fence, out);
                Err(e)
            }
        };
        self.needs_completion = true;
        self.forget_counts();
        result
    }

    /// Zero the per-queue job counts `validate` made (only the touched queues), for the next CS.
    fn forget_counts(&mut self) {
        for &q in &self.touched {
            self.scratch[q as usize] = 0;
        }
        self.touched.clear();
    }

    /// Per job `validate_queue_index`, then the only-internal rule and the reset check. Counts
    /// jobs per queue into `scratch`; returns the number of jobs with their own completion.
    fn validate(&mut self, seq: u64, jobs: &[Job]) -> Result<u32, SubmitError> {
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
            if props.binned || self.binned[q] {
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
        if completion_jobs == 0 && self.needs_completion {
            return Err(SubmitError::OnlyInternalJobs { seq });
        }
        if !self.needs_completion {
            // A staged CS before the last: nothing of it completes on its own (§5).
            completion_jobs = 0;
        }
        if !self.handoff.is_operational() {
            return Err(SubmitError::DeviceInReset { seq });
        }
        Ok(completion_jobs)
    }

    /// Space checks in queue-id order, as the driver walks its queues; a failure undoes the CQ
    /// reservations made for earlier queues of this CS. Our cached `ci` and CQ counts are
    /// refreshed from the completion side only when they say "full".
    fn reserve(&mut self, seq: u64) -> Result<(), SubmitError> {
        self.touched.sort_unstable();
        for k in 0..self.touched.len() {
            let q = self.touched[k] as usize;
            let n = self.scratch[q];
            let checked = self.check_queue(q, n).and_then(|()| {
                let hq = self.queues[q];
                match hq.cq() {
                    Some(cq) if hq.queue_type() == QueueType::External && self.needs_completion => {
                        let c = cq as usize;
                        self.cqs[c].reserve(cq, n).or_else(|_| {
                            self.refresh_cq(c);
                            self.cqs[c].reserve(cq, n)
                        })
                    }
                    _ => Ok(()),
                }
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
        Ok(())
    }

    fn check_queue(&mut self, q: usize, n: u32) -> Result<(), crate::driver::queue::SpaceError> {
        self.queues[q].check_space(n).or_else(|_| {
            let ci = self.handoff.ci[q].read();
            self.queues[q].observe_ci(ci);
            self.queues[q].check_space(n)
        })
    }

    /// `unroll_cq_resv`: give back the CQ entries reserved for `touched[..k]`. (The driver
    /// indexes the CQ array by queue index there; we use the queue's own CQ.)
    fn unroll_cq_reservations(&mut self, k: usize) {
        for &q in &self.touched[..k] {
            let hq = self.queues[q as usize];
            if let (QueueType::External, Some(cq)) = (hq.queue_type(), hq.cq()) {
                self.cqs[cq as usize].release(self.scratch[q as usize]);
            }
        }
    }

    /// Write the CS to its queues: `pi`, the use table, the log entry, then its jobs to their
    /// lanes. Nothing here can fail.
    #[allow(clippy::too_many_arguments)]
    fn commit(
        &mut self,
        record: u32,
        seq: u64,
        ticket: u64,
        fence: Fence,
        cs: &CsSubmit<'_>,
        pending: u32,
        sync: SyncRole,
        completion: &CompletionLock<'_, A>,
        out: &mut Effects,
    ) {
        // why: a borrow, not an `Arc` clone: two locked instructions per CS showed in the profile.
        let h = &*self.handoff;
        let base = record as usize * h.stride;
        let mut first_use = 0;
        for (k, &q) in self.touched.iter().enumerate() {
            let n = self.scratch[q as usize];
            let packed = (u64::from(q) << 32) | u64::from(n);
            match k.checked_sub(1) {
                None => first_use = packed,
                // Carried by the log push below and read after its pop.
                Some(t) => h.uses[base + t].put(packed),
            }
            self.queues[q as usize].produce(n);
        }
        let mut entry = Submitted {
            record,
            seq,
            ticket,
            fence,
            // why: device TDR off switches every timer off; a per-CS timeout replaces the
            // device's; zero fires at once and "forever" means no timer, as in the driver.
            timeout_ns: tdr_ns(self.cfg.tdr_timeout)
                .and_then(|dflt| cs.timeout.map_or(Some(dflt), |t| tdr_ns(Some(t)))),
            pending,
            first_use,
            uses: self.touched.len() as u16,
            wants_timestamp: cs.timestamp,
            sync,
        };
        while let Err(rtrb::PushError::Full(back)) = self.rings.log.push(entry) {
            // The workers are held up and the log is full: take it in ourselves.
            entry = back;
            completion.lock().drain(out);
        }
        // The clock is read only if a job's due time depends on it (a zero-latency job is due
        // at once, whenever "now" is): one clock read is a tenth of a submission's cost.
        let mut now = None;
        for (i, job) in cs.jobs.iter().enumerate() {
            // why: validated above, so the lookup cannot fail; skipping is the safe answer.
            if let Some(q) = queue_index::<A>(job.queue) {
                let (sim_job, lane) = self.start_job(record, ticket, q, job, &mut now);
                // The first job's lane worker takes the CS in (mirror list, TDR armed from then),
                // so it must not sleep on: a worker parked until a later job of an earlier CS
                // would otherwise start this CS's TDR clock only then.
                self.hand_over(sim_job, lane as usize, i == 0, completion, out);
            }
        }
        self.submitted += 1;
    }

    /// Start one job on the engines (`backend.rs`): when it comes due and how it ends; returns
    /// it with its lane. `now` caches the clock for the CS's jobs.
    fn start_job(
        &mut self,
        record: u32,
        ticket: u64,
        q: usize,
        job: &Job,
        now: &mut Option<u64>,
    ) -> (EngineJob, u16) {
        let props = &A::QUEUES[q];
        let (engine, lane) = self.lane_of[q];
        let order = self.order;
        self.order += 1;
        let start = JobStart {
            id: JobId(order),
            queue: q,
            engine: engine.map(usize::from),
            work: job.work,
        };
        let (clock, handoff) = (self.cfg.clock, &self.handoff);
        let mut read_clock = || *now.get_or_insert_with(|| handoff.now(clock));
        let completes = props.queue_type.has_completion();
        let started = {
            let _call = EnginesCall::enter();
            self.engines.start(&start, &mut read_clock)
        };
        let (due, end, reported) = match started {
            Started::Due { at, end } => (at, end, false),
            Started::Hang => {
                self.hangs += 1;
                (u64::MAX, JobEnd::Hang, false)
            }
            Started::Stuck => (u64::MAX, JobEnd::Hang, false),
            Started::Running if completes => (u64::MAX, JobEnd::Hang, true),
            // why: a job without a completion of its own (an internal queue) is never reported
            // by hardware; it ends with its CS (§2.3), so the driver counts its engine free now.
            Started::Running => (read_clock(), JobEnd::Complete, false),
        };
        let engine_job = EngineJob {
            due,
            order,
            record,
            ticket,
            queue: q as u16,
            engine,
            completes: completes && self.needs_completion,
            end,
            reported,
            released: false,
        };
        (engine_job, lane)
    }

    /// Push a job to its lane ring and decide whether its worker needs waking: if it sleeps
    /// past the job's due time, or at all when the job is `urgent`.
    fn hand_over(
        &mut self,
        job: EngineJob,
        lane: usize,
        urgent: bool,
        completion: &CompletionLock<'_, A>,
        out: &mut Effects,
    ) {
        let h = &self.handoff;
        let mut job = job;
        while let Err(rtrb::PushError::Full(back)) = self.rings.lanes[lane].push(job) {
            // The worker is held up and its ring is full: move the ring into the lane's heap.
            job = back;
            completion.lock().drain(out);
        }
        // The doorbell: only submitters write it, one at a time under this lock.
        h.lane_pushed[lane].ring();
        let due = if urgent { 0 } else { job.due };
        if h.lane_sleep[lane].must_wake(due) {
            // The slow path only: a worker that stays awake never needs to know.
            h.submitter_cpu.note();
            out.wake_lanes |= 1 << lane;
        }
    }

    /// A CS that failed after taking its seq: `ScheduleFailure`, then released at once with the
    /// outcome its lifecycle gives (not submitted, by the default one).
    fn release_unsubmitted(&mut self, seq: u64, fence: Fence, out: &mut Effects) {
        let mut rec = CsRecord::empty(A::INITIAL_STATE);
        rec.seq = seq;
        cs::fire::<A>(&mut rec, CsEvent::ScheduleFailure);
        let outcome = self.released.settle::<A>(&rec);
        out.signal(fence, outcome, None);
    }

    /// `hl_hw_queue_reset` and the engines' schedule, with the completion side already reset
    /// (both locks held).
    pub(crate) fn reset(&mut self) {
        for q in self.queues.iter_mut() {
            q.reset();
        }
        for (cq, seen) in self.cqs.iter_mut().zip(self.cq_seen.iter_mut()) {
            cq.reset();
            *seen = 0;
        }
        let _call = EnginesCall::enter();
        self.engines.reset();
        self.sync.reset();
    }
}

/// What a sync-stream CS is, for [`HwQueues::submit_sync`].
pub(crate) enum SyncKind {
    /// A signal CS.
    Signal,
    /// A (collective) wait on signal CS `signal`, which adds to bank SOB `sob` up to `val`.
    Wait { sob: u16, val: u16, signal: Fence },
}

/// A sync-stream CS the submission side took.
pub(crate) enum SyncSubmitted {
    Signal(SignalCs),
    Wait(WaitCs),
}

// why: a signal request only ever yields a signal and a wait request a wait; should the other
// ever come back, refusing the CS is the safe answer.
impl SyncSubmitted {
    pub(crate) fn into_signal(self) -> Result<SignalCs, SubmitError> {
        match self {
            SyncSubmitted::Signal(s) => Ok(s),
            SyncSubmitted::Wait(_) => Err(SubmitError::NoJobs),
        }
    }

    pub(crate) fn into_wait(self) -> Result<WaitCs, SubmitError> {
        match self {
            SyncSubmitted::Wait(w) => Ok(w),
            SyncSubmitted::Signal(_) => Err(SubmitError::NoJobs),
        }
    }
}

/// A TDR timeout in ns: `None` (no timer) for TDR off or a timeout of [`NEVER_NS`] or
/// more (the driver's `MAX_SCHEDULE_TIMEOUT`), which would otherwise push the virtual clock to
/// the end of time; zero stays zero (the timer fires at once).
pub(crate) fn tdr_ns(timeout: Option<Duration>) -> Option<u64> {
    timeout.map(duration_ns).filter(|&ns| ns < NEVER_NS)
}
