//! Services in the plan (issue 22): the plan covers a service with the cheapest mix the perf
//! crate's serving model allows, keeps its data where it may go, and explains a service it
//! cannot cover; property tests on covered demand and on mixed against single-type cost.

use proptest::prelude::*;
use xpufleet_comply::AllowAll;
use xpufleet_perf::serving::{estimate_serving, ServedModel, ServingDemand, ServingParams};
use xpufleet_plan::{plan, verify, FixedMfu, Objective, Plan, PlanOptions};

use crate::support::*;

/// Output tokens/s one node of `accel` (8 accelerators) carries for `chat`, input included,
/// straight from the serving model.
fn per_node(s: &xpufleet_io::LoadedScenario, accel: &str) -> f64 {
    let v = &s.scenario.services[0];
    let model = ServedModel {
        params: v.params,
        active_params: v.active(),
        precision: v.precision,
        kv_bytes_per_token: v.kv_bytes(),
    };
    let d = ServingDemand {
        input_tokens_per_day: v.input_tokens_per_day,
        output_tokens_per_day: v.output_tokens_per_day,
        mean_input_tokens: None,
        ttft_ms: v.ttft_ms,
        tpot_ms: v.tpot_ms,
        peak_to_average: v.peak_to_average,
    };
    let a = s.catalog.get(accel).unwrap();
    let e = estimate_serving(&model, &d, a, &[], false, None, &ServingParams::default()).unwrap();
    let r = e.tokens_per_s_per_accel;
    let ratio = d.input_tokens_per_day / d.output_tokens_per_day;
    8.0 / (ratio / r.input + 1.0 / r.output)
}

fn opts(objective: Objective) -> PlanOptions {
    PlanOptions {
        objective: Some(objective),
        sensitivity: false,
        ..PlanOptions::default()
    }
}

fn nodes(p: &Plan, id: &str) -> u64 {
    p.lines
        .iter()
        .find(|l| l.candidate == id)
        .map_or(0, |l| l.serving_nodes)
}

/// USD a node over the 100-day horizon.
fn node_usd(rate: f64) -> f64 {
    rate * 8.0 * 100.0 * 24.0
}

/// The cheapest (cost, h20 nodes, h100 nodes) covering `demand_per_s`, by enumeration.
fn cheapest(demand_per_s: f64, r20: f64, r100: f64, c20: f64, c100: f64) -> (f64, u64, u64) {
    let max20 = (demand_per_s / r20).ceil() as u64;
    let max100 = (demand_per_s / r100).ceil() as u64;
    let mut best = (f64::INFINITY, 0, 0);
    for a in 0..=max20 {
        let left = (demand_per_s - a as f64 * r20).max(0.0);
        let b = ((left / r100) - 1e-9).ceil().max(0.0) as u64;
        let b = b.min(max100);
        if a as f64 * r20 + b as f64 * r100 + 1e-6 < demand_per_s {
            continue;
        }
        let c = a as f64 * c20 + b as f64 * c100;
        if c < best.0 - 1e-6 {
            best = (c, a, b);
        }
    }
    best
}

#[test]
fn issue_22_min_cost_covers_the_service_with_the_cheapest_mix() {
    let s = load("serving.toml");
    let p = plan(
        &s.scenario,
        &s.catalog,
        &AllowAll,
        &FixedMfu(0.4),
        &opts(Objective::MinCost),
    )
    .unwrap();
    let (r20, r100) = (per_node(&s, "h20"), per_node(&s, "h100-sxm"));
    let demand = 4e9 / 86_400.0;
    let (cost, a, b) = cheapest(demand, r20, r100, node_usd(1.2), node_usd(2.0));
    assert_eq!(
        (nodes(&p, "h20-sg"), nodes(&p, "h100-sg")),
        (a, b),
        "{p:#?}"
    );
    assert!(
        (p.spend_usd - cost).abs() < 1e-6 * cost,
        "{} vs {cost}",
        p.spend_usd
    );
    // Residency: the cheaper H100 lease in Malaysia may not hold the service's data.
    assert_eq!(nodes(&p, "h100-my"), 0);
    let svc = &p.services[0];
    assert_eq!(svc.id, "chat");
    assert!(
        (svc.covered_output_tokens_per_day - 4e9).abs() < 1.0,
        "{svc:#?}"
    );
    assert!(svc.shortfall.is_none());
    let accels: u64 = svc.by_accelerator.iter().map(|b| b.accelerators).sum();
    assert_eq!(accels, 8 * (a + b));
    assert!(svc
        .by_accelerator
        .iter()
        .all(|b| b.role == "both" && b.pool.is_none()));
    // Leases at their hourly rate: USD a day.
    let day = (a as f64 * 1.2 + b as f64 * 2.0) * 8.0 * 24.0;
    assert!(
        (svc.cost_usd_per_day - day).abs() < 1e-6 * day,
        "{}",
        svc.cost_usd_per_day
    );
    assert!(verify(&p, &s.scenario, &s.catalog).is_empty());
}

