//! The driver core: contexts, queues, the CS lifecycle, TDR and reset, generic over the
//! generated `A: Asic`. The public faces are [`Device`](crate::Device) and the owned
//! [`Context`](crate::Context) (`device.rs`); this module is what they share.
//!
//! Two locks, as in the driver: submission runs under the submission lock (`hw_queues.rs`, the
//! driver's `hw_queues_lock`), completion and the TDR under the completion lock (`state.rs`,
//! `tdr.rs`, its `cs_mirror_lock`); the two sides meet lock-free (`handoff.rs`), so a submitter
//! and the engine workers never wait for each other. A reset takes both, submission first
//! (`reset.rs`). Fences are signalled after the locks are dropped (`effects.rs`). Waits take
//! neither: they look the seq up in the context's ring and wait on the fence.

use crate::asic::Asic;
use crate::driver::backend::{Engines, EnginesCall, JobDoneError, JobEnd, JobId, duration_ns};
use crate::driver::config::{
    ClockMode, DeviceError, DeviceStats, DriverConfig, MAX_LANES, MULTI_CS_MAX_LEN, MULTI_CS_SLOTS,
    OpenError,
};
use crate::driver::context::{Lookup, Ring, WaitLookup};
use crate::driver::counters::{AtomicCsCounters, CsCounters};
use crate::driver::effects::Effects;
use crate::driver::engine::EngineMask;
use crate::driver::handoff::{self, Handoff};
use crate::driver::hw_queues::{HwQueues, SyncKind};
use crate::driver::locks::{CompletionGuard, Locks, SubmissionGuard};
use crate::driver::queue::HwQueue;
use crate::driver::state::{self, State, queue_index};
use crate::driver::submit::{CsSubmit, Job, SubmitError};
use crate::driver::sync_stream::{
    self, CollectiveWaitSubmit, EncapsWaitSubmit, MAX_SOB_VAL, SignalCs, SignalReservation,
    SignalSubmit, StagedCs, StagedSubmit, SyncQueueRejection, SyncStats, WaitCs, WaitSubmit,
};
use crate::driver::wait::{CsWaitError, MultiWaitStatus, WaitStatus};
use crate::fence::cancel::CancelToken;
use crate::fence::completion::{Completion, WaitError};
use crate::fence::{Fence, Outcome, Signalled, Timestamp};
use crate::sync::spin::{SpinBudget, current_cpu, spin_for};
use crate::sync::{CacheLine, lock};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Real mode: most times `wait_cs` re-checks its fence (spinning) before it sleeps on it.
const WAIT_SPINS: u32 = 300;
/// Real mode: how long `wait_cs` may spin, while spinning pays, for a CS whose engine worker
/// runs on another CPU: longer than a futex wake-up on a virtual machine (tens of µs).
const CROSS_CPU_WAIT_SPIN: Duration = Duration::from_micros(50);
/// Real mode: most jobs per lane a waiter completes when it polls the engines itself.
const POLL_BUDGET: usize = 256;

/// Effects collected under the locks ([`Effects`]), applied when this guard drops (see
/// [`Core::defer`]).
#[must_use = "effects are applied when this guard drops; bind it before taking the locks"]
pub(crate) struct Deferred<'c, A: Asic> {
    core: &'c Core<A>,
    fx: Effects,
}

impl<A: Asic> Deferred<'_, A> {
    /// Apply now and give the (empty) buffer back for reuse.
    pub(crate) fn finish(mut self) -> Effects {
        self.core.apply(&mut self.fx);
        std::mem::take(&mut self.fx)
    }
}

impl<A: Asic> std::ops::Deref for Deferred<'_, A> {
    type Target = Effects;

    fn deref(&self) -> &Effects {
        &self.fx
    }
}

impl<A: Asic> std::ops::DerefMut for Deferred<'_, A> {
    fn deref_mut(&mut self) -> &mut Effects {
        &mut self.fx
    }
}

impl<A: Asic> Drop for Deferred<'_, A> {
    fn drop(&mut self) {
        self.core.apply(&mut self.fx);
    }
}

/// A multi-CS wait's completion structure (`struct multi_cs_completion`).
struct MultiSlot {
    in_use: AtomicBool,
    completion: Completion,
}

/// Worker and TDR thread handles, for wake-ups (real mode).
pub(crate) struct Wakers {
    pub(crate) lanes: Box<[ThreadSlot]>,
    pub(crate) tdr: ThreadSlot,
    pub(crate) shutdown: AtomicBool,
    pub(crate) started: AtomicBool,
    /// Threads of the runner that have begun running (`Runner::start` waits for all of them).
    pub(crate) running: AtomicU32,
    /// A CPU a lane worker could not be pinned to (`usize::MAX`: none).
    pub(crate) unpinned: AtomicUsize,
    /// Real mode: threads inside `wait_cs` now. An engine worker that is coalescing completions
    /// drains at once while this is non-zero, so a waiter never waits for a batch to fill.
    pub(crate) waiting: CacheLine<AtomicU32>,
    /// Real mode: how long `wait_cs` spins on a fence before sleeping (adapts, `spin.rs`).
    pub(crate) wait_spins: SpinBudget,
}

/// The running thread of a lane or the TDR, for unparking it; empty while no runner runs.
#[derive(Default)]
pub(crate) struct ThreadSlot(Mutex<Option<Thread>>);

impl ThreadSlot {
    pub(crate) fn set(&self, thread: Option<Thread>) {
        *lock(&self.0) = thread;
    }

    pub(crate) fn unpark(&self) {
        if let Some(thread) = lock(&self.0).as_ref() {
            thread.unpark();
        }
    }
}

pub(crate) struct Shared<A: Asic> {
    /// Per queue position: binned on this device by its fuse masks.
    binned: Box<[bool]>,
    /// The submission side (`hw_queues_lock`) and the completion side (`cs_mirror_lock`), in
    /// that lock order (`locks.rs`).
    locks: Locks<A>,
    handoff: Arc<Handoff>,
    /// One slot per context the device can have open (the ASID limit).
    contexts: Box<[ContextSlot]>,
    /// [`Device`](crate::Device) handles alive; the last one dropped tears the device down.
    pub(crate) handles: AtomicUsize,
    counters: AtomicCsCounters,
    operational: Arc<AtomicBool>,
    config: DriverConfig,
    multi: [MultiSlot; MULTI_CS_SLOTS],
    pub(crate) wakers: Wakers,
}

