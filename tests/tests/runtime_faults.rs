//! One regression test per fault of issue 11 that the public API could reach, each written from
//! the kernel's rule (`docs/driver-semantics.md`), plus the owned-context rules. A wait that
//! could only run out on a deadlock has a generous bound, so a regression fails instead of
//! hanging the test; nothing here asserts on time.
//!
//! Faults pinned elsewhere: a user signalling a CS fence (fault 1) is a compile error, pinned by
//! the `compile_fail` doctest on `CsFence`; the CLI's options (fault 5) by `cli/tests/simulate.rs`;
//! `pin_current_thread(usize::MAX)` by the unit test in `runtime/src/sim/mod.rs`; the drop
//! counters of sanity-check refusals by `driver_semantics.rs`
//! (`counters_per_device_and_context_agree`, `job_count_checked_before_allocation`,
//! `not_operational_device_refuses`); the merged-reset identity by `driver_stress.rs`.

mod common;

use asicgen_generated::gaudi::Gaudi;
use asicgen_generated::goya::Goya;
use asicgen_runtime::asic::{
    Asic, CompletionMode, CsEvent, EngineProps, Features, FenceOutcome, Limits, QueueProps,
    QueueType, Transition,
};
use asicgen_runtime::{
    CancelToken, ClockMode, CsSubmit, CsWaitError, Device, DeviceConfig, Job, Lookup,
    MultiWaitStatus, NEVER_TIMED, OpenError, Outcome, Runner, SubmitError, WaitStatus, Work,
};
use common::*;
use std::thread;
use std::time::Duration;

/// Only a deadlock would reach this.
const DEADLOCK: Duration = Duration::from_secs(60);

/// Goya's tables with other limits or queues: the runtime must follow whatever a spec the
/// checker accepts says.
macro_rules! goya_variant {
    ($name:ident, limits: $limits:expr, queues: $queues:expr) => {
        #[derive(Clone, Copy, Debug, Default)]
        struct $name;

        impl Asic for $name {
            const NAME: &'static str = stringify!($name);
            const UAPI_PREFIX: &'static str = Goya::UAPI_PREFIX;
            const PROVENANCE: &'static str = "test fixture";
            const PCI_VENDOR: u16 = Goya::PCI_VENDOR;
            const PCI_DEVICES: &'static [u16] = Goya::PCI_DEVICES;
            type QueueId = <Goya as Asic>::QueueId;
            type EngineId = <Goya as Asic>::EngineId;
            type CsState = <Goya as Asic>::CsState;
            const QUEUES: &'static [QueueProps] = $queues;
            const ENGINES: &'static [EngineProps] = Goya::ENGINES;
            const QUEUE_IDS: &'static [Self::QueueId] = Goya::QUEUE_IDS;
            const ENGINE_IDS: &'static [Self::EngineId] = Goya::ENGINE_IDS;
            const QUEUE_ID_SIZE: u32 = Goya::QUEUE_ID_SIZE;
            const ENGINE_ID_SIZE: u32 = Goya::ENGINE_ID_SIZE;
            const LIMITS: Limits = $limits;
            const FEATURES: Features = Goya::FEATURES;
            const INITIAL_STATE: Self::CsState = Goya::INITIAL_STATE;
            const STATES: &'static [Self::CsState] = Goya::STATES;
            const STATE_NAMES: &'static [&'static str] = Goya::STATE_NAMES;

            fn transition(state: Self::CsState, event: CsEvent) -> Transition<Self::CsState> {
                Goya::transition(state, event)
            }

            fn outcome(state: Self::CsState) -> Option<FenceOutcome> {
                Goya::outcome(state)
            }

            fn state_index(state: Self::CsState) -> usize {
                Goya::state_index(state)
            }
        }
    };
}

// Fault 2: per-CS completion (`HL_COMPLETION_MODE_CS`) on external queues. The CQ interrupt gives
// each completion-queue entry back (`free_slots_cnt++`) whatever the completion mode, so a queue
// never runs out of CQ entries while its CSs keep completing.
goya_variant!(
    GoyaPerCs,
    limits: Limits {
        completion: CompletionMode::PerCs,
        ..Goya::LIMITS
    },
    queues: Goya::QUEUES
);