#[test]
fn issue_22_max_compute_trains_on_what_serving_leaves() {
    let s = load("serving.toml");
    let p = plan(
        &s.scenario,
        &s.catalog,
        &AllowAll,
        &FixedMfu(0.4),
        &opts(Objective::MaxCompute),
    )
    .unwrap();
    let svc = &p.services[0];
    assert!(svc.shortfall.is_none(), "{svc:#?}");
    // Serving nodes earn no training compute; the rest of the budget trains.
    let training: f64 = p.lines.iter().map(|l| l.effective_pflops).sum();
    assert!((training - p.effective_pflops).abs() < 1e-9);
    assert!(p.lines.iter().any(|l| l.serving_nodes > 0));
    // Each line says what it is for: its serving nodes serve `chat`, the rest train.
    for l in &p.lines {
        let want = xpufleet_plan::LineUse::of(l.nodes, l.serving_nodes);
        assert_eq!(l.line_use, want, "{l:#?}");
        assert_eq!(l.services.is_empty(), l.serving_nodes == 0, "{l:#?}");
        assert!(l.services.iter().all(|s| s == "chat"));
        assert_eq!(
            l.effective_pflops > 0.0,
            l.nodes > l.serving_nodes,
            "{l:#?}"
        );
    }
    let json = serde_json::to_value(&p.lines).unwrap();
    assert!(json
        .as_array()
        .unwrap()
        .iter()
        .all(|l| ["training", "serving", "both"].contains(&l["use"].as_str().unwrap())));
    let spent = p.envelopes[0].spent;
    assert!(spent <= 50e6 + 1.0);
    assert!(verify(&p, &s.scenario, &s.catalog).is_empty());
}

