//! Compliance reviews (`[[review]]`, issue 24): a cleared review makes the red flags it covers
//! usable while it is valid, and nothing else; a denial stops a use whatever the rules say.

use xpufleet_comply::{Outcome, RuleEngine};
use xpufleet_io::rules::builtin_rule_set;
use xpufleet_io::scenario::load_scenario;
use xpufleet_model::{Review, ReviewDecision};

use crate::fixture::*;

const GP10: [&str; 2] = [
    "us-guidance-2025-05/ascend-gp10",
    "us-guidance-2025-05/prc-3a090-gp10",
];

fn review(target: &str, user: Option<&str>, rules: &[&str], decision: ReviewDecision) -> Review {
    Review {
        id: format!("rev-{target}"),
        target: target.into(),
        user: user.map(String::from),
        rules: rules.iter().map(|r| r.to_string()).collect(),
        decision,
        reviewer: "compliance officer".into(),
        date: d("2025-05-20"),
        evidence: "memo 2025-17".into(),
        valid_until: d("2025-11-20"),
    }
}

/// The example scenario with `reviews` added.
fn example_with(reviews: Vec<Review>) -> RuleEngine {
    let mut s = load_scenario(None, None).unwrap();
    s.scenario.reviews = reviews;
    RuleEngine::new(builtin_rule_set(), &s.scenario, &s.catalog)
}

/// The example's Ascend 910B pool is red-flagged by the 2025-05-13 guidance (GP10): without a
/// review no engine may use it; a cleared review of both GP10 rules makes it usable from the
/// review's date to its expiry, for the user it names, and the outcome still says red flag.
#[test]
fn a_cleared_review_makes_the_covered_red_flags_usable_while_valid() {
    let plain = example_with(vec![]);
    let ev = ask_as(&plain, "acme-ai", "cn-910b", "2025-06-01");
    assert_eq!(verdict(&ev), (Outcome::RedFlag, GP10.to_vec()));
    assert!(ev.verdict.verified, "{:?}", ev.verification);
    assert!(!ev.verdict.usable && !ev.verdict.usable());
    assert!(ev.verdict.review.is_none());

    let e = example_with(vec![review(
        "cn-910b",
        Some("acme-ai"),
        &GP10,
        ReviewDecision::Cleared,
    )]);
    let ev = ask_as(&e, "acme-ai", "cn-910b", "2025-06-01");
    assert_eq!(verdict(&ev), (Outcome::RedFlag, GP10.to_vec()));
    assert!(ev.verdict.usable && ev.verdict.usable());
    assert_eq!(
        ev.verdict.review.as_ref().map(|r| r.id.as_str()),
        Some("rev-cn-910b")
    );
    assert!(ev
        .verdict
        .summary()
        .contains("cleared by review rev-cn-910b"));

    // Before the review's date, after its expiry, and for another user: not applied.
    for (user, date) in [
        ("acme-ai", "2025-05-19"),
        ("acme-ai", "2025-11-21"),
        ("acme-sg", "2025-06-01"),
    ] {
        let ev = ask_as(&e, user, "cn-910b", date);
        assert!(ev.verdict.review.is_none(), "{user} {date}");
        assert!(!ev.verdict.usable, "{user} {date}: {:?}", ev.verdict);
    }
}

/// A review that misses one of the deciding rules leaves the red flag standing and says which
/// rule it misses.
#[test]
fn a_review_that_misses_a_deciding_rule_clears_nothing() {
    let e = example_with(vec![review(
        "cn-910b",
        None,
        &GP10[..1],
        ReviewDecision::Cleared,
    )]);
    let ev = ask_as(&e, "acme-ai", "cn-910b", "2025-06-01");
    assert!(!ev.verdict.usable);
    assert!(ev.verdict.review.is_none());
    assert!(
        ev.verdict
            .reasons
            .iter()
            .any(|r| r.contains("but not us-guidance-2025-05/prc-3a090-gp10")),
        "{:?}",
        ev.verdict.reasons
    );
}

/// A denial stops even an allowed use while it is valid; an escalation leaves a red flag
/// unusable but is shown.
#[test]
fn a_denial_stops_an_allowed_use_and_an_escalation_waits() {
    let e = example_with(vec![
        review("cn-910b", None, &GP10, ReviewDecision::Escalated),
        review("my-h100", None, &["x/y"], ReviewDecision::Denied),
    ]);
    let ev = ask_as(&e, "johor-dc", "my-h100", "2025-06-01");
    assert_eq!(ev.verdict.outcome, Outcome::Allowed);
    assert!(!ev.verdict.usable);
    assert!(ev
        .verdict
        .summary()
        .contains("denied by review rev-my-h100"));
    let ev = ask_as(&e, "acme-ai", "cn-910b", "2025-06-01");
    assert!(!ev.verdict.usable);
    assert_eq!(
        ev.verdict.review.as_ref().map(|r| r.decision),
        Some(ReviewDecision::Escalated)
    );
}

