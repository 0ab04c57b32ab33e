//! A licence's quantity or value caps what the plan buys under it (issue 24 item 3): the
//! scenario in tests/data/licence.toml, solved by hand in its comments.

use xpufleet_model::Money;
use xpufleet_plan::{plan, verify, FixedMfu, Plan, PlanOptions};

use crate::support::*;

fn nodes(p: &Plan, id: &str) -> u64 {
    p.lines
        .iter()
        .filter(|l| l.candidate == id)
        .map(|l| l.nodes)
        .sum()
}

fn solve(s: &xpufleet_model::Scenario, catalog: &xpufleet_model::Catalog) -> Plan {
    plan(
        s,
        catalog,
        &TableGate::default(),
        &FixedMfu(0.5),
        &PlanOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_licences_quantity_caps_the_plan() {
    let s = load("licence.toml");
    let p = solve(&s.scenario, &s.catalog);
    // 2,000 allowed, 500 in the pool: 1,500 = 375 nodes of 4, not the 5,000 on offer.
    assert_eq!(nodes(&p, "fgn-buy"), 375);
    assert_eq!(nodes(&p, "fgn-lease"), 10);
    let c = p
        .constraints
        .iter()
        .find(|c| c.id == "licence:my-stp")
        .unwrap_or_else(|| panic!("{:#?}", p.constraints));
    assert!(c.binding, "{c:?}");
    // Shown as the licence's whole use: the pool's 500 and the plan's 1,500.
    assert!(approx(c.value, 2000.0) && approx(c.limit, 2000.0), "{c:?}");
    assert_eq!(c.unit, "accelerators");
    // Used to the full: the plan says so (the alert is from 80%).
    assert!(
        p.warnings.iter().any(|w| w.starts_with(
            "licence:my-stp: the pools and this plan use 100% of it (2000 of 2000 accelerators)"
        )),
        "{:?}",
        p.warnings
    );
    // Relaxing it by 10% (+200 accelerators) buys 50 more nodes.
    let r = c.relaxation.as_ref().unwrap();
    assert!(r.step.contains("+200 accelerators"), "{}", r.step);
    assert!(
        approx(r.objective_delta.unwrap(), 50.0 * 4.0 * 0.5),
        "{r:?}"
    );
    assert!(verify(&p, &s.scenario, &s.catalog).is_empty());

    // Without the licence's quantity the same plan takes everything on offer.
    let mut free = s.scenario.clone();
    free.licences[0].quantity = None;
    let p = solve(&free, &s.catalog);
    assert_eq!(nodes(&p, "fgn-buy"), 1250);
    assert!(p.constraints.iter().all(|c| !c.id.starts_with("licence:")));
}

#[test]
fn a_licence_over_drawn_by_the_pools_leaves_nothing_and_warns() {
    let mut s = load("licence.toml");
    s.scenario.licences[0].quantity = Some(400);
    let p = solve(&s.scenario, &s.catalog);
    assert_eq!(nodes(&p, "fgn-buy"), 0);
    assert_eq!(nodes(&p, "fgn-lease"), 10);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("licence my-stp") && w.contains("500 of its 400")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn a_licences_value_caps_the_plan_through_fx() {
    let mut s = load("licence.toml");
    let l = &mut s.scenario.licences[0];
    l.quantity = None;
    // 30M USD given in CNY at 0.125 USD a CNY: the pool's 10M USD leaves 20M USD, 1,000
    // accelerators at 20,000 USD, 250 nodes.
    l.value = Some(Money::new(240e6, "CNY"));
    s.scenario.fx.usd_per_unit.insert("CNY".into(), 0.125);
    let p = solve(&s.scenario, &s.catalog);
    assert_eq!(nodes(&p, "fgn-buy"), 250);
    let c = p
        .constraints
        .iter()
        .find(|c| c.id == "licence:my-stp")
        .unwrap();
    assert!(c.binding && c.unit == "CNY", "{c:?}");
    assert!(approx(c.value, 240e6) && approx(c.limit, 240e6), "{c:?}");
    // With a quantity too, the value is a second row.
    s.scenario.licences[0].quantity = Some(2000);
    let p = solve(&s.scenario, &s.catalog);
    assert_eq!(nodes(&p, "fgn-buy"), 250);
    assert!(p
        .constraints
        .iter()
        .any(|c| c.id == "licence:my-stp:value" && c.binding));
    assert!(p
        .constraints
        .iter()
        .any(|c| c.id == "licence:my-stp" && !c.binding));
}

#[test]
fn over_periods_a_licence_caps_what_all_periods_buy_under_it() {
    let mut s = load("licence.toml");
    let q = |id: &str, start: &str, end: &str| xpufleet_model::Period {
        id: id.into(),
        start: start.parse().unwrap(),
        end: end.parse().unwrap(),
        budgets: Default::default(),
        target_pflops: None,
        service_demand: Default::default(),
        services: Default::default(),
        service_growth: None,
    };
    s.scenario.periods = vec![
        q("2025Q2", "2025-04-01", "2025-06-30"),
        q("2025Q3", "2025-07-01", "2025-09-30"),
    ];
    let p = solve(&s.scenario, &s.catalog);
    // Up to 1,250 nodes could be ordered in each quarter; the licence's 1,500 accelerators
    // left cap both quarters' orders together.
    assert_eq!(nodes(&p, "fgn-buy"), 375, "{:#?}", p.lines);
    let rows: Vec<_> = p
        .constraints
        .iter()
        .filter(|c| c.id.starts_with("licence:"))
        .collect();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert!(
        rows[0].id == "licence:my-stp" && rows[0].binding,
        "{rows:#?}"
    );
}
