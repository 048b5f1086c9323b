//! One test per rule of `docs/driver-semantics.md` the runtime implements, each run against
//! the generated Goya, Gaudi and Example (`for_each_asic!`). Everything runs on the virtual
//! clock: no sleeps, no timed assertions.

mod common;

use asicgen_runtime::asic::{Asic, CompletionMode, CsEvent, QueueType};
use asicgen_runtime::{
    CancelToken, CbChoice, CsSubmit, CsWaitError, DropCounter, Job, Lookup, MultiWaitStatus,
    Outcome, QueueRejection, SpaceError, SubmitError, WaitStatus, Work,
};
use common::*;
use std::time::Duration;

const POLL: Duration = Duration::ZERO;

// §3: `ctx->cs_sequence` starts at 1; seqs are handed out in order.
fn seqs_start_at_one_and_increase<A: Asic>() {
    let (_d, ctx) = device::<A>();
    let q = completing_queue::<A>();
    assert_eq!(submit_one(&ctx, q, Work::Default), 1);
    assert_eq!(submit_one(&ctx, q, Work::Default), 2);
    assert_eq!(ctx.next_seq(), 3);
}

// §3 lookup: with S the next seq and N = max_pending_cs, seq >= S is invalid, seq + N < S is
// gone (reported completed with the GONE flag), S-N..S-1 come from their slots. For Goya
// (N = 64, S = 101): 101 invalid, 36 gone, 37..=100 from their slots.
fn lookup_invalid_gone_and_slots<A: Asic>() {
    let (d, ctx) = device::<A>();
    let n = u64::from(A::LIMITS.max_pending_cs);
    let next = n + 37;
    let queues = completing_queues::<A>();
    for i in 0..next - 1 {
        let q = queues[i as usize % queues.len()];
        submit_one(&ctx, q, Work::Run(Duration::ZERO));
        d.advance(Duration::ZERO);
    }
    assert_eq!(ctx.next_seq(), next);
    assert!(matches!(ctx.lookup(next), Lookup::Invalid { next_seq } if next_seq == next));
    assert_eq!(
        ctx.wait_cs(next, POLL, None),
        Err(CsWaitError::InvalidSeq {
            seq: next,
            next_seq: next
        })
    );
    assert!(matches!(ctx.lookup(next - n - 1), Lookup::Gone));
    assert_eq!(
        ctx.wait_cs(next - n - 1, POLL, None),
        Ok(WaitStatus::Completed {
            gone: true,
            timestamp: None
        })
    );
    for seq in next - n..next {
        match ctx.lookup(seq) {
            Lookup::Fence(f) => assert_eq!(f.seq(), seq),
            other => panic!("seq {seq}: {other:?}"),
        }
    }
}

// §3 and the uapi: 0 and u64::MAX are never valid seqs.
fn zero_and_max_seq_are_never_valid<A: Asic>() {
    let (_d, ctx) = device::<A>();
    submit_one(&ctx, completing_queue::<A>(), Work::Default);
    for seq in [0, u64::MAX] {
        assert!(matches!(
            ctx.wait_cs(seq, POLL, None),
            Err(CsWaitError::InvalidSeq { .. })
        ));
    }
    assert_eq!(ctx.wait_cs(0, POLL, None).map_err(|e| e.errno()), Err(-22));
}

// §3 allocate_cs: a ring slot whose fence has not completed gives -EAGAIN and bumps
// max_cs_in_flight (per device and per context); nothing is used up.
fn full_ring_is_try_again<A: Asic>() {
    let (d, ctx) = device_with::<A>(|c| c.tdr_timeout = None);
    let n = u64::from(A::LIMITS.max_pending_cs);
    let queues = completing_queues::<A>();
    for i in 0..n {
        ctx.submit(&CsSubmit::new(&[Job::new(
            queues[i as usize % queues.len()],
        )
        .with_work(Work::Hang)]))
            .expect("room in the ring");
    }
    let err = ctx
        .submit(&CsSubmit::new(&[Job::new(queues[0])]))
        .expect_err("ring full");
    assert_eq!(
        err,
        SubmitError::TooManyInFlight {
            next_seq: n + 1,
            pending_seq: 1
        }
    );
    assert!(err.is_try_again() && err.consumed_seq().is_none());
    assert_eq!(d.counters().max_cs_in_flight, 1);
    assert_eq!(ctx.counters().max_cs_in_flight, 1);
    assert_eq!(ctx.next_seq(), n + 1);
}

