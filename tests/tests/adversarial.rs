//! Adversarial tests of the runtime's public API, from safe code. Each test names the kernel rule
//! it checks, by its section in `docs/driver-semantics.md` (`§2.4`, `§4`, ...). Every test body
//! runs in a thread of its own and the harness waits for it with a generous limit, so a hang is
//! a failure, not a stuck run; there are no timing assertions otherwise.
//!
//! Tests that found a misbehaviour are `
mod common;

use asicgen_generated::example::Example;
use asicgen_generated::gaudi::Gaudi;
use asicgen_generated::goya::Goya;
use asicgen_runtime::asic::Asic;
use asicgen_runtime::{
    CancelToken, ClockMode, Context, CsSubmit, CsWaitError, Device, DeviceConfig, DeviceError, Job,
    Lookup, MultiWaitStatus, NEVER_TIMED, OpenError, Outcome, QueueRejection, Runner, SubmitError,
    WaitStatus, Work,
};
use common::*;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

/// Only a hang reaches this.
const LIMIT: Duration = Duration::from_secs(20);
/// A wait's "forever" in real mode; the harness limit catches a hang long before.
const FOREVER: Duration = Duration::from_secs(3600);
const POLL: Duration = Duration::ZERO;

// Example's queues (generated/review/example.rs).
const PDMA_0_0: u32 = 0;
const PDMA_1_0: u32 = 2;
const CPU_PQ: u32 = 4;
const TPC_0: u32 = 5;
const TPC_1: u32 = 6;
const TPC_3: u32 = 8;
const ROT_0: u32 = 9;

/// Run `f` on a thread; fail if it does not return within [`LIMIT`], re-raise its panic.
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    within_for(LIMIT, f)
}

fn recv<T>(rx: &mpsc::Receiver<T>, what: &str) -> T {
    recv_within(rx, LIMIT, what)
}

fn virt<A: Asic>(f: impl FnOnce(&mut DeviceConfig)) -> (Device<A>, Context<A>) {
    device_with::<A>(f)
}

/// A real-clock device with its runner (workers park at once: the machine is shared).
fn real<A: Asic>(f: impl FnOnce(&mut DeviceConfig)) -> (Device<A>, Context<A>, Runner) {
    real_device::<A>(Duration::from_micros(50), f)
}

fn one(queue: u32, work: Work) -> [Job; 1] {
    [Job::new(queue).with_work(work)]
}

fn fence_of<A: Asic>(ctx: &Context<A>, seq: u64) -> asicgen_runtime::CsFence {
    match ctx.lookup(seq) {
        Lookup::Fence(f) => f,
        other => panic!("seq {seq}: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Misuse: seqs
// ---------------------------------------------------------------------------------------------

// §3 lookup + uapi: 0 and ULLONG_MAX are never valid; seq >= S is -EINVAL ("Can't wait on CS"),
// whatever the timeout (the check comes before any sleep), with and without a token.
#[test]
fn wait_on_zero_max_and_future_seqs_is_invalid_whatever_the_timeout() {
    within(|| {
        let (_d, ctx) = virt::<Example>(|_| {});
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        assert_eq!(s, 1);
        let tok = CancelToken::new();
        for seq in [0, u64::MAX, 2, 3, u64::MAX - 1, 1 << 63] {
            for t in [POLL, Duration::from_secs(1), Duration::MAX, NEVER_TIMED] {
                for c in [None, Some(&tok)] {
                    let r = ctx.wait_cs(seq, t, c);
                    assert!(
                        matches!(r, Err(CsWaitError::InvalidSeq { seq: s2, next_seq: 2 }) if s2 == seq),
                        "seq {seq} timeout {t:?}: {r:?}"
                    );
                }
            }
            assert!(matches!(ctx.lookup(seq), Lookup::Invalid { next_seq: 2 }));
        }
    });
}

// §3: each context has its own seqs and ring: a seq handed out by another context but not by
// this one is invalid here, and a seq both handed out names this context's own CS.
#[test]
fn seqs_of_another_context_are_not_reachable() {
    within(|| {
        let (d, a) = virt::<Example>(|c| {
            c.contexts = 2;
            c.tdr_timeout = None;
        });
        let b = d.open().unwrap();
        for _ in 0..3 {
            a.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        }
        let sb = b
            .submit(&CsSubmit::new(&one(TPC_1, Work::Run(Duration::ZERO))))
            .unwrap();
        assert_eq!(sb, 1);
        d.advance(Duration::from_millis(1));
        assert!(matches!(
            b.wait_cs(2, POLL, None),
            Err(CsWaitError::InvalidSeq {
                seq: 2,
                next_seq: 2
            })
        ));
        assert!(matches!(
            b.wait_cs(3, POLL, None),
            Err(CsWaitError::InvalidSeq { .. })
        ));
        // b's seq 1 completed; a's seq 1 hangs.
        assert!(matches!(
            b.wait_cs(1, POLL, None),
            Ok(WaitStatus::Completed { gone: false, .. })
        ));
        assert_eq!(a.wait_cs(1, POLL, None), Ok(WaitStatus::Busy));
        assert_eq!(fence_of(&a, 1).poll(), None);
        assert_eq!(fence_of(&b, 1).poll(), Some(Outcome::Ok));
    });
}

// §4: a wait whose own timeout expires is status BUSY with rc 0, never an error. Virtual mode
// (documented): a wait that nothing pending can finish returns Busy instead of blocking. A
// timeout of Duration::MAX must not overflow the deadline.
#[test]
fn wait_duration_max_on_a_hung_cs_with_tdr_off_returns_busy() {
    within(|| {
        let (_d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        assert_eq!(ctx.wait_cs(s, Duration::MAX, None), Ok(WaitStatus::Busy));
        assert_eq!(ctx.wait_cs(s, NEVER_TIMED, None), Ok(WaitStatus::Busy));
        let m = ctx.wait_multi(&[s], Duration::MAX, None);
        assert_eq!(m, Ok(MultiWaitStatus::Busy));
    });
}

// §2.5/§4: a hung CS with TDR on is timed out; a wait for it with the longest timeout returns
// -ETIMEDOUT (status TIMEDOUT) once the TDR fired and the reset released it.
#[test]
fn wait_duration_max_on_a_hung_cs_with_tdr_on_reports_timed_out() {
    within(|| {
        let (d, ctx) = virt::<Example>(|_| {});
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        assert_eq!(
            ctx.wait_cs(s, Duration::MAX, None),
            Err(CsWaitError::TimedOut { seq: s })
        );
        assert_eq!(fence_of(&ctx, s).poll(), Some(Outcome::TimedOut));
        assert_eq!(d.stats().tdr_fired, 1);
    });
}

// ---------------------------------------------------------------------------------------------
// Misuse: submissions
// ---------------------------------------------------------------------------------------------

// §2.2 validate_queue_index: index >= max_queues, binned, driver_only are all -EINVAL; the
// failure comes after allocate_cs, so the seq is used up and released "not submitted" (-EBUSY),
// which a wait reports as COMPLETED; the validation counter goes up each time.
#[test]
fn binned_driver_only_and_unknown_queues_are_invalid_and_use_the_seq() {
    within(|| {
        let (d, ctx) = virt::<Example>(|_| {});
        let cases = [
            (TPC_3, QueueRejection::Binned),
            (CPU_PQ, QueueRejection::DriverOnly),
            (Example::QUEUE_ID_SIZE, QueueRejection::Unknown),
            (u32::MAX, QueueRejection::Unknown),
        ];
        for (i, (q, reason)) in cases.into_iter().enumerate() {
            let seq = i as u64 + 1;
            // The bad job is second: validation runs per chunk.
            let jobs = [Job::new(TPC_0), Job::new(q)];
            let err = ctx
                .submit(&CsSubmit::new(&jobs))
                .expect_err("invalid queue");
            assert_eq!(
                err,
                SubmitError::InvalidQueue {
                    seq,
                    job: 1,
                    queue: q,
                    reason
                },
                "queue {q}"
            );
            assert_eq!(err.errno(), -22);
            assert_eq!(fence_of(&ctx, seq).poll(), Some(Outcome::NotSubmitted));
            assert_eq!(
                ctx.wait_cs(seq, Duration::MAX, None),
                Ok(WaitStatus::Completed {
                    gone: false,
                    timestamp: None
                })
            );
        }
        assert_eq!(d.counters().validation, 4);
        assert_eq!(ctx.counters().validation, 4);
        // Nothing of the valid first job reached its queue.
        let q = d.queue(TPC_0).unwrap();
        assert_eq!((q.pi(), q.ci(), q.used_slots()), (0, 0, 0), "{q:?}");
        assert_eq!(d.stats().not_submitted, 4);
        assert_eq!(d.stats().submitted, 0);
        assert_eq!(d.stats().in_flight, 0);
        // The context still works.
        let s = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Run(Duration::ZERO))))
            .unwrap();
        assert_eq!(s, 5);
        assert!(ctx.wait_cs(s, Duration::MAX, None).unwrap().is_completed());
    });
}

// §2.2 sanity checks: a default CS with 0 chunks is -EINVAL before allocate_cs (no seq used);
// more than max_jobs_per_cs chunks is -EINVAL before allocate_cs too; exactly the maximum is fine.
#[test]
fn empty_cs_and_job_count_limits() {
    within(|| {
        let (d, ctx) = virt::<Example>(|_| {});
        assert_eq!(ctx.submit(&CsSubmit::new(&[])), Err(SubmitError::NoJobs));
        assert_eq!(ctx.next_seq(), 1);
        let max = Example::LIMITS.max_jobs_per_cs as usize;
        // Spread over the four PDMA streams (256 entries each) and TPC_0.
        let qs = [0u32, 1, 2, 3, TPC_0];
        let jobs: Vec<Job> = (0..max + 1)
            .map(|i| Job::new(qs[i % qs.len()]).with_work(Work::Run(Duration::ZERO)))
            .collect();
        let err = ctx.submit(&CsSubmit::new(&jobs)).expect_err("too many");
        assert_eq!(
            err,
            SubmitError::TooManyJobs {
                jobs: max + 1,
                max: max as u32
            }
        );
        assert_eq!(err.consumed_seq(), None);
        assert_eq!(ctx.next_seq(), 1);
        let s = ctx
            .submit(&CsSubmit::new(&jobs[..max]))
            .expect("exactly the maximum");
        assert_eq!(s, 1);
        assert!(
            ctx.wait_cs(s, Duration::from_secs(1), None)
                .unwrap()
                .is_completed()
        );
        // A huge CS is refused the same way, without trouble.
        let huge = vec![Job::new(TPC_0); 1 << 20];
        assert!(matches!(
            ctx.submit(&CsSubmit::new(&huge)),
            Err(SubmitError::TooManyJobs { .. })
        ));
        assert_eq!(d.stats().in_flight, 0);
    });
}

// §2.2.3 / §2.5: HL_CS_FLAGS_CUSTOM_TIMEOUT. A timeout of 0 fires the TDR as soon as the CS
// is the oldest in flight; Duration::MAX (>= MAX_SCHEDULE_TIMEOUT) means never timed. Neither
// may overflow the deadline. A never-timed hung CS at the head keeps the TDR off for the
// whole device (one timer, on the head), and a reset releases it as aborted.
#[test]
fn per_cs_timeouts_zero_and_max() {
    within(|| {
        let (d, ctx) = virt::<Example>(|_| {});
        let s0 = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Hang)).with_timeout(Duration::ZERO))
            .unwrap();
        d.advance(Duration::ZERO);
        d.advance(Duration::from_nanos(1));
        assert_eq!(fence_of(&ctx, s0).poll(), Some(Outcome::TimedOut));
        assert_eq!(
            ctx.wait_cs(s0, POLL, None),
            Err(CsWaitError::TimedOut { seq: s0 })
        );

        let s1 = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Hang)).with_timeout(Duration::MAX))
            .unwrap();
        let s2 = ctx
            .submit(&CsSubmit::new(&one(TPC_1, Work::Hang)).with_timeout(Duration::ZERO))
            .unwrap();
        d.advance(Duration::from_secs(3600));
        d.run_until_idle();
        assert_eq!(fence_of(&ctx, s1).poll(), None, "never timed");
        // s2 is not the head: its TDR is not armed while s1 is in flight.
        assert_eq!(fence_of(&ctx, s2).poll(), None);
        assert_eq!(ctx.wait_cs(s1, Duration::MAX, None), Ok(WaitStatus::Busy));
        d.reset();
        assert_eq!(fence_of(&ctx, s1).poll(), Some(Outcome::Aborted));
        assert_eq!(fence_of(&ctx, s2).poll(), Some(Outcome::Aborted));
        assert_eq!(
            ctx.wait_cs(s1, POLL, None),
            Err(CsWaitError::Aborted { seq: s1 })
        );
        // A CS with Duration::MAX that completes is just ok.
        let s3 = ctx
            .submit(
                &CsSubmit::new(&one(TPC_0, Work::Run(Duration::from_micros(5))))
                    .with_timeout(Duration::MAX),
            )
            .unwrap();
        assert!(ctx.wait_cs(s3, Duration::MAX, None).unwrap().is_completed());
        assert_eq!(d.stats().in_flight, 0);
    });
}

// §2.2 / §2.5: a job whose run time is absurd (Duration::MAX) is a job that never finishes
// (documented: >= 2^62 ns means never); the device clock must not overflow, the TDR times it out.
#[test]
fn job_running_for_duration_max_is_timed_out_not_overflowed() {
    within(|| {
        let (d, ctx) = virt::<Example>(|_| {});
        let s = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Run(Duration::MAX))))
            .unwrap();
        assert_eq!(
            ctx.wait_cs(s, Duration::MAX, None),
            Err(CsWaitError::TimedOut { seq: s })
        );
        let s2 = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_micros(1)),
            )))
            .unwrap();
        assert!(ctx.wait_cs(s2, Duration::MAX, None).unwrap().is_completed());
        assert!(d.now().as_nanos() < (1u64 << 62));
    });
}

// ---------------------------------------------------------------------------------------------
// Misuse: multi-CS waits
// ---------------------------------------------------------------------------------------------

