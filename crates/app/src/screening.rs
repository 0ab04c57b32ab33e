//! Re-screening (issue 24 item 4): when a new version of a restricted-party list is stored,
//! every party of every scenario (company, owners, operators, lessors, tenants and their
//! parents, as `check --screening` screens them) is screened against it and against the version
//! before it, and the hits that are new and those that cleared are reported. The answer is
//! reproducible from (the lists' SHA-256, `MATCHER_VERSION`, the scenarios and records, the
//! date): nothing else is read.
//!
//! (The diff is written here, over `xpufleet_comply::screening`'s hits; it keys a hit by
//! scenario, entity and list entry.)

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xpufleet_comply::ScreeningList;
use xpufleet_model::Date;

use crate::service::Context;
use crate::Error;

/// The name matcher's version: `xpufleet_comply::screening`'s normalisation and similarity.
/// It changes whenever they change, so that a stored re-screening says which matcher made it.
pub const MATCHER_VERSION: &str = xpufleet_comply::screening::MATCHER_VERSION;

/// SHA-256 of a list's text (lower-case hex), as the server names a stored list version and
/// `check --screening` names the files it read.
pub fn sha256_hex(text: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A list given to `check`: the list read from its files, and each file's SHA-256.
#[derive(Debug, Clone, Copy)]
pub struct ListInput<'a> {
    pub list: &'a ScreeningList,
    pub sha256: &'a [String],
}

/// `check` with every party screened against `new` (hits at or above `threshold`), and, with
/// `previous`, the hits that are new and those cleared since that version, as
/// `check --screening NEW --screening-previous OLD` does. Both lists are screened on the same
/// date with the same matcher and threshold; the answer names both lists' SHA-256 and the
/// matcher version.
pub fn check_rescreened(
    loaded: &xpufleet_io::LoadedScenario,
    extra_rules: &[crate::RuleText],
    as_of: Option<Date>,
    new: ListInput<'_>,
    previous: Option<ListInput<'_>>,
    threshold: f64,
) -> Result<crate::CheckOutput, Error> {
    let mut out = crate::check_screened(loaded, extra_rules, as_of, Some((new.list, threshold)))?;
    if let Some(sc) = out.report.screening.as_mut() {
        sc.sha256 = new.sha256.to_vec();
    }
    if let Some(prev) = previous {
        let before =
            crate::check_screened(loaded, extra_rules, as_of, Some((prev.list, threshold)))?;
        if let (Some(sc), Some(mut old)) = (out.report.screening.as_mut(), before.report.screening)
        {
            old.sha256 = prev.sha256.to_vec();
            sc.compare_with(&old);
        }
    }
    Ok(out)
}

/// One hit: a scenario's party matched to a list entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PartyHit {
    /// The scenario id.
    pub scenario: String,
    /// The entity id and name screened.
    pub entity: String,
    pub entity_name: String,
    /// Its roles in the scenario ("owner", "tenant", "parent of X", …).
    pub roles: Vec<String>,
    /// The list entry matched, and the name of it that matched best.
    pub entry_id: String,
    pub entry_name: String,
    pub matched_name: String,
    pub source: String,
    /// Name similarity, 0 to 1.
    pub score: f64,
}

/// What re-screening every party against a new list version found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rescreen {
    /// SHA-256 of the new list's text.
    pub list_sha256: String,
    /// SHA-256 of the version before it; absent for the first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_sha256: Option<String>,
    pub matcher_version: String,
    /// Similarity at or above which a match is a hit.
    pub threshold: f64,
    /// The day whose listings count (an entry listed later or delisted before is no hit).
    pub as_of: String,
    /// Entries in the new list.
    pub entries: usize,
    /// Every hit against the new list, by scenario, entity and entry.
    pub hits: Vec<PartyHit>,
    /// Hits against the new list that the previous one did not give (all of them for the
    /// first list).
    pub new_hits: Vec<PartyHit>,
    /// Hits against the previous list that the new one no longer gives.
    pub cleared_hits: Vec<PartyHit>,
    /// Scenarios that could not be read, with why: their parties are not screened.
    pub unreadable: Vec<String>,
}

/// A list's text parsed (CSL CSV or JSON), named `origin` in problems.
pub fn parse_list(text: &str, origin: &str) -> Result<ScreeningList, Error> {
    Ok(xpufleet_io::screening::parse_screening(text, origin)?)
}

type Keyed = BTreeMap<(String, String, String), PartyHit>;