// §3: a CS that fails after allocate_cs has used its seq and ring slot; it is released with
// "not submitted" (-EBUSY), which a wait reports as completed (§2.6), and the next CS gets the
// next seq.
fn failure_after_allocation_uses_the_seq<A: Asic>() {
    let (d, ctx) = device::<A>();
    let bad = [Job::new(A::QUEUE_ID_SIZE)];
    let err = ctx.submit(&CsSubmit::new(&bad)).expect_err("unknown queue");
    assert_eq!(err.consumed_seq(), Some(1));
    assert_eq!(
        ctx.wait_cs(1, POLL, None),
        Ok(WaitStatus::Completed {
            gone: false,
            timestamp: None
        })
    );
    assert_eq!(submit_one(&ctx, completing_queue::<A>(), Work::Default), 2);
    let stats = d.stats();
    assert_eq!((stats.not_submitted, stats.submitted), (1, 1));
}

// §2.2 validate_queue_index: unknown, driver_only and binned queues are -EINVAL (validation
// counter).
fn invalid_queues_are_rejected<A: Asic>() {
    let (d, ctx) = device::<A>();
    let mut cases = vec![(A::QUEUE_ID_SIZE, QueueRejection::Unknown)];
    if let Some(q) = A::QUEUES.iter().find(|q| q.driver_only) {
        cases.push((q.id, QueueRejection::DriverOnly));
    }
    if let Some(q) = A::QUEUES.iter().find(|q| q.binned && !q.driver_only) {
        cases.push((q.id, QueueRejection::Binned));
    }
    for (i, &(queue, reason)) in cases.iter().enumerate() {
        let err = ctx
            .submit(&CsSubmit::new(&[Job::new(queue)]))
            .expect_err("invalid queue");
        assert_eq!(
            err,
            SubmitError::InvalidQueue {
                seq: i as u64 + 1,
                job: 0,
                queue,
                reason
            }
        );
        assert_eq!(err.errno(), -22);
    }
    assert_eq!(d.counters().validation, cases.len() as u64);
    assert!(cases.len() >= 2, "every spec has a driver-only CPU queue");
}

// §2.2: for an H/W queue the job picks a user or kernel CB, and the queue must allow it.
fn hw_queue_cb_kind_must_be_allowed<A: Asic>() {
    let (_d, ctx) = device::<A>();
    for q in A::QUEUES
        .iter()
        .filter(|q| q.queue_type == QueueType::Hw && q.accepts_user_jobs())
    {
        let (cb, reason) = if !q.cb_alloc.allows_kernel() {
            (CbChoice::Kernel, QueueRejection::KernelCbNotAllowed)
        } else if !q.cb_alloc.allows_user() {
            (CbChoice::User, QueueRejection::UserCbNotAllowed)
        } else {
            continue;
        };
        let err = ctx
            .submit(&CsSubmit::new(&[Job::new(q.id).with_cb(cb)]))
            .expect_err("CB kind not allowed");
        assert!(matches!(err, SubmitError::InvalidQueue { reason: r, .. } if r == reason));
    }
}

// §2.2: more than max_jobs_per_cs jobs, or none, is -EINVAL before any seq is allocated. Too
// many chunks bumps validation_drop_cnt (`hl_cs_copy_chunk_array`); no chunks is a sanity-check
// refusal that bumps nothing.
fn job_count_checked_before_allocation<A: Asic>() {
    let (d, ctx) = device::<A>();
    let jobs = vec![Job::new(completing_queue::<A>()); A::LIMITS.max_jobs_per_cs as usize + 1];
    let err = ctx.submit(&CsSubmit::new(&jobs)).expect_err("too many");
    assert_eq!(
        err,
        SubmitError::TooManyJobs {
            jobs: jobs.len(),
            max: A::LIMITS.max_jobs_per_cs
        }
    );
    assert_eq!(ctx.submit(&CsSubmit::new(&[])), Err(SubmitError::NoJobs));
    assert_eq!(ctx.next_seq(), 1, "no seq used");
    assert_eq!(d.counters().validation, 1);
    assert_eq!(d.counters().total(), 1);
}

