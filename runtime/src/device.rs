//! [`Device`]: contexts, queues, engines, the CS lifecycle, TDR and reset on the simulated
//! device, generic over the generated `A: Asic`.
//!
//! ```
//! # use asicgen_runtime::device::{Device, DeviceConfig};
//! # fn demo<A: asicgen_runtime::asic::Asic>(queue: u32) {
//! use asicgen_runtime::{ContextId, CsSubmit, Job, WaitStatus};
//! use std::time::Duration;
//! let device = Device::<A>::new(DeviceConfig::for_asic::<A>()).expect("config");
//! let ctx = ContextId(0);
//! let seq = device.submit(ctx, &CsSubmit::new(&[Job::new(queue)])).expect("submitted");
//! device.advance(Duration::from_millis(1)); // virtual time: the engines run
//! let status = device.wait_cs(ctx, seq, Duration::ZERO, None);
//! assert!(matches!(status, Ok(WaitStatus::Completed { .. })));
//! # }
//! ```
//!
//! Two locks, as in the driver: submission runs under the submission lock (`hw_queues.rs`, the
//! driver's `hw_queues_lock`), completion and the TDR under the completion lock (`state.rs`,
//! `tdr.rs`, its `cs_mirror_lock`); the two sides meet lock-free (`handoff.rs`), so a submitter
//! and the engine workers never wait for each other. A reset takes both, submission first
//! (`reset.rs`). Fences are signalled after the locks are dropped (`effects.rs`). Waits take
//! neither: they look the seq up in the context's ring and wait on the fence.

use crate::asic::Asic;
use crate::cancel::CancelToken;
use crate::completion::Completion;
use crate::completion::WaitError;
use crate::context::{Context, ContextId, Lookup, WaitLookup};
use crate::counters::{AtomicCsCounters, CsCounters};
use crate::effects::Effects;
use crate::engine::EngineMask;
use crate::fence::{Fence, Outcome, Signalled, Timestamp};
use crate::fence_pool::PoolError;
use crate::handoff::{self, Handoff};
use crate::hw_queues::HwQueues;
use crate::queue::HwQueue;
use crate::sim::{self, ClockMode, SimConfig};
use crate::spin::SpinBudget;
use crate::state::{self, State, queue_index};
use crate::submit::{CsSubmit, SubmitError};
use crate::sync::lock;
use crate::wait::{CsWaitError, MultiWaitStatus, WaitStatus};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// Real mode: most times `wait_cs` re-checks its fence (spinning) before it sleeps on it.
const WAIT_SPINS: u32 = 300;

/// Most seqs one multi-CS wait takes (`HL_WAIT_MULTI_CS_LIST_MAX_LEN`).
pub const MULTI_CS_MAX_LEN: usize = 32;
/// Multi-CS waits that can run at once (`MULTI_CS_MAX_USER_CTX`).
pub const MULTI_CS_SLOTS: usize = 2;
/// Most engine lanes (worker threads).
pub const MAX_LANES: usize = 64;

/// How a device is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceConfig {
    /// Number of user contexts (each with its own seqs, ring and counters).
    pub contexts: u32,
    /// The device TDR timeout (`timeout_locked`); `None` switches TDR off. Defaults to the spec's
    /// `cs_timeout`.
    pub tdr_timeout: Option<Duration>,
    /// Reset the device when the TDR fires (`reset_on_lockup`, default true); otherwise the
    /// device only stops taking work until [`Device::reset`].
    pub reset_on_lockup: bool,
    /// Virtual or real time.
    pub clock: ClockMode,
    /// How the simulated engines behave.
    pub sim: SimConfig,
}

impl DeviceConfig {
    /// The defaults for generation `A`: one context, the spec's TDR timeout, reset on lockup,
    /// virtual time, zero-latency engines that never hang or fault.
    pub fn for_asic<A: Asic>() -> DeviceConfig {
        DeviceConfig {
            contexts: 1,
            tdr_timeout: A::LIMITS.tdr_timeout(),
            reset_on_lockup: true,
            clock: ClockMode::Virtual,
            sim: SimConfig::default(),
        }
    }
}

