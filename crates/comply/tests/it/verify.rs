//! Owner and operator verification where a rule asks for it (issue 24 item 6): the shipped
//! `us-kyc-verification` pack (15 CFR Part 732 Supp. 3; 87 FR 62186; 88 FR 73458) asks for
//! records for controlled chips abroad and for parties headquartered in D:1/D:4/D:5/Macau; a US
//! company's own US pool needs none; `verification = "strict"` asks everywhere.

use xpufleet_comply::RuleEngine;
use xpufleet_io::rules::builtin_rule_set;
use xpufleet_io::scenario::parse_scenario;

use crate::fixture::*;

fn pools() -> String {
    [
        pool("us-home", "h100-sxm", "site-us", "us-co", "2024-01-10"),
        pool("sg-abroad", "h100-sxm", "site-sg", "us-co", "2024-01-10"),
        pool("us-h20", "h20", "site-us", "us-co", "2024-01-10"),
    ]
    .concat()
}

#[test]
fn a_us_companys_own_us_pool_needs_no_verification_records() {
    let e = engine(&pools());
    let ev = ask(&e, "us-home", "2025-06-01");
    assert!(!ev.verification.required, "{:?}", ev.verification);
    assert!(ev.verification.verified && ev.verdict.verified);
    assert!(ev.verdict.usable, "{:?}", ev.verdict);
    // Used by a PRC-headquartered tenant, the records are needed.
    let ev = ask_as(&e, "cn-co", "us-home", "2025-06-01");
    assert_eq!(
        ev.verification.rules,
        vec!["us-kyc-verification/party-of-concern"]
    );
    assert!(!ev.verification.verified);
    assert!(!ev.verdict.usable);
    // Abroad, they are needed whoever uses the chips.
    let ev = ask(&e, "sg-abroad", "2025-06-01");
    assert_eq!(
        ev.verification.rules,
        vec!["us-kyc-verification/chips-abroad"]
    );
    assert!(!ev.verdict.verified);
    // A chip that is not controlled needs none, as before.
    assert!(!ask(&e, "us-h20", "2025-06-01").verification.required);
}

#[test]
fn the_strict_policy_asks_for_records_for_every_controlled_chip() {
    let text = scenario_text(&pools()).replacen(
        "company = \"us-co\"\n",
        "company = \"us-co\"\nverification = \"strict\"\n",
        1,
    );
    let s = parse_scenario(&text, "fixture.toml").unwrap_or_else(|e| panic!("{e}"));
    let e = RuleEngine::new(builtin_rule_set(), &s, &catalog());
    let ev = ask(&e, "us-home", "2025-06-01");
    assert_eq!(ev.verification.rules, vec!["xpufleet/strict-verification"]);
    assert!(!ev.verdict.verified);
    assert!(!ask(&e, "us-h20", "2025-06-01").verification.required);
}
