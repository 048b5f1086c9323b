//! One test per rule of `docs/driver-semantics.md` §5 (sync streams), each run against every
//! generation in `specs/` (`for_each_asic!`). A generation without the feature (Goya, Example)
//! must refuse each operation with the driver's error; the others must follow the rule. Written
//! from the kernel's rules (`command_submission.c`, `hw_queue.c`), on the virtual clock: no
//! sleeps, no timed assertions.

mod common;

use asicgen_runtime::asic::{Asic, CollectiveMode, EngineKind};
use asicgen_runtime::{
    CollectiveWaitSubmit, Context, CsSubmit, CsWaitError, Device, DeviceConfig, DropCounter,
    EncapsWaitSubmit, Job, Lookup, MAX_SOB_VAL, MultiWaitStatus, Outcome, SignalSubmit,
    StagedSubmit, SubmitError, SyncQueueRejection, WaitCs, WaitStatus, WaitSubmit, Work,
};
use common::*;
use std::time::Duration;

const POLL: Duration = Duration::ZERO;
const LONG: Duration = Duration::from_secs(3600);
const RUN: Work = Work::Run(Duration::from_micros(100));

/// Queues a user may submit sync-stream CSs to.
fn sync_queues<A: Asic>() -> Vec<u32> {
    A::QUEUES
        .iter()
        .filter(|q| q.supports_sync_stream && q.accepts_user_jobs())
        .map(|q| q.id)
        .collect()
}

/// A completing queue without sync streams, if the generation has one.
fn plain_queue<A: Asic>() -> Option<u32> {
    A::QUEUES
        .iter()
        .find(|q| !q.supports_sync_stream && q.accepts_user_jobs() && q.queue_type.has_completion())
        .map(|q| q.id)
}

fn completed() -> Result<WaitStatus, CsWaitError> {
    Ok(WaitStatus::Completed {
        gone: false,
        timestamp: None,
    })
}

/// A virtual-clock device changed by `f` and a context on it, if the generation has sync
/// streams (`has_sync_stream`, which checks the refusals where it has none).
fn sync_device<A: Asic>(f: impl FnOnce(&mut DeviceConfig)) -> Option<(Device<A>, Context<A>)> {
    has_sync_stream::<A>().then(|| device_with::<A>(f))
}

/// The generation has sync streams; if not, check every sync-stream ioctl is refused as the
/// driver refuses it (`-EINVAL`, nothing used up, no counter bumped) and return `false`.
fn has_sync_stream<A: Asic>() -> bool {
    if A::FEATURES.sync_stream {
        assert!(
            !sync_queues::<A>().is_empty(),
            "sync streams without a queue"
        );
        return true;
    }
    let (_d, ctx) = device::<A>();
    let q = completing_queue::<A>();
    let e = ctx
        .submit_signal(&SignalSubmit::new(q))
        .expect_err("no sync stream");
    assert_eq!(e, SubmitError::SyncStreamNotSupported);
    assert_eq!(e.errno(), -22);
    let e = ctx
        .submit_wait(&WaitSubmit::new(q, &[1]))
        .expect_err("no sync stream");
    assert_eq!(e, SubmitError::SyncStreamNotSupported);
    let e = ctx
        .submit_collective_wait(&CollectiveWaitSubmit::new(q, 0, &[1]))
        .expect_err("no sync stream");
    assert_eq!(e, SubmitError::SyncStreamNotSupported);
    // The reserve ioctl has no feature check: no queue supports sync streams, so -EINVAL.
    let e = ctx.reserve_signals(q, 1).expect_err("no sync stream queue");
    assert_eq!(e.errno(), -22);
    assert!(matches!(e, SubmitError::SyncQueue { .. }));
    assert_eq!(
        ctx.unreserve_signals(1),
        Err(SubmitError::NoSuchReservation { handle: 1 })
    );
    assert_eq!(ctx.next_seq(), 1, "nothing used up");
    assert_eq!(ctx.counters().validation, 0);
    false
}

// §5: every queue with supports_sync_stream reserves two SOBs and one monitor, in queue order
// from the spec's sync_stream range: base_sob_id = first_sob + idx * 2, base_mon_id =
// first_mon + idx; next_sob_val starts at 1.
fn reserved_sobs_and_monitor_per_queue<A: Asic>() {
    let Some((d, _ctx)) = sync_device::<A>(|_| {}) else {
        return;
    };
    let range = A::SYNC_MANAGER
        .and_then(|sm| sm.ranges.iter().find(|r| r.name == "sync_stream").copied())
        .expect("the spec lays out the sync_stream range");
    let stream_queues: Vec<_> = A::QUEUES
        .iter()
        .filter(|q| q.supports_sync_stream)
        .collect();
    assert_eq!(range.sobs, stream_queues.len() as u32 * 2);
    for (idx, q) in stream_queues.iter().enumerate() {
        let ids = d.reserved_sync_ids(q.id).expect("a sync-stream queue");
        let idx = idx as u32;
        assert_eq!(
            ids.sobs,
            [range.first_sob + idx * 2, range.first_sob + idx * 2 + 1]
        );
        assert_eq!(ids.monitor, range.first_monitor + idx);
        assert_eq!(d.next_sob_val(q.id), Some(1));
    }
    if let Some(p) = plain_queue::<A>() {
        assert_eq!(d.reserved_sync_ids(p), None);
    }
    assert!(d.sync_stats().is_baseline());
}