/// The hits of every scenario (id, revision text) against `list`, listed on `as_of`.
fn hits_of(
    ctx: &Context,
    scenarios: &[(String, String)],
    list: &ScreeningList,
    threshold: f64,
    as_of: Date,
    unreadable: &mut Vec<String>,
) -> Keyed {
    let mut out = Keyed::new();
    for (id, text) in scenarios {
        let found = ctx.load_effective(text).and_then(|(loaded, _)| {
            crate::check_screened(&loaded, &ctx.rules(), Some(as_of), Some((list, threshold)))
        });
        match found {
            Ok(c) => {
                for h in c.report.screening.map(|s| s.hits).unwrap_or_default() {
                    let hit = PartyHit {
                        scenario: id.clone(),
                        entity: h.entity,
                        entity_name: h.entity_name,
                        roles: h.roles,
                        entry_id: h.entry_id,
                        entry_name: h.entry_name,
                        matched_name: h.matched_name,
                        source: h.source,
                        score: h.score,
                    };
                    let key = (id.clone(), hit.entity.clone(), hit.entry_id.clone());
                    out.entry(key).or_insert(hit);
                }
            }
            Err(e) => {
                let why = format!("scenarios/{id}: {e}");
                if !unreadable.contains(&why) {
                    unreadable.push(why);
                }
            }
        }
    }
    out
}

/// Screens every party of `scenarios` (id, text of the latest revision) under `ctx` against
/// `list` (SHA-256, text) and against `previous`, and reports the difference. Blocking.
pub fn rescreen(
    ctx: &Context,
    scenarios: &[(String, String)],
    list: (&str, &str),
    previous: Option<(&str, &str)>,
    threshold: f64,
    as_of: Date,
) -> Result<Rescreen, Error> {
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(Error::Option {
            field: "threshold".into(),
            message: format!("expected a number in (0, 1], found {threshold}"),
        });
    }
    let new_list = parse_list(list.1, &format!("screening-lists/{}", list.0))?;
    let mut unreadable = vec![];
    let now = hits_of(ctx, scenarios, &new_list, threshold, as_of, &mut unreadable);
    let before = match previous {
        Some((sha, text)) => {
            let old = parse_list(text, &format!("screening-lists/{sha}"))?;
            hits_of(ctx, scenarios, &old, threshold, as_of, &mut unreadable)
        }
        None => Keyed::new(),
    };
    let new_hits = now
        .iter()
        .filter(|(k, _)| !before.contains_key(*k))
        .map(|(_, h)| h.clone())
        .collect();
    let cleared_hits = before
        .iter()
        .filter(|(k, _)| !now.contains_key(*k))
        .map(|(_, h)| h.clone())
        .collect();
    Ok(Rescreen {
        list_sha256: list.0.to_string(),
        previous_sha256: previous.map(|(s, _)| s.to_string()),
        matcher_version: MATCHER_VERSION.into(),
        threshold,
        as_of: as_of.to_string(),
        entries: new_list.entries.len(),
        hits: now.into_values().collect(),
        new_hits,
        cleared_hits,
        unreadable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FIPS 180-2's test vector: what the digest is, not just that it is stable.
    #[test]
    fn sha256_is_the_standard_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// A list naming the example's tenant gives a new hit; the next list without that entry
    /// clears it; the same list again changes nothing.
    #[test]
    fn a_new_list_reports_new_and_cleared_hits() {
        let text = include_str!("../../../examples/capex-2025.toml");
        let sc = crate::load_file(None, None).unwrap().scenario;
        let tenant = sc.jobs[0].tenant.clone();
        let name = sc
            .entities
            .iter()
            .find(|e| e.id == tenant)
            .unwrap()
            .name
            .clone();
        let listed = format!(
            "[{{\"id\": \"e1\", \"name\": {name:?}, \"source\": \"Entity List (EL) - Bureau of Industry and Security\"}}]"
        );
        let empty = "[]";
        let ctx = Context::default();
        let scenarios = [("s".to_string(), text.to_string())];
        let day: Date = "2026-01-01".parse().unwrap();
        let first = rescreen(&ctx, &scenarios, ("a", &listed), None, 0.9, day).unwrap();
        assert!(
            first
                .hits
                .iter()
                .any(|h| h.entity == tenant && h.entry_id == "e1"),
            "{first:?}"
        );
        assert_eq!(first.new_hits, first.hits);
        assert!(first.cleared_hits.is_empty());
        let second = rescreen(
            &ctx,
            &scenarios,
            ("b", empty),
            Some(("a", &listed)),
            0.9,
            day,
        )
        .unwrap();
        assert!(second.hits.is_empty() && second.new_hits.is_empty());
        assert_eq!(second.cleared_hits, first.hits);
        assert_eq!(second.previous_sha256.as_deref(), Some("a"));
        let same = rescreen(
            &ctx,
            &scenarios,
            ("c", &listed),
            Some(("a", &listed)),
            0.9,
            day,
        )
        .unwrap();
        assert!(
            same.new_hits.is_empty() && same.cleared_hits.is_empty(),
            "{same:?}"
        );
        assert!(rescreen(&ctx, &scenarios, ("d", "[1]"), None, 0.9, day).is_err());
    }
}
