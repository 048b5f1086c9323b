//! `asicgen simulate --trace FILE`: a Chrome-trace / Perfetto JSON timeline of a run, on the
//! device's own clock (virtual ns in a `--virtual` run, `CLOCK_MONOTONIC` otherwise).
//!
//! - a track per engine lane with its jobs (`drm_run_job` slices, like the kernel's drm_sched
//!   tracepoint of that name), each naming its queue and the CS it belongs to. An engine that
//!   runs jobs side by side (`--out-of-order`) gets as many lanes as it needs, so no two
//!   slices of one track overlap;
//! - an async span per CS from submit to release (`drm_sched_job`, with seq, context and
//!   outcome);
//! - instants for TDR expiries (`drm_sched_job_timedout`) and device resets
//!   (`hl_device_reset`);
//! - a `cs_in_flight` counter.
//!
//! It is built without touching the runtime: [`TracedEngines`] wraps the simulator backend at
//! the driver's engine seam and records every job start, and the submitter records what it
//! submits and sees released. The driver starts a CS's jobs on the submitting thread while it
//! holds the submission lock, so jobs recorded on a thread since its last submit belong to the
//! CS that submit returns.

use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use asicgen_runtime::{Engines, JobEnd, JobStart, Started};

/// A recorded job on an engine track.
struct Job {
    /// Index into `A::QUEUES` (named when written).
    queue: usize,
    /// Index into `A::ENGINES`.
    engine: usize,
    /// Sub-lane of the engine's track.
    lane: usize,
    begin: u64,
    /// `None` while hung or stuck: it ends at the next reset.
    end: Option<u64>,
    how: &'static str,
    /// The CS it belongs to, once its submit returned.
    seq: Option<u64>,
    /// How many device resets came before it started.
    epoch: usize,
}

