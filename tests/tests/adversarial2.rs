//! Adversarial tests, second round: the outcome store (§2.4 step 10, §4), the completion
//! interrupt (`Started::Running` + `Device::job_done`, §2.3) and stopped engines (`Runner::stop`,
//! "Where the runtime differs on purpose"), written from `docs/driver-semantics.md` and the
//! public docs only. Every test body runs on a thread of its own with a generous limit, so a hang
//! is a failure, not a stuck run; there are no timing assertions.
//!
//! `JobId` cannot be forged from safe code: its field is `pub(crate)` and it derives no
//! `Default` nor any `From`, so `asicgen_runtime::JobId(7)` fails with E0423 ("cannot initialize
//! a tuple struct which contains private fields"). The only ids a user sees come from the driver
//! (`JobStart::id`, handed to a backend); `backend_ids_of_jobs_not_running_are_refused` checks
//! that such ids cannot end jobs that are not `Started::Running`.

mod common;

use asicgen_generated::example::Example;
use asicgen_generated::goya::Goya;
use asicgen_runtime::asic::{Asic, CsEvent};
use asicgen_runtime::scripted::Step;
use asicgen_runtime::{
    ClockMode, Context, CsSubmit, CsWaitError, Device, DeviceConfig, Engines, Job, JobDoneError,
    JobEnd, JobId, JobStart, Lookup, MultiWaitStatus, Outcome, Runner, RunnerError, Started,
    SubmitError, Timestamp, WaitStatus, Work,
};
use common::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::thread;
use std::time::Duration;

/// Only a hang reaches this.
const LIMIT: Duration = Duration::from_secs(60);
/// A bounded "forever" for real-clock waits.
const LONG: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::ZERO;

// Example's queues (generated/review/example.rs).
const PDMA_0_0: u32 = 0;
const PDMA_1_0: u32 = 2;
const TPC_0: u32 = 5;
const TPC_1: u32 = 6;

fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    within_for(LIMIT, f)
}

fn recv<T>(rx: &mpsc::Receiver<T>, what: &str) -> T {
    recv_within(rx, LIMIT, what)
}

/// A real-clock device on the simulated engines with its runner.
fn real<A: Asic>(f: impl FnOnce(&mut DeviceConfig)) -> (Device<A>, Context<A>, Runner) {
    real_device::<A>(Duration::from_micros(20), f)
}

fn one(queue: u32, work: Work) -> [Job; 1] {
    [Job::new(queue).with_work(work)]
}

/// Submit `cs` on `ctx`, retrying while the driver says try again (a full ring or queue);
/// any other refusal fails the test, naming submitter thread `thread` and its CS `n`.
fn submit_retrying<A: Asic>(ctx: &Context<A>, cs: &CsSubmit<'_>, thread: usize, n: u32) -> u64 {
    loop {
        match ctx.submit(cs) {
            Ok(s) => return s,
            Err(e) if e.is_try_again() => thread::yield_now(),
            Err(e) => panic!("thread {thread} cs {n}: {e:?}"),
        }
    }
}

fn poll<A: Asic>(ctx: &Context<A>, seq: u64) -> Result<WaitStatus, CsWaitError> {
    ctx.wait_cs(seq, POLL, None)
}

/// Submit `ctx.ring_len()` quick CSs without timestamps on `queue`, each run to its end, so
/// every seq handed out before is gone from the ring (virtual clock).
fn wrap_ring<A: Asic>(d: &Device<A>, ctx: &Context<A>, queue: u32) {
    let job = one(queue, Work::Run(Duration::from_micros(1)));
    for _ in 0..ctx.ring_len() {
        let s = ctx.submit(&CsSubmit::new(&job)).expect("wrap submit");
        d.advance(Duration::from_micros(5));
        assert!(poll(ctx, s).expect("wrap poll").is_completed());
    }
}

fn completed_ts(r: Result<WaitStatus, CsWaitError>) -> Timestamp {
    match r {
        Ok(WaitStatus::Completed {
            gone: false,
            timestamp: Some(t),
        }) => t,
        other => panic!("expected completed with a timestamp, not gone: {other:?}"),
    }
}

const GONE: Result<WaitStatus, CsWaitError> = Ok(WaitStatus::Completed {
    gone: true,
    timestamp: None,
});

/// The statistics identity once nothing is in flight.
fn assert_settled<A: Asic>(d: &Device<A>) {
    let s = d.stats();
    assert_eq!(s.in_flight, 0, "{s:?}");
    assert_eq!(
        s.submitted,
        s.completed + s.timed_out + s.aborted,
        "every submitted CS ended once: {s:?}"
    );
    assert!(d.busy_engines().is_idle(), "engines idle: {s:?}");
}

// =============================================================================================
// 1. The outcome store (§2.4: hl_push_cs_outcome; §4: hl_wait_for_fence / hl_pop_cs_outcome)
// =============================================================================================

/// A completed, an aborted and a timed-out CS with timestamps, once gone from the ring, are
/// answered with their real outcome exactly once; then they read as gone. A CS without a
/// timestamp is never stored, even when it timed out.
fn store_answers_each_outcome_once<A: Asic>() {
    let (d, ctx) = device_with::<A>(|c| c.tdr_timeout = Some(Duration::from_millis(5)));
    let q = completing_queue::<A>();
    let ts_submit =
        |w: Work| ctx.submit(&CsSubmit::new(&[Job::new(q).with_work(w)]).with_timestamp());
    let run = Work::Run(Duration::from_micros(3));

    // Completed, with its timestamp as seen while in the ring (a ring wait does not pop).
    let done = ts_submit(run).unwrap();
    d.advance(Duration::from_micros(10));
    let t_done = completed_ts(poll(&ctx, done));
    assert_eq!(completed_ts(poll(&ctx, done)), t_done);
    // Aborted by a reset.
    let aborted = ts_submit(Work::Hang).unwrap();
    d.advance(Duration::from_micros(10));
    d.reset();
    assert_eq!(
        poll(&ctx, aborted),
        Err(CsWaitError::Aborted { seq: aborted })
    );
    // Timed out by the TDR (which then resets).
    let timed = ts_submit(Work::Hang).unwrap();
    d.advance(Duration::from_millis(50));
    assert_eq!(poll(&ctx, timed), Err(CsWaitError::TimedOut { seq: timed }));
    // The same three without timestamps.
    let plain_done = ctx.submit(&CsSubmit::new(&one(q, run))).unwrap();
    d.advance(Duration::from_micros(10));
    let plain_timed = ctx.submit(&CsSubmit::new(&one(q, Work::Hang))).unwrap();
    d.advance(Duration::from_millis(50));
    assert_eq!(
        poll(&ctx, plain_timed),
        Err(CsWaitError::TimedOut { seq: plain_timed })
    );
    let plain_aborted = ctx.submit(&CsSubmit::new(&one(q, Work::Hang))).unwrap();
    d.advance(Duration::from_micros(10));
    d.reset();

    wrap_ring(&d, &ctx, q);
    for s in [done, aborted, timed, plain_done, plain_timed, plain_aborted] {
        assert!(
            matches!(ctx.lookup(s), Lookup::Gone),
            "seq {s} left the ring"
        );
    }
    // A lookup does not consume the stored outcome.
    assert_eq!(completed_ts(poll(&ctx, done)), t_done, "stored completion");
    assert_eq!(poll(&ctx, done), GONE, "popped once");
    assert_eq!(
        poll(&ctx, aborted),
        Err(CsWaitError::Aborted { seq: aborted })
    );
    assert_eq!(poll(&ctx, aborted), GONE);
    // A sleeping wait on a stored seq answers at once too.
    assert_eq!(
        ctx.wait_cs(timed, Duration::from_secs(1), None),
        Err(CsWaitError::TimedOut { seq: timed })
    );
    assert_eq!(ctx.wait_cs(timed, Duration::from_secs(1), None), GONE);
    for s in [plain_done, plain_timed, plain_aborted] {
        assert_eq!(
            poll(&ctx, s),
            GONE,
            "seq {s} had no timestamp: never stored"
        );
    }
    assert_settled(&d);
}

/// The store keeps the newest 256 outcomes: with 300 stored, the first 44 read as gone and the
/// other 256 are answered, each once.
fn store_keeps_the_newest_256<A: Asic>() {
    let (d, ctx) = device::<A>();
    let q = completing_queue::<A>();
    let job = one(q, Work::Run(Duration::from_micros(1)));
    let mut stamps = Vec::new();
    for _ in 0..300 {
        let s = ctx
            .submit(&CsSubmit::new(&job).with_timestamp())
            .expect("submit");
        d.advance(Duration::from_micros(5));
        stamps.push((s, completed_ts(poll(&ctx, s))));
    }
    wrap_ring(&d, &ctx, q);
    // Newest first, so that a pop cannot make room for an older entry.
    for &(s, t) in stamps.iter().rev() {
        if s > 44 {
            assert_eq!(
                completed_ts(poll(&ctx, s)),
                t,
                "seq {s} is among the newest 256"
            );
        } else {
            assert_eq!(poll(&ctx, s), GONE, "seq {s} was dropped, oldest first");
        }
    }
    for &(s, _) in &stamps {
        assert_eq!(poll(&ctx, s), GONE, "seq {s}: answered once");
    }
}

for_each_asic!(store_answers_each_outcome_once, store_keeps_the_newest_256);

/// Two threads wait on the same stored seq at once: exactly one gets the outcome.
#[test]
fn store_pop_is_exactly_once_under_concurrency() {
    within(|| {
        for round in 0..20 {
            let (d, ctx) = device::<Example>();
            let s = ctx
                .submit(&CsSubmit::new(&one(TPC_0, Work::Hang)).with_timestamp())
                .unwrap();
            d.advance(Duration::from_micros(5));
            d.reset();
            wrap_ring(&d, &ctx, TPC_0);
            let ctx = Arc::new(ctx);
            let b = Arc::new(Barrier::new(4));
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    let (c, b) = (Arc::clone(&ctx), Arc::clone(&b));
                    thread::spawn(move || {
                        b.wait();
                        c.wait_cs(s, POLL, None)
                    })
                })
                .collect();
            let rs: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
            let real = rs
                .iter()
                .filter(|r| **r == Err(CsWaitError::Aborted { seq: s }))
                .count();
            let gone = rs.iter().filter(|r| **r == GONE).count();
            assert_eq!((real, gone), (1, 3), "round {round}: {rs:?}");
        }
    });
}