/// Why [`Device::new`] refused a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceError {
    /// `contexts` was 0.
    NoContexts,
    /// `sim.lanes` was 0 or above [`MAX_LANES`].
    BadLaneCount {
        /// The lanes asked for.
        lanes: usize,
    },
    /// The spec's `max_pending_cs` cannot size a ring.
    Ring(PoolError),
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceError::NoContexts => f.write_str("a device needs at least one context"),
            DeviceError::BadLaneCount { lanes } => {
                write!(f, "{lanes} engine lanes: use 1 to {MAX_LANES}")
            }
            DeviceError::Ring(e) => write!(f, "context ring: {e}"),
        }
    }
}

impl std::error::Error for DeviceError {}

/// Device-wide CS statistics (a snapshot). Every CS that got a seq is released exactly once,
/// so `released() == submitted + not_submitted` once nothing is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct DeviceStats {
    /// CSs written to their queues.
    pub submitted: u64,
    /// Released with outcome ok.
    pub completed: u64,
    /// Released timed out.
    pub timed_out: u64,
    /// Released aborted.
    pub aborted: u64,
    /// Released not submitted (failed after taking a seq).
    pub not_submitted: u64,
    /// CSs in flight now (in the mirror list).
    pub in_flight: u64,
    /// TDR expiries.
    pub tdr_fired: u64,
    /// Device resets.
    pub resets: u64,
    /// Engine errors raised by jobs.
    pub engine_faults: u64,
    /// Jobs that hung.
    pub hangs: u64,
    /// Releases in a non-terminal state (release builds only; debug builds panic).
    pub lifecycle_violations: u64,
    /// The TDR fired without a reset: the device waits for [`Device::reset`].
    pub needs_reset: bool,
}