// §2.2: a CS with only internal-queue jobs that needs completion is -EINVAL.
fn only_internal_jobs_is_invalid<A: Asic>() {
    let (d, ctx) = device::<A>();
    let Some(int) = internal_queue::<A>() else {
        return;
    };
    let err = ctx
        .submit(&CsSubmit::new(&[Job::new(int), Job::new(int)]))
        .expect_err("no completion");
    assert_eq!(err, SubmitError::OnlyInternalJobs { seq: 1 });
    assert_eq!(d.counters().validation, 1);
}

// §2.2 hl_cs_sanity_checks: a device that is not operational refuses with -EBUSY before any
// counter is touched (only the schedule-time check bumps device_in_reset); §4: waits get -EBUSY
// too; after the reset it takes work again.
fn not_operational_device_refuses<A: Asic>() {
    let (d, ctx) = device::<A>();
    let seq = submit_one(&ctx, completing_queue::<A>(), Work::Default);
    d.mark_needs_reset();
    let err = ctx
        .submit(&CsSubmit::new(&[Job::new(completing_queue::<A>())]))
        .expect_err("not operational");
    assert_eq!((err, err.errno()), (SubmitError::DeviceNotOperational, -16));
    assert_eq!(
        ctx.wait_cs(seq, POLL, None),
        Err(CsWaitError::DeviceNotOperational)
    );
    assert_eq!(d.counters().total(), 0);
    d.reset();
    assert_eq!(
        ctx.wait_cs(seq, POLL, None),
        Err(CsWaitError::Aborted { seq })
    );
    submit_one(&ctx, completing_queue::<A>(), Work::Default);
}

// §4: timeout 0 polls (BUSY, rc 0), and a later wait reports COMPLETED.
fn wait_poll_then_completed<A: Asic>() {
    let (d, ctx) = device::<A>();
    let seq = submit_one(
        &ctx,
        completing_queue::<A>(),
        Work::Run(Duration::from_millis(1)),
    );
    assert_eq!(ctx.wait_cs(seq, POLL, None), Ok(WaitStatus::Busy));
    d.advance(Duration::from_millis(1));
    assert!(ctx.wait_cs(seq, POLL, None).is_ok_and(|s| s.is_completed()));
}

// §4: a user-side timeout is BUSY with rc 0; TIMEDOUT means the TDR fired.
fn user_timeout_is_busy_not_timed_out<A: Asic>() {
    let (d, ctx) = device::<A>();
    let seq = submit_one(&ctx, completing_queue::<A>(), Work::Run(tdr::<A>() / 2));
    assert_eq!(ctx.wait_cs(seq, tdr::<A>() / 4, None), Ok(WaitStatus::Busy));
    assert!(
        ctx.wait_cs(seq, tdr::<A>(), None)
            .is_ok_and(|s| s.is_completed())
    );
    assert_eq!(d.stats().tdr_fired, 0);
}

// §2.5 + §4: a hung CS is timed out by the TDR, the reset rolls it back, and the wait returns
// -ETIMEDOUT (timedout is checked before aborted).
fn hung_cs_times_out<A: Asic>() {
    let (d, ctx) = device::<A>();
    let seq = submit_one(&ctx, completing_queue::<A>(), Work::Hang);
    let err = ctx
        .wait_cs(seq, tdr::<A>() * 2, None)
        .expect_err("TDR fired");
    assert_eq!((err, err.errno()), (CsWaitError::TimedOut { seq }, -110));
    let s = d.stats();
    assert_eq!((s.tdr_fired, s.resets, s.timed_out), (1, 1, 1));
    assert!(
        d.is_operational(),
        "reset_on_lockup: the device works again"
    );
}