#[test]
fn per_cs_completion_gives_cq_entries_back() {
    let (d, ctx) = device::<GoyaPerCs>();
    let (q, cq) = GoyaPerCs::QUEUES
        .iter()
        .find(|q| q.accepts_user_jobs() && q.queue_type == QueueType::External)
        .and_then(|q| Some((q.id, q.cq?)))
        .expect("an external queue with a CQ");
    let cq_len = GoyaPerCs::LIMITS.cq_length;
    for i in 0..u64::from(cq_len) + 10 {
        let seq = ctx
            .submit(&CsSubmit::new(&[Job::new(q)]))
            .unwrap_or_else(|e| panic!("CS {i}: {e}"));
        d.advance(Duration::from_millis(1));
        assert!(
            matches!(
                ctx.wait_cs(seq, Duration::ZERO, None),
                Ok(WaitStatus::Completed { .. })
            ),
            "CS {seq}"
        );
    }
    assert_eq!(d.completion_queue_free(cq), Some(cq_len));
}

// Fault 3: the per-queue job count of one CS. A spec may allow 65,536 jobs per CS on a queue that
// long; the CS takes exactly that many entries, and the queue is full afterwards.
const BIG: u32 = 1 << 16;
const WIDE_QUEUES: [QueueProps; Goya::QUEUES.len()] = {
    let mut qs = [Goya::QUEUES[0]; Goya::QUEUES.len()];
    let mut i = 0;
    while i < qs.len() {
        qs[i] = Goya::QUEUES[i];
        qs[i].pq_len = 2 * BIG;
        i += 1;
    }
    qs
};
goya_variant!(
    GoyaWide,
    limits: Limits {
        max_jobs_per_cs: BIG,
        queue_length: 2 * BIG,
        cq_length: 4 * BIG,
        ..Goya::LIMITS
    },
    queues: &WIDE_QUEUES
);

#[test]
fn sixty_five_thousand_jobs_on_one_queue_are_counted() {
    let (d, ctx) = device_with::<GoyaWide>(|c| c.tdr_timeout = None);
    let q = completing_queue::<GoyaWide>();
    let jobs = vec![Job::new(q).with_work(Work::Hang); BIG as usize];
    ctx.submit(&CsSubmit::new(&jobs)).expect("fits the queue");
    assert_eq!(d.queue(q).map(|hq| hq.free_slots()), Some(BIG));
    ctx.submit(&CsSubmit::new(&jobs)).expect("fills the queue");
    assert_eq!(d.queue(q).map(|hq| hq.free_slots()), Some(0));
    let err = ctx
        .submit(&CsSubmit::new(&[Job::new(q)]))
        .expect_err("the queue is full");
    assert!(matches!(err, SubmitError::QueueFull { .. }), "{err}");
}

// Fault 4: device fini rolls back every CS in flight and force-completes it (`-EIO`): a waiter on
// a fence handle returns, aborted, when the last `Device` handle is dropped.
#[test]
fn dropping_the_device_aborts_every_cs_in_flight() {
    let (d, ctx) = device_with::<Gaudi>(|c| c.tdr_timeout = None);
    let q = completing_queue::<Gaudi>();
    let seq = submit_one(&ctx, q, Work::Hang);
    let Lookup::Fence(fence) = ctx.lookup(seq) else {
        panic!("CS {seq} is in its slot");
    };
    let waiter = thread::spawn(move || fence.wait_timeout(DEADLOCK));
    let other = d.clone();
    drop(d);
    assert!(other.is_operational(), "a clone keeps the device");
    drop(other);
    assert_eq!(waiter.join().expect("waiter"), Ok(Outcome::Aborted));
    assert_eq!(
        ctx.wait_cs(seq, Duration::ZERO, None),
        Err(CsWaitError::DeviceNotOperational)
    );
    assert_eq!(
        ctx.submit(&CsSubmit::new(&[Job::new(q)])),
        Err(SubmitError::DeviceNotOperational)
    );
}