impl DeviceStats {
    /// Every CS released so far.
    pub const fn released(&self) -> u64 {
        self.completed + self.timed_out + self.aborted + self.not_submitted
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
    pub(crate) waiting: Padded<AtomicU32>,
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

/// A value on a cache line of its own: the waiter count is written by the submitting thread
/// while the worker polls its neighbours (`shutdown`, `pushed`) in a tight loop.
#[repr(align(64))]
pub(crate) struct Padded<T>(pub(crate) T);

pub(crate) struct Shared<A: Asic> {
    /// The submission side (`hw_queues_lock`). Lock order: this one first.
    hw: Mutex<HwQueues<A>>,
    /// The completion side (`cs_mirror_lock`).
    state: Mutex<State<A>>,
    handoff: Arc<Handoff>,
    contexts: Box<[Context]>,
    counters: AtomicCsCounters,
    operational: Arc<AtomicBool>,
    config: DeviceConfig,
    multi: [MultiSlot; MULTI_CS_SLOTS],
    pub(crate) wakers: Wakers,
}

impl<A: Asic> Shared<A> {
    pub(crate) fn handoff_ref(&self) -> &Handoff {
        &self.handoff
    }
}

/// A simulated device of generation `A`. Cloning gives another handle to the same device.
pub struct Device<A: Asic> {
    pub(crate) shared: Arc<Shared<A>>,
}

impl<A: Asic> Clone for Device<A> {
    fn clone(&self) -> Self {
        Device {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<A: Asic> fmt::Debug for Device<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("asic", &A::NAME)
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl<A: Asic> Device<A> {
    /// A device with `config`, operational, every queue empty.
    pub fn new(config: DeviceConfig) -> Result<Device<A>, DeviceError> {
        if config.contexts == 0 {
            return Err(DeviceError::NoContexts);
        }
        let lanes = config.sim.lanes;
        if lanes == 0 || lanes > MAX_LANES {
            return Err(DeviceError::BadLaneCount { lanes });
        }
        let contexts = (0..config.contexts)
            .map(|i| Context::new(ContextId(i), A::LIMITS.max_pending_cs))
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
        let hw = HwQueues::new(config, Arc::clone(&handoff), rings);
        let state = State::new(config, Arc::clone(&handoff), ring_ends);
        let new_slot = || MultiSlot {
            in_use: AtomicBool::new(false),
            completion: Completion::new(),
        };
        Ok(Device {
            shared: Arc::new(Shared {
                hw: Mutex::new(hw),
                state: Mutex::new(state),
                handoff,
                contexts,
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
                    waiting: Padded(AtomicU32::new(0)),
                    wait_spins: SpinBudget::new(WAIT_SPINS),
                },
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DeviceConfig {
        &self.shared.config
    }

    /// Context `id`, if the device has it.
    pub fn context(&self, id: ContextId) -> Option<&Context> {
        self.shared.contexts.get(id.0 as usize)
    }

    /// Every context.
    pub fn contexts(&self) -> &[Context] {
        &self.shared.contexts
    }

    /// The completion side.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<A>> {
        lock(&self.shared.state)
    }

    /// The submission side.
    fn lock_hw(&self) -> MutexGuard<'_, HwQueues<A>> {
        lock(&self.shared.hw)
    }

    /// Both sides, in lock order, with everything handed over taken in: what an inspection
    /// sees then is what every finished `submit` call did.
    fn lock_both(
        &self,
        out: &mut Effects,
    ) -> (MutexGuard<'_, HwQueues<A>>, MutexGuard<'_, State<A>>) {
        let hw = self.lock_hw();
        let mut st = self.lock();
        st.drain(out);
        (hw, st)
    }

    /// Run a reset asked for under the completion lock, then signal collected fences, then wake
    /// multi-CS waiters and engine or TDR threads.
    pub(crate) fn apply(&self, out: &mut Effects) {
        if let Some(resets_then) = out.reset.take() {
            let mut hw = self.lock_hw();
            let mut st = self.lock();
            // why: a reset that ran since the request already did the work.
            if st.resets == resets_then {
                st.reset(&mut hw, out);
            }
        }
        if out.fire_signals() > 0 {
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
    pub fn is_operational(&self) -> bool {
        self.shared.operational.load(Ordering::Acquire)
    }

    /// Submit a CS on context `ctx` (`hl_cs_ioctl` for a default CS); returns its seq.
    ///
    /// Checks made before a seq is allocated, as in the driver: device operational
    /// (`hl_cs_sanity_checks`, `-EBUSY`), at least one job, at most `max_jobs_per_cs`. Then
    /// `allocate_cs` (`-EAGAIN` if the ring slot is busy). Every later failure (a bad queue,
    /// only internal jobs, the device going into reset, a full queue) has used up the seq: the
    /// CS is released as not submitted and the error names the seq
    /// ([`SubmitError::consumed_seq`]); the ioctl would return `u64::MAX` as the seq.
    pub fn submit(&self, ctx: ContextId, cs: &CsSubmit<'_>) -> Result<u64, SubmitError> {
        let context = self
            .context(ctx)
            .ok_or(SubmitError::UnknownContext { context: ctx.0 })?;
        let result = self.submit_checked(context, ctx.0 as usize, cs);
        if let Err(e) = &result
            && let Some(which) = e.counter()
        {
            self.shared.counters.bump(which);
            context.bump(which);
        }
        result
    }

    fn submit_checked(
        &self,
        context: &Context,
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
        let mut out = Effects::default();
        let result = self
            .lock_hw()
            .submit(context, ctx_index, cs, &self.shared.state, &mut out);
        self.apply(&mut out);
        result
    }

    /// Wait for CS `seq` of context `ctx` (`hl_cs_wait_ioctl`), at most `timeout` (zero polls),
    /// interruptible through `cancel`. The timestamp is returned when the CS asked for one.
    ///
    /// Virtual mode: a wait that has to sleep advances the virtual clock instead (events are
    /// processed until the CS finishes or the timeout has passed in virtual time). If nothing
    /// pending can ever finish it, it returns [`WaitStatus::Busy`] rather than block forever.
    pub fn wait_cs(
        &self,
        ctx: ContextId,
        seq: u64,
        timeout: Duration,
        cancel: Option<&CancelToken>,
    ) -> Result<WaitStatus, CsWaitError> {
        let context = self
            .context(ctx)
            .ok_or(CsWaitError::UnknownContext { context: ctx.0 })?;
        if !self.is_operational() {
            return Err(CsWaitError::DeviceNotOperational);
        }
        let fence = match context.lookup_for_wait(seq) {
            WaitLookup::Invalid { next_seq } => {
                return Err(CsWaitError::InvalidSeq { seq, next_seq });
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
        let waited = match (self.shared.config.clock, fence.signalled()) {
            (_, Some(signalled)) => Ok(signalled),
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
                let before = progress.load(Ordering::Relaxed);
                let mut spun = 0;
                while spun < spins && !fence.is_signalled() {
                    std::hint::spin_loop();
                    spun += 1;
                }
                // why: a worker that completed anything while we spun runs on another CPU, so
                // spinning pays even if our CS was further back; one that did nothing may be
                // waiting for our CPU. Judging by our own CS alone, a budget shrunk while the
                // workers were parked never grows back (measured: 2.1 instead of 6 M CS/s).
                if spins > 0 {
                    if fence.is_signalled() || progress.load(Ordering::Relaxed) != before {
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

    /// Run virtual time for a waiter on `fence`.
    fn wait_virtual(
        &self,
        fence: &Fence,
        timeout: Duration,
        cancel: Option<&CancelToken>,
    ) -> Result<Signalled, WaitError> {
        let limit = self.virtual_limit(timeout);
        let mut out = Effects::default();
        loop {
            if let Some(s) = fence.signalled() {
                return Ok(s);
            }
            if cancel.is_some_and(CancelToken::is_cancelled) {
                return Err(WaitError::Interrupted);
            }
            let stepped = self.step_virtual(limit, &mut out);
            if !stepped {
                return fence.signalled().ok_or(WaitError::TimedOut);
            }
        }
    }

    /// `now + timeout` on the virtual clock, or `None` for "forever".
    fn virtual_limit(&self, timeout: Duration) -> Option<u64> {
        let now = self.shared.handoff.virtual_now.load(Ordering::Relaxed);
        let t = sim::duration_ns(timeout);
        // why: beyond ~146 years a timeout is "forever"; moving the clock there would break
        // every later deadline.
        (t < u64::MAX / 2).then(|| now.saturating_add(t))
    }

    /// Process one virtual event due by `limit` (`None`: any); at the end of time, move the
    /// clock to `limit`. `false` when no event was due.
    fn step_virtual(&self, limit: Option<u64>, out: &mut Effects) -> bool {
        let stepped = {
            let mut st = self.lock();
            let stepped = st.step(limit.unwrap_or(u64::MAX), out);
            if !stepped && let Some(limit) = limit {
                st.handoff.virtual_now.fetch_max(limit, Ordering::Relaxed);
            }
            stepped
        };
        self.apply(out);
        stepped
    }

    /// Wait for any of up to 32 CSs (`hl_multi_cs_wait_ioctl`), only on generations with
    /// `multi_cs_wait` (else [`CsWaitError::NotSupported`], `-EPERM`). Returns the bitmap of
    /// completed entries (bit `i` for `seqs[i]`) and the earliest completion timestamp.
    ///
    /// Every entry is looked up under one hold of the submission lock (no CS can be allocated
    /// in between); an invalid seq fails the whole call. The driver wakes a multi-CS waiter only
    /// for CSs on its stream-master queues; here any release wakes it and it re-polls, which
    /// also covers CSs with no stream-master queue.
    pub fn wait_multi(
        &self,
        ctx: ContextId,
        seqs: &[u64],
        timeout: Duration,
        cancel: Option<&CancelToken>,
    ) -> Result<MultiWaitStatus, CsWaitError> {
        if !A::FEATURES.multi_cs_wait {
            return Err(CsWaitError::NotSupported);
        }
        if seqs.is_empty() || seqs.len() > MULTI_CS_MAX_LEN {
            return Err(CsWaitError::BadSeqCount { len: seqs.len() });
        }
        let context = self
            .context(ctx)
            .ok_or(CsWaitError::UnknownContext { context: ctx.0 })?;
        if !self.is_operational() {
            return Err(CsWaitError::DeviceNotOperational);
        }
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
                    Lookup::Fence(f) => fences[i] = Some(f),
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
        let mut out = Effects::default();
        loop {
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
                    if !self.step_virtual(limit, &mut out) {
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
    pub fn reset(&self) {
        let mut out = Effects::default();
        {
            let (mut hw, mut st) = self.lock_both(&mut out);
            st.reset(&mut hw, &mut out);
        }
        self.apply(&mut out);
    }

    /// Stop taking work until [`reset`](Self::reset), as the driver does when a reset is
    /// needed but not done yet (`needs_reset`). Submissions get
    /// [`SubmitError::DeviceNotOperational`] and waits [`CsWaitError::DeviceNotOperational`].
    pub fn mark_needs_reset(&self) {
        let mut st = self.lock();
        st.needs_reset = true;
        st.set_operational(false);
    }

    /// Virtual mode: let `d` of virtual time pass, processing every job completion and TDR
    /// expiry due in it, in time order. Does nothing in real mode.
    pub fn advance(&self, d: Duration) {
        if self.shared.config.clock != ClockMode::Virtual {
            return;
        }
        let limit = self.virtual_limit(d);
        let mut out = Effects::default();
        while self.step_virtual(limit, &mut out) {}
    }

    /// Virtual mode: process events until none is pending (a hung CS with TDR off stays in
    /// flight). Returns the number of events processed. Does nothing in real mode.
    pub fn run_until_idle(&self) -> u64 {
        if self.shared.config.clock != ClockMode::Virtual {
            return 0;
        }
        let mut out = Effects::default();
        let mut n = 0;
        while self.step_virtual(None, &mut out) {
            n += 1;
        }
        n
    }

    /// The device clock: virtual time, or `CLOCK_MONOTONIC`.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_nanos(match self.shared.config.clock {
            ClockMode::Virtual => self.shared.handoff.virtual_now.load(Ordering::Relaxed),
            ClockMode::Real => Timestamp::now().as_nanos(),
        })
    }

    /// The device's drop counters (the sum over its contexts).
    pub fn counters(&self) -> CsCounters {
        self.shared.counters.snapshot()
    }

    /// CS statistics.
    pub fn stats(&self) -> DeviceStats {
        let mut out = Effects::default();
        let stats = {
            let (hw, st) = self.lock_both(&mut out);
            let mut stats = DeviceStats {
                submitted: hw.submitted,
                in_flight: st.in_flight,
                tdr_fired: st.tdr_fired,
                resets: st.resets,
                engine_faults: st.engine_faults,
                hangs: hw.hangs,
                needs_reset: st.needs_reset,
                ..DeviceStats::default()
            };
            hw.released.add_to(&mut stats);
            st.released.add_to(&mut stats);
            stats
        };
        self.apply(&mut out);
        stats
    }

    /// The busy-engines mask (`is_device_idle`).
    pub fn busy_engines(&self) -> EngineMask {
        let mut out = Effects::default();
        let mask = self.lock_both(&mut out).1.busy_engines();
        self.apply(&mut out);
        mask
    }

    /// The pointers of the queue with raw id `queue`.
    pub fn queue(&self, queue: u32) -> Option<HwQueue> {
        let q = queue_index::<A>(queue)?;
        Some(self.lock_hw().queue(q))
    }

    /// Free entries of completion queue `cq`.
    pub fn completion_queue_free(&self, cq: u32) -> Option<u32> {
        self.lock_hw().completion_queue_free(cq as usize)
    }

    /// The seq whose TDR timer is armed and its deadline (device clock), if any.
    pub fn armed_tdr(&self) -> Option<(u64, Timestamp)> {
        let mut out = Effects::default();
        let armed = self.lock_both(&mut out).1.tdr;
        self.apply(&mut out);
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
fn poll_multi(fences: &[Option<Fence>], gone: u32) -> Result<Option<MultiWaitStatus>, CsWaitError> {
    let mut bitmap = gone;
    let mut earliest: Option<Timestamp> = None;
    for (i, fence) in fences.iter().enumerate() {
        let Some(fence) = fence else { continue };
        let Some(s) = fence.signalled() else { continue };
        match s.outcome {
            Outcome::TimedOut => return Err(CsWaitError::TimedOut { seq: fence.seq() }),
            Outcome::Aborted => return Err(CsWaitError::Aborted { seq: fence.seq() }),
            _ => {
                bitmap |= 1 << i;
                if let Some(ts) = s.timestamp {
                    earliest = Some(earliest.map_or(ts, |e| e.min(ts)));
                }
            }
        }
    }
    Ok((bitmap != 0).then_some(MultiWaitStatus::Completed {
        bitmap,
        timestamp: earliest,
        gone: gone != 0,
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
