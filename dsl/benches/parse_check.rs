//! Parse + check time for the shipped specs and a synthetic spec of 1,000 queues and 300
//! engines (target: well under 10 ms).

use std::hint::black_box;

use asicgen_dsl::{FileRef, check_with, synthetic};
use criterion::{Criterion, criterion_group, criterion_main};

const DEFAULT_LIFECYCLE: &[u8] = include_bytes!("../../specs/lifecycle/default.lifecycle");

fn check(spec: &[u8]) -> usize {
    let loaded = check_with(FileRef::new("spec.asic"), &mut |f: &FileRef| {
        Ok(if f.display == "spec.asic" {
            spec.to_vec()
        } else {
            DEFAULT_LIFECYCLE.to_vec()
        })
    });
    match loaded.result {
        Ok(model) => model.queues.len(),
        Err(report) => panic!("benchmark spec does not check:\n{report}"),
    }
}

fn bench(c: &mut Criterion) {
    let synthetic = synthetic::spec(300, 1000).into_bytes();
    let gaudi = include_bytes!("../../specs/gaudi.asic");
    c.bench_function("parse_check/synthetic_1000_queues_300_engines", |b| {
        b.iter(|| check(black_box(&synthetic)))
    });
    c.bench_function("parse_check/gaudi", |b| b.iter(|| check(black_box(gaudi))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