// §4 multi-CS: seq_arr_len must be 1..=32 (-EINVAL otherwise); only on multi_cs_wait
// generations (-EPERM); one bit per array index, so duplicates set both bits; a bad seq fails
// the call with -EINVAL.
#[test]
fn multi_cs_wait_lengths_duplicates_and_bad_seqs() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let mut seqs = Vec::new();
        for _ in 0..33 {
            seqs.push(
                ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Run(Duration::ZERO))))
                    .unwrap(),
            );
        }
        d.advance(Duration::from_millis(1));
        assert_eq!(
            ctx.wait_multi(&[], POLL, None),
            Err(CsWaitError::BadSeqCount { len: 0 })
        );
        assert_eq!(
            ctx.wait_multi(&seqs, POLL, None),
            Err(CsWaitError::BadSeqCount { len: 33 })
        );
        let big = vec![1u64; 300];
        assert_eq!(
            ctx.wait_multi(&big, POLL, None),
            Err(CsWaitError::BadSeqCount { len: 300 })
        );
        let r = ctx.wait_multi(&seqs[..32], POLL, None);
        assert!(
            // §4: FLAG_GONE is set when no timestamp exists (none was asked for here).
            matches!(
                r,
                Ok(MultiWaitStatus::Completed {
                    bitmap: u32::MAX,
                    gone: true,
                    timestamp: None
                })
            ),
            "{r:?}"
        );
        assert!(matches!(
            ctx.wait_multi(&seqs[..1], POLL, None),
            Ok(MultiWaitStatus::Completed { bitmap: 1, .. })
        ));
        assert!(matches!(
            ctx.wait_multi(&[5, 5, 5], POLL, None),
            Ok(MultiWaitStatus::Completed { bitmap: 0b111, .. })
        ));
        let dup32 = [7u64; 32];
        assert!(matches!(
            ctx.wait_multi(&dup32, Duration::MAX, None),
            Ok(MultiWaitStatus::Completed {
                bitmap: u32::MAX,
                ..
            })
        ));
        for bad in [0u64, u64::MAX, 34, 35] {
            assert!(
                matches!(
                    ctx.wait_multi(&[1, bad], Duration::MAX, None),
                    Err(CsWaitError::InvalidSeq { .. })
                ),
                "bad seq {bad}"
            );
        }
        // A hung one and a done one: the done one's bit only.
        let h = ctx.submit(&CsSubmit::new(&one(TPC_1, Work::Hang))).unwrap();
        assert!(matches!(
            ctx.wait_multi(&[h, 3], Duration::MAX, None),
            Ok(MultiWaitStatus::Completed { bitmap: 0b10, .. })
        ));
        assert_eq!(
            ctx.wait_multi(&[h, h], POLL, None),
            Ok(MultiWaitStatus::Busy)
        );
        let (_g, gctx) = virt::<Goya>(|_| {});
        gctx.submit(&CsSubmit::new(&[Job::new(completing_queue::<Goya>())]))
            .unwrap();
        assert_eq!(
            gctx.wait_multi(&[1], POLL, None),
            Err(CsWaitError::NotSupported)
        );
    });
}

// §4 multi-CS: the earliest completion timestamp is reported; GONE entries set their bit.
#[test]
fn multi_cs_wait_gone_entries_and_earliest_timestamp() {
    within(|| {
        let (d, ctx) = virt::<Example>(|_| {});
        let n = Example::LIMITS.max_pending_cs as u64;
        for _ in 0..n + 2 {
            ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Run(Duration::ZERO))))
                .unwrap();
            d.advance(Duration::ZERO);
        }
        // Seq 1 is gone now (1 + 64 < 67).
        assert!(matches!(ctx.lookup(1), Lookup::Gone));
        let a = ctx
            .submit(
                &CsSubmit::new(&one(TPC_0, Work::Run(Duration::from_micros(30)))).with_timestamp(),
            )
            .unwrap();
        let b = ctx
            .submit(
                &CsSubmit::new(&one(TPC_1, Work::Run(Duration::from_micros(10)))).with_timestamp(),
            )
            .unwrap();
        d.advance(Duration::from_millis(1));
        let ta = fence_of(&ctx, a).signalled().unwrap().timestamp.unwrap();
        let tb = fence_of(&ctx, b).signalled().unwrap().timestamp.unwrap();
        assert!(tb < ta);
        assert_eq!(
            ctx.wait_multi(&[a, b], POLL, None),
            Ok(MultiWaitStatus::Completed {
                bitmap: 0b11,
                timestamp: Some(tb),
                gone: false
            })
        );
        // §4: the GONE entry sets its bit; FLAG_GONE goes with "no timestamp".
        let r = ctx.wait_multi(&[1, a], POLL, None);
        match r {
            Ok(MultiWaitStatus::Completed {
                bitmap: 0b11,
                gone,
                timestamp,
            }) => {
                assert_eq!(gone, timestamp.is_none(), "{r:?}")
            }
            other => panic!("{other:?}"),
        }
        let r = ctx.wait_multi(&[1], POLL, None);
        assert_eq!(
            r,
            Ok(MultiWaitStatus::Completed {
                bitmap: 1,
                gone: true,
                timestamp: None
            })
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Races with teardown and reset
// ---------------------------------------------------------------------------------------------

// §2.6 / device docs: dropping the last Device handle rolls back every CS in flight (aborted)
// and every waiter returns; handles that outlive the device get "device not operational".
#[test]
fn fence_waiter_returns_when_the_device_is_dropped() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let f = fence_of(&ctx, s);
        let f2 = f.clone();
        let rx = spawn_waiter(move || f2.wait());
        thread::sleep(Duration::from_millis(20));
        drop(d);
        assert_eq!(recv(&rx, "fence waiter"), Outcome::Aborted);
        assert_eq!(f.poll(), Some(Outcome::Aborted));
        assert_eq!(
            ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Default))),
            Err(SubmitError::DeviceNotOperational)
        );
        assert_eq!(
            ctx.wait_cs(s, POLL, None),
            Err(CsWaitError::DeviceNotOperational)
        );
        assert_eq!(
            ctx.wait_cs(s, Duration::MAX, None),
            Err(CsWaitError::DeviceNotOperational)
        );
        assert_eq!(
            ctx.wait_multi(&[s], Duration::MAX, None),
            Err(CsWaitError::DeviceNotOperational)
        );
        // Lookups still work on the context's ring.
        assert!(matches!(ctx.lookup(s), Lookup::Fence(_)));
        drop(ctx);
        drop(f);
    });
}

// Same, real clock: a thread in wait_cs with a "forever" timeout while the last Device handle
// is dropped (the Runner still running) must return.
#[test]
fn wait_cs_forever_returns_when_the_device_is_dropped_real_clock() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let ctx = Arc::new(ctx);
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let c2 = Arc::clone(&ctx);
        let rx = spawn_waiter(move || c2.wait_cs(s, FOREVER, None));
        let c3 = Arc::clone(&ctx);
        let rx_m = spawn_waiter(move || c3.wait_multi(&[s], FOREVER, None));
        thread::sleep(Duration::from_millis(50));
        drop(d);
        let r = recv(&rx, "wait_cs");
        assert!(
            matches!(
                r,
                Err(CsWaitError::Aborted { .. }) | Err(CsWaitError::DeviceNotOperational)
            ),
            "{r:?}"
        );
        let r = recv(&rx_m, "wait_multi");
        assert!(
            matches!(
                r,
                Err(CsWaitError::Aborted { .. }) | Err(CsWaitError::DeviceNotOperational)
            ),
            "{r:?}"
        );
        assert_eq!(fence_of(&ctx, s).poll(), Some(Outcome::Aborted));
        runner.stop();
    });
}

// hl_ctx_fini: closing a context rolls back its CSs in flight (aborted) and every waiter
// returns, including a thread holding only a fence handle; other contexts are untouched.
#[test]
fn fence_waiter_returns_when_the_context_is_closed() {
    within(|| {
        let (d, a) = virt::<Example>(|c| {
            c.contexts = 2;
            c.tdr_timeout = None;
        });
        let b = d.open().unwrap();
        let sa = a.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let sb = b.submit(&CsSubmit::new(&one(TPC_1, Work::Hang))).unwrap();
        let fa = fence_of(&a, sa);
        let fb = fence_of(&b, sb);
        let fa2 = fa.clone();
        let rx = spawn_waiter(move || fa2.wait());
        thread::sleep(Duration::from_millis(20));
        a.close();
        assert_eq!(recv(&rx, "fence waiter"), Outcome::Aborted);
        assert_eq!(fb.poll(), None, "the other context's CS is untouched");
        assert_eq!(d.stats().in_flight, 1);
        // The queue space of the closed context's CS was given back.
        let q0 = d.queue(TPC_0).unwrap();
        assert_eq!(q0.used_slots(), 0, "{q0:?}");
        assert_eq!(d.queue(TPC_1).unwrap().used_slots(), 1);
        d.reset();
        assert_eq!(fb.poll(), Some(Outcome::Aborted));
    });
}

// Real clock: a thread in wait_cs(FOREVER) on a context while another thread drops (closes)
// that context. Context is Sync and shared by reference, so the close must wait for the
// borrower; here the only way to race it is a fence handle plus a wait_cs on a second handle.
#[test]
fn wait_cs_forever_returns_when_the_device_resets_real_clock() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let ctx = Arc::new(ctx);
        let mut rxs = Vec::new();
        let mut seqs = Vec::new();
        for q in [TPC_0, TPC_1, PDMA_0_0] {
            let s = ctx.submit(&CsSubmit::new(&one(q, Work::Hang))).unwrap();
            seqs.push(s);
            let c = Arc::clone(&ctx);
            rxs.push(spawn_waiter(move || c.wait_cs(s, FOREVER, None)));
            let f = fence_of(&ctx, s);
            rxs.push(spawn_waiter(move || match f.wait() {
                Outcome::Aborted => Err(CsWaitError::Aborted { seq: s }),
                o => panic!("{o:?}"),
            }));
        }
        let c = Arc::clone(&ctx);
        let all = seqs.clone();
        let rx_m = spawn_waiter(move || c.wait_multi(&all, FOREVER, None));
        thread::sleep(Duration::from_millis(50));
        d.reset();
        for rx in &rxs {
            let r = recv(rx, "waiter");
            assert!(matches!(r, Err(CsWaitError::Aborted { .. })), "{r:?}");
        }
        let r = recv(&rx_m, "multi waiter");
        assert!(matches!(r, Err(CsWaitError::Aborted { .. })), "{r:?}");
        // The device takes work again.
        let s = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_micros(10)),
            )))
            .unwrap();
        assert!(ctx.wait_cs(s, FOREVER, None).unwrap().is_completed());
        drop(runner);
    });
}

// §4: -ERESTARTSYS / -EINTR: a cancelled token interrupts a sleeping wait; cancelled before the
// wait, the wait is interrupted at once (unless it is a poll, which never sleeps); cancelled
// after completion, the wait reports the completion.
#[test]
fn cancellation_before_during_and_after_real_clock() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let ctx = Arc::new(ctx);
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        // Before.
        let tok = CancelToken::new();
        tok.cancel();
        assert_eq!(
            ctx.wait_cs(s, FOREVER, Some(&tok)),
            Err(CsWaitError::Interrupted)
        );
        assert_eq!(ctx.wait_cs(s, POLL, Some(&tok)), Ok(WaitStatus::Busy));
        assert_eq!(
            ctx.wait_multi(&[s], FOREVER, Some(&tok)),
            Err(CsWaitError::Interrupted)
        );
        // During.
        let tok = Arc::new(CancelToken::new());
        let (c, t) = (Arc::clone(&ctx), Arc::clone(&tok));
        let rx = spawn_waiter(move || c.wait_cs(s, FOREVER, Some(&t)));
        let (c, t) = (Arc::clone(&ctx), Arc::clone(&tok));
        let rx_m = spawn_waiter(move || c.wait_multi(&[s], FOREVER, Some(&t)));
        thread::sleep(Duration::from_millis(50));
        tok.cancel();
        assert_eq!(recv(&rx, "wait_cs"), Err(CsWaitError::Interrupted));
        assert_eq!(recv(&rx_m, "wait_multi"), Err(CsWaitError::Interrupted));
        // The interrupted waits left nothing behind: both multi-CS slots are free again.
        let t3 = CancelToken::new();
        t3.cancel();
        for _ in 0..3 {
            assert_eq!(
                ctx.wait_multi(&[s], FOREVER, Some(&t3)),
                Err(CsWaitError::Interrupted)
            );
        }
        // After.
        let s2 = ctx
            .submit(&CsSubmit::new(&one(
                TPC_1,
                Work::Run(Duration::from_micros(10)),
            )))
            .unwrap();
        assert!(ctx.wait_cs(s2, FOREVER, None).unwrap().is_completed());
        let tok = CancelToken::new();
        tok.cancel();
        assert!(ctx.wait_cs(s2, FOREVER, Some(&tok)).unwrap().is_completed());
        assert!(matches!(
            ctx.wait_multi(&[s2], FOREVER, Some(&tok)),
            Ok(MultiWaitStatus::Completed { bitmap: 1, .. })
        ));
        d.reset();
        assert_eq!(
            ctx.wait_cs(s, FOREVER, Some(&tok)),
            Err(CsWaitError::Aborted { seq: s })
        );
        runner.stop();
    });
}

// Virtual clock: a cancelled token interrupts a wait that would have to advance virtual time.
#[test]
fn cancellation_virtual_clock() {
    within(|| {
        let (_d, ctx) = virt::<Example>(|_| {});
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let tok = CancelToken::new();
        tok.cancel();
        assert_eq!(
            ctx.wait_cs(s, Duration::MAX, Some(&tok)),
            Err(CsWaitError::Interrupted)
        );
        assert_eq!(ctx.wait_cs(s, POLL, Some(&tok)), Ok(WaitStatus::Busy));
        assert_eq!(
            fence_of(&ctx, s).poll(),
            None,
            "an interrupted wait did not run the TDR"
        );
    });
}

// §4 multi-CS: at most MULTI_CS_MAX_USER_CTX = 2 multi-waits at once; a third gets -ENOMEM.
// When the two sleeping ones return (reset), the slots are free again.
#[test]
fn third_concurrent_multi_wait_gets_no_slot_real_clock() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let ctx = Arc::new(ctx);
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let mut rxs = Vec::new();
        for _ in 0..2 {
            let c = Arc::clone(&ctx);
            rxs.push(spawn_waiter(move || c.wait_multi(&[s], FOREVER, None)));
        }
        thread::sleep(Duration::from_millis(100));
        assert_eq!(
            ctx.wait_multi(&[s], FOREVER, None),
            Err(CsWaitError::NoMultiWaitSlot)
        );
        d.reset();
        for rx in &rxs {
            let r = recv(rx, "multi waiter");
            assert_eq!(r, Err(CsWaitError::Aborted { seq: s }));
        }
        let s2 = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_micros(10)),
            )))
            .unwrap();
        assert!(matches!(
            ctx.wait_multi(&[s2], FOREVER, None),
            Ok(MultiWaitStatus::Completed { bitmap: 1, .. })
        ));
        runner.stop();
    });
}

