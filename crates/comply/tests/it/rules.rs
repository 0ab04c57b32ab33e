//! One test per shipped rule, each tied to its citation: the rule fires from its date and not
//! the day before, on the parts and places its text names, and not on the others.

use xpufleet_comply::{Eccn, Outcome, Status};
use xpufleet_io::rules::builtin_rule_set;
use xpufleet_io::scenario::load_scenario;

use crate::fixture::*;

/// Nvidia Form 8-K (2022-08-31): the is-informed letter of 2022-08-26 on A100/H100-class parts
/// to China incl. Hong Kong, and Russia.
#[test]
fn is_informed_2022_08_26_a100_class_to_china_and_russia() {
    let e = engine(
        &[
            pool("h100-cn", "h100-sxm", "site-cn", "us-co", "2022-08-26"),
            pool(
                "h100-cn-early",
                "h100-sxm",
                "site-cn",
                "us-co",
                "2022-08-25",
            ),
            pool("a100-hk", "a100-sxm-80gb", "site-hk", "us-co", "2022-09-01"),
            pool("a800-cn", "a800-sxm", "site-cn", "us-co", "2022-09-01"),
            pool("h100-ru", "h100-sxm", "site-ru", "us-co", "2022-09-01"),
        ]
        .concat(),
    );
    let date = "2022-09-01";
    assert_eq!(
        verdict(&ask(&e, "h100-cn", date)),
        (
            Outcome::LicenceRequired,
            vec!["us-is-informed-2022-08/a100-class-china"]
        )
    );
    // Exported the day before the letter: not caught.
    assert_eq!(
        ask(&e, "h100-cn-early", date).verdict.outcome,
        Outcome::Allowed
    );
    // The A100 itself sits exactly at the letter's thresholds.
    assert_eq!(
        ask(&e, "a100-hk", date).verdict.outcome,
        Outcome::LicenceRequired
    );
    // The A800's 400 GB/s link is below the A100's.
    assert_eq!(ask(&e, "a800-cn", date).verdict.outcome, Outcome::Allowed);
    assert_eq!(
        verdict(&ask(&e, "h100-ru", date)),
        (
            Outcome::LicenceRequired,
            vec!["us-is-informed-2022-08/a100-class-russia"]
        )
    );
}

/// 87 FR 62186 (2022-10-07): 3A090 (TPP >= 4800 and I/O >= 600 GB/s) to China incl. Hong Kong.
#[test]
fn ear_2022_10_07_3a090_to_china() {
    let e = engine(
        &[
            pool("h100-hk", "h100-sxm", "site-hk", "us-co", "2023-06-01"),
            pool("a800-cn", "a800-sxm", "site-cn", "us-co", "2023-06-01"),
            pool("h100-my", "h100-sxm", "site-my", "us-co", "2023-06-01"),
        ]
        .concat(),
    );
    let ev = ask(&e, "h100-hk", "2023-06-01");
    assert_eq!(ev.classification.as_ref().unwrap().eccn, Some(Eccn::A3090));
    assert_eq!(
        verdict(&ev),
        (Outcome::LicenceRequired, vec!["us-ear-2022-10/3a090-china"])
    );
    assert_eq!(
        ask(&e, "a800-cn", "2023-06-01").verdict.outcome,
        Outcome::Allowed
    );
    assert_eq!(
        ask(&e, "h100-my", "2023-06-01").verdict.outcome,
        Outcome::Allowed
    );
}

/// 88 FR 2821 (2023-01-17, published 2023-01-18): the 2022 controls extended to Macau.
#[test]
fn ear_2023_01_17_macau() {
    let e = engine(
        &[
            pool("mo-before", "h100-sxm", "site-mo", "us-co", "2023-01-16"),
            pool("mo-after", "h100-sxm", "site-mo", "us-co", "2023-01-17"),
        ]
        .concat(),
    );
    assert_eq!(
        ask(&e, "mo-before", "2023-01-16").verdict.outcome,
        Outcome::Allowed
    );
    assert_eq!(
        verdict(&ask(&e, "mo-after", "2023-01-17")),
        (Outcome::LicenceRequired, vec!["us-ear-2022-10/3a090-macau"])
    );
}

