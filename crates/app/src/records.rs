//! The fleet's records (sites, pools, acquisitions, owner/operator verifications, licences)
//! overlaid onto a scenario: what the server computes on is the *effective scenario*, the
//! scenario's revision with the stored records applied by these rules:
//!
//! - a site, pool or licence record whose id is a scenario entry's id replaces that entry
//!   whole; a new id adds an entry (after the scenario's own, in id order);
//! - an acquisition record's id is a pool id: it replaces that pool's `acquisition`;
//! - a verification record becomes a `[[site.verification]]` entry of the site it concerns
//!   (`subject` a site id, or a pool id meaning that pool's site; no `subject`: every site),
//!   verified by `verifications/<id>`, from `valid_from` until `valid_to` (or 9999-12-31),
//!   with evidence `sha256:<document_sha256>`;
//! - records that name nothing in the scenario (an acquisition of another scenario's pool, a
//!   verification of another site) are not used.
//!
//! Records are applied in kind order (sites, pools, acquisitions, licences, verifications)
//! and by id within a kind, so the effective scenario depends only on the records' contents.

use serde::{Deserialize, Serialize};
use xpufleet_io::{Diagnostic, Diagnostics, LoadedScenario};
use xpufleet_model::{
    Acquisition, Catalog, Date, Licence, Pool, Role, Scenario, Site, Verification,
};

/// An owner or operator verification as the API stores it: who was verified, for how long,
/// on what document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationRecord {
    /// The entity verified.
    pub entity: String,
    /// owner or operator.
    pub role: String,
    /// The site or pool it concerns; every site when absent.
    #[serde(default)]
    pub subject: Option<String>,
    pub valid_from: Date,
    #[serde(default)]
    pub valid_to: Option<Date>,
    /// SHA-256 of the evidence document, 64 hex digits.
    pub document_sha256: String,
}

/// One parsed record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Site(Site),
    Pool(Pool),
    Acquisition(Acquisition),
    Licence(Licence),
    Verification(VerificationRecord),
}

/// The record kinds that overlay scenarios, in the order they are applied.
pub const OVERLAY_KINDS: [&str; 5] = [
    "sites",
    "pools",
    "acquisitions",
    "licences",
    "verifications",
];

/// Why a record body is refused: the field at fault (when one is) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordProblem {
    pub field: Option<String>,
    pub message: String,
}

fn problem(field: Option<&str>, message: impl Into<String>) -> RecordProblem {
    RecordProblem {
        field: field.map(String::from),
        message: message.into(),
    }
}

/// Parses and checks a record of `kind` (one of `OVERLAY_KINDS`) stored under `id`.
pub fn parse(kind: &str, id: &str, body: &serde_json::Value) -> Result<Record, RecordProblem> {
    let de = |e: serde_json::Error| problem(None, e.to_string());
    let record = match kind {
        "sites" => Record::Site(serde_json::from_value(body.clone()).map_err(de)?),
        "pools" => Record::Pool(serde_json::from_value(body.clone()).map_err(de)?),
        "acquisitions" => Record::Acquisition(serde_json::from_value(body.clone()).map_err(de)?),
        "licences" => Record::Licence(serde_json::from_value(body.clone()).map_err(de)?),
        "verifications" => {
            let v: VerificationRecord = serde_json::from_value(body.clone()).map_err(de)?;
            if v.role != "owner" && v.role != "operator" {
                return Err(problem(Some("role"), "expected owner or operator"));
            }
            let d = &v.document_sha256;
            if d.len() != 64 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(problem(Some("document_sha256"), "expected 64 hex digits"));
            }
            if v.valid_to.is_some_and(|t| t < v.valid_from) {
                return Err(problem(
                    Some("valid_to"),
                    "expected a date on or after valid_from",
                ));
            }
            Record::Verification(v)
        }
        other => return Err(problem(None, format!("{other:?} is not a record kind"))),
    };
    // The id in the body, when there is one, is the id in the path.
    let body_id = match &record {
        Record::Site(s) => Some(&s.id),
        Record::Pool(p) => Some(&p.id),
        Record::Licence(l) => Some(&l.id),
        _ => None,
    };
    if let Some(b) = body_id.filter(|b| *b != id) {
        return Err(problem(
            Some("id"),
            format!("expected {id:?} (the record's id), found {b:?}"),
        ));
    }
    Ok(record)
}

/// The records to overlay: (id, record), in the order they apply.
#[derive(Debug, Clone, Default)]
pub struct FleetRecords {
    pub records: Vec<(String, Record)>,
}

