//! Licence drawdown (issue 24 item 3): the pools under a licence draw down its `quantity` and
//! `value` in file order; a pool beyond what is left is not covered by it; `licence_use` says
//! what is used and left, never below zero, and alerts from 80% used.

use proptest::prelude::*;
use xpufleet_comply::{Outcome, RuleEngine};

use crate::fixture::*;

/// `nodes` x 8 H100s bought for a site in China on 2024-01-10 (the 2023 rule's presumption of
/// denial, licensable), owned by the US company, under licence `bis-q`; price 1 USD each.
fn pool_under(id: &str, nodes: u32) -> String {
    format!(
        "\n[[pool]]\nid = \"{id}\"\nsite = \"site-cn\"\naccelerator = \"h100-sxm\"\nnodes = {nodes}\naccels_per_node = 8\nscaleup_domain = 8\nowner = \"us-co\"\nlicences = [\"bis-q\"]\nacquisition = {{ kind = \"bought\", price = {{ amount = 1, currency = \"USD\" }}, date = 2024-01-10 }}\n"
    )
}

fn licence(limits: &str) -> String {
    format!(
        "\n[[licence]]\nid = \"bis-q\"\nauthority = \"US-BIS\"\nholder = \"us-co\"\nvalid_from = 2024-01-01\nvalid_until = 2026-12-31\n{limits}"
    )
}

fn lifted(e: &RuleEngine, pool: &str) -> bool {
    let ev = ask(e, pool, "2024-06-01");
    ev.verdict.outcome == Outcome::Allowed
        && ev
            .findings
            .iter()
            .any(|f| f.lifted_by.as_deref() == Some("bis-q"))
}

#[test]
fn a_licences_quantity_caps_the_pools_it_covers() {
    let e = engine(
        &[
            pool_under("p1", 10),
            pool_under("p2", 2),
            pool_under("p3", 1),
            licence("quantity = 100\n"),
        ]
        .concat(),
    );
    assert!(lifted(&e, "p1"));
    assert!(lifted(&e, "p2"));
    // 80 + 16 drawn before it, 8 more here: beyond 100.
    let ev = ask(&e, "p3", "2024-06-01");
    assert_eq!(ev.verdict.outcome, Outcome::Prohibited);
    assert!(
        ev.verdict.reasons.iter().any(|r| r.contains(
            "licence bis-q does not cover it: it allows 100 accelerators and 96 are drawn before this (8 more here)"
        )),
        "{:?}",
        ev.verdict.reasons
    );
    let u = &e.licence_use()[0];
    assert_eq!((u.quantity, u.used, u.remaining), (Some(100), 104, Some(0)));
    assert_eq!(u.pools, vec!["p1", "p2", "p3"]);
    assert!(u.alert.as_deref().unwrap().contains("over-drawn"), "{u:?}");
}

#[test]
fn a_licences_value_caps_the_pools_it_covers_and_alerts_at_80_percent() {
    let e = engine(
        &[
            pool_under("p1", 10),
            pool_under("p2", 2),
            licence("value = { amount = 90, currency = \"USD\" }\n"),
        ]
        .concat(),
    );
    assert!(lifted(&e, "p1"));
    assert!(!lifted(&e, "p2"));
    let e = engine(&[pool_under("p1", 10), licence("quantity = 96\n")].concat());
    let u = &e.licence_use()[0];
    assert_eq!((u.used, u.remaining), (80, Some(16)));
    assert!(u.alert.as_deref().unwrap().contains("83% used"), "{u:?}");
    let e = engine(&[pool_under("p1", 10), licence("quantity = 101\n")].concat());
    assert!(e.licence_use()[0].alert.is_none());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Never negative, never beyond: what is left is the quantity less what is used, floored at
    /// zero, and the pools the licence covers never hold more than its quantity.
    #[test]
    fn drawdown_is_never_negative_and_never_exceeded(
        nodes in prop::collection::vec(1u32..20, 1..6),
        quantity in 1u64..400,
    ) {
        let mut text: String = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| pool_under(&format!("p{i}"), *n))
            .collect();
        text.push_str(&licence(&format!("quantity = {quantity}\n")));
        let e = engine(&text);
        let u = &e.licence_use()[0];
        let total: u64 = nodes.iter().map(|n| *n as u64 * 8).sum();
        prop_assert_eq!(u.used, total);
        prop_assert_eq!(u.remaining, Some(quantity.saturating_sub(total)));
        let covered: u64 = nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| lifted(&e, &format!("p{i}")))
            .map(|(_, n)| *n as u64 * 8)
            .sum();
        prop_assert!(covered <= quantity, "{covered} covered of {quantity}");
    }
}