// §2.6: a reset racing submitters on several threads: every CS that got a seq ends in exactly
// one terminal state, every waiter returns, nothing stays in flight, released == submitted +
// not_submitted, and every fence is released at the end.
#[test]
fn resets_during_submits_from_several_threads_real_clock() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = Some(Duration::from_millis(20)));
        let ctx = Arc::new(ctx);
        let threads = 3;
        let barrier = Arc::new(Barrier::new(threads + 1));
        let mut hs = Vec::new();
        for t in 0..threads {
            let c = Arc::clone(&ctx);
            let b = Arc::clone(&barrier);
            hs.push(thread::spawn(move || {
                b.wait();
                let qs = [PDMA_0_0, PDMA_1_0, TPC_0, TPC_1];
                let mut tally = [0u64; 6];
                for i in 0..300u64 {
                    let work = match (i + t as u64) % 7 {
                        0 => Work::Hang,
                        1 => Work::Fault,
                        _ => Work::Run(Duration::from_micros(20)),
                    };
                    let q = qs[(i as usize + t) % qs.len()];
                    let jobs = [Job::new(q).with_work(work), Job::new(ROT_0)];
                    match c.submit(&CsSubmit::new(&jobs)) {
                        Ok(seq) => loop {
                            match c.wait_cs(seq, FOREVER, None) {
                                Ok(WaitStatus::Completed { gone: false, .. }) => tally[0] += 1,
                                Err(CsWaitError::TimedOut { .. }) => tally[1] += 1,
                                Err(CsWaitError::Aborted { .. }) => tally[2] += 1,
                                Err(CsWaitError::DeviceNotOperational) => {
                                    thread::yield_now();
                                    continue;
                                }
                                other => panic!("CS {seq}: {other:?}"),
                            }
                            break;
                        },
                        Err(SubmitError::DeviceNotOperational) => tally[3] += 1,
                        Err(e) if e.consumed_seq().is_some() => {
                            let seq = e.consumed_seq().unwrap();
                            // Poll the fence: released "not submitted" (or gone).
                            match c.lookup(seq) {
                                Lookup::Fence(f) => {
                                    assert_eq!(f.poll(), Some(Outcome::NotSubmitted), "{e:?}")
                                }
                                Lookup::Gone => {}
                                other => panic!("{e:?}: {other:?}"),
                            }
                            tally[4] += 1
                        }
                        Err(e) if e.is_try_again() => tally[5] += 1,
                        Err(e) => panic!("submit: {e:?}"),
                    }
                }
                tally
            }));
        }
        barrier.wait();
        for _ in 0..40 {
            d.reset();
            thread::sleep(Duration::from_millis(2));
        }
        let mut total = [0u64; 6];
        for h in hs {
            let t = h.join().expect("submitter");
            for i in 0..6 {
                total[i] += t[i];
            }
        }
        runner.stop();
        let st = d.stats();
        assert_eq!(st.in_flight, 0, "{st:?}");
        assert_eq!(st.released(), st.submitted + st.not_submitted, "{st:?}");
        assert_eq!(st.lifecycle_violations, 0);
        assert_eq!(total[0], st.completed, "{total:?} {st:?}");
        assert_eq!(total[1], st.timed_out, "{total:?} {st:?}");
        assert_eq!(total[2], st.aborted, "{total:?} {st:?}");
        drop(ctx);
        assert_eq!(d.live_fences(), 0);
    });
}

// Runner stop mid-flight (device docs: the engines stopped, nothing would ever complete the CSs
// in flight, so they are rolled back as a reset does): every waiter returns aborted.
#[test]
fn runner_stop_mid_flight_aborts_and_wakes_waiters() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let ctx = Arc::new(ctx);
        let mut rxs = Vec::new();
        for (q, w) in [
            (TPC_0, Work::Hang),
            (TPC_1, Work::Run(Duration::from_secs(3600))),
            (PDMA_0_0, Work::Run(Duration::from_secs(3600))),
        ] {
            let s = ctx.submit(&CsSubmit::new(&one(q, w))).unwrap();
            let c = Arc::clone(&ctx);
            rxs.push(spawn_waiter(move || c.wait_cs(s, FOREVER, None)));
            let f = fence_of(&ctx, s);
            rxs.push(spawn_waiter(move || match f.wait() {
                Outcome::Aborted => Err(CsWaitError::Aborted { seq: s }),
                o => panic!("{o:?}"),
            }));
        }
        thread::sleep(Duration::from_millis(50));
        runner.stop();
        for rx in &rxs {
            let r = recv(rx, "waiter");
            assert!(matches!(r, Err(CsWaitError::Aborted { .. })), "{r:?}");
        }
        assert_eq!(d.stats().in_flight, 0);
        // A new runner: the device works again, seqs go on.
        let runner = Runner::start(&d).expect("again");
        let s = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_micros(10)),
            )))
            .unwrap();
        assert_eq!(s, 4);
        assert!(ctx.wait_cs(s, FOREVER, None).unwrap().is_completed());
        drop(runner); // drop, not stop
        drop(d);
    });
}

// Runner outliving its device: dropping the last Device handle while the Runner runs, then
// stopping the Runner, must neither hang nor panic; a Runner cannot be started after teardown.
#[test]
fn runner_outlives_device() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|_| {});
        let s = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_millis(1)),
            )))
            .unwrap();
        let d2 = d.clone();
        drop(d);
        assert!(
            ctx.wait_cs(s, FOREVER, None).unwrap().is_completed(),
            "a clone keeps it alive"
        );
        drop(d2);
        runner.stop();
        drop(ctx);
    });
}

// ---------------------------------------------------------------------------------------------
// Counts at their limits
// ---------------------------------------------------------------------------------------------

// §3 allocate_cs: exactly max_pending_cs CSs fit; one more is -EAGAIN with nothing used up;
// after the slot's CS is released the slot is reused; the old seq is then "gone"; a fence handle
// taken before keeps its own seq and outcome (a stale handle never sees a later CS).
#[test]
fn ring_fill_one_more_and_slot_reuse() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let n = ctx.ring_len();
        assert_eq!(n, Example::LIMITS.max_pending_cs as u64);
        let qs = [PDMA_0_0, 1, PDMA_1_0, 3, TPC_0, TPC_1];
        for i in 0..n {
            let s = ctx
                .submit(&CsSubmit::new(&one(qs[i as usize % qs.len()], Work::Hang)))
                .expect("room in the ring");
            assert_eq!(s, i + 1);
        }
        let held = fence_of(&ctx, 1);
        for _ in 0..3 {
            assert_eq!(
                ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Default))),
                Err(SubmitError::TooManyInFlight {
                    next_seq: n + 1,
                    pending_seq: 1
                })
            );
        }
        assert_eq!(ctx.next_seq(), n + 1);
        assert_eq!(ctx.counters().max_cs_in_flight, 3);
        d.reset();
        assert_eq!(held.poll(), Some(Outcome::Aborted));
        let s = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Run(Duration::ZERO))))
            .unwrap();
        assert_eq!(s, n + 1);
        d.advance(Duration::from_millis(1));
        // The handle on seq 1 still reports seq 1, aborted.
        assert_eq!(held.seq(), 1);
        assert_eq!(held.poll(), Some(Outcome::Aborted));
        assert_eq!(held.wait(), Outcome::Aborted);
        assert!(matches!(ctx.lookup(1), Lookup::Gone));
        assert_eq!(
            ctx.wait_cs(1, POLL, None),
            Ok(WaitStatus::Completed {
                gone: true,
                timestamp: None
            })
        );
        match ctx.lookup(n + 1) {
            Lookup::Fence(f) => {
                assert_eq!(f.seq(), n + 1);
                assert_eq!(f.poll(), Some(Outcome::Ok));
            }
            other => panic!("{other:?}"),
        }
        // Many more wraps of the ring.
        for _ in 0..5 * n {
            let s = ctx
                .submit(&CsSubmit::new(&one(TPC_1, Work::Run(Duration::ZERO))))
                .unwrap();
            assert!(ctx.wait_cs(s, Duration::MAX, None).unwrap().is_completed());
        }
        assert_eq!(held.poll(), Some(Outcome::Aborted));
        drop(held);
        drop(ctx);
        assert_eq!(d.live_fences(), 0);
    });
}

// §6 hw_queue_sanity_checks: a queue holds exactly pq_len jobs; one more is -EAGAIN (queue
// full), bumps queue_full, leaves the queue as it was; after a reset (pointers back to 0) the
// queue takes work again. An internal queue shorter than a CS's jobs for it is -ENOMEM.
#[test]
fn queue_fill_exactly_and_one_more() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let len = Example::QUEUES
            .iter()
            .find(|q| q.id == TPC_0)
            .unwrap()
            .pq_len as usize;
        assert_eq!(len, 64);
        let jobs = vec![Job::new(TPC_0).with_work(Work::Hang); len];
        let s1 = ctx.submit(&CsSubmit::new(&jobs)).expect("exactly full");
        let before = d.queue(TPC_0).unwrap();
        assert_eq!(before.free_slots(), 0);
        let err = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Default)))
            .expect_err("full");
        assert!(
            matches!(
                err,
                SubmitError::QueueFull {
                    seq: 2,
                    queue: TPC_0,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.is_try_again());
        let after = d.queue(TPC_0).unwrap();
        assert_eq!((after.pi(), after.ci()), (before.pi(), before.ci()));
        assert_eq!(d.counters().queue_full, 1);
        assert_eq!(fence_of(&ctx, 2).poll(), Some(Outcome::NotSubmitted));
        // Another queue is unaffected.
        let s3 = ctx
            .submit(&CsSubmit::new(&one(TPC_1, Work::Run(Duration::ZERO))))
            .unwrap();
        assert!(ctx.wait_cs(s3, Duration::MAX, None).unwrap().is_completed());
        d.reset();
        assert_eq!(fence_of(&ctx, s1).poll(), Some(Outcome::Aborted));
        let s4 = ctx
            .submit(&CsSubmit::new(&jobs[..1]))
            .expect("room after the reset");
        assert_eq!(s4, 4);
        // Internal queue: pq_len 32; 32 jobs fit; 33 are -ENOMEM.
        let ilen = Example::QUEUES
            .iter()
            .find(|q| q.id == ROT_0)
            .unwrap()
            .pq_len as usize;
        let mut jobs: Vec<Job> = vec![Job::new(ROT_0); ilen];
        jobs.push(Job::new(TPC_1).with_work(Work::Run(Duration::ZERO)));
        let s5 = ctx
            .submit(&CsSubmit::new(&jobs))
            .expect("internal queue exactly full");
        assert!(ctx.wait_cs(s5, Duration::MAX, None).unwrap().is_completed());
        jobs.push(Job::new(ROT_0));
        let err = ctx
            .submit(&CsSubmit::new(&jobs))
            .expect_err("internal queue too short");
        assert!(
            matches!(err, SubmitError::QueueFull { queue: ROT_0, .. }),
            "{err:?}"
        );
        assert_eq!(err.errno(), -12, "{err:?}");
        // Only internal jobs: -EINVAL.
        let err = ctx
            .submit(&CsSubmit::new(&[Job::new(ROT_0)]))
            .expect_err("only internal");
        assert!(
            matches!(err, SubmitError::OnlyInternalJobs { .. }),
            "{err:?}"
        );
    });
}

// §6: the internal queue's ci moves on when its CS is released (hl_hw_queue_update_ci), so a
// stream of CSs each using the whole internal queue never finds it full.
#[test]
fn internal_queue_space_is_given_back_on_release() {
    within(|| {
        let (_d, ctx) = virt::<Example>(|_| {});
        let mut jobs: Vec<Job> = vec![Job::new(ROT_0); 32];
        jobs.push(Job::new(TPC_0).with_work(Work::Run(Duration::ZERO)));
        for _ in 0..10 {
            let s = ctx.submit(&CsSubmit::new(&jobs)).expect("room");
            assert!(ctx.wait_cs(s, Duration::MAX, None).unwrap().is_completed());
        }
    });
}

// Gaudi external queues (§6 ext_queue_sanity_checks): a CS whose later queue is full has its
// CQ reservations on earlier queues undone: the earlier queue's CQ free count is unchanged.
#[test]
fn cq_reservation_undone_when_a_later_queue_is_full() {
    within(|| {
        let (d, ctx) = virt::<Gaudi>(|c| c.tdr_timeout = None);
        let ((q0, cq0), (q1, _cq1)) = two_external::<Gaudi>().expect("two external queues");
        let max = Gaudi::LIMITS.max_jobs_per_cs as usize;
        let len = Gaudi::QUEUES.iter().find(|q| q.id == q1).unwrap().pq_len as usize;
        // Fill q1 exactly with hung jobs, in CSs of at most max jobs.
        let mut left = len;
        while left > 0 {
            let k = left.min(max);
            let jobs = vec![Job::new(q1).with_work(Work::Hang); k];
            ctx.submit(&CsSubmit::new(&jobs)).expect("room");
            left -= k;
        }
        let free0 = d.completion_queue_free(cq0).unwrap();
        let q0_before = d.queue(q0).unwrap();
        let err = ctx
            .submit(&CsSubmit::new(&[Job::new(q0), Job::new(q0), Job::new(q1)]))
            .expect_err("q1 full");
        assert!(
            matches!(err, SubmitError::QueueFull { queue, .. } if queue == q1),
            "{err:?}"
        );
        assert_eq!(d.completion_queue_free(cq0).unwrap(), free0);
        let q0_after = d.queue(q0).unwrap();
        assert_eq!(
            (q0_after.pi(), q0_after.ci()),
            (q0_before.pi(), q0_before.ci())
        );
        d.reset();
        assert_eq!(d.stats().in_flight, 0);
    });
}

// hl_ctx_init: at most `contexts` open at once; one more is refused; closing one frees its slot,
// and the context opened in it starts at seq 1 with an empty ring.
#[test]
fn open_maximum_contexts_and_one_more() {
    within(|| {
        let mut cfg = DeviceConfig::for_asic::<Example>();
        cfg.contexts = 8;
        let d = Device::<Example>::new(cfg).unwrap();
        let mut ctxs: Vec<_> = (0..8).map(|_| d.open().expect("free context")).collect();
        assert_eq!(d.open_contexts(), 8);
        assert_eq!(
            d.open().map(|_| ()),
            Err(OpenError::NoFreeContext { limit: 8 })
        );
        for c in &ctxs {
            c.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        }
        let gone = ctxs.remove(3);
        let id = gone.id();
        drop(gone);
        assert_eq!(d.open_contexts(), 7);
        let again = d.open().expect("a freed slot");
        assert_eq!(again.id(), id);
        assert_eq!(again.next_seq(), 1);
        assert!(matches!(again.lookup(1), Lookup::Invalid { next_seq: 1 }));
        assert_eq!(
            d.open().map(|_| ()),
            Err(OpenError::NoFreeContext { limit: 8 })
        );
        // Repeated open/close cycles leak nothing.
        drop(again);
        for _ in 0..200 {
            let c = d.open().unwrap();
            let s = c.submit(&CsSubmit::new(&one(TPC_1, Work::Hang))).unwrap();
            assert_eq!(s, 1);
        }
        drop(ctxs);
        assert_eq!(d.open_contexts(), 0);
        assert_eq!(d.live_fences(), 0);
        assert_eq!(d.stats().in_flight, 0);
    });
}