// §2.6: a reset rolls back every in-flight CS: aborted (-EIO) unless timed out; waiters wake.
fn reset_aborts_in_flight<A: Asic>() {
    let (d, ctx) = device::<A>();
    let (a, b) = two_engines::<A>();
    let s1 = submit_one(&ctx, a, Work::Hang);
    let s2 = submit_one(&ctx, b, Work::Run(Duration::from_secs(1)));
    d.reset();
    for seq in [s1, s2] {
        let err = ctx.wait_cs(seq, POLL, None).expect_err("aborted");
        assert_eq!((err, err.errno()), (CsWaitError::Aborted { seq }, -5));
    }
    assert_eq!(d.stats().aborted, 2);
    assert_eq!(d.stats().in_flight, 0);
}

// §2.6 hl_hw_queue_reset: pi and ci go back to 0, CQs are empty, engines idle, and the device
// takes work again.
fn reset_resets_queue_pointers<A: Asic>() {
    let (d, ctx) = device_with::<A>(|c| c.tdr_timeout = None);
    let q = completing_queue::<A>();
    let jobs = vec![Job::new(q).with_work(Work::Hang); 3];
    ctx.submit(&CsSubmit::new(&jobs)).expect("submitted");
    assert_eq!(d.queue(q).map(|h| h.pi()), Some(3));
    assert!(!d.busy_engines().is_idle());
    d.reset();
    let h = d.queue(q).expect("queue");
    assert_eq!((h.pi(), h.ci(), h.free_slots()), (0, 0, h.length()));
    if let Some(cq) = A::queue(q).and_then(|p| p.cq) {
        assert_eq!(d.completion_queue_free(cq), Some(A::LIMITS.cq_length));
    }
    assert!(d.busy_engines().is_idle());
    let seq = submit_one(&ctx, q, Work::Default);
    assert!(
        ctx.wait_cs(seq, Duration::from_secs(1), None)
            .is_ok_and(|s| s.is_completed())
    );
}

// §4: -EINTR when a signal (the cancel token) arrives; the CS itself is not affected.
fn wait_is_interruptible<A: Asic>() {
    let (_d, ctx) = device::<A>();
    let seq = submit_one(
        &ctx,
        completing_queue::<A>(),
        Work::Run(Duration::from_secs(1)),
    );
    let token = CancelToken::new();
    token.cancel();
    let err = ctx
        .wait_cs(seq, Duration::from_secs(5), Some(&token))
        .expect_err("interrupted");
    assert_eq!((err, err.errno()), (CsWaitError::Interrupted, -4));
    token.reset();
    assert!(
        ctx.wait_cs(seq, Duration::from_secs(5), Some(&token))
            .is_ok_and(|s| s.is_completed())
    );
}

// §2.4 step 10 + §4: the completion timestamp is returned only for CSs submitted with the
// timestamp flag.
fn timestamp_only_when_asked<A: Asic>() {
    let (d, ctx) = device::<A>();
    let q = completing_queue::<A>();
    let job = [Job::new(q).with_work(Work::Run(Duration::from_millis(3)))];
    let with = ctx
        .submit(&CsSubmit::new(&job).with_timestamp())
        .expect("submitted");
    let without = ctx.submit(&CsSubmit::new(&job)).expect("submitted");
    let start = d.now();
    d.advance(Duration::from_millis(10));
    match ctx.wait_cs(with, POLL, None) {
        Ok(WaitStatus::Completed {
            timestamp: Some(ts),
            gone: false,
        }) => assert!(ts > start),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ctx.wait_cs(without, POLL, None),
        Ok(WaitStatus::Completed {
            gone: false,
            timestamp: None
        })
    );
}

