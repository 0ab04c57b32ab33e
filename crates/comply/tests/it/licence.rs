//! Property: holding a licence never makes a verdict stricter, for the shipped packs plus one
//! random rule, over random sites, owners, chips, modes, dates and licences (moved here from
//! `xpufleet-io`'s unit tests: comply's tests live in comply).

use proptest::prelude::*;
use xpufleet_comply::{Outcome, RuleEngine, UseKind, UseRequest};
use xpufleet_model::Date;

use xpufleet_io::rules::rule_set;
use xpufleet_io::scenario::{builtin_catalog, parse_scenario};

const COUNTRIES: [&str; 7] = ["CN", "MY", "US", "SG", "HK", "JP", "AE"];
const CHIPS: [&str; 7] = [
    "h100-sxm",
    "h20",
    "a800-sxm",
    "ascend-910b",
    "mlu590",
    "b200",
    "mlu370-x8",
];
// Restrictive outcomes twice, so that licences often have something to lift.
const OUTCOMES: [&str; 8] = [
    "notice",
    "allowed",
    "licence-exception",
    "red-flag",
    "licence-required",
    "prohibited",
    "licence-required",
    "prohibited",
];

#[derive(Debug, Clone)]
struct Case {
    site: usize,
    owner_hq: usize,
    parent_hq: usize,
    user_hq: usize,
    chip: usize,
    pool: bool,
    bought: bool,
    acquired_day: i64,
    day: i64,
    authority: usize,
    holder: usize,
    lic_chip: usize,
    lic_country: usize,
    lic_from: i64,
    lic_len: i64,
    lic_max: Option<u64>,
    listed: bool,
    rule_outcome: usize,
    /// 0, 1: no condition; 2: the case's own value; 3: another.
    rule_site: usize,
    rule_hq: usize,
    rule_licensable: Option<bool>,
    rule_limit: Option<f64>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (0..7usize, 0..7usize, 0..7usize, 0..7usize, 0..7usize),
        (any::<bool>(), any::<bool>(), 0..1600i64, 0..1600i64),
        (
            0..5usize,
            0..4usize,
            0..4usize,
            0..4usize,
            -300..30i64,
            200..1000i64,
        ),
        (proptest::option::of(1..5000u64), any::<bool>()),
        (
            0..8usize,
            0..4usize,
            0..4usize,
            proptest::option::of(any::<bool>()),
            proptest::option::of(1e6..1e9f64),
        ),
    )
        .prop_map(|(a, b, c, d, e)| Case {
            site: a.0,
            owner_hq: a.1,
            parent_hq: a.2,
            user_hq: a.3,
            chip: a.4,
            pool: b.0,
            bought: b.1,
            acquired_day: b.2,
            day: b.3,
            authority: c.0,
            holder: c.1,
            lic_chip: c.2,
            lic_country: c.3,
            lic_from: c.4,
            lic_len: c.5,
            lic_max: d.0,
            listed: d.1,
            rule_outcome: e.0,
            rule_site: e.1,
            rule_hq: e.2,
            rule_licensable: e.3,
            rule_limit: e.4,
        })
}

fn day(n: i64) -> Date {
    Date::from_ymd(2022, 1, 1).unwrap().plus_days(n)
}

fn scenario_text(c: &Case, with_licence: bool) -> String {
    let site = COUNTRIES[c.site];
    let chip = CHIPS[c.chip];
    let listed = if c.listed && with_licence {
        "licences = [\"lic\"]"
    } else {
        ""
    };
    let target = if c.pool {
        let acq = if c.bought {
            format!(
                    "acquisition = {{ kind = \"bought\", price = {{ amount = 1, currency = \"USD\" }}, date = {} }}",
                    day(c.acquired_day)
                )
        } else {
            "acquisition = { kind = \"leased\", rate = { amount = 1, currency = \"USD\" }, from = \"op\" }".to_string()
        };
        format!(
                "[[pool]]\nid = \"t\"\nsite = \"s\"\naccelerator = \"{chip}\"\nnodes = 100\naccels_per_node = 8\nscaleup_domain = 8\n{acq}\n{listed}\n"
            )
    } else {
        let mode = if c.bought {
            "mode = \"buy\""
        } else {
            "mode = \"lease\"\nlessor = \"op\""
        };
        format!(
                "[[candidate]]\nid = \"t\"\naccelerator = \"{chip}\"\nsite = \"s\"\n{mode}\nprice = {{ amount = 1, currency = \"USD\" }}\nenvelope = \"e\"\naccels_per_node = 8\nmax_nodes = 100\n{listed}\n"
            )
    };
    let licence = if with_licence {
        // Mostly US licences: most shipped rules are US rules.
        let authority = ["US-BIS", "US-BIS", "US-BIS", "MY-MITI", "CN-MOFCOM"][c.authority];
        let holder = ["co", "op", "user", "someone"][c.holder];
        let accels = [
            String::new(),
            format!("\"{chip}\""),
            format!("\"{chip}\""),
            "\"other\"".into(),
        ][c.lic_chip]
            .clone();
        let countries = ["", &format!("\"{site}\""), &format!("\"{site}\""), "\"ZZ\""]
            [c.lic_country]
            .to_string();
        let max = c
            .lic_max
            .map_or(String::new(), |m| format!("max_accels = {m}"));
        format!(
                "[[licence]]\nid = \"lic\"\nauthority = \"{authority}\"\nholder = \"{holder}\"\naccelerators = [{accels}]\ncountries = [{countries}]\nvalid_from = {}\nvalid_until = {}\n{max}\n",
                day(c.day + c.lic_from),
                day(c.day + c.lic_from + c.lic_len)
            )
    } else {
        String::new()
    };
    format!(
        r#"name = "prop"
date = 2025-01-01
company = "co"

[[entity]]
id = "top"
name = "top"
hq_country = "{parent}"

[[entity]]
id = "co"
name = "co"
hq_country = "{owner}"
parent = "top"

[[entity]]
id = "op"
name = "op"
hq_country = "{site}"

[[entity]]
id = "user"
name = "user"
hq_country = "{user}"

[[site]]
id = "s"
country = "{site}"
tenure = "owned"
owner = "op"
operator = "op"
power_mw = 10
pue = 1.2
electricity_per_kwh = {{ amount = 0.1, currency = "USD" }}

[[envelope]]
id = "e"
budget = {{ amount = 1e9, currency = "USD" }}

{target}
{licence}
"#,
        parent = COUNTRIES[c.parent_hq],
        owner = COUNTRIES[c.owner_hq],
        user = COUNTRIES[c.user_hq],
    )
}