// §5 signal CS: exactly one job, on a queue that supports sync streams, else -EINVAL with the
// validation counter bumped and no seq used.
fn signal_needs_a_sync_stream_queue<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|_| {}) else {
        return;
    };
    let mut refused = 0;
    if let Some(p) = plain_queue::<A>() {
        let e = ctx
            .submit_signal(&SignalSubmit::new(p))
            .expect_err("no sync stream");
        assert_eq!(
            e,
            SubmitError::SyncQueue {
                queue: p,
                reason: SyncQueueRejection::NoSyncStream
            }
        );
        assert_eq!(e.counter(), Some(DropCounter::Validation));
        refused += 1;
    }
    let e = ctx
        .submit_signal(&SignalSubmit::new(A::QUEUE_ID_SIZE))
        .expect_err("no such queue");
    assert_eq!(e.errno(), -22);
    refused += 1;
    assert_eq!(ctx.next_seq(), 1, "refused before allocate_cs");
    assert_eq!(ctx.counters().validation, refused);
    assert_eq!(d.counters().validation, refused);
}

// §5 signal CS: it is given the queue's next_sob_val on the current SOB, and reports the SOB
// and next_sob_val - 1 (sob_count_before_submission); its job adds 1 to the SOB when it runs.
fn signal_takes_the_next_sob_value<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|_| {}) else {
        return;
    };
    let q = sync_queues::<A>()[0];
    let sobs = d.reserved_sync_ids(q).expect("sync queue").sobs;
    for n in 1..=3u32 {
        let s = ctx
            .submit_signal(&SignalSubmit::new(q).with_work(RUN))
            .expect("signal");
        assert_eq!(s.seq, u64::from(n));
        assert_eq!(s.sob, sobs[0]);
        assert_eq!(s.sob_count_before, n);
        assert_eq!(d.next_sob_val(q), Some(n + 1));
    }
    assert_eq!(d.sob_value(sobs[0]), Some(0), "nothing ran yet");
    d.run_until_idle();
    assert_eq!(d.sob_value(sobs[0]), Some(3));
    for seq in 1..=3 {
        assert_eq!(ctx.wait_cs(seq, POLL, None), completed());
    }
    assert!(d.sync_stats().is_baseline());
}

// §5 wait CS: its job arms the monitor on SOB >= the signal's value; it completes only after
// the signal ran, on another queue, with no host round trip.
fn wait_completes_after_its_signal<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|_| {}) else {
        return;
    };
    let qs = sync_queues::<A>();
    let (qa, qb) = (qs[0], qs[qs.len() - 1]);
    let signal = ctx
        .submit_signal(&SignalSubmit::new(qa).with_work(Work::Run(Duration::from_millis(5))))
        .expect("signal");
    let wait = ctx
        .submit_wait(&WaitSubmit::new(qb, &[signal.seq]))
        .expect("wait")
        .seq()
        .expect("a wait CS");
    d.advance(Duration::from_millis(1));
    assert_eq!(ctx.wait_cs(wait, POLL, None), Ok(WaitStatus::Busy));
    let stats = d.sync_stats();
    assert_eq!(stats.monitors_armed, 1, "{stats:?}");
    assert_eq!(
        stats.sob_refs_held, 2,
        "the signal's and the wait's: {stats:?}"
    );
    assert_eq!(ctx.wait_cs(wait, LONG, None), completed());
    assert_eq!(ctx.wait_cs(signal.seq, POLL, None), completed());
    assert!(d.now().as_nanos() >= 5_000_000);
    assert!(d.sync_stats().is_baseline(), "{:?}", d.sync_stats());
}

// §5: a wait CS's monitor holds its queue: a CS submitted after it on the same queue runs only
// once the monitor fired.
fn wait_holds_its_queue<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|_| {}) else {
        return;
    };
    let qs = sync_queues::<A>();
    let (qa, qb) = (qs[0], qs[qs.len() - 1]);
    let signal = ctx
        .submit_signal(&SignalSubmit::new(qa).with_work(Work::Run(Duration::from_millis(5))))
        .expect("signal");
    let wait = ctx
        .submit_wait(&WaitSubmit::new(qb, &[signal.seq]))
        .expect("wait");
    let after = ctx
        .submit(
            &CsSubmit::new(&[Job::new(qb).with_work(Work::Run(Duration::from_millis(3)))])
                .with_timestamp(),
        )
        .expect("a CS behind the wait");
    d.advance(Duration::from_millis(4));
    assert_eq!(ctx.wait_cs(after, POLL, None), Ok(WaitStatus::Busy));
    assert_eq!(d.sync_stats().held_jobs, 2);
    d.run_until_idle();
    for seq in [signal.seq, wait.seq().expect("a wait CS")] {
        assert_eq!(ctx.wait_cs(seq, POLL, None), completed());
    }
    // The engine stalled on the fence from 0 to 5 ms: the job behind it ends 5 ms later than
    // it would have, at 8 ms.
    match ctx.wait_cs(after, POLL, None) {
        Ok(WaitStatus::Completed {
            timestamp: Some(t), ..
        }) => assert!(t.as_nanos() >= 8_000_000, "done at {} ns", t.as_nanos()),
        other => panic!("{other:?}"),
    }
    assert!(d.sync_stats().is_baseline());
}

// §5 wait CS: a signal CS that already completed, or whose seq is gone, creates no CS and the
// ioctl returns 0 (no seq used).
fn wait_on_a_done_or_gone_signal_creates_no_cs<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|_| {}) else {
        return;
    };
    let q = sync_queues::<A>()[0];
    let signal = ctx.submit_signal(&SignalSubmit::new(q)).expect("signal");
    d.run_until_idle();
    let next = ctx.next_seq();
    assert_eq!(
        ctx.submit_wait(&WaitSubmit::new(q, &[signal.seq])),
        Ok(WaitCs::SignalDone { consumed_seq: None })
    );
    assert_eq!(ctx.next_seq(), next);
    // Push the signal out of the ring: its seq is gone, read as completed.
    let n = ctx.ring_len();
    for _ in 0..n {
        submit_one(&ctx, q, Work::Run(Duration::ZERO));
        d.run_until_idle();
    }
    assert_eq!(
        ctx.submit_wait(&WaitSubmit::new(q, &[signal.seq])),
        Ok(WaitCs::SignalDone { consumed_seq: None })
    );
    assert!(d.sync_stats().is_baseline());
}