/// Contexts have their own stores: the same seq in two contexts keeps two outcomes, and one
/// context filling its store does not evict the other's.
#[test]
fn stores_are_per_context() {
    within(|| {
        let (d, a) = device_with::<Example>(|c| c.contexts = 2);
        let b = d.open().unwrap();
        let sa = a
            .submit(&CsSubmit::new(&one(TPC_0, Work::Hang)).with_timestamp())
            .unwrap();
        d.advance(Duration::from_micros(5));
        d.reset(); // a's seq 1 aborted
        let sb = b
            .submit(
                &CsSubmit::new(&one(TPC_1, Work::Run(Duration::from_micros(1)))).with_timestamp(),
            )
            .unwrap();
        d.advance(Duration::from_micros(50));
        assert_eq!(sa, sb);
        let tb = completed_ts(poll(&b, sb));
        // a fills its store with 300 more entries.
        for _ in 0..300 {
            a.submit(
                &CsSubmit::new(&one(TPC_0, Work::Run(Duration::from_micros(1)))).with_timestamp(),
            )
            .unwrap();
            d.advance(Duration::from_micros(5));
        }
        wrap_ring(&d, &b, TPC_1);
        assert_eq!(completed_ts(poll(&b, sb)), tb, "b's own outcome, not a's");
        assert_eq!(poll(&b, sb), GONE);
        // a's seq 1 was evicted from a's store by a's own 300 entries.
        assert_eq!(poll(&a, sa), GONE);
    });
}

/// Closing a context and opening a new one in its slot: the old context's outcomes (including
/// the one its close aborted) must not answer the new context's seqs.
#[test]
fn reopened_context_sees_no_old_outcomes() {
    within(|| {
        let (d, old) = device::<Example>();
        let mut seqs = Vec::new();
        for _ in 0..5 {
            let s = old
                .submit(
                    &CsSubmit::new(&one(TPC_0, Work::Run(Duration::from_micros(1))))
                        .with_timestamp(),
                )
                .unwrap();
            d.advance(Duration::from_micros(5));
            seqs.push(s);
        }
        wrap_ring(&d, &old, TPC_0);
        // In flight at close: aborted by hl_ctx_fini, with a timestamp.
        let pending = old
            .submit(&CsSubmit::new(&one(TPC_1, Work::Hang)).with_timestamp())
            .unwrap();
        let fence = match old.lookup(pending) {
            Lookup::Fence(f) => f,
            other => panic!("{other:?}"),
        };
        old.close();
        assert_eq!(fence.poll(), Some(Outcome::Aborted));
        drop(fence);
        let new = d.open().expect("the slot is free again");
        assert_eq!(new.next_seq(), 1);
        for _ in 0..3 {
            wrap_ring(&d, &new, PDMA_0_0);
        }
        for s in seqs.iter().copied().chain([pending]) {
            assert_eq!(poll(&new, s), GONE, "seq {s} belongs to the closed context");
        }
        d.reset();
        assert_settled(&d);
    });
}

/// `wait_multi` does not consult the store (documented difference): a stored seq reads as gone
/// there, and stays stored for `wait_cs`. Mixed with a seq still in the ring; never panics.
#[test]
fn wait_multi_leaves_the_store_alone() {
    within(|| {
        let (d, ctx) = device::<Example>();
        let stored = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Hang)).with_timestamp())
            .unwrap();
        d.advance(Duration::from_micros(5));
        d.reset();
        let done = ctx
            .submit(
                &CsSubmit::new(&one(TPC_0, Work::Run(Duration::from_micros(1)))).with_timestamp(),
            )
            .unwrap();
        d.advance(Duration::from_micros(5));
        let t_done = completed_ts(poll(&ctx, done));
        wrap_ring(&d, &ctx, TPC_1);
        let recent = ctx
            .submit(
                &CsSubmit::new(&one(TPC_1, Work::Run(Duration::from_micros(1)))).with_timestamp(),
            )
            .unwrap();
        d.advance(Duration::from_micros(5));
        let t_recent = completed_ts(poll(&ctx, recent));

        let r = ctx.wait_multi(&[stored, done, recent], POLL, None);
        match r {
            Ok(MultiWaitStatus::Completed { bitmap, gone, .. }) => {
                assert_eq!(bitmap, 0b111, "{r:?}");
                assert!(gone, "{r:?}");
            }
            other => panic!("{other:?}"),
        }
        let r = ctx.wait_multi(&[recent], POLL, None);
        assert_eq!(
            r,
            Ok(MultiWaitStatus::Completed {
                bitmap: 1,
                timestamp: Some(t_recent),
                gone: false
            })
        );
        // Still stored for the single wait, each once.
        assert_eq!(
            poll(&ctx, stored),
            Err(CsWaitError::Aborted { seq: stored })
        );
        assert_eq!(completed_ts(poll(&ctx, done)), t_done);
        assert_eq!(poll(&ctx, stored), GONE);
        assert_eq!(poll(&ctx, done), GONE);
        // And the multi wait on them afterwards is unchanged.
        assert!(matches!(
            ctx.wait_multi(&[stored, done], POLL, None),
            Ok(MultiWaitStatus::Completed {
                bitmap: 0b11,
                gone: true,
                ..
            })
        ));
    });
}

/// A CS that failed after taking its seq (not submitted) with a timestamp is completed to its
/// waiter in the ring and after it left the ring; asked twice, the second answer is gone.
#[test]
fn not_submitted_cs_with_timestamp() {
    within(|| {
        let (d, ctx) = device::<Example>();
        let err = ctx
            .submit(&CsSubmit::new(&[Job::new(TPC_0), Job::new(9999)]).with_timestamp())
            .unwrap_err();
        let s = err.consumed_seq().expect("seq used up");
        let in_ring = poll(&ctx, s);
        assert!(
            matches!(in_ring, Ok(WaitStatus::Completed { gone: false, .. })),
            "{in_ring:?}"
        );
        wrap_ring(&d, &ctx, TPC_0);
        let first = poll(&ctx, s);
        assert!(
            matches!(first, Ok(WaitStatus::Completed { .. })),
            "{first:?}"
        );
        assert_eq!(poll(&ctx, s), GONE);
    });
}

// =============================================================================================
// 2. The completion interrupt (§2.3; Started::Running + Device::job_done)
// =============================================================================================

