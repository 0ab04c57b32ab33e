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

/// Over periods lines are compared by (candidate, period): a rule from Q2 on drops the Q2 order
/// only, and the Q2 spend falls by its price.
#[test]
fn period_plans_compare_orders_by_period() {
    use xpufleet_comply::{Gate, UseRequest, Verdict};
    struct FromQ2;
    impl Gate for FromQ2 {
        fn verdict(&self, req: &UseRequest) -> Verdict {
            if req.target == "buy-fast" && req.date >= "2025-04-01".parse().unwrap() {
                Verdict::prohibited("test/q2", "prohibited from Q2")
            } else {
                Verdict::allowed()
            }
        }
    }
    let s = load("periods.toml");
    let opts = PlanOptions {
        sensitivity: false,
        ..PlanOptions::default()
    };
    let base = plan(
        &s.scenario,
        &s.catalog,
        &TableGate::default(),
        &FixedMfu(0.5),
        &opts,
    )
    .unwrap();
    let alt = plan(&s.scenario, &s.catalog, &FromQ2, &FixedMfu(0.5), &opts).unwrap();
    let d = diff(&base, &alt);
    assert_eq!(d.lines.len(), 1, "{:#?}", d.lines);
    let l = &d.lines[0];
    assert_eq!(
        (l.candidate.as_str(), l.period.as_deref(), l.change.as_str()),
        ("buy-fast", Some("2025Q2"), "dropped")
    );
    assert!(d.moves.is_empty(), "{:#?}", d.moves);
    let ids: Vec<&str> = d.periods.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["2025Q1", "2025Q2"]);
    assert!(approx(d.periods[0].delta_usd, 0.0));
    assert!(
        approx(d.periods[1].delta_usd, -160_000.0),
        "{:#?}",
        d.periods
    );
    assert!(approx(d.periods[1].pflops_base, 16.0) && approx(d.periods[1].pflops_alt, 12.0));
    // The exclusion is new in its periods: buy-fast was not excluded in the base.
    assert_eq!(d.newly_excluded.len(), 1);
    assert!(d.newly_excluded[0].reason.starts_with("2025Q2: "));
    // Nothing moved: the JSON leaves `moves` out and keeps the periods.
    let json = serde_json::to_value(diff(&base, &base)).unwrap();
    assert!(json.get("moves").is_none() && json["periods"].is_array());
}

/// Orders that move to another period are moves, earlier or later, nearest period first; what
/// is left over is added or dropped.
#[test]
fn orders_moved_between_periods_are_listed_as_moves() {
    let s = load("periods.toml");
    let opts = PlanOptions {
        sensitivity: false,
        ..PlanOptions::default()
    };
    let base = plan(
        &s.scenario,
        &s.catalog,
        &TableGate::default(),
        &FixedMfu(0.5),
        &opts,
    )
    .unwrap();
    // The alternative orders the Q2 fast node in Q1 and one slow node fewer in Q1: edited by
    // hand, since `diff` compares whatever two plans it is given.
    let mut alt = base.clone();
    let fast = alt
        .lines
        .iter()
        .position(|l| l.candidate == "buy-fast")
        .unwrap();
    alt.lines[fast].period = Some("2025Q1".into());
    let slow = alt
        .lines
        .iter()
        .position(|l| l.candidate == "buy-slow")
        .unwrap();
    alt.lines[slow].nodes -= 1;
    alt.lines[slow].units -= 8;
    let d = diff(&base, &alt);
    assert_eq!(d.moves.len(), 1, "{:#?}", d.moves);
    let m = &d.moves[0];
    assert_eq!(
        (
            m.candidate.as_str(),
            m.units,
            m.from_period.as_str(),
            m.to_period.as_str(),
            m.direction.as_str()
        ),
        ("buy-fast", 8, "2025Q2", "2025Q1", "earlier")
    );
    let changes: Vec<(&str, Option<&str>, &str)> = d
        .lines
        .iter()
        .map(|l| (l.candidate.as_str(), l.period.as_deref(), l.change.as_str()))
        .collect();
    assert!(
        changes.contains(&("buy-fast", Some("2025Q1"), "added")),
        "{changes:?}"
    );
    assert!(
        changes.contains(&("buy-fast", Some("2025Q2"), "dropped")),
        "{changes:?}"
    );
    assert!(
        changes.contains(&("buy-slow", Some("2025Q1"), "fewer")),
        "{changes:?}"
    );
    // Back again is the same move, later.
    let back = diff(&alt, &base);
    assert_eq!(back.moves.len(), 1);
    assert_eq!(back.moves[0].direction, "later");
}
