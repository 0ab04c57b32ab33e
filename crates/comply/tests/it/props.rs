//! Property tests over random pools, histories and licences: a licence never makes a verdict
//! stricter; moving the as-of date past a rule's end never clears a taint; a verdict does not
//! depend on the order the rule packs are loaded in; verdict changes over a horizon agree with
//! the verdict on each listed date and the day before.

use proptest::prelude::*;
use xpufleet_comply::{Outcome, RuleEngine, RuleSet, UseKind, UseRequest};
use xpufleet_io::rules::{parse_rule_pack, BUILTIN_RULE_PACKS};

use crate::fixture::*;

const ACCELS: &[&str] = &[
    "h100-sxm",
    "a800-sxm",
    "h20",
    "h200-sxm",
    "b200",
    "l20",
    "b-part",
    "gaming",
    "ascend-910b",
];
const SITES: &[&str] = &[
    "site-us", "site-cn", "site-hk", "site-mo", "site-my", "site-sg", "site-il", "site-sa",
    "site-vn", "site-ni",
];
const OWNERS: &[&str] = &["us-co", "cn-co", "cn-sub-sg", "my-co", "sg-co"];
const FROM: &[&str] = &["US", "MY", "SG", "CN"];

#[derive(Debug, Clone)]
struct Case {
    accel: usize,
    site: usize,
    owner: usize,
    /// Days after 2022-06-01 of the export, and of the moves after it.
    events: Vec<(u32, usize, usize, bool)>,
    leased: bool,
    /// Days after the last event that the question is asked, and a later day.
    ask_after: u32,
    later: u32,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..ACCELS.len(),
        0..SITES.len(),
        0..OWNERS.len(),
        prop::collection::vec(
            (0u32..400, 0..FROM.len(), 0..SITES.len(), any::<bool>()),
            0..3,
        ),
        any::<bool>(),
        0u32..800,
        0u32..1500,
    )
        .prop_map(
            |(accel, site, owner, events, leased, ask_after, later)| Case {
                accel,
                site,
                owner,
                events,
                leased,
                ask_after,
                later,
            },
        )
}

fn day(n: u32) -> String {
    d("2022-06-01").plus_days(n as i64).to_string()
}

fn last_day(c: &Case) -> u32 {
    c.events.iter().map(|e| e.0).sum()
}

/// The pool "p" of the case, with its history, and (when `licence`) a US licence and an MY
/// permit held by its owner and its exporters that cover everything.
fn text(c: &Case, licence: bool) -> String {
    let owner = OWNERS[c.owner];
    let mut s = if c.leased {
        format!(
            "\n[[pool]]\nid = \"p\"\nsite = \"{}\"\naccelerator = \"{}\"\nnodes = 1\naccels_per_node = 8\nscaleup_domain = 8\nacquisition = {{ kind = \"leased\", rate = {{ amount = 2, currency = \"USD\" }}, from = \"{owner}\" }}\n",
            SITES[c.site], ACCELS[c.accel]
        )
    } else {
        pool(
            "p",
            ACCELS[c.accel],
            SITES[c.site],
            owner,
            &day(c.events.first().map_or(0, |e| e.0)),
        )
    };
    let mut at = 0;
    for (i, (gap, from, to, _)) in c.events.iter().enumerate() {
        at += gap;
        let to_site = if i + 1 == c.events.len() {
            SITES[c.site]
        } else {
            SITES[*to]
        };
        s.push_str(&format!(
            "[[pool.history]]\ndate = {}\nkind = \"export\"\nfrom = \"{}\"\nto_site = \"{to_site}\"\nexporter = \"{owner}\"\n",
            day(at),
            FROM[*from]
        ));
    }
    if licence {
        for (id, auth) in [("lic-us", "US-BIS"), ("lic-my", "MY-MITI")] {
            s.push_str(&format!(
                "\n[[licence]]\nid = \"{id}\"\nauthority = \"{auth}\"\nholder = \"{owner}\"\nvalid_from = 2020-01-01\nvalid_until = 2030-12-31\n"
            ));
        }
    }
    s
}

fn outcome(e: &RuleEngine, date: &str) -> xpufleet_comply::Evaluation {
    ask(e, "p", date)
}