/// 48 CSs of one reported job each, reported from 8 threads at once: all Ok, all complete.
#[test]
fn reports_from_many_threads() {
    within(|| {
        let steps = vec![Step::Report; 48];
        let (d, ctx, running) = scripted::<Example>(&steps, |c| c.tdr_timeout = None);
        let qs = [PDMA_0_0, PDMA_1_0, TPC_0, TPC_1];
        let seqs: Vec<u64> = (0..48)
            .map(|i| ctx.submit(&CsSubmit::new(&[Job::new(qs[i % 4])])).unwrap())
            .collect();
        let ids = running.take();
        assert_eq!(ids.len(), 48);
        let ids = Arc::new(ids);
        let b = Arc::new(Barrier::new(8));
        let hs: Vec<_> = (0..8)
            .map(|t| {
                let (d, ids, b) = (d.clone(), Arc::clone(&ids), Arc::clone(&b));
                thread::spawn(move || {
                    b.wait();
                    for id in ids.iter().skip(t).step_by(8) {
                        d.job_done(*id, JobEnd::Complete).expect("first report");
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        for s in seqs {
            assert!(poll(&ctx, s).unwrap().is_completed(), "seq {s}");
        }
        assert_eq!(d.stats().completed, 48);
        assert_settled(&d);
    });
}

/// The same id reported by two threads at once: exactly one report is taken. Mixed ends
/// (Complete against Fault): the CS ends as the winner says.
#[test]
fn same_id_reported_twice_concurrently() {
    within(|| {
        let rounds = 100;
        let steps = vec![Step::Report; rounds];
        let (d, ctx, running) = scripted::<Example>(&steps, |c| c.tdr_timeout = None);
        for round in 0..rounds {
            let s = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
            let id = running.take()[0];
            let b = Arc::new(Barrier::new(2));
            let ends = if round % 2 == 0 {
                [JobEnd::Complete, JobEnd::Complete]
            } else {
                [JobEnd::Complete, JobEnd::Fault]
            };
            let hs: Vec<_> = ends
                .into_iter()
                .map(|end| {
                    let (d, b) = (d.clone(), Arc::clone(&b));
                    thread::spawn(move || {
                        b.wait();
                        (end, d.job_done(id, end))
                    })
                })
                .collect();
            let rs: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
            let oks: Vec<_> = rs.iter().filter(|(_, r)| r.is_ok()).collect();
            assert_eq!(oks.len(), 1, "round {round}: {rs:?}");
            for (_, r) in &rs {
                if let Err(e) = r {
                    assert_eq!(*e, JobDoneError::UnknownJob(id));
                }
            }
            let out = poll(&ctx, s);
            match oks[0].0 {
                JobEnd::Complete => assert!(out.unwrap().is_completed(), "round {round}"),
                _ => assert_eq!(out, Err(CsWaitError::Aborted { seq: s }), "round {round}"),
            }
        }
        let st = d.stats();
        assert_eq!(st.completed + st.aborted, rounds as u64, "{st:?}");
        assert_eq!(st.engine_faults, st.aborted, "{st:?}");
        assert_settled(&d);
    });
}

/// A report after its context was closed is not taken for the next CS in the same slot (a new
/// context reuses the slot, the record and the seq).
#[test]
fn report_after_context_close_does_not_touch_the_next_context() {
    within(|| {
        let (d, ctx, running) =
            scripted::<Example>(&[Step::Report, Step::Report], |c| c.tdr_timeout = None);
        let s_old = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
        let old_id = running.take()[0];
        ctx.close();
        let new = d.open().unwrap();
        let s_new = new.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
        assert_eq!(s_old, s_new);
        let new_id = running.take()[0];
        assert_ne!(old_id, new_id, "ids are never reused");
        let r = d.job_done(old_id, JobEnd::Complete);
        assert_eq!(
            poll(&new, s_new),
            Ok(WaitStatus::Busy),
            "the stale report ({r:?}) must not complete the new context's CS"
        );
        let r = d.job_done(old_id, JobEnd::Fault);
        assert_eq!(
            r,
            Err(JobDoneError::UnknownJob(old_id)),
            "a second report of one id is refused"
        );
        assert_eq!(poll(&new, s_new), Ok(WaitStatus::Busy));
        d.job_done(new_id, JobEnd::Complete).expect("the new job");
        assert!(poll(&new, s_new).unwrap().is_completed());
        let st = d.stats();
        assert_eq!(st.aborted + st.completed, 2, "{st:?}");
        assert_settled(&d);
    });
}

/// Reports through a clone after the original handle was dropped work; once the last handle is
/// gone, waiters on the context return and a later device knows nothing of the old ids.
#[test]
fn reports_across_device_handles() {
    within(|| {
        let (d, ctx, running) =
            scripted::<Example>(&[Step::Report, Step::Report], |c| c.tdr_timeout = None);
        let s1 = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
        let d2 = d.clone();
        drop(d);
        let id1 = running.take()[0];
        d2.job_done(id1, JobEnd::Complete)
            .expect("through the clone");
        assert!(poll(&ctx, s1).unwrap().is_completed());
        let s2 = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
        let id2 = running.take()[0];
        let fence = match ctx.lookup(s2) {
            Lookup::Fence(f) => f,
            other => panic!("{other:?}"),
        };
        let ctx = Arc::new(ctx);
        let c = Arc::clone(&ctx);
        let rx = spawn_waiter(move || fence.wait());
        drop(d2); // teardown: everything in flight rolled back
        assert_eq!(recv(&rx, "fence waiter"), Outcome::Aborted);
        let r = ctx.wait_cs(s2, Duration::from_secs(1), None);
        assert!(
            matches!(
                r,
                Err(CsWaitError::DeviceNotOperational) | Err(CsWaitError::Aborted { .. })
            ),
            "{r:?}"
        );
        drop(c);
        // Another device: the old id names nothing there.
        let (d3, ctx3, _r3) = scripted::<Example>(&[], |c| c.tdr_timeout = None);
        let s = ctx3.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
        d3.advance(Duration::from_micros(1));
        assert!(poll(&ctx3, s).unwrap().is_completed());
        assert_eq!(
            d3.job_done(id2, JobEnd::Complete),
            Err(JobDoneError::UnknownJob(id2))
        );
    });
}

/// After a reset halted a job, its report is refused and does not end a later CS.
/// `JobEnd::Hang` is refused and leaves the job running.
#[test]
fn report_after_reset_and_hang_end() {
    within(|| {
        let (d, ctx, running) = scripted::<Example>(&[Step::Report; 3], |c| c.tdr_timeout = None);
        let s1 = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
        let id1 = running.take()[0];
        assert_eq!(d.job_done(id1, JobEnd::Hang), Err(JobDoneError::NotAnEnd));
        assert_eq!(poll(&ctx, s1), Ok(WaitStatus::Busy));
        d.reset();
        assert_eq!(poll(&ctx, s1), Err(CsWaitError::Aborted { seq: s1 }));
        assert_eq!(
            d.job_done(id1, JobEnd::Complete),
            Err(JobDoneError::UnknownJob(id1))
        );
        let s2 = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
        let id2 = running.take()[0];
        assert_eq!(
            d.job_done(id1, JobEnd::Fault),
            Err(JobDoneError::UnknownJob(id1))
        );
        assert_eq!(d.job_done(id2, JobEnd::Hang), Err(JobDoneError::NotAnEnd));
        assert_eq!(poll(&ctx, s2), Ok(WaitStatus::Busy));
        d.job_done(id2, JobEnd::Complete).unwrap();
        assert!(poll(&ctx, s2).unwrap().is_completed());
        assert_eq!(d.stats().resets, 1);
        assert_settled(&d);
    });
}

/// Reports racing resets: a report that was taken completed its (single-job) CS; a refused one
/// means a reset aborted it. Nothing stays in flight.
#[test]
fn reports_racing_resets() {
    within(|| {
        let n = 400;
        let (d, ctx, running) =
            scripted::<Example>(&vec![Step::Report; n], |c| c.tdr_timeout = None);
        let stop = Arc::new(AtomicBool::new(false));
        let resetter = {
            let (d, stop) = (d.clone(), Arc::clone(&stop));
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    d.reset();
                    thread::yield_now();
                }
            })
        };
        let mut taken = 0;
        for i in 0..n {
            let s = loop {
                match ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])) {
                    Ok(s) => break Some(s),
                    Err(SubmitError::DeviceNotOperational) => thread::yield_now(),
                    Err(SubmitError::DeviceInReset { .. }) => break None,
                    Err(e) => panic!("{e:?}"),
                }
            };
            let Some(s) = s else { continue };
            let ids = running.take();
            assert_eq!(ids.len(), 1, "cs {i}");
            let r = d.job_done(ids[0], JobEnd::Complete);
            let out = poll(&ctx, s);
            match r {
                Ok(()) => {
                    taken += 1;
                    assert!(
                        matches!(out, Ok(WaitStatus::Completed { .. })),
                        "report taken, yet {out:?}"
                    );
                }
                Err(e) => {
                    assert_eq!(e, JobDoneError::UnknownJob(ids[0]));
                    assert_eq!(out, Err(CsWaitError::Aborted { seq: s }));
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        resetter.join().unwrap();
        let st = d.stats();
        assert_eq!(st.completed, taken, "{st:?}");
        assert_settled(&d);
    });
}

/// A backend that records the ids it is given and answers with a fixed `Started`.
struct Recording {
    answer: Started,
    ids: Arc<Mutex<Vec<JobId>>>,
}

impl Engines for Recording {
    fn start(&mut self, job: &JobStart, _now: &mut dyn FnMut() -> u64) -> Started {
        self.ids.lock().unwrap().push(job.id);
        self.answer
    }
    fn reset(&mut self) {}
}

/// Ids a backend saw for jobs it did not answer `Running` for cannot end them.
#[test]
fn backend_ids_of_jobs_not_running_are_refused() {
    within(|| {
        for answer in [
            Started::Hang,
            Started::Stuck,
            Started::Due {
                at: u64::MAX / 2,
                end: JobEnd::Complete,
            },
        ] {
            let ids = Arc::new(Mutex::new(Vec::new()));
            let mut c = DeviceConfig::for_asic::<Example>();
            c.tdr_timeout = None;
            let d = Device::<Example>::with_engines(
                c,
                Recording {
                    answer,
                    ids: Arc::clone(&ids),
                },
            )
            .unwrap();
            let ctx = d.open().unwrap();
            let s = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
            let id = ids.lock().unwrap()[0];
            assert_eq!(
                d.job_done(id, JobEnd::Complete),
                Err(JobDoneError::UnknownJob(id)),
                "{answer:?}"
            );
            assert_eq!(poll(&ctx, s), Ok(WaitStatus::Busy), "{answer:?}");
            d.reset();
            assert_eq!(poll(&ctx, s), Err(CsWaitError::Aborted { seq: s }));
        }
    });
}

/// A backend reporting an earlier job from inside `start` (its own thread, under the submission
/// lock) must not deadlock.
struct Reentrant {
    device: Arc<Mutex<Option<Device<Example>>>>,
    previous: Option<JobId>,
    results: Arc<Mutex<Vec<Result<(), JobDoneError>>>>,
}

impl Engines for Reentrant {
    fn start(&mut self, job: &JobStart, _now: &mut dyn FnMut() -> u64) -> Started {
        if let Some(prev) = self.previous.take() {
            let d = self.device.lock().unwrap().clone();
            if let Some(d) = d {
                self.results
                    .lock()
                    .unwrap()
                    .push(d.job_done(prev, JobEnd::Complete));
            }
        }
        self.previous = Some(job.id);
        Started::Running
    }
    fn reset(&mut self) {}
}

#[test]
fn report_from_inside_start_does_not_deadlock() {
    within_for(Duration::from_secs(20), || {
        let slot = Arc::new(Mutex::new(None));
        let results = Arc::new(Mutex::new(Vec::new()));
        let mut c = DeviceConfig::for_asic::<Example>();
        c.tdr_timeout = None;
        let d = Device::<Example>::with_engines(
            c,
            Reentrant {
                device: Arc::clone(&slot),
                previous: None,
                results: Arc::clone(&results),
            },
        )
        .unwrap();
        *slot.lock().unwrap() = Some(d.clone());
        let ctx = d.open().unwrap();
        let s1 = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
        let s2 = ctx.submit(&CsSubmit::new(&[Job::new(TPC_1)])).unwrap();
        // Refused, as the `Engines` docs say (start runs under the driver's locks), not a
        // deadlock; the job stays running and can be reported from outside.
        assert_eq!(
            *results.lock().unwrap(),
            vec![Err(JobDoneError::InsideEngines)]
        );
        assert_eq!(poll(&ctx, s1), Ok(WaitStatus::Busy));
        assert_eq!(poll(&ctx, s2), Ok(WaitStatus::Busy));
        slot.lock().unwrap().take();
        d.reset();
    });
}

/// A CS mixing a reported job and a timed one completes only once both ended, in either order.
#[test]
fn cs_mixing_reported_and_timed_jobs() {
    within(|| {
        let step_sets = [
            [Step::Report, Step::Complete(Duration::from_millis(1))],
            [Step::Complete(Duration::from_millis(1)), Step::Report],
        ];
        for steps in step_sets {
            for report_first in [false, true] {
                let (d, ctx, running) = scripted::<Example>(&steps, |c| c.tdr_timeout = None);
                let s = ctx
                    .submit(&CsSubmit::new(&[Job::new(TPC_0), Job::new(TPC_1)]).with_timestamp())
                    .unwrap();
                let ids = running.take();
                assert_eq!(ids.len(), 1);
                if report_first {
                    d.job_done(ids[0], JobEnd::Complete).unwrap();
                    assert_eq!(poll(&ctx, s), Ok(WaitStatus::Busy));
                    d.advance(Duration::from_millis(2));
                } else {
                    d.advance(Duration::from_millis(2));
                    assert_eq!(poll(&ctx, s), Ok(WaitStatus::Busy));
                    assert!(d.busy_engines().iter().count() >= 1);
                    d.job_done(ids[0], JobEnd::Complete).unwrap();
                }
                completed_ts(poll(&ctx, s));
                assert_settled(&d);
            }
        }
    });
}

/// Real clock, a running Runner: waiters sleep in `wait_cs` while another thread reports; a job
/// nobody reports is timed out by the TDR and its late report refused.
#[test]
fn reports_with_real_clock_and_sleeping_waiters() {
    within(|| {
        let n = 40;
        let mut steps = vec![Step::Report; n];
        steps.push(Step::Report);
        let (d, ctx, running) = scripted::<Example>(&steps, |c| {
            c.clock = ClockMode::Real;
            c.sim.poll_spins = 0;
            c.tdr_timeout = Some(Duration::from_secs(2));
        });
        let runner = Runner::start(&d).unwrap();
        let ctx = Arc::new(ctx);
        let qs = [PDMA_0_0, PDMA_1_0, TPC_0, TPC_1];
        let mut rxs = Vec::new();
        for i in 0..n {
            let s = ctx.submit(&CsSubmit::new(&[Job::new(qs[i % 4])])).unwrap();
            let c = Arc::clone(&ctx);
            rxs.push(spawn_waiter(move || c.wait_cs(s, LONG, None)));
        }
        let ids = running.take();
        assert_eq!(ids.len(), n);
        let reporter = {
            let d = d.clone();
            thread::spawn(move || {
                for id in ids {
                    d.job_done(id, JobEnd::Complete).expect("report");
                    thread::sleep(Duration::from_micros(200));
                }
            })
        };
        for rx in &rxs {
            let r = recv(rx, "waiter");
            assert!(matches!(r, Ok(WaitStatus::Completed { .. })), "{r:?}");
        }
        reporter.join().unwrap();
        // Nobody reports this one: TDR (reset on lockup), then the late report is refused.
        let s = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
        let id = running.take()[0];
        assert_eq!(
            ctx.wait_cs(s, LONG, None),
            Err(CsWaitError::TimedOut { seq: s })
        );
        assert_eq!(
            d.job_done(id, JobEnd::Complete),
            Err(JobDoneError::UnknownJob(id))
        );
        runner.stop();
        assert_settled(&d);
        let st = d.stats();
        assert_eq!((st.completed, st.timed_out), (n as u64, 1), "{st:?}");
    });
}

// =============================================================================================
// 3. Engines stopped (Runner::stop / drop; "Where the runtime differs on purpose")
// =============================================================================================

fn quick() -> [Job; 1] {
    one(TPC_0, Work::Run(Duration::from_micros(20)))
}

/// After stop: not operational, submits refused, waits answered (completed, and in-flight ones
/// aborted); a reset does not bring the stopped engines back; a new runner does.
#[test]
fn stopped_engines_refuse_submits_until_restart() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        assert!(d.is_operational());
        let done = ctx
            .submit(&CsSubmit::new(&quick()).with_timestamp())
            .unwrap();
        let t = completed_ts(ctx.wait_cs(done, LONG, None));
        let hung = ctx.submit(&CsSubmit::new(&one(TPC_1, Work::Hang))).unwrap();
        let ctx = Arc::new(ctx);
        let c = Arc::clone(&ctx);
        let rx = spawn_waiter(move || c.wait_cs(hung, LONG, None));
        thread::sleep(Duration::from_millis(10));
        runner.stop();
        assert_eq!(recv(&rx, "waiter"), Err(CsWaitError::Aborted { seq: hung }));
        assert!(!d.is_operational());
        assert_eq!(
            ctx.submit(&CsSubmit::new(&quick())),
            Err(SubmitError::DeviceNotOperational)
        );
        assert_eq!(completed_ts(ctx.wait_cs(done, LONG, None)), t);
        assert_eq!(poll(&ctx, hung), Err(CsWaitError::Aborted { seq: hung }));
        // A reset "takes work again" but the engines are still stopped.
        d.reset();
        let op = d.is_operational();
        let r = ctx.submit(&CsSubmit::new(&quick()));
        assert_eq!(
            op,
            r.is_ok(),
            "is_operational agrees with submit after reset: {r:?}"
        );
        assert_eq!(
            r,
            Err(SubmitError::DeviceNotOperational),
            "a reset does not restart stopped engines"
        );
        // A new runner: works again.
        let runner = Runner::start(&d).unwrap();
        assert!(d.is_operational());
        let s = ctx.submit(&CsSubmit::new(&quick())).unwrap();
        assert!(ctx.wait_cs(s, LONG, None).unwrap().is_completed());
        drop(runner); // dropping stops too
        assert!(!d.is_operational());
        assert_eq!(
            ctx.submit(&CsSubmit::new(&quick())),
            Err(SubmitError::DeviceNotOperational)
        );
        assert_settled(&d);
    });
}