/// The 2023-10 rule's presumption of denial for 3A090.a chips to a D:5 site (88 FR 73458) is
/// no red flag: a cleared review naming the deciding rule changes nothing (the property test
/// in `props` checks this over random scenarios).
#[test]
fn a_cleared_review_never_lifts_a_prohibition() {
    let extra = pool("p", "h100-sxm", "site-cn", "cn-co", "2024-01-01");
    let ev = ask(&engine(&extra), "p", "2024-06-01");
    assert_eq!(ev.verdict.outcome, Outcome::Prohibited, "{:?}", ev.verdict);
    let rules: Vec<String> = ev
        .verdict
        .rules
        .iter()
        .map(|r| format!("\"{r}\""))
        .collect();
    let with = format!(
        "{extra}\n[[review]]\nid = \"r\"\ntarget = \"p\"\nrules = [{}]\ndecision = \"cleared\"\nreviewer = \"o\"\ndate = 2024-01-01\nvalid_until = 2030-01-01\n",
        rules.join(", ")
    );
    let ev2 = ask(&engine(&with), "p", "2024-06-01");
    assert_eq!(ev2.verdict.outcome, Outcome::Prohibited);
    assert!(!ev2.verdict.usable);
    assert!(ev2.verdict.review.is_none());
}

/// Issue 24: every verdict change listed over the example's horizon agrees with `check` on
/// the listed date (the new verdict) and on the day before (the old one), for pools and
/// candidates, and no use changes on a day that is not listed.
#[test]
fn verdict_changes_agree_with_check_on_each_listed_date() {
    let e = example_with(vec![review(
        "cn-910b",
        Some("acme-ai"),
        &GP10,
        ReviewDecision::Cleared,
    )]);
    let start = d("2025-03-01");
    let until = d("2026-03-01");
    let mut uses: Vec<_> = e.intended_uses(start).into_iter().map(|(r, _)| r).collect();
    for c in &e.scenario().candidates {
        uses.push(xpufleet_comply::UseRequest {
            user: e.scenario().company.clone(),
            target: c.id.clone(),
            kind: e.candidate_mode(&c.id).unwrap(),
            workload_flops: None,
            date: start,
        });
    }
    let changes = xpufleet_comply::verdict_changes(&e, &uses, until);
    assert!(changes
        .iter()
        .any(|c| c.target == "cn-910b" && c.date == d("2025-05-13") && !c.usable_to));
    // The review starts on 2025-05-20 and makes the red flag usable again.
    assert!(changes.iter().any(|c| c.target == "cn-910b"
        && c.user == "acme-ai"
        && c.date == d("2025-05-20")
        && c.usable_to
        && c.rules == ["review/rev-cn-910b"]));
    let find = |r: &xpufleet_comply::CheckReport, c: &xpufleet_comply::VerdictChange| {
        r.uses
            .iter()
            .chain(&r.candidates)
            .find(|u| u.eval.target == c.target && u.eval.user == c.user)
            .map(|u| (u.eval.verdict.outcome, u.eval.verdict.usable))
    };
    for c in &changes {
        let then = e.check(c.date);
        let before = e.check(c.date.plus_days(-1));
        assert_eq!(find(&then, c), Some((c.to, c.usable_to)), "{c:?}");
        assert_eq!(find(&before, c), Some((c.from, c.usable_from)), "{c:?}");
    }
    // Between listed dates nothing moves: spot-check the first day of each month.
    let mut day = start;
    while day < until {
        let next = day.plus_days(30);
        let listed = changes.iter().any(|c| c.date > day && c.date <= next);
        if !listed {
            let (a, b) = (e.check(day), e.check(next));
            let key = |r: &xpufleet_comply::CheckReport| -> Vec<_> {
                r.uses
                    .iter()
                    .chain(&r.candidates)
                    .map(|u| {
                        (
                            u.eval.target.clone(),
                            u.eval.user.clone(),
                            u.eval.verdict.outcome,
                            u.eval.verdict.usable,
                        )
                    })
                    .collect()
            };
            assert_eq!(key(&a), key(&b), "{day} .. {next}");
        }
        day = next;
    }
}
