//! Properties of the model that hold for every input, not just the calibrated ones. Only where
//! they are true: more chips can lengthen the *wall* time (more failures), so that is not
//! claimed; more chips never lower the failure-free throughput, which is.

use proptest::prelude::*;
use xpufleet_model::{FxRates, Money, Precision, Work};
use xpufleet_perf::{
    reliability, CostBasis, Deployment, EstimateInput, PerfModel, Placement, SiteEnergy, Stack,
};

use crate::support::*;

const PARTS: [&str; 10] = [
    "h100-sxm",
    "h800-sxm",
    "h200-sxm",
    "h20",
    "a100-sxm-80gb",
    "a800-sxm",
    "l20",
    "b200",
    "ascend-910b",
    "mlu370-x8",
];
const DOMAINS: [u32; 7] = [1, 2, 4, 8, 16, 72, 384];
const PRECISIONS: [Precision; 2] = [Precision::Bf16, Precision::Fp16];

fn rate(id: &str, n: u64, p: &Placement, moe: bool) -> f64 {
    let work = Work::Model {
        params: 100e9,
        active_params: if moe { 10e9 } else { 100e9 },
        tokens: 1e12,
        attention: None,
    };
    PerfModel::default()
        .rate(&work, &accel(id), Precision::Bf16, n, p)
        .unwrap()
}

