//! The serving model against published systems: DeepSeek's production H800 fleet, Mélange's toy
//! example, published weight and KV sizes; its refusals; and the mix property.

use proptest::prelude::*;
use xpufleet_model::{Accelerator, Figure, Precision};
use xpufleet_perf::serving::{
    choose_mix, estimate_serving, fit_efficiency, kv_bytes_per_token, memory_fit, HourlyPrice,
    MixPart, ServedModel, ServingDemand, ServingError, ServingParams, ServingProfile,
    ServingProfiles,
};

use crate::support::{accel, catalog};

fn profiles() -> Vec<ServingProfile> {
    let p: ServingProfiles =
        toml::from_str(include_str!("../../../../data/serving/profiles.toml")).expect("parses");
    p.profiles
}

fn deepseek(precision: Option<Precision>) -> ServedModel {
    ServedModel {
        params: 671e9,
        active_params: 37e9,
        precision,
        kv_bytes_per_token: Some(70_272.0),
    }
}

fn demand(input: f64, output: f64) -> ServingDemand {
    ServingDemand {
        input_tokens_per_day: input,
        output_tokens_per_day: output,
        mean_input_tokens: None,
        ttft_ms: None,
        tpot_ms: None,
        peak_to_average: 1.0,
    }
}

fn usd(v: f64) -> Option<HourlyPrice> {
    Some(HourlyPrice {
        usd_per_accel_hour: v,
        source: "test".into(),
    })
}

#[test]
fn refit_matches_defaults() {
    let p = ServingParams::default();
    let fit = fit_efficiency(&profiles(), &catalog(), &p);
    let close = |a: f64, b: f64| (a - b).abs() <= 0.005;
    assert!(
        close(fit.prefill, p.prefill_efficiency)
            && close(fit.prefill_range[0], p.prefill_efficiency_range[0])
            && close(fit.prefill_range[1], p.prefill_efficiency_range[1])
            && close(fit.decode, p.decode_efficiency)
            && close(fit.decode_range[0], p.decode_efficiency_range[0])
            && close(fit.decode_range[1], p.decode_efficiency_range[1]),
        "refit the defaults in ServingParams::default: {fit:#?}"
    );
}

/// DeepSeek, 2025-03-01: 608B input and 168B output tokens in 24 h on 226.75 H800 nodes on
/// average, USD 87,072 a day at USD 2 per GPU-hour (shared/reference/serving.md).
#[test]
fn deepseek_production_system_from_its_token_volumes() {
    let e = estimate_serving(
        &deepseek(None),
        &demand(608e9, 168e9),
        &accel("h800-sxm"),
        &profiles(),
        true,
        usd(2.0),
        &ServingParams::default(),
    )
    .expect("estimate");
    assert_eq!(e.source, "deepseek-v3-h800-2025-03");
    let nodes = e.nodes as f64;
    assert!((nodes / 226.75 - 1.0).abs() < 0.02, "nodes {nodes}");
    let cost = e.cost_usd_per_day.expect("priced");
    assert!((cost / 87_072.0 - 1.0).abs() < 0.02, "USD/day {cost}");
    assert_eq!(e.prefill_accels + e.decode_accels, e.accelerators);
    // 95.5 prefill and 131.4 decode nodes, each pool in whole nodes.
    assert_eq!((e.prefill_accels / 8, e.decode_accels / 8), (96, 132));
}

/// Without the profile (another part, same model) the roofline answers, says so, and its
/// fitted decode rate for the H800 lands within the spread of the measured rows.
#[test]
fn roofline_for_deepseek_on_h800_is_near_the_measured_rate() {
    let mut m = deepseek(Some(Precision::Fp8));
    m.params = 672e9 * 1.06; // not the profiled model
    let e = estimate_serving(
        &m,
        &demand(608e9, 168e9),
        &accel("h800-sxm"),
        &profiles(),
        true,
        usd(2.0),
        &ServingParams::default(),
    )
    .expect("estimate");
    assert_eq!(e.source, "roofline");
    let [lo, hi] = e.interval.accelerators;
    assert!(
        lo <= e.accelerators && e.accelerators <= hi,
        "{:?}",
        e.interval
    );
    // DeepSeek measured 1,850 output and 9,212 input tokens/s per GPU.
    let out = e.tokens_per_s_per_accel.output;
    assert!((1000.0..3000.0).contains(&out), "decode {out}");
    let input = e.tokens_per_s_per_accel.input;
    assert!((6000.0..10_000.0).contains(&input), "prefill {input}");
}