/// A context slot: whether a user holds it open, and its ring.
pub(crate) struct ContextSlot {
    open: AtomicBool,
    pub(crate) ring: Ring,
}

impl<A: Asic> Shared<A> {
    pub(crate) fn handoff_ref(&self) -> &Handoff {
        &self.handoff
    }
}

/// Per queue position: binned on a device with these fuse masks (`gaudi2_set_tpc_binning_masks`
/// and friends); the rules come from the spec (`A::BINNING`).
fn binned_by_fuses<A: Asic>(masks: &[u64]) -> Result<Box<[bool]>, DeviceError> {
    let used = masks.iter().rposition(|&m| m != 0).map_or(0, |i| i + 1);
    let ids =
        crate::binning::binned_queues(A::BINNING, &masks[..used]).map_err(DeviceError::Binning)?;
    let mut binned = vec![false; A::QUEUES.len()].into_boxed_slice();
    for id in ids {
        if let Some(q) = A::QUEUES.iter().position(|p| p.id == id) {
            binned[q] = true;
        }
    }
    Ok(binned)
}

/// The driver core of one device: a shared reference that the facade, the open contexts and the
/// runner's threads hold. Holding one does not keep the device alive for users: the device is
/// torn down when its last [`Device`](crate::Device) handle goes.
pub(crate) struct Core<A: Asic> {
    pub(crate) shared: Arc<Shared<A>>,
}

impl<A: Asic> Clone for Core<A> {
    fn clone(&self) -> Self {
        Core {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<A: Asic> Core<A> {
    /// A device with `config`, operational, every queue empty, no context open.
    /// The engines behind the seam are `engines`.
    pub(crate) fn new(
        config: DriverConfig,
        engines: Box<dyn Engines>,
    ) -> Result<Core<A>, DeviceError> {
        if config.contexts == 0 {
            return Err(DeviceError::NoContexts);
        }
        if config.contexts > super::config::MAX_CONTEXTS {
            return Err(DeviceError::TooManyContexts {
                contexts: config.contexts,
            });
        }
        let lanes = config.lanes;
        if lanes == 0 || lanes > MAX_LANES {
            return Err(DeviceError::BadLaneCount { lanes });
        }
        let contexts = (0..config.contexts)
            .map(|_| {
                Ring::new(A::LIMITS.max_pending_cs).map(|ring| ContextSlot {
                    open: AtomicBool::new(false),
                    ring,
                })
            })
            .collect::<Result<Box<[_]>, _>>()
            .map_err(DeviceError::Ring)?;
        let operational = Arc::new(AtomicBool::new(true));
        let records = A::LIMITS.max_pending_cs as usize * config.contexts as usize;
        let handoff = Arc::new(Handoff::new(
            records,
            state::use_stride::<A>(),
            lanes,
            A::QUEUES.len(),
            A::completion_queue_count() as usize,
            Arc::clone(&operational),
        ));
        let (rings, ring_ends) = handoff::rings(records, &state::lane_capacities::<A>(lanes));
        let binned = binned_by_fuses::<A>(&config.fuse_masks)?;
        let hw = HwQueues::new(config, engines, Arc::clone(&handoff), rings, binned.clone());
        let state = State::new(config, Arc::clone(&handoff), ring_ends);
        let new_slot = || MultiSlot {
            in_use: AtomicBool::new(false),
            completion: Completion::new(),
        };
        Ok(Core {
            shared: Arc::new(Shared {
                binned,
                locks: Locks::new(hw, state),
                handoff,
                contexts,
                handles: AtomicUsize::new(1),
                counters: AtomicCsCounters::default(),
                operational,
                config,
                multi: [new_slot(), new_slot()],
                wakers: Wakers {
                    lanes: (0..lanes).map(|_| ThreadSlot::default()).collect(),
                    tdr: ThreadSlot::default(),
                    shutdown: AtomicBool::new(false),
                    started: AtomicBool::new(false),
                    running: AtomicU32::new(0),
                    unpinned: AtomicUsize::new(usize::MAX),
                    waiting: CacheLine(AtomicU32::new(0)),
                    wait_spins: SpinBudget::new(WAIT_SPINS),
                },
            }),
        })
    }

    /// Per queue position in `A::QUEUES`: binned on this device by its fuse masks.
    pub(crate) fn binned(&self) -> &[bool] {
        &self.shared.binned
    }

    /// The configuration.
    pub(crate) fn config(&self) -> &DriverConfig {
        &self.shared.config
    }

    /// The ring of context slot `index` (always in range: only an open handle names one).
    pub(crate) fn ring(&self, index: usize) -> &Ring {
        &self.shared.contexts[index].ring
    }

    /// `hl_ctx_init`: claim a free context slot; its ring starts empty at seq 1.
    pub(crate) fn open(&self) -> Result<usize, OpenError> {
        if self.shared.handoff.is_dead() {
            return Err(OpenError::DeviceGone);
        }
        self.shared
            .contexts
            .iter()
            .position(|slot| {
                // Acquire: the previous holder's teardown (ring emptied) happened before.
                slot.open
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            })
            .ok_or(OpenError::NoFreeContext {
                limit: self.shared.config.contexts,
            })
    }

    /// Open contexts now.
    pub(crate) fn open_contexts(&self) -> usize {
        self.shared
            .contexts
            .iter()
            .filter(|s| s.open.load(Ordering::Relaxed))
            .count()
    }

    /// `hl_ctx_fini` for slot `index`: roll back its CSs in flight (each released as a reset
    /// releases it, so every waiter returns), give back their queue space, empty the ring, and
    /// free the slot.
    pub(crate) fn close(&self, index: usize) {
        let mut out = self.defer();
        {
            // Both locks: no submission runs meanwhile, everything handed over is taken in.
            let (mut hw, mut st) = self.lock_both(&mut out);
            st.rollback_context(index, &mut out);
            // hl_encaps_sig_mgr_fini: the context's reservation handles go.
            hw.sync.drop_handles(index, &mut st.sm);
        }
        // The rolled-back CSs' fences are signalled now, so the ring can let every slot go.
        drop(out);
        let slot = &self.shared.contexts[index];
        slot.ring.fini();
        // Release: the next opener sees the emptied ring.
        slot.open.store(false, Ordering::Release);
    }

    /// Device fini (the last [`Device`](crate::Device) handle went): stop taking work for good,
    /// roll back every CS in flight (outcome aborted, every waiter returns) and stop the
    /// runner's threads.
    pub(crate) fn fini(&self) {
        self.shared.handoff.kill();
        let mut out = self.defer();
        {
            let (mut hw, mut st) = self.lock_both(&mut out);
            st.reset(&mut hw, &mut out);
        }
        drop(out);
        self.stop_threads();
    }

    /// Ask the engine and TDR threads, if any run, to stop, and wake them (their runner joins
    /// them).
    pub(crate) fn stop_threads(&self) {
        let w = &self.shared.wakers;
        w.shutdown.store(true, Ordering::Release);
        for slot in w.lanes.iter() {
            slot.unpark();
        }
        w.tdr.unpark();
    }

    /// The engines stopped (the runner's threads were joined): nothing would ever complete
    /// the CSs in flight, so roll them back as a reset does (outcome aborted, waiters return).
    /// Does nothing when nothing is in flight.
    pub(crate) fn engines_stopped(&self) {
        let mut out = self.defer();
        {
            let (mut hw, mut st) = self.lock_both(&mut out);
            self.shared.handoff.halt();
            if st.in_flight > 0 {
                // why: the roll-back is a reset's, but a device that needed a reset before its
                // engines stopped still needs one (§2.5, `mark_needs_reset`).
                let needed = st.needs_reset;
                st.reset(&mut hw, &mut out);
                if needed {
                    st.needs_reset = true;
                    st.set_operational(false);
                }
            }
        }
    }

    /// The engines' completion interrupt for a job they reported running (`Started::Running`);
    /// see [`Device::job_done`](crate::Device::job_done).
    pub(crate) fn job_done(&self, id: JobId, end: JobEnd) -> Result<(), JobDoneError> {
        if EnginesCall::active() {
            return Err(JobDoneError::InsideEngines);
        }
        let mut out = self.defer();
        // why: both locks, submission first: a job is started under the submission lock and
        // pushed to its lane before that lock is dropped, so a report that comes at once (from
        // the backend's own thread) still finds it once drained.
        let (_hw, mut st) = self.lock_both(&mut out);
        st.report(id, end, &mut out)
    }

    /// Fences not yet released over every context slot (ring-held ones included).
    pub(crate) fn live_fences(&self) -> u64 {
        self.shared
            .contexts
            .iter()
            .map(|s| s.ring.live_fences())
            .sum()
    }

    /// The completion side alone.
    pub(crate) fn lock(&self) -> CompletionGuard<'_, A> {
        self.shared.locks.completion()
    }

    /// The submission side (and through it, in order, the completion side).
    fn lock_hw(&self) -> SubmissionGuard<'_, A> {
        self.shared.locks.submission()
    }

    /// Both sides, in lock order, with everything handed over taken in: what an inspection
    /// sees then is what every finished `submit` call did.
    fn lock_both(&self, out: &mut Effects) -> (SubmissionGuard<'_, A>, CompletionGuard<'_, A>) {
        let hw = self.lock_hw();
        let mut st = hw.completion();
        st.drain(out);
        (hw, st)
    }

    /// Effects to collect under the locks, applied when the returned guard drops: declared
    /// before the lock guards, it drops after them, so fences are signalled with no lock held,
    /// and it cannot be forgotten.
    pub(crate) fn defer(&self) -> Deferred<'_, A> {
        self.defer_with(Effects::default())
    }