// Bad device configurations are refused, not panicked on.
#[test]
fn bad_device_configs_are_refused() {
    within(|| {
        let mut cfg = DeviceConfig::for_asic::<Example>();
        cfg.contexts = 0;
        assert_eq!(
            Device::<Example>::new(cfg).map(|_| ()).unwrap_err(),
            DeviceError::NoContexts
        );
        for lanes in [0usize, 65, usize::MAX] {
            let mut cfg = DeviceConfig::for_asic::<Example>();
            cfg.sim.lanes = lanes;
            assert_eq!(
                Device::<Example>::new(cfg).map(|_| ()).unwrap_err(),
                DeviceError::BadLaneCount { lanes }
            );
        }
        // A zero TDR timeout on the device: every CS times out as soon as it is the head.
        let mut cfg = DeviceConfig::for_asic::<Example>();
        cfg.tdr_timeout = Some(Duration::ZERO);
        let d = Device::<Example>::new(cfg).unwrap();
        let ctx = d.open().unwrap();
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        assert_eq!(
            ctx.wait_cs(s, Duration::MAX, None),
            Err(CsWaitError::TimedOut { seq: s })
        );
        // A device TDR of Duration::MAX: never timed.
        let mut cfg = DeviceConfig::for_asic::<Example>();
        cfg.tdr_timeout = Some(Duration::MAX);
        let d = Device::<Example>::new(cfg).unwrap();
        let ctx = d.open().unwrap();
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        assert_eq!(ctx.wait_cs(s, Duration::MAX, None), Ok(WaitStatus::Busy));
        assert_eq!(d.armed_tdr(), None);
        // Runner on a virtual device.
        assert!(Runner::start(&d).is_err());
    });
}

// ---------------------------------------------------------------------------------------------
// Terminal states
// ---------------------------------------------------------------------------------------------

// §2.6: timedout is checked before aborted: a CS that timed out and was then rolled back reports
// -ETIMEDOUT. Without reset_on_lockup the device needs a reset: submits get -EBUSY, waits -EBUSY,
// until reset; then the fence says timed out and the device takes work.
#[test]
fn timed_out_then_reset_stays_timed_out() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.reset_on_lockup = false);
        let s1 = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let s2 = ctx.submit(&CsSubmit::new(&one(TPC_1, Work::Hang))).unwrap();
        let f1 = fence_of(&ctx, s1);
        d.advance(Example::LIMITS.cs_timeout + Duration::from_millis(1));
        assert!(d.stats().needs_reset);
        assert!(!d.is_operational());
        assert_eq!(f1.poll(), None, "the TDR itself does not signal");
        assert_eq!(
            ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Default))),
            Err(SubmitError::DeviceNotOperational)
        );
        assert_eq!(
            ctx.wait_cs(s1, Duration::MAX, None),
            Err(CsWaitError::DeviceNotOperational)
        );
        d.reset();
        assert_eq!(f1.poll(), Some(Outcome::TimedOut));
        assert_eq!(fence_of(&ctx, s2).poll(), Some(Outcome::Aborted));
        assert_eq!(
            ctx.wait_cs(s1, POLL, None),
            Err(CsWaitError::TimedOut { seq: s1 })
        );
        assert_eq!(
            ctx.wait_cs(s2, POLL, None),
            Err(CsWaitError::Aborted { seq: s2 })
        );
        assert!(d.is_operational());
        let s3 = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Run(Duration::ZERO))))
            .unwrap();
        assert!(ctx.wait_cs(s3, Duration::MAX, None).unwrap().is_completed());
    });
}

// mark_needs_reset while a thread waits (real clock): the waiter keeps waiting or returns, but
// a following reset wakes it; nothing hangs.
#[test]
fn mark_needs_reset_then_reset_wakes_waiters_real_clock() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let ctx = Arc::new(ctx);
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let c = Arc::clone(&ctx);
        let rx = spawn_waiter(move || c.wait_cs(s, FOREVER, None));
        thread::sleep(Duration::from_millis(30));
        d.mark_needs_reset();
        assert_eq!(
            ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Default))),
            Err(SubmitError::DeviceNotOperational)
        );
        d.reset();
        let r = recv(&rx, "waiter");
        assert!(
            matches!(
                r,
                Err(CsWaitError::Aborted { .. }) | Err(CsWaitError::DeviceNotOperational)
            ),
            "{r:?}"
        );
        runner.stop();
    });
}

// Every CS ends in exactly one terminal state, and its fence is signalled exactly once: a mix of
// completions, hangs, faults, TDRs, bad queues, resets and a context close on the virtual clock.
// Outcomes seen through fences add up to the device's release counters.
#[test]
fn every_cs_ends_in_exactly_one_terminal_state_virtual() {
    within(|| {
        let (d, a) = virt::<Example>(|c| {
            c.contexts = 2;
            c.tdr_timeout = Some(Duration::from_millis(1));
            c.sim.hang_ppm = 100_000;
            c.sim.fault_ppm = 50_000;
            c.sim.jitter = Duration::from_micros(30);
            c.sim.out_of_order = true;
        });
        let b = d.open().unwrap();
        let mut fences = Vec::new();
        let qs = [PDMA_0_0, 1, PDMA_1_0, 3, TPC_0, TPC_1, 7, TPC_3, CPU_PQ, 99];
        for i in 0..600usize {
            let ctx = if i % 3 == 0 { &b } else { &a };
            let q = qs[i % qs.len()];
            let jobs = [Job::new(q), Job::new(ROT_0)];
            match ctx.submit(&CsSubmit::new(&jobs).with_timestamp()) {
                Ok(s) => fences.push(fence_of(ctx, s)),
                Err(e) => {
                    if let Some(s) = e.consumed_seq() {
                        fences.push(fence_of(ctx, s));
                    }
                }
            }
            if i % 17 == 0 {
                d.advance(Duration::from_micros(200));
            }
            if i % 97 == 0 {
                d.reset();
            }
        }
        d.advance(Duration::from_millis(5));
        drop(b);
        d.reset();
        d.run_until_idle();
        let st = d.stats();
        assert_eq!(st.in_flight, 0);
        let mut count = [0u64; 4];
        for f in &fences {
            let o = f
                .poll()
                .unwrap_or_else(|| panic!("CS {} never released", f.seq()));
            assert_eq!(f.wait(), o, "signalled once");
            count[match o {
                Outcome::Ok => 0,
                Outcome::TimedOut => 1,
                Outcome::Aborted => 2,
                Outcome::NotSubmitted => 3,
            }] += 1;
        }
        assert_eq!(
            count,
            [st.completed, st.timed_out, st.aborted, st.not_submitted],
            "{st:?}"
        );
        assert_eq!(st.released(), fences.len() as u64);
        assert_eq!(st.lifecycle_violations, 0);
        drop(fences);
        drop(a);
        assert_eq!(d.live_fences(), 0);
    });
}

// A CS that asked for a timestamp and completed reports it; one that never reached the
// hardware reports none (§2.6: -EBUSY is COMPLETED without timestamp).
#[test]
fn timestamps_only_for_completed_cs() {
    within(|| {
        let (d, ctx) = virt::<Example>(|_| {});
        let s = ctx
            .submit(
                &CsSubmit::new(&one(TPC_0, Work::Run(Duration::from_micros(7)))).with_timestamp(),
            )
            .unwrap();
        let r = ctx.wait_cs(s, Duration::MAX, None).unwrap();
        assert!(
            matches!(
                r,
                WaitStatus::Completed {
                    gone: false,
                    timestamp: Some(_)
                }
            ),
            "{r:?}"
        );
        let err = ctx
            .submit(&CsSubmit::new(&one(TPC_3, Work::Default)).with_timestamp())
            .unwrap_err();
        let bad = err.consumed_seq().unwrap();
        assert_eq!(
            ctx.wait_cs(bad, POLL, None),
            Ok(WaitStatus::Completed {
                gone: false,
                timestamp: None
            })
        );
        let _ = d;
    });
}

// Concurrent open/close of contexts and submits on a real-clock device, racing device drop:
// no panic, no hang.
#[test]
fn open_close_race_with_device_drop_real_clock() {
    within(|| {
        let mut cfg = DeviceConfig::for_asic::<Example>();
        cfg.clock = ClockMode::Real;
        cfg.contexts = 4;
        cfg.sim.poll_spins = 0;
        let d = Device::<Example>::new(cfg).unwrap();
        let runner = Runner::start(&d).unwrap();
        let barrier = Arc::new(Barrier::new(4));
        let mut hs = Vec::new();
        for t in 0..3u32 {
            let d = d.clone();
            let b = Arc::clone(&barrier);
            hs.push(thread::spawn(move || {
                b.wait();
                for i in 0..200u32 {
                    let Ok(c) = d.open() else { continue };
                    let w = if (i + t) % 3 == 0 {
                        Work::Hang
                    } else {
                        Work::Run(Duration::from_micros(5))
                    };
                    if let Ok(s) = c.submit(&CsSubmit::new(&one(TPC_0 + (t % 2), w)))
                        && i % 2 == 0
                    {
                        let _ = c.wait_cs(s, Duration::from_millis(1), None);
                    }
                }
            }));
        }
        barrier.wait();
        thread::sleep(Duration::from_millis(5));
        drop(d);
        for h in hs {
            h.join().expect("no panic");
        }
        runner.stop();
    });
}

// ---------------------------------------------------------------------------------------------
// Second round
// ---------------------------------------------------------------------------------------------

// DESIGN "Fence": a stale handle can never observe a later CS's outcome. A handle on seq 1 of a
// closed context, after a new context in the same slot reuses seq 1 (and its ring slot), still
// reports the old CS.
#[test]
fn stale_handle_survives_context_reopen_in_the_same_slot() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let id = ctx.id();
        ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let old = fence_of(&ctx, 1);
        drop(ctx);
        assert_eq!(old.poll(), Some(Outcome::Aborted));
        let ctx = d.open().unwrap();
        assert_eq!(ctx.id(), id);
        // TPC_0's engine is still locked up (only a reset halts it): use another one.
        let s = ctx
            .submit(&CsSubmit::new(&one(
                TPC_1,
                Work::Run(Duration::from_micros(3)),
            )))
            .unwrap();
        assert_eq!(s, 1);
        let new = fence_of(&ctx, 1);
        assert_eq!(new.poll(), None);
        assert_eq!(
            old.poll(),
            Some(Outcome::Aborted),
            "stale handle sees the new CS"
        );
        d.advance(Duration::from_millis(1));
        assert_eq!(new.poll(), Some(Outcome::Ok));
        assert_eq!(
            old.poll(),
            Some(Outcome::Aborted),
            "stale handle sees the new CS"
        );
        assert_eq!(old.wait(), Outcome::Aborted);
        assert_eq!(old.seq(), 1);
        drop(ctx);
        drop(new);
        assert_eq!(old.ref_count(), 1);
        drop(old);
        assert_eq!(d.live_fences(), 0);
    });
}

// Same rule while the ring wraps many times with a handle on an old completed CS held.
#[test]
fn stale_handle_survives_many_ring_wraps() {
    within(|| {
        let (d, ctx) = virt::<Example>(|_| {});
        let s = ctx
            .submit(
                &CsSubmit::new(&one(TPC_0, Work::Run(Duration::from_micros(1)))).with_timestamp(),
            )
            .unwrap();
        d.advance(Duration::from_millis(1));
        let old = fence_of(&ctx, s);
        let sig = old.signalled().unwrap();
        for i in 0..4 * ctx.ring_len() {
            let w = if i % 2 == 0 {
                Work::Fault
            } else {
                Work::Run(Duration::ZERO)
            };
            let s2 = ctx
                .submit(&CsSubmit::new(&one(TPC_1, w)).with_timestamp())
                .unwrap();
            let _ = ctx.wait_cs(s2, Duration::MAX, None);
            assert_eq!(old.signalled(), Some(sig));
            assert_eq!(old.seq(), s);
        }
    });
}

// §2.5: only the head of the mirror list is timed; a queued CS's clock starts when its
// predecessor completes, not when it was submitted.
#[test]
fn queued_cs_tdr_starts_when_the_head_completes() {
    within(|| {
        let (d, ctx) = virt::<Example>(|_| {});
        let tdr = Example::LIMITS.cs_timeout; // 2 s
        let s1 = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Run(tdr * 3 / 4))))
            .unwrap();
        let s2 = ctx.submit(&CsSubmit::new(&one(TPC_1, Work::Hang))).unwrap();
        d.advance(tdr / 2);
        assert_eq!(d.armed_tdr().map(|(s, _)| s), Some(s1));
        d.advance(tdr / 2 + tdr / 8); // 1.125 tdr: s1 done at 0.75 tdr
        assert_eq!(fence_of(&ctx, s1).poll(), Some(Outcome::Ok));
        assert_eq!(
            fence_of(&ctx, s2).poll(),
            None,
            "s2's clock started at 0.75 tdr"
        );
        let (seq, deadline) = d.armed_tdr().expect("s2 timed");
        assert_eq!(seq, s2);
        assert_eq!(deadline.as_nanos(), (tdr * 3 / 4 + tdr).as_nanos() as u64);
        d.advance(tdr);
        assert_eq!(fence_of(&ctx, s2).poll(), Some(Outcome::TimedOut));
    });
}

// §2.3/§2.6: an engine error resets the device: the faulting CS and everything else in flight
// are rolled back (aborted), waiters return, and the device takes work again.
#[test]
fn engine_fault_aborts_everything_in_flight() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let long = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_secs(1)),
            )))
            .unwrap();
        let hung = ctx
            .submit(&CsSubmit::new(&one(PDMA_0_0, Work::Hang)))
            .unwrap();
        let bad = ctx
            .submit(&CsSubmit::new(&one(TPC_1, Work::Fault)))
            .unwrap();
        assert_eq!(
            ctx.wait_cs(bad, Duration::MAX, None),
            Err(CsWaitError::Aborted { seq: bad })
        );
        assert_eq!(fence_of(&ctx, long).poll(), Some(Outcome::Aborted));
        assert_eq!(fence_of(&ctx, hung).poll(), Some(Outcome::Aborted));
        assert_eq!(d.stats().engine_faults, 1);
        assert!(d.is_operational());
        assert!(d.busy_engines().is_idle(), "{:?}", d.busy_engines());
        let s = ctx
            .submit(&CsSubmit::new(&one(TPC_1, Work::Run(Duration::ZERO))))
            .unwrap();
        assert!(ctx.wait_cs(s, Duration::MAX, None).unwrap().is_completed());
    });
}

// §4 multi-CS: entries are polled in order; a fence error (-EIO/-ETIMEDOUT) met while polling
// is returned as the call's errno.
#[test]
fn multi_cs_wait_returns_the_fence_error() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let ok = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Run(Duration::ZERO))))
            .unwrap();
        d.advance(Duration::from_millis(1));
        let ab = ctx.submit(&CsSubmit::new(&one(TPC_1, Work::Hang))).unwrap();
        d.reset();
        let r = ctx.wait_multi(&[ab], POLL, None);
        assert_eq!(r, Err(CsWaitError::Aborted { seq: ab }));
        let r = ctx.wait_multi(&[ok, ab], POLL, None);
        assert_eq!(r, Err(CsWaitError::Aborted { seq: ab }));
    });
}

// The virtual clock at its far end: advancing by Duration::MAX (twice) must not overflow; a CS
// submitted then still runs, times out or is waited for without a panic.
#[test]
fn virtual_clock_advanced_by_duration_max() {
    within(|| {
        let (d, ctx) = virt::<Example>(|_| {});
        d.advance(Duration::MAX);
        d.advance(Duration::MAX);
        let t = d.now();
        let s = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_micros(1)),
            )))
            .unwrap();
        let r = ctx.wait_cs(s, Duration::MAX, None);
        assert!(
            r.is_ok() || matches!(r, Err(CsWaitError::TimedOut { .. })),
            "{r:?}"
        );
        let h = ctx.submit(&CsSubmit::new(&one(TPC_1, Work::Hang))).unwrap();
        let r = ctx.wait_cs(h, Duration::MAX, None);
        assert!(
            matches!(r, Ok(WaitStatus::Busy) | Err(CsWaitError::TimedOut { .. })),
            "{r:?}"
        );
        assert!(d.now() >= t);
    });
}