// Fault 4, real time: with the engines stopped nothing completes a CS, so stopping the runner
// rolls back what is in flight and every waiter returns.
#[test]
fn stopping_the_runner_aborts_every_cs_in_flight() {
    let (d, ctx) = device_with::<Gaudi>(|c| {
        c.clock = ClockMode::Real;
        c.tdr_timeout = None;
    });
    let runner = Runner::start(&d).expect("threads");
    let seq = submit_one(&ctx, completing_queue::<Gaudi>(), Work::Hang);
    let Lookup::Fence(fence) = ctx.lookup(seq) else {
        panic!("CS {seq} is in its slot");
    };
    let waiter = thread::spawn(move || fence.wait_timeout(DEADLOCK));
    runner.stop();
    assert_eq!(waiter.join().expect("waiter"), Ok(Outcome::Aborted));
    assert_eq!(
        ctx.wait_cs(seq, DEADLOCK, None),
        Err(CsWaitError::Aborted { seq })
    );
    assert_eq!(d.stats().in_flight, 0);
    // The device runs again with a new runner.
    let _runner = Runner::start(&d).expect("threads again");
    let seq = submit_one(&ctx, completing_queue::<Gaudi>(), Work::Default);
    assert!(matches!(
        ctx.wait_cs(seq, DEADLOCK, None),
        Ok(WaitStatus::Completed { .. })
    ));
}

// Fault 6: a per-CS timeout of `Duration::MAX` is "never" (the driver's
// `MAX_SCHEDULE_TIMEOUT`): it must not push the virtual clock to the end of time, after which
// every healthy CS would time out.
#[test]
fn a_timeout_of_duration_max_never_fires_and_keeps_the_clock() {
    let (d, ctx) = device::<Gaudi>();
    let (a, b) = two_engines::<Gaudi>();
    let hung = ctx
        .submit(&CsSubmit::new(&[Job::new(a).with_work(Work::Hang)]).with_timeout(Duration::MAX))
        .expect("submitted");
    d.run_until_idle();
    assert!(d.now().as_nanos() < NEVER_TIMED.as_nanos() as u64);
    assert_eq!(d.stats().tdr_fired, 0);
    let healthy = submit_one(&ctx, b, Work::Default);
    assert!(matches!(
        ctx.wait_cs(healthy, tdr::<Gaudi>(), None),
        Ok(WaitStatus::Completed { .. })
    ));
    assert_eq!(
        ctx.wait_cs(hung, Duration::ZERO, None),
        Ok(WaitStatus::Busy)
    );
}

// Fault 7: a per-CS timeout of 0 schedules the TDR work with no delay: the CS times out at once
// (the driver does not read 0 as "never").
#[test]
fn a_timeout_of_zero_fires_at_once() {
    let (d, ctx) = device::<Gaudi>();
    let seq = ctx
        .submit(
            &CsSubmit::new(&[Job::new(completing_queue::<Gaudi>())
                .with_work(Work::Run(Duration::from_millis(1)))])
            .with_timeout(Duration::ZERO),
        )
        .expect("submitted");
    d.advance(Duration::from_millis(2));
    assert_eq!(d.stats().tdr_fired, 1);
    assert_eq!(
        ctx.wait_cs(seq, Duration::ZERO, None),
        Err(CsWaitError::TimedOut { seq })
    );
}