// §5 wait CS: signal_seq_arr must hold exactly one seq (-EINVAL, validation counter).
fn wait_takes_exactly_one_signal_seq<A: Asic>() {
    let Some((_d, ctx)) = sync_device::<A>(|_| {}) else {
        return;
    };
    let q = sync_queues::<A>()[0];
    let s = ctx
        .submit_signal(&SignalSubmit::new(q).with_work(Work::Hang))
        .expect("signal");
    for seqs in [&[][..], &[s.seq, s.seq][..]] {
        assert_eq!(
            ctx.submit_wait(&WaitSubmit::new(q, seqs)),
            Err(SubmitError::SignalSeqCount { len: seqs.len() })
        );
    }
    assert_eq!(ctx.counters().validation, 2);
    assert_eq!(ctx.next_seq(), 2);
}

// §5 wait CS: hl_ctx_get_fence errors fail it (-EINVAL for a seq not handed out yet, 0 and
// u64::MAX included); a seq that is not a signal CS is -EINVAL; seqs are per context, so a
// signal of another context is not one here.
fn wait_on_a_bad_seq_is_invalid<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|c| c.contexts = 2) else {
        return;
    };
    let q = sync_queues::<A>()[0];
    let plain = submit_one(&ctx, q, Work::Hang);
    assert_eq!(
        ctx.submit_wait(&WaitSubmit::new(q, &[plain])),
        Err(SubmitError::NotASignalCs { seq: plain })
    );
    for seq in [0, 2, u64::MAX] {
        assert_eq!(
            ctx.submit_wait(&WaitSubmit::new(q, &[seq])),
            Err(SubmitError::InvalidSignalSeq { seq, next_seq: 2 })
        );
    }
    let other = d.open().expect("a second context");
    let theirs = other
        .submit_signal(&SignalSubmit::new(q).with_work(Work::Hang))
        .expect("signal");
    assert_eq!(theirs.seq, 1);
    // Seq 1 here is our plain CS, not their signal.
    assert_eq!(
        ctx.submit_wait(&WaitSubmit::new(q, &[theirs.seq])),
        Err(SubmitError::NotASignalCs { seq: 1 })
    );
    assert_eq!(ctx.counters().validation, 5);
    assert_eq!(ctx.next_seq(), 2);
}

// §5 wrap-around: when next_sob_val + count reaches HL_MAX_SOB_VAL the queue switches to its
// other reserved SOB and next_sob_val restarts at count (count + 1 for a reservation); the
// switch needs the other SOB to hold only its own reference, else -EINVAL "Cannot switch SOBs"
// (a signal CS has used up its seq by then).
fn sob_wraps_to_the_other_sob<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|_| {}) else {
        return;
    };
    let q = sync_queues::<A>()[0];
    let sobs = d.reserved_sync_ids(q).expect("sync queue").sobs;
    // 32765 reserved signals take next_sob_val to 32766, holding a reference on SOB 0.
    let r = ctx.reserve_signals(q, MAX_SOB_VAL - 3).expect("reserve");
    assert_eq!(
        (r.sob, r.first_value, r.count),
        (sobs[0], 1, MAX_SOB_VAL - 2)
    );
    let a = ctx
        .submit_signal(&SignalSubmit::new(q))
        .expect("value 32766");
    assert_eq!((a.sob, a.sob_count_before), (sobs[0], MAX_SOB_VAL - 2));
    // 32767 + 1 reaches the maximum: this signal takes 32767 on SOB 0, the queue moves on.
    let b = ctx
        .submit_signal(&SignalSubmit::new(q))
        .expect("value 32767");
    assert_eq!((b.sob, b.sob_count_before), (sobs[1], 0));
    assert_eq!(d.next_sob_val(q), Some(1));
    let c = ctx
        .submit_signal(&SignalSubmit::new(q))
        .expect("value 1 on SOB 1");
    assert_eq!((c.sob, c.sob_count_before), (sobs[1], 1));
    // Fill SOB 1 up; the next switch needs SOB 0, which the reservation still holds.
    ctx.reserve_signals(q, MAX_SOB_VAL - 3)
        .expect("reserve on SOB 1");
    let before = ctx.next_seq();
    let e = ctx
        .submit_signal(&SignalSubmit::new(q))
        .expect_err("SOB 0 still in use");
    assert_eq!(
        e,
        SubmitError::CannotSwitchSob {
            seq: Some(before),
            queue: q
        }
    );
    assert_eq!(e.errno(), -22);
    assert_eq!(
        ctx.wait_cs(before, POLL, None),
        completed(),
        "released not submitted"
    );
    d.run_until_idle();
    drop(ctx);
    assert!(d.sync_stats().is_baseline(), "{:?}", d.sync_stats());
}

// §5: a wait on the last signal of a SOB, taken as the queue switches, still fires; the old
// SOB is reset (value 0) once its last user released it, so it is clean when the queue comes
// back to it.
fn wait_across_a_sob_switch<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|_| {}) else {
        return;
    };
    let qs = sync_queues::<A>();
    let (q, qw) = (qs[0], qs[qs.len() - 1]);
    let sobs = d.reserved_sync_ids(q).expect("sync queue").sobs;
    for i in 1..MAX_SOB_VAL - 1 {
        ctx.submit_signal(&SignalSubmit::new(q).with_work(Work::Run(Duration::ZERO)))
            .expect("signal");
        if i % 16 == 0 {
            d.run_until_idle();
        }
    }
    let last = ctx
        .submit_signal(&SignalSubmit::new(q).with_work(Work::Run(Duration::from_millis(1))))
        .expect("value 32767, the last of SOB 0");
    assert_eq!((last.sob, last.sob_count_before), (sobs[1], 0));
    let wait = ctx
        .submit_wait(&WaitSubmit::new(qw, &[last.seq]))
        .expect("wait")
        .seq()
        .expect("a wait CS");
    d.advance(Duration::from_micros(500));
    assert_eq!(d.sob_value(sobs[0]), Some(MAX_SOB_VAL - 2));
    assert_eq!(ctx.wait_cs(wait, LONG, None), completed());
    assert_eq!(d.sob_value(sobs[0]), Some(0), "reset by its last put");
    assert!(d.sync_stats().is_baseline(), "{:?}", d.sync_stats());
}

