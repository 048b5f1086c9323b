//! The public faces of a device: [`Device`] (the device as its owner sees it: configuration,
//! clock, statistics, reset) and [`Context`] (an owned, opened context: submissions, waits and
//! lookups go through it, so one user cannot reach another's CSs).
//!
//! ```
//! # use asicgen_runtime::{Device, DeviceConfig};
//! # fn demo<A: asicgen_runtime::asic::Asic>(queue: u32) {
//! use asicgen_runtime::{CsSubmit, Job, WaitStatus};
//! use std::time::Duration;
//! let device = Device::<A>::new(DeviceConfig::for_asic::<A>()).expect("config");
//! let ctx = device.open().expect("a free context"); // hl_ctx_init
//! let seq = ctx.submit(&CsSubmit::new(&[Job::new(queue)])).expect("submitted");
//! device.advance(Duration::from_millis(1)); // virtual time: the engines run
//! let status = ctx.wait_cs(seq, Duration::ZERO, None);
//! assert!(matches!(status, Ok(WaitStatus::Completed { .. })));
//! drop(ctx); // hl_ctx_fini: its CSs in flight are rolled back, its waiters return
//! # }
//! ```
//!
//! Teardown, as in the driver: dropping a [`Context`] (or [`Context::close`]) rolls back its
//! CSs in flight (outcome aborted) and frees its slot; dropping the last [`Device`] handle rolls
//! back every CS in flight and takes the device out of service, so every waiter returns.
//! Handles that outlive the device get "device not operational".

use crate::asic::Asic;
use crate::config::DeviceConfig;
use crate::driver::backend::{Engines, JobDoneError, JobEnd, JobId};
use crate::driver::config::{DeviceError, DeviceStats, OpenError};
use crate::driver::context::{ContextId, Lookup};
use crate::driver::core::Core;
use crate::driver::counters::CsCounters;
use crate::driver::engine::EngineMask;
use crate::driver::queue::HwQueue;
use crate::driver::submit::{CsSubmit, SubmitError};
use crate::driver::sync_stream::{
    CollectiveWaitSubmit, EncapsWaitSubmit, ReservedIds, SignalCs, SignalReservation, SignalSubmit,
    StagedCs, StagedSubmit, SyncStats, WaitCs, WaitSubmit,
};
use crate::driver::wait::{CsWaitError, MultiWaitStatus, WaitStatus};
use crate::fence::Timestamp;
use crate::fence::cancel::CancelToken;
use crate::fence::pool::PoolStats;
use crate::sim::{Runner, RunnerError, SimEngines};
use std::fmt;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A simulated device of generation `A`. Cloning gives another handle to the same device; the
/// device is torn down when the last handle is dropped (see the module docs).
pub struct Device<A: Asic> {
    core: Core<A>,
    config: DeviceConfig,
}

impl<A: Asic> Clone for Device<A> {
    fn clone(&self) -> Self {
        // Relaxed: like `Arc::clone`; the handle we clone from keeps the count above zero.
        self.core.shared.handles.fetch_add(1, Ordering::Relaxed);
        Device {
            core: self.core.clone(),
            config: self.config,
        }
    }
}

impl<A: Asic> Drop for Device<A> {
    fn drop(&mut self) {
        // AcqRel: the last handle's teardown comes after every other handle's use.
        if self.core.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.core.fini();
        }
    }
}