/// mark_needs_reset, stop and start in every order: is_operational agrees with submit.
#[test]
fn is_operational_agrees_with_submit() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let check = |what: &str| {
            let op = d.is_operational();
            let r = ctx.submit(&CsSubmit::new(&quick()));
            assert_eq!(op, r.is_ok(), "{what}: is_operational {op}, submit {r:?}");
            if let Ok(s) = r {
                assert!(ctx.wait_cs(s, LONG, None).unwrap().is_completed(), "{what}");
            }
        };
        check("running");
        d.mark_needs_reset();
        check("needs reset");
        runner.stop();
        check("needs reset, stopped");
        let runner = Runner::start(&d).unwrap();
        check("needs reset, restarted");
        d.reset();
        check("reset, running");
        runner.stop();
        check("stopped");
        d.mark_needs_reset();
        let runner = Runner::start(&d).unwrap();
        check("restarted, needs reset");
        d.reset();
        check("restarted, reset");
        drop(runner);
        check("dropped runner");
        assert_settled(&d);
    });
}

/// A report of a job rolled back by stop does not end the next runner's CS in its slot.
#[test]
fn report_of_a_job_stopped_does_not_end_a_later_cs() {
    within(|| {
        let (d, ctx, running) = scripted::<Example>(&[Step::Report, Step::Report], |c| {
            c.clock = ClockMode::Real;
            c.sim.poll_spins = 0;
            c.tdr_timeout = None;
        });
        let runner = Runner::start(&d).unwrap();
        let s1 = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
        let id1 = running.take()[0];
        runner.stop();
        assert_eq!(poll(&ctx, s1), Err(CsWaitError::Aborted { seq: s1 }));
        let r1 = d.job_done(id1, JobEnd::Complete);
        assert_eq!(r1, Err(JobDoneError::UnknownJob(id1)), "stop halted it");
        let runner = Runner::start(&d).unwrap();
        let s2 = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
        let id2 = running.take()[0];
        let _ = d.job_done(id1, JobEnd::Complete);
        assert_eq!(poll(&ctx, s2), Ok(WaitStatus::Busy));
        d.job_done(id2, JobEnd::Complete).unwrap();
        assert!(ctx.wait_cs(s2, LONG, None).unwrap().is_completed());
        runner.stop();
        assert_settled(&d);
    });
}

/// What a submitter thread saw.
#[derive(Default, Debug)]
struct Tally {
    ok: u64,
    refused: u64,
    dropped: u64,
    stuck: Vec<(u64, Result<WaitStatus, CsWaitError>)>,
}