// Fault 7: a poll (timeout 0) is `completion_done`: it never sleeps, so a pending signal cannot
// interrupt it; the answer is busy, virtual or real time.
#[test]
fn a_poll_with_a_cancelled_token_is_busy() {
    let token = CancelToken::new();
    token.cancel();
    let (_d, ctx) = device_with::<Gaudi>(|c| c.tdr_timeout = None);
    let seq = submit_one(&ctx, completing_queue::<Gaudi>(), Work::Hang);
    assert_eq!(
        ctx.wait_cs(seq, Duration::ZERO, Some(&token)),
        Ok(WaitStatus::Busy)
    );
    assert_eq!(
        ctx.wait_cs(seq, Duration::from_millis(1), Some(&token)),
        Err(CsWaitError::Interrupted)
    );

    let (d, ctx) = device_with::<Gaudi>(|c| {
        c.clock = ClockMode::Real;
        c.tdr_timeout = None;
    });
    let _runner = Runner::start(&d).expect("threads");
    let seq = submit_one(&ctx, completing_queue::<Gaudi>(), Work::Hang);
    assert_eq!(
        ctx.wait_cs(seq, Duration::ZERO, Some(&token)),
        Ok(WaitStatus::Busy)
    );
}

// Fault 7: `hl_multi_cs_wait_ioctl` reports the earliest timestamp of the completed CSs, where a
// fence without one counts as 0, a gone entry cancels it, and the GONE flag is set whenever no
// timestamp is left.
#[test]
fn multi_cs_wait_reports_gone_and_timestamp_as_the_driver() {
    let (d, ctx) = device::<Gaudi>();
    let q = completing_queue::<Gaudi>();
    let timed = |ctx: &asicgen_runtime::Context<Gaudi>| {
        ctx.submit(&CsSubmit::new(&[Job::new(q)]).with_timestamp())
            .expect("submitted")
    };
    let (t1, t2) = (timed(&ctx), timed(&ctx));
    let untimed = submit_one(&ctx, q, Work::Default);
    d.run_until_idle();
    let first = match ctx.wait_cs(t1, Duration::ZERO, None) {
        Ok(WaitStatus::Completed {
            timestamp: Some(ts),
            ..
        }) => ts,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        ctx.wait_multi(&[t2, t1], Duration::ZERO, None),
        Ok(MultiWaitStatus::Completed {
            bitmap: 0b11,
            timestamp: Some(first),
            gone: false
        })
    );
    assert_eq!(
        ctx.wait_multi(&[t1, untimed], Duration::ZERO, None),
        Ok(MultiWaitStatus::Completed {
            bitmap: 0b11,
            timestamp: None,
            gone: true
        }),
        "a completed CS without a timestamp reads as 0: no timestamp, FLAG_GONE"
    );
    // Push t1 out of the ring: it is gone; t2 has its timestamp but the gone entry cancels it.
    let n = u64::from(Gaudi::LIMITS.max_pending_cs);
    for _ in 0..n {
        submit_one(&ctx, q, Work::Run(Duration::ZERO));
        d.run_until_idle();
    }
    assert!(matches!(ctx.lookup(t1), Lookup::Gone));
    let latest = ctx.next_seq() - 1;
    assert_eq!(
        ctx.wait_multi(&[t1, latest], Duration::ZERO, None),
        Ok(MultiWaitStatus::Completed {
            bitmap: 0b11,
            timestamp: None,
            gone: true
        })
    );
}

// Item 8: contexts are opened (`hl_ctx_init`), bounded by the ASID limit, and the limit is a
// typed error; a closed slot opens again, empty, at seq 1.
#[test]
fn contexts_are_opened_up_to_the_limit() {
    let mut cfg = DeviceConfig::for_asic::<Goya>();
    cfg.contexts = 2;
    let d = Device::<Goya>::new(cfg).expect("config");
    let a = d.open().expect("first");
    let b = d.open().expect("second");
    assert_ne!(a.id(), b.id());
    assert_eq!(
        d.open().map(|c| c.id()),
        Err(OpenError::NoFreeContext { limit: 2 })
    );
    let q = completing_queue::<Goya>();
    submit_one(&a, q, Work::Default);
    submit_one(&a, q, Work::Default);
    d.run_until_idle();
    a.close();
    assert_eq!(d.open_contexts(), 1);
    let c = d.open().expect("the freed slot");
    assert_eq!(c.next_seq(), 1);
    assert_eq!(submit_one(&c, q, Work::Default), 1);
    assert_eq!(c.counters().total(), 0);
    drop((b, c));
    assert_eq!(d.open_contexts(), 0);
    assert_eq!(d.live_fences(), 0);
}