// §5 reserve: count must stay below HL_MAX_SOB_VAL (-EINVAL), the queue must support sync
// streams; count 0 is accepted; the handle is per context, from 1.
fn reserve_signals_limits<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|_| {}) else {
        return;
    };
    let q = sync_queues::<A>()[0];
    let sobs = d.reserved_sync_ids(q).expect("sync queue").sobs;
    assert_eq!(
        ctx.reserve_signals(q, MAX_SOB_VAL),
        Err(SubmitError::SignalCountTooLarge { count: MAX_SOB_VAL })
    );
    assert_eq!(
        ctx.reserve_signals(q, u32::MAX).map_err(|e| e.errno()),
        Err(-22)
    );
    if let Some(p) = plain_queue::<A>() {
        assert_eq!(
            ctx.reserve_signals(p, 1),
            Err(SubmitError::SyncQueue {
                queue: p,
                reason: SyncQueueRejection::NoSyncStream
            })
        );
    }
    let zero = ctx.reserve_signals(q, 0).expect("count 0");
    assert_eq!(
        (zero.handle, zero.sob, zero.count, zero.first_value),
        (1, sobs[0], 1, 1)
    );
    let five = ctx.reserve_signals(q, 5).expect("count 5");
    assert_eq!((five.handle, five.count, five.first_value), (2, 6, 1));
    // The largest count wraps at once: next_sob_val + 32767 >= 32768.
    let big = ctx
        .reserve_signals(q, MAX_SOB_VAL - 1)
        .expect("the largest count");
    assert_eq!(big.sob, sobs[1]);
    assert_eq!(
        ctx.counters().validation,
        0,
        "the reserve ioctl bumps no counter"
    );
    drop(ctx);
    assert!(d.sync_stats().is_baseline(), "closing drops the handles");
}

// §5 unreserve: gives the count back when nothing moved the SOB since; -EINVAL if the value
// moved (the handle stays) or the handle is unknown (also from another context).
fn unreserve_signals_rules<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|c| c.contexts = 2) else {
        return;
    };
    let q = sync_queues::<A>()[0];
    let r = ctx.reserve_signals(q, 5).expect("reserve");
    assert_eq!(d.next_sob_val(q), Some(6));
    ctx.unreserve_signals(r.handle).expect("nothing moved");
    assert_eq!(d.next_sob_val(q), Some(1));
    assert_eq!(
        ctx.unreserve_signals(r.handle),
        Err(SubmitError::NoSuchReservation { handle: r.handle })
    );
    let r = ctx.reserve_signals(q, 5).expect("reserve");
    let other = d.open().expect("a second context");
    assert_eq!(
        other.unreserve_signals(r.handle),
        Err(SubmitError::NoSuchReservation { handle: r.handle })
    );
    ctx.submit_signal(&SignalSubmit::new(q))
        .expect("moves next_sob_val");
    assert_eq!(
        ctx.unreserve_signals(r.handle),
        Err(SubmitError::ReservationOutOfSync { handle: r.handle })
    );
    assert_eq!(d.sync_stats().reservations, 1, "the handle stays");
    d.run_until_idle();
    drop(ctx);
    assert!(d.sync_stats().is_baseline(), "{:?}", d.sync_stats());
}

// §5 collective wait (Gaudi): the queue must be a collective master (else -EINVAL, which is
// every queue of a generation without masters), the reduction engine one whose queues are
// collective slaves (checked once the seq is taken); the CS waits on every slave queue of the
// master's stream and completes after the signal.
fn collective_wait_rules<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|_| {}) else {
        return;
    };
    let qs = sync_queues::<A>();
    let signal = ctx
        .submit_signal(&SignalSubmit::new(qs[0]).with_work(Work::Run(Duration::from_millis(2))))
        .expect("signal");
    // A master on another engine than the signal's, so its job is not queued behind it.
    let signal_engine = A::queue(qs[0]).and_then(|p| p.engine);
    let master = A::QUEUES.iter().find(|q| {
        q.collective == CollectiveMode::Master && q.accepts_user_jobs() && q.engine != signal_engine
    });
    let not_master = qs
        .iter()
        .copied()
        .find(|&id| A::queue(id).is_some_and(|p| p.collective != CollectiveMode::Master));
    if let Some(nm) = not_master {
        assert_eq!(
            ctx.submit_collective_wait(&CollectiveWaitSubmit::new(nm, 0, &[signal.seq])),
            Err(SubmitError::SyncQueue {
                queue: nm,
                reason: SyncQueueRejection::NotCollectiveMaster
            })
        );
    }
    let Some(master) = master else {
        // No collective support (Gaudi2): every sync-stream queue is refused as above.
        assert!(not_master.is_some());
        d.run_until_idle();
        return;
    };
    let reduction = A::ENGINES
        .iter()
        .find(|e| {
            e.kind != EngineKind::Nic
                && A::QUEUES
                    .iter()
                    .any(|q| q.engine == Some(e.id) && q.collective == CollectiveMode::Slave)
        })
        .expect("a reduction engine");
    let nic = A::ENGINES.iter().find(|e| e.kind == EngineKind::Nic);
    if let Some(nic) = nic {
        let seq = ctx.next_seq();
        assert_eq!(
            ctx.submit_collective_wait(&CollectiveWaitSubmit::new(
                master.id,
                nic.id,
                &[signal.seq]
            )),
            Err(SubmitError::InvalidCollectiveEngine {
                seq,
                engine: nic.id
            })
        );
    }
    let w = ctx
        .submit_collective_wait(&CollectiveWaitSubmit::new(
            master.id,
            reduction.id,
            &[signal.seq],
        ))
        .expect("collective wait")
        .seq()
        .expect("a wait CS");
    d.advance(Duration::from_millis(1));
    assert_eq!(ctx.wait_cs(w, POLL, None), Ok(WaitStatus::Busy));
    // The slave queues are internal (no completion of their own): the master's job is the
    // one whose monitor holds the CS.
    assert!(d.sync_stats().monitors_armed >= 1, "the master waits");
    assert_eq!(ctx.wait_cs(w, LONG, None), completed());
    assert!(d.sync_stats().is_baseline(), "{:?}", d.sync_stats());
}