/// Submit in a loop until `stop`; wait (bounded) on every accepted CS: it must end.
fn submitter(
    ctx: Arc<Context<Example>>,
    queue: u32,
    stop: Arc<AtomicBool>,
    after_stop: Arc<AtomicU64>,
) -> Tally {
    let mut t = Tally::default();
    let job = one(queue, Work::Run(Duration::from_micros(30)));
    while !stop.load(Ordering::Relaxed) {
        match ctx.submit(&CsSubmit::new(&job)) {
            Ok(s) => {
                t.ok += 1;
                let r = ctx.wait_cs(s, LONG, None);
                match r {
                    Ok(WaitStatus::Completed { .. }) | Err(CsWaitError::Aborted { .. }) => {}
                    // The device may be mid-stop when we ask; ask once more.
                    Err(CsWaitError::DeviceNotOperational) => {
                        let r2 = ctx.wait_cs(s, LONG, None);
                        if !matches!(
                            r2,
                            Ok(WaitStatus::Completed { .. })
                                | Err(CsWaitError::Aborted { .. })
                                | Err(CsWaitError::DeviceNotOperational)
                        ) {
                            t.stuck.push((s, r2));
                        }
                    }
                    other => t.stuck.push((s, other)),
                }
            }
            Err(SubmitError::DeviceNotOperational) => {
                t.refused += 1;
                after_stop.fetch_add(1, Ordering::Relaxed);
                thread::yield_now();
            }
            Err(e) if e.consumed_seq().is_some() || e.is_try_again() => {
                t.dropped += 1;
                thread::yield_now();
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    t
}

fn start_submitters(
    ctx: &Arc<Context<Example>>,
    n: usize,
) -> (
    Arc<AtomicBool>,
    Arc<AtomicU64>,
    Vec<thread::JoinHandle<Tally>>,
) {
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicU64::new(0));
    let qs = [TPC_0, TPC_1, PDMA_0_0, PDMA_1_0];
    let hs = (0..n)
        .map(|i| {
            let (c, s, r) = (Arc::clone(ctx), Arc::clone(&stop), Arc::clone(&refused));
            thread::spawn(move || submitter(c, qs[i % 4], s, r))
        })
        .collect();
    (stop, refused, hs)
}

fn finish(stop: &AtomicBool, hs: Vec<thread::JoinHandle<Tally>>) -> Vec<Tally> {
    stop.store(true, Ordering::Relaxed);
    hs.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Stop while 4 threads submit in a loop: every accepted CS ends, nothing stays in flight, and
/// after the stop every submit is refused.
#[test]
fn stop_while_submitting() {
    within_for(Duration::from_secs(120), || {
        for round in 0..5 {
            let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
            let ctx = Arc::new(ctx);
            let (stop, refused, hs) = start_submitters(&ctx, 4);
            thread::sleep(Duration::from_millis(20));
            runner.stop();
            let before = refused.load(Ordering::Relaxed);
            // Let every thread see the stopped device a few times.
            let mut spins = 0;
            while refused.load(Ordering::Relaxed) < before + 20 && spins < 2000 {
                thread::sleep(Duration::from_millis(1));
                spins += 1;
            }
            let tallies = finish(&stop, hs);
            for t in &tallies {
                assert!(t.stuck.is_empty(), "round {round}: {t:?}");
            }
            assert!(!d.is_operational());
            let st = d.stats();
            assert_eq!(st.in_flight, 0, "round {round}: {st:?}");
            assert_eq!(
                ctx.submit(&CsSubmit::new(&quick())),
                Err(SubmitError::DeviceNotOperational)
            );
            assert_settled(&d);
        }
    });
}

/// Stop racing resets (and submitters): nothing stays in flight, the device stays stopped.
#[test]
fn stop_racing_reset() {
    within_for(Duration::from_secs(120), || {
        for round in 0..10 {
            let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
            let ctx = Arc::new(ctx);
            let (stop, _refused, hs) = start_submitters(&ctx, 2);
            let b = Arc::new(Barrier::new(2));
            let resetter = {
                let (d, b) = (d.clone(), Arc::clone(&b));
                thread::spawn(move || {
                    b.wait();
                    for _ in 0..50 {
                        d.reset();
                    }
                })
            };
            thread::sleep(Duration::from_millis(5));
            b.wait();
            runner.stop();
            resetter.join().unwrap();
            let tallies = finish(&stop, hs);
            for t in &tallies {
                assert!(t.stuck.is_empty(), "round {round}: {t:?}");
            }
            assert!(!d.is_operational(), "round {round}: still stopped");
            assert_eq!(
                ctx.submit(&CsSubmit::new(&quick())),
                Err(SubmitError::DeviceNotOperational),
                "round {round}"
            );
            assert_settled(&d);
        }
    });
}

/// 50 start/stop cycles with 3 submitters running; then one last runner: everything ends.
#[test]
fn start_stop_fifty_times_with_submitters() {
    within_for(Duration::from_secs(180), || {
        let mut cfg = DeviceConfig::for_asic::<Example>();
        cfg.clock = ClockMode::Real;
        cfg.sim.latency = Duration::from_micros(20);
        cfg.sim.poll_spins = 0;
        cfg.tdr_timeout = None;
        let d = Device::<Example>::new(cfg).unwrap();
        let ctx = Arc::new(d.open().unwrap());
        let (stop, _refused, hs) = start_submitters(&ctx, 3);
        for i in 0..50 {
            let runner = Runner::start(&d).unwrap_or_else(|e| panic!("cycle {i}: {e:?}"));
            thread::sleep(Duration::from_millis(2));
            if i % 2 == 0 {
                runner.stop();
            } else {
                drop(runner);
            }
            assert_eq!(d.stats().in_flight, 0, "cycle {i}: rolled back at stop");
        }
        let runner = Runner::start(&d).unwrap();
        let tallies = finish(&stop, hs);
        for t in &tallies {
            assert!(t.stuck.is_empty(), "{t:?}");
        }
        assert!(tallies.iter().map(|t| t.ok).sum::<u64>() > 0, "{tallies:?}");
        let s = ctx.submit(&CsSubmit::new(&quick())).unwrap();
        assert!(ctx.wait_cs(s, LONG, None).unwrap().is_completed());
        runner.stop();
        assert_settled(&d);
    });
}

// =============================================================================================
// 4. Spinning workers: 8 submitters on 2 CPUs
// =============================================================================================

/// A real-clock Example device whose lane workers spin (the default `poll_spins`), TDR off,
/// changed by `f`; `None` if its lane workers could not be pinned as `f` asks.
fn spinning(f: impl FnOnce(&mut DeviceConfig)) -> Option<(Device<Example>, Runner)> {
    let mut cfg = DeviceConfig::for_asic::<Example>();
    cfg.clock = ClockMode::Real;
    cfg.tdr_timeout = None;
    f(&mut cfg);
    let d = Device::<Example>::new(cfg).unwrap();
    match Runner::start(&d) {
        Ok(runner) => Some((d, runner)),
        Err(e @ RunnerError::Affinity { .. }) => {
            eprintln!("pinning refused here ({e:?}); nothing to test");
            None
        }
        Err(e) => panic!("runner: {e:?}"),
    }
}

/// Eight submitter threads, thread `i` on queue `[TPC_0, TPC_1, PDMA_0_0, PDMA_1_0][i % 4]`
/// through `ctx_of(i)`, `per_thread` CSs each, waiting for every `wait_every`-th and for its
/// last: all of them complete, nothing hangs, and the device settles.
fn eight_submitters(
    d: &Device<Example>,
    runner: Runner,
    ctx_of: impl Fn(usize) -> Arc<Context<Example>>,
    per_thread: u32,
    wait_every: u32,
) {
    let qs = [TPC_0, TPC_1, PDMA_0_0, PDMA_1_0];
    let hs: Vec<_> = (0..8)
        .map(|i| {
            let ctx = ctx_of(i);
            let job = [Job::new(qs[i % 4])];
            thread::spawn(move || {
                for n in 0..per_thread {
                    let s = submit_retrying(&ctx, &CsSubmit::new(&job), i, n);
                    if n % wait_every == wait_every - 1 || n == per_thread - 1 {
                        let r = ctx.wait_cs(s, LONG, None);
                        assert!(
                            r.is_ok_and(|w| w.is_completed()),
                            "thread {i} cs {n}: {r:?}"
                        );
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().expect("submitter");
    }
    let st = d.stats();
    assert_eq!(st.completed, 8 * u64::from(per_thread), "{st:?}");
    runner.stop();
    assert_settled(d);
}

/// 8 threads, a context each, 2,000 CSs each on a real-clock device whose lane workers spin
/// (the default `poll_spins`): everything completes, nothing hangs.
#[test]
fn eight_spinning_submitters_complete_everything() {
    within_for(Duration::from_secs(300), || {
        let Some((d, runner)) = spinning(|c| {
            c.contexts = 8;
            c.sim.lanes = 2;
        }) else {
            return;
        };
        eight_submitters(&d, runner, |_| Arc::new(d.open().unwrap()), 2000, 8);
    });
}

// =============================================================================================
// Second batch: edges between the three features
// =============================================================================================

/// Store a hung CS's outcome (aborted) with a timestamp, then wrap the ring; returns its seq.
fn stored_abort(d: &Device<Example>, ctx: &Context<Example>) -> u64 {
    let s = ctx
        .submit(&CsSubmit::new(&one(TPC_0, Work::Hang)).with_timestamp())
        .unwrap();
    d.advance(Duration::from_micros(5));
    d.reset();
    wrap_ring(d, ctx, TPC_1);
    s
}

/// §4: a wait refused because the device is not operational (-EBUSY, checked first) must not
/// consume the stored outcome; nor an invalid seq, nor a cancelled wait.
#[test]
fn refused_waits_do_not_consume_the_store() {
    within(|| {
        let (d, ctx) = device::<Example>();
        let s = stored_abort(&d, &ctx);
        d.mark_needs_reset();
        assert_eq!(poll(&ctx, s), Err(CsWaitError::DeviceNotOperational));
        assert_eq!(
            ctx.wait_cs(s, Duration::from_secs(1), None),
            Err(CsWaitError::DeviceNotOperational)
        );
        d.reset(); // a reset does not clear a context's store
        let _ = ctx.wait_cs(u64::MAX, POLL, None);
        let _ = ctx.wait_cs(ctx.next_seq() + 5, POLL, None);
        // A cancelled token: either the outcome (then consumed) or Interrupted (then kept).
        let tok = asicgen_runtime::CancelToken::new();
        tok.cancel();
        let first = ctx.wait_cs(s, Duration::from_secs(1), Some(&tok));
        let mut answers = vec![first];
        if first == Err(CsWaitError::Interrupted) {
            answers.push(poll(&ctx, s));
        }
        assert_eq!(
            answers.last().copied().unwrap(),
            Err(CsWaitError::Aborted { seq: s }),
            "{answers:?}"
        );
        assert_eq!(poll(&ctx, s), GONE);
    });
}

/// §2.5 without reset_on_lockup: the TDR marks the CS but does not release it; a late report
/// releases it with the outcome its lifecycle gives (as a late simulated completion does, see
/// `late_completion_follows_the_lifecycle`), and its stored outcome, once gone, says the same.
fn late_report_after_tdr_without_reset<A: Asic>() {
    let (d, ctx, running) = scripted::<A>(&[Step::Report], |c| {
        c.tdr_timeout = Some(Duration::from_millis(1));
        c.reset_on_lockup = false;
    });
    let q = completing_queue::<A>();
    let s = ctx
        .submit(&CsSubmit::new(&[Job::new(q)]).with_timestamp())
        .unwrap();
    let id = running.take()[0];
    let fence = match ctx.lookup(s) {
        Lookup::Fence(f) => f,
        other => panic!("{other:?}"),
    };
    d.advance(Duration::from_millis(5));
    let st = d.stats();
    assert!(st.needs_reset && st.tdr_fired == 1, "{st:?}");
    assert_eq!(st.in_flight, 1, "the TDR does not release: {st:?}");
    assert_eq!(fence.poll(), None);
    assert!(!d.is_operational());
    assert_eq!(
        d.job_done(id, JobEnd::Complete),
        Ok(()),
        "a late completion"
    );
    let hung = A::next_state(
        A::next_state(A::INITIAL_STATE, CsEvent::Submit),
        CsEvent::TimeoutDetected,
    );
    let expected = A::outcome(A::next_state(hung, CsEvent::JobsDone));
    assert!(expected.is_some());
    assert_eq!(fence.poll(), expected);
    let st = d.stats();
    assert_eq!(st.in_flight, 0, "{st:?}");
    assert_eq!(st.timed_out + st.completed, 1, "{st:?}");
    assert_eq!(
        st.timed_out == 1,
        expected == Some(Outcome::TimedOut),
        "{st:?}"
    );
    drop(fence);
    d.reset();
    let in_ring = poll(&ctx, s);
    wrap_ring(&d, &ctx, q);
    assert_eq!(poll(&ctx, s), in_ring, "the store says what the ring said");
    assert_eq!(poll(&ctx, s), GONE);
    assert_settled(&d);
}

for_each_asic!(late_report_after_tdr_without_reset);

/// A reported fault resets the device: every other running job is halted, its report refused.
#[test]
fn reported_fault_halts_the_other_running_jobs() {
    within(|| {
        let (d, ctx, running) = scripted::<Example>(&[Step::Report; 3], |c| c.tdr_timeout = None);
        let s1 = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
        let s2 = ctx
            .submit(&CsSubmit::new(&[Job::new(TPC_1), Job::new(PDMA_0_0)]))
            .unwrap();
        let ids = running.take();
        assert_eq!(ids.len(), 3);
        d.job_done(ids[1], JobEnd::Complete).unwrap();
        d.job_done(ids[0], JobEnd::Fault).unwrap();
        assert_eq!(poll(&ctx, s1), Err(CsWaitError::Aborted { seq: s1 }));
        assert_eq!(poll(&ctx, s2), Err(CsWaitError::Aborted { seq: s2 }));
        assert_eq!(
            d.job_done(ids[2], JobEnd::Complete),
            Err(JobDoneError::UnknownJob(ids[2]))
        );
        let st = d.stats();
        assert_eq!(
            (st.engine_faults, st.resets, st.aborted),
            (1, 1, 2),
            "{st:?}"
        );
        assert!(d.is_operational());
        assert_settled(&d);
    });
}

/// Real clock with no runner started yet: a reported job's CS completes (the report needs no
/// lane worker), or at the latest once a runner starts.
#[test]
fn report_on_a_real_device_before_any_runner() {
    within(|| {
        let (d, ctx, running) = scripted::<Example>(&[Step::Report], |c| {
            c.clock = ClockMode::Real;
            c.sim.poll_spins = 0;
            c.tdr_timeout = None;
        });
        let s = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
        let id = running.take()[0];
        d.job_done(id, JobEnd::Complete).unwrap();
        let r = ctx.wait_cs(s, Duration::from_secs(2), None);
        let runner = Runner::start(&d).unwrap();
        let r2 = ctx.wait_cs(s, LONG, None);
        assert!(r2.unwrap().is_completed(), "with a runner: {r2:?}");
        assert!(r.unwrap().is_completed(), "without a runner: {r:?}");
        runner.stop();
        assert_settled(&d);
    });
}

/// Reports racing Runner::stop: a taken report completed its single-job CS; a refused one
/// means the stop aborted it. Nothing stays in flight.
#[test]
fn reports_racing_stop() {
    within_for(Duration::from_secs(120), || {
        for round in 0..10 {
            let n = 64;
            let (d, ctx, running) = scripted::<Example>(&vec![Step::Report; n], |c| {
                c.clock = ClockMode::Real;
                c.sim.poll_spins = 0;
                c.tdr_timeout = None;
            });
            let runner = Runner::start(&d).unwrap();
            let qs = [PDMA_0_0, PDMA_1_0, TPC_0, TPC_1];
            let seqs: Vec<u64> = (0..n)
                .map(|i| ctx.submit(&CsSubmit::new(&[Job::new(qs[i % 4])])).unwrap())
                .collect();
            let ids = running.take();
            let b = Arc::new(Barrier::new(2));
            let reporter = {
                let (d, b) = (d.clone(), Arc::clone(&b));
                thread::spawn(move || {
                    b.wait();
                    ids.into_iter()
                        .map(|id| d.job_done(id, JobEnd::Complete))
                        .collect::<Vec<_>>()
                })
            };
            b.wait();
            thread::sleep(Duration::from_micros(100 * round));
            runner.stop();
            let rs = reporter.join().unwrap();
            for (s, r) in seqs.iter().zip(&rs) {
                let out = ctx.wait_cs(*s, LONG, None);
                match r {
                    Ok(()) => assert!(
                        matches!(out, Ok(WaitStatus::Completed { .. })),
                        "round {round} seq {s}: report taken, yet {out:?}"
                    ),
                    Err(_) => assert_eq!(
                        out,
                        Err(CsWaitError::Aborted { seq: *s }),
                        "round {round} seq {s}"
                    ),
                }
            }
            assert_settled(&d);
        }
    });
}

/// A second runner is refused while one runs, and the refusal leaves the device operational.
#[test]
fn second_runner_refused_leaves_the_device_running() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        assert!(Runner::start(&d).is_err());
        assert!(d.is_operational());
        let s = ctx.submit(&CsSubmit::new(&quick())).unwrap();
        assert!(ctx.wait_cs(s, LONG, None).unwrap().is_completed());
        runner.stop();
        assert!(!d.is_operational());
        assert!(Runner::start(&d).is_ok_and(|r| {
            let op = d.is_operational();
            r.stop();
            op
        }));
        assert!(!d.is_operational());
    });
}

/// Stop with a multi-CS waiter and a single waiter asleep on a stored seq mix: both return.
#[test]
fn stop_wakes_multi_waiters() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let a = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Hang)).with_timestamp())
            .unwrap();
        let b = ctx.submit(&CsSubmit::new(&one(TPC_1, Work::Hang))).unwrap();
        let ctx = Arc::new(ctx);
        let c = Arc::clone(&ctx);
        let rx = spawn_waiter(move || c.wait_multi(&[a, b], LONG, None));
        thread::sleep(Duration::from_millis(10));
        runner.stop();
        let r = recv(&rx, "multi waiter");
        assert!(
            matches!(r, Err(CsWaitError::Aborted { .. })),
            "a fence error is the ioctl's error: {r:?}"
        );
        assert_eq!(poll(&ctx, a), Err(CsWaitError::Aborted { seq: a }));
        assert_settled(&d);
    });
}