// §4 multi-CS wait: only with multi_cs_wait (else -EPERM); at most 32 seqs (else -EINVAL); one
// bit per array index; the earliest timestamp.
fn multi_cs_wait<A: Asic>() {
    let (d, ctx) = device::<A>();
    let q = completing_queue::<A>();
    if !A::FEATURES.multi_cs_wait {
        let err = ctx.wait_multi(&[1], POLL, None).expect_err("not supported");
        assert_eq!((err, err.errno()), (CsWaitError::NotSupported, -1));
        return;
    }
    let run = |ms| {
        ctx.submit(
            &CsSubmit::new(&[Job::new(q).with_work(Work::Run(Duration::from_millis(ms)))])
                .with_timestamp(),
        )
        .expect("submitted")
    };
    let (s1, s2, s3) = (run(1), run(1), run(1_000_000));
    assert_eq!(
        ctx.wait_multi(&[s3, s1, s2], POLL, None),
        Ok(MultiWaitStatus::Busy)
    );
    // A sleeping multi-wait returns as soon as one entry completes (s1; s2 runs after it on the
    // same engine).
    let first = ctx.wait_multi(&[s3, s1, s2], Duration::from_secs(1), None);
    assert!(
        matches!(first, Ok(MultiWaitStatus::Completed { bitmap: 0b010, .. })),
        "{first:?}"
    );
    d.advance(Duration::from_millis(10));
    let status = ctx
        .wait_multi(&[s3, s1, s2], POLL, None)
        .expect("completed");
    let MultiWaitStatus::Completed {
        bitmap,
        timestamp,
        gone,
    } = status
    else {
        panic!("{status:?}")
    };
    assert_eq!((bitmap, gone), (0b110, false), "one bit per array index");
    let ts1 = match ctx.wait_cs(s1, POLL, None) {
        Ok(WaitStatus::Completed { timestamp, .. }) => timestamp,
        other => panic!("{other:?}"),
    };
    assert!(ts1.is_some());
    assert_eq!(timestamp, ts1, "the earliest completion");
    let too_many = [s1; 33];
    assert_eq!(
        ctx.wait_multi(&too_many, POLL, None),
        Err(CsWaitError::BadSeqCount { len: 33 })
    );
    assert!(matches!(
        ctx.wait_multi(&[s1, 99], POLL, None),
        Err(CsWaitError::InvalidSeq { seq: 99, .. })
    ));
}

// §6: a full queue is -EAGAIN with queue_full bumped and no queue state changed (the CS's seq is
// used up, §3).
fn full_queue_is_try_again<A: Asic>() {
    let (d, ctx) = device_with::<A>(|c| c.tdr_timeout = None);
    // The shortest completing queue fills fastest.
    let q = A::QUEUES
        .iter()
        .filter(|q| q.accepts_user_jobs() && q.queue_type.has_completion())
        .min_by_key(|q| q.pq_len)
        .expect("a completing queue");
    let per_cs = A::LIMITS.max_jobs_per_cs.min(q.pq_len) as usize;
    let jobs = vec![Job::new(q.id).with_work(Work::Hang); per_cs];
    let mut filled = 0;
    while filled < q.pq_len {
        ctx.submit(&CsSubmit::new(
            &jobs[..per_cs.min((q.pq_len - filled) as usize)],
        ))
        .expect("room");
        filled += per_cs as u32;
    }
    let before = d.queue(q.id).expect("queue");
    let cq_before = q.cq.and_then(|cq| d.completion_queue_free(cq));
    let err = ctx
        .submit(&CsSubmit::new(&jobs[..1]))
        .expect_err("queue full");
    assert!(
        matches!(err, SubmitError::QueueFull { queue, cause: SpaceError::QueueFull { free: 0, needed: 1 }, .. } if queue == q.id),
        "{err:?}"
    );
    assert!(err.is_try_again());
    assert!(err.consumed_seq().is_some());
    assert_eq!(d.queue(q.id), Some(before));
    assert_eq!(q.cq.and_then(|cq| d.completion_queue_free(cq)), cq_before);
    assert_eq!(d.counters().queue_full, 1);
}

// §6: external queues reserve CQ entries; a later queue of the same CS failing undoes the
// reservations already made (unroll_cq_resv).
fn cq_reservation_rolled_back<A: Asic>() {
    let Some(((qa, cqa), (qb, _))) = two_external::<A>() else {
        return; // no external queues (per-CS completion on H/W queues)
    };
    let (d, ctx) = device_with::<A>(|c| c.tdr_timeout = None);
    let len = A::queue(qb).map_or(0, |p| p.pq_len);
    let per_cs = A::LIMITS.max_jobs_per_cs.min(len) as usize;
    let fill = vec![Job::new(qb).with_work(Work::Hang); per_cs];
    for _ in 0..len as usize / per_cs {
        ctx.submit(&CsSubmit::new(&fill)).expect("room");
    }
    let free_before = d.completion_queue_free(cqa).expect("cq");
    let err = ctx
        .submit(&CsSubmit::new(&[Job::new(qa), Job::new(qb)]))
        .expect_err("second queue full");
    assert!(matches!(err, SubmitError::QueueFull { queue, .. } if queue == qb));
    assert_eq!(d.completion_queue_free(cqa), Some(free_before));
    assert_eq!(d.queue(qa).map(|h| h.pi()), Some(0));
}