/// Nvidia Form 8-K (2023-10-24): the 88 FR 73458 licence requirements applied to the A100,
/// A800, H100, H800 and L40S from 2023-10-23, before the rule's 2023-11-17 effective date,
/// for D:1, D:4 and D:5 "but excluding Israel".
#[test]
fn ear_2023_10_23_named_parts_immediately() {
    let e = engine(
        &[
            pool("a800-cn", "a800-sxm", "site-cn", "us-co", "2023-10-23"),
            pool(
                "a800-cn-early",
                "a800-sxm",
                "site-cn",
                "us-co",
                "2023-10-22",
            ),
            pool("h800-sa", "h800-sxm", "site-sa", "us-co", "2023-10-30"),
            pool("h800-il", "h800-sxm", "site-il", "us-co", "2023-10-30"),
        ]
        .concat(),
    );
    // The A800 is not 3A090 under the 2022 rule, but was named.
    let ev = ask(&e, "a800-cn", "2023-10-23");
    assert_eq!(
        ev.classification.as_ref().unwrap().status,
        Status::NotControlled
    );
    assert_eq!(
        verdict(&ev),
        (
            Outcome::LicenceRequired,
            vec!["us-ear-2023-10/named-parts-2023-10-23"]
        )
    );
    assert_eq!(
        ask(&e, "a800-cn-early", "2023-10-23").verdict.outcome,
        Outcome::Allowed
    );
    assert_eq!(
        ask(&e, "h800-sa", "2023-11-01").verdict.outcome,
        Outcome::LicenceRequired
    );
    assert_eq!(
        ask(&e, "h800-il", "2023-11-01").verdict.outcome,
        Outcome::Allowed
    );
}

/// 88 FR 73458 (effective 2023-11-17): 3A090.a data-centre parts to D:5/Macau, presumption of
/// denial; the HQ rule follows a D:5-headquartered owner abroad.
#[test]
fn ear_2023_11_17_d5_site_and_hq() {
    let e = engine(
        &[
            pool("h100-cn", "h100-sxm", "site-cn", "us-co", "2023-11-17"),
            pool(
                "h100-my-cn-owned",
                "h100-sxm",
                "site-my",
                "cn-sub-sg",
                "2024-06-01",
            ),
            pool(
                "h100-my-day-before",
                "h100-sxm",
                "site-my",
                "cn-sub-sg",
                "2023-11-16",
            ),
        ]
        .concat(),
    );
    let ev = ask(&e, "h100-cn", "2023-11-17");
    assert_eq!(
        verdict(&ev),
        (Outcome::Prohibited, vec!["us-ear-2023-10/d5-site"])
    );
    assert!(ev
        .findings
        .iter()
        .any(|f| f.rule == "us-ear-2023-10/hq-d5" || f.rule == "us-ear-2023-10/d5-site"));
    let ev = ask(&e, "h100-my-cn-owned", "2024-06-01");
    assert_eq!(ev.verdict.outcome, Outcome::LicenceRequired);
    assert!(
        decided_by(&ev).contains(&"us-ear-2023-10/hq-d5"),
        "{:?}",
        ev.verdict
    );
    // Exported 2023-11-16: the 2022 rule did not catch Malaysia; the 2023 rule is not retroactive.
    assert_eq!(
        ask(&e, "h100-my-day-before", "2024-06-01").verdict.outcome,
        Outcome::Allowed
    );
}

