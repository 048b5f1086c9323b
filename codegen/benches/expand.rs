//! What `asic!` costs inside rustc, minus rustc: load (parse + check) then `rust_module`, for a
//! synthetic spec of 1,000 queues and 300 engines and for Gaudi; and the same plus prettyplease,
//! the C header and the Markdown page (the review outputs, built by tests and `asicgen emit`).
//!
//! The end-to-end figure (a crate that calls `asic!` on the synthetic spec, built by cargo) is in
//! BENCHMARKS.md; it adds rustc's token bridge and compiling the expansion.

use std::hint::black_box;

use asicgen_codegen::Model;
use asicgen_dsl::synthetic;
use criterion::{Criterion, criterion_group, criterion_main};

/// Parse + check from memory, the lifecycle served from the shipped default.
fn load(spec: &str) -> Model {
    match synthetic::check(spec).result {
        Ok(model) => model,
        Err(report) => panic!("benchmark spec does not check:\n{report}"),
    }
}

fn bench(c: &mut Criterion) {
    let synthetic = synthetic::spec(300, 1000);
    let gaudi = include_str!("../../specs/gaudi.asic").to_string();
    let mut group = c.benchmark_group("codegen");
    // why: one iteration of the big spec takes milliseconds; ten samples are plenty and keep a
    // shared 2-core machine usable.
    group.sample_size(10);
    for (name, spec) in [("synthetic_1000_queues", &synthetic), ("gaudi", &gaudi)] {
        group.bench_function(format!("load+rust_module/{name}"), |b| {
            b.iter(|| asicgen_codegen::rust_module(&load(black_box(spec))))
        });
        let model = load(spec);
        group.bench_function(format!("rust_module/{name}"), |b| {
            b.iter(|| asicgen_codegen::rust_module(black_box(&model)))
        });
        group.bench_function(format!("rust_module_pretty/{name}"), |b| {
            b.iter(|| asicgen_codegen::rust_module_pretty(black_box(&model)))
        });
        group.bench_function(format!("c_header+markdown/{name}"), |b| {
            b.iter(|| {
                let m = black_box(&model);
                (asicgen_codegen::c_header(m), asicgen_codegen::markdown(m))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