    /// [`defer`](Self::defer) reusing `fx`'s buffer (worker threads: no allocation per batch).
    pub(crate) fn defer_with(&self, fx: Effects) -> Deferred<'_, A> {
        Deferred { core: self, fx }
    }

    /// Run a reset asked for under the completion lock, then signal collected fences, then wake
    /// multi-CS waiters and engine or TDR threads. Only [`Deferred`] calls this.
    fn apply(&self, out: &mut Effects) {
        if let Some(resets_then) = out.reset.take() {
            let mut hw = self.lock_hw();
            let mut st = hw.completion();
            // why: a reset that ran since the request already did the work.
            if st.resets == resets_then {
                st.reset(&mut hw, out);
            } else {
                st.resets_merged += 1;
            }
        }
        let contexts = &self.shared.contexts;
        let store = |context: u32, seq, outcome, timestamp| {
            if let Some(slot) = contexts.get(context as usize) {
                slot.ring.outcomes.push(seq, outcome, timestamp);
            }
        };
        if out.fire_signals(store) > 0 {
            // SeqCst fence, paired with the one a multi-CS waiter runs between claiming its slot
            // (or re-initialising its completion) and polling the fences: a store-load pattern
            // on two locations, so either the waiter's poll sees our signal or we see its claim
            // and our `complete_all` lands after its re-init.
            std::sync::atomic::fence(Ordering::SeqCst);
            for slot in &self.shared.multi {
                if slot.in_use.load(Ordering::Relaxed) {
                    slot.completion.complete_all();
                }
            }
        }
        let wakers = &self.shared.wakers;
        let mut wake = std::mem::take(&mut out.wake_lanes);
        while wake != 0 {
            let lane = wake.trailing_zeros() as usize;
            wake &= wake - 1;
            if let Some(slot) = wakers.lanes.get(lane) {
                slot.unpark();
            }
        }
        if std::mem::take(&mut out.wake_tdr) {
            wakers.tdr.unpark();
        }
    }

    /// Whether the device takes work (not in reset, no reset pending).
    pub(crate) fn is_operational(&self) -> bool {
        self.shared.operational.load(Ordering::Acquire)
    }

    /// Submit a CS on context slot `index` (`hl_cs_ioctl` for a default CS); returns its seq.
    /// See [`Context::submit`](crate::Context::submit).
    pub(crate) fn submit(&self, index: usize, cs: &CsSubmit<'_>) -> Result<u64, SubmitError> {
        let ring = self.ring(index);
        let result = self.submit_checked(ring, index, cs);
        if let Err(e) = &result
            && let Some(which) = e.counter()
        {
            self.shared.counters.bump(which);
            ring.bump(which);
        }
        result
    }

    fn submit_checked(
        &self,
        context: &Ring,
        ctx_index: usize,
        cs: &CsSubmit<'_>,
    ) -> Result<u64, SubmitError> {
        if !self.is_operational() {
            return Err(SubmitError::DeviceNotOperational);
        }
        if cs.jobs.is_empty() {
            return Err(SubmitError::NoJobs);
        }
        let max = A::LIMITS.max_jobs_per_cs;
        if cs.jobs.len() > max as usize {
            return Err(SubmitError::TooManyJobs {
                jobs: cs.jobs.len(),
                max,
            });
        }
        let mut out = self.defer();
        let mut guard = self.lock_hw();
        // why: under the lock that `engines_stopped` also holds, so no CS slips in after the
        // roll-back with nothing left to run or time it.
        if self.shared.handoff.is_halted() {
            return Err(SubmitError::DeviceNotOperational);
        }
        let (hw, completion) = guard.split();
        let result = hw.submit(context, ctx_index, cs, &completion, &mut out);
        drop(guard);
        result
    }

    /// Count a failed CS ioctl of context slot `index` in the drop counters it bumps.
    fn count_failure<T>(
        &self,
        index: usize,
        result: Result<T, SubmitError>,
    ) -> Result<T, SubmitError> {
        if let Err(e) = &result
            && let Some(which) = e.counter()
        {
            self.shared.counters.bump(which);
            self.ring(index).bump(which);
        }
        result
    }

    /// `hl_cs_sanity_checks` for a sync-stream CS: the device takes work, and the generation
    /// has sync streams.
    fn sync_sanity(&self) -> Result<(), SubmitError> {
        if !self.is_operational() {
            return Err(SubmitError::DeviceNotOperational);
        }
        if !A::FEATURES.sync_stream {
            return Err(SubmitError::SyncStreamNotSupported);
        }
        Ok(())
    }

    /// The queue position of sync-stream queue `queue` (`cs_ioctl_signal_wait`'s checks).
    fn sync_queue(&self, queue: u32) -> Result<usize, SubmitError> {
        let reject = |reason| SubmitError::SyncQueue { queue, reason };
        let q = state::queue_index::<A>(queue).ok_or(reject(SyncQueueRejection::Unknown))?;
        if !A::QUEUES[q].supports_sync_stream {
            return Err(reject(SyncQueueRejection::NoSyncStream));
        }
        Ok(q)
    }

    /// A sync-stream CS on `queue`: the sanity checks, the queue's (its position is handed to
    /// `submit`), then `submit`; a failure bumps its drop counter.
    fn sync_cs<T>(
        &self,
        index: usize,
        queue: u32,
        submit: impl FnOnce(usize) -> Result<T, SubmitError>,
    ) -> Result<T, SubmitError> {
        let result = self
            .sync_sanity()
            .and_then(|()| self.sync_queue(queue))
            .and_then(submit);
        self.count_failure(index, result)
    }

    /// A signal CS (§5); see [`Context::submit_signal`](crate::Context::submit_signal).
    pub(crate) fn submit_signal(
        &self,
        index: usize,
        req: &SignalSubmit,
    ) -> Result<SignalCs, SubmitError> {
        self.sync_cs(index, req.queue, |_| {
            let jobs = [Job::new(req.queue).with_work(req.work)];
            let cs = CsSubmit {
                jobs: &jobs,
                timeout: req.timeout,
                timestamp: req.timestamp,
            };
            let mut out = self.defer();
            let mut guard = self.lock_hw();
            let (hw, completion) = guard.split();
            let r = hw.submit_sync(
                self.ring(index),
                index,
                &cs,
                SyncKind::Signal,
                None,
                &completion,
                &mut out,
            );
            drop(guard);
            r?.into_signal()
        })
    }

    /// A wait CS (§5); see [`Context::submit_wait`](crate::Context::submit_wait).
    pub(crate) fn submit_wait(
        &self,
        index: usize,
        req: &WaitSubmit<'_>,
    ) -> Result<WaitCs, SubmitError> {
        self.sync_cs(index, req.queue, |_| {
            let jobs = [Job::new(req.queue).with_work(req.work)];
            let cs = CsSubmit {
                jobs: &jobs,
                timeout: req.timeout,
                timestamp: req.timestamp,
            };
            self.submit_wait_jobs(index, req.signal_seqs, &cs, None)
        })
    }

    /// A collective wait CS (§5, Gaudi); see
    /// [`Context::submit_collective_wait`](crate::Context::submit_collective_wait).
    pub(crate) fn submit_collective_wait(
        &self,
        index: usize,
        req: &CollectiveWaitSubmit<'_>,
    ) -> Result<WaitCs, SubmitError> {
        self.sync_cs(index, req.queue, |q| {
            if A::QUEUES[q].collective != crate::asic::CollectiveMode::Master {
                return Err(SubmitError::SyncQueue {
                    queue: req.queue,
                    reason: SyncQueueRejection::NotCollectiveMaster,
                });
            }
            if !sync_stream::nic_ports_enabled::<A>(self.binned()) {
                return Err(SubmitError::NicPortsDisabled);
            }
            let queues =
                sync_stream::collective_queues::<A>(q, req.collective_engine, self.binned());
            let bad_engine = queues.is_none().then_some(req.collective_engine);
            let jobs: Vec<Job> = queues
                .unwrap_or_else(|| vec![q])
                .into_iter()
                .map(|q| Job::new(A::QUEUES[q].id).with_work(crate::Work::Run(Duration::ZERO)))
                .collect();
            let cs = CsSubmit {
                jobs: &jobs,
                timeout: req.timeout,
                timestamp: req.timestamp,
            };
            self.submit_wait_jobs(index, req.signal_seqs, &cs, bad_engine)
        })
    }

    /// A wait CS on encapsulated signals (§5); see
    /// [`Context::submit_encaps_wait`](crate::Context::submit_encaps_wait).
    pub(crate) fn submit_encaps_wait(
        &self,
        index: usize,
        req: &EncapsWaitSubmit,
    ) -> Result<WaitCs, SubmitError> {
        self.sync_cs(index, req.queue, |_| {
            let jobs = [Job::new(req.queue).with_work(req.work)];
            let cs = CsSubmit {
                jobs: &jobs,
                timeout: req.timeout,
                timestamp: false,
            };
            let context = self.ring(index);
            // The driver looks the handle up by the seq it is bound to: none (an invalid or
            // gone seq included) means the signals are done.
            let fence = match context.lookup(req.staged_seq) {
                Lookup::Fence(f) => f.into_fence(),
                _ => return Ok(WaitCs::SignalDone { consumed_seq: None }),
            };
            let mut out = self.defer();
            let mut guard = self.lock_hw();
            let (hw, completion) = guard.split();
            let ring_len = A::LIMITS.max_pending_cs as usize;
            let record = index * ring_len + (req.staged_seq as usize & (ring_len - 1));
            let bound = {
                let mut st = completion.lock();
                st.drain(&mut out);
                st.encaps_of(record, req.staged_seq)
            };
            let Some((sob, pre_sob_val, count)) = bound else {
                return Ok(WaitCs::SignalDone { consumed_seq: None });
            };
            if req.offset > count {
                return Err(SubmitError::EncapsOffset {
                    offset: req.offset,
                    count,
                });
            }
            if fence.is_signalled() {
                return Ok(WaitCs::SignalDone { consumed_seq: None });
            }
            let val = pre_sob_val + req.offset.max(1) - 1;
            let kind = SyncKind::Wait {
                sob,
                val: (val & (MAX_SOB_VAL - 1)) as u16,
                signal: fence,
            };
            let r = hw.submit_sync(context, index, &cs, kind, None, &completion, &mut out);
            drop(guard);
            r?.into_wait()
        })
    }

    /// The common part of a wait and a collective wait: find the signal CS, then submit.
    fn submit_wait_jobs(
        &self,
        index: usize,
        signal_seqs: &[u64],
        cs: &CsSubmit<'_>,
        bad_engine: Option<u32>,
    ) -> Result<WaitCs, SubmitError> {
        let &[signal_seq] = signal_seqs else {
            return Err(SubmitError::SignalSeqCount {
                len: signal_seqs.len(),
            });
        };
        let context = self.ring(index);
        let fence = match context.lookup(signal_seq) {
            Lookup::Invalid { next_seq } => {
                return Err(SubmitError::InvalidSignalSeq {
                    seq: signal_seq,
                    next_seq,
                });
            }
            // hl_ctx_get_fence gave NULL: the signal CS is done.
            Lookup::Gone => return Ok(WaitCs::SignalDone { consumed_seq: None }),
            Lookup::Fence(f) => f.into_fence(),
        };
        let mut out = self.defer();
        let mut guard = self.lock_hw();
        let (hw, completion) = guard.split();
        let ring_len = A::LIMITS.max_pending_cs as usize;
        let record = index * ring_len + (signal_seq as usize & (ring_len - 1));
        let Some((sob, val, rolled_back)) = hw.sync.signal_of(record, signal_seq) else {
            // The fence we hold is the signal's own (the driver reads the CS type from it); a
            // row reused by a later CS since our lookup means that fence completed, and the
            // seq is gone now.
            if fence.is_signalled() && context.next_seq() > signal_seq + ring_len as u64 {
                return Ok(WaitCs::SignalDone { consumed_seq: None });
            }
            return Err(SubmitError::NotASignalCs { seq: signal_seq });
        };
        // A signal a reset rolled back is done (aborted), even if its fence is signalled only
        // once the reset's effects are applied: the SOB value it was given is gone.
        if fence.is_signalled() || rolled_back {
            return Ok(WaitCs::SignalDone { consumed_seq: None });
        }
        let kind = SyncKind::Wait {
            sob,
            val,
            signal: fence,
        };
        let r = hw.submit_sync(context, index, cs, kind, bad_engine, &completion, &mut out);
        drop(guard);
        r?.into_wait()
    }

    /// A CS of a staged submission (§5); see
    /// [`Context::submit_staged`](crate::Context::submit_staged).
    pub(crate) fn submit_staged(
        &self,
        index: usize,
        req: &StagedSubmit<'_>,
    ) -> Result<StagedCs, SubmitError> {
        let result = (|| {
            if !self.is_operational() {
                return Err(SubmitError::DeviceNotOperational);
            }
            if !A::FEATURES.staged_submission {
                return Err(SubmitError::StagedNotSupported);
            }
            if req.cs.jobs.is_empty() {
                return Err(SubmitError::NoJobs);
            }
            let max = A::LIMITS.max_jobs_per_cs;
            if req.cs.jobs.len() > max as usize {
                return Err(SubmitError::TooManyJobs {
                    jobs: req.cs.jobs.len(),
                    max,
                });
            }
            let mut out = self.defer();
            let mut guard = self.lock_hw();
            let (hw, completion) = guard.split();
            let r = hw.submit_staged(self.ring(index), index, req, &completion, &mut out);
            drop(guard);
            r
        })();
        self.count_failure(index, result)
    }

    /// Reserve `count` signals on `queue` (§5, `HL_CS_FLAGS_RESERVE_SIGNALS_ONLY`).
    pub(crate) fn reserve_signals(
        &self,
        index: usize,
        queue: u32,
        count: u32,
    ) -> Result<SignalReservation, SubmitError> {
        // Only the device check: the reserve ioctl has no feature check of its own, a queue
        // without sync streams refuses it (every queue, on a generation without them).
        if !self.is_operational() {
            return Err(SubmitError::DeviceNotOperational);
        }
        if count >= MAX_SOB_VAL {
            return Err(SubmitError::SignalCountTooLarge { count });
        }
        let q = self.sync_queue(queue)?;
        let out = self.defer();
        let mut guard = self.lock_hw();
        let (hw, completion) = guard.split();
        let mut st = completion.lock();
        let r = hw
            .sync
            .reserve(index, q, count, &mut st.sm)
            .map_err(|_| SubmitError::CannotSwitchSob { seq: None, queue });
        drop(st);
        drop(guard);
        drop(out);
        r
    }

    /// Give back reservation `handle` (§5, `HL_CS_FLAGS_UNRESERVE_SIGNALS_ONLY`).
    pub(crate) fn unreserve_signals(&self, index: usize, handle: u32) -> Result<(), SubmitError> {
        if !self.is_operational() {
            return Err(SubmitError::DeviceNotOperational);
        }
        let out = self.defer();
        let mut guard = self.lock_hw();
        let (hw, completion) = guard.split();
        let mut st = completion.lock();
        let r = hw
            .sync
            .unreserve(index, handle, &mut st.sm)
            .map_err(|missing| {
                if missing {
                    SubmitError::NoSuchReservation { handle }
                } else {
                    SubmitError::ReservationOutOfSync { handle }
                }
            });
        drop(st);
        drop(guard);
        drop(out);
        r
    }

    /// The sync manager's use now (§5).
    pub(crate) fn sync_stats(&self) -> SyncStats {
        let mut out = self.defer();
        let stats = {
            let (hw, st) = self.lock_both(&mut out);
            SyncStats {
                reservations: hw.sync.reservations(),
                ..st.sm.stats()
            }
        };
        drop(out);
        stats
    }

    /// The value SOB `sob` (a SOB id of the sync-stream range) holds now, if it is one.
    pub(crate) fn sob_value(&self, sob: u32) -> Option<u32> {
        let mut out = self.defer();
        let v = {
            let (hw, st) = self.lock_both(&mut out);
            hw.sync.bank_index(sob).map(|b| st.sm.value(b))
        };
        drop(out);
        v
    }

    /// The SOBs and monitor sync-stream `queue` reserves.
    pub(crate) fn reserved_sync_ids(&self, queue: u32) -> Option<sync_stream::ReservedIds> {
        let q = state::queue_index::<A>(queue)?;
        self.lock_hw().sync.reserved(q)
    }

    /// The value the next signal CS on `queue` will be given (`next_sob_val`).
    pub(crate) fn next_sob_val(&self, queue: u32) -> Option<u32> {
        let q = state::queue_index::<A>(queue)?;
        self.lock_hw().sync.next_sob_val(q)
    }

    /// Wait for CS `seq` of context slot `index` (`hl_cs_ioctl` wait); see
    /// [`Context::wait_cs`](crate::Context::wait_cs).
    pub(crate) fn wait_cs(
        &self,
        index: usize,
        seq: u64,
        timeout: Duration,
        cancel: Option<&CancelToken>,
    ) -> Result<WaitStatus, CsWaitError> {
        let context = self.ring(index);
        if !self.is_operational() {
            return Err(CsWaitError::DeviceNotOperational);
        }
        let fence = match context.lookup_for_wait(seq) {
            WaitLookup::Invalid { next_seq } => {
                return Err(CsWaitError::InvalidSeq { seq, next_seq });
            }
            // §4: a gone CS that asked for a timestamp is answered from the outcome store.
            WaitLookup::Gone if let Some(stored) = context.outcomes.pop(seq) => {
                return wait_status(seq, Ok(stored));
            }
            WaitLookup::Gone => {
                return Ok(WaitStatus::Completed {
                    gone: true,
                    timestamp: None,
                });
            }
            // Already signalled (the pipelined case): no reference taken, no clock read, no
            // need to tell the worker.
            WaitLookup::Signalled(signalled) => return wait_status(seq, Ok(signalled)),
            WaitLookup::Pending(fence) => fence,
        };
        if self.shared.config.clock == ClockMode::Real
            && !fence.is_signalled()
            && self.engines_share_my_cpu()
        {
            self.poll_engines();
        }
        let waited = match (self.shared.config.clock, fence.signalled()) {
            (_, Some(signalled)) => Ok(signalled),
            // A poll never sleeps, so a pending signal cannot interrupt it: the driver's
            // `completion_done` check answers busy.
            (ClockMode::Real, None) if timeout.is_zero() => Err(WaitError::TimedOut),
            (ClockMode::Real, None) => {
                let waiting = &self.shared.wakers.waiting.0;
                // Relaxed: a hint for the coalescing worker; a late look only delays its drain
                // by its bounded quiet period.
                waiting.fetch_add(1, Ordering::Relaxed);
                // A coalescing worker drains as soon as it sees us; give it that moment before
                // sleeping, so a CS finished a few hundred ns from now costs no futex round trip.
                let budget = &self.shared.wakers.wait_spins;
                let spins = if timeout.is_zero() { 0 } else { budget.get() };
                let progress = &self.shared.handoff.progress;
                let before = progress.read();
                let mut spun = 0;
                let cross = self.shared.handoff.workers_are_elsewhere(current_cpu());
                if cross && budget.is_paying() && spins > 0 {
                    // why: the worker runs on another CPU, so spinning does not delay it, and
                    // a spin that outlasts a slow wake-up keeps both sides out of the futex
                    // (`spin.rs`).
                    spin_for(CROSS_CPU_WAIT_SPIN, || fence.is_signalled());
                } else {
                    while spun < spins && !fence.is_signalled() {
                        std::hint::spin_loop();
                        spun += 1;
                    }
                }
                // why: a worker that completed anything while we spun runs on another CPU, so
                // spinning pays even if our CS was further back; one that did nothing may be
                // waiting for our CPU. Judging by our own CS alone, a budget shrunk while the
                // workers were parked never grows back (measured: 2.1 instead of 6 M CS/s).
                if spins > 0 {
                    if fence.is_signalled() || progress.read() != before {
                        budget.paid_off();
                    } else {
                        budget.wasted();
                    }
                }
                // A spin that saw the signal needs no deadline (and no clock read).
                let r = match fence.signalled() {
                    Some(signalled) => Ok(signalled),
                    None => fence.wait_signalled(Instant::now().checked_add(timeout), cancel),
                };
                waiting.fetch_sub(1, Ordering::Relaxed);
                r
            }
            (ClockMode::Virtual, None) => self.wait_virtual(&fence, timeout, cancel),
        };
        wait_status(seq, waited)
    }

    /// Real mode: whether an engine worker runs and was last seen on the calling thread's CPU.
    /// It cannot be running then (we are), so it completes nothing until the scheduler gives it
    /// this CPU. (Any lane's worker: the CS waited for may have jobs on several lanes, and a
    /// poll serves them all.)
    fn engines_share_my_cpu(&self) -> bool {
        self.shared.wakers.started.load(Ordering::Relaxed)
            && self.shared.handoff.a_worker_is_here(current_cpu())
    }

    /// Busy polling, real mode: complete what the engines have finished by now on the calling
    /// thread, as an engine worker would (the completion lock, due jobs, release, signals after
    /// the unlock), instead of sleeping until the worker gets this CPU. A waiter on the worker's
    /// CPU does this: otherwise each wait costs two context switches (the waiter's sleep and its
    /// wake-up, which a pipeline of 32 CSs pays per batch), the cost that held a same-CPU
    /// pipeline to about 1.5 M CS/s (BENCHMARKS.md). The work is the completion interrupt's,
    /// done on the CPU that waits for it, as a driver's completion poll or a NIC's busy poll
    /// does; nothing is completed that is not due, so what a CS reports does not change.
    fn poll_engines(&self) {
        let mut out = self.defer_with(Effects::thread_spare(POLL_BUDGET));
        let done = self.lock().run_lanes(POLL_BUDGET, &mut out);
        out.finish().keep_spare();
        if done > 0 {
            self.shared.handoff.progress.bump();
        }
    }

    /// Run virtual time for a waiter on `fence`.
    fn wait_virtual(
        &self,
        fence: &Fence,
        timeout: Duration,
        cancel: Option<&CancelToken>,
    ) -> Result<Signalled, WaitError> {
        let limit = self.virtual_limit(timeout);
        loop {
            if let Some(s) = fence.signalled() {
                return Ok(s);
            }
            // A poll is never interrupted (see `wait_cs`).
            if !timeout.is_zero() && cancel.is_some_and(CancelToken::is_cancelled) {
                return Err(WaitError::Interrupted);
            }
            let stepped = self.step_virtual(limit);
            if !stepped {
                return fence.signalled().ok_or(WaitError::TimedOut);
            }
        }
    }

    /// `now + timeout` on the virtual clock, or `None` for "forever".
    fn virtual_limit(&self, timeout: Duration) -> Option<u64> {
        let now = self.shared.handoff.virtual_now.now();
        let t = duration_ns(timeout);
        // why: beyond ~146 years a timeout is "forever"; moving the clock there would break
        // every later deadline.
        (t < u64::MAX / 2).then(|| now.saturating_add(t))
    }

    /// Process one virtual event due by `limit` (`None`: any); at the end of time, move the
    /// clock to `limit`. `false` when no event was due.
    fn step_virtual(&self, limit: Option<u64>) -> bool {
        let mut out = self.defer();
        let mut st = self.lock();
        let stepped = st.step(limit.unwrap_or(u64::MAX), &mut out);
        if !stepped && let Some(limit) = limit {
            st.handoff.virtual_now.advance_to(limit);
        }
        stepped
    }

    /// Wait for any of up to 32 CSs of context slot `index` (`hl_multi_cs_wait_ioctl`); see
    /// [`Context::wait_multi`](crate::Context::wait_multi).
    ///
    /// Every entry is looked up under one hold of the submission lock (no CS can be allocated
    /// in between); an invalid seq fails the whole call. The driver wakes a multi-CS waiter only
    /// for CSs on its stream-master queues; here any release wakes it and it re-polls, which
    /// also covers CSs with no stream-master queue.
    pub(crate) fn wait_multi(
        &self,
        index: usize,
        seqs: &[u64],
        timeout: Duration,
        cancel: Option<&CancelToken>,
    ) -> Result<MultiWaitStatus, CsWaitError> {
        // §4: the wait ioctl refuses a device that is not operational before it looks at what
        // kind of wait it was asked for.
        if !self.is_operational() {
            return Err(CsWaitError::DeviceNotOperational);
        }
        if !A::FEATURES.multi_cs_wait {
            return Err(CsWaitError::NotSupported);
        }
        if seqs.is_empty() || seqs.len() > MULTI_CS_MAX_LEN {
            return Err(CsWaitError::BadSeqCount { len: seqs.len() });
        }
        let context = self.ring(index);
        let mut fences: [Option<Fence>; MULTI_CS_MAX_LEN] = std::array::from_fn(|_| None);
        let mut gone = 0u32;
        {
            let _allocations_stopped = self.lock_hw();
            for (i, &seq) in seqs.iter().enumerate() {
                match context.lookup(seq) {
                    Lookup::Invalid { next_seq } => {
                        return Err(CsWaitError::InvalidSeq { seq, next_seq });
                    }
                    Lookup::Gone => gone |= 1 << i,
                    Lookup::Fence(f) => fences[i] = Some(f.into_fence()),
                }
            }
        }
        let slot = MultiSlotGuard::claim(&self.shared.multi).ok_or(CsWaitError::NoMultiWaitSlot)?;
        let fences = &fences[..seqs.len()];
        let deadline = Instant::now().checked_add(timeout);
        let limit = match self.shared.config.clock {
            ClockMode::Virtual => self.virtual_limit(timeout),
            ClockMode::Real => None,
        };
        loop {
            // As `wait_cs` does: a waiter on its worker's CPU completes what is due itself.
            if self.shared.config.clock == ClockMode::Real && self.engines_share_my_cpu() {
                self.poll_engines();
            }
            // Re-init before polling: a release after the poll completes it and we do not sleep.
            let _ = slot.completion().reinit();
            // Pairs with the SeqCst fence in `apply` (see there).
            std::sync::atomic::fence(Ordering::SeqCst);
            if let Some(status) = poll_multi(fences, gone)? {
                return Ok(status);
            }
            if timeout.is_zero() {
                return Ok(MultiWaitStatus::Busy);
            }
            match self.shared.config.clock {
                ClockMode::Virtual => {
                    if cancel.is_some_and(CancelToken::is_cancelled) {
                        return Err(CsWaitError::Interrupted);
                    }
                    if !self.step_virtual(limit) {
                        return Ok(poll_multi(fences, gone)?.unwrap_or(MultiWaitStatus::Busy));
                    }
                }
                ClockMode::Real => {
                    let waited = match (cancel, deadline) {
                        (Some(token), Some(d)) => {
                            slot.completion().wait_interruptible_deadline(token, d)
                        }
                        (Some(token), None) => slot.completion().wait_interruptible(token),
                        (None, Some(d)) => slot.completion().wait_deadline(d),
                        (None, None) => {
                            slot.completion().wait();
                            Ok(())
                        }
                    };
                    match waited {
                        Ok(()) => {}
                        Err(WaitError::Interrupted) => return Err(CsWaitError::Interrupted),
                        Err(_) => {
                            return Ok(poll_multi(fences, gone)?.unwrap_or(MultiWaitStatus::Busy));
                        }
                    }
                }
            }
        }
    }

    /// Reset the device now (as after an engine error or a TDR without `reset_on_lockup`):
    /// every in-flight CS is rolled back and its waiters woken, queue pointers go back to 0, and
    /// the device takes work again.
    pub(crate) fn reset(&self) {
        let mut out = self.defer();
        {
            let (mut hw, mut st) = self.lock_both(&mut out);
            st.reset(&mut hw, &mut out);
        }
    }

    /// Stop taking work until [`reset`](Self::reset), as the driver does when a reset is
    /// needed but not done yet (`needs_reset`). Submissions get
    /// [`SubmitError::DeviceNotOperational`] and waits [`CsWaitError::DeviceNotOperational`].
    pub(crate) fn mark_needs_reset(&self) {
        let mut st = self.lock();
        st.needs_reset = true;
        st.set_operational(false);
    }

    /// Virtual mode: let `d` of virtual time pass, processing every job completion and TDR
    /// expiry due in it, in time order. Does nothing in real mode.
    pub(crate) fn advance(&self, d: Duration) {
        if self.shared.config.clock != ClockMode::Virtual {
            return;
        }
        let limit = self.virtual_limit(d);
        while self.step_virtual(limit) {}
    }

    /// Virtual mode: process events until none is pending (a hung CS with TDR off stays in
    /// flight). Returns the number of events processed. Does nothing in real mode.
    pub(crate) fn run_until_idle(&self) -> u64 {
        if self.shared.config.clock != ClockMode::Virtual {
            return 0;
        }
        let mut n = 0;
        while self.step_virtual(None) {
            n += 1;
        }
        n
    }

    /// The device clock: virtual time, or `CLOCK_MONOTONIC`.
    pub(crate) fn now(&self) -> Timestamp {
        Timestamp::from_nanos(self.shared.handoff.now(self.shared.config.clock))
    }

    /// The device's drop counters (the sum over its contexts).
    pub(crate) fn counters(&self) -> CsCounters {
        self.shared.counters.snapshot()
    }

    /// CS statistics.
    pub(crate) fn stats(&self) -> DeviceStats {
        let mut out = self.defer();
        let stats = {
            let (hw, st) = self.lock_both(&mut out);
            let mut stats = DeviceStats {
                submitted: hw.submitted,
                in_flight: st.in_flight,
                tdr_fired: st.tdr_fired,
                resets: st.resets,
                resets_merged: st.resets_merged,
                engine_faults: st.engine_faults,
                hangs: hw.hangs,
                needs_reset: st.needs_reset,
                ..DeviceStats::default()
            };
            hw.released.add_to(&mut stats);
            st.released.add_to(&mut stats);
            stats
        };
        drop(out);
        stats
    }

    /// The busy-engines mask (`is_device_idle`).
    pub(crate) fn busy_engines(&self) -> EngineMask {
        let mut out = self.defer();
        let mask = self.lock_both(&mut out).1.busy_engines();
        drop(out);
        mask
    }

    /// The pointers of the queue with raw id `queue`.
    pub(crate) fn queue(&self, queue: u32) -> Option<HwQueue> {
        let q = queue_index::<A>(queue)?;
        Some(self.lock_hw().queue(q))
    }

    /// Free entries of completion queue `cq`.
    pub(crate) fn completion_queue_free(&self, cq: u32) -> Option<u32> {
        self.lock_hw().completion_queue_free(cq as usize)
    }

    /// The seq whose TDR timer is armed and its deadline (device clock), if any.
    pub(crate) fn armed_tdr(&self) -> Option<(u64, Timestamp)> {
        let mut out = self.defer();
        let armed = self.lock_both(&mut out).1.tdr;
        drop(out);
        armed.map(|a| (a.seq, Timestamp::from_nanos(a.deadline)))
    }
}