// §4 multi-CS wait on signal and wait CSs (generations with multi_cs_wait): the entries
// complete as their CSs do.
fn multi_cs_wait_on_signal_and_wait<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|_| {}) else {
        return;
    };
    let qs = sync_queues::<A>();
    let signal = ctx
        .submit_signal(&SignalSubmit::new(qs[0]).with_work(Work::Run(Duration::from_millis(2))))
        .expect("signal");
    let wait = ctx
        .submit_wait(&WaitSubmit::new(qs[qs.len() - 1], &[signal.seq]))
        .expect("wait")
        .seq()
        .expect("a wait CS");
    let r = ctx.wait_multi(&[wait, signal.seq], LONG, None);
    if !A::FEATURES.multi_cs_wait {
        assert_eq!(r, Err(CsWaitError::NotSupported));
        d.run_until_idle();
        return;
    }
    match r {
        Ok(MultiWaitStatus::Completed { bitmap, .. }) => {
            assert_ne!(bitmap & 0b10, 0, "the signal finishes first: {bitmap:b}");
        }
        other => panic!("{other:?}"),
    }
    d.run_until_idle();
    assert!(matches!(
        ctx.wait_multi(&[wait, signal.seq], POLL, None),
        Ok(MultiWaitStatus::Completed { bitmap: 0b11, .. })
    ));
}

// §2.6 with §5: a reset in the middle of a chain (the signal hung) aborts the signal and the
// wait alike, every waiter returns, and the sync manager is back at its baseline.
fn reset_in_the_middle_of_a_chain<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|c| c.tdr_timeout = None) else {
        return;
    };
    let qs = sync_queues::<A>();
    let (qa, qb) = (qs[0], qs[qs.len() - 1]);
    let signal = ctx
        .submit_signal(&SignalSubmit::new(qa).with_work(Work::Hang))
        .expect("signal");
    let wait = ctx
        .submit_wait(&WaitSubmit::new(qb, &[signal.seq]))
        .expect("wait")
        .seq()
        .expect("a wait CS");
    let after = submit_one(&ctx, qb, Work::Run(Duration::ZERO));
    d.run_until_idle();
    assert_eq!(ctx.wait_cs(after, POLL, None), Ok(WaitStatus::Busy));
    d.reset();
    for seq in [signal.seq, wait, after] {
        assert_eq!(
            ctx.wait_cs(seq, POLL, None),
            Err(CsWaitError::Aborted { seq })
        );
    }
    assert!(d.sync_stats().is_baseline(), "{:?}", d.sync_stats());
    assert_eq!(d.next_sob_val(qa), Some(1));
    // The chain works again after the reset.
    let s = ctx.submit_signal(&SignalSubmit::new(qa)).expect("signal");
    assert_eq!(s.sob_count_before, 1);
    let w = ctx
        .submit_wait(&WaitSubmit::new(qb, &[s.seq]))
        .expect("wait");
    d.run_until_idle();
    assert_eq!(
        ctx.wait_cs(w.seq().expect("a wait CS"), POLL, None),
        completed()
    );
}

// §2.5 with §5: a wait whose signal hangs is timed out by the TDR (which resets the device):
// both end, and nothing stays held.
fn hung_signal_times_out_the_chain<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|_| {}) else {
        return;
    };
    let qs = sync_queues::<A>();
    let signal = ctx
        .submit_signal(&SignalSubmit::new(qs[0]).with_work(Work::Hang))
        .expect("signal");
    let wait = ctx
        .submit_wait(&WaitSubmit::new(qs[qs.len() - 1], &[signal.seq]))
        .expect("wait")
        .seq()
        .expect("a wait CS");
    assert_eq!(
        ctx.wait_cs(signal.seq, LONG, None),
        Err(CsWaitError::TimedOut { seq: signal.seq })
    );
    assert!(
        ctx.wait_cs(wait, LONG, None).is_err(),
        "aborted or timed out"
    );
    d.run_until_idle();
    assert!(d.sync_stats().is_baseline(), "{:?}", d.sync_stats());
}

// Teardown with §5: closing a context with a wait held releases it (aborted), and a wait of
// another context queued behind it on the same queue runs once its signal ran.
fn close_with_waits_pending<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|c| {
        c.tdr_timeout = None;
        c.contexts = 2;
    }) else {
        return;
    };
    let qs = sync_queues::<A>();
    let (qa, qb) = (qs[0], qs[qs.len() - 1]);
    let s = ctx
        .submit_signal(&SignalSubmit::new(qa).with_work(Work::Hang))
        .expect("signal");
    ctx.submit_wait(&WaitSubmit::new(qb, &[s.seq]))
        .expect("wait");
    let other = d.open().expect("a second context");
    let behind = submit_one(&other, qb, Work::Run(Duration::ZERO));
    d.run_until_idle();
    assert_eq!(other.wait_cs(behind, POLL, None), Ok(WaitStatus::Busy));
    drop(ctx);
    d.run_until_idle();
    assert_eq!(other.wait_cs(behind, POLL, None), completed());
    assert!(d.sync_stats().is_baseline(), "{:?}", d.sync_stats());
}