/// 88 FR 73458 and 15 CFR 740.8 (corrected by 89 FR 23876, 2024-04-04): 3A090.b parts and
/// non-data-centre parts meeting 3A090.a go under licence exception NAC (prior notification) to
/// D:5/Macau and D:5-headquartered parties, and ACA to D:1/D:4: not prohibited.
#[test]
fn ear_2023_11_17_nac_and_aca_licence_exceptions() {
    let e = engine(
        &[
            pool("b-cn", "b-part", "site-cn", "us-co", "2024-01-10"),
            pool("b-vn", "b-part", "site-vn", "us-co", "2024-01-10"),
            pool("b-my-cn-owned", "b-part", "site-my", "cn-co", "2024-01-10"),
            pool("gaming-cn", "gaming", "site-cn", "us-co", "2024-01-10"),
            pool("gaming-vn", "gaming", "site-vn", "us-co", "2024-01-10"),
            pool(
                "gaming-my-cn-owned",
                "gaming",
                "site-my",
                "cn-co",
                "2024-01-10",
            ),
        ]
        .concat(),
    );
    let date = "2024-02-01";
    let ev = ask(&e, "b-cn", date);
    assert_eq!(ev.classification.as_ref().unwrap().eccn, Some(Eccn::A3090b));
    assert_eq!(
        verdict(&ev),
        (Outcome::LicenceException, vec!["us-ear-2023-10/nac-d5-b"])
    );
    let f = &ev.findings[0];
    assert_eq!(f.exception.as_deref(), Some("NAC"));
    assert!(f.duty.as_deref().unwrap().contains("25 days"), "{f:?}");
    assert!(ev.verdict.outcome.usable());
    assert_eq!(
        verdict(&ask(&e, "b-vn", date)),
        (
            Outcome::LicenceException,
            vec!["us-ear-2023-10/aca-d1-d4-b"]
        )
    );
    assert_eq!(
        verdict(&ask(&e, "b-my-cn-owned", date)),
        (Outcome::LicenceException, vec!["us-ear-2023-10/hq-d5-nac"])
    );
    let ev = ask(&e, "gaming-cn", date);
    assert!(ev.classification.as_ref().unwrap().nac_eligible);
    assert_eq!(
        verdict(&ev),
        (
            Outcome::LicenceException,
            vec!["us-ear-2023-10/nac-d5-non-dc"]
        )
    );
    assert_eq!(
        verdict(&ask(&e, "gaming-vn", date)),
        (
            Outcome::LicenceException,
            vec!["us-ear-2023-10/aca-d1-d4-non-dc"]
        )
    );
    assert_eq!(
        verdict(&ask(&e, "gaming-my-cn-owned", date)),
        (
            Outcome::LicenceException,
            vec!["us-ear-2023-10/hq-d5-nac-non-dc"]
        )
    );
}

/// 88 FR 73458: the D:1/D:4 licence requirements exclude destinations also in A:5 or A:6
/// (Nvidia's 8-K of 2023-10-17: "D1, D4, and D5 ... but excluding Israel").
#[test]
fn ear_2023_11_17_a5_a6_carve_out() {
    let e = engine(
        &[
            pool("h100-il", "h100-sxm", "site-il", "us-co", "2024-01-10"),
            pool("h100-sa", "h100-sxm", "site-sa", "us-co", "2024-01-10"),
        ]
        .concat(),
    );
    assert_eq!(
        ask(&e, "h100-il", "2024-02-01").verdict.outcome,
        Outcome::Allowed
    );
    assert_eq!(
        verdict(&ask(&e, "h100-sa", "2024-02-01")),
        (
            Outcome::LicenceRequired,
            vec!["us-ear-2023-10/d1-d4-site-a"]
        )
    );
}