/// Memory against published sizes. Llama 3.1 70B (70.6B parameters, 80 layers, 8 KV heads of
/// 128): 141 GB of BF16 weights, 320 KiB of KV a token; Llama 3.1 8B (8.03B, 32 layers):
/// 16.1 GB, 128 KiB a token (the models' config.json and safetensors sizes).
#[test]
fn memory_fit_matches_published_weight_and_kv_sizes() {
    let p = ServingParams::default();
    let h100 = accel("h100-sxm");
    let llama70 = ServedModel {
        params: 70.6e9,
        active_params: 70.6e9,
        precision: Some(Precision::Bf16),
        kv_bytes_per_token: Some(kv_bytes_per_token(80, 8, 128, 2.0)),
    };
    let f = memory_fit(&llama70, Precision::Bf16, 4096.0, &h100, &p).expect("fits");
    assert!((f.weights_gb - 141.2).abs() < 0.5, "{f:?}");
    assert!((f.kv_gb_per_1k_tokens - 0.3277).abs() < 0.001, "{f:?}");
    // 141 GB needs two 72 GB (usable) H100s... plus a sequence: 4 as a power of two? No: two
    // hold 144 GB, and 141.2 + 1.3 GB of KV fits.
    assert_eq!(f.min_group, 2);
    let llama8 = ServedModel {
        params: 8.03e9,
        active_params: 8.03e9,
        precision: Some(Precision::Bf16),
        kv_bytes_per_token: Some(kv_bytes_per_token(32, 8, 128, 2.0)),
    };
    let f = memory_fit(&llama8, Precision::Bf16, 4096.0, &h100, &p).expect("fits");
    assert!((f.weights_gb - 16.06).abs() < 0.05);
    assert_eq!(f.kv_gb_per_1k_tokens * 1e9 / 1000.0, 131_072.0);
    assert_eq!(f.min_group, 1);
}