// SimConfig at its edges: a latency or jitter of Duration::MAX is "never finishes" (>= 2^62 ns),
// not an overflow; the TDR ends such CSs.
#[test]
fn sim_latency_and_jitter_of_duration_max() {
    within(|| {
        for (lat, jit) in [
            (Duration::MAX, Duration::ZERO),
            (Duration::from_secs(1), Duration::MAX),
            (Duration::MAX, Duration::MAX),
        ] {
            let (d, ctx) = virt::<Example>(|c| {
                c.sim.latency = lat;
                c.sim.jitter = jit;
                c.sim.out_of_order = true;
            });
            let s = ctx
                .submit(&CsSubmit::new(&[Job::new(TPC_0), Job::new(TPC_0)]))
                .unwrap();
            let s2 = ctx.submit(&CsSubmit::new(&[Job::new(TPC_0)])).unwrap();
            let r = ctx.wait_cs(s2, Duration::MAX, None);
            assert!(
                r.is_ok()
                    || matches!(
                        r,
                        Err(CsWaitError::TimedOut { .. } | CsWaitError::Aborted { .. })
                    ),
                "{lat:?}/{jit:?}: {r:?}"
            );
            let _ = ctx.wait_cs(s, Duration::MAX, None);
            d.run_until_idle();
        }
    });
}

// Real clock: a wait with timeout Duration::MAX (single, multi, fence handle) must not overflow
// the deadline; it returns when the CS ends.
#[test]
fn real_clock_waits_with_duration_max() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let s = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_micros(100)),
            )))
            .unwrap();
        assert!(ctx.wait_cs(s, Duration::MAX, None).unwrap().is_completed());
        let s = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_micros(100)),
            )))
            .unwrap();
        assert!(matches!(
            ctx.wait_multi(&[s], Duration::MAX, None),
            Ok(MultiWaitStatus::Completed { .. })
        ));
        let s = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_micros(100)),
            )))
            .unwrap();
        assert_eq!(
            fence_of(&ctx, s).wait_timeout(Duration::MAX),
            Ok(Outcome::Ok)
        );
        let tok = CancelToken::new();
        let s = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_micros(100)),
            )))
            .unwrap();
        assert!(
            ctx.wait_cs(s, Duration::MAX, Some(&tok))
                .unwrap()
                .is_completed()
        );
        // And on a hung CS ended by a reset from another thread.
        let ctx = Arc::new(ctx);
        let h = ctx.submit(&CsSubmit::new(&one(TPC_1, Work::Hang))).unwrap();
        let c = Arc::clone(&ctx);
        let rx = spawn_waiter(move || c.wait_cs(h, Duration::MAX, None));
        let c = Arc::clone(&ctx);
        let rx_m = spawn_waiter(move || c.wait_multi(&[h], Duration::MAX, None));
        thread::sleep(Duration::from_millis(50));
        d.reset();
        assert_eq!(recv(&rx, "wait_cs"), Err(CsWaitError::Aborted { seq: h }));
        assert_eq!(
            recv(&rx_m, "wait_multi"),
            Err(CsWaitError::Aborted { seq: h })
        );
        runner.stop();
    });
}

// Real clock, per-CS timeouts 0 and Duration::MAX, device TDR on: 0 fires at once when the CS is
// the head (reset on lockup: the CS ends timed out); MAX is never timed, ended by a reset.
#[test]
fn real_clock_per_cs_timeouts_zero_and_max() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = Some(Duration::from_millis(20)));
        let s = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Hang)).with_timeout(Duration::ZERO))
            .unwrap();
        // A wait that lands in the reset window is refused (-EBUSY, §4); the user waits again.
        let mut r = ctx.wait_cs(s, FOREVER, None);
        while r == Err(CsWaitError::DeviceNotOperational) {
            std::thread::yield_now();
            r = ctx.wait_cs(s, FOREVER, None);
        }
        assert_eq!(r, Err(CsWaitError::TimedOut { seq: s }));
        let s = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Hang)).with_timeout(Duration::MAX))
            .unwrap();
        assert_eq!(
            ctx.wait_cs(s, Duration::from_millis(200), None),
            Ok(WaitStatus::Busy)
        );
        d.reset();
        assert_eq!(
            ctx.wait_cs(s, FOREVER, None),
            Err(CsWaitError::Aborted { seq: s })
        );
        runner.stop();
    });
}

// Virtual clock without reset_on_lockup: a wait that has to run virtual time into a TDR that
// leaves the device needing a reset must return (nothing can finish the CS any more), not hang.
#[test]
fn virtual_wait_into_a_tdr_without_reset_on_lockup_returns() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.reset_on_lockup = false);
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let r = ctx.wait_cs(s, Duration::MAX, None);
        assert!(
            matches!(
                r,
                Ok(WaitStatus::Busy) | Err(CsWaitError::DeviceNotOperational)
            ),
            "{r:?}"
        );
        assert!(d.stats().needs_reset);
        let r = ctx.wait_multi(&[s], Duration::MAX, None);
        assert!(
            matches!(
                r,
                Ok(MultiWaitStatus::Busy) | Err(CsWaitError::DeviceNotOperational)
            ),
            "{r:?}"
        );
        d.reset();
        assert_eq!(
            ctx.wait_cs(s, Duration::MAX, None),
            Err(CsWaitError::TimedOut { seq: s })
        );
    });
}

// Real clock without reset_on_lockup: a thread waiting forever on a CS whose TDR fired keeps
// waiting until the user resets; then it returns timed out (timedout before aborted).
#[test]
fn real_clock_waiter_across_tdr_without_reset_on_lockup() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| {
            c.reset_on_lockup = false;
            c.tdr_timeout = Some(Duration::from_millis(10));
        });
        let ctx = Arc::new(ctx);
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let c = Arc::clone(&ctx);
        let rx = spawn_waiter(move || c.wait_cs(s, FOREVER, None));
        let f = fence_of(&ctx, s);
        let rx_f = spawn_waiter(move || f.wait());
        while !d.stats().needs_reset {
            thread::sleep(Duration::from_millis(5));
        }
        thread::sleep(Duration::from_millis(20));
        d.reset();
        let r = recv(&rx, "wait_cs");
        assert!(
            matches!(
                r,
                Err(CsWaitError::TimedOut { .. }) | Err(CsWaitError::DeviceNotOperational)
            ),
            "{r:?}"
        );
        assert_eq!(recv(&rx_f, "fence"), Outcome::TimedOut);
        runner.stop();
    });
}

// A CS accepted while no Runner runs (real clock, after stop): the device says it is
// operational and takes the CS, so its TDR or a later runner must end it; with a new runner it
// completes.
#[test]
fn cs_submitted_between_runners_completes_with_the_next_runner() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = Some(Duration::from_millis(20)));
        runner.stop();
        let r = ctx.submit(&CsSubmit::new(&one(
            TPC_0,
            Work::Run(Duration::from_micros(10)),
        )));
        if let Ok(s) = r {
            let runner = Runner::start(&d).unwrap();
            let w = ctx.wait_cs(s, FOREVER, None);
            assert!(
                w.is_ok() || matches!(w, Err(CsWaitError::TimedOut { .. })),
                "{w:?}"
            );
            runner.stop();
        }
    });
}

// Scripted backend: the n-th job ends as the n-th step says; huge durations mean never.
#[test]
fn scripted_backend_edges() {
    use asicgen_runtime::scripted::{Scripted, Step};
    within(|| {
        let script = Scripted::new([
            Step::Complete(Duration::MAX),
            Step::Fault(Duration::MAX),
            Step::Complete(Duration::ZERO),
            Step::Fault(Duration::ZERO),
            Step::Hang,
        ]);
        let mut cfg = DeviceConfig::for_asic::<Example>();
        cfg.tdr_timeout = Some(Duration::from_millis(1));
        let d = Device::<Example>::with_engines(cfg, script).unwrap();
        let ctx = d.open().unwrap();
        let mut seqs = Vec::new();
        for q in [TPC_0, TPC_1, PDMA_0_0, PDMA_1_0, 7, TPC_0] {
            seqs.push(ctx.submit(&CsSubmit::new(&one(q, Work::Default))).unwrap());
        }
        for s in &seqs {
            let r = ctx.wait_cs(*s, Duration::MAX, None);
            assert!(
                matches!(
                    r,
                    Ok(WaitStatus::Completed { .. })
                        | Err(CsWaitError::TimedOut { .. } | CsWaitError::Aborted { .. })
                ),
                "{s}: {r:?}"
            );
        }
        d.run_until_idle();
        assert_eq!(d.stats().in_flight, 0);
    });
}

// Inspection with out-of-range ids answers None, never panics.
#[test]
fn inspection_out_of_range() {
    within(|| {
        let (d, ctx) = virt::<Example>(|_| {});
        assert!(d.queue(u32::MAX).is_none());
        assert!(d.queue(Example::QUEUE_ID_SIZE).is_none());
        assert!(d.completion_queue_free(u32::MAX).is_none());
        assert!(matches!(ctx.lookup(u64::MAX), Lookup::Invalid { .. }));
        let _ = format!("{d:?} {ctx:?}");
        assert_eq!(ctx.live_fences(), 0);
    });
}

// Handles that outlive the device: closing a context after the device went, fence handles after
// both went; all fences are released at the end.
#[test]
fn handles_outliving_the_device() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let s2 = ctx
            .submit(&CsSubmit::new(&one(TPC_1, Work::Run(Duration::ZERO))))
            .unwrap();
        d.advance(Duration::from_millis(1));
        let f = fence_of(&ctx, s);
        let f2 = fence_of(&ctx, s2);
        let pool_before = ctx.pool_stats();
        drop(d);
        assert_eq!(f.poll(), Some(Outcome::Aborted));
        assert_eq!(f2.poll(), Some(Outcome::Ok));
        assert_eq!(ctx.next_seq(), 3);
        let _ = pool_before;
        drop(ctx);
        assert_eq!(f.wait(), Outcome::Aborted);
        assert_eq!(f.ref_count(), 1);
        assert_eq!(f2.ref_count(), 1);
    });
}

// Cancel token reuse: a cancelled token that is reset no longer interrupts.
#[test]
fn cancel_token_reset_and_reuse_real_clock() {
    within(|| {
        let (_d, ctx, runner) = real::<Example>(|_| {});
        let tok = CancelToken::new();
        tok.cancel();
        let s = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_millis(5)),
            )))
            .unwrap();
        assert_eq!(
            ctx.wait_cs(s, FOREVER, Some(&tok)),
            Err(CsWaitError::Interrupted)
        );
        tok.reset();
        assert!(ctx.wait_cs(s, FOREVER, Some(&tok)).unwrap().is_completed());
        runner.stop();
    });
}

// A partial write never happens: when the second queue of a CS is full, the first queue's pi is
// unchanged (hw queues, no CQ).
#[test]
fn no_partial_write_when_a_later_hw_queue_is_full() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let jobs = vec![Job::new(TPC_1).with_work(Work::Hang); 64];
        ctx.submit(&CsSubmit::new(&jobs)).unwrap();
        let before = d.queue(TPC_0).unwrap();
        let err = ctx
            .submit(&CsSubmit::new(&[
                Job::new(TPC_0),
                Job::new(TPC_0),
                Job::new(TPC_1),
            ]))
            .unwrap_err();
        assert!(
            matches!(err, SubmitError::QueueFull { queue: TPC_1, .. }),
            "{err:?}"
        );
        let after = d.queue(TPC_0).unwrap();
        assert_eq!((after.pi(), after.ci()), (before.pi(), before.ci()));
        let s = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Run(Duration::ZERO))))
            .unwrap();
        d.advance(Duration::from_millis(1));
        assert_eq!(fence_of(&ctx, s).poll(), Some(Outcome::Ok));
    });
}

// ---------------------------------------------------------------------------------------------
// Third round
// ---------------------------------------------------------------------------------------------

// hl_ctx_fini rolls a context's CSs back; a job of such a CS still on its engine must not
// complete a later CS that reuses the seq (and maybe the record) in a new context: the new CS's
// fence reports only its own end.
#[test]
fn stale_job_of_a_closed_context_does_not_complete_a_new_cs() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let s = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_millis(1)),
            )))
            .unwrap();
        assert_eq!(s, 1);
        drop(ctx);
        let ctx = d.open().unwrap();
        let s = ctx.submit(&CsSubmit::new(&one(TPC_1, Work::Hang))).unwrap();
        assert_eq!(s, 1);
        d.advance(Duration::from_millis(5));
        assert_eq!(
            fence_of(&ctx, 1).poll(),
            None,
            "the old job's end completed the new CS"
        );
        assert_eq!(d.stats().in_flight, 1);
        assert_eq!(d.stats().completed, 0);
        d.reset();
        assert_eq!(fence_of(&ctx, 1).poll(), Some(Outcome::Aborted));
    });
}

// §3: a CS that failed after allocate_cs was released (not submitted) and frees its ring slot:
// the next CS mapping to that slot is accepted; the one after, whose slot holds a CS in flight,
// is -EAGAIN naming that CS.
#[test]
fn ring_slot_of_a_not_submitted_cs_is_free() {
    within(|| {
        let (_d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let n = ctx.ring_len();
        let err = ctx
            .submit(&CsSubmit::new(&one(TPC_3, Work::Default)))
            .unwrap_err();
        assert_eq!(err.consumed_seq(), Some(1));
        for i in 1..n {
            let q = [PDMA_0_0, 1, PDMA_1_0, 3, TPC_0, TPC_1][i as usize % 6];
            ctx.submit(&CsSubmit::new(&one(q, Work::Hang))).unwrap();
        }
        let s = ctx
            .submit(&CsSubmit::new(&one(7, Work::Hang)))
            .expect("slot of seq 1 is free");
        assert_eq!(s, n + 1);
        assert_eq!(
            ctx.submit(&CsSubmit::new(&one(7, Work::Hang))),
            Err(SubmitError::TooManyInFlight {
                next_seq: n + 2,
                pending_seq: 2
            })
        );
    });
}

// §4 multi-CS: the two multi-CS completion structures are taken for a wait and given back
// whatever way it ends (invalid seq, bad count, interrupted, busy, aborted, not operational):
// afterwards two waits can still sleep at once and only a third is refused.
#[test]
fn multi_wait_slots_are_not_leaked_by_failing_waits_real_clock() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let ctx = Arc::new(ctx);
        let h = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let tok = CancelToken::new();
        tok.cancel();
        for _ in 0..5 {
            let _ = ctx.wait_multi(&[h, 999], FOREVER, None);
            let _ = ctx.wait_multi(&[h, 0], FOREVER, None);
            let _ = ctx.wait_multi(&[], FOREVER, None);
            let _ = ctx.wait_multi(&[h], FOREVER, Some(&tok));
            let _ = ctx.wait_multi(&[h], Duration::from_millis(1), None);
            let _ = ctx.wait_multi(&[h], POLL, None);
        }
        d.mark_needs_reset();
        for _ in 0..5 {
            assert_eq!(
                ctx.wait_multi(&[h], FOREVER, None),
                Err(CsWaitError::DeviceNotOperational)
            );
        }
        d.reset(); // h aborted
        for _ in 0..5 {
            assert_eq!(
                ctx.wait_multi(&[h], FOREVER, None),
                Err(CsWaitError::Aborted { seq: h })
            );
        }
        let h2 = ctx.submit(&CsSubmit::new(&one(TPC_1, Work::Hang))).unwrap();
        let mut rxs = Vec::new();
        for _ in 0..2 {
            let c = Arc::clone(&ctx);
            rxs.push(spawn_waiter(move || c.wait_multi(&[h2], FOREVER, None)));
        }
        thread::sleep(Duration::from_millis(100));
        assert_eq!(
            ctx.wait_multi(&[h2], FOREVER, None),
            Err(CsWaitError::NoMultiWaitSlot)
        );
        d.reset();
        for rx in &rxs {
            assert_eq!(
                recv(rx, "multi waiter"),
                Err(CsWaitError::Aborted { seq: h2 })
            );
        }
        runner.stop();
    });
}