/// The outcome store through the real clock: stored outcomes answered after the engines stopped
/// (waits are still answered), and after a restart.
#[test]
fn store_answers_after_stop_and_restart() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let s = ctx
            .submit(&CsSubmit::new(&quick()).with_timestamp())
            .unwrap();
        let t = completed_ts(ctx.wait_cs(s, LONG, None));
        let hung = ctx
            .submit(&CsSubmit::new(&one(TPC_1, Work::Hang)).with_timestamp())
            .unwrap();
        // Seqs 3..=65: seq 1 leaves the ring; `hung` holds slot 2, so no further.
        for _ in 0..ctx.ring_len() - 1 {
            let w = ctx.submit(&CsSubmit::new(&quick())).unwrap();
            assert!(ctx.wait_cs(w, LONG, None).unwrap().is_completed());
        }
        runner.stop(); // aborts `hung`
        // `hung` is still in its ring slot; `s` is gone and stored.
        assert_eq!(poll(&ctx, hung), Err(CsWaitError::Aborted { seq: hung }));
        assert_eq!(completed_ts(poll(&ctx, s)), t);
        assert_eq!(poll(&ctx, s), GONE);
        let runner = Runner::start(&d).unwrap();
        for _ in 0..ctx.ring_len() {
            let w = ctx.submit(&CsSubmit::new(&quick())).unwrap();
            assert!(ctx.wait_cs(w, LONG, None).unwrap().is_completed());
        }
        assert_eq!(
            ctx.wait_cs(hung, LONG, None),
            Err(CsWaitError::Aborted { seq: hung })
        );
        assert_eq!(ctx.wait_cs(hung, LONG, None), GONE);
        runner.stop();
        assert_settled(&d);
    });
}

/// 8 submitters, lane workers pinned to CPU 0 (where submitters also run): spinning on the
/// submitter's CPU must not starve it into a hang.
#[test]
fn eight_submitters_with_pinned_spinning_lanes() {
    within_for(Duration::from_secs(300), || {
        let Some((d, runner)) = spinning(|c| {
            c.contexts = 8;
            c.sim.lanes = 2;
            c.sim.lane_cpu = Some(0);
        }) else {
            return;
        };
        eight_submitters(&d, runner, |_| Arc::new(d.open().unwrap()), 500, 1);
    });
}

// =============================================================================================
// Third batch: concurrency across the features
// =============================================================================================

/// Four threads on one real-clock context store 400 timestamped outcomes at once; once all
/// are gone from the ring, exactly 256 are answered (each with the timestamp its waiter saw
/// while it was in the ring), the rest read as gone.
#[test]
fn concurrent_pushes_keep_exactly_256() {
    within_for(Duration::from_secs(120), || {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let ctx = Arc::new(ctx);
        let qs = [TPC_0, TPC_1, PDMA_0_0, PDMA_1_0];
        let hs: Vec<_> = (0..4)
            .map(|i| {
                let c = Arc::clone(&ctx);
                let q = qs[i];
                thread::spawn(move || {
                    let mut seen = Vec::new();
                    for _ in 0..100 {
                        let job = one(q, Work::Run(Duration::from_micros(10)));
                        let s = loop {
                            match c.submit(&CsSubmit::new(&job).with_timestamp()) {
                                Ok(s) => break s,
                                Err(e) if e.is_try_again() => thread::yield_now(),
                                Err(e) => panic!("{e:?}"),
                            }
                        };
                        seen.push((s, completed_ts(c.wait_cs(s, LONG, None))));
                    }
                    seen
                })
            })
            .collect();
        let mut seen: Vec<(u64, Timestamp)> =
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
        seen.sort();
        for _ in 0..ctx.ring_len() {
            let w = ctx.submit(&CsSubmit::new(&quick())).unwrap();
            assert!(ctx.wait_cs(w, LONG, None).unwrap().is_completed());
        }
        let mut answered = 0;
        for &(s, t) in &seen {
            match poll(&ctx, s) {
                r if r == GONE => {}
                r => {
                    assert_eq!(completed_ts(r), t, "seq {s}");
                    answered += 1;
                }
            }
        }
        assert_eq!(answered, 256, "the store holds exactly its 256 entries");
        runner.stop();
        assert_settled(&d);
    });
}