#[test]
fn issue_22_an_uncoverable_service_is_explained_and_the_plan_still_returns() {
    let mut s = load("serving.toml");
    // Enough money for a fraction of the demand.
    s.scenario.envelopes[0].budget.amount = 200_000.0;
    let p = plan(
        &s.scenario,
        &s.catalog,
        &AllowAll,
        &FixedMfu(0.4),
        &opts(Objective::MaxCompute),
    )
    .unwrap();
    let svc = &p.services[0];
    let short = svc.shortfall.as_ref().expect("a shortfall");
    assert_eq!(short.binds, ["budget:leases"], "{short:#?}");
    assert!(short.reason.contains("budget:leases"));
    assert!(svc.covered_output_tokens_per_day > 0.0);
    assert!(
        (svc.covered_output_tokens_per_day + short.output_tokens_per_day - 4e9).abs() < 1.0,
        "{svc:#?}"
    );
    // No part may hold the data: nothing covers it, and the plan says why.
    let mut s = load("serving.toml");
    s.scenario.services[0].data_countries = vec!["JP".into()];
    let p = plan(
        &s.scenario,
        &s.catalog,
        &AllowAll,
        &FixedMfu(0.4),
        &opts(Objective::MaxCompute),
    )
    .unwrap();
    let svc = &p.services[0];
    assert_eq!(svc.covered_output_tokens_per_day, 0.0);
    let short = svc.shortfall.as_ref().unwrap();
    assert!(short.binds.is_empty() && short.reason.contains("no candidate may serve"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Covered never exceeds demand, and the plan's mix never costs more than the cheapest
    /// single part type that covers the service alone.
    #[test]
    fn issue_22_covered_within_demand_and_mix_no_dearer_than_one_type(
        output in 0.2e9f64..8e9,
        ratio in 1.0f64..8.0,
        price20 in 0.5f64..3.0,
        price100 in 0.5f64..4.0,
        budget in 20e3f64..3e6,
    ) {
        let mut s = load("serving.toml");
        s.scenario.services[0].output_tokens_per_day = output;
        s.scenario.services[0].input_tokens_per_day = output * ratio;
        s.scenario.candidates[0].price.amount = price20;
        s.scenario.candidates[1].price.amount = price100;
        s.scenario.envelopes[0].budget.amount = budget;
        let p = plan(&s.scenario, &s.catalog, &AllowAll, &FixedMfu(0.4), &opts(Objective::MinCost))
            .unwrap();
        let svc = &p.services[0];
        prop_assert!(svc.covered_output_tokens_per_day <= output * (1.0 + 1e-9));
        prop_assert!(verify(&p, &s.scenario, &s.catalog).is_empty());
        if svc.shortfall.is_none() {
            let (r20, r100) = (per_node(&s, "h20"), per_node(&s, "h100-sxm"));
            let demand = output / 86_400.0;
            let single = |r: f64, price: f64| (demand / r - 1e-9).ceil() * node_usd(price);
            let best_single = single(r20, price20).min(single(r100, price100));
            prop_assert!(p.spend_usd <= best_single * (1.0 + 1e-9), "{} > {best_single}", p.spend_usd);
        }
    }
}

/// The 2025-05-13 IaaS-training case (issue 22 item 3): leased H100s and H200s in Malaysia for
/// a company headquartered in D:5 are red-flagged for training, not for serving. The plan buys
/// them to serve and trains on none, and the exclusion list says training was the use excluded.
#[test]
fn issue_22_a_candidate_excluded_for_training_is_bought_to_serve() {
    use xpufleet_plan::Use;
    let s = load("iaas.toml");
    let engine = xpufleet_io::rules::rule_engine(&s, &[]).unwrap();
    let p = plan(
        &s.scenario,
        &s.catalog,
        &engine,
        &FixedMfu(0.4),
        &opts(Objective::MaxCompute),
    )
    .unwrap();
    let svc = &p.services[0];
    assert!(svc.shortfall.is_none(), "{svc:#?} {:#?}", p.excluded);
    let serving: u64 = p.lines.iter().map(|l| l.serving_nodes).sum();
    assert!(serving > 0, "{:#?}", p.lines);
    assert!(svc
        .by_accelerator
        .iter()
        .all(|b| b.candidate.as_deref().is_some_and(|c| c.ends_with("-my"))));
    // Nothing trains: every node bought serves, and each line says so.
    assert_eq!(p.effective_pflops, 0.0);
    assert!(p
        .lines
        .iter()
        .all(|l| l.line_use == xpufleet_plan::LineUse::Serving && l.services == ["chat"]));
    assert!(
        p.lines.iter().all(|l| l.nodes == l.serving_nodes),
        "{:#?}",
        p.lines
    );
    for id in ["h100-my", "h200-my"] {
        let x = p.excluded.iter().find(|x| x.candidate == id).unwrap();
        assert_eq!(x.excluded_use, Some(Use::Training), "{x:#?}");
        assert!(x.reason.contains("iaas-training-d5-hq"), "{}", x.reason);
    }
    let broken = verify(&p, &s.scenario, &s.catalog);
    assert!(broken.is_empty(), "{broken:#?}");
    // Without services there is nothing to serve: both are excluded for every use.
    let mut s = s;
    s.scenario.services.clear();
    let engine = xpufleet_io::rules::rule_engine(&s, &[]).unwrap();
    let p = plan(
        &s.scenario,
        &s.catalog,
        &engine,
        &FixedMfu(0.4),
        &opts(Objective::MaxCompute),
    );
    if let Ok(p) = p {
        assert!(p.lines.iter().all(|l| l.nodes == 0));
        assert!(p.excluded.iter().all(|x| x.excluded_use.is_none()));
    }
}
