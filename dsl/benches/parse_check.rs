//! Parse + check time for the shipped specs (Gaudi and Gaudi2, whose groups expand to 261
//! queues) and a synthetic spec of 1,000 queues and 300
//! engines (target: well under 10 ms).

use std::hint::black_box;

use asicgen_dsl::synthetic;
use criterion::{Criterion, criterion_group, criterion_main};

fn check(spec: &str) -> usize {
    match synthetic::check(spec).result {
        Ok(model) => model.queues.len(),
        Err(report) => panic!("benchmark spec does not check:\n{report}"),
    }
}

fn bench(c: &mut Criterion) {
    let synthetic = synthetic::spec(300, 1000);
    let gaudi = include_str!("../../specs/gaudi.asic");
    let gaudi2 = include_str!("../../specs/gaudi2.asic");
    c.bench_function("parse_check/synthetic_1000_queues_300_engines", |b| {
        b.iter(|| check(black_box(&synthetic)))
    });
    c.bench_function("parse_check/gaudi", |b| b.iter(|| check(black_box(gaudi))));
    c.bench_function("parse_check/gaudi2", |b| {
        b.iter(|| check(black_box(gaudi2)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
