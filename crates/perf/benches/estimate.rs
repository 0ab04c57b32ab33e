//! How long one estimate and one `rate` call take: the planner and the scheduler call them in
//! inner loops, and `xpufleet estimate` must answer in milliseconds.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use xpufleet_model::{Catalog, FxRates, Money, Precision, Work};
use xpufleet_perf::{calibration, CostBasis, EstimateInput, PerfModel, Placement, SiteEnergy};

fn bench(c: &mut Criterion) {
    let catalog: Catalog =
        toml::from_str(include_str!("../../../data/catalog.toml")).expect("catalog parses");
    let h100 = catalog.get("h100-sxm").expect("h100 in catalog").clone();
    let model = PerfModel::default();
    let fx = FxRates::default();
    let input = EstimateInput {
        work: Work::Model {
            params: 70e9,
            active_params: 70e9,
            tokens: 2e12,
            attention: Some((80, 8192, 8192)),
        },
        precision: Precision::Bf16,
        accel: &h100,
        count: 2048,
        placement: Placement::compact(2048, 8),
        site: SiteEnergy {
            pue: 1.3,
            electricity_per_kwh: Money::new(0.08, "USD"),
        },
        cost: Some(CostBasis::Lease {
            rate_per_accel_hour: Money::new(2.0, "USD"),
        }),
        fx: &fx,
        mfu_override: None,
    };
    c.bench_function("estimate 70B/2T on 2048 H100", |b| {
        b.iter(|| model.estimate(black_box(&input)).expect("estimate"))
    });
    let work = Work::Flops(1e24);
    let placement = Placement::compact(2048, 8);
    c.bench_function("rate on 2048 H100", |b| {
        b.iter(|| {
            model
                .rate(
                    black_box(&work),
                    &h100,
                    Precision::Bf16,
                    black_box(2048),
                    &placement,
                )
                .expect("rate")
        })
    });
}

/// The calibration fit on the whole corpus, and the whole validation by source (16 held-out
/// fits, then 16 × 15 nested ones for the coverage): the tests run it once per test binary.
fn fit(c: &mut Criterion) {
    let catalog: Catalog =
        toml::from_str(include_str!("../../../data/catalog.toml")).expect("catalog parses");
    let corpus: calibration::Corpus =
        toml::from_str(include_str!("../../../data/calibration/runs.toml")).expect("corpus");
    let model = PerfModel::default();
    let points: Vec<_> = corpus
        .run
        .iter()
        .map(|r| {
            calibration::point(&model, r, catalog.get(&r.accel).expect("accel")).expect("point")
        })
        .collect();
    let (d_ref, d_half) = (model.calibration.size_d_ref, model.calibration.size_d_half);
    c.bench_function("fit 38 runs", |b| {
        b.iter(|| calibration::fit(black_box(&points), d_ref, d_half))
    });
    c.bench_function("validation by source, 38 runs", |b| {
        b.iter(|| calibration::report(black_box(&points), d_ref, d_half))
    });
}

criterion_group!(benches, bench, fit);
criterion_main!(benches);
