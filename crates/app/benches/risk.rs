//! Criterion benches of planning under uncertainty on the built-in example (issue 18): the
//! whole `plan --samples N` risk step (resolve the risks, sample, evaluate the base plan, solve
//! the robust plan on 200 samples, evaluate it, drivers, fan chart) for N = 1,000, and a sweep
//! of one grid point × 1,000 samples run as one shard versus four shards and their merge. Under
//! `cargo test` (no `--bench` argument) N shrinks to 20, so the benches run as quick tests.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use xpufleet_app::risk::{risk, RiskOptions};
use xpufleet_app::sweep::{merge, run_shard};
use xpufleet_plan::risk::Measure;
use xpufleet_plan::PlanOptions;

fn samples() -> u64 {
    if std::env::args().any(|a| a == "--bench") {
        1000
    } else {
        20
    }
}

fn monte_carlo(c: &mut Criterion) {
    let loaded = xpufleet_app::load_file(None, None).expect("the example loads");
    let opts = PlanOptions {
        sensitivity: false,
        ..PlanOptions::default()
    };
    let base = xpufleet_app::plan(&loaded, &[], &opts, None)
        .expect("the example plans")
        .plan;
    let n = samples();
    for measure in [Measure::Expected, Measure::Cvar(0.1)] {
        let r = RiskOptions {
            samples: n,
            seed: 1,
            measure,
        };
        c.bench_function(&format!("risk/example/{n}/{measure}"), |b| {
            b.iter(|| risk(&loaded, &[], &opts, &base, &r).unwrap())
        });
    }
}

fn sweep(c: &mut Criterion) {
    let spec = xpufleet_io::sweep::parse_sweep_spec(
        &format!("name = \"bench\"\nsamples = {}\nseed = 7\n", samples()),
        "bench.toml",
    )
    .unwrap();
    let dir = Path::new(".");
    c.bench_function("sweep/1-shard", |b| {
        b.iter(|| {
            let s = run_shard(&spec, "bench.toml", dir, 0, 1).unwrap();
            merge(&[("s".into(), s)]).unwrap()
        })
    });
    c.bench_function("sweep/4-shards+merge", |b| {
        b.iter(|| {
            let shards: Vec<(String, _)> = (0..4)
                .map(|k| {
                    // Through the shard file's text, as `sweep merge` reads it.
                    let s = run_shard(&spec, "bench.toml", dir, k, 4).unwrap();
                    let text = serde_json::to_string(&s).unwrap();
                    (format!("s{k}"), serde_json::from_str(&text).unwrap())
                })
                .collect();
            merge(&shards).unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = monte_carlo, sweep
}
criterion_main!(benches);