/// 88 FR 73458 HQ rule applied to lessors: a lessor headquartered (or ultimately owned) in
/// D:5/Macau holding controlled chips with no licence on file is a red flag for the tenant.
#[test]
fn lessor_headquartered_in_d5_without_licence_is_a_red_flag() {
    let leased = |id: &str, lessor: &str, lic: &str| {
        format!(
            "\n[[pool]]\nid = \"{id}\"\nsite = \"site-my\"\naccelerator = \"h100-sxm\"\nnodes = 1\naccels_per_node = 8\nscaleup_domain = 8\n{lic}acquisition = {{ kind = \"leased\", rate = {{ amount = 2, currency = \"USD\" }}, from = \"{lessor}\" }}\n"
        )
    };
    let licence = "\n[[licence]]\nid = \"bis-1\"\nauthority = \"US-BIS\"\nholder = \"cn-sub-sg\"\naccelerators = [\"h100-sxm\"]\nvalid_from = 2024-01-01\nvalid_until = 2026-12-31\n";
    let e = engine(
        &[
            leased("from-cn-parented", "cn-sub-sg", ""),
            leased("from-sg", "sg-co", ""),
        ]
        .concat(),
    );
    let ev = ask(&e, "from-cn-parented", "2025-01-01");
    assert_eq!(
        verdict(&ev),
        (Outcome::RedFlag, vec!["us-ear-2023-10/lessor-hq-d5"])
    );
    assert!(
        ev.findings[0].reason.contains("cn-sub-sg"),
        "{:?}",
        ev.findings
    );
    assert_eq!(
        ask(&e, "from-sg", "2025-01-01").verdict.outcome,
        Outcome::Allowed
    );
    let e = engine(
        &[
            leased("from-cn-parented", "cn-sub-sg", ""),
            licence.to_string(),
        ]
        .concat(),
    );
    let ev = ask(&e, "from-cn-parented", "2025-01-01");
    assert_eq!(ev.verdict.outcome, Outcome::Allowed);
    assert_eq!(ev.findings[0].lifted_by.as_deref(), Some("bis-1"));
}

/// Nvidia Form 8-K (2025-04-15): the 2025-04-09 notice covers the H20 "and any other circuits
/// achieving the H20's memory bandwidth, interconnect bandwidth, or combination thereof", to
/// China (incl. HK, Macau) and D:5 "or to companies headquartered or with an ultimate parent
/// therein".
#[test]
fn h20_notice_2025_04_09_scope_and_headquarters_prong() {
    let e = engine(
        &[
            pool("h20-cn", "h20", "site-cn", "us-co", "2025-04-09"),
            pool("h20-cn-early", "h20", "site-cn", "us-co", "2025-04-08"),
            pool(
                "h20-my-cn-parent",
                "h20",
                "site-my",
                "cn-sub-sg",
                "2025-05-01",
            ),
            pool("h20-my-sg", "h20", "site-my", "sg-co", "2025-05-01"),
            pool("l20-cn", "l20", "site-cn", "us-co", "2025-05-01"),
        ]
        .concat(),
    );
    let date = "2025-06-01";
    assert_eq!(
        verdict(&ask(&e, "h20-cn", date)),
        (
            Outcome::LicenceRequired,
            vec!["us-ear-2025-04-h20/h20-china-d5"]
        )
    );
    assert_eq!(
        ask(&e, "h20-cn-early", date).verdict.outcome,
        Outcome::Allowed
    );
    assert_eq!(
        verdict(&ask(&e, "h20-my-cn-parent", date)),
        (Outcome::LicenceRequired, vec!["us-ear-2025-04-h20/h20-hq"])
    );
    assert_eq!(ask(&e, "h20-my-sg", date).verdict.outcome, Outcome::Allowed);
    // The L20 reaches neither 4.0 TB/s nor 900 GB/s.
    let ev = ask(&e, "l20-cn", date);
    assert!(
        !ev.findings
            .iter()
            .any(|f| f.rule.starts_with("us-ear-2025-04-h20")),
        "{:?}",
        ev.findings
    );
}

/// 91 FR 1684 (2026-01-15): exports from the US of parts below its TPP and DRAM-bandwidth
/// limits to China/Macau move to case-by-case review; re-exports keep the presumption of denial.
#[test]
fn ear_2026_01_15_case_by_case_for_exports_from_the_us() {
    let hist = |id: &str, accel: &str, from: &str| {
        format!(
            "{}[[pool.history]]\ndate = 2026-02-01\nkind = \"export\"\nfrom = \"{from}\"\nexporter = \"us-co\"\n",
            pool(id, accel, "site-cn", "us-co", "2026-02-01")
        )
    };
    let e = engine(
        &[
            hist("h200-from-us", "h200-sxm", "US"),
            hist("h200-from-sg", "h200-sxm", "SG"),
            hist("b200-from-us", "b200", "US"),
        ]
        .concat(),
    );
    let date = "2026-03-01";
    let ev = ask(&e, "h200-from-us", date);
    assert_eq!(
        ev.verdict.outcome,
        Outcome::LicenceRequired,
        "{:?}",
        ev.findings
    );
    assert!(decided_by(&ev).contains(&"us-ear-2026-01/case-by-case-china"));
    assert!(ev
        .notices
        .iter()
        .any(|n| n.rule == "us-ear-2023-10/d5-site" && n.reason.starts_with("superseded")));
    assert!(has_notice(&ev, "us-ear-2026-01/case-by-case-conditions"));
    // A re-export, and a part above the limits, stay under the presumption of denial.
    assert_eq!(
        ask(&e, "h200-from-sg", date).verdict.outcome,
        Outcome::Prohibited
    );
    assert_eq!(
        ask(&e, "b200-from-us", date).verdict.outcome,
        Outcome::Prohibited
    );
}

