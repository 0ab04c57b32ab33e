//! How long one serving estimate takes (issue 22: `estimate serving` under 1 ms): the roofline
//! path, which searches splits and bisects the batch, and the measured-profile path.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use xpufleet_model::{Catalog, Precision};
use xpufleet_perf::serving::{
    estimate_serving, HourlyPrice, ServedModel, ServingDemand, ServingParams, ServingProfiles,
};

fn bench(c: &mut Criterion) {
    let catalog: Catalog =
        toml::from_str(include_str!("../../../data/catalog.toml")).expect("catalog parses");
    let profiles: ServingProfiles =
        toml::from_str(include_str!("../../../data/serving/profiles.toml")).expect("profiles");
    let params = ServingParams::default();
    let demand = ServingDemand {
        input_tokens_per_day: 600e9,
        output_tokens_per_day: 170e9,
        mean_input_tokens: None,
        ttft_ms: Some(2000.0),
        tpot_ms: Some(50.0),
        peak_to_average: 1.0,
    };
    let price = Some(HourlyPrice {
        usd_per_accel_hour: 2.0,
        source: "bench".into(),
    });
    let model = |precision| ServedModel {
        params: 671e9,
        active_params: 37e9,
        precision,
        kv_bytes_per_token: Some(70_272.0),
    };
    let h20 = catalog.get("h20").expect("h20").clone();
    let roofline_model = model(Some(Precision::Fp8));
    c.bench_function("estimate serving: DeepSeek-V3 on H20, roofline", |b| {
        b.iter(|| {
            estimate_serving(
                black_box(&roofline_model),
                &demand,
                &h20,
                &profiles.profiles,
                true,
                price.clone(),
                &params,
            )
            .expect("estimate")
        })
    });
    let h800 = catalog.get("h800-sxm").expect("h800").clone();
    let profiled = model(None);
    c.bench_function("estimate serving: DeepSeek-V3 on H800, profile", |b| {
        b.iter(|| {
            estimate_serving(
                black_box(&profiled),
                &demand,
                &h800,
                &profiles.profiles,
                true,
                price.clone(),
                &params,
            )
            .expect("estimate")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