// Device fini with §5: dropping the last Device handle with a wait held aborts it; a waiter
// returns.
fn device_drop_with_waits_pending<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|c| c.tdr_timeout = None) else {
        return;
    };
    let qs = sync_queues::<A>();
    let s = ctx
        .submit_signal(&SignalSubmit::new(qs[0]).with_work(Work::Hang))
        .expect("signal");
    let w = ctx
        .submit_wait(&WaitSubmit::new(qs[qs.len() - 1], &[s.seq]))
        .expect("wait")
        .seq()
        .expect("a wait CS");
    let Lookup::Fence(fence) = ctx.lookup(w) else {
        panic!("the wait CS is in the ring");
    };
    drop(d);
    assert_eq!(fence.wait(), Outcome::Aborted);
    // The wait ioctl refuses a device that is gone.
    assert_eq!(
        ctx.wait_cs(w, LONG, None),
        Err(CsWaitError::DeviceNotOperational)
    );
}

// §5 signal and wait CSs keep the default CS rules: refused with -EBUSY while the device is not
// operational, before anything else.
fn not_operational_refuses_sync_cs<A: Asic>() {
    let (d, ctx) = device::<A>();
    d.mark_needs_reset();
    let q = completing_queue::<A>();
    assert_eq!(
        ctx.submit_signal(&SignalSubmit::new(q)),
        Err(SubmitError::DeviceNotOperational)
    );
    assert_eq!(
        ctx.submit_wait(&WaitSubmit::new(q, &[1])),
        Err(SubmitError::DeviceNotOperational)
    );
    assert_eq!(
        ctx.reserve_signals(q, 1),
        Err(SubmitError::DeviceNotOperational)
    );
    d.reset();
}

// A default CS still goes through the default path untouched by §5.
fn default_cs_unchanged<A: Asic>() {
    let (d, ctx) = device::<A>();
    let q = completing_queue::<A>();
    let seq = ctx
        .submit(&CsSubmit::new(&[Job::new(q)]))
        .expect("default CS");
    d.run_until_idle();
    assert_eq!(ctx.wait_cs(seq, POLL, None), completed());
    assert!(d.sync_stats().is_baseline());
}

// §5: a chain of signal/wait CSs across two queues runs its steps one after the other: each
// step's signal runs only once the wait before it fired, so the chain takes at least the sum
// of its steps' engine times, with one host wait at the end.
fn chain_runs_step_after_step<A: Asic>() {
    let Some((d, ctx)) = sync_device::<A>(|_| {}) else {
        return;
    };
    let qs = sync_queues::<A>();
    let engine = |id| A::queue(id).and_then(|p| p.engine);
    let qb = *qs
        .iter()
        .find(|&&q| engine(q) != engine(qs[0]))
        .expect("two engines with sync-stream queues");
    let q = [qs[0], qb];
    let step = Duration::from_micros(100);
    const N: usize = 16;
    let mut last = 0;
    for i in 0..N {
        let s = ctx
            .submit_signal(&SignalSubmit::new(q[i % 2]).with_work(Work::Run(step)))
            .expect("signal");
        last = s.seq;
        if i + 1 < N {
            ctx.submit_wait(&WaitSubmit::new(q[(i + 1) % 2], &[s.seq]))
                .expect("wait");
        }
    }
    assert_eq!(ctx.wait_cs(last, LONG, None), completed());
    // Virtual time, so exact: the steps neither overlap nor wait for more than their fences.
    let done = d.now().as_nanos();
    assert!(
        (N as u64 * 100_000..=N as u64 * 100_000 + 100_000).contains(&done),
        "a chain of {N} steps of 100 µs done at {done} ns"
    );
    d.run_until_idle();
    assert!(d.sync_stats().is_baseline());
}

/// The generation has staged submissions; if not, check they are refused as the driver
/// refuses them (`-EPERM`, before anything is used) and return `false`.
fn has_staged<A: Asic>() -> bool {
    if A::FEATURES.staged_submission {
        return true;
    }
    let (_d, ctx) = device::<A>();
    let jobs = [Job::new(completing_queue::<A>())];
    let e = ctx
        .submit_staged(&StagedSubmit::first(CsSubmit::new(&jobs)))
        .expect_err("no staged submission");
    assert_eq!(e, SubmitError::StagedNotSupported);
    assert_eq!(e.errno(), -1);
    assert_eq!(ctx.next_seq(), 1);
    assert_eq!(ctx.counters().total(), 0);
    false
}

fn staged_cs(q: u32, work: Work) -> [Job; 1] {
    [Job::new(q).with_work(work)]
}

// §5 staged submission: every CS of it returns the staged seq (the first's); only the last
// reports completion, and every CS is released with it, so the first CS (whose own job was
// done long before) completes only when the last does.
fn staged_submission_completes_as_one<A: Asic>() {
    if !has_staged::<A>() {
        return;
    }
    let (d, ctx) = device::<A>();
    let q = completing_queue::<A>();
    let (a, b, c) = (
        staged_cs(q, Work::Run(Duration::ZERO)),
        staged_cs(q, Work::Run(Duration::ZERO)),
        staged_cs(q, Work::Run(Duration::from_millis(5))),
    );
    let first = ctx
        .submit_staged(&StagedSubmit::first(CsSubmit::new(&a)))
        .expect("first");
    assert_eq!(first.seq, first.cs_seq);
    let mid = ctx
        .submit_staged(&StagedSubmit::next(CsSubmit::new(&b), first.seq))
        .expect("middle");
    let last = ctx
        .submit_staged(&StagedSubmit::next(CsSubmit::new(&c), first.seq).last())
        .expect("last");
    assert_eq!((mid.seq, last.seq), (first.seq, first.seq));
    assert_eq!((mid.cs_seq, last.cs_seq), (2, 3));
    d.advance(Duration::from_millis(1));
    assert_eq!(ctx.wait_cs(first.seq, POLL, None), Ok(WaitStatus::Busy));
    assert_eq!(ctx.wait_cs(mid.cs_seq, POLL, None), Ok(WaitStatus::Busy));
    assert_eq!(ctx.wait_cs(first.seq, LONG, None), completed());
    for seq in [mid.cs_seq, last.cs_seq] {
        assert_eq!(ctx.wait_cs(seq, POLL, None), completed());
    }
    assert_eq!(d.stats().completed, 3);
    assert_eq!(d.stats().in_flight, 0);
    // Every queue of every CS moved on.
    let hq = d.queue(q).expect("queue");
    assert_eq!(hq.pi(), hq.ci());
}