// §2.3: per-job mode: each external job's CQ entry frees its CQ slot and advances its queue's ci;
// internal jobs finish at CS release (ci += jobs_in_queue_cnt). Per-CS mode: one completion per
// CS advances the ci of the queue of every job.
fn completion_advances_ci<A: Asic>() {
    let (d, ctx) = device::<A>();
    let q = completing_queue::<A>();
    let int = internal_queue::<A>();
    let mut jobs = vec![Job::new(q), Job::new(q)];
    if let Some(int) = int {
        jobs.extend([Job::new(int); 3]);
    }
    let seq = ctx.submit(&CsSubmit::new(&jobs)).expect("submitted");
    assert_eq!(d.queue(q).map(|h| h.used_slots()), Some(2));
    if let Some(int) = int {
        assert_eq!(d.queue(int).map(|h| (h.pi(), h.ci())), Some((3, 0)));
    }
    assert!(
        ctx.wait_cs(seq, Duration::from_secs(1), None)
            .is_ok_and(|s| s.is_completed())
    );
    assert_eq!(d.queue(q).map(|h| (h.pi(), h.ci())), Some((2, 2)));
    if let Some(int) = int {
        assert_eq!(d.queue(int).map(|h| (h.pi(), h.ci())), Some((3, 3)));
    }
    if let Some(props) = A::queue(q)
        && let Some(cq) = props.cq
    {
        if props.queue_type == QueueType::External {
            assert_eq!(
                A::LIMITS.completion,
                CompletionMode::PerJob,
                "external queues complete per job"
            );
        } else {
            // A hw queue shares a completion queue the driver reserves (Gaudi2's CQ 0): its CS
            // completes once, per CS.
            assert_eq!(A::LIMITS.completion, CompletionMode::PerCs);
            assert!(
                A::RESERVED_CQS.iter().any(|r| r.id == cq),
                "CQ {cq} is reserved"
            );
        }
        // Every entry taken on the way is back once the CS completed.
        assert_eq!(d.completion_queue_free(cq), Some(A::LIMITS.cq_length));
    }
}

// §2.5: one TDR timer per device, on the oldest in-flight CS.
fn one_timer_on_the_oldest_cs<A: Asic>() {
    let (d, ctx) = device::<A>();
    let (a, b) = two_engines::<A>();
    let s1 = submit_one(&ctx, a, Work::Run(tdr::<A>() / 2));
    let _s2 = submit_one(&ctx, b, Work::Hang);
    assert_eq!(d.armed_tdr().map(|(seq, _)| seq), Some(s1));
    d.advance(tdr::<A>() / 2);
    let (seq, deadline) = d.armed_tdr().expect("handed on");
    assert_eq!(seq, s1 + 1);
    assert!(deadline.as_nanos() >= d.now().as_nanos() + tdr::<A>().as_nanos() as u64);
}

// §2.5: a queued CS's clock starts when its predecessor completes, not when it was submitted.
fn queued_cs_clock_starts_at_predecessor_completion<A: Asic>() {
    let (d, ctx) = device::<A>();
    let t = tdr::<A>();
    let (a, b) = two_engines::<A>();
    let first = submit_one(&ctx, a, Work::Run(t * 2 / 3));
    let second = submit_one(&ctx, b, Work::Run(t * 4 / 3));
    // Timed from its own submission, `second` would time out at t; timed from `first`'s
    // completion (2t/3) it has until 5t/3 and finishes at 4t/3.
    d.advance(t * 2);
    assert_eq!(d.stats().tdr_fired, 0);
    for seq in [first, second] {
        assert!(ctx.wait_cs(seq, POLL, None).is_ok_and(|s| s.is_completed()));
    }
}