fn tainted(ev: &xpufleet_comply::Evaluation) -> Vec<String> {
    ev.findings
        .iter()
        .filter(|f| f.reason.contains("stay tainted"))
        .map(|f| f.rule.clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_licence_never_makes_a_verdict_stricter(c in case()) {
        let date = day(last_day(&c) + c.ask_after);
        let without = outcome(&engine(&text(&c, false)), &date);
        let with = outcome(&engine(&text(&c, true)), &date);
        prop_assert!(with.verdict.outcome <= without.verdict.outcome,
            "with {:?} without {:?}", with.verdict, without.verdict);
    }

    /// Issue 24: a cleared review that names every rule that found anything leaves the
    /// outcome and findings alone, makes a red flag usable when verified, and never makes a
    /// licence requirement or a prohibition usable; a denial makes nothing usable.
    #[test]
    fn a_review_never_clears_a_licence_requirement_or_a_prohibition(
        c in case(),
        denied in any::<bool>(),
    ) {
        let date = day(last_day(&c) + c.ask_after);
        let base = text(&c, false);
        let without = outcome(&engine(&base), &date);
        let mut rules: Vec<String> = without
            .findings
            .iter()
            .map(|f| format!("\"{}\"", f.rule))
            .collect();
        rules.push("\"x/other\"".into());
        let with = format!(
            "{base}\n[[review]]\nid = \"r\"\ntarget = \"p\"\nrules = [{}]\ndecision = \"{}\"\nreviewer = \"o\"\ndate = 2022-01-01\nvalid_until = 2035-01-01\n",
            rules.join(", "),
            if denied { "denied" } else { "cleared" },
        );
        let with = outcome(&engine(&with), &date);
        prop_assert_eq!(with.verdict.outcome, without.verdict.outcome);
        prop_assert_eq!(&with.findings, &without.findings);
        prop_assert_eq!(with.verdict.usable, with.verdict.usable());
        let o = with.verdict.outcome;
        if denied || o >= Outcome::LicenceRequired {
            prop_assert!(!with.verdict.usable, "{:?}", with.verdict);
        } else {
            prop_assert_eq!(with.verdict.usable, without.verdict.verified, "{:?}", with.verdict);
        }
    }

    #[test]
    fn a_later_as_of_date_never_clears_a_taint(c in case()) {
        let e = engine(&text(&c, false));
        let first = day(last_day(&c) + c.ask_after);
        let then = day(last_day(&c) + c.ask_after + c.later);
        let t1 = tainted(&outcome(&e, &first));
        let ev2 = outcome(&e, &then);
        let t2 = tainted(&ev2);
        for r in &t1 {
            prop_assert!(t2.contains(r), "taint by {r} cleared on {then}: {:?}", ev2.findings);
        }
        if !t1.is_empty() {
            prop_assert!(ev2.verdict.outcome >= Outcome::RedFlag);
        }
    }

    #[test]
    fn a_verdict_does_not_depend_on_the_order_packs_are_loaded(
        c in case(),
        order in Just((0..BUILTIN_RULE_PACKS.len()).collect::<Vec<_>>()).prop_shuffle(),
    ) {
        let packs: Vec<_> = BUILTIN_RULE_PACKS
            .iter()
            .map(|(name, text)| parse_rule_pack(text, name).unwrap())
            .collect();
        let shuffled: Vec<_> = order.iter().map(|&i| packs[i].clone()).collect();
        let date = day(last_day(&c) + c.ask_after);
        let base = engine(&text(&c, false));
        let other = RuleEngine::new(RuleSet::new(shuffled).unwrap(), base.scenario(), &{
            let mut cat = catalog();
            assert!(cat.apply(&base.scenario().accelerators).is_empty());
            cat
        });
        let a = outcome(&base, &date);
        let b = outcome(&other, &date);
        prop_assert_eq!(&a.verdict, &b.verdict);
        prop_assert_eq!(&a.findings, &b.findings);
        prop_assert_eq!(&a.notices, &b.notices);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Issue 24: every change `verdict_changes` lists is what `check --as-of` (`evaluate`)
    /// gives on its date (`to`) and on the day before (`from`), and on days it does not list
    /// the verdict does not move, for generated pools, histories, users and reviews (which
    /// start and expire inside the horizon).
    #[test]
    fn verdict_changes_agree_with_check_as_of_on_each_listed_date(
        c in case(),
        user in 0..OWNERS.len(),
        review in prop::option::of((0u32..900, 1u32..400, any::<bool>())),
        probes in prop::collection::vec(0u32..730, 4),
    ) {
        let mut s = text(&c, false);
        if let Some((from, days, cleared)) = review {
            let rules: Vec<String> = RULE_IDS.iter().map(|r| format!("\"{r}\"")).collect();
            s.push_str(&format!(
                "\n[[review]]\nid = \"r\"\ntarget = \"p\"\nrules = [{}]\ndecision = \"{}\"\nreviewer = \"o\"\ndate = {}\nvalid_until = {}\n",
                rules.join(", "),
                if cleared { "cleared" } else { "denied" },
                day(from),
                day(from + days),
            ));
        }
        let e = engine(&s);
        let start = d(&day(last_day(&c) + c.ask_after / 4));
        let until = start.plus_days(730);
        let user = OWNERS[user];
        let req = |date| UseRequest {
            user: user.into(),
            target: "p".into(),
            kind: e.pool_mode("p").unwrap_or(UseKind::Own),
            workload_flops: None,
            date,
        };
        let at = |date| {
            let v = e.evaluate(&req(date)).verdict;
            (v.outcome, v.usable)
        };
        let changes = xpufleet_comply::verdict_changes(&e, &[req(start)], until);
        for ch in &changes {
            prop_assert!(ch.date > start && ch.date <= until, "{ch:?}");
            prop_assert_eq!(at(ch.date), (ch.to, ch.usable_to), "{:?}", ch);
            prop_assert_eq!(at(ch.date.plus_days(-1)), (ch.from, ch.usable_from), "{:?}", ch);
        }
        // On any other day the verdict is the one the last listed change (or the start) gave.
        for p in probes {
            let day = start.plus_days(p as i64);
            let expect = changes
                .iter()
                .rev()
                .find(|ch| ch.date <= day)
                .map_or(at(start), |ch| (ch.to, ch.usable_to));
            prop_assert_eq!(at(day), expect, "on {} with changes {:?}", day, changes);
        }
    }
}

/// Every rule id of the built-in packs, so a generated review can name the ones that decide.
static RULE_IDS: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    BUILTIN_RULE_PACKS
        .iter()
        .flat_map(|(name, text)| {
            let p = parse_rule_pack(text, name).unwrap();
            p.rules
                .iter()
                .map(|r| format!("{}/{}", p.pack.id, r.id))
                .collect::<Vec<_>>()
        })
        .collect()
});
