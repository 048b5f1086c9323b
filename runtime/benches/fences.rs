//! Fence benchmarks: our fence side by side with its peers, every scenario in one run.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-fence cargo bench -p asicgen-runtime --bench fences -- \
//!     --warm-up-time 1 --measurement-time 3 --noplot
//! ```
//!
//! Rows (primitives): our `Fence` (standalone heap fence), our `Completion` in an `Arc`
//! (`complete_all`), std `Mutex<bool>+Condvar`, parking_lot `Mutex<bool>+Condvar`,
//! event-listener (`Event` + `AtomicBool`, check/listen/re-check/wait), and the baseline: a raw
//! futex flag (3-state `AtomicU32`, `FUTEX_WAIT` with a timeout / `FUTEX_WAKE`, waking only if a
//! waiter announced itself), the same as the `futex timed (libc)` row of
//! `docs/peer-baseline.md`. A `bare atomic` row (swap / load) gives the floor for S1.
//!
//! Scenarios (the reference's S1..S4, measured with criterion instead of its own harness):
//! - `s1_signal_no_waiter`: signal a fresh, unsignalled object nobody waits on.
//! - `s1_wait_signalled`: wait on an already signalled object.
//! - `s2_get_put`: clone + drop a handle (kref get/put; `Arc` for peers).
//! - `s2_create_signal_release`: allocate, signal, drop (for us also through a `FencePool`).
//! - `s3_ping_pong_cross_core`: A signals B's object and waits on its own, B the mirror image;
//!   threads pinned to CPU 0 and CPU 1; fresh preallocated objects per round; time per round trip.
//! - `s4_broadcast_{1,8}`: waiters (pinned alternately to CPU 1 and CPU 0) sleep in the kernel
//!   (checked in /proc, twice 30 µs apart), then one signal; time from just before the signal
//!   until the last waiter has returned. The signaller then sleeps on a separate futex until all
//!   have reported, so it never competes with them for a CPU.
//!
//! Waits go through each primitive's timed API with a 30 s deadline computed only on the slow
//! path, as in the reference method.

#[cfg(not(loom))]
mod bench {
    use asicgen_runtime::{Completion, Fence, FencePool, Outcome};
    use criterion::{BenchmarkId, Criterion, SamplingMode};
    use std::hint::black_box;
    use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::{Duration, Instant};

    const FAR: Duration = Duration::from_secs(30);
    /// Objects per timed batch in the single-thread scenarios.
    const BATCH: u64 = 4096;