// §2.5: timeout 0 turns TDR off: a hung CS stays in flight.
fn tdr_off_never_fires<A: Asic>() {
    let (d, ctx) = device_with::<A>(|c| c.tdr_timeout = None);
    let seq = submit_one(&ctx, completing_queue::<A>(), Work::Hang);
    assert_eq!(d.armed_tdr(), None);
    d.advance(tdr::<A>() * 10);
    assert_eq!(ctx.wait_cs(seq, POLL, None), Ok(WaitStatus::Busy));
    assert_eq!(d.stats().tdr_fired, 0);
}

// §2.2 step 3: HL_CS_FLAGS_CUSTOM_TIMEOUT overrides the device timeout for that CS.
fn per_cs_timeout_overrides_default<A: Asic>() {
    let (d, ctx) = device::<A>();
    let short = tdr::<A>() / 10;
    let seq = ctx
        .submit(
            &CsSubmit::new(&[Job::new(completing_queue::<A>()).with_work(Work::Hang)])
                .with_timeout(short),
        )
        .expect("submitted");
    d.advance(short);
    assert_eq!(
        ctx.wait_cs(seq, POLL, None),
        Err(CsWaitError::TimedOut { seq })
    );
}

// §2.5: without reset_on_lockup the TDR only marks the device as needing a reset: it refuses work
// until reset; the fence is not signalled by the TDR itself but on release, timed out.
fn tdr_without_reset_on_lockup<A: Asic>() {
    let (d, ctx) = device_with::<A>(|c| c.reset_on_lockup = false);
    let seq = submit_one(&ctx, completing_queue::<A>(), Work::Hang);
    d.advance(tdr::<A>());
    let s = d.stats();
    assert_eq!((s.tdr_fired, s.resets, s.needs_reset), (1, 0, true));
    let fence = match ctx.lookup(seq) {
        Lookup::Fence(f) => f,
        other => panic!("{other:?}"),
    };
    assert_eq!(fence.poll(), None, "the TDR does not signal the fence");
    assert_eq!(
        ctx.submit(&CsSubmit::new(&[Job::new(completing_queue::<A>())])),
        Err(SubmitError::DeviceNotOperational)
    );
    d.reset();
    assert_eq!(fence.poll(), Some(Outcome::TimedOut));
    assert!(d.is_operational());
}

// §2.4 + the spec's lifecycle: a CS the TDR marked that completes late (no reset) is released
// with the outcome its lifecycle gives Hung + jobs_done: timed out in the default lifecycle, ok in
// Example's per-CS one. The runtime asks A::transition / A::outcome, it does not decide.
fn late_completion_follows_the_lifecycle<A: Asic>() {
    let (d, ctx) = device_with::<A>(|c| c.reset_on_lockup = false);
    let t = tdr::<A>();
    let seq = submit_one(&ctx, completing_queue::<A>(), Work::Run(t * 2));
    d.advance(t * 3);
    let fence = match ctx.lookup(seq) {
        Lookup::Fence(f) => f,
        other => panic!("{other:?}"),
    };
    let hung = A::next_state(
        A::next_state(A::INITIAL_STATE, CsEvent::Submit),
        CsEvent::TimeoutDetected,
    );
    let expected = A::outcome(A::next_state(hung, CsEvent::JobsDone));
    assert_eq!(fence.poll(), expected);
    assert!(expected.is_some());
}

// §2.6 + sim: an engine error (a job that faults) resets the device like any engine error.
fn engine_fault_resets_the_device<A: Asic>() {
    let (d, ctx) = device::<A>();
    let (a, b) = two_engines::<A>();
    let victim = submit_one(&ctx, b, Work::Run(Duration::from_secs(1)));
    let faulty = submit_one(&ctx, a, Work::Fault);
    d.advance(Duration::from_millis(1));
    let s = d.stats();
    assert_eq!((s.engine_faults, s.resets, s.aborted), (1, 1, 2));
    for seq in [victim, faulty] {
        assert_eq!(
            ctx.wait_cs(seq, POLL, None),
            Err(CsWaitError::Aborted { seq })
        );
    }
}