/// Malaysia, MITI statement of 2025-07-14 under the Strategic Trade Act 2010 s.12: a permit to
/// export, tranship or transit US-origin high-performance AI chips *out of* Malaysia; not for
/// deployment in Malaysia. A move between sites is recorded as history.
#[test]
fn malaysia_permit_2025_07_14_for_chips_leaving_malaysia() {
    let moved = |id: &str, date: &str, to_site: &str| {
        format!(
            "{}[[pool.history]]\ndate = 2025-01-10\nkind = \"export\"\nfrom = \"US\"\nto_site = \"site-my\"\n\n[[pool.history]]\ndate = {date}\nkind = \"move\"\nfrom_site = \"site-my\"\nto_site = \"{to_site}\"\nexporter = \"my-co\"\n",
            pool(id, "h100-sxm", to_site, "us-co", "2025-01-10")
        )
    };
    let permit = "\n[[licence]]\nid = \"stp-1\"\nauthority = \"MY-MITI\"\nholder = \"my-co\"\nvalid_from = 2025-07-14\nvalid_until = 2026-07-13\n";
    let e = engine(
        &[
            pool("stays", "h100-sxm", "site-my", "us-co", "2025-01-10"),
            moved("to-sg", "2025-08-01", "site-sg"),
            moved("to-sg-early", "2025-07-13", "site-sg"),
        ]
        .concat(),
    );
    let ev = ask(&e, "stays", "2025-08-01");
    assert_eq!(ev.verdict.outcome, Outcome::Allowed);
    assert!(has_notice(&ev, "my-stp-2025-07/us-ai-chips-notice"));
    let ev = ask(&e, "to-sg", "2025-08-01");
    assert_eq!(
        ev.verdict.outcome,
        Outcome::LicenceRequired,
        "{:?}",
        ev.findings
    );
    assert_eq!(decided_by(&ev), vec!["my-stp-2025-07/us-ai-chips"]);
    assert!(ev.findings[0].reason.contains("history[1]"));
    assert_eq!(
        ask(&e, "to-sg-early", "2025-08-01").verdict.outcome,
        Outcome::Allowed
    );
    let e = engine(&[moved("to-sg", "2025-08-01", "site-sg"), permit.to_string()].concat());
    let ev = ask(&e, "to-sg", "2025-08-01");
    assert_eq!(ev.verdict.outcome, Outcome::Allowed, "{:?}", ev.findings);
    assert!(ev
        .notices
        .iter()
        .any(|n| n.lifted_by.as_deref() == Some("stp-1")));
}

/// 15 CFR Part 740 Supplement No. 1 as amended: Nicaragua in D:1 and D:5 from 2024-03-15
/// (date as recorded in the team's reference digest; FR page not verified).
#[test]
fn country_groups_are_dated_nicaragua_2024_03_15() {
    let set = builtin_rule_set();
    assert!(!set.in_group_on("NI", "D:5", d("2024-03-14")));
    assert!(set.in_group_on("NI", "D:5", d("2024-03-15")));
    assert!(set.in_group_on("NI", "D:1", d("2024-03-15")));
    assert!(set.in_group_on("IL", "A:6", d("2024-03-15")));
    let e = engine(
        &[
            pool("ni-before", "h100-sxm", "site-ni", "us-co", "2024-03-14"),
            pool("ni-after", "h100-sxm", "site-ni", "us-co", "2024-03-15"),
        ]
        .concat(),
    );
    assert_eq!(
        ask(&e, "ni-before", "2024-03-14").verdict.outcome,
        Outcome::Allowed
    );
    assert_eq!(
        verdict(&ask(&e, "ni-after", "2024-03-15")),
        (Outcome::Prohibited, vec!["us-ear-2023-10/d5-site"])
    );
}