// §5 staged submission: only the last CS needs completion, so only it reserves CQ entries
// (cs_needs_completion); the others give their queue space back with it.
fn staged_only_the_last_reserves_cq_entries<A: Asic>() {
    if !has_staged::<A>() {
        return;
    }
    let Some(((q, cq), _)) = two_external::<A>() else {
        return;
    };
    let (d, ctx) = device::<A>();
    let free = d.completion_queue_free(cq).expect("cq");
    let jobs = staged_cs(q, Work::Run(Duration::from_millis(1)));
    let first = ctx
        .submit_staged(&StagedSubmit::first(CsSubmit::new(&jobs)))
        .expect("first");
    ctx.submit_staged(&StagedSubmit::next(CsSubmit::new(&jobs), first.seq))
        .expect("middle");
    assert_eq!(d.completion_queue_free(cq), Some(free), "no CQ entry yet");
    ctx.submit_staged(&StagedSubmit::next(CsSubmit::new(&jobs), first.seq).last())
        .expect("last");
    assert_eq!(d.completion_queue_free(cq), Some(free - 1));
    d.run_until_idle();
    assert_eq!(d.completion_queue_free(cq), Some(free));
    let hq = d.queue(q).expect("queue");
    assert_eq!(hq.pi(), hq.ci());
}

// §5 staged submission: only the first CS is timed (cs_needs_timeout): its TDR, armed when it
// heads the mirror list, covers the whole submission; a later CS that hangs is timed out by it.
fn staged_only_the_first_is_timed<A: Asic>() {
    if !has_staged::<A>() {
        return;
    }
    let (d, ctx) = device::<A>();
    let q = completing_queue::<A>();
    let (ok, hang) = (
        staged_cs(q, Work::Run(Duration::ZERO)),
        staged_cs(q, Work::Hang),
    );
    let t = Duration::from_millis(50);
    let first = ctx
        .submit_staged(&StagedSubmit::first(CsSubmit::new(&ok).with_timeout(t)))
        .expect("first");
    ctx.submit_staged(&StagedSubmit::next(
        CsSubmit::new(&hang).with_timeout(Duration::from_millis(1)),
        first.seq,
    ))
    .expect("middle (its own timeout does not count)");
    let last = ctx
        .submit_staged(&StagedSubmit::next(CsSubmit::new(&ok), first.seq).last())
        .expect("last");
    d.advance(Duration::ZERO);
    assert_eq!(d.armed_tdr().map(|(seq, _)| seq), Some(first.seq));
    d.advance(Duration::from_millis(10));
    assert_eq!(
        d.stats().tdr_fired,
        0,
        "the middle CS's 1 ms does not count"
    );
    assert_eq!(
        ctx.wait_cs(first.seq, LONG, None),
        Err(CsWaitError::TimedOut { seq: first.seq })
    );
    assert!(d.now().as_nanos() >= 50_000_000);
    assert!(ctx.wait_cs(last.cs_seq, LONG, None).is_err());
    assert_eq!(d.stats().in_flight, 0);
}

// §5 staged submission: a later CS whose first CS is not in flight (never was, is not a staged
// first, or was released) gets -EINVAL and has used up its seq; so does one that comes after
// the last (a stray last).
fn staged_needs_its_first_and_one_last<A: Asic>() {
    if !has_staged::<A>() {
        return;
    }
    let (d, ctx) = device::<A>();
    let q = completing_queue::<A>();
    let jobs = staged_cs(q, Work::Run(Duration::from_millis(1)));
    let cs = CsSubmit::new(&jobs);
    // Without a first.
    let e = ctx
        .submit_staged(&StagedSubmit::next(cs, 7).last())
        .expect_err("no first");
    assert_eq!(
        e,
        SubmitError::StagedFirstNotFound {
            seq: 1,
            staged_seq: 7
        }
    );
    assert_eq!((e.errno(), e.consumed_seq()), (-22, Some(1)));
    assert_eq!(
        ctx.wait_cs(1, POLL, None),
        completed(),
        "released not submitted"
    );
    // A default CS is no staged first.
    let plain = ctx.submit(&cs).expect("default CS");
    assert_eq!(
        ctx.submit_staged(&StagedSubmit::next(cs, plain)),
        Err(SubmitError::StagedFirstNotFound {
            seq: plain + 1,
            staged_seq: plain
        })
    );
    // One last only.
    let first = ctx.submit_staged(&StagedSubmit::first(cs)).expect("first");
    ctx.submit_staged(&StagedSubmit::next(cs, first.seq).last())
        .expect("last");
    let stray = ctx.next_seq();
    assert_eq!(
        ctx.submit_staged(&StagedSubmit::next(cs, first.seq).last()),
        Err(SubmitError::StagedAlreadyLast {
            seq: stray,
            staged_seq: first.seq
        })
    );
    d.run_until_idle();
    // Released with its last: its first is no longer in flight.
    let late = ctx.next_seq();
    assert_eq!(
        ctx.submit_staged(&StagedSubmit::next(cs, first.seq).last()),
        Err(SubmitError::StagedFirstNotFound {
            seq: late,
            staged_seq: first.seq
        })
    );
    assert_eq!(ctx.counters().total(), 0, "no drop counter for these");
    d.run_until_idle();
    assert_eq!(d.stats().in_flight, 0);
}

