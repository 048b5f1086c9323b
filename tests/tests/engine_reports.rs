//! Engines that report their jobs' ends (`Started::Running` and `Device::job_done`), as real
//! hardware does through its completion interrupt (`hl_irq_handler_cq` → `job_finish` /
//! `cs_finish`, docs/driver-semantics.md §2.3): a job ends when it is reported and not before, a
//! CS completes once every job with a completion did, an engine error resets the device (§2.6),
//! a halted job cannot be reported, and the TDR still times a job nobody reports (§2.5). Every
//! rule runs for every generation on the scripted backend, on the virtual clock; one runs on real
//! threads with the report coming from another thread.

mod common;

use asicgen_runtime::asic::Asic;
use asicgen_runtime::scripted::{Scripted, Step};
use asicgen_runtime::{
    ClockMode, Context, CsSubmit, CsWaitError, Device, DeviceConfig, Job, JobDoneError, JobEnd,
    Runner, WaitStatus,
};
use common::*;
use std::time::Duration;

fn poll<A: Asic>(ctx: &Context<A>, seq: u64) -> Result<WaitStatus, CsWaitError> {
    ctx.wait_cs(seq, Duration::ZERO, None)
}

/// A job whose end is reported does not complete with time, only with its report.
fn a_running_job_ends_when_reported<A: Asic>() {
    let (d, ctx, running) = scripted::<A>(&[Step::Report], |c| c.tdr_timeout = None);
    let seq = submit_one(&ctx, completing_queue::<A>(), Default::default());
    d.advance(Duration::from_secs(3600));
    assert_eq!(poll(&ctx, seq), Ok(WaitStatus::Busy));
    let ids = running.take();
    assert_eq!(ids.len(), 1);
    d.job_done(ids[0], JobEnd::Complete).expect("reported");
    assert!(matches!(
        poll(&ctx, seq),
        Ok(WaitStatus::Completed { gone: false, .. })
    ));
    assert_eq!(d.stats().completed, 1);
    assert!(d.busy_engines().is_idle(), "the engine is idle again");
}

/// A CS of two reported jobs completes with the second report, in whichever order they come.
fn a_cs_completes_when_its_last_job_is_reported<A: Asic>() {
    let (d, ctx, running) = scripted::<A>(&[Step::Report, Step::Report], |c| c.tdr_timeout = None);
    let (a, b) = two_engines::<A>();
    let seq = ctx
        .submit(&CsSubmit::new(&[Job::new(a), Job::new(b)]))
        .expect("submitted");
    let ids = running.take();
    assert_eq!(ids.len(), 2);
    d.job_done(ids[1], JobEnd::Complete).expect("second job");
    d.advance(Duration::from_millis(1));
    assert_eq!(poll(&ctx, seq), Ok(WaitStatus::Busy), "one job still runs");
    d.job_done(ids[0], JobEnd::Complete).expect("first job");
    assert!(matches!(poll(&ctx, seq), Ok(WaitStatus::Completed { .. })));
}

/// A job is reported once; an id the engines never ran is refused; a hang is not an end.
fn a_report_is_taken_once<A: Asic>() {
    let (d, ctx, running) = scripted::<A>(&[Step::Report, Step::Report], |_| {});
    let q = completing_queue::<A>();
    let _ = submit_one(&ctx, q, Default::default());
    let _ = submit_one(&ctx, q, Default::default());
    let ids = running.take();
    assert_eq!(
        d.job_done(ids[0], JobEnd::Hang),
        Err(JobDoneError::NotAnEnd)
    );
    assert_eq!(d.job_done(ids[0], JobEnd::Complete), Ok(()));
    assert_eq!(
        d.job_done(ids[0], JobEnd::Complete),
        Err(JobDoneError::UnknownJob(ids[0]))
    );
    assert_eq!(d.job_done(ids[1], JobEnd::Complete), Ok(()));
    assert_eq!(d.stats().completed, 2);
}

/// A reported engine error resets the device: the CS is aborted (-EIO) and the device takes
/// work again.
fn a_reported_fault_resets_the_device<A: Asic>() {
    let (d, ctx, running) = scripted::<A>(&[Step::Report], |_| {});
    let seq = submit_one(&ctx, completing_queue::<A>(), Default::default());
    let id = running.take()[0];
    d.job_done(id, JobEnd::Fault).expect("reported");
    assert_eq!(poll(&ctx, seq), Err(CsWaitError::Aborted { seq }));
    let st = d.stats();
    assert_eq!((st.engine_faults, st.resets), (1, 1), "{st:?}");
    assert!(d.is_operational());
}

/// A reset halts the engines: a job it rolled back cannot be reported afterwards, and the CS
/// stays aborted.
fn a_reset_halts_running_jobs<A: Asic>() {
    let (d, ctx, running) = scripted::<A>(&[Step::Report], |_| {});
    let seq = submit_one(&ctx, completing_queue::<A>(), Default::default());
    let id = running.take()[0];
    d.reset();
    assert_eq!(poll(&ctx, seq), Err(CsWaitError::Aborted { seq }));
    assert_eq!(
        d.job_done(id, JobEnd::Complete),
        Err(JobDoneError::UnknownJob(id))
    );
    assert_eq!(d.stats().completed, 0);
}

/// The TDR times a job nobody reports, as it times a hung one.
fn an_unreported_job_times_out<A: Asic>() {
    let tdr = Duration::from_millis(5);
    let (d, ctx, running) = scripted::<A>(&[Step::Report], |c| {
        c.tdr_timeout = Some(tdr);
        c.reset_on_lockup = true;
    });
    let seq = submit_one(&ctx, completing_queue::<A>(), Default::default());
    let id = running.take()[0];
    d.advance(tdr * 2);
    assert_eq!(poll(&ctx, seq), Err(CsWaitError::TimedOut { seq }));
    assert_eq!(d.stats().tdr_fired, 1);
    assert_eq!(
        d.job_done(id, JobEnd::Complete),
        Err(JobDoneError::UnknownJob(id)),
        "the reset after the TDR halted it"
    );
}

for_each_asic!(
    a_running_job_ends_when_reported,
    a_cs_completes_when_its_last_job_is_reported,
    a_report_is_taken_once,
    a_reported_fault_resets_the_device,
    a_reset_halts_running_jobs,
    an_unreported_job_times_out,
);

/// Real threads: a waiter sleeps on the CS while another thread reports its job, as an
/// interrupt handler would; the waiter returns with the CS completed.
#[test]
fn a_report_from_another_thread_wakes_the_waiter() {
    use asicgen_generated::gaudi::Gaudi;
    let script = Scripted::new([Step::Report]);
    let running = script.running();
    let mut cfg = DeviceConfig::for_asic::<Gaudi>();
    cfg.clock = ClockMode::Real;
    let d = Device::<Gaudi>::with_engines(cfg, script).expect("config");
    let ctx = d.open().expect("a free context");
    let _runner = Runner::start(&d).expect("threads");
    let seq = submit_one(&ctx, completing_queue::<Gaudi>(), Default::default());
    let id = running.take()[0];
    std::thread::scope(|s| {
        let waiter = s.spawn(|| ctx.wait_cs(seq, Duration::from_secs(60), None));
        let interrupt = s.spawn(|| d.job_done(id, JobEnd::Complete));
        assert_eq!(interrupt.join().expect("interrupt"), Ok(()));
        assert!(matches!(
            waiter.join().expect("waiter"),
            Ok(WaitStatus::Completed { .. })
        ));
    });
}