// §3: seqs are handed out in order, one per CS that passed the sanity checks: several threads
// submitting on one context get distinct seqs, and with the consumed seqs of failed CSs they
// cover 1..next_seq exactly.
#[test]
fn concurrent_submitters_get_distinct_contiguous_seqs_real_clock() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let ctx = Arc::new(ctx);
        let barrier = Arc::new(Barrier::new(3));
        let hs: Vec<_> = (0..3usize)
            .map(|t| {
                let c = Arc::clone(&ctx);
                let b = Arc::clone(&barrier);
                thread::spawn(move || {
                    b.wait();
                    let mut seqs = Vec::new();
                    for i in 0..400usize {
                        let q = if i % 13 == 0 {
                            TPC_3
                        } else {
                            [TPC_0, TPC_1, PDMA_0_0][(i + t) % 3]
                        };
                        match c.submit(&CsSubmit::new(&one(q, Work::Run(Duration::from_micros(5)))))
                        {
                            Ok(s) => seqs.push(s),
                            Err(e) => match e.consumed_seq() {
                                Some(s) => seqs.push(s),
                                None => assert!(e.is_try_again(), "{e:?}"),
                            },
                        }
                        if i % 16 == 0
                            && let Some(&s) = seqs.last()
                        {
                            let _ = c.wait_cs(s, FOREVER, None);
                        }
                    }
                    seqs
                })
            })
            .collect();
        let mut all: Vec<u64> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
        all.sort_unstable();
        let n = all.len() as u64;
        assert_eq!(all, (1..=n).collect::<Vec<_>>());
        assert_eq!(ctx.next_seq(), n + 1);
        for s in n.saturating_sub(ctx.ring_len()) + 1..=n {
            let r = ctx.wait_cs(s, FOREVER, None);
            assert!(r.unwrap().is_completed());
        }
        let st = d.stats();
        assert_eq!(st.submitted + st.not_submitted, n, "{st:?}");
        runner.stop();
    });
}

// DeviceStats: `resets + resets_merged` counts every request plus every explicit reset. With
// no TDR and no faults, explicit resets from several threads at once all count.
#[test]
fn concurrent_explicit_resets_are_all_counted() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let d = Arc::new(d);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ctx = Arc::new(ctx);
        let sub = {
            let c = Arc::clone(&ctx);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok(s) = c.submit(&CsSubmit::new(&one(
                        TPC_0,
                        Work::Run(Duration::from_micros(50)),
                    ))) {
                        loop {
                            match c.wait_cs(s, FOREVER, None) {
                                Err(CsWaitError::DeviceNotOperational) => thread::yield_now(),
                                r => {
                                    assert!(
                                        matches!(r, Ok(_) | Err(CsWaitError::Aborted { .. })),
                                        "{r:?}"
                                    );
                                    break;
                                }
                            }
                        }
                    }
                }
            })
        };
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let d = Arc::clone(&d);
                thread::spawn(move || {
                    for _ in 0..50 {
                        d.reset();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        sub.join().unwrap();
        let st = d.stats();
        assert_eq!(st.resets + st.resets_merged, 150, "{st:?}");
        assert!(d.is_operational());
        runner.stop();
    });
}

// Device docs: mark_needs_reset stops taking work; closing a context then still rolls its CSs
// back (waiters return) and frees its slot.
#[test]
fn close_context_while_device_needs_reset() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let f = fence_of(&ctx, s);
        let f2 = f.clone();
        let rx = spawn_waiter(move || f2.wait());
        d.mark_needs_reset();
        drop(ctx);
        assert_eq!(recv(&rx, "fence waiter"), Outcome::Aborted);
        assert_eq!(d.open_contexts(), 0);
        assert_eq!(d.open().map(|_| ()), Ok(()));
        d.reset();
        assert!(d.is_operational());
    });
}

// Virtual clock shared by threads: submitters, waiters (which run virtual time), an advancer
// and a resetter at once; every CS ends in exactly one terminal state, nothing hangs.
#[test]
fn virtual_clock_threads_race() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| {
            c.tdr_timeout = Some(Duration::from_millis(1));
            c.sim.jitter = Duration::from_micros(100);
            c.sim.hang_ppm = 50_000;
        });
        let d = Arc::new(d);
        let ctx = Arc::new(ctx);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut hs = Vec::new();
        for t in 0..2usize {
            let c = Arc::clone(&ctx);
            hs.push(thread::spawn(move || {
                let mut fences = Vec::new();
                for i in 0..300usize {
                    let q = [TPC_0, TPC_1, PDMA_0_0, PDMA_1_0][(i + t) % 4];
                    if let Ok(s) = c.submit(&CsSubmit::new(&[Job::new(q)])) {
                        let r = c.wait_cs(s, Duration::from_millis(3), None);
                        assert!(
                            matches!(
                                r,
                                Ok(_)
                                    | Err(CsWaitError::TimedOut { .. }
                                        | CsWaitError::Aborted { .. }
                                        | CsWaitError::DeviceNotOperational)
                            ),
                            "{r:?}"
                        );
                        if let Lookup::Fence(f) = c.lookup(s) {
                            fences.push(f);
                        }
                    }
                }
                fences
            }));
        }
        let adv = {
            let d = Arc::clone(&d);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut i = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    d.advance(Duration::from_micros(50));
                    i += 1;
                    if i.is_multiple_of(20) {
                        d.reset();
                    }
                    thread::yield_now();
                }
            })
        };
        let mut fences = Vec::new();
        for h in hs {
            fences.extend(h.join().expect("submitter"));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        adv.join().unwrap();
        d.reset();
        d.run_until_idle();
        for f in &fences {
            assert!(f.poll().is_some(), "CS {} never released", f.seq());
        }
        let st = d.stats();
        assert_eq!(st.in_flight, 0);
        assert_eq!(st.released(), st.submitted + st.not_submitted, "{st:?}");
        assert_eq!(st.lifecycle_violations, 0);
    });
}

// §2.4 step 10: the completion timestamp is the CS's completion time on the device clock: not
// before it was submitted, not after the wait returned.
#[test]
fn timestamps_lie_between_submit_and_wait() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.sim.jitter = Duration::from_micros(40));
        for i in 0..50u64 {
            let before = d.now();
            let s = ctx
                .submit(
                    &CsSubmit::new(&[
                        Job::new(TPC_0),
                        Job::new(TPC_1).with_work(Work::Run(Duration::from_micros(i))),
                    ])
                    .with_timestamp(),
                )
                .unwrap();
            let r = ctx.wait_cs(s, Duration::MAX, None).unwrap();
            let after = d.now();
            match r {
                WaitStatus::Completed {
                    timestamp: Some(t),
                    gone: false,
                } => {
                    assert!(before <= t && t <= after, "{before:?} {t:?} {after:?}")
                }
                other => panic!("{other:?}"),
            }
        }
    });
}

// §4 hl_wait_for_fence + §2.4 step 10 (outcome store): a CS that asked for a timestamp pushes
// (seq, timestamp, error) into the context's outcome store when released; a wait on it after
// its fence left the ring finds it there: COMPLETED with the timestamp (not GONE), or the
// stored error (-EIO / -ETIMEDOUT). The lookup is one-shot: a second wait reports GONE.
#[test]

fn outcome_store_answers_for_a_gone_timestamped_cs() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let ok = ctx
            .submit(
                &CsSubmit::new(&one(TPC_0, Work::Run(Duration::from_micros(2)))).with_timestamp(),
            )
            .unwrap();
        d.advance(Duration::from_millis(1));
        let t = fence_of(&ctx, ok)
            .signalled()
            .unwrap()
            .timestamp
            .expect("timestamp");
        let ab = ctx
            .submit(&CsSubmit::new(&one(TPC_1, Work::Hang)).with_timestamp())
            .unwrap();
        d.reset();
        for _ in 0..ctx.ring_len() + 2 {
            let s = ctx
                .submit(&CsSubmit::new(&one(TPC_0, Work::Run(Duration::ZERO))))
                .unwrap();
            d.advance(Duration::ZERO);
            let _ = s;
        }
        assert!(matches!(ctx.lookup(ok), Lookup::Gone));
        assert!(matches!(ctx.lookup(ab), Lookup::Gone));
        assert_eq!(
            ctx.wait_cs(ok, POLL, None),
            Ok(WaitStatus::Completed {
                gone: false,
                timestamp: Some(t)
            })
        );
        assert_eq!(
            ctx.wait_cs(ab, POLL, None),
            Err(CsWaitError::Aborted { seq: ab })
        );
        assert_eq!(
            ctx.wait_cs(ok, POLL, None),
            Ok(WaitStatus::Completed {
                gone: true,
                timestamp: None
            })
        );
    });
}

// §2.5: the TDR runs as long as the device does. A CS the device accepts while no Runner runs
// (real clock, after `stop`, device still operational) is never timed: with TDR on, a wait
// longer than the TDR timeout should see it timed out (or the submit should be refused).
#[test]

fn cs_accepted_without_a_runner_is_timed_out_by_the_tdr() {
    within(|| {
        let (_d, ctx, runner) =
            real::<Example>(|c| c.tdr_timeout = Some(Duration::from_millis(20)));
        runner.stop();
        match ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))) {
            Ok(s) => {
                let r = ctx.wait_cs(s, Duration::from_secs(2), None);
                assert_eq!(
                    r,
                    Err(CsWaitError::TimedOut { seq: s }),
                    "accepted CS with TDR on, no runner"
                );
            }
            Err(e) => assert_eq!(e, SubmitError::DeviceNotOperational),
        }
    });
}

// §2.2.5: the TDR is armed only when `hdev->timeout_jiffies != MAX_SCHEDULE_TIMEOUT`: with the
// device's TDR off, a per-CS timeout (even 0) times nothing.
#[test]
fn per_cs_timeout_with_device_tdr_off_times_nothing() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let s = ctx
            .submit(&CsSubmit::new(&one(TPC_0, Work::Hang)).with_timeout(Duration::ZERO))
            .unwrap();
        let s2 = ctx
            .submit(&CsSubmit::new(&one(TPC_1, Work::Hang)).with_timeout(Duration::from_millis(1)))
            .unwrap();
        d.advance(Duration::from_secs(10));
        assert_eq!(d.armed_tdr(), None);
        assert_eq!(ctx.wait_cs(s, Duration::MAX, None), Ok(WaitStatus::Busy));
        assert_eq!(ctx.wait_cs(s2, Duration::MAX, None), Ok(WaitStatus::Busy));
        assert_eq!(d.stats().tdr_fired, 0);
    });
}

// §2.2 validate_queue_index: only H/W queues let the chunk choose its CB kind; for other queue
// types the kind is fixed by the queue, whatever the chunk flag says.
#[test]
fn cb_choice_rules() {
    use asicgen_runtime::CbChoice;
    within(|| {
        let (_d, ctx) = virt::<Example>(|_| {});
        // TPC_0: H/W, user CBs only.
        let e = ctx
            .submit(&CsSubmit::new(&[Job::new(TPC_0).with_cb(CbChoice::Kernel)]))
            .unwrap_err();
        assert!(
            matches!(
                e,
                SubmitError::InvalidQueue {
                    reason: QueueRejection::KernelCbNotAllowed,
                    ..
                }
            ),
            "{e:?}"
        );
        ctx.submit(&CsSubmit::new(&[Job::new(TPC_0).with_cb(CbChoice::User)]))
            .unwrap();
        // PDMA: both.
        ctx.submit(&CsSubmit::new(&[
            Job::new(PDMA_0_0).with_cb(CbChoice::Kernel)
        ]))
        .unwrap();
        ctx.submit(&CsSubmit::new(
            &[Job::new(PDMA_0_0).with_cb(CbChoice::User)],
        ))
        .unwrap();
        // ROT_0: internal; the flag does not matter.
        ctx.submit(&CsSubmit::new(&[
            Job::new(TPC_1),
            Job::new(ROT_0).with_cb(CbChoice::Kernel),
        ]))
        .expect("internal queue ignores the chunk's CB flag");
        // Goya external (kernel CBs): the flag does not matter either.
        let (_g, g) = virt::<Goya>(|_| {});
        let q = completing_queue::<Goya>();
        g.submit(&CsSubmit::new(&[Job::new(q).with_cb(CbChoice::User)]))
            .expect("external queue ignores the chunk's CB flag");
    });
}

// Runner with the most lanes, started from two threads at once: exactly one start succeeds.
#[test]
fn runner_max_lanes_and_concurrent_starts() {
    within(|| {
        let mut cfg = DeviceConfig::for_asic::<Example>();
        cfg.clock = ClockMode::Real;
        cfg.sim.lanes = asicgen_runtime::MAX_LANES;
        cfg.sim.poll_spins = 0;
        let d = Device::<Example>::new(cfg).unwrap();
        let ctx = d.open().unwrap();
        let b = Arc::new(Barrier::new(2));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let d = d.clone();
                let b = Arc::clone(&b);
                thread::spawn(move || {
                    b.wait();
                    Runner::start(&d)
                })
            })
            .collect();
        let rs: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(rs.iter().filter(|r| r.is_ok()).count(), 1, "{rs:?}");
        let s = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_micros(10)),
            )))
            .unwrap();
        assert!(ctx.wait_cs(s, FOREVER, None).unwrap().is_completed());
        drop(rs);
        drop(d);
    });
}

// ---------------------------------------------------------------------------------------------
// Fourth round: stale jobs, queue accounting under teardown, wake-ups
// ---------------------------------------------------------------------------------------------