// Item 8: closing a context (`hl_ctx_fini`) rolls back its CSs in flight (aborted, every waiter
// returns) and gives back their queue space; another context's CSs are not touched.
#[test]
fn closing_a_context_rolls_back_only_its_cses() {
    let mut cfg = DeviceConfig::for_asic::<Goya>();
    cfg.contexts = 2;
    cfg.tdr_timeout = None;
    let d = Device::<Goya>::new(cfg).expect("config");
    let (mine, theirs) = (d.open().expect("mine"), d.open().expect("theirs"));
    let (a, b) = two_engines::<Goya>();
    let hung = submit_one(&mine, a, Work::Hang);
    let slow = submit_one(&mine, b, Work::Run(Duration::from_millis(5)));
    let other = submit_one(&theirs, b, Work::Run(Duration::from_millis(10)));
    let Lookup::Fence(fence) = mine.lookup(hung) else {
        panic!("in flight");
    };
    let waiter = thread::spawn(move || fence.wait_timeout(DEADLOCK));
    mine.close();
    assert_eq!(waiter.join().expect("waiter"), Ok(Outcome::Aborted));
    let s = d.stats();
    assert_eq!((s.aborted, s.in_flight, s.resets), (2, 1, 0));
    // The queues of the rolled-back CSs have their space back; the other context's CS still
    // holds its entry until it completes.
    let len = |q| Goya::QUEUES.iter().find(|p| p.id == q).map(|p| p.pq_len);
    assert_eq!(d.queue(a).map(|hq| hq.free_slots()), len(a));
    assert_eq!(d.queue(b).map(|hq| hq.free_slots()), len(b).map(|l| l - 1));
    d.run_until_idle();
    assert!(matches!(
        theirs.wait_cs(other, Duration::ZERO, None),
        Ok(WaitStatus::Completed { .. })
    ));
    assert_eq!(d.queue(b).map(|hq| hq.free_slots()), len(b));
    assert_eq!(d.stats().completed, 1);
    let _ = slow;
}

// Item 1, the seam: the driver runs on any engine backend. With the scripted one, the test says
// exactly how each job ends; the driver's rules (TDR times out the hung CS and resets, an engine
// error resets the device, the rest completes in due-time order) follow from that alone.
#[test]
fn the_driver_runs_on_a_scripted_backend() {
    use asicgen_runtime::scripted::{Scripted, Step};
    let us = Duration::from_micros;
    let script = Scripted::new([Step::Complete(us(30)), Step::Complete(us(10)), Step::Hang]);
    let mut cfg = DeviceConfig::for_asic::<Gaudi>();
    cfg.tdr_timeout = Some(Duration::from_millis(1));
    let d = Device::<Gaudi>::with_engines(cfg, script).expect("config");
    let ctx = d.open().expect("a free context");
    let (a, b) = two_engines::<Gaudi>();
    let timed = |q| {
        ctx.submit(&CsSubmit::new(&[Job::new(q)]).with_timestamp())
            .expect("submitted")
    };
    let (slow, fast, hung) = (timed(a), timed(b), timed(a));
    let done = |seq| matches!(ctx.lookup(seq), Lookup::Fence(f) if f.is_signalled());
    d.advance(us(20));
    assert!(done(fast) && !done(slow) && !done(hung));
    d.advance(Duration::from_millis(2));
    let at = |seq| match ctx.wait_cs(seq, Duration::ZERO, None) {
        Ok(WaitStatus::Completed {
            timestamp: Some(ts),
            ..
        }) => ts.as_nanos(),
        other => panic!("CS {seq}: {other:?}"),
    };
    assert_eq!((at(fast), at(slow)), (10_000, 30_000));
    assert_eq!(
        ctx.wait_cs(hung, Duration::ZERO, None),
        Err(CsWaitError::TimedOut { seq: hung })
    );
    let s = d.stats();
    assert_eq!(
        (s.completed, s.timed_out, s.tdr_fired, s.resets),
        (2, 1, 1, 1)
    );
}