struct Cs {
    seq: u64,
    submitted: u64,
    released: Option<(u64, &'static str)>,
}

#[derive(Default)]
struct Data {
    jobs: Vec<Job>,
    css: Vec<Cs>,
    /// Per engine, per sub-lane: when the lane is free again (`u64::MAX` while a hung job
    /// holds it).
    lanes: Vec<Vec<u64>>,
    tdrs: Vec<u64>,
    resets: Vec<u64>,
    /// Resets of the engines so far (the backend sees each one).
    epoch: usize,
    seen_tdrs: u64,
    seen_resets: u64,
}

/// The timeline being recorded; shared by the engines wrapper and the submitters.
#[derive(Clone, Default)]
pub struct Trace(Arc<Mutex<Data>>);

thread_local! {
    /// Jobs this thread started since its last submit returned (indices into `Data::jobs`).
    static UNTAGGED: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

impl Trace {
    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A CS was submitted at `at` as `seq`: its span opens and the jobs this thread just
    /// started are its jobs.
    pub fn submitted(&self, seq: u64, at: u64) {
        let mut data = self.data();
        UNTAGGED.with_borrow_mut(|jobs| {
            for &i in jobs.iter() {
                if let Some(job) = data.jobs.get_mut(i) {
                    job.seq = Some(seq);
                }
            }
            jobs.clear();
        });
        data.css.push(Cs {
            seq,
            submitted: at,
            released: None,
        });
    }

    /// A submit failed after starting no job or some (a full later queue): those jobs belong
    /// to no CS the user holds.
    pub fn submit_failed(&self) {
        UNTAGGED.with_borrow_mut(Vec::clear);
    }

    /// CS `seq` was seen released at `at` with `outcome`.
    pub fn released(&self, seq: u64, at: u64, outcome: &'static str) {
        let mut data = self.data();
        if let Some(cs) = data
            .css
            .iter_mut()
            .rev()
            .find(|c| c.seq == seq && c.released.is_none())
        {
            cs.released = Some((at.max(cs.submitted), outcome));
        }
    }

    /// The device's TDR and reset counters as of `at`: every increase is an instant then.
    pub fn counters(&self, tdr_fired: u64, resets: u64, at: u64) {
        let mut data = self.data();
        for _ in data.seen_tdrs..tdr_fired {
            data.tdrs.push(at);
        }
        for _ in data.seen_resets..resets {
            data.resets.push(at);
        }
        data.seen_tdrs = data.seen_tdrs.max(tdr_fired);
        data.seen_resets = data.seen_resets.max(resets);
    }

    fn job_started(&self, job: &JobStart, now: u64, started: Started) {
        let Some(engine) = job.engine else {
            return; // a queue without an engine (the CPU queue) has no track
        };
        let mut data = self.data();
        if data.lanes.len() <= engine {
            data.lanes.resize_with(engine + 1, Vec::new);
        }
        let lanes = &mut data.lanes[engine];
        let (begin, end, how) = match started {
            Started::Due { at, end } => {
                let how = match end {
                    JobEnd::Complete => "complete",
                    JobEnd::Fault => "fault",
                    JobEnd::Hang => "hang",
                };
                (now, Some(at), how)
            }
            Started::Hang => (now, None, "hang"),
            // Ends when its backend reports it, which the trace does not see: drawn open-ended.
            Started::Running => (now, None, "running"),
            // Queued behind a hung job on an in-order engine: it never runs, so it has no slice
            // (its CS's span still shows it waiting).
            Started::Stuck => return,
        };
        // In-order engines queue a job behind the one before: it begins when lane 0 frees.
        // Anything that cannot follow on lane 0 (out-of-order engines) takes the first lane
        // free at `now`, or a new one.
        let lane0_free = lanes.first().copied().unwrap_or(0);
        let (lane, begin) = match end {
            Some(due) if lane0_free != u64::MAX && due >= begin.max(lane0_free) => {
                (0, begin.max(lane0_free))
            }
            _ => match lanes.iter().position(|&free| free <= begin) {
                Some(lane) => (lane, begin),
                None => (lanes.len(), begin),
            },
        };
        if lanes.len() <= lane {
            lanes.resize(lane + 1, 0);
        }
        lanes[lane] = end.unwrap_or(u64::MAX);
        let index = data.jobs.len();
        let epoch = data.epoch;
        data.jobs.push(Job {
            queue: job.queue,
            engine,
            lane,
            begin,
            end,
            how,
            seq: None,
            epoch,
        });
        UNTAGGED.with_borrow_mut(|jobs| jobs.push(index));
    }

    fn engines_reset(&self) {
        // Nothing started before a reset comes due; lanes are free again. Jobs of the ended
        // epoch are cut at the reset when written (the submitters record its instant).
        let mut data = self.data();
        data.epoch += 1;
        for lanes in &mut data.lanes {
            lanes.iter_mut().for_each(|free| *free = 0);
        }
    }

    /// Writes the timeline as Chrome-trace JSON; `queue_name`/`engine_name` name indices into
    /// the generation's tables. Returns how many events were written.
    pub fn write(
        &self,
        out: &mut dyn Write,
        title: &str,
        queue_name: &dyn Fn(usize) -> String,
        engine_name: &dyn Fn(usize) -> String,
    ) -> io::Result<usize> {
        let data = self.data();
        let mut w = EventWriter::new(out)?;
        let us = |ns: u64| ns as f64 / 1000.0;
        w.event(&serde_json::json!({
            "name": "process_name", "ph": "M", "pid": 1, "args": { "name": title }
        }))?;
        w.event(&serde_json::json!({
            "name": "thread_name", "ph": "M", "pid": 1, "tid": 0,
            "args": { "name": "command submissions" }
        }))?;
        // Engine tracks: tid 1 + a dense index over (engine, lane).
        let mut tids: Vec<Vec<usize>> = Vec::new();
        let mut next_tid = 1;
        for (engine, lanes) in data.lanes.iter().enumerate() {
            let mut row = Vec::new();
            for lane in 0..lanes.len() {
                row.push(next_tid);
                let name = if lane == 0 {
                    engine_name(engine)
                } else {
                    format!("{} #{}", engine_name(engine), lane + 1)
                };
                w.event(&serde_json::json!({
                    "name": "thread_name", "ph": "M", "pid": 1, "tid": next_tid,
                    "args": { "name": name }
                }))?;
                w.event(&serde_json::json!({
                    "name": "thread_sort_index", "ph": "M", "pid": 1, "tid": next_tid,
                    "args": { "sort_index": next_tid }
                }))?;
                next_tid += 1;
            }
            tids.push(row);
        }
        let last_time = data
            .jobs
            .iter()
            .filter_map(|j| j.end)
            .chain(data.css.iter().filter_map(|c| c.released.map(|r| r.0)))
            .chain(data.resets.iter().copied())
            .max()
            .unwrap_or(0);
        // Where each epoch ends: at its reset instant as recorded, but never after the first job
        // of the next epoch began (a submitter may record the instant a little late).
        let mut epoch_end = vec![u64::MAX; data.epoch + 1];
        for (k, end) in epoch_end.iter_mut().enumerate() {
            if let Some(&t) = data.resets.get(k) {
                *end = t;
            }
        }
        for job in &data.jobs {
            if job.epoch > 0 {
                let end = &mut epoch_end[job.epoch - 1];
                *end = (*end).min(job.begin);
            }
        }
        for job in &data.jobs {
            // A job still running at a reset ends there: nothing started before it comes due. A
            // hung job holds its lane until then (or the end of the run).
            let cut = epoch_end[job.epoch];
            if job.begin >= cut && job.end.is_none_or(|e| e > cut) {
                continue; // queued behind others, it had not begun when the reset came
            }
            let end = job
                .end
                .map_or(cut, |e| e.min(cut))
                .min(last_time.max(job.begin));
            let tid = tids[job.engine][job.lane];
            w.event(&serde_json::json!({
                "name": "drm_run_job", "cat": "job", "ph": "X", "pid": 1, "tid": tid,
                "ts": us(job.begin), "dur": us(end - job.begin),
                "args": { "queue": queue_name(job.queue), "seq": job.seq, "end": job.how }
            }))?;
        }
        let mut in_flight: Vec<(u64, i64)> = Vec::with_capacity(data.css.len() * 2);
        for cs in &data.css {
            let (end, outcome) = cs
                .released
                .unwrap_or((last_time.max(cs.submitted), "unknown"));
            let id = format!("cs{}", cs.seq);
            w.event(&serde_json::json!({
                "name": "drm_sched_job", "cat": "cs", "ph": "b", "pid": 1, "tid": 0,
                "id": id, "ts": us(cs.submitted), "args": { "seq": cs.seq, "ctx": 0 }
            }))?;
            w.event(&serde_json::json!({
                "name": "drm_sched_job", "cat": "cs", "ph": "e", "pid": 1, "tid": 0,
                "id": id, "ts": us(end), "args": { "outcome": outcome }
            }))?;
            in_flight.push((cs.submitted, 1));
            in_flight.push((end, -1));
        }
        // By time; at one instant in the order they happened (each CS's submit before its
        // release), so the counter never goes below zero.
        in_flight.sort_by_key(|&(t, _)| t);
        let mut count = 0i64;
        for (t, delta) in in_flight {
            count += delta;
            w.event(&serde_json::json!({
                "name": "cs_in_flight", "ph": "C", "pid": 1, "ts": us(t),
                "args": { "cs_in_flight": count }
            }))?;
        }
        for (name, times) in [
            ("drm_sched_job_timedout", &data.tdrs),
            ("hl_device_reset", &data.resets),
        ] {
            for &t in times {
                w.event(&serde_json::json!({
                    "name": name, "ph": "i", "s": "g", "pid": 1, "tid": 0, "ts": us(t)
                }))?;
            }
        }
        w.finish()
    }
}

/// `{"displayTimeUnit": "ns", "traceEvents": [ ... ]}`, one event a line.
struct EventWriter<'w> {
    out: &'w mut dyn Write,
    count: usize,
}

impl<'w> EventWriter<'w> {
    fn new(out: &'w mut dyn Write) -> io::Result<EventWriter<'w>> {
        out.write_all(b"{\"displayTimeUnit\": \"ns\", \"traceEvents\": [\n")?;
        Ok(EventWriter { out, count: 0 })
    }

    fn event(&mut self, event: &serde_json::Value) -> io::Result<()> {
        if self.count > 0 {
            self.out.write_all(b",\n")?;
        }
        serde_json::to_writer(&mut *self.out, event)?;
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> io::Result<usize> {
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()?;
        Ok(self.count)
    }
}

/// Any engine backend, recorded into a [`Trace`] at the driver's seam.
pub struct TracedEngines<E> {
    inner: E,
    trace: Trace,
}

impl<E: Engines> TracedEngines<E> {
    /// Wraps `inner`.
    pub fn new(inner: E, trace: Trace) -> TracedEngines<E> {
        TracedEngines { inner, trace }
    }
}

impl<E: Engines> Engines for TracedEngines<E> {
    fn start(&mut self, job: &JobStart, now: &mut dyn FnMut() -> u64) -> Started {
        // One clock read for the trace; the backend sees the same instant.
        let t = now();
        let started = self.inner.start(job, &mut || t);
        self.trace.job_started(job, t, started);
        started
    }

    fn reset(&mut self) {
        self.inner.reset();
        self.trace.engines_reset();
    }
}
