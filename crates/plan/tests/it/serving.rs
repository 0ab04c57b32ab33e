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

/// (both, prefill, decode) output tokens/s one node of `accel` carries for `chat`, straight
/// from the serving model: a node doing both phases; a node that only prefills (the output
/// tokens of the prompts it prefills: input tokens/s over the input per output token); a node
/// that only decodes.
fn phase_rates(s: &xpufleet_io::LoadedScenario, accel: &str) -> (f64, f64, f64) {
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
    let e = estimate_serving(&model, &d, a, &[], true, None, &ServingParams::default()).unwrap();
    let r = e.tokens_per_s_per_accel;
    let ratio = d.input_tokens_per_day / d.output_tokens_per_day;
    (per_node(s, accel), 8.0 * r.input / ratio, 8.0 * r.output)
}

/// Whether `a` H20 nodes and `b` H100 nodes carry `need` output tokens/s when each node's time
/// may be split between prefilling and decoding (a node doing both phases is such a split, at
/// `1 / (1/prefill + 1/decode)`): the H100s prefill first (their comparative advantage, which
/// the caller checks), then decode with what is left; the H20s prefill what the H100s could
/// not and decode with the rest. By the exchange argument that order carries the most.
fn carries(need: f64, a: u64, b: u64, r20: (f64, f64, f64), r100: (f64, f64, f64)) -> bool {
    let (a, b) = (a as f64, b as f64);
    let h100_prefill = (need / r100.1).min(b);
    let h20_prefill = (need - h100_prefill * r100.1).max(0.0) / r20.1;
    if h20_prefill > a * (1.0 + 1e-12) {
        return false;
    }
    let decode = (a - h20_prefill).max(0.0) * r20.2 + (b - h100_prefill) * r100.2;
    decode >= need * (1.0 - 1e-9)
}

/// The cheapest whole numbers of nodes `(cost, h20, h100)` that carry `need` with their time
/// split between the phases as [`carries`] does, by enumeration.
fn cheapest_split(
    need: f64,
    r20: (f64, f64, f64),
    r100: (f64, f64, f64),
    c20: f64,
    c100: f64,
) -> (f64, u64, u64) {
    let mut best = (f64::INFINITY, 0, 0);
    for a in 0..=(need / r20.1 + need / r20.2).ceil() as u64 {
        for b in 0..=(need / r100.1 + need / r100.2).ceil() as u64 {
            let cost = a as f64 * c20 + b as f64 * c100;
            if cost < best.0 - 1e-6 && carries(need, a, b, r20, r100) {
                best = (cost, a, b);
            }
        }
    }
    best
}