/// General Prohibition 10 (15 CFR 736.2(b)(10)): an unlicensed export that needed a licence
/// stays tainted after the rule that caught it is superseded (the 2022 rule ended 2023-11-16).
#[test]
fn history_taint_outlives_the_rule_that_caught_it() {
    let e = engine(&format!(
        "{}[[pool.history]]\ndate = 2023-03-01\nkind = \"export\"\nfrom = \"US\"\n",
        pool("h100-cn", "h100-sxm", "site-cn", "us-co", "2023-03-01")
    ));
    let ev = ask(&e, "h100-cn", "2023-06-01");
    assert_eq!(
        verdict(&ev),
        (Outcome::LicenceRequired, vec!["us-ear-2022-10/3a090-china"])
    );
    let ev = ask(&e, "h100-cn", "2025-06-01");
    assert_eq!(
        verdict(&ev),
        (Outcome::RedFlag, vec!["us-ear-2022-10/3a090-china"])
    );
    assert!(
        ev.findings[0].reason.contains("tainted"),
        "{:?}",
        ev.findings
    );
    // The same export under a licence that covered it is clean.
    let e = engine(&format!(
        "{}[[pool.history]]\ndate = 2023-03-01\nkind = \"export\"\nfrom = \"US\"\nlicence = \"bis-9\"\n\n[[licence]]\nid = \"bis-9\"\nauthority = \"US-BIS\"\nholder = \"us-co\"\nvalid_from = 2023-01-01\nvalid_until = 2023-12-31\n",
        pool("h100-cn", "h100-sxm", "site-cn", "us-co", "2023-03-01")
    ));
    assert_eq!(
        ask(&e, "h100-cn", "2025-06-01").verdict.outcome,
        Outcome::Allowed
    );
}

/// A lessor's own acquisition is judged from the history: the HQ rule (88 FR 73458) caught the
/// export to a PRC-parented lessor in Malaysia.
#[test]
fn history_judges_the_lessors_acquisition() {
    let e = engine(
        "\n[[pool]]\nid = \"leased\"\nsite = \"site-my\"\naccelerator = \"h100-sxm\"\nnodes = 1\naccels_per_node = 8\nscaleup_domain = 8\nacquisition = { kind = \"leased\", rate = { amount = 2, currency = \"USD\" }, from = \"cn-sub-sg\" }\n[[pool.history]]\ndate = 2024-02-01\nkind = \"export\"\nfrom = \"US\"\n",
    );
    let ev = ask(&e, "leased", "2025-01-01");
    assert_eq!(ev.verdict.outcome, Outcome::LicenceRequired);
    let rules = decided_by(&ev);
    assert!(rules.contains(&"us-ear-2023-10/hq-d5"), "{rules:?}");
}

/// Without a history a pool is judged as before, and the absence is stated.
#[test]
fn no_history_is_judged_as_before_and_said() {
    let e = engine(&pool(
        "h100-cn",
        "h100-sxm",
        "site-cn",
        "us-co",
        "2024-01-10",
    ));
    let ev = ask(&e, "h100-cn", "2024-06-01");
    assert_eq!(ev.verdict.outcome, Outcome::Prohibited);
    assert!(has_notice(&ev, "xpufleet/no-history"));
}