    /// A one-shot completion primitive behind a cloneable, shareable handle.
    pub trait Prim: 'static {
        const NAME: &'static str;
        type Handle: Clone + Send + Sync + 'static;
        fn create() -> Self::Handle;
        fn signal(h: &Self::Handle);
        fn wait(h: &Self::Handle);
    }

    // ---- ours ----

    pub struct OurFence;
    impl Prim for OurFence {
        const NAME: &'static str = "ours Fence";
        type Handle = Fence;
        fn create() -> Fence {
            Fence::new(1)
        }
        #[inline]
        fn signal(h: &Fence) {
            let _ = h.signal(Outcome::Ok);
        }
        #[inline]
        fn wait(h: &Fence) {
            if h.poll().is_none() {
                let _ = h.wait_deadline(Instant::now() + FAR);
            }
        }
    }

    pub struct OurCompletion;
    impl Prim for OurCompletion {
        const NAME: &'static str = "ours Completion";
        type Handle = Arc<Completion>;
        fn create() -> Arc<Completion> {
            Arc::new(Completion::new())
        }
        #[inline]
        fn signal(h: &Arc<Completion>) {
            h.complete_all();
        }
        #[inline]
        fn wait(h: &Arc<Completion>) {
            if !h.try_wait() {
                let _ = h.wait_deadline(Instant::now() + FAR);
            }
        }
    }

    // ---- peers ----

    pub struct StdCondvar;
    impl Prim for StdCondvar {
        const NAME: &'static str = "std Mutex+Condvar";
        type Handle = Arc<(Mutex<bool>, Condvar)>;
        fn create() -> Self::Handle {
            Arc::new((Mutex::new(false), Condvar::new()))
        }
        #[inline]
        fn signal(h: &Self::Handle) {
            *h.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
            h.1.notify_all();
        }
        #[inline]
        fn wait(h: &Self::Handle) {
            let g = h.0.lock().unwrap_or_else(|e| e.into_inner());
            if *g {
                return;
            }
            let _ = h.1.wait_timeout_while(g, FAR, |set| !*set);
        }
    }

    pub struct PlCondvar;
    impl Prim for PlCondvar {
        const NAME: &'static str = "parking_lot Mutex+Condvar";
        type Handle = Arc<(parking_lot::Mutex<bool>, parking_lot::Condvar)>;
        fn create() -> Self::Handle {
            Arc::new((parking_lot::Mutex::new(false), parking_lot::Condvar::new()))
        }
        #[inline]
        fn signal(h: &Self::Handle) {
            *h.0.lock() = true;
            h.1.notify_all();
        }
        #[inline]
        fn wait(h: &Self::Handle) {
            let mut g = h.0.lock();
            if *g {
                return;
            }
            let deadline = Instant::now() + FAR;
            while !*g {
                if h.1.wait_until(&mut g, deadline).timed_out() {
                    return;
                }
            }
        }
    }

    pub struct EventListener;
    impl Prim for EventListener {
        const NAME: &'static str = "event-listener";
        type Handle = Arc<(event_listener::Event, AtomicBool)>;
        fn create() -> Self::Handle {
            Arc::new((event_listener::Event::new(), AtomicBool::new(false)))
        }
        #[inline]
        fn signal(h: &Self::Handle) {
            h.1.store(true, Ordering::Release);
            h.0.notify(usize::MAX);
        }
        #[inline]
        fn wait(h: &Self::Handle) {
            use event_listener::Listener;
            if h.1.load(Ordering::Acquire) {
                return;
            }
            let deadline = Instant::now() + FAR;
            loop {
                let listener = h.0.listen();
                if h.1.load(Ordering::Acquire) {
                    return;
                }
                if listener.wait_deadline(deadline).is_none() {
                    return;
                }
                if h.1.load(Ordering::Acquire) {
                    return;
                }
            }
        }
    }

    /// The baseline: a minimal hand-written futex flag.
    pub mod raw {
        use super::*;

        pub const UNSET: u32 = 0;
        pub const SET: u32 = 1;
        pub const WAITING: u32 = 2;

        pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
            let ts = timeout.map(|d| libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: d.subsec_nanos() as libc::c_long,
            });
            let ts_ptr = ts
                .as_ref()
                .map_or(std::ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: `word` is a live AtomicU32 and `ts_ptr` is null or points to `ts`.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    word.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    expected,
                    ts_ptr,
                );
            }
        }

        pub fn futex_wake(word: &AtomicU32, n: i32) {
            // SAFETY: FUTEX_WAKE only uses the address as a key.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    word.as_ptr(),
                    libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                    n,
                );
            }
        }

        pub struct RawFutex;
        impl Prim for RawFutex {
            const NAME: &'static str = "raw futex (baseline)";
            type Handle = Arc<AtomicU32>;
            fn create() -> Arc<AtomicU32> {
                Arc::new(AtomicU32::new(UNSET))
            }
            #[inline]
            fn signal(h: &Arc<AtomicU32>) {
                if h.swap(SET, Ordering::Release) == WAITING {
                    futex_wake(h, i32::MAX);
                }
            }
            #[inline]
            fn wait(h: &Arc<AtomicU32>) {
                if h.load(Ordering::Acquire) == SET {
                    return;
                }
                let deadline = Instant::now() + FAR;
                loop {
                    match h.load(Ordering::Acquire) {
                        SET => return,
                        UNSET => {
                            let _ = h.compare_exchange(
                                UNSET,
                                WAITING,
                                Ordering::Relaxed,
                                Ordering::Relaxed,
                            );
                        }
                        _ => {
                            let now = Instant::now();
                            if now >= deadline {
                                return;
                            }
                            futex_wait(h, WAITING, Some(deadline - now));
                        }
                    }
                }
            }
        }
    }
    use raw::RawFutex;

    /// The floor for S1: one atomic swap to signal, one load to check.
    pub struct BareAtomic;
    impl Prim for BareAtomic {
        const NAME: &'static str = "bare atomic";
        type Handle = Arc<AtomicU32>;
        fn create() -> Arc<AtomicU32> {
            Arc::new(AtomicU32::new(0))
        }
        #[inline]
        fn signal(h: &Arc<AtomicU32>) {
            black_box(h.swap(1, Ordering::Release));
        }
        #[inline]
        fn wait(h: &Arc<AtomicU32>) {
            black_box(h.load(Ordering::Acquire));
        }
    }

    // ---- helpers ----

    pub fn pin(cpu: usize) {
        // SAFETY: `set` is a plain bit set initialised by CPU_ZERO; sched_setaffinity(0, ...)
        // only affects the calling thread. Failure (e.g. a 1-CPU machine) is ignored.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_ZERO(&mut set);
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }

    /// Online CPUs of the machine (not `available_parallelism`, which shrinks to 1 once the
    /// calling thread is pinned).
    fn cpus() -> usize {
        // SAFETY: sysconf has no preconditions.
        let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        usize::try_from(n).unwrap_or(1).max(1)
    }

    fn other_cpu() -> usize {
        if cpus() > 1 { 1 } else { 0 }
    }

    fn gettid() -> i64 {
        // SAFETY: gettid has no preconditions.
        unsafe { libc::syscall(libc::SYS_gettid) }
    }

    /// Whether thread `tid` of this process is asleep (state S) according to /proc.
    fn sleeping(tid: i64) -> bool {
        let path = format!("/proc/self/task/{tid}/stat");
        match std::fs::read_to_string(path) {
            // Format: "tid (comm) S ..."; comm may contain spaces, so split after the last ')'.
            Ok(s) => s
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('S')),
            Err(_) => true,
        }
    }

    // ---- scenarios ----

    fn s1_signal_no_waiter<P: Prim>(iters: u64) -> Duration {
        let mut total = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(BATCH);
            let objs: Vec<P::Handle> = (0..n).map(|_| P::create()).collect();
            let start = Instant::now();
            for h in &objs {
                P::signal(black_box(h));
            }
            total += start.elapsed();
            drop(objs);
            left -= n;
        }
        total
    }

    fn s1_wait_signalled<P: Prim>(iters: u64) -> Duration {
        let mut total = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(BATCH);
            let objs: Vec<P::Handle> = (0..n)
                .map(|_| {
                    let h = P::create();
                    P::signal(&h);
                    h
                })
                .collect();
            let start = Instant::now();
            for h in &objs {
                P::wait(black_box(h));
            }
            total += start.elapsed();
            drop(objs);
            left -= n;
        }
        total
    }

    fn s3_ping_pong<P: Prim>(iters: u64) -> Duration {
        let n = iters as usize;
        let ab: Vec<P::Handle> = (0..n).map(|_| P::create()).collect();
        let ba: Vec<P::Handle> = (0..n).map(|_| P::create()).collect();
        let ready = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                pin(other_cpu());
                ready.store(true, Ordering::Release);
                for i in 0..n {
                    P::wait(&ab[i]);
                    P::signal(&ba[i]);
                }
            });
            pin(0);
            while !ready.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
            let start = Instant::now();
            for i in 0..n {
                P::signal(&ab[i]);
                P::wait(&ba[i]);
            }
            start.elapsed()
        })
    }

    fn s4_broadcast<P: Prim>(iters: u64, waiters: usize) -> Duration {
        let n = iters as usize;
        let objs: Vec<P::Handle> = (0..n).map(|_| P::create()).collect();
        let base = Instant::now();
        let round = AtomicU32::new(0);
        let arrived = AtomicUsize::new(0);
        let done = AtomicU32::new(0);
        let tids: Vec<AtomicU64> = (0..waiters).map(|_| AtomicU64::new(0)).collect();
        let woke_ns: Vec<AtomicU64> = (0..waiters).map(|_| AtomicU64::new(0)).collect();
        let mut total = Duration::ZERO;
        std::thread::scope(|s| {
            for j in 0..waiters {
                let (objs, round, arrived, done, tids, woke_ns) =
                    (&objs, &round, &arrived, &done, &tids, &woke_ns);
                s.spawn(move || {
                    pin(if j % 2 == 0 { other_cpu() } else { 0 });
                    tids[j].store(gettid() as u64, Ordering::Release);
                    for (i, obj) in objs.iter().enumerate() {
                        let want = i as u32 + 1;
                        loop {
                            let g = round.load(Ordering::Acquire);
                            if g >= want {
                                break;
                            }
                            raw::futex_wait(round, g, None);
                        }
                        arrived.fetch_add(1, Ordering::AcqRel);
                        P::wait(obj);
                        woke_ns[j].store(base.elapsed().as_nanos() as u64, Ordering::Release);
                        if done.fetch_add(1, Ordering::AcqRel) + 1 == waiters as u32 {
                            raw::futex_wake(done, 1);
                        }
                    }
                });
            }
            pin(0);
            while tids.iter().any(|t| t.load(Ordering::Acquire) == 0) {
                std::thread::yield_now();
            }
            for (i, obj) in objs.iter().enumerate() {
                arrived.store(0, Ordering::Release);
                done.store(0, Ordering::Release);
                round.store(i as u32 + 1, Ordering::Release);
                raw::futex_wake(&round, i32::MAX);
                while arrived.load(Ordering::Acquire) < waiters {
                    std::thread::yield_now();
                }
                // Every waiter asleep in the kernel, twice 30 µs apart.
                loop {
                    let all = |_: ()| {
                        tids.iter()
                            .all(|t| sleeping(t.load(Ordering::Acquire) as i64))
                    };
                    if all(()) {
                        std::thread::sleep(Duration::from_micros(30));
                        if all(()) {
                            break;
                        }
                    }
                    std::thread::yield_now();
                }
                let t0 = base.elapsed().as_nanos() as u64;
                P::signal(obj);
                loop {
                    let d = done.load(Ordering::Acquire);
                    if d == waiters as u32 {
                        break;
                    }
                    raw::futex_wait(&done, d, None);
                }
                let last = woke_ns
                    .iter()
                    .map(|w| w.load(Ordering::Acquire))
                    .max()
                    .unwrap_or(t0);
                total += Duration::from_nanos(last.saturating_sub(t0));
            }
        });
        total
    }

    // ---- registration ----

    fn single_thread<P: Prim>(c: &mut Criterion) {
        c.benchmark_group("s1_signal_no_waiter")
            .bench_function(P::NAME, |b| b.iter_custom(s1_signal_no_waiter::<P>));
        c.benchmark_group("s1_wait_signalled")
            .bench_function(P::NAME, |b| b.iter_custom(s1_wait_signalled::<P>));
    }

    fn object<P: Prim>(c: &mut Criterion) {
        let h = P::create();
        c.benchmark_group("s2_get_put")
            .bench_function(P::NAME, |b| {
                b.iter(|| drop(black_box(black_box(&h).clone())))
            });
        c.benchmark_group("s2_create_signal_release")
            .bench_function(P::NAME, |b| {
                b.iter(|| {
                    let h = P::create();
                    P::signal(black_box(&h));
                    drop(h);
                })
            });
    }

    fn cross_thread<P: Prim>(c: &mut Criterion) {
        let mut g = c.benchmark_group("s3_ping_pong_cross_core");
        g.sampling_mode(SamplingMode::Flat).sample_size(20);
        g.bench_function(P::NAME, |b| b.iter_custom(s3_ping_pong::<P>));
        g.finish();
        for waiters in [1usize, 8] {
            let mut g = c.benchmark_group(format!("s4_broadcast_{waiters}"));
            // The measured time is only the wake latency; each trial also spends ~100 µs
            // making sure every waiter sleeps, so keep the measured budget small.
            g.sampling_mode(SamplingMode::Flat)
                .sample_size(10)
                .warm_up_time(Duration::from_millis(100))
                .measurement_time(Duration::from_millis(300));
            g.bench_function(BenchmarkId::from_parameter(P::NAME), |b| {
                b.iter_custom(|iters| s4_broadcast::<P>(iters, waiters))
            });
            g.finish();
        }
    }

    fn all<P: Prim>(c: &mut Criterion) {
        single_thread::<P>(c);
        object::<P>(c);
        cross_thread::<P>(c);
    }

    fn pool(c: &mut Criterion) {
        let pool = FencePool::new(64).expect("pool");
        let mut seq = 0u64;
        c.benchmark_group("s2_create_signal_release")
            .bench_function("ours FencePool", |b| {
                b.iter(|| {
                    seq += 1;
                    if let Ok(f) = pool.allocate(seq) {
                        let _ = f.signal(Outcome::Ok);
                    }
                })
            });
    }

    /// Ping-pong and 8-waiter broadcast measured in interleaved rounds: in each round every
    /// primitive runs once, in an order rotated by one place per round, so a host that drifts
    /// between a fast and a slow state hits every row alike. Prints the median per-round ratio
    /// to raw futex (1.0 = as fast as raw futex; lower is faster), with its spread.
    fn interleaved() {
        const ROUNDS: usize = 9;
        const ROUND_TRIPS: u64 = 2_000;
        const TRIALS: u64 = 30;
        type Run = fn(u64) -> Duration;
        let rows: [(&str, Run, Run); 3] = [
            (RawFutex::NAME, s3_ping_pong::<RawFutex>, |n| {
                s4_broadcast::<RawFutex>(n, 8)
            }),
            (OurFence::NAME, s3_ping_pong::<OurFence>, |n| {
                s4_broadcast::<OurFence>(n, 8)
            }),
            (StdCondvar::NAME, s3_ping_pong::<StdCondvar>, |n| {
                s4_broadcast::<StdCondvar>(n, 8)
            }),
        ];
        // One unmeasured pass each.
        for (_, ping, bcast) in &rows {
            ping(200);
            bcast(3);
        }
        let mut ping_ns = vec![Vec::new(); rows.len()];
        let mut bcast_ns = vec![Vec::new(); rows.len()];
        for round in 0..ROUNDS {
            for k in 0..rows.len() {
                let i = (round + k) % rows.len();
                let (_, ping, bcast) = rows[i];
                ping_ns[i].push(ping(ROUND_TRIPS).as_nanos() as f64 / ROUND_TRIPS as f64);
                bcast_ns[i].push(bcast(TRIALS).as_nanos() as f64 / TRIALS as f64);
            }
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            (v[v.len() / 2], v[0], v[v.len() - 1])
        };
        for (what, ns) in [
            ("ping_pong_cross_core", &ping_ns),
            ("broadcast_8", &bcast_ns),
        ] {
            for (i, (name, _, _)) in rows.iter().enumerate() {
                let (med, _, _) = median(ns[i].clone());
                let ratios: Vec<f64> = ns[i].iter().zip(&ns[0]).map(|(x, r)| x / r).collect();
                let (r, lo, hi) = median(ratios);
                println!(
                    "interleaved/{what}/{name}: median {:.2} µs; vs raw futex median {r:.2}x \
                     (min {lo:.2}x, max {hi:.2}x, {ROUNDS} rounds)",
                    med / 1e3
                );
            }
        }
    }

    pub fn main() {
        // `cargo bench --bench fences -- interleaved` runs only the interleaved rounds.
        let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
        if filter.as_deref().is_none_or(|f| "interleaved".contains(f)) {
            interleaved();
        }
        let mut c = Criterion::default().configure_from_args();
        all::<RawFutex>(&mut c);
        all::<OurFence>(&mut c);
        all::<OurCompletion>(&mut c);
        all::<StdCondvar>(&mut c);
        all::<PlCondvar>(&mut c);
        all::<EventListener>(&mut c);
        single_thread::<BareAtomic>(&mut c);
        pool(&mut c);
        c.final_summary();
    }
}

#[cfg(not(loom))]
fn main() {
    bench::main();
}

#[cfg(loom)]
fn main() {}