// §2.6 with §5: a reset in the middle of a staged submission aborts every CS of it, and the
// submission cannot be continued.
fn staged_reset_in_the_middle<A: Asic>() {
    if !has_staged::<A>() {
        return;
    }
    let (d, ctx) = device::<A>();
    let q = completing_queue::<A>();
    let jobs = staged_cs(q, Work::Run(Duration::ZERO));
    let cs = CsSubmit::new(&jobs);
    let first = ctx.submit_staged(&StagedSubmit::first(cs)).expect("first");
    let mid = ctx
        .submit_staged(&StagedSubmit::next(cs, first.seq))
        .expect("middle");
    // (Left alone, the unfinished submission would be timed out by its first CS's TDR.)
    d.advance(Duration::from_millis(1));
    assert_eq!(ctx.wait_cs(first.seq, POLL, None), Ok(WaitStatus::Busy));
    d.reset();
    for seq in [first.seq, mid.cs_seq] {
        assert_eq!(
            ctx.wait_cs(seq, POLL, None),
            Err(CsWaitError::Aborted { seq })
        );
    }
    assert!(matches!(
        ctx.submit_staged(&StagedSubmit::next(cs, first.seq).last()),
        Err(SubmitError::StagedFirstNotFound { .. })
    ));
    let hq = d.queue(q).expect("queue");
    assert_eq!((hq.pi(), hq.ci()), (0, 0));
}

// §5 encapsulated signals: ENCAP_SIGNALS on a staged first CS binds a reservation to the staged
// seq (the handle leaves the context's handles; an unknown handle is -EINVAL before a seq is
// taken); a wait on it waits for pre_sob_val + offset - 1 (offset 0 as 1), an offset past the
// count is -EINVAL, and a seq with no bound reservation creates no CS.
fn encapsulated_signals<A: Asic>() {
    if !has_staged::<A>() || !has_sync_stream::<A>() {
        return;
    }
    let (d, ctx) = device::<A>();
    let qs = sync_queues::<A>();
    let (q, qw) = (qs[0], qs[qs.len() - 1]);
    let r = ctx.reserve_signals(q, 4).expect("reserve");
    let jobs = staged_cs(q, Work::Run(Duration::from_millis(2)));
    let cs = CsSubmit::new(&jobs);
    assert_eq!(
        ctx.submit_staged(&StagedSubmit::first(cs).with_encaps_signals(r.handle + 1)),
        Err(SubmitError::NoSuchReservation {
            handle: r.handle + 1
        })
    );
    assert_eq!(ctx.next_seq(), 1, "refused before allocate_cs");
    let first = ctx
        .submit_staged(&StagedSubmit::first(cs).with_encaps_signals(r.handle))
        .expect("first");
    assert_eq!(
        ctx.unreserve_signals(r.handle),
        Err(SubmitError::NoSuchReservation { handle: r.handle }),
        "bound to the submission"
    );
    assert_eq!(
        ctx.submit_encaps_wait(&EncapsWaitSubmit::new(qw, first.seq, 5)),
        Err(SubmitError::EncapsOffset {
            offset: 5,
            count: 4
        })
    );
    let waits: Vec<u64> = [0, 1, 4]
        .iter()
        .map(|&offset| {
            ctx.submit_encaps_wait(&EncapsWaitSubmit::new(qw, first.seq, offset))
                .expect("encaps wait")
                .seq()
                .expect("a wait CS")
        })
        .collect();
    // No reservation is bound to a plain CS's seq: nothing to wait for.
    let plain = submit_one(&ctx, q, Work::Run(Duration::ZERO));
    assert_eq!(
        ctx.submit_encaps_wait(&EncapsWaitSubmit::new(qw, plain, 1)),
        Ok(WaitCs::SignalDone { consumed_seq: None })
    );
    ctx.submit_staged(&StagedSubmit::next(cs, first.seq).last())
        .expect("last");
    d.advance(Duration::from_millis(1));
    assert_eq!(ctx.wait_cs(waits[0], POLL, None), Ok(WaitStatus::Busy));
    for w in waits {
        assert_eq!(ctx.wait_cs(w, LONG, None), completed());
    }
    assert_eq!(ctx.wait_cs(first.seq, POLL, None), completed());
    d.run_until_idle();
    assert!(d.sync_stats().is_baseline(), "{:?}", d.sync_stats());
    // Once the submission is done, there is nothing to wait for.
    assert_eq!(
        ctx.submit_encaps_wait(&EncapsWaitSubmit::new(qw, first.seq, 1)),
        Ok(WaitCs::SignalDone { consumed_seq: None })
    );
}

for_each_asic!(
    reserved_sobs_and_monitor_per_queue,
    signal_needs_a_sync_stream_queue,
    signal_takes_the_next_sob_value,
    wait_completes_after_its_signal,
    wait_holds_its_queue,
    wait_on_a_done_or_gone_signal_creates_no_cs,
    wait_takes_exactly_one_signal_seq,
    wait_on_a_bad_seq_is_invalid,
    sob_wraps_to_the_other_sob,
    wait_across_a_sob_switch,
    reserve_signals_limits,
    unreserve_signals_rules,
    collective_wait_rules,
    multi_cs_wait_on_signal_and_wait,
    reset_in_the_middle_of_a_chain,
    hung_signal_times_out_the_chain,
    close_with_waits_pending,
    device_drop_with_waits_pending,
    not_operational_refuses_sync_cs,
    default_cs_unchanged,
    chain_runs_step_after_step,
    staged_submission_completes_as_one,
    staged_only_the_last_reserves_cq_entries,
    staged_only_the_first_is_timed,
    staged_needs_its_first_and_one_last,
    staged_reset_in_the_middle,
    encapsulated_signals,
);