// §7: the busy mask has bit `engine id` set for every busy engine, in as many u64 words as
// ENGINE_ID_SIZE needs.
fn busy_mask_bit_per_engine_id<A: Asic>() {
    let (d, ctx) = device_with::<A>(|c| c.tdr_timeout = None);
    assert!(d.busy_engines().is_idle());
    let (a, b) = two_engines::<A>();
    submit_one(&ctx, a, Work::Hang);
    submit_one(&ctx, b, Work::Hang);
    let mask = d.busy_engines();
    assert_eq!(mask.words().len(), A::ENGINE_ID_SIZE.div_ceil(64) as usize);
    let mut expected: Vec<u32> = [a, b]
        .iter()
        .filter_map(|&q| A::queue(q).and_then(|p| p.engine))
        .collect();
    expected.sort_unstable();
    assert_eq!(mask.iter().collect::<Vec<_>>(), expected);
    d.reset();
    assert!(d.busy_engines().is_idle());
}

// §6 counters: a rejection after the sanity checks bumps one counter, per device and per
// context, and they agree. `hl_cs_sanity_checks` (device not operational: -EBUSY; no chunks:
// -EINVAL) refuses before any counter is touched; too many chunks (`hl_cs_copy_chunk_array`) and
// a bad queue (`validate_queue_index`) bump `validation_drop_cnt`.
fn counters_per_device_and_context_agree<A: Asic>() {
    let (d, ctx) = device::<A>();
    assert_eq!(ctx.submit(&CsSubmit::new(&[])), Err(SubmitError::NoJobs));
    let _ = ctx.submit(&CsSubmit::new(&[Job::new(A::QUEUE_ID_SIZE)]));
    let too_many = vec![Job::new(completing_queue::<A>()); A::LIMITS.max_jobs_per_cs as usize + 1];
    assert!(matches!(
        ctx.submit(&CsSubmit::new(&too_many)),
        Err(SubmitError::TooManyJobs { .. })
    ));
    d.mark_needs_reset();
    assert_eq!(
        ctx.submit(&CsSubmit::new(&[Job::new(completing_queue::<A>())])),
        Err(SubmitError::DeviceNotOperational)
    );
    let dev = d.counters();
    assert_eq!(dev, ctx.counters());
    assert_eq!(dev.get(DropCounter::Validation), 2);
    assert_eq!(dev.get(DropCounter::DeviceInReset), 0);
    assert_eq!(dev.total(), 2);
}

for_each_asic!(
    seqs_start_at_one_and_increase,
    lookup_invalid_gone_and_slots,
    zero_and_max_seq_are_never_valid,
    full_ring_is_try_again,
    failure_after_allocation_uses_the_seq,
    invalid_queues_are_rejected,
    hw_queue_cb_kind_must_be_allowed,
    job_count_checked_before_allocation,
    only_internal_jobs_is_invalid,
    not_operational_device_refuses,
    wait_poll_then_completed,
    user_timeout_is_busy_not_timed_out,
    hung_cs_times_out,
    reset_aborts_in_flight,
    reset_resets_queue_pointers,
    wait_is_interruptible,
    timestamp_only_when_asked,
    multi_cs_wait,
    full_queue_is_try_again,
    cq_reservation_rolled_back,
    completion_advances_ci,
    one_timer_on_the_oldest_cs,
    queued_cs_clock_starts_at_predecessor_completion,
    tdr_off_never_fires,
    per_cs_timeout_overrides_default,
    tdr_without_reset_on_lockup,
    late_completion_follows_the_lifecycle,
    engine_fault_resets_the_device,
    busy_mask_bit_per_engine_id,
    counters_per_device_and_context_agree,
);

// ARCHITECTURE.md: the runtime fires exactly the dsl's event vocabulary, in the same order.
#[test]
fn event_vocabulary_matches_the_dsl() {
    use asicgen_dsl::model::Event;
    let runtime: Vec<_> = CsEvent::ALL.iter().map(|e| e.name()).collect();
    let dsl: Vec<_> = Event::ALL.iter().map(|e| e.spec_name()).collect();
    assert_eq!(runtime, dsl);
    assert_eq!(CsEvent::COUNT, Event::COUNT);
}