/// Close a context whose CS still runs on `q` (on its engine), open a new one, put one hung job
/// on `q`, let the old job's due time pass: `q` must hold exactly the new job.
fn stale_job_keeps_queue_accounting<A: Asic>(q: u32) {
    let (d, ctx) = virt::<A>(|c| c.tdr_timeout = None);
    let props = A::QUEUES.iter().find(|p| p.id == q).unwrap();
    let cq_free0 = props.cq.and_then(|cq| d.completion_queue_free(cq));
    ctx.submit(&CsSubmit::new(&one(q, Work::Run(Duration::from_millis(1)))))
        .unwrap();
    drop(ctx);
    let hq = d.queue(q).unwrap();
    assert_eq!(hq.used_slots(), 0, "close gave the space back: {hq:?}");
    let ctx = d.open().unwrap();
    let s = ctx.submit(&CsSubmit::new(&one(q, Work::Hang))).unwrap();
    d.advance(Duration::from_millis(5));
    d.run_until_idle();
    let hq = d.queue(q).unwrap();
    assert_eq!(hq.used_slots(), 1, "{hq:?}");
    assert_eq!(hq.free_slots(), hq.length() - 1, "{hq:?}");
    if let (Some(cq), Some(free0)) = (props.cq, cq_free0) {
        assert_eq!(d.completion_queue_free(cq), Some(free0 - 1));
    }
    assert_eq!(fence_of(&ctx, s).poll(), None);
    d.reset();
    let hq = d.queue(q).unwrap();
    assert_eq!((hq.pi(), hq.ci()), (0, 0));
}

// §6 + hl_ctx_fini: queue pointers stay consistent when a rolled-back CS's job comes due later
// (per-CS completion, Example H/W queue).
#[test]
fn stale_job_keeps_queue_accounting_per_cs_mode() {
    within(|| stale_job_keeps_queue_accounting::<Example>(TPC_0));
}

// Same, per-job completion on an external queue with its CQ (Gaudi).
#[test]
fn stale_job_keeps_queue_accounting_per_job_mode() {
    within(|| stale_job_keeps_queue_accounting::<Gaudi>(completing_queue::<Gaudi>()));
}

// Same on Goya.
#[test]
fn stale_job_keeps_queue_accounting_goya() {
    within(|| stale_job_keeps_queue_accounting::<Goya>(completing_queue::<Goya>()));
}

// Backend seam: a reset halts every engine; nothing started before comes due. A job started
// before a reset must not end a CS submitted after it.
#[test]
fn job_started_before_a_reset_never_comes_due() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let s1 = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_millis(1)),
            )))
            .unwrap();
        d.advance(Duration::from_micros(500));
        d.reset();
        assert_eq!(fence_of(&ctx, s1).poll(), Some(Outcome::Aborted));
        let s2 = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_millis(10)),
            )))
            .unwrap();
        d.advance(Duration::from_millis(2));
        assert_eq!(fence_of(&ctx, s2).poll(), None, "ended by the old job");
        assert_eq!(d.queue(TPC_0).unwrap().used_slots(), 1);
        d.advance(Duration::from_millis(10));
        assert_eq!(fence_of(&ctx, s2).poll(), Some(Outcome::Ok));
        assert_eq!(d.queue(TPC_0).unwrap().used_slots(), 0);
    });
}

// hl_ctx_fini gives back internal-queue space of its rolled-back CSs: a new context can use
// the whole internal queue again.
#[test]
fn internal_queue_space_given_back_on_close() {
    within(|| {
        let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
        let mut jobs = vec![Job::new(ROT_0); 32];
        jobs.push(Job::new(TPC_0).with_work(Work::Hang));
        ctx.submit(&CsSubmit::new(&jobs)).unwrap();
        drop(ctx);
        let ctx = d.open().unwrap();
        jobs[32] = Job::new(TPC_1).with_work(Work::Run(Duration::ZERO));
        let s = ctx
            .submit(&CsSubmit::new(&jobs))
            .expect("internal queue free again");
        assert!(ctx.wait_cs(s, Duration::MAX, None).unwrap().is_completed());
        assert_eq!(d.queue(ROT_0).unwrap().used_slots(), 0);
    });
}

// §2.5 + §2.6 (reset_on_lockup): the TDR fires on the head; the reset it causes releases the
// head timed out and every other CS in flight aborted; waiters of both return (real clock).
#[test]
fn tdr_reset_times_out_the_head_and_aborts_the_rest_real_clock() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = Some(Duration::from_millis(30)));
        let ctx = Arc::new(ctx);
        let head = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let other = ctx
            .submit(&CsSubmit::new(&one(
                TPC_1,
                Work::Run(Duration::from_secs(3600)),
            )))
            .unwrap();
        let c = Arc::clone(&ctx);
        let rx1 = spawn_waiter(move || c.wait_cs(head, FOREVER, None));
        let c = Arc::clone(&ctx);
        let rx2 = spawn_waiter(move || c.wait_cs(other, FOREVER, None));
        assert_eq!(recv(&rx1, "head"), Err(CsWaitError::TimedOut { seq: head }));
        let r = recv(&rx2, "other");
        assert_eq!(r, Err(CsWaitError::Aborted { seq: other }));
        assert_eq!(d.stats().tdr_fired, 1);
        runner.stop();
    });
}

// One signal wakes every waiter: many threads waiting on one CS (wait_cs, fence handles,
// multi-CS) all return when it completes (real clock).
#[test]
fn one_completion_wakes_every_waiter_real_clock() {
    within(|| {
        let (_d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let ctx = Arc::new(ctx);
        let s = ctx
            .submit(&CsSubmit::new(&one(
                TPC_0,
                Work::Run(Duration::from_millis(100)),
            )))
            .unwrap();
        let other = ctx.submit(&CsSubmit::new(&one(TPC_1, Work::Hang))).unwrap();
        let mut rxs = Vec::new();
        for i in 0..12 {
            let c = Arc::clone(&ctx);
            // At most MULTI_CS_SLOTS = 2 multi-CS waiters.
            rxs.push(match if i % 3 == 2 && i > 5 { 0 } else { i % 3 } {
                0 => spawn_waiter(move || c.wait_cs(s, FOREVER, None).map(|w| w.is_completed())),
                1 => {
                    let f = fence_of(&c, s);
                    spawn_waiter(move || Ok(f.wait() == Outcome::Ok))
                }
                _ => spawn_waiter(move || {
                    c.wait_multi(&[other, s], FOREVER, None)
                        .map(|m| matches!(m, MultiWaitStatus::Completed { bitmap: 0b10, .. }))
                }),
            });
        }
        for rx in &rxs {
            assert_eq!(recv(rx, "waiter"), Ok(true));
        }
        runner.stop();
    });
}

// Teardown storm (real clock): contexts opened, given CSs and closed from several threads while
// another thread resets; at the end every CS was released once, nothing is in flight, no
// lifecycle violation, every fence released.
#[test]
fn close_and_reset_storm_real_clock() {
    within(|| storm(3, true, 30_000, 10_000, Some(Duration::from_millis(2))));
}

fn storm(threads: usize, resets: bool, hang_ppm: u32, fault_ppm: u32, tdr: Option<Duration>) {
    {
        let mut cfg = DeviceConfig::for_asic::<Example>();
        cfg.clock = ClockMode::Real;
        cfg.contexts = 3;
        cfg.tdr_timeout = tdr;
        cfg.sim.poll_spins = 0;
        cfg.sim.latency = Duration::from_micros(30);
        cfg.sim.jitter = Duration::from_micros(200);
        cfg.sim.out_of_order = true;
        cfg.sim.hang_ppm = hang_ppm;
        cfg.sim.fault_ppm = fault_ppm;
        let d = Device::<Example>::new(cfg).unwrap();
        let runner = Runner::start(&d).unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let d = d.clone();
                thread::spawn(move || {
                    let mut fences = Vec::new();
                    for i in 0..150usize {
                        let Ok(c) = d.open() else {
                            thread::yield_now();
                            continue;
                        };
                        for k in 0..(i % 5) {
                            let q = [TPC_0, TPC_1, PDMA_0_0, PDMA_1_0, 7][(i + k + t) % 5];
                            match c.submit(&CsSubmit::new(&[Job::new(q), Job::new(ROT_0)])) {
                                Ok(s) => {
                                    if let Lookup::Fence(f) = c.lookup(s) {
                                        fences.push(f)
                                    }
                                    if k % 2 == 1 {
                                        let _ = c.wait_cs(s, Duration::from_micros(300), None);
                                    }
                                }
                                Err(e) => {
                                    if let Some(s) = e.consumed_seq()
                                        && let Lookup::Fence(f) = c.lookup(s)
                                    {
                                        fences.push(f)
                                    }
                                }
                            }
                        }
                        drop(c);
                    }
                    fences
                })
            })
            .collect();
        let rs = {
            let d = d.clone();
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                while resets && !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    d.reset();
                    thread::sleep(Duration::from_millis(1));
                }
            })
        };
        let mut fences = Vec::new();
        for h in hs {
            fences.extend(h.join().expect("no panic"));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        rs.join().unwrap();
        for f in &fences {
            // Eventually: a CS completing while its context closes is signalled just after.
            let w = f.wait_timeout(Duration::from_secs(2));
            assert!(
                w.is_ok(),
                "CS {} of a closed context never released: {f:?} {:?}",
                f.seq(),
                d.stats()
            );
        }
        runner.stop();
        let st = d.stats();
        assert_eq!(st.in_flight, 0, "{st:?}");
        assert_eq!(st.released(), st.submitted + st.not_submitted, "{st:?}");
        assert_eq!(st.lifecycle_violations, 0);
        for q in [TPC_0, TPC_1, PDMA_0_0, PDMA_1_0, 7, ROT_0] {
            let hq = d.queue(q).unwrap();
            assert_eq!(hq.used_slots(), 0, "queue {q}: {hq:?}");
        }
        drop(fences);
        assert_eq!(d.open_contexts(), 0);
        assert_eq!(d.live_fences(), 0, "{st:?}");
    }
}

/// Real clock: open a context, submit `per_ctx` one-job CSs (waiting a little on every other
/// one when `waits`), close it, and again, `rounds` times. The first submit on every newly
/// opened context must get seq 1 (hl_ctx_init: empty ring, seq 1).
fn reopen_rounds(rounds: usize, per_ctx: usize, waits: bool) -> Result<(), String> {
    reopen_rounds_with(
        rounds,
        per_ctx,
        if waits { Pause::WaitCs } else { Pause::None },
    )
}

#[derive(Clone, Copy, PartialEq)]
enum Pause {
    None,
    WaitCs,
    Sleep,
    FenceWait,
}

fn reopen_rounds_with(rounds: usize, per_ctx: usize, pause: Pause) -> Result<(), String> {
    let mut cfg = DeviceConfig::for_asic::<Example>();
    cfg.clock = ClockMode::Real;
    cfg.tdr_timeout = None;
    cfg.sim.poll_spins = 0;
    cfg.sim.latency = Duration::from_micros(30);
    cfg.sim.jitter = Duration::from_micros(200);
    cfg.sim.out_of_order = true;
    let d = Device::<Example>::new(cfg).unwrap();
    let runner = Runner::start(&d).unwrap();
    for i in 0..rounds {
        let c = d.open().unwrap();
        for k in 0..per_ctx {
            let q = [TPC_0, TPC_1, PDMA_0_0, PDMA_1_0, 7][(i + k) % 5];
            let s = match c.submit(&CsSubmit::new(&[Job::new(q)])) {
                Ok(s) => s,
                Err(e) => {
                    // Give it time: is the slot stuck for good?
                    thread::sleep(Duration::from_millis(200));
                    let again = c.submit(&CsSubmit::new(&[Job::new(q)]));
                    return Err(format!(
                        "round {i}, CS {k} of a fresh context: {e:?}; 200 ms later: {again:?}; \
                         live fences of the context {}; {:?}",
                        c.live_fences(),
                        d.stats()
                    ));
                }
            };
            assert_eq!(s, k as u64 + 1);
            if k % 2 == 1 {
                match pause {
                    Pause::None => {}
                    Pause::WaitCs => {
                        let _ = c.wait_cs(s, Duration::from_micros(300), None);
                    }
                    Pause::Sleep => thread::sleep(Duration::from_micros(300)),
                    Pause::FenceWait => {
                        let _ = fence_of(&c, s).wait_timeout(Duration::from_micros(300));
                    }
                }
            }
        }
        drop(c);
    }
    runner.stop();
    if d.live_fences() != 0 {
        return Err(format!(
            "{} fences never released; {:?}",
            d.live_fences(),
            d.stats()
        ));
    }
    Ok(())
}

// hl_ctx_init: a context starts with an empty ring at seq 1, so the first CS of a freshly opened
// context can never be "too many in flight"; hl_ctx_fini leaves no fence behind. Contexts
// closed while CSs complete on the runner's threads (with short waits in between) must not
// leave a pending fence in the slot for the next context.
#[test]
fn reopened_context_starts_with_an_empty_ring_real_clock() {
    // Two CSs per context, a 300 us wait on the second, close: fails within a few rounds.
    within(|| reopen_rounds(2000, 2, true).unwrap());
}

// The same storm without waits passes: the waits matter.
#[test]
fn reopened_context_starts_with_an_empty_ring_no_waits_real_clock() {
    within(|| reopen_rounds(1000, 4, false).unwrap());
}

// §2.4: every released CS's fence is signalled (complete_all), also with short waits racing
// the completions (control for the reopened-context finding: without closes all is well).
#[test]
fn completions_with_short_waits_signal_every_fence_real_clock() {
    within(|| {
        let (d, c, runner) = real::<Example>(|cfg| {
            cfg.tdr_timeout = None;
            cfg.sim.latency = Duration::from_micros(30);
            cfg.sim.jitter = Duration::from_micros(200);
            cfg.sim.out_of_order = true;
        });
        for i in 0..300usize {
            let mut fs = Vec::new();
            for k in 0..4usize {
                let q = [TPC_0, TPC_1, PDMA_0_0, PDMA_1_0, 7][(i + k) % 5];
                let s = c.submit(&CsSubmit::new(&[Job::new(q)])).unwrap();
                fs.push(fence_of(&c, s));
                if k % 2 == 1 {
                    let _ = c.wait_cs(s, Duration::from_micros(300), None);
                }
            }
            for f in &fs {
                let w = f.wait_timeout(Duration::from_secs(2));
                assert_eq!(
                    w,
                    Ok(Outcome::Ok),
                    "round {i} CS {}: {:?}",
                    f.seq(),
                    d.stats()
                );
            }
        }
        runner.stop();
    });
}

// §2.5 cs_handle_tdr: when the head CS is released, the TDR moves to the next CS that needs a
// timeout, with that CS's own timeout, from the release. Here the head is released by the close
// of its context (hl_ctx_fini rollback): the other context's hung CS must still be timed.
#[test]
fn tdr_moves_on_when_the_head_is_released_by_a_context_close() {
    within(|| {
        let (d, a) = virt::<Example>(|c| c.contexts = 2);
        let b = d.open().unwrap();
        let sa = a.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let sb = b
            .submit(&CsSubmit::new(&one(TPC_1, Work::Hang)).with_timeout(Duration::from_millis(5)))
            .unwrap();
        d.advance(Duration::from_millis(1));
        assert_eq!(d.armed_tdr().map(|(s, _)| s), Some(sa));
        drop(a);
        let (seq, deadline) = d.armed_tdr().expect("the TDR moved to b's CS");
        assert_eq!(seq, sb);
        assert_eq!(
            deadline.as_nanos(),
            Duration::from_millis(6).as_nanos() as u64
        );
        assert_eq!(
            b.wait_cs(sb, Duration::MAX, None),
            Err(CsWaitError::TimedOut { seq: sb })
        );
    });
}

