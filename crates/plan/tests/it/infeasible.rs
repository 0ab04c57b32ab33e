//! Scenarios with no plan name the constraints in conflict.

use xpufleet_plan::{plan, FixedMfu, Objective, PlanError, PlanOptions};

use crate::support::*;

fn min_cost(target: f64) -> PlanOptions {
    PlanOptions {
        objective: Some(Objective::MinCost),
        target_pflops: Some(target),
        ..PlanOptions::default()
    }
}

#[test]
fn an_unreachable_target_names_the_limits_in_its_way() {
    let s = load("hand.toml");
    let gate = TableGate::deny(&["fgn-grey"]);
    let e = plan(
        &s.scenario,
        &s.catalog,
        &gate,
        &FixedMfu(0.5),
        &min_cost(100.0),
    )
    .unwrap_err();
    let PlanError::Infeasible {
        conflict,
        max_pflops,
        ..
    } = &e
    else {
        panic!("{e}")
    };
    // 29.6 PFLOPS is the max-compute answer (hand.rs).
    assert!(approx(max_pflops.unwrap(), 29.6), "{max_pflops:?}");
    assert!(conflict.contains(&"target".to_string()), "{conflict:?}");
    // The lease is capped by the abroad budget (and the fgn cap), home by power, budget or mix:
    // some limit of each envelope must be named.
    assert!(conflict.len() >= 3, "{conflict:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("in conflict: ") && msg.contains("at most 29.6"),
        "{msg}"
    );
}

#[test]
fn a_supplier_mix_no_domestic_candidate_can_meet() {
    // With the only domestic candidate forbidden, the 50% mix keeps home spend at zero; the
    // lease alone reaches 8 PFLOPS, so 20 PFLOPS cannot be had: the mix is in the conflict.
    let s = load("hand.toml");
    let gate = TableGate::deny(&["fgn-grey", "dom-buy"]);
    let e = plan(
        &s.scenario,
        &s.catalog,
        &gate,
        &FixedMfu(0.5),
        &min_cost(20.0),
    )
    .unwrap_err();
    let PlanError::Infeasible {
        conflict,
        max_pflops,
        excluded,
        ..
    } = &e
    else {
        panic!("{e}")
    };
    assert!(
        conflict.contains(&"mix:home-50".to_string()),
        "{conflict:?}"
    );
    assert!(conflict.contains(&"target".to_string()), "{conflict:?}");
    assert!(approx(max_pflops.unwrap(), 8.0));
    assert!(excluded.iter().any(|x| x.candidate == "dom-buy"));

    // The same scenario under max-compute is feasible (spend nothing at home) and warns.
    let p = plan(
        &s.scenario,
        &s.catalog,
        &gate,
        &FixedMfu(0.5),
        &PlanOptions::default(),
    )
    .unwrap();
    assert!(p.lines.iter().all(|l| l.envelope != "home"));
    assert!(
        p.warnings.iter().any(|w| w.contains("home-50")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn min_cost_without_a_target_is_an_error_not_a_guess() {
    let s = load("hand.toml");
    let opts = PlanOptions {
        objective: Some(Objective::MinCost),
        ..PlanOptions::default()
    };
    let e = plan(
        &s.scenario,
        &s.catalog,
        &xpufleet_comply::AllowAll,
        &FixedMfu(0.5),
        &opts,
    )
    .unwrap_err();
    assert!(e.to_string().contains("target_pflops"), "{e}");
}