impl<A: Asic> fmt::Debug for Device<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("asic", &A::NAME)
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl<A: Asic> Device<A> {
    /// A device with `config` on the simulated engines ([`SimEngines`], set up by
    /// `config.sim`), operational, every queue empty, no context open.
    pub fn new(config: DeviceConfig) -> Result<Device<A>, DeviceError> {
        let engines = SimEngines::new(config.sim, A::ENGINES.len());
        Device::with_engines(config, engines)
    }

    /// A device with `config` whose engines are `engines` (any backend, e.g.
    /// [`Scripted`](crate::scripted::Scripted)); `config.sim` then only sets the completion
    /// lanes and their workers.
    pub fn with_engines(
        config: DeviceConfig,
        engines: impl Engines,
    ) -> Result<Device<A>, DeviceError> {
        Ok(Device {
            core: Core::new(config.driver(), Box::new(engines))?,
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DeviceConfig {
        &self.config
    }

    /// Open a context (`hl_ctx_init` when a user opens the device): an owned handle through
    /// which that user submits, waits and looks up, starting at seq 1 with an empty ring. At
    /// most [`DeviceConfig::contexts`] are open at once; beyond that
    /// [`OpenError::NoFreeContext`].
    pub fn open(&self) -> Result<Context<A>, OpenError> {
        let index = self.core.open()?;
        Ok(Context {
            core: self.core.clone(),
            index: index as u32,
        })
    }

    /// The queue ids this device refuses because its fuse masks bin them
    /// ([`DeviceConfig::fuse_masks`]), in increasing order; queues the spec bins for every part
    /// are not listed.
    pub fn binned_queues(&self) -> Vec<u32> {
        A::QUEUES
            .iter()
            .zip(self.core.binned())
            .filter(|(_, binned)| **binned)
            .map(|(q, _)| q.id)
            .collect()
    }

    /// Contexts open now.
    pub fn open_contexts(&self) -> usize {
        self.core.open_contexts()
    }

    /// Whether the device takes work: not in reset, no reset pending, not torn down, and its
    /// engines not stopped (a [`Runner`] that stopped with none started since). Waits are
    /// answered on a device whose engines stopped; new CSs are not.
    pub fn is_operational(&self) -> bool {
        self.core.is_operational() && !self.core.shared.handoff_ref().is_halted()
    }

    /// The engines' completion interrupt: job `id`, which its backend answered
    /// [`Started::Running`](crate::Started::Running) for, ended as `end` ([`JobEnd::Complete`],
    /// or [`JobEnd::Fault`], which resets the device as any engine error does). Its CS completes once all of its jobs
    /// did. Callable from any thread, e.g. the backend's own; a job reported twice, or after a
    /// reset halted it, is refused.
    pub fn job_done(&self, id: JobId, end: JobEnd) -> Result<(), JobDoneError> {
        self.core.job_done(id, end)
    }

    /// Reset the device now (as after an engine error or a TDR without `reset_on_lockup`):
    /// every in-flight CS is rolled back and its waiters woken, queue pointers go back to 0, and
    /// the device takes work again.
    pub fn reset(&self) {
        self.core.reset();
    }

    /// Stop taking work until [`reset`](Self::reset), as the driver does when a reset is
    /// needed but not done yet (`needs_reset`). Submissions get
    /// [`SubmitError::DeviceNotOperational`] and waits [`CsWaitError::DeviceNotOperational`].
    pub fn mark_needs_reset(&self) {
        self.core.mark_needs_reset();
    }

    /// Virtual mode: let `d` of virtual time pass, processing every job completion and TDR
    /// expiry due in it, in time order. Does nothing in real mode.
    pub fn advance(&self, d: Duration) {
        self.core.advance(d);
    }

    /// Virtual mode: process events until none is pending (a hung CS with TDR off stays in
    /// flight). Returns the number of events processed. Does nothing in real mode.
    pub fn run_until_idle(&self) -> u64 {
        self.core.run_until_idle()
    }

    /// The device clock: virtual time, or `CLOCK_MONOTONIC`.
    pub fn now(&self) -> Timestamp {
        self.core.now()
    }

    /// The device's drop counters (the sum over its contexts).
    pub fn counters(&self) -> CsCounters {
        self.core.counters()
    }

    /// CS statistics.
    pub fn stats(&self) -> DeviceStats {
        self.core.stats()
    }

    /// The busy-engines mask (`is_device_idle`).
    pub fn busy_engines(&self) -> EngineMask {
        self.core.busy_engines()
    }

    /// The pointers of the queue with raw id `queue`.
    pub fn queue(&self, queue: u32) -> Option<HwQueue> {
        self.core.queue(queue)
    }

    /// Free entries of completion queue `cq`.
    pub fn completion_queue_free(&self, cq: u32) -> Option<u32> {
        self.core.completion_queue_free(cq)
    }

    /// The seq whose TDR timer is armed and its deadline (device clock), if any.
    pub fn armed_tdr(&self) -> Option<(u64, Timestamp)> {
        self.core.armed_tdr()
    }

    /// The sync manager's use now (§5): references held on the reserved SOBs, monitors armed,
    /// jobs held behind them, reservation handles. All zero when nothing is in flight and
    /// nothing is reserved.
    pub fn sync_stats(&self) -> SyncStats {
        self.core.sync_stats()
    }

    /// The value sync-stream SOB `sob` (a SOB id, as [`SignalCs::sob`] gives it) holds now;
    /// `None` for a SOB outside the sync-stream range.
    pub fn sob_value(&self, sob: u32) -> Option<u32> {
        self.core.sob_value(sob)
    }

    /// Whether a collective wait can run on this device: some NIC port's collective-slave queue
    /// is not binned (the driver's `nic_ports_mask != 0`; a collective wait is `-EINVAL`
    /// otherwise).
    pub fn nic_ports_enabled(&self) -> bool {
        crate::driver::sync_stream::nic_ports_enabled::<A>(self.core.binned())
    }

    /// The two SOBs and the monitor sync-stream `queue` reserves, from the spec's
    /// `sync_stream` range; `None` for a queue without sync streams.
    pub fn reserved_sync_ids(&self, queue: u32) -> Option<ReservedIds> {
        self.core.reserved_sync_ids(queue)
    }

    /// The value the next signal CS on sync-stream `queue` will be given (`next_sob_val`);
    /// `None` for a queue without sync streams.
    pub fn next_sob_val(&self, queue: u32) -> Option<u32> {
        self.core.next_sob_val(queue)
    }

    /// Fences allocated and not yet released over every context slot (ring-held ones
    /// included). Once every context is closed and every fence handle dropped, this is 0.
    pub fn live_fences(&self) -> u64 {
        self.core.live_fences()
    }
}

/// An open context of a device (`struct hl_ctx`), owned by whoever opened it with
/// [`Device::open`]. Submissions, waits and lookups go through it, so nobody else can reach its
/// CSs. Dropping it (or [`close`](Self::close)) runs `hl_ctx_fini`: its CSs in flight are rolled
/// back (outcome aborted, every waiter returns), their queue space is given back, and its slot
/// can be opened again. Share it between threads by reference (it is `Sync`).
///
/// Emptying the ring of a live context is not offered: it would turn an aborted or timed-out
/// CS into "gone", read as completed. Only the teardown does it.
///
/// ```compile_fail,E0599
/// # fn f<A: asicgen_runtime::asic::Asic>(ctx: &asicgen_runtime::Context<A>) {
/// ctx.retire_signalled();
/// # }
/// ```
pub struct Context<A: Asic> {
    core: Core<A>,
    index: u32,
}

impl<A: Asic> Drop for Context<A> {
    fn drop(&mut self) {
        self.core.close(self.index as usize);
    }
}

impl<A: Asic> fmt::Debug for Context<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("asic", &A::NAME)
            .field("id", &self.id())
            .field("next_seq", &self.next_seq())
            .field("counters", &self.counters())
            .finish()
    }
}

impl<A: Asic> Context<A> {
    fn ring(&self) -> &crate::driver::context::Ring {
        self.core.ring(self.index as usize)
    }

    /// Which slot of the device this context holds.
    pub fn id(&self) -> ContextId {
        ContextId(self.index)
    }

    /// Submit a CS (`hl_cs_ioctl` for a default CS); returns its seq.
    ///
    /// Checks made before a seq is allocated, as in the driver: device operational
    /// (`hl_cs_sanity_checks`, `-EBUSY`), at least one job, at most `max_jobs_per_cs`. Then
    /// `allocate_cs` (`-EAGAIN` if the ring slot is busy). Every later failure (a bad queue,
    /// only internal jobs, the device going into reset, a full queue) has used up the seq: the
    /// CS is released as not submitted and the error names the seq
    /// ([`SubmitError::consumed_seq`]); the ioctl would return `u64::MAX` as the seq.
    pub fn submit(&self, cs: &CsSubmit<'_>) -> Result<u64, SubmitError> {
        self.core.submit(self.index as usize, cs)
    }

    /// Submit a signal CS (§5, `HL_CS_FLAGS_SIGNAL`): one job on a sync-stream queue that
    /// adds 1 to the queue's current SOB when it runs. Returns its seq, the SOB id the queue
    /// signals now and `next_sob_val - 1`.
    ///
    /// Refused with `-EINVAL` on a generation without sync streams
    /// ([`SubmitError::SyncStreamNotSupported`]) and on a queue that does not support them; a
    /// SOB value that would reach [`MAX_SOB_VAL`](crate::sync_stream::MAX_SOB_VAL) switches the
    /// queue to its other reserved SOB, or fails with
    /// [`SubmitError::CannotSwitchSob`] while that one is still referenced.
    pub fn submit_signal(&self, cs: &SignalSubmit) -> Result<SignalCs, SubmitError> {
        self.core.submit_signal(self.index as usize, cs)
    }

    /// Submit a wait CS (§5, `HL_CS_FLAGS_WAIT`) on a signal CS of this context: its job arms
    /// the queue's monitor on the signal's SOB value and fences on it, so it and every later
    /// job of its queue run only once the signal ran.
    ///
    /// If the signal CS has completed already (or its seq is gone), no CS is created and the
    /// result is [`WaitCs::SignalDone`] (the driver's ioctl returns 0). Exactly one signal seq
    /// is taken; a seq that is no signal CS, or not a seq of this context yet, is `-EINVAL`.
    pub fn submit_wait(&self, cs: &WaitSubmit<'_>) -> Result<WaitCs, SubmitError> {
        self.core.submit_wait(self.index as usize, cs)
    }

    /// Submit a collective wait CS (§5, `HL_CS_FLAGS_COLLECTIVE_WAIT`): on generations whose
    /// spec has collective master queues (Gaudi), a wait on the master queue plus a job on each
    /// collective slave queue of the same stream (the enabled NIC queues and the reduction
    /// engine's queue), all waiting for the signal. Elsewhere the master queue is refused
    /// (`-EINVAL`), as the driver refuses it.
    pub fn submit_collective_wait(
        &self,
        cs: &CollectiveWaitSubmit<'_>,
    ) -> Result<WaitCs, SubmitError> {
        self.core.submit_collective_wait(self.index as usize, cs)
    }

    /// Submit a CS of a staged submission (§5, `HL_CS_FLAGS_STAGED_SUBMISSION`; generations
    /// with `staged_submission`, else `-EPERM`). The first CS's seq is the staged seq, which is
    /// returned for every CS of the submission and which later CSs name; only the last CS
    /// reports completion, only the first is timed (its TDR covers the whole submission), and
    /// every CS is released when the last one is, so a wait on the staged seq returns when the
    /// whole submission is done. A later CS whose first CS is not in flight, or that comes after
    /// the last, fails with `-EINVAL` and uses up its seq.
    pub fn submit_staged(&self, cs: &StagedSubmit<'_>) -> Result<StagedCs, SubmitError> {
        self.core.submit_staged(self.index as usize, cs)
    }

    /// Submit a wait CS on encapsulated signals (§5, `HL_CS_FLAGS_WAIT` with
    /// `HL_CS_FLAGS_ENCAP_SIGNALS`): wait for signal `offset` of the reservation bound to a
    /// staged submission ([`StagedSubmit::with_encaps_signals`]). No bound reservation for that
    /// seq (or the submission is done) creates no CS, as the driver returns 0; an offset past
    /// the reservation's count is `-EINVAL`.
    pub fn submit_encaps_wait(&self, cs: &EncapsWaitSubmit) -> Result<WaitCs, SubmitError> {
        self.core.submit_encaps_wait(self.index as usize, cs)
    }

    /// Reserve `count` signals on sync-stream `queue` for this context (§5,
    /// `HL_CS_FLAGS_RESERVE_SIGNALS_ONLY`): the queue's `next_sob_val` moves on by `count`
    /// (switching SOBs if it would reach the maximum) and a handle is returned. `count` must be
    /// below [`MAX_SOB_VAL`](crate::sync_stream::MAX_SOB_VAL).
    pub fn reserve_signals(
        &self,
        queue: u32,
        count: u32,
    ) -> Result<SignalReservation, SubmitError> {
        self.core.reserve_signals(self.index as usize, queue, count)
    }

    /// Give reservation `handle` back (§5, `HL_CS_FLAGS_UNRESERVE_SIGNALS_ONLY`); refused with
    /// `-EINVAL` if the queue's SOB value moved since (the handle stays) or there is no such
    /// handle. Closing the context drops its handles.
    pub fn unreserve_signals(&self, handle: u32) -> Result<(), SubmitError> {
        self.core.unreserve_signals(self.index as usize, handle)
    }

    /// Wait for CS `seq` (`hl_cs_wait_ioctl`), at most `timeout` (zero polls, and a poll is
    /// never interrupted), interruptible through `cancel`. The timestamp is returned when the
    /// CS asked for one.
    ///
    /// Virtual mode: a wait that has to sleep advances the virtual clock instead (events are
    /// processed until the CS finishes or the timeout has passed in virtual time). If nothing
    /// pending can ever finish it, it returns [`WaitStatus::Busy`] rather than block forever.
    pub fn wait_cs(
        &self,
        seq: u64,
        timeout: Duration,
        cancel: Option<&CancelToken>,
    ) -> Result<WaitStatus, CsWaitError> {
        self.core.wait_cs(self.index as usize, seq, timeout, cancel)
    }

    /// Wait for any of up to 32 CSs (`hl_multi_cs_wait_ioctl`), only on generations with
    /// `multi_cs_wait` (else [`CsWaitError::NotSupported`], `-EPERM`). Returns the bitmap of
    /// completed entries (bit `i` for `seqs[i]`), the earliest completion timestamp and the
    /// GONE flag as the driver reports them (see [`MultiWaitStatus`]).
    pub fn wait_multi(
        &self,
        seqs: &[u64],
        timeout: Duration,
        cancel: Option<&CancelToken>,
    ) -> Result<MultiWaitStatus, CsWaitError> {
        self.core
            .wait_multi(self.index as usize, seqs, timeout, cancel)
    }

    /// Look `seq` up with the ring rules (`hl_ctx_get_fence`): invalid, gone, or a wait-only
    /// handle to its fence.
    pub fn lookup(&self, seq: u64) -> Lookup {
        self.ring().lookup(seq)
    }

    /// The next seq to be handed out.
    pub fn next_seq(&self) -> u64 {
        self.ring().next_seq()
    }

    /// Ring size N (`max_pending_cs`).
    pub fn ring_len(&self) -> u64 {
        self.ring().ring_len()
    }

    /// This context's drop counters.
    pub fn counters(&self) -> CsCounters {
        self.ring().counters()
    }

    /// The context's fence pool counters.
    pub fn pool_stats(&self) -> PoolStats {
        self.ring().pool_stats()
    }

    /// Fences allocated and not yet released, the ring's references included.
    pub fn live_fences(&self) -> u64 {
        self.ring().live_fences()
    }

    /// Close the context now (`hl_ctx_fini`); the same as dropping it.
    pub fn close(self) {}
}

impl Runner {
    /// Start one worker per completion lane and the TDR thread of a real-time `device`.
    pub fn start<A: Asic>(device: &Device<A>) -> Result<Runner, RunnerError> {
        Runner::start_core(&device.core)
    }
}