/// What `hl_cs_wait_ioctl` reports for CS `seq` after its fence wait ended with `waited`.
fn wait_status(seq: u64, waited: Result<Signalled, WaitError>) -> Result<WaitStatus, CsWaitError> {
    match waited {
        Ok(Signalled { outcome, timestamp }) => match outcome {
            Outcome::TimedOut => Err(CsWaitError::TimedOut { seq }),
            Outcome::Aborted => Err(CsWaitError::Aborted { seq }),
            // Ok, and not submitted (reported as completed, without a timestamp).
            _ => Ok(WaitStatus::Completed {
                gone: false,
                timestamp,
            }),
        },
        Err(WaitError::Interrupted) => Err(CsWaitError::Interrupted),
        Err(_) => Ok(WaitStatus::Busy),
    }
}

/// Poll every fence once: `Some(Completed)` if any entry is done, an error if a polled fence
/// says timed out or aborted, `None` if nothing is done.
///
/// The timestamp and the GONE flag follow `hl_multi_cs_wait_ioctl`: the timestamp is the
/// earliest of the completed CSs' fence timestamps, where a fence without one counts as 0 and a
/// gone entry cancels the timestamp; with no timestamp left the GONE flag is set (the driver
/// sets it "if timestamp is 0", whether or not an entry was gone).
fn poll_multi(fences: &[Option<Fence>], gone: u32) -> Result<Option<MultiWaitStatus>, CsWaitError> {
    let mut bitmap = gone;
    let mut earliest: Option<Timestamp> = None;
    let mut untimed = gone != 0;
    for (i, fence) in fences.iter().enumerate() {
        let Some(fence) = fence else { continue };
        let Some(s) = fence.signalled() else { continue };
        match s.outcome {
            Outcome::TimedOut => return Err(CsWaitError::TimedOut { seq: fence.seq() }),
            Outcome::Aborted => return Err(CsWaitError::Aborted { seq: fence.seq() }),
            _ => {
                bitmap |= 1 << i;
                match s.timestamp {
                    Some(ts) => earliest = Some(earliest.map_or(ts, |e| e.min(ts))),
                    None => untimed = true,
                }
            }
        }
    }
    let timestamp = if untimed { None } else { earliest };
    Ok((bitmap != 0).then_some(MultiWaitStatus::Completed {
        bitmap,
        timestamp,
        gone: timestamp.is_none(),
    }))
}

/// A claimed multi-CS completion structure, given back on drop.
struct MultiSlotGuard<'a> {
    slot: &'a MultiSlot,
}

impl<'a> MultiSlotGuard<'a> {
    fn claim(slots: &'a [MultiSlot]) -> Option<MultiSlotGuard<'a>> {
        slots
            .iter()
            .find(|s| {
                // Acquire: the previous holder is done with the completion; the poll is ordered
                // after the claim by the SeqCst fence in the wait loop.
                s.in_use
                    .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            })
            .map(|slot| MultiSlotGuard { slot })
    }

    fn completion(&self) -> &Completion {
        &self.slot.completion
    }
}

impl Drop for MultiSlotGuard<'_> {
    fn drop(&mut self) {
        self.slot.in_use.store(false, Ordering::Release);
    }
}
