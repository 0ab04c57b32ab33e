//! Criterion benches of `plan()`: the built-in example and a generated 30 parts × 40 sites ×
//! buy/lease scenario (2,400 candidates).

use criterion::{criterion_group, criterion_main, Criterion};
use xpufleet_comply::AllowAll;
use xpufleet_perf::PerfModel;
use xpufleet_plan::{plan, synth, PlanOptions};

fn example(c: &mut Criterion) {
    let s = xpufleet_io::load_scenario(None, None).expect("the example loads");
    let perf = PerfModel::default();
    let opts = PlanOptions::default();
    c.bench_function("plan/example", |b| {
        b.iter(|| plan(&s.scenario, &s.catalog, &AllowAll, &perf, &opts).unwrap())
    });
}

fn large(c: &mut Criterion) {
    let (scenario, catalog) = synth::scenario(
        synth::Size {
            accelerators: 30,
            sites: 40,
        },
        7,
    );
    let perf = PerfModel::default();
    let mut g = c.benchmark_group("plan/large-30x40");
    g.sample_size(10);
    let bare = PlanOptions {
        sensitivity: false,
        ..PlanOptions::default()
    };
    g.bench_function("solve", |b| {
        b.iter(|| plan(&scenario, &catalog, &AllowAll, &perf, &bare).unwrap())
    });
    let full = PlanOptions::default();
    g.bench_function("solve+sensitivity", |b| {
        b.iter(|| plan(&scenario, &catalog, &AllowAll, &perf, &full).unwrap())
    });
    g.finish();
}

criterion_group!(benches, example, large);
criterion_main!(benches);