/// Reports racing the close of their context; a new context in the same slot then gets
/// CSs that only their own reports end.
#[test]
fn reports_racing_context_close() {
    within_for(Duration::from_secs(120), || {
        for round in 0..20 {
            let n = 32;
            let (d, ctx, running) =
                scripted::<Example>(&vec![Step::Report; 2 * n], |c| c.tdr_timeout = None);
            let qs = [PDMA_0_0, PDMA_1_0, TPC_0, TPC_1];
            for i in 0..n {
                ctx.submit(&CsSubmit::new(&[Job::new(qs[i % 4])])).unwrap();
            }
            let old = running.take();
            let b = Arc::new(Barrier::new(2));
            let reporter = {
                let (d, b, old) = (d.clone(), Arc::clone(&b), old.clone());
                thread::spawn(move || {
                    b.wait();
                    for id in old {
                        let _ = d.job_done(id, JobEnd::Complete);
                    }
                })
            };
            b.wait();
            ctx.close();
            reporter.join().unwrap();
            let new = d.open().unwrap();
            let seqs: Vec<u64> = (0..n)
                .map(|i| new.submit(&CsSubmit::new(&[Job::new(qs[i % 4])])).unwrap())
                .collect();
            let fresh = running.take();
            assert_eq!(fresh.len(), n);
            for id in &old {
                assert_eq!(
                    d.job_done(*id, JobEnd::Complete),
                    Err(JobDoneError::UnknownJob(*id)),
                    "round {round}"
                );
            }
            for s in &seqs {
                assert_eq!(
                    poll(&new, *s),
                    Ok(WaitStatus::Busy),
                    "round {round} seq {s}"
                );
            }
            for id in fresh {
                d.job_done(id, JobEnd::Complete).unwrap();
            }
            for s in &seqs {
                assert!(poll(&new, *s).unwrap().is_completed(), "round {round}");
            }
            let st = d.stats();
            assert_eq!(
                st.completed + st.aborted,
                2 * n as u64,
                "round {round}: {st:?}"
            );
            assert_settled(&d);
        }
    });
}

/// A real-clock Goya device whose TDR fired without a reset (`needs_reset`), with the hung CS
/// still in flight; returns it with its runner and that CS's fence.
fn tdr_fired_without_reset() -> (
    Device<Goya>,
    Context<Goya>,
    Runner,
    u64,
    asicgen_runtime::CsFence,
) {
    let (d, ctx, runner) = real::<Goya>(|c| {
        c.tdr_timeout = Some(Duration::from_millis(20));
        c.reset_on_lockup = false;
    });
    let q = completing_queue::<Goya>();
    let s = ctx.submit(&CsSubmit::new(&one(q, Work::Hang))).unwrap();
    let fence = match ctx.lookup(s) {
        Lookup::Fence(f) => f,
        other => panic!("{other:?}"),
    };
    let mut tries = 0;
    while !d.stats().needs_reset {
        tries += 1;
        assert!(tries < 10_000, "the TDR never fired");
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(d.stats().in_flight, 1);
    (d, ctx, runner, s, fence)
}

/// §2.6: a CS the TDR marked (no reset on lockup) that the stop then rolls back still reads
/// timed out (timed out is checked before aborted).
#[test]
fn stop_after_tdr_without_reset_keeps_timed_out() {
    within(|| {
        let (d, ctx, runner, s, fence) = tdr_fired_without_reset();
        runner.stop();
        assert_eq!(fence.poll(), Some(Outcome::TimedOut));
        d.reset();
        assert_eq!(poll(&ctx, s), Err(CsWaitError::TimedOut { seq: s }));
        let st = d.stats();
        assert_eq!(
            (st.timed_out, st.aborted, st.in_flight),
            (1, 0, 0),
            "{st:?}"
        );
    });
}

/// `mark_needs_reset` / §2.5: a device that needs a reset takes no work until
/// [`Device::reset`]. Stopping and restarting the engines is not a reset: with nothing in
/// flight `needs_reset` survives a stop/start (checked below), and it should likewise survive
/// when the stop had a CS to roll back.
#[test]
fn needs_reset_survives_stop_and_start_with_cs_in_flight() {
    within(|| {
        // With nothing in flight: needs_reset survives stop and start.
        let (d, ctx, runner) = real::<Goya>(|c| c.tdr_timeout = None);
        d.mark_needs_reset();
        runner.stop();
        let runner = Runner::start(&d).unwrap();
        assert!(
            !d.is_operational(),
            "nothing in flight: still needs its reset"
        );
        drop((runner, ctx, d));
        // With the timed-out CS in flight at the stop.
        let (d, ctx, runner, _s, _fence) = tdr_fired_without_reset();
        let resets = d.stats().resets;
        runner.stop();
        let runner = Runner::start(&d).unwrap();
        let st = d.stats();
        assert!(
            !d.is_operational(),
            "still needs its reset (resets before the stop: {resets}): {st:?}"
        );
        assert!(st.needs_reset, "{st:?}");
        assert_eq!(
            ctx.submit(&CsSubmit::new(&one(
                completing_queue::<Goya>(),
                Work::Default
            ))),
            Err(SubmitError::DeviceNotOperational)
        );
        d.reset();
        assert!(d.is_operational());
        runner.stop();
    });
}

/// 8 submitters sharing one context on the spinning workers (ring contention, -EAGAIN
/// retries): everything completes.
#[test]
fn eight_submitters_one_context_spinning() {
    within_for(Duration::from_secs(300), || {
        let Some((d, runner)) = spinning(|_| {}) else {
            return;
        };
        let ctx = Arc::new(d.open().unwrap());
        eight_submitters(&d, runner, |_| Arc::clone(&ctx), 500, 1);
    });
}

// =============================================================================================
// Fourth batch: waits on reported jobs, statistics snapshots
// =============================================================================================

/// Virtual clock: a wait on a CS whose job only a report ends returns (Busy) rather than block
/// forever, even with `Duration::MAX`; a report from another thread during such a wait is
/// either seen or not, never lost.
#[test]
fn virtual_waits_on_reported_jobs_return() {
    within(|| {
        let (d, ctx, running) = scripted::<Example>(&[Step::Report; 2], |c| c.tdr_timeout = None);
        let s = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
        assert_eq!(ctx.wait_cs(s, Duration::MAX, None), Ok(WaitStatus::Busy));
        assert_eq!(
            ctx.wait_multi(&[s], Duration::MAX, None),
            Ok(MultiWaitStatus::Busy)
        );
        let id = running.take()[0];
        let reporter = {
            let d = d.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(5));
                d.job_done(id, JobEnd::Complete)
            })
        };
        let r = ctx.wait_cs(s, Duration::MAX, None);
        assert!(
            matches!(r, Ok(WaitStatus::Busy | WaitStatus::Completed { .. })),
            "{r:?}"
        );
        reporter.join().unwrap().unwrap();
        assert!(poll(&ctx, s).unwrap().is_completed());
        assert_settled(&d);
    });
}

/// Real clock: a multi-CS waiter asleep on two reported CSs is woken by the report of one.
#[test]
fn report_wakes_a_multi_waiter() {
    within(|| {
        let (d, ctx, running) = scripted::<Example>(&[Step::Report; 2], |c| {
            c.clock = ClockMode::Real;
            c.sim.poll_spins = 0;
            c.tdr_timeout = None;
        });
        let runner = Runner::start(&d).unwrap();
        let a = ctx
            .submit(&CsSubmit::new(&[Job::new(TPC_0)]).with_timestamp())
            .unwrap();
        let b = ctx.submit(&CsSubmit::new(&[Job::new(TPC_1)])).unwrap();
        let ids = running.take();
        let ctx = Arc::new(ctx);
        let c = Arc::clone(&ctx);
        let rx = spawn_waiter(move || c.wait_multi(&[a, b], LONG, None));
        thread::sleep(Duration::from_millis(10));
        d.job_done(ids[1], JobEnd::Complete).unwrap();
        let r = recv(&rx, "multi waiter");
        assert!(
            matches!(r, Ok(MultiWaitStatus::Completed { bitmap: 0b10, .. })),
            "{r:?}"
        );
        d.job_done(ids[0], JobEnd::Complete).unwrap();
        completed_ts(ctx.wait_cs(a, LONG, None));
        assert_eq!(
            ctx.wait_multi(&[a, b], LONG, None),
            Ok(MultiWaitStatus::Completed {
                bitmap: 0b11,
                timestamp: None,
                gone: true
            }),
            "b has no timestamp: it counts as 0, so the reported timestamp is 0 and GONE is set (§4)"
        );
        runner.stop();
        assert_settled(&d);
    });
}

/// Every statistics snapshot taken while reports, resets and submissions run obeys
/// `submitted == completed + timed_out + aborted + in_flight` (a snapshot, per its docs).
#[test]
fn stats_snapshots_are_consistent_under_load() {
    within_for(Duration::from_secs(120), || {
        let n = 3000;
        let (d, ctx, running) = scripted::<Example>(&vec![Step::Report; n], |c| {
            c.clock = ClockMode::Real;
            c.sim.poll_spins = 0;
            c.tdr_timeout = None;
        });
        let runner = Runner::start(&d).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let monitor = {
            let (d, stop) = (d.clone(), Arc::clone(&stop));
            thread::spawn(move || {
                let mut bad = Vec::new();
                let mut taken = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let s = d.stats();
                    taken += 1;
                    if s.submitted != s.completed + s.timed_out + s.aborted + s.in_flight
                        && bad.len() < 5
                    {
                        bad.push(s);
                    }
                }
                (taken, bad)
            })
        };
        let reporter = {
            let (d, stop, running) = (d.clone(), Arc::clone(&stop), running.clone());
            thread::spawn(move || {
                let mut k = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for id in running.take() {
                        let end = if k % 97 == 96 {
                            JobEnd::Fault
                        } else {
                            JobEnd::Complete
                        };
                        let _ = d.job_done(id, end);
                        k += 1;
                    }
                    thread::yield_now();
                }
            })
        };
        let qs = [PDMA_0_0, PDMA_1_0, TPC_0, TPC_1];
        let mut i = 0;
        let mut submitted = 0;
        while submitted < n - 8 && i < 20 * n {
            match ctx.submit(&CsSubmit::new(&[Job::new(qs[i % 4])])) {
                Ok(_) => submitted += 1,
                Err(_) => thread::yield_now(),
            }
            if i % 200 == 199 {
                d.reset();
            }
            i += 1;
        }
        thread::sleep(Duration::from_millis(20));
        stop.store(true, Ordering::Relaxed);
        reporter.join().unwrap();
        let (taken, bad) = monitor.join().unwrap();
        for id in running.take() {
            let _ = d.job_done(id, JobEnd::Complete);
        }
        d.reset();
        runner.stop();
        let st = d.stats();
        eprintln!("{taken} snapshots over {st:?}");
        assert!(st.submitted > 1000, "{st:?}");
        assert!(bad.is_empty(), "{taken} snapshots, inconsistent: {bad:#?}");
        assert_settled(&d);
    });
}