fn extra_pack(c: &Case) -> String {
    let mut when = vec![];
    let pick = |sel: usize, own: usize| match sel {
        2 => Some(COUNTRIES[own]),
        3 => Some(COUNTRIES[(own + 1) % COUNTRIES.len()]),
        _ => None,
    };
    if let Some(s) = pick(c.rule_site, c.site) {
        when.push(format!("site_country = [\"{s}\"]"));
    }
    if let Some(h) = pick(c.rule_hq, c.owner_hq) {
        when.push(format!("hq_country = [\"{h}\"]"));
    }
    let outcome = OUTCOMES[c.rule_outcome];
    let mut extra = String::new();
    if let Some(l) = c.rule_licensable {
        extra.push_str(&format!("licensable = {l}\n"));
    }
    if let (Some(t), true) = (c.rule_limit, c.rule_outcome <= 3) {
        extra.push_str(&format!(
            "limit = {{ tpp = {t}, per = \"country\", otherwise = \"prohibited\" }}\n"
        ));
    }
    format!(
            "[pack]\nid = \"random\"\nversion = 1\njurisdiction = \"US\"\ncitation = {{ document = \"d\", date = 2022-01-01 }}\n\n[[rule]]\nid = \"r\"\nsummary = \"s\"\neffective_from = 2022-06-01\nwhen = {{ {} }}\noutcome = \"{outcome}\"\n{extra}",
            when.join(", ")
        )
}

fn evaluate(c: &Case, with: bool) -> xpufleet_comply::Evaluation {
    let rules = rule_set(&[("random.toml".into(), extra_pack(c))]).unwrap();
    let user = if c.user_hq == c.owner_hq {
        "co"
    } else {
        "user"
    };
    let kind = if c.bought {
        UseKind::Own
    } else {
        UseKind::Remote
    };
    let req = UseRequest {
        user: user.into(),
        target: "t".into(),
        kind,
        workload_flops: None,
        date: day(c.day),
    };
    let s = parse_scenario(&scenario_text(c, with), "prop.toml").unwrap();
    RuleEngine::new(rules, &s, &builtin_catalog()).evaluate(&req)
}

/// The property below is not vacuous: in a sample of the same cases, licences do lift.
#[test]
fn licences_do_lift_in_the_sample() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut lifted = 0;
    for _ in 0..128 {
        let c = case().new_tree(&mut runner).unwrap().current();
        if evaluate(&c, true)
            .findings
            .iter()
            .any(|f| f.lifted_by.is_some())
        {
            lifted += 1;
        }
    }
    assert!(
        lifted >= 5,
        "only {lifted} of 128 cases had a licence lift anything"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn holding_a_licence_never_makes_a_verdict_stricter(c in case()) {
        let without = evaluate(&c, false);
        let with = evaluate(&c, true);
        prop_assert!(
            with.verdict.outcome <= without.verdict.outcome,
            "with {:?} > without {:?}: {:#?}",
            with.verdict.outcome,
            without.verdict.outcome,
            with.findings
        );
        prop_assert_eq!(with.verdict.verified, without.verdict.verified);
        for f in &with.findings {
            if let Some(g) = without.findings.iter().find(|g| g.rule == f.rule) {
                prop_assert!(f.outcome <= g.outcome, "{} got stricter", f.rule);
            } else {
                prop_assert!(f.outcome == Outcome::Allowed, "{} appeared", f.rule);
            }
        }
    }
}
