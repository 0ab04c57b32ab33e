//! Party screening against a list in the Consolidated Screening List layout: hits on a party or
//! its parent are red-flag findings naming the list and entry; near misses below the threshold
//! and entries not listed on the date are not hits.

use xpufleet_comply::{Outcome, RuleEngine};
use xpufleet_io::rules::builtin_rule_set;
use xpufleet_io::scenario::load_scenario;
use xpufleet_io::screening::parse_screening;

use crate::fixture::*;

const LIST: &str = "_id,source,name,alt_names,start_date,end_date\n\
    X1,Entity List (EL) - Bureau of Industry and Security,PRC COMPANY CO. LTD.,,2024-01-01,\n\
    X2,Specially Designated Nationals (SDN) - Treasury,Singapore Company Pte Ltd,,2020-01-01,2023-12-31\n\
    X3,Unverified List (UVL) - Bureau of Industry and Security,Malaysian Operater Sdn Bhd,,2020-01-01,\n\
    X4,Entity List (EL) - Bureau of Industry and Security,Malaysian Cooperative Society,,2020-01-01,\n";

fn screened(extra: &str, threshold: f64) -> RuleEngine {
    let list = parse_screening(LIST, "list.csv").unwrap();
    engine(extra).with_screening(&list, threshold)
}

#[test]
fn a_parent_on_the_entity_list_flags_the_use_with_list_and_entry() {
    // cn-sub-sg is the Singapore subsidiary of cn-co ("PRC company").
    let e = screened(
        &pool("p", "l20", "site-sg", "cn-sub-sg", "2024-06-01"),
        0.88,
    );
    let ev = ask(&e, "p", "2024-06-01");
    assert_eq!(ev.verdict.outcome, Outcome::RedFlag);
    let f = ev
        .findings
        .iter()
        .find(|f| f.rule == "screening/X1")
        .expect("a hit");
    assert!(f.reason.contains("parent of cn-sub-sg"), "{}", f.reason);
    assert!(
        f.citation.document.contains("Entity List"),
        "{:?}",
        f.citation
    );
    assert!(
        f.citation.document.contains("list.csv:2"),
        "{:?}",
        f.citation
    );
    // Before the entry's start date it is not a hit.
    let ev = ask(&e, "p", "2023-06-01");
    assert!(!ev.findings.iter().any(|f| f.rule.starts_with("screening/")));
}

#[test]
fn fuzzy_matching_has_a_stated_threshold_and_dates() {
    let parties = [
        pool("a", "l20", "site-my", "my-co", "2024-06-01"),
        pool("b", "l20", "site-sg", "cn-sub-sg", "2024-06-01"),
    ]
    .concat();
    let e = screened(&parties, 0.88);
    let r = e.screening_report(d("2024-06-01")).unwrap();
    let hit = |id: &str| r.hits.iter().any(|h| h.entry_id == id);
    // "Malaysian operator" vs "Malaysian Operater Sdn Bhd": one letter off once the company
    // form is dropped (similarity 0.94).
    assert!(hit("X3"), "{:?}", r.hits);
    assert!(hit("X1"));
    // Delisted before the date.
    assert!(!hit("X2"));
    // "Malaysian operator" is not "Malaysian Cooperative Society".
    assert!(!hit("X4"));
    // A stricter threshold drops the misspelt match, never the exact one.
    let strict = screened(&parties, 0.99)
        .screening_report(d("2024-06-01"))
        .unwrap();
    assert!(!strict.hits.iter().any(|h| h.entry_id == "X3"));
    assert!(strict.hits.iter().any(|h| h.entry_id == "X1"));
    // Every entity of the fixture with a role is screened, parents included.
    for id in ["us-co", "my-co", "cn-sub-sg", "cn-co"] {
        assert!(
            r.screened.contains(&id.to_string()),
            "{id}: {:?}",
            r.screened
        );
    }
}

#[test]
fn the_shipped_synthetic_list_flags_the_example_lessor_from_its_listing_date() {
    let s = load_scenario(None, None).unwrap();
    let text = include_str!("../../../../data/screening/synthetic-csl.csv");
    let list = parse_screening(text, "data/screening/synthetic-csl.csv").unwrap();
    let e =
        RuleEngine::new(builtin_rule_set(), &s.scenario, &s.catalog).with_screening(&list, 0.88);
    let hits = |date: &str| -> Vec<String> {
        e.screening_report(d(date))
            .unwrap()
            .hits
            .iter()
            .map(|h| format!("{}={}", h.entity, h.entry_id))
            .collect()
    };
    assert_eq!(hits("2025-08-01"), vec!["sg-neocloud=SYN-001"]);
    assert_eq!(hits("2025-05-31"), Vec::<String>::new());
    // SYN-002 (the operator, delisted 2024-12-31) was a hit while listed.
    assert_eq!(hits("2024-06-01"), vec!["johor-dc=SYN-002"]);
}

/// The bench's work at a small size, so the bench cannot rot: check plus screening of the
/// example against a list of generated names finds no hit.
#[test]
fn check_and_screening_at_a_small_size() {
    let s = load_scenario(None, None).unwrap();
    let mut list = xpufleet_comply::ScreeningList::default();
    for i in 0..50 {
        list.entries.push(xpufleet_comply::ScreeningEntry {
            id: format!("S{i}"),
            name: format!("Ocean Dragon Trading Co., Ltd. {i}"),
            alt_names: vec![],
            addresses: vec![],
            source: "EL".into(),
            start_date: None,
            end_date: None,
            at: format!("synthetic:{i}"),
        });
    }
    let e =
        RuleEngine::new(builtin_rule_set(), &s.scenario, &s.catalog).with_screening(&list, 0.88);
    let r = e.check(d("2025-08-01"));
    assert!(r.screening.unwrap().hits.is_empty());
    assert!(!r.uses.is_empty());
}