/// Issue 17: a partly filled extra scale-up domain raised the scale penalty on the chips in
/// full ones (and its NIC traffic), so one more chip lowered throughput. Cases found by a scan
/// of every part and domain at domain boundaries.
#[test]
fn issue_17_a_partly_filled_domain_never_lowers_throughput() {
    for (id, dom, n, moe) in [
        ("h100-sxm", 2, 2, false),
        ("h100-sxm", 2, 198, false),
        ("h100-sxm", 16, 16_000, true),
        ("h800-sxm", 16, 4_800, true),
        ("a100-sxm-80gb", 16, 4_800, true),
        ("h200-sxm", 8, 24_000, true),
        ("b200", 16, 48_000, true),
    ] {
        let small = rate(id, n, &Placement::compact(n, dom), moe);
        let big = rate(id, n + 1, &Placement::compact(n + 1, dom), moe);
        assert!(
            big >= small * (1.0 - 1e-12),
            "{id} D={dom}: {n} chips {small:e} > {} chips {big:e}",
            n + 1
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn more_chips_never_less_throughput(
        part in 0..PARTS.len(), d in 0..DOMAINS.len(), n in 1u64..300_000, extra in 1u64..50_000,
        moe: bool,
    ) {
        let (id, dom) = (PARTS[part], DOMAINS[d]);
        let small = rate(id, n, &Placement::compact(n, dom), moe);
        let big = rate(id, n + extra, &Placement::compact(n + extra, dom), moe);
        // Up to rounding: the same working chips with idle ones beside them are charged a ratio
        // of two scale factors, equal to within a few ulps.
        prop_assert!(
            big >= small * (1.0 - 1e-12),
            "{id} D={dom}: {n} chips {small:e} > {} chips {big:e}",
            n + extra
        );
    }

    #[test]
    fn mfu_never_rises_with_chips(part in 0..PARTS.len(), n in 1u64..300_000, extra in 1u64..50_000) {
        let m = PerfModel::default();
        let a = accel(PARTS[part]);
        prop_assert!(m.mfu(&a, n + extra, 8).unwrap() <= m.mfu(&a, n, 8).unwrap());
    }

    #[test]
    fn bigger_domains_and_compact_placement_never_slower(
        part in 0..PARTS.len(), d in 0..DOMAINS.len() - 1, n in 1u64..100_000, spread in 0u32..1000,
    ) {
        let id = PARTS[part];
        let (small_d, big_d) = (DOMAINS[d], DOMAINS[d + 1]);
        let compact = rate(id, n, &Placement::compact(n, small_d), false);
        prop_assert!(rate(id, n, &Placement::compact(n, big_d), false) >= compact);
        // Spreading the same chips over more domains never helps.
        let min_domains = Placement::compact(n, small_d).domains as u64;
        let domains = (min_domains + spread as u64).min(n) as u32;
        let fragmented = Placement { scaleup_domain: small_d, domains };
        prop_assert!(rate(id, n, &fragmented, false) <= compact);
    }

    #[test]
    fn faster_links_and_memory_never_lower_mfu(
        part in 0..PARTS.len(), n in 1u64..100_000, k_link in 1.0f64..4.0, k_mem in 1.0f64..4.0,
    ) {
        let m = PerfModel::default();
        let a = accel(PARTS[part]);
        let mut b = a.clone();
        b.interconnect_gbps.value = b.interconnect_gbps.value.map(|v| v * k_link);
        b.memory_tbps.value = b.memory_tbps.value.map(|v| v * k_mem);
        prop_assert!(m.mfu(&b, n, 8).unwrap() >= m.mfu(&a, n, 8).unwrap());
    }

    #[test]
    fn ettr_in_unit_interval(
        n in 1u64..1_000_000, rate_e in -9.0f64..-2.0, stall_s in 0.0f64..3600.0,
        restart_s in 0.0f64..7200.0,
    ) {
        let lambda = 10f64.powf(rate_e);
        if let Ok(r) = reliability(n, lambda, stall_s, restart_s, 100.0) {
            prop_assert!(r.ettr > 0.0 && r.ettr <= 1.0, "{r:?}");
            prop_assert!(r.slowdown >= 1.0);
            // Daly's interval is positive and never beyond the MTBF.
            let tau = r.checkpoint_interval_hours.unwrap();
            prop_assert!(tau > 0.0 && tau <= r.mtbf_hours.unwrap() * (1.0 + 1e-12), "{r:?}");
        }
    }

    #[test]
    fn estimate_is_consistent(
        part in 0..PARTS.len(), p in 0..PRECISIONS.len(), n in 1u64..50_000,
        log_flops in 18.0f64..26.0, rate_usd in 0.5f64..5.0,
    ) {
        let m = PerfModel::default();
        let a = accel(PARTS[part]);
        let fx = FxRates::default();
        let placement = Placement::compact(n, 8);
        let mk = |flops: f64| EstimateInput {
            work: Work::Flops(flops),
            precision: PRECISIONS[p],
            accel: &a,
            count: n,
            placement,
            site: SiteEnergy { pue: 1.2, electricity_per_kwh: Money::new(0.1, "USD") },
            cost: Some(CostBasis::Lease { rate_per_accel_hour: Money::new(rate_usd, "USD") }),
            fx: &fx,
            mfu_override: None,
        };
        let f = 10f64.powf(log_flops);
        let e = m.estimate(&mk(f)).unwrap();
        // Wall time is never below the failure-free time, and ETTR links the two.
        prop_assert!(e.wall_hours >= e.ideal_hours);
        prop_assert!(e.ettr > 0.0 && e.ettr <= 1.0);
        prop_assert!((e.ideal_hours / e.wall_hours - e.ettr).abs() < 1e-9);
        // The scheduler's effective rate gives the same wall time: one model, one answer.
        let eff = m.effective_rate(&Work::Flops(f), &a, PRECISIONS[p], n, &placement).unwrap();
        prop_assert!((f / eff / 3600.0 / e.wall_hours - 1.0).abs() < 1e-9);
        // Twice the work: twice the time, energy and cost (ETTR does not depend on length).
        let e2 = m.estimate(&mk(2.0 * f)).unwrap();
        prop_assert!((e2.wall_hours / e.wall_hours - 2.0).abs() < 1e-9);
        prop_assert!((e2.energy_mwh / e.energy_mwh - 2.0).abs() < 1e-9);
        prop_assert!((e2.cost_usd.unwrap() / e.cost_usd.unwrap() - 2.0).abs() < 1e-9);
        // Lease cost is rate × chip-hours plus electricity.
        let c = e.cost.unwrap();
        prop_assert!((c.compute_usd - rate_usd * e.chip_hours).abs() <= 1e-9 * c.compute_usd);
        prop_assert!((c.electricity_usd - e.energy_mwh * 1000.0 * 0.1).abs() <= 1e-9 * c.electricity_usd.max(1.0));
    }

    #[test]
    fn interval_brackets_the_estimate(
        part in 0..PARTS.len(), n in 8u64..20_000, log_params in 8.0f64..11.5, stack in 0..4usize,
    ) {
        let a = accel(PARTS[part]);
        let fx = FxRates::default();
        let params = 10f64.powf(log_params);
        let m = PerfModel::default().with_stack(
            [Stack::Best, Stack::Typical, Stack::Legacy, Stack::Unknown][stack],
        );
        let input = EstimateInput {
            work: Work::Model { params, active_params: params, tokens: 1e12, attention: None },
            precision: Precision::Bf16,
            accel: &a,
            count: n,
            placement: Placement::compact(n, 8),
            site: SiteEnergy { pue: 1.2, electricity_per_kwh: Money::new(0.1, "USD") },
            cost: None,
            fx: &fx,
            mfu_override: None,
        };
        // Too big for the chips is a refusal, not a number; power unknown likewise.
        if let Ok(e) = m.estimate(&input) {
            let i = e.interval;
            prop_assert_eq!(i.level, 0.8);
            prop_assert!(i.mfu[0] < e.mfu && e.mfu <= i.mfu[1], "{:?} {}", i, e.mfu);
            prop_assert!(i.wall_hours[0] <= e.wall_hours && e.wall_hours < i.wall_hours[1]);
            prop_assert!(i.chip_hours[0] <= e.chip_hours && e.chip_hours < i.chip_hours[1]);
            // Time takes the totals' interval, which is asymmetric towards the slow side.
            let slow = i.wall_hours[1] / e.wall_hours;
            let fast = e.wall_hours / i.wall_hours[0];
            prop_assert!(slow > fast, "{:?}", i);
            prop_assert!(e.layout.unwrap().memory.fits());
            prop_assert!(e.min_chips.unwrap() <= n);
        }
    }

    #[test]
    fn better_stacks_are_never_slower(part in 0..PARTS.len(), n in 1u64..100_000, moe: bool) {
        let r = |s: Stack| {
            let work = Work::Model {
                params: 100e9,
                active_params: if moe { 10e9 } else { 100e9 },
                tokens: 1e12,
                attention: None,
            };
            PerfModel::default()
                .with_stack(s)
                .rate(&work, &accel(PARTS[part]), Precision::Bf16, n, &Placement::compact(n, 8))
                .unwrap()
        };
        prop_assert!(r(Stack::Best) >= r(Stack::Typical));
        prop_assert!(r(Stack::Typical) >= r(Stack::Legacy));
    }

    #[test]
    fn relative_speed_is_a_ratio(a in 0..PARTS.len(), b in 0..PARTS.len(), n in 1u64..20_000) {
        let m = PerfModel::default();
        let (x, y) = (accel(PARTS[a]), accel(PARTS[b]));
        let dx = Deployment { accel: &x, count: n, placement: Placement::compact(n, 8) };
        let dy = Deployment { accel: &y, count: n, placement: Placement::compact(n, 8) };
        let w = Work::Flops(1e21);
        let xy = m.relative_speed(&w, Precision::Bf16, &dx, &dy).unwrap();
        let yx = m.relative_speed(&w, Precision::Bf16, &dy, &dx).unwrap();
        prop_assert!((xy * yx - 1.0).abs() < 1e-12);
        prop_assert!((m.relative_speed(&w, Precision::Bf16, &dx, &dx).unwrap() - 1.0).abs() < 1e-15);
    }
}

#[test]
fn h20_is_about_a_fifth_of_h100() {
    // Not a published figure (training.md: no public training MFU for H20): a sanity bound
    // that H20's 15% of H100's peak, with its better memory and link balance, lands between
    // 15% and 30% of H100's speed.
    let m = PerfModel::default();
    let (h20, h100) = (accel("h20"), accel("h100-sxm"));
    let dep = |a| Deployment {
        accel: a,
        count: 2048,
        placement: Placement::compact(2048, 8),
    };
    let s = m
        .relative_speed(&Work::Flops(1e24), Precision::Bf16, &dep(&h20), &dep(&h100))
        .unwrap();
    assert!((0.15..0.30).contains(&s), "{s}");
}

#[test]
fn missing_figures_are_named() {
    let m = PerfModel::default();
    let mlu590 = accel("mlu590");
    let e = m.mfu(&mlu590, 1024, 8).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("mlu590") && msg.contains("tflops_bf16"),
        "{msg}"
    );
    assert!(msg.contains("--catalog"), "{msg}");
    // Ascend 910C has compute figures but no board power: throughput works, energy does not.
    let c = accel("ascend-910c");
    assert!(m.mfu(&c, 8192, 384).is_ok());
    let fx = FxRates::default();
    let e = m
        .estimate(&EstimateInput {
            work: dense(70e9, 2e12),
            precision: Precision::Bf16,
            accel: &c,
            count: 8192,
            placement: Placement::compact(8192, 384),
            site: SiteEnergy {
                pue: 1.2,
                electricity_per_kwh: Money::new(0.4, "CNY"),
            },
            cost: None,
            fx: &fx,
            mfu_override: None,
        })
        .unwrap_err();
    assert!(e.to_string().contains("`power_w` is unknown"), "{e}");
    // A precision the part lacks is not a missing figure.
    let a100 = accel("a100-sxm-80gb");
    let e = m.peak_flops(&a100, Precision::Fp8).unwrap_err().to_string();
    assert!(e.contains("does not support fp8"), "{e}");
}

#[test]
fn costs_convert_between_currencies() {
    let m = PerfModel::default();
    let a = accel("ascend-910b");
    let mut fx = FxRates::default();
    fx.usd_per_unit.insert("CNY".into(), 0.14);
    let input = EstimateInput {
        work: dense(70e9, 2e12),
        precision: Precision::Bf16,
        accel: &a,
        count: 2048,
        placement: Placement::compact(2048, 8),
        site: SiteEnergy {
            pue: 1.2,
            electricity_per_kwh: Money::new(0.4, "CNY"),
        },
        cost: Some(CostBasis::Capex {
            price_per_accel: Money::new(15_000.0, "USD"),
            life_years: 4.0,
        }),
        fx: &fx,
        mfu_override: None,
    };
    let e = m.estimate(&input).unwrap();
    let c = e.cost.as_ref().unwrap();
    assert_eq!(c.currency.as_str(), "CNY");
    let capex_usd = 15_000.0 * 2048.0 * e.wall_hours / (4.0 * 8760.0);
    assert!((c.compute_usd / capex_usd - 1.0).abs() < 1e-12);
    assert!((c.compute_local - capex_usd / 0.14).abs() < 1e-6 * capex_usd);
    assert!((c.electricity_usd - c.electricity_local * 0.14).abs() < 1e-9);
    // A currency with no rate is a clear error.
    let mut bad = input.clone();
    bad.site.electricity_per_kwh = Money::new(0.5, "MYR");
    let err = m.estimate(&bad).unwrap_err().to_string();
    assert!(err.contains("MYR") && err.contains("[fx]"), "{err}");
}
