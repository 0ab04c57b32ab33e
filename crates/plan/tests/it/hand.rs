//! The scenario in tests/data/hand.toml, solved by hand in its comments.

use xpufleet_plan::{plan, verify, ExclusionKind, FixedMfu, Objective, PlanOptions};

use crate::support::*;

fn nodes(p: &xpufleet_plan::Plan, id: &str) -> u64 {
    p.lines
        .iter()
        .find(|l| l.candidate == id)
        .map_or(0, |l| l.nodes)
}

#[test]
fn max_compute_matches_the_hand_solution() {
    let s = load("hand.toml");
    let gate = TableGate::deny(&["fgn-grey"]);
    let p = plan(
        &s.scenario,
        &s.catalog,
        &gate,
        &FixedMfu(0.5),
        &PlanOptions::default(),
    )
    .unwrap();
    assert_eq!(nodes(&p, "dom-buy"), 6);
    assert_eq!(nodes(&p, "fgn-buy"), 3);
    assert_eq!(nodes(&p, "fgn-lease"), 2);
    assert!(approx(p.effective_pflops, 29.6), "{}", p.effective_pflops);
    assert!(approx(p.objective.value, 29.6));
    // 8.64M CNY = 1.08M USD at home, 76,800 USD abroad.
    let home = p.envelopes.iter().find(|e| e.id == "home").unwrap();
    assert!(approx(home.spent, 8.64e6), "{}", home.spent);
    assert!(approx(p.spend_usd, 1_080_000.0 + 76_800.0));
    let lease = p.lines.iter().find(|l| l.candidate == "fgn-lease").unwrap();
    assert_eq!((lease.units, lease.chips), (16, 16));
    assert!(approx(lease.spend, 76_800.0) && lease.currency == "USD");
    let mix = &p.supplier_mix[0];
    assert!(approx(mix.share.unwrap(), 4.8 / 8.64));

    let binding: Vec<&str> = p
        .constraints
        .iter()
        .filter(|c| c.binding)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        binding,
        [
            "budget:abroad",
            "mix:home-50",
            "supply:fgn-cap",
            "power:cn1"
        ],
        "{:#?}",
        p.constraints
    );
    // Power +10% buys one more dom node: +1.6 PFLOPS.
    let power = p.constraints.iter().find(|c| c.id == "power:cn1").unwrap();
    assert!(approx(power.value, 0.101) && approx(power.limit, 0.105));
    let r = power.relaxation.as_ref().unwrap();
    assert!(approx(r.objective_delta.unwrap(), 1.6), "{r:?}");

    let kinds = |id: &str| -> Vec<ExclusionKind> {
        p.excluded
            .iter()
            .find(|e| e.candidate == id)
            .unwrap_or_else(|| panic!("{id} not excluded"))
            .reasons
            .iter()
            .map(|r| r.kind)
            .collect()
    };
    assert_eq!(kinds("mystery-buy"), [ExclusionKind::UnknownFigure]);
    assert_eq!(kinds("dom-lease-home"), [ExclusionKind::Scope]);
    assert_eq!(kinds("fgn-grey"), [ExclusionKind::Verdict]);
    assert!(verify(&p, &s.scenario, &s.catalog).is_empty());
}

#[test]
fn min_cost_matches_the_hand_solution() {
    let s = load("hand.toml");
    let gate = TableGate::deny(&["fgn-grey"]);
    let opts = PlanOptions {
        objective: Some(Objective::MinCost),
        target_pflops: Some(20.0),
        ..PlanOptions::default()
    };
    let p = plan(&s.scenario, &s.catalog, &gate, &FixedMfu(0.5), &opts).unwrap();
    assert_eq!(
        (
            nodes(&p, "dom-buy"),
            nodes(&p, "fgn-buy"),
            nodes(&p, "fgn-lease")
        ),
        (5, 1, 2)
    );
    assert!(
        approx(p.objective.value, 736_800.0),
        "{}",
        p.objective.value
    );
    let target = p.constraints.iter().find(|c| c.id == "target").unwrap();
    assert!(target.binding);
    assert!(verify(&p, &s.scenario, &s.catalog).is_empty());
}

#[test]
fn compute_per_dollar_takes_the_biggest_plan_at_the_best_ratio() {
    // Per million USD: lease 4.0 / 0.0384 = 104.2 PFLOPS, fgn-buy 25, dom-buy 16. The best ratio
    // is the lease alone, and the biggest plan at that ratio is both lease nodes.
    let s = load("hand.toml");
    let gate = TableGate::deny(&["fgn-grey"]);
    let opts = PlanOptions {
        objective: Some(Objective::ComputePerDollar),
        ..PlanOptions::default()
    };
    let p = plan(&s.scenario, &s.catalog, &gate, &FixedMfu(0.5), &opts).unwrap();
    assert_eq!(p.lines.len(), 1, "{:#?}", p.lines);
    assert_eq!(nodes(&p, "fgn-lease"), 2);
    assert!(approx(p.objective.value, 4.0 / 0.0384));
}

#[test]
fn the_gate_is_asked_about_each_candidate_on_the_plan_date() {
    // Allowing the grey candidate: 1,000 USD an accelerator is so cheap that it takes the whole
    // fgn supply cap (5 nodes): the verdict, not the price, kept it out above.
    let s = load("hand.toml");
    let p = plan(
        &s.scenario,
        &s.catalog,
        &xpufleet_comply::AllowAll,
        &FixedMfu(0.5),
        &PlanOptions::default(),
    )
    .unwrap();
    assert!(nodes(&p, "fgn-grey") > 0);
    assert!(verify(&p, &s.scenario, &s.catalog).is_empty());
}

/// A candidate too dear for its whole envelope is excluded, but relaxing that budget can admit
/// it: the sensitivity re-solve sees it. A 64-accelerator dom lease at my1 costs 64 × 2,400 h ×
/// 0.68 USD = 104,448 USD a node (12.8 effective PFLOPS) against the 100,000 USD abroad budget;
/// at +10% (110,000 USD) one such node beats the two fgn leases (8.0 PFLOPS): +4.8 PFLOPS.
#[test]
fn relaxing_a_budget_readmits_a_candidate_too_dear_for_it() {
    let mut s = load("hand.toml");
    let mut big = s
        .scenario
        .candidates
        .iter()
        .find(|c| c.id == "fgn-lease")
        .unwrap()
        .clone();
    big.id = "dom-lease-big".into();
    big.accelerator = "dom".into();
    big.accels_per_node = 64;
    big.scaleup_domain = Some(64);
    big.price = xpufleet_model::Money::new(0.68, big.price.currency.clone());
    s.scenario.candidates.push(big);
    let gate = TableGate::deny(&["fgn-grey"]);
    let p = plan(
        &s.scenario,
        &s.catalog,
        &gate,
        &FixedMfu(0.5),
        &PlanOptions::default(),
    )
    .unwrap();
    // The base plan is the hand solution: the big lease is excluded for its budget.
    assert!(approx(p.objective.value, 29.6), "{}", p.objective.value);
    let ex = p
        .excluded
        .iter()
        .find(|e| e.candidate == "dom-lease-big")
        .expect("excluded");
    assert_eq!(
        ex.reasons.iter().map(|r| r.kind).collect::<Vec<_>>(),
        [ExclusionKind::Budget]
    );
    let budget = p
        .constraints
        .iter()
        .find(|c| c.id == "budget:abroad")
        .unwrap();
    let r = budget.relaxation.as_ref().unwrap();
    assert!(approx(r.objective_delta.unwrap(), 4.8), "{r:?}");
    assert!(r.proven, "{r:?}");
}