#[test]
fn a_model_that_fits_nowhere_names_the_shortfall() {
    let huge = ServedModel {
        params: 5e12,
        active_params: 5e12,
        precision: Some(Precision::Bf16),
        kv_bytes_per_token: None,
    };
    let err = memory_fit(
        &huge,
        Precision::Bf16,
        2000.0,
        &accel("h20"),
        &ServingParams::default(),
    )
    .unwrap_err();
    match err {
        ServingError::MemoryShortfall {
            needed_gb,
            available_gb,
            short_gb,
            max_group,
            ..
        } => {
            assert_eq!(max_group, 8);
            assert!((available_gb - 8.0 * 96.0 * 0.9).abs() < 1e-6);
            assert!(needed_gb > 10_000.0 && (needed_gb - available_gb - short_gb).abs() < 1e-6);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_tpot_below_the_batch_1_limit_is_refused_with_the_limit() {
    let llama70 = ServedModel {
        params: 70e9,
        active_params: 70e9,
        precision: Some(Precision::Bf16),
        kv_bytes_per_token: None,
    };
    let mut d = demand(1e9, 1e9);
    d.tpot_ms = Some(1.0);
    let err = estimate_serving(
        &llama70,
        &d,
        &accel("h20"),
        &[],
        true,
        None,
        &ServingParams::default(),
    )
    .unwrap_err();
    let ServingError::LatencyTooTight {
        needed_ms, group, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    // 140 GB over 8 x 4 TB/s at the fitted efficiency, for one token.
    assert_eq!(*group, 8);
    let p = ServingParams::default();
    let floor = 140e9 / (8.0 * 4.0e12 * p.decode_efficiency) * 1e3;
    assert!(
        *needed_ms >= floor && *needed_ms < floor * 1.05,
        "{needed_ms}"
    );
    assert!(err.to_string().contains("ask for at least"), "{err}");
    // Asking for the limit it named is accepted.
    d.tpot_ms = Some(needed_ms.ceil() + 1.0);
    estimate_serving(&llama70, &d, &accel("h20"), &[], true, None, &p).expect("now feasible");
}

#[test]
fn absurd_or_negative_volumes_and_unknown_figures_are_named() {
    let p = ServingParams::default();
    let m = deepseek(Some(Precision::Fp8));
    let h20 = accel("h20");
    for (i, o, field) in [
        (-1.0, 1e9, "input_tokens_per_day"),
        (1e9, 1e18, "output_tokens_per_day"),
        (1e9, f64::NAN, "output_tokens_per_day"),
    ] {
        let err = estimate_serving(&m, &demand(i, o), &h20, &[], true, None, &p).unwrap_err();
        assert!(
            matches!(&err, ServingError::Invalid { field: f, .. } if f == field),
            "{err:?}"
        );
    }
    let mut blind: Accelerator = h20.clone();
    blind.memory_tbps = Figure::unknown();
    let err = estimate_serving(&m, &demand(1e9, 1e9), &blind, &[], true, None, &p).unwrap_err();
    assert!(
        matches!(&err, ServingError::MissingFigure { field, .. } if field == "memory_tbps"),
        "{err:?}"
    );
}

/// Mélange's repository README: A10G at USD 1.01/h, A100 at 3.67/h, 16 requests/s over four
/// buckets, slice factor 1: 10 A10G, no A100, USD 10.10 an hour.
#[test]
fn melange_toy_example_returns_its_published_choice() {
    let parts = [
        MixPart {
            id: "A10G".into(),
            usd_per_hour: 1.01,
            max_rps: vec![vec![5.0, 1.0], vec![10.0, 5.0]],
        },
        MixPart {
            id: "A100-80GB".into(),
            usd_per_hour: 3.67,
            max_rps: vec![vec![20.0, 2.0], vec![50.0, 20.0]],
        },
    ];
    let shares = vec![vec![0.25, 0.5], vec![0.25, 0.25]];
    let c = choose_mix(&parts, &shares, 16.0, 1).expect("a choice");
    assert_eq!(c.counts, vec![10, 0]);
    assert!((c.usd_per_hour - 10.10).abs() < 1e-9);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// A mixed choice never costs more than the best single part type.
    #[test]
    fn a_mix_never_costs_more_than_the_best_single_type(
        prices in prop::collection::vec(0.5f64..10.0, 1..4),
        rates in prop::collection::vec(0.5f64..50.0, 12),
        shares in prop::collection::vec(0.0f64..1.0, 4),
        rps in 0.5f64..40.0,
        slices in 1u32..3,
    ) {
        let parts: Vec<MixPart> = prices.iter().enumerate().map(|(t, &usd_per_hour)| MixPart {
            id: format!("p{t}"),
            usd_per_hour,
            max_rps: vec![
                vec![rates[4 * t % 12], rates[(4 * t + 1) % 12]],
                vec![rates[(4 * t + 2) % 12], rates[(4 * t + 3) % 12]],
            ],
        }).collect();
        let total: f64 = shares.iter().sum::<f64>().max(1e-9);
        let shares = vec![
            vec![shares[0] / total, shares[1] / total],
            vec![shares[2] / total, shares[3] / total],
        ];
        let mix = choose_mix(&parts, &shares, rps, slices).expect("a choice");
        for p in &parts {
            let single = choose_mix(std::slice::from_ref(p), &shares, rps, slices).expect("single");
            prop_assert!(mix.usd_per_hour <= single.usd_per_hour + 1e-9,
                "mix {} > {} on {} alone", mix.usd_per_hour, single.usd_per_hour, p.id);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// More demand never needs fewer accelerators, and a looser tpot target never lowers the
    /// decode rate per accelerator (beyond the split rule's 5%), on every part it can answer for.
    #[test]
    fn roofline_pools_are_monotone_in_demand_and_latency(
        params_b in 1.0f64..800.0,
        active_frac in 0.03f64..1.0,
        output in 1e8f64..1e11,
        ratio in 0.5f64..8.0,
        extra in 1.0f64..3.0,
        tpot in 20.0f64..200.0,
        part in prop::sample::select(vec!["h20", "h100-sxm", "h200-sxm", "b200", "ascend-910b"]),
    ) {
        let active = if active_frac > 0.9 { params_b } else { params_b * active_frac };
        let m = ServedModel {
            params: params_b * 1e9,
            active_params: active * 1e9,
            precision: Some(Precision::Bf16),
            kv_bytes_per_token: None,
        };
        let a = accel(part);
        let p = ServingParams::default();
        let at = |out: f64, tpot: f64| {
            let mut d = demand(out * ratio, out);
            d.tpot_ms = Some(tpot);
            estimate_serving(&m, &d, &a, &[], true, None, &p)
        };
        if let Ok(base) = at(output, tpot) {
            let more = at(output * extra, tpot).expect("more demand is still servable");
            prop_assert!(more.accelerators >= base.accelerators);
            // The split is the smallest within 5% of the best, so a looser target may pick a
            // smaller split a little slower per accelerator, never more than 5% slower.
            let looser = at(output, tpot * extra).expect("a looser target is still servable");
            let (b, l) = (base.tokens_per_s_per_accel.output, looser.tokens_per_s_per_accel.output);
            prop_assert!(l >= 0.95 * b - 1e-9, "tpot {tpot} -> {}: {b} -> {l}", tpot * extra);
            prop_assert!(base.interval.accelerators[0] <= base.accelerators);
            prop_assert!(base.accelerators <= base.interval.accelerators[1]);
        }
    }
}