impl FleetRecords {
    /// Parses stored records given as (kind, id, JSON text); the first bad one is refused,
    /// named `kind/id`.
    pub fn from_stored<'a>(
        stored: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Result<FleetRecords, (String, RecordProblem)> {
        let mut records = Vec::new();
        for (kind, id, text) in stored {
            let name = format!("{kind}/{id}");
            let v: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| (name.clone(), problem(None, e.to_string())))?;
            let r = parse(kind, id, &v).map_err(|p| (name, p))?;
            records.push((id.to_string(), r));
        }
        let rank = |r: &Record| match r {
            Record::Site(_) => 0,
            Record::Pool(_) => 1,
            Record::Acquisition(_) => 2,
            Record::Licence(_) => 3,
            Record::Verification(_) => 4,
        };
        records.sort_by(|a, b| (rank(&a.1), &a.0).cmp(&(rank(&b.1), &b.0)));
        Ok(FleetRecords { records })
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// Replaces the entry with `id` or adds `item` at the end.
fn upsert<T>(list: &mut Vec<T>, item: T, id: impl Fn(&T) -> &str) {
    let key = id(&item).to_string();
    match list.iter_mut().find(|x| id(x) == key) {
        Some(slot) => *slot = item,
        None => list.push(item),
    }
}

/// The effective scenario: `sc` with `records` applied (the rules are this module's). Returns
/// whether any record changed it.
pub fn overlay(sc: &mut Scenario, records: &FleetRecords) -> bool {
    let before = sc.clone();
    for (id, r) in &records.records {
        match r {
            Record::Site(s) => upsert(&mut sc.sites, s.clone(), |s| &s.id),
            Record::Pool(p) => upsert(&mut sc.pools, p.clone(), |p| &p.id),
            Record::Licence(l) => upsert(&mut sc.licences, l.clone(), |l| &l.id),
            Record::Acquisition(a) => {
                if let Some(p) = sc.pools.iter_mut().find(|p| &p.id == id) {
                    p.acquisition = a.clone();
                }
            }
            Record::Verification(v) => {
                let site_id: Option<String> = match &v.subject {
                    None => None,
                    Some(s) if sc.site(s).is_some() => Some(s.clone()),
                    Some(s) => match sc.pool(s) {
                        Some(p) => Some(p.site.clone()),
                        None => continue,
                    },
                };
                let entry = Verification {
                    role: if v.role == "owner" {
                        Role::Owner
                    } else {
                        Role::Operator
                    },
                    entity: v.entity.clone(),
                    verified_by: format!("verifications/{id}"),
                    date: v.valid_from,
                    evidence: format!("sha256:{}", v.document_sha256),
                    valid_until: v.valid_to.unwrap_or_else(open_end),
                    hq_country: None,
                    ultimate_parent: None,
                };
                for site in sc.sites.iter_mut() {
                    if site_id.as_ref().is_none_or(|s| *s == site.id) {
                        site.verifications.push(entry.clone());
                    }
                }
            }
        }
    }
    *sc != before
}

/// The effective scenario of a scenario's text under `records`, loaded against `catalog` and
/// validated, and its TOML: the text as given when no record applies, else the overlaid
/// scenario written as TOML (problems are then located in that text, which the server serves
/// as the scenario's `effective`).
pub fn load_effective(
    origin: &str,
    text: &str,
    catalog: &Catalog,
    records: &FleetRecords,
) -> Result<(LoadedScenario, String), Diagnostics> {
    let loaded = crate::load_text(origin, text, catalog.clone())?;
    let mut sc = loaded.scenario.clone();
    if !overlay(&mut sc, records) {
        return Ok((loaded, text.to_string()));
    }
    let effective = toml::to_string(&sc).map_err(|e| {
        Diagnostics::from(Diagnostic::new(
            origin,
            format!("the effective scenario cannot be written as TOML: {e}"),
        ))
    })?;
    let loaded = crate::load_text(origin, &effective, catalog.clone())?;
    Ok((loaded, effective))
}

/// The end of a verification given without one.
fn open_end() -> Date {
    "9999-12-31".parse().expect("a valid date")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(list: &[(&str, &str, serde_json::Value)]) -> FleetRecords {
        let texts: Vec<(String, String, String)> = list
            .iter()
            .map(|(k, i, v)| (k.to_string(), i.to_string(), v.to_string()))
            .collect();
        FleetRecords::from_stored(
            texts
                .iter()
                .map(|(k, i, t)| (k.as_str(), i.as_str(), t.as_str())),
        )
        .unwrap()
    }

    fn example() -> Scenario {
        crate::load_file(None, None).unwrap().scenario
    }

    #[test]
    fn a_verification_attaches_to_its_pools_site_and_an_unknown_subject_is_unused() {
        let mut sc = example();
        let site = sc.pool("my-h200-overflow").unwrap().site.clone();
        let n = sc.site(&site).unwrap().verifications.len();
        let digest = "a".repeat(64);
        let r = records(&[
            (
                "verifications",
                "v1",
                serde_json::json!({"entity": "sg-neocloud", "role": "owner",
                    "subject": "my-h200-overflow", "valid_from": "2025-01-01",
                    "document_sha256": digest}),
            ),
            (
                "verifications",
                "v2",
                serde_json::json!({"entity": "x", "role": "owner", "subject": "nowhere",
                    "valid_from": "2025-01-01", "document_sha256": digest}),
            ),
        ]);
        assert!(overlay(&mut sc, &r));
        let v = &sc.site(&site).unwrap().verifications;
        assert_eq!(v.len(), n + 1);
        assert_eq!(v[n].verified_by, "verifications/v1");
        assert_eq!(v[n].evidence, format!("sha256:{digest}"));
        assert_eq!(v[n].valid_until, open_end());
        let total: usize = sc.sites.iter().map(|s| s.verifications.len()).sum();
        let before: usize = example().sites.iter().map(|s| s.verifications.len()).sum();
        assert_eq!(total, before + 1, "the unknown subject attached somewhere");
    }

    #[test]
    fn same_ids_replace_new_ids_add_and_acquisitions_follow_their_pool() {
        let mut sc = example();
        let base = example();
        let mut pool = serde_json::to_value(&base.pools[0]).unwrap();
        pool["nodes"] = serde_json::json!(1);
        let mut extra = pool.clone();
        extra["id"] = serde_json::json!("zz-new");
        let acq = serde_json::json!({"kind": "leased", "rate": {"amount": 1.0, "currency": "USD"},
            "from": "sg-neocloud"});
        let id0 = base.pools[0].id.clone();
        let r = records(&[
            ("pools", id0.as_str(), pool),
            ("pools", "zz-new", extra),
            ("acquisitions", id0.as_str(), acq),
            (
                "acquisitions",
                "not-a-pool",
                serde_json::json!({"kind": "leased",
                "rate": {"amount": 1.0, "currency": "USD"}, "from": "x"}),
            ),
        ]);
        assert!(overlay(&mut sc, &r));
        assert_eq!(sc.pools.len(), base.pools.len() + 1);
        assert_eq!(sc.pools[0].nodes, 1);
        assert!(matches!(
            sc.pools[0].acquisition,
            Acquisition::Leased { .. }
        ));
        assert_eq!(sc.pools.last().unwrap().id, "zz-new");
        assert!(matches!(
            sc.pools.last().unwrap().acquisition,
            Acquisition::Bought { .. }
        ));
        // Nothing applied: nothing changed.
        let mut same = example();
        assert!(!overlay(&mut same, &FleetRecords::default()));
        assert_eq!(same, base);
    }

    /// The effective scenario written as TOML reads back as the same scenario.
    #[test]
    fn the_effective_toml_reads_back_as_the_overlaid_scenario() {
        let text = include_str!("../../../examples/capex-2025.toml");
        let catalog = xpufleet_io::builtin_catalog();
        let mut licence = serde_json::to_value(&example().licences[0]).unwrap();
        licence["valid_from"] = serde_json::json!("2025-01-01");
        let id = example().licences[0].id.clone();
        let r = records(&[("licences", id.as_str(), licence)]);
        let (loaded, effective) = load_effective("scenario", text, &catalog, &r).unwrap();
        assert_ne!(effective, text);
        let mut want = example();
        assert!(overlay(&mut want, &r));
        assert_eq!(loaded.scenario, want);
        let (plain, same) =
            load_effective("scenario", text, &catalog, &FleetRecords::default()).unwrap();
        assert_eq!(same, text);
        assert_eq!(plain.scenario, example());
    }

    #[test]
    fn bad_records_are_refused_with_the_field() {
        let bad = |kind: &str, id: &str, v: serde_json::Value| parse(kind, id, &v).unwrap_err();
        let p = bad(
            "verifications",
            "v",
            serde_json::json!({"entity": "e", "role": "boss", "valid_from": "2025-01-01",
                "document_sha256": "a".repeat(64)}),
        );
        assert_eq!(p.field.as_deref(), Some("role"));
        let mut site = serde_json::to_value(&example().sites[0]).unwrap();
        let p = bad("sites", "other", site.clone());
        assert_eq!(p.field.as_deref(), Some("id"));
        site["pue"] = serde_json::json!("high");
        let id = example().sites[0].id.clone();
        bad("sites", &id, site);
    }
}