/// Accelerators of `accel` serving `svc` in `role`.
fn role_accels(svc: &xpufleet_plan::ServiceReport, accel: &str, role: &str) -> u64 {
    svc.by_accelerator
        .iter()
        .filter(|b| b.accelerator == accel && b.role == role)
        .map(|b| b.accelerators)
        .sum()
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
/// `s` planned for `objective` with every use allowed and an MFU of 0.4 (no sensitivities).
fn planned(s: &xpufleet_io::LoadedScenario, objective: Objective) -> Plan {
    plan(
        &s.scenario,
        &s.catalog,
        &AllowAll,
        &FixedMfu(0.4),
        &opts(objective),
    )
    .unwrap()
}

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

/// Without a second part type the plan has no split to make: one pool does both phases, and
/// the answer is the cheapest whole-node count, by hand.
#[test]
fn issue_22_min_cost_covers_the_service_with_the_cheapest_mix() {
    let mut s = load("serving.toml");
    s.scenario.candidates.retain(|c| c.id != "h100-sg");
    let p = planned(&s, Objective::MinCost);
    let r20 = per_node(&s, "h20");
    let demand = 4e9 / 86_400.0;
    let a = (demand / r20 - 1e-9).ceil() as u64;
    assert_eq!(nodes(&p, "h20-sg"), a, "{p:#?}");
    let cost = a as f64 * node_usd(1.2);
    assert!(
        (p.spend_usd - cost).abs() < 1e-6 * cost,
        "{} vs {cost}",
        p.spend_usd
    );
    // The service takes the share of those nodes it needs (to a millionth of a node); its
    // accelerators are that share rounded up, its cost that of the share.
    let share = demand / r20;
    assert!(share > (a - 1) as f64 && share <= a as f64);
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
    let exact = 8.0 * share;
    assert!(
        accels as f64 >= exact && (accels as f64) < exact + 1.0 + 8e-3,
        "{accels} for {exact}"
    );
    assert!(svc
        .by_accelerator
        .iter()
        .all(|b| b.role == "both" && b.pool.is_none()));
    // Leases at their hourly rate: USD a day, for the share (to a millionth of a node).
    let day = exact * 1.2 * 24.0;
    assert!(
        svc.cost_usd_per_day >= day * (1.0 - 1e-9)
            && svc.cost_usd_per_day <= day + 1.2 * 8.0 * 24.0 * 1e-3,
        "{} vs {day}",
        svc.cost_usd_per_day
    );
    assert!(verify(&p, &s.scenario, &s.catalog).is_empty());
}

/// Two alike candidates (the same part at the same site, each capped below the demand) share
/// one set of serving copies: the plan is the one the single candidate's by-hand cover gives,
/// split over the two in whole nodes, every node of both serves, and the service's
/// accelerators name both candidates and add up to the demand's share rounded up.
#[test]
fn issue_22_alike_candidates_share_their_copies_and_the_plan_splits_them_back() {
    let mut s = load("serving.toml");
    s.scenario.candidates.retain(|c| c.id != "h100-sg");
    let mut twin = s.scenario.candidates[0].clone();
    twin.id = "h20-sg-b".into();
    s.scenario.candidates[0].max_nodes = Some(70);
    twin.max_nodes = Some(70);
    s.scenario.candidates.push(twin);
    let p = planned(&s, Objective::MinCost);
    let r20 = per_node(&s, "h20");
    let demand = 4e9 / 86_400.0;
    let a = (demand / r20 - 1e-9).ceil() as u64;
    assert!(a > 70 && a <= 140, "the test needs both candidates: {a}");
    let (n1, n2) = (nodes(&p, "h20-sg"), nodes(&p, "h20-sg-b"));
    assert_eq!(n1 + n2, a, "{:#?}", p.lines);
    assert!(n1 <= 70 && n2 <= 70);
    assert!(
        p.lines.iter().all(|l| l.nodes == l.serving_nodes),
        "{:#?}",
        p.lines
    );
    let cost = a as f64 * node_usd(1.2);
    assert!((p.spend_usd - cost).abs() < 1e-6 * cost);
    let svc = &p.services[0];
    assert!(svc.shortfall.is_none(), "{svc:#?}");
    let named: Vec<&str> = svc
        .by_accelerator
        .iter()
        .filter_map(|b| b.candidate.as_deref())
        .collect();
    assert!(
        named.contains(&"h20-sg") && named.contains(&"h20-sg-b"),
        "{svc:#?}"
    );
    let accels: u64 = svc.by_accelerator.iter().map(|b| b.accelerators).sum();
    let exact = 8.0 * demand / r20;
    assert!(
        accels as f64 >= exact && (accels as f64) < exact + 2.0 + 8e-3,
        "{accels} for {exact}"
    );
    assert!(verify(&p, &s.scenario, &s.catalog).is_empty());
}

/// Prefill on the FLOPS-rich part, decode on the bandwidth-rich one (issue 22 item 3's
/// `role`): with H100s (989 TFLOPS, 3.35 TB/s at 2.0 USD an hour) and H20s (148 TFLOPS,
/// 4.0 TB/s at 1.2) for a 70B model at five input tokens per output token, the plan's answer
/// is the cheapest over every mix of whole nodes of both, prefill and decode pools, enumerated
/// by hand from the serving model's per-node rates, and it is a split: H100s prefill, H20s
/// decode, each role in `by_accelerator` (what rounding leaves goes to a pool doing both).
#[test]
fn issue_22_prefill_and_decode_on_different_parts_when_that_is_cheaper() {
    let s = load("serving.toml");
    let p = planned(&s, Objective::MinCost);
    let (r20, r100) = (phase_rates(&s, "h20"), phase_rates(&s, "h100-sxm"));
    // Per accelerator-second, the H100 prefills the cheaper, the H20 decodes the cheaper; and
    // the H100 is the better prefiller relative to its own decoding (the order `carries` uses).
    assert!(r100.1 / 2.0 > r20.1 / 1.2 && r20.2 / 1.2 > r100.2 / 2.0);
    assert!(r100.1 / r100.2 > r20.1 / r20.2);
    let demand = 4e9 / 86_400.0;
    let (c20, c100) = (node_usd(1.2), node_usd(2.0));
    let (cost, a, b) = cheapest_split(demand, r20, r100, c20, c100);
    let (both_only, _, _) = cheapest(demand, r20.0, r100.0, c20, c100);
    assert!(
        cost < both_only,
        "a split saves nothing: {cost} vs {both_only}"
    );
    assert!(
        (p.spend_usd - cost).abs() < 1e-6 * cost,
        "{} vs {cost} ({a} H20, {b} H100): {:#?}",
        p.spend_usd,
        p.services
    );
    let svc = &p.services[0];
    assert!(svc.shortfall.is_none(), "{svc:#?}");
    assert!(
        (svc.covered_output_tokens_per_day - 4e9).abs() < 1.0,
        "{svc:#?}"
    );
    // The lines count every node bought as serving (each part's share is more than all its
    // nodes but one, or the plan would be dearer than it need be), at the hand optimum's cost.
    let (n20, n100) = (nodes(&p, "h20-sg"), nodes(&p, "h100-sg"));
    assert!(
        (n20 as f64 * c20 + n100 as f64 * c100 - cost).abs() < 1e-6 * cost,
        "{n20} H20, {n100} H100"
    );
    assert!(
        p.lines.iter().all(|l| l.nodes == l.serving_nodes),
        "{:#?}",
        p.lines
    );
    // Cheaper than any plan of pools doing both: some share prefills or decodes only.
    let json = serde_json::to_value(svc).unwrap();
    let roles: Vec<&str> = json["by_accelerator"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["role"].as_str().unwrap())
        .collect();
    assert!(
        roles.contains(&"prefill") || roles.contains(&"decode"),
        "{roles:?}"
    );
    let split: u64 = ["prefill", "decode"]
        .iter()
        .map(|r| role_accels(svc, "h100-sxm", r) + role_accels(svc, "h20", r))
        .sum();
    assert!(split > 0);
    assert!(verify(&p, &s.scenario, &s.catalog).is_empty());
}

#[test]
fn issue_22_max_compute_trains_on_what_serving_leaves() {
    let s = load("serving.toml");
    let p = planned(&s, Objective::MaxCompute);
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
        // Serving nodes are rounded up: a line with a node that serves none trains, and a
        // line trains at most its nodes' worth.
        if l.nodes > l.serving_nodes {
            assert!(l.effective_pflops > 0.0, "{l:#?}");
        }
        let per_node = p.candidates.iter().find(|c| c.id == l.candidate).unwrap();
        let per_node = per_node.effective_pflops_per_node.unwrap();
        assert!(
            l.effective_pflops <= per_node * l.nodes as f64 * (1.0 + 1e-12),
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
    let p = planned(&s, Objective::MaxCompute);
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
    let p = planned(&s, Objective::MaxCompute);
    let svc = &p.services[0];
    assert_eq!(svc.covered_output_tokens_per_day, 0.0);
    let short = svc.shortfall.as_ref().unwrap();
    assert!(short.binds.is_empty() && short.reason.contains("no candidate may serve"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Covered never exceeds demand, and the plan's mix (prefill and decode pools on
    /// different parts included) never costs more than the cheapest single part type that
    /// covers the service alone, nor than the cheapest mix of pools that each do both, by more
    /// than the requested gap (with two parts 4 × 10⁻⁵ apart in price, one node of each is a
    /// plan 2 × 10⁻⁵ dearer than two of the cheaper one, and the search may stop there).
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
        let p = planned(&s, Objective::MinCost);
        let svc = &p.services[0];
        prop_assert!(svc.covered_output_tokens_per_day <= output * (1.0 + 1e-9));
        prop_assert!(verify(&p, &s.scenario, &s.catalog).is_empty());
        if svc.shortfall.is_none() {
            let (r20, r100) = (per_node(&s, "h20"), per_node(&s, "h100-sxm"));
            let demand = output / 86_400.0;
            let single = |r: f64, price: f64| (demand / r - 1e-9).ceil() * node_usd(price);
            let best_single = single(r20, price20).min(single(r100, price100));
            // Within the requested gap: the search stops once it proves that much.
            let gap = 1.0 + opts(Objective::MinCost).mip_gap + 1e-9;
            prop_assert!(p.spend_usd <= best_single * gap, "{} > {best_single}", p.spend_usd);
            // With disaggregated pools on offer, never dearer than the best `both`-only mix.
            let (both_only, _, _) = cheapest(demand, r20, r100, node_usd(price20), node_usd(price100));
            prop_assert!(p.spend_usd <= both_only * gap, "{} > {both_only}", p.spend_usd);
        }
    }

    /// Max-compute with two services sharing the parts: every service is covered or reports
    /// its shortfall, and no candidate serves and trains more nodes than it buys (its serving
    /// shares, from the tokens each carries at the serving model's rate a node, plus its
    /// training nodes, from its PFLOPS).
    #[test]
    fn issue_22_services_covered_and_no_candidate_used_beyond_its_nodes(
        output in 0.2e9f64..8e9,
        second in 0.1e9f64..4e9,
        ratio in 1.0f64..8.0,
        budget in 20e3f64..3e6,
    ) {
        let mut s = load("serving.toml");
        s.scenario.services[0].output_tokens_per_day = output;
        s.scenario.services[0].input_tokens_per_day = output * ratio;
        let mut other = s.scenario.services[0].clone();
        other.id = "chat-2".into();
        other.output_tokens_per_day = second;
        other.input_tokens_per_day = second * ratio;
        s.scenario.services.push(other);
        s.scenario.envelopes[0].budget.amount = budget;
        let p = planned(&s, Objective::MaxCompute);
        prop_assert!(verify(&p, &s.scenario, &s.catalog).is_empty());
        for svc in &p.services {
            prop_assert!(
                svc.shortfall.is_some()
                    || svc.covered_output_tokens_per_day >= svc.output_tokens_per_day * (1.0 - 1e-9),
                "{svc:#?}"
            );
        }
        let peak = s.scenario.services[0].peak_to_average;
        for l in &p.lines {
            let rates = phase_rates(&s, &l.accelerator);
            let serving: f64 = p
                .services
                .iter()
                .flat_map(|v| &v.by_accelerator)
                .filter(|b| b.candidate.as_ref() == Some(&l.candidate))
                .map(|b| {
                    let rate = match b.role.as_str() {
                        "prefill" => rates.1,
                        "decode" => rates.2,
                        _ => rates.0,
                    };
                    b.output_tokens_per_day * peak / 86_400.0 / rate
                })
                .sum();
            let per_node = p.candidates.iter().find(|c| c.id == l.candidate).unwrap();
            let per_node = per_node.effective_pflops_per_node.unwrap();
            let training = if per_node > 0.0 { l.effective_pflops / per_node } else { 0.0 };
            prop_assert!(l.serving_nodes <= l.nodes, "{l:#?}");
            prop_assert!(serving + training <= l.nodes as f64 * (1.0 + 1e-9) + 1e-9, "{serving} + {training}: {l:#?}");
            prop_assert!((serving - l.serving_nodes as f64).abs() < 1.0 + 1e-9, "{serving}: {l:#?}");
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

/// An MFU source that knows no figure for one part, as for a part never measured training.
struct NoMfuFor(&'static str);

impl xpufleet_plan::Mfu for NoMfuFor {
    fn mfu(&self, a: &xpufleet_model::Accelerator, _: u64, _: u32) -> Result<f64, String> {
        if a.id == self.0 {
            Err(format!("no training MFU is known for {}", a.id))
        } else {
            Ok(0.4)
        }
    }
}

/// A part bought only to serve needs only what serving needs (issue 22, bad input): an unknown
/// training figure (its MFU; its BF16 TFLOPS, for a service that runs in FP8) makes its
/// *training* use unusable, said in `excluded[]` with the missing figure, and it still serves.
/// Without services the same figure excludes it for every use, as before.
#[test]
fn issue_22_a_part_without_training_figures_is_still_bought_to_serve() {
    let check = |s: &xpufleet_io::LoadedScenario, mfu: &dyn xpufleet_plan::Mfu, missing: &str| {
        let p = plan(
            &s.scenario,
            &s.catalog,
            &AllowAll,
            mfu,
            &opts(Objective::MinCost),
        )
        .unwrap();
        let x = p.excluded.iter().find(|x| x.candidate == "h20-sg").unwrap();
        assert_eq!(x.excluded_use, Some(xpufleet_plan::Use::Training), "{x:#?}");
        assert!(
            x.reason.contains("for training:") && x.reason.contains(missing),
            "{}",
            x.reason
        );
        let svc = &p.services[0];
        assert!(svc.shortfall.is_none(), "{svc:#?}");
        let h20: u64 = svc
            .by_accelerator
            .iter()
            .filter(|b| b.accelerator == "h20")
            .map(|b| b.accelerators)
            .sum();
        assert!(h20 > 0, "{svc:#?}");
        let line = p.lines.iter().find(|l| l.candidate == "h20-sg").unwrap();
        assert_eq!(line.nodes, line.serving_nodes);
        assert_eq!(line.effective_pflops, 0.0);
        let broken = verify(&p, &s.scenario, &s.catalog);
        assert!(broken.is_empty(), "{broken:#?}");
    };
    let s = load("serving.toml");
    check(&s, &NoMfuFor("h20"), "no training MFU is known for h20");

    // BF16 TFLOPS unknown, the service in FP8: prefill uses the FP8 figure.
    let mut s = load("serving.toml");
    s.scenario.services[0].precision = Some(xpufleet_model::Precision::Fp8);
    let h20 = s
        .catalog
        .accelerators
        .iter_mut()
        .find(|a| a.id == "h20")
        .unwrap();
    h20.tflops_bf16 = xpufleet_model::Figure::unknown();
    h20.tflops_fp16 = xpufleet_model::Figure::unknown();
    check(&s, &FixedMfu(0.4), "tflops_bf16 is unknown");

    // Without services nothing is bought to serve: the figure excludes it outright.
    s.scenario.services.clear();
    s.scenario.plan.target_pflops = Some(1.0);
    let p = planned(&s, Objective::MinCost);
    let x = p.excluded.iter().find(|x| x.candidate == "h20-sg").unwrap();
    assert_eq!(x.excluded_use, None);
    assert!(x.reason.contains("tflops_bf16 is unknown") && !x.reason.contains("for training"));
}
