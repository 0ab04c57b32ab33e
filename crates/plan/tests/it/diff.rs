//! `diff(&base, &alt)`: what is bought instead, compute lost, money moved.

use xpufleet_plan::{diff, plan, FixedMfu, PlanOptions};

use crate::support::*;

#[test]
fn forbidding_a_part_shows_what_replaces_it() {
    let s = load("hand.toml");
    let base = plan(
        &s.scenario,
        &s.catalog,
        &TableGate::deny(&["fgn-grey"]),
        &FixedMfu(0.5),
        &PlanOptions::default(),
    )
    .unwrap();
    // The lease is forbidden in the alternative: the fgn cap it held goes to fgn-buy... which the
    // mix and budget do not allow beyond 3, so the compute is lost.
    let alt = plan(
        &s.scenario,
        &s.catalog,
        &TableGate::deny(&["fgn-grey", "fgn-lease"]),
        &FixedMfu(0.5),
        &PlanOptions::default(),
    )
    .unwrap();
    let d = diff(&base, &alt);
    assert!(approx(d.pflops_delta, -8.0), "{d:#?}");
    assert_eq!(d.newly_excluded.len(), 1);
    assert_eq!(d.newly_excluded[0].candidate, "fgn-lease");
    let lease = d.lines.iter().find(|l| l.candidate == "fgn-lease").unwrap();
    assert_eq!(
        (lease.change.as_str(), lease.units_base, lease.units_alt),
        ("dropped", 16, 0)
    );
    let abroad = d.envelopes.iter().find(|e| e.id == "abroad").unwrap();
    assert!(approx(abroad.delta, -76_800.0));
    assert!(diff(&base, &base).is_empty());
}