/// 87 FR 62186 created 3A090 on 2022-10-07: no ECCN before it. A part designed outside the US
/// meets the parameters but is not subject to the EAR by them (FDP rules not modelled).
#[test]
fn classification_dates_and_subject_to_the_ear() {
    let cat = catalog();
    let h100 = cat.get("h100-sxm").unwrap();
    assert_eq!(xpufleet_comply::classify(h100, d("2022-10-06")).eccn, None);
    assert_eq!(
        xpufleet_comply::classify(h100, d("2022-10-07")).eccn,
        Some(Eccn::A3090)
    );
    let ascend = cat.get("ascend-910b").unwrap();
    let c = xpufleet_comply::classify(ascend, d("2025-06-01"));
    assert_eq!(c.eccn, Some(Eccn::A3090a));
    assert!(!c.subject_to_ear);
    assert!(c.reason.contains("not subject to the EAR"), "{}", c.reason);
    assert!(xpufleet_comply::classify(h100, d("2025-06-01")).subject_to_ear);
}

// The example scenario: rules whose cases it already holds.

fn example() -> xpufleet_comply::RuleEngine {
    let s = load_scenario(None, None).unwrap();
    xpufleet_comply::RuleEngine::new(builtin_rule_set(), &s.scenario, &s.catalog)
}

/// 89 FR 96790 (2024-12-02): HBM; co-packaged HBM is not separately controlled (a notice).
#[test]
fn hbm_2024_12_02_notice() {
    let e = example();
    assert!(has_notice(
        &ask_as(&e, "acme-ai", "cn-h20-buy", "2024-12-02"),
        "us-ear-2024-12-hbm/hbm-copackaged-notice"
    ));
    assert!(!has_notice(
        &ask_as(&e, "acme-ai", "cn-h20-buy", "2024-12-01"),
        "us-ear-2024-12-hbm/hbm-copackaged-notice"
    ));
}

/// 90 FR 4544 (AI Diffusion, 2025-01-13; compliance 2025-05-15; rescinded 2025-05-13): notices
/// only, and none from the rescission.
#[test]
fn ai_diffusion_2025_01_notices_only_until_rescinded() {
    let e = example();
    let ev = ask_as(&e, "acme-ai", "my-h100-buy", "2025-03-01");
    assert!(has_notice(&ev, "us-ai-diffusion-2025-01/tier2-lpp"));
    assert!(has_notice(
        &ev,
        "us-ai-diffusion-2025-01/d5-hq-no-exception"
    ));
    let ev = ask_as(&e, "acme-ai", "my-h100-buy", "2025-05-13");
    assert!(!ev
        .notices
        .iter()
        .any(|n| n.rule.starts_with("us-ai-diffusion")));
}

/// BIS guidance of 2025-05-13: Ascend 910B/C/D and PRC parts meeting 3A090 (GP10), and IaaS
/// training for D:5-headquartered users, are red flags.
#[test]
fn guidance_2025_05_13_red_flags() {
    let e = example();
    assert_eq!(
        verdict(&ask_as(&e, "acme-ai", "cn-910b", "2025-05-13")),
        (
            Outcome::RedFlag,
            vec![
                "us-guidance-2025-05/ascend-gp10",
                "us-guidance-2025-05/prc-3a090-gp10"
            ]
        )
    );
    assert_eq!(
        ask_as(&e, "acme-ai", "cn-910b", "2025-05-12")
            .verdict
            .outcome,
        Outcome::Allowed
    );
    assert_eq!(
        verdict(&ask_as(&e, "acme-sg", "my-h100", "2025-06-01")),
        (
            Outcome::RedFlag,
            vec!["us-guidance-2025-05/iaas-training-d5-hq"]
        )
    );
    assert_eq!(
        ask_as(&e, "johor-dc", "my-h100", "2025-06-01")
            .verdict
            .outcome,
        Outcome::Allowed
    );
}

/// Press reports of PRC guidance (2024, 2025-11): notices only.
#[test]
fn cn_guidance_is_a_notice() {
    let e = example();
    let ev = ask_as(&e, "acme-ai", "cn-h20", "2025-11-02");
    assert_eq!(ev.verdict.outcome, Outcome::Allowed);
    assert!(has_notice(&ev, "cn-guidance-2025/domestic-share"));
    assert!(has_notice(&ev, "cn-guidance-2025/state-funded-dc"));
}