// §2.5: a never-timed head (custom timeout MAX) keeps the timer off; once it completes, the
// next CS is timed with its own timeout from that moment.
#[test]
fn tdr_after_a_never_timed_head_completes() {
    within(|| {
        let (d, ctx) = virt::<Example>(|_| {});
        let s1 = ctx
            .submit(
                &CsSubmit::new(&one(TPC_0, Work::Run(Duration::from_secs(10))))
                    .with_timeout(Duration::MAX),
            )
            .unwrap();
        let s2 = ctx
            .submit(&CsSubmit::new(&one(TPC_1, Work::Hang)).with_timeout(Duration::from_millis(3)))
            .unwrap();
        d.advance(Duration::from_secs(5));
        assert_eq!(d.armed_tdr(), None);
        assert_eq!(fence_of(&ctx, s2).poll(), None);
        d.advance(Duration::from_secs(5));
        assert_eq!(fence_of(&ctx, s1).poll(), Some(Outcome::Ok));
        let (seq, deadline) = d.armed_tdr().expect("s2 timed now");
        assert_eq!(seq, s2);
        assert_eq!(
            deadline.as_nanos(),
            Duration::from_millis(10_003).as_nanos() as u64
        );
        assert_eq!(
            ctx.wait_cs(s2, Duration::MAX, None),
            Err(CsWaitError::TimedOut { seq: s2 })
        );
    });
}

// Device docs + §2.6: dropping the last Device handle while several threads submit and wait on
// their own contexts: every CS that got a seq is released (aborted if in flight), every waiter
// returns, submits after the teardown get "not operational", nothing panics.
#[test]
fn device_drop_races_submitters_real_clock() {
    within(|| {
        let mut cfg = DeviceConfig::for_asic::<Example>();
        cfg.clock = ClockMode::Real;
        cfg.contexts = 3;
        cfg.tdr_timeout = None;
        cfg.sim.poll_spins = 0;
        cfg.sim.latency = Duration::from_micros(50);
        let d = Device::<Example>::new(cfg).unwrap();
        let runner = Runner::start(&d).unwrap();
        let barrier = Arc::new(Barrier::new(4));
        let hs: Vec<_> = (0..3usize)
            .map(|t| {
                let c = d.open().unwrap();
                let b = Arc::clone(&barrier);
                thread::spawn(move || {
                    b.wait();
                    let mut fences = Vec::new();
                    for i in 0..100_000usize {
                        let w = if i % 5 == 0 {
                            Work::Hang
                        } else {
                            Work::Run(Duration::from_micros(20))
                        };
                        match c.submit(&CsSubmit::new(&one([TPC_0, TPC_1, PDMA_0_0][t], w))) {
                            Ok(s) => {
                                fences.push(fence_of(&c, s));
                                let r = c.wait_cs(s, Duration::from_millis(1), None);
                                assert!(
                                    matches!(
                                        r,
                                        Ok(_)
                                            | Err(CsWaitError::Aborted { .. }
                                                | CsWaitError::DeviceNotOperational)
                                    ),
                                    "{r:?}"
                                );
                            }
                            Err(SubmitError::DeviceNotOperational) => break,
                            Err(e) if e.is_try_again() => thread::yield_now(),
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                    drop(c);
                    fences
                })
            })
            .collect();
        barrier.wait();
        thread::sleep(Duration::from_millis(30));
        drop(d);
        for h in hs {
            for f in h.join().expect("no panic") {
                let w = f.wait_timeout(Duration::from_secs(2));
                assert!(
                    matches!(w, Ok(Outcome::Ok | Outcome::Aborted)),
                    "CS {}: {w:?}",
                    f.seq()
                );
            }
        }
        runner.stop();
    });
}

// §4 -EINTR: one cancellation token shared by many sleeping waiters wakes all of them.
#[test]
fn one_cancel_wakes_every_waiter_real_clock() {
    within(|| {
        let (d, ctx, runner) = real::<Example>(|c| c.tdr_timeout = None);
        let ctx = Arc::new(ctx);
        let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let tok = Arc::new(CancelToken::new());
        let mut rxs = Vec::new();
        for i in 0..8 {
            let (c, t) = (Arc::clone(&ctx), Arc::clone(&tok));
            rxs.push(if i < 2 {
                spawn_waiter(move || c.wait_multi(&[s], FOREVER, Some(&t)).map(|_| ()))
            } else if i < 5 {
                spawn_waiter(move || c.wait_cs(s, FOREVER, Some(&t)).map(|_| ()))
            } else {
                let f = fence_of(&c, s);
                spawn_waiter(move || match f.wait_signalled(None, Some(&t)) {
                    Err(asicgen_runtime::WaitError::Interrupted) => Err(CsWaitError::Interrupted),
                    other => panic!("{other:?}"),
                })
            });
        }
        thread::sleep(Duration::from_millis(50));
        tok.cancel();
        for rx in &rxs {
            assert_eq!(recv(rx, "waiter"), Err(CsWaitError::Interrupted));
        }
        d.reset();
        runner.stop();
    });
}

// Same rule; the waiter only holds a fence handle (CsFence::wait_timeout) before the close.
#[test]
fn reopened_context_starts_with_an_empty_ring_fence_waits_real_clock() {
    within(|| reopen_rounds_with(2000, 2, Pause::FenceWait).unwrap());
}

// Control: the same rounds with a plain sleep instead of a wait pass (no waiter on the fence).
#[test]
fn reopened_context_starts_with_an_empty_ring_sleeps_real_clock() {
    within(|| reopen_rounds_with(2000, 2, Pause::Sleep).unwrap());
}

#[derive(Clone, Copy, Debug)]
enum Teardown {
    Reset,
    RunnerRestart,
}

/// Real clock: rounds of two CSs (one may hang), a timed-out wait on each, then a reset or a
/// runner restart. The context's ring must never report a slot busy once everything was
/// released, and at the end every fence is released.
fn waits_then_teardown(t: Teardown) -> Result<(), String> {
    let mut cfg = DeviceConfig::for_asic::<Example>();
    cfg.clock = ClockMode::Real;
    cfg.tdr_timeout = None;
    cfg.sim.poll_spins = 0;
    cfg.sim.latency = Duration::from_micros(30);
    cfg.sim.jitter = Duration::from_micros(200);
    cfg.sim.out_of_order = true;
    let d = Device::<Example>::new(cfg).unwrap();
    let mut runner = Some(Runner::start(&d).unwrap());
    let c = d.open().unwrap();
    let mut held = Vec::new();
    for i in 0..400usize {
        let w = if i % 3 == 0 {
            Work::Hang
        } else {
            Work::Default
        };
        let mut seqs = Vec::new();
        for q in [[TPC_0, TPC_1, PDMA_0_0][i % 3], 7] {
            match c.submit(&CsSubmit::new(&one(q, w))) {
                Ok(s) => seqs.push(s),
                Err(e) => {
                    return Err(format!(
                        "round {i}: {e:?}; {:?}; live {}",
                        d.stats(),
                        d.live_fences()
                    ));
                }
            }
        }
        for &s in &seqs {
            let f = fence_of(&c, s);
            let _ = f.wait_timeout(Duration::from_micros(100));
            let _ = c.wait_cs(s, Duration::from_micros(100), None);
            if i % 50 == 0 {
                held.push(f);
            }
        }
        match t {
            Teardown::Reset => d.reset(),
            Teardown::RunnerRestart => {
                runner.take().unwrap().stop();
                runner = Some(Runner::start(&d).unwrap());
            }
        }
        for &s in &seqs {
            let r = fence_of(&c, s).wait_timeout(Duration::from_secs(2));
            if r.is_err() {
                return Err(format!(
                    "round {i}: CS {s} not released after {t:?}: {r:?}; {:?}",
                    d.stats()
                ));
            }
        }
    }
    drop(runner);
    drop(c);
    drop(held);
    if d.live_fences() != 0 {
        return Err(format!(
            "{} fences never released; {:?}",
            d.live_fences(),
            d.stats()
        ));
    }
    Ok(())
}

// §2.6: a reset releases every CS in flight and the ring keeps working, also when the fences
// had waiters that timed out.
#[test]
fn waits_then_resets_keep_the_ring_working_real_clock() {
    within(|| waits_then_teardown(Teardown::Reset).unwrap());
}

// Runner stop rolls back what is in flight; a new runner continues; fences all released.
#[test]
fn waits_then_runner_restarts_keep_the_ring_working_real_clock() {
    within(|| waits_then_teardown(Teardown::RunnerRestart).unwrap());
}

// Device docs: the device is torn down when the last handle goes: clones dropped from many
// threads at once tear it down exactly once; a waiter on a hung CS returns aborted.
#[test]
fn device_clones_dropped_concurrently() {
    within(|| {
        for _ in 0..50 {
            let (d, ctx) = virt::<Example>(|c| c.tdr_timeout = None);
            let s = ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
            let f = fence_of(&ctx, s);
            let rx = spawn_waiter(move || f.wait());
            let b = Arc::new(Barrier::new(8));
            let hs: Vec<_> = (0..8)
                .map(|_| {
                    let d = d.clone();
                    let b = Arc::clone(&b);
                    thread::spawn(move || {
                        b.wait();
                        drop(d);
                    })
                })
                .collect();
            drop(d);
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(recv(&rx, "fence waiter"), Outcome::Aborted);
            assert_eq!(
                ctx.submit(&CsSubmit::new(&one(TPC_0, Work::Default))),
                Err(SubmitError::DeviceNotOperational)
            );
        }
    });
}

// §4 hl_wait_ioctl: "device not operational" (-EBUSY) is checked before anything else of a
// wait (seq validity, multi-CS support, seq count).
#[test]
fn wait_checks_operational_first() {
    within(|| {
        let (d, ctx) = virt::<Example>(|_| {});
        d.mark_needs_reset();
        let (g, gctx) = virt::<Goya>(|_| {});
        g.mark_needs_reset();
        let got = [
            ("wait_cs(0)", ctx.wait_cs(0, POLL, None).map(|_| ())),
            ("wait_cs(99)", ctx.wait_cs(99, POLL, None).map(|_| ())),
            (
                "wait_multi([])",
                ctx.wait_multi(&[], POLL, None).map(|_| ()),
            ),
            (
                "wait_multi([1; 33])",
                ctx.wait_multi(&[1; 33], POLL, None).map(|_| ()),
            ),
            (
                "wait_multi([0])",
                ctx.wait_multi(&[0], POLL, None).map(|_| ()),
            ),
            (
                "goya wait_multi([1])",
                gctx.wait_multi(&[1], POLL, None).map(|_| ()),
            ),
        ];
        let wrong: Vec<_> = got
            .iter()
            .filter(|(_, r)| *r != Err(CsWaitError::DeviceNotOperational))
            .collect();
        assert!(wrong.is_empty(), "{wrong:?}");
    });
}

// §4 hl_multi_cs_wait_ioctl: without multi-CS support it is -EPERM before the length check.
#[test]
fn multi_wait_not_supported_before_length_check() {
    within(|| {
        let (_g, gctx) = virt::<Goya>(|_| {});
        assert_eq!(
            gctx.wait_multi(&[], POLL, None),
            Err(CsWaitError::NotSupported)
        );
        assert_eq!(
            gctx.wait_multi(&[1; 33], POLL, None),
            Err(CsWaitError::NotSupported)
        );
        assert_eq!(
            gctx.wait_multi(&[0], POLL, None),
            Err(CsWaitError::NotSupported)
        );
    });
}

// §2.2 hl_cs_sanity_checks: "device not operational" (-EBUSY) comes before the chunk count
// checks (0 chunks, too many).
#[test]
fn submit_checks_operational_first() {
    within(|| {
        let (d, ctx) = virt::<Example>(|_| {});
        d.mark_needs_reset();
        assert_eq!(
            ctx.submit(&CsSubmit::new(&[])),
            Err(SubmitError::DeviceNotOperational)
        );
        let many = vec![Job::new(TPC_0); 1000];
        assert_eq!(
            ctx.submit(&CsSubmit::new(&many)),
            Err(SubmitError::DeviceNotOperational)
        );
        assert_eq!(ctx.next_seq(), 1);
        assert_eq!(d.counters(), Default::default());
    });
}

// §4 MULTI_CS_MAX_USER_CTX is per device: two sleeping multi-waits of one context leave no slot
// for another context.
#[test]
fn multi_wait_slots_are_per_device_real_clock() {
    within(|| {
        let (d, a, runner) = real::<Example>(|c| {
            c.contexts = 2;
            c.tdr_timeout = None;
        });
        let b = d.open().unwrap();
        let a = Arc::new(a);
        let s = a.submit(&CsSubmit::new(&one(TPC_0, Work::Hang))).unwrap();
        let sb = b.submit(&CsSubmit::new(&one(TPC_1, Work::Hang))).unwrap();
        let rxs: Vec<_> = (0..2)
            .map(|_| {
                let c = Arc::clone(&a);
                spawn_waiter(move || c.wait_multi(&[s], FOREVER, None))
            })
            .collect();
        thread::sleep(Duration::from_millis(100));
        assert_eq!(
            b.wait_multi(&[sb], FOREVER, None),
            Err(CsWaitError::NoMultiWaitSlot)
        );
        d.reset();
        for rx in &rxs {
            assert_eq!(
                recv(rx, "multi waiter"),
                Err(CsWaitError::Aborted { seq: s })
            );
        }
        runner.stop();
    });
}

/// Helper run in a child process by `huge_context_count_is_refused_not_aborted`.
#[test]
#[ignore = "helper: run by huge_context_count_is_refused_not_aborted in a memory-limited child"]
fn huge_context_count_child() {
    // Only inside the memory-limited child: never eat the machine's memory in-process.
    if std::env::var_os("ADV_HUGE_CTX_CHILD").is_none() {
        return;
    }
    let mut cfg = DeviceConfig::for_asic::<Example>();
    cfg.contexts = u32::MAX;
    let r = Device::<Example>::new(cfg).map(|_| ());
    assert!(r.is_err(), "{r:?}");
}

// Device docs / hl_ctx_init: contexts are opened one by one (the driver allocates an hl_ctx per
// open); a configuration the runtime cannot honour must be refused with a DeviceError, not abort
// the process. Device::new with contexts = u32::MAX runs in a child limited to 2 GB of address
// space (so it cannot hurt the machine) and must exit normally.
#[test]
fn huge_context_count_is_refused_not_aborted() {
    within(|| {
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg("ulimit -v 2000000; exec \"$0\" --ignored --exact huge_context_count_child")
            .arg(&exe)
            .env("ADV_HUGE_CTX_CHILD", "1")
            .output()
            .expect("child");
        assert!(
            out.status.success(),
            "{:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    });
}