// =============================================================================================
// Fifth batch: internal-queue jobs that a backend calls running, tighter stop races, more lanes
// =============================================================================================

/// A backend that answers `Running` for every job and records `(id, queue position)`.
struct AllRunning(Arc<Mutex<Vec<(JobId, usize)>>>);

impl Engines for AllRunning {
    fn start(&mut self, job: &JobStart, _now: &mut dyn FnMut() -> u64) -> Started {
        self.0.lock().unwrap().push((job.id, job.queue));
        Started::Running
    }
    fn reset(&mut self) {}
}

/// A device on [`AllRunning`] with a CS of a completing job and an internal one submitted,
/// the completing job reported; returns the device, context, seq, the internal queue and the
/// internal job's id (`None` when the generation has no user internal queue).
#[allow(clippy::type_complexity)]
fn internal_cs_reported<A: Asic>() -> Option<(Device<A>, Context<A>, u64, u32, JobId)> {
    let internal = internal_queue::<A>()?;
    let q = completing_queue::<A>();
    let rec = Arc::new(Mutex::new(Vec::new()));
    let mut c = DeviceConfig::for_asic::<A>();
    c.tdr_timeout = None;
    let d = Device::<A>::with_engines(c, AllRunning(Arc::clone(&rec))).unwrap();
    let ctx = d.open().unwrap();
    let s = ctx
        .submit(&CsSubmit::new(&[Job::new(q), Job::new(internal)]))
        .unwrap();
    let started = std::mem::take(&mut *rec.lock().unwrap());
    let pos = |id: u32| A::QUEUES.iter().position(|x| x.id == id).unwrap();
    let of = |queue: u32| -> Vec<JobId> {
        started
            .iter()
            .filter(|(_, p)| *p == pos(queue))
            .map(|(i, _)| *i)
            .collect()
    };
    let (ext, int) = (of(q), of(internal));
    assert_eq!((ext.len(), int.len()), (1, 1), "{started:?}");
    d.job_done(ext[0], JobEnd::Complete).unwrap();
    d.advance(Duration::from_millis(1));
    Some((d, ctx, s, internal, int[0]))
}

/// §2.3: internal-queue jobs have no completion of their own; a CS of a completing job and an
/// internal one completes once the completing job is reported, whatever the backend said for
/// the internal one, and the internal queue's `ci` moved on at the release.
fn internal_jobs_need_no_report<A: Asic>() {
    let Some((d, ctx, s, internal, _)) = internal_cs_reported::<A>() else {
        return;
    };
    assert!(
        poll(&ctx, s).unwrap().is_completed(),
        "the internal job has no completion to wait for"
    );
    let hq = d.queue(internal).unwrap();
    assert_eq!(hq.pi(), hq.ci(), "internal ci moved on at release");
    let st = d.stats();
    assert_eq!((st.completed, st.in_flight), (1, 0), "{st:?}");
}

/// The same CS: once it was released, nothing of it is left running (§2.3, §7), so every engine
/// is idle and a report of its internal job is refused (`UnknownJob`: no started job with this
/// id waits for a report) and changes no queue.
fn internal_running_job_ends_with_its_cs<A: Asic>() {
    let Some((d, ctx, s, internal, int_id)) = internal_cs_reported::<A>() else {
        return;
    };
    assert!(poll(&ctx, s).unwrap().is_completed());
    let busy: Vec<u32> = d.busy_engines().iter().collect();
    let before = d.queue(internal).unwrap();
    let late = d.job_done(int_id, JobEnd::Complete);
    let after = d.queue(internal).unwrap();
    assert_eq!(
        (before.pi(), before.ci()),
        (after.pi(), after.ci()),
        "a late report moves no pointer"
    );
    assert!(busy.is_empty(), "busy after the release: {busy:?}");
    assert_eq!(late, Err(JobDoneError::UnknownJob(int_id)));
}

for_each_asic!(internal_jobs_need_no_report);

for_each_asic!(internal_running_job_ends_with_its_cs);

/// Stop as soon as the submitters start, many times: every accepted CS ends.
#[test]
fn stop_races_the_first_submits() {
    within_for(Duration::from_secs(180), || {
        for round in 0..30 {
            let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
            let ctx = Arc::new(ctx);
            let (stop, _refused, hs) = start_submitters(&ctx, 3);
            if round % 3 == 1 {
                thread::yield_now();
            }
            runner.stop();
            let mut spins = 0;
            while d.stats().submitted == 0 && spins < 50 {
                thread::sleep(Duration::from_micros(200));
                spins += 1;
            }
            let tallies = finish(&stop, hs);
            for t in &tallies {
                assert!(t.stuck.is_empty(), "round {round}: {t:?}");
            }
            assert!(!d.is_operational());
            assert_settled(&d);
        }
    });
}

/// Eight lanes spinning plus eight submitters on two CPUs: everything completes.
#[test]
fn eight_lanes_eight_submitters() {
    within_for(Duration::from_secs(300), || {
        let Some((d, runner)) = spinning(|c| {
            c.contexts = 8;
            c.sim.lanes = 8;
        }) else {
            return;
        };
        eight_submitters(&d, runner, |_| Arc::new(d.open().unwrap()), 300, 3);
    });
}

// =============================================================================================
// Sixth batch: reports racing the TDR on the real clock
// =============================================================================================

/// Reports racing a 1 ms TDR (reset on lockup) on the real clock: a CS whose report was taken
/// completed or (a late completion of a timed-out CS) timed out; a refused report means a TDR
/// or a reset ended it. No lifecycle violation (debug builds panic on one), nothing in flight,
/// statistics add up.
fn reports_racing_the_tdr<A: Asic>() {
    let n = 120;
    let (d, ctx, running) = scripted::<A>(&vec![Step::Report; n], |c| {
        c.clock = ClockMode::Real;
        c.sim.poll_spins = 0;
        c.tdr_timeout = Some(Duration::from_millis(1));
    });
    let runner = Runner::start(&d).unwrap();
    let q = completing_queue::<A>();
    let mut results = Vec::new();
    for i in 0..n {
        let s = loop {
            match ctx.submit(&CsSubmit::new(&[Job::new(q)])) {
                Ok(s) => break s,
                Err(SubmitError::DeviceNotOperational) | Err(SubmitError::DeviceInReset { .. }) => {
                    thread::yield_now()
                }
                Err(e) if e.is_try_again() => thread::yield_now(),
                Err(e) => panic!("{e:?}"),
            }
        };
        let ids = running.take();
        assert_eq!(ids.len(), 1);
        // Spread the reports around the TDR deadline.
        thread::sleep(Duration::from_micros(((i % 6) * 300) as u64));
        let r = d.job_done(ids[0], JobEnd::Complete);
        let mut out = ctx.wait_cs(s, LONG, None);
        let mut tries = 0;
        while out == Err(CsWaitError::DeviceNotOperational) && tries < 10_000 {
            thread::sleep(Duration::from_micros(100));
            out = ctx.wait_cs(s, LONG, None);
            tries += 1;
        }
        results.push((s, r, out));
    }
    runner.stop();
    for (s, r, out) in &results {
        match r {
            Ok(()) => assert!(
                matches!(
                    out,
                    Ok(WaitStatus::Completed { .. }) | Err(CsWaitError::TimedOut { .. })
                ),
                "{}: seq {s}: report taken, yet {out:?}",
                A::NAME
            ),
            Err(_) => assert!(
                matches!(
                    out,
                    Err(CsWaitError::TimedOut { .. }) | Err(CsWaitError::Aborted { .. })
                ),
                "{}: seq {s}: report refused, yet {out:?}",
                A::NAME
            ),
        }
    }
    let st = d.stats();
    assert_eq!(st.lifecycle_violations, 0, "{st:?}");
    assert_settled(&d);
}

for_each_asic!(reports_racing_the_tdr);

/// The store keeps outcomes, not fences: with 256 outcomes stored, the context holds no more
/// fences than its ring, and none once it is closed.
#[test]
fn store_holds_no_fences() {
    within(|| {
        let (d, ctx) = device::<Example>();
        for _ in 0..300 {
            ctx.submit(
                &CsSubmit::new(&one(TPC_0, Work::Run(Duration::from_micros(1)))).with_timestamp(),
            )
            .unwrap();
            d.advance(Duration::from_micros(5));
        }
        wrap_ring(&d, &ctx, TPC_1);
        assert!(
            ctx.live_fences() <= ctx.ring_len(),
            "{} live fences, ring {}",
            ctx.live_fences(),
            ctx.ring_len()
        );
        drop(ctx);
        assert_eq!(d.live_fences(), 0);
        let ctx = d.open().unwrap();
        assert_eq!(
            poll(&ctx, 1),
            Err(CsWaitError::InvalidSeq {
                seq: 1,
                next_seq: 1
            })
        );
    });
}

/// Stop and restart while the lane workers spin (the default `poll_spins`, two lanes) and
/// three threads submit: every accepted CS ends, each stop leaves nothing in flight.
#[test]
fn stop_start_with_spinning_lanes() {
    within_for(Duration::from_secs(180), || {
        let mut cfg = DeviceConfig::for_asic::<Example>();
        cfg.clock = ClockMode::Real;
        cfg.tdr_timeout = None;
        cfg.sim.lanes = 2;
        let d = Device::<Example>::new(cfg).unwrap();
        let ctx = Arc::new(d.open().unwrap());
        let (stop, _refused, hs) = start_submitters(&ctx, 3);
        for i in 0..20 {
            let runner = Runner::start(&d).unwrap_or_else(|e| panic!("cycle {i}: {e:?}"));
            thread::sleep(Duration::from_millis(3));
            runner.stop();
            assert_eq!(d.stats().in_flight, 0, "cycle {i}");
            assert!(!d.is_operational(), "cycle {i}");
        }
        let runner = Runner::start(&d).unwrap();
        let tallies = finish(&stop, hs);
        for t in &tallies {
            assert!(t.stuck.is_empty(), "{t:?}");
        }
        runner.stop();
        assert_settled(&d);
    });
}
