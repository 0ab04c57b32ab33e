//! The fleet's records (sites, pools, acquisitions, owner/operator verifications, licences,
//! reviews) overlaid onto a scenario: what the server computes on is the *effective scenario*, the
//! scenario's revision with the stored records applied by these rules:
//!
//! - a site, pool or licence record whose id is a scenario entry's id replaces that entry
//!   whole; a new id adds an entry (after the scenario's own, in id order);
//! - an acquisition record's id is a pool id: it replaces that pool's `acquisition`;
//! - a verification record becomes a `[[site.verification]]` entry of the site it concerns
//!   (`subject` a site id, or a pool id meaning that pool's site; no `subject`: every site),
//!   verified by `verifications/<id>`, from `valid_from` until `valid_to` (or 9999-12-31),
//!   with evidence `sha256:<document_sha256>`;
//! - a review record replaces the scenario's `[[review]]` of the same id or adds one, when its
//!   target is a pool or candidate of the scenario and its user (if any) one of its entities;
//! - records that name nothing in the scenario (an acquisition of another scenario's pool, a
//!   verification of another site) are not used.
//!
//! Records are applied in kind order (sites, pools, acquisitions, licences, verifications,
//! reviews)
//! and by id within a kind, so the effective scenario depends only on the records' contents.

use serde::{Deserialize, Serialize};
use xpufleet_io::{Diagnostic, Diagnostics, LoadedScenario};
use xpufleet_model::{
    Acquisition, Catalog, Date, Licence, Pool, Review, Role, Scenario, Site, Verification,
};

/// Every kind of stored record, as the API names it under `/api/v1/<kind>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKind {
    Sites,
    Pools,
    Acquisitions,
    Verifications,
    Licences,
    Reviews,
    RulePacks,
    CatalogOverrides,
}

/// Who may write a kind of record: planners the fleet's facts, the compliance role what
/// decides verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    Planner,
    Compliance,
}

impl RecordKind {
    /// Every kind, in the order the API lists them.
    pub const ALL: [RecordKind; 8] = [
        RecordKind::Sites,
        RecordKind::Pools,
        RecordKind::Acquisitions,
        RecordKind::Verifications,
        RecordKind::Licences,
        RecordKind::Reviews,
        RecordKind::RulePacks,
        RecordKind::CatalogOverrides,
    ];

    /// The kind's name in paths and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Sites => "sites",
            RecordKind::Pools => "pools",
            RecordKind::Acquisitions => "acquisitions",
            RecordKind::Verifications => "verifications",
            RecordKind::Licences => "licences",
            RecordKind::Reviews => "reviews",
            RecordKind::RulePacks => "rule-packs",
            RecordKind::CatalogOverrides => "catalog-overrides",
        }
    }

    /// Rule packs and catalog overrides are TOML documents; the other kinds JSON objects.
    pub fn is_toml(self) -> bool {
        matches!(self, RecordKind::RulePacks | RecordKind::CatalogOverrides)
    }

    /// Whether records of this kind are laid over scenarios (the others are read whole: rule
    /// packs and catalog overrides).
    pub fn overlays(self) -> bool {
        !self.is_toml()
    }

    /// The least role that writes this kind.
    pub fn writer(self) -> Writer {
        match self {
            RecordKind::Sites | RecordKind::Pools | RecordKind::Acquisitions => Writer::Planner,
            RecordKind::Verifications
            | RecordKind::Licences
            | RecordKind::Reviews
            | RecordKind::RulePacks
            | RecordKind::CatalogOverrides => Writer::Compliance,
        }
    }

    /// Export records kept five years after their last event (15 CFR 762.6): deleting one
    /// leaves a tombstone and its versions readable, and a purge inside the window is refused.
    pub fn retained(self) -> bool {
        matches!(
            self,
            RecordKind::Verifications
                | RecordKind::Licences
                | RecordKind::Reviews
                | RecordKind::Acquisitions
        )
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RecordKind {
    type Err = String;
    fn from_str(s: &str) -> Result<RecordKind, String> {
        RecordKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a record kind"))
    }
}

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
    Review(Review),
}

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

/// Parses and checks a JSON record of `kind` (one that `overlays`) stored under `id`.
pub fn parse(
    kind: RecordKind,
    id: &str,
    body: &serde_json::Value,
) -> Result<Record, RecordProblem> {
    let de = |e: serde_json::Error| problem(None, e.to_string());
    let record = match kind {
        RecordKind::Sites => Record::Site(serde_json::from_value(body.clone()).map_err(de)?),
        RecordKind::Pools => Record::Pool(serde_json::from_value(body.clone()).map_err(de)?),
        RecordKind::Acquisitions => {
            Record::Acquisition(serde_json::from_value(body.clone()).map_err(de)?)
        }
        RecordKind::Licences => Record::Licence(serde_json::from_value(body.clone()).map_err(de)?),
        RecordKind::Reviews => {
            let r: Review = serde_json::from_value(body.clone()).map_err(de)?;
            check_review(&r)?;
            Record::Review(r)
        }
        RecordKind::Verifications => {
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
        RecordKind::RulePacks | RecordKind::CatalogOverrides => {
            return Err(problem(
                None,
                format!("{kind} are TOML documents, not JSON records"),
            ))
        }
    };
    // The id in the body, when there is one, is the id in the path.
    let body_id = match &record {
        Record::Site(s) => Some(&s.id),
        Record::Pool(p) => Some(&p.id),
        Record::Licence(l) => Some(&l.id),
        Record::Review(r) => Some(&r.id),
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

/// What a `[[review]]` must hold besides its types (the scenario validator's rules that do not
/// depend on the scenario): rules given by full id, a reviewer, an end on or after its date.
fn check_review(r: &Review) -> Result<(), RecordProblem> {
    if r.rules.is_empty() {
        return Err(problem(
            Some("rules"),
            "expected the full ids of the rules whose red flags the review covers",
        ));
    }
    if let Some(bad) = r.rules.iter().find(|id| !id.contains('/')) {
        return Err(problem(
            Some("rules"),
            format!("rule {bad:?} is not a full rule id: expected <pack>/<rule>"),
        ));
    }
    if r.reviewer.trim().is_empty() {
        return Err(problem(
            Some("reviewer"),
            "expected who decided (a person or role)",
        ));
    }
    if r.valid_until < r.date {
        return Err(problem(
            Some("valid_until"),
            format!("expected a date on or after the review's date {}", r.date),
        ));
    }
    Ok(())
}

/// The rule that keeps export records: five years after their last event.
pub const RETENTION_RULE: &str = "15 CFR 762.6";

/// Years a retained record's versions are kept after its last event.
pub const RETENTION_YEARS: i32 = 5;

/// The latest date a retained record's body names: a licence's or review's `valid_until`, a
/// verification's `valid_to`, a lease's `until` or a purchase's `date` (and a review's or
/// verification's start when it has no end). `None` for a body that names none.
pub fn record_end(kind: RecordKind, body: &str) -> Option<Date> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let fields: &[&str] = match kind {
        RecordKind::Licences => &["valid_until", "valid_from"],
        RecordKind::Reviews => &["valid_until", "date"],
        RecordKind::Verifications => &["valid_to", "valid_from"],
        RecordKind::Acquisitions => &["until", "date"],
        _ => &[],
    };
    fields
        .iter()
        .filter_map(|f| v.get(*f)?.as_str()?.parse::<Date>().ok())
        .max()
}

/// The date `years` years after `d` (29 February becomes 28 February in a common year).
fn plus_years(d: Date, years: i32) -> Date {
    let text = d.to_string();
    let mut parts = text.splitn(3, '-').map(|p| p.parse::<u32>().unwrap_or(1));
    let (_, m, day) = (
        parts.next(),
        parts.next().unwrap_or(1),
        parts.next().unwrap_or(1),
    );
    let y = d.year() + years;
    Date::from_ymd(y, m, day)
        .or_else(|| Date::from_ymd(y, m, 28))
        .unwrap_or(d)
}

/// Until when a retained record's versions are kept: five years after its last event, the
/// latest of the days its versions were written or deleted (`written`) and the dates its
/// bodies name (`record_end`).
pub fn retained_until<'a>(
    kind: RecordKind,
    versions: impl IntoIterator<Item = (&'a str, Date)>,
) -> Option<Date> {
    versions
        .into_iter()
        .flat_map(|(body, written)| [Some(written), record_end(kind, body)])
        .flatten()
        .max()
        .map(|last| plus_years(last, RETENTION_YEARS))
}

/// Whether the kept versions of a deleted record may be purged on `today`: refused, citing
/// the rule, while `today` is on or before `retained_until`.
pub fn may_purge<'a>(
    kind: RecordKind,
    versions: impl IntoIterator<Item = (&'a str, Date)>,
    today: Date,
) -> Result<(), crate::Error> {
    if !kind.retained() {
        return Err(crate::Error::Refused(format!(
            "{kind} keep no versions: there is nothing to purge"
        )));
    }
    match retained_until(kind, versions) {
        Some(until) if today <= until => Err(crate::Error::Refused(format!(
            "kept until {until}: export records are kept for {RETENTION_YEARS} years after \
             their last event ({RETENTION_RULE}); purge refused"
        ))),
        _ => Ok(()),
    }
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
        stored: impl IntoIterator<Item = (RecordKind, &'a str, &'a str)>,
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
            Record::Review(_) => 5,
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
            Record::Review(r) => {
                let target_known =
                    sc.pool(&r.target).is_some() || sc.candidates.iter().any(|c| c.id == r.target);
                let user_known = r
                    .user
                    .as_ref()
                    .is_none_or(|u| sc.entities.iter().any(|e| &e.id == u));
                if target_known && user_known {
                    upsert(&mut sc.reviews, r.clone(), |r| &r.id);
                }
            }
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
        let texts: Vec<(RecordKind, String, String)> = list
            .iter()
            .map(|(k, i, v)| (k.parse().unwrap(), i.to_string(), v.to_string()))
            .collect();
        FleetRecords::from_stored(texts.iter().map(|(k, i, t)| (*k, i.as_str(), t.as_str())))
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
        let bad = |kind: &str, id: &str, v: serde_json::Value| {
            parse(kind.parse().unwrap(), id, &v).unwrap_err()
        };
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
        let review = serde_json::json!({"id": "r1", "target": "p", "rules": ["gp10"],
            "decision": "cleared", "reviewer": "officer", "date": "2025-05-20",
            "valid_until": "2025-11-20"});
        assert_eq!(bad("reviews", "r1", review).field.as_deref(), Some("rules"));
    }

    /// A purge inside five years of the last event (a write, a deletion, or a date the
    /// record names, whichever is latest) is refused citing 15 CFR 762.6; after it, allowed.
    #[test]
    fn purges_wait_five_years_after_the_last_event() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let licence = r#"{"id": "l", "valid_from": "2025-01-01", "valid_until": "2027-06-30"}"#;
        let versions = [(licence, d("2025-01-02")), (licence, d("2026-03-01"))];
        assert_eq!(
            retained_until(RecordKind::Licences, versions),
            Some(d("2032-06-30"))
        );
        let e = may_purge(RecordKind::Licences, versions, d("2032-06-30")).unwrap_err();
        assert!(e.to_string().contains("15 CFR 762.6"), "{e}");
        assert!(e.to_string().contains("2032-06-30"), "{e}");
        may_purge(RecordKind::Licences, versions, d("2032-07-01")).unwrap();
        // A deletion after the end date is the last event.
        let late = [(licence, d("2030-01-01"))];
        assert_eq!(
            retained_until(RecordKind::Licences, late),
            Some(d("2035-01-01"))
        );
        assert_eq!(plus_years(d("2024-02-29"), 5), d("2029-02-28"));
        assert!(may_purge(RecordKind::Sites, versions, d("2040-01-01")).is_err());
    }

    #[test]
    fn record_kinds_read_back_from_their_names() {
        for k in RecordKind::ALL {
            assert_eq!(k.as_str().parse::<RecordKind>(), Ok(k));
        }
        assert!("review".parse::<RecordKind>().is_err());
        let retained: Vec<&str> = RecordKind::ALL
            .into_iter()
            .filter(|k| k.retained())
            .map(RecordKind::as_str)
            .collect();
        assert_eq!(
            retained,
            ["acquisitions", "verifications", "licences", "reviews"]
        );
    }

    /// A review record joins the scenario's reviews when its target and user are the
    /// scenario's, and is unused otherwise (another scenario's pool).
    #[test]
    fn a_review_record_applies_to_its_own_target_only() {
        let base = example();
        let pool = base.pools[0].id.clone();
        let review = |id: &str, target: &str| {
            serde_json::json!({"id": id, "target": target, "rules": ["pack/rule"],
                "decision": "cleared", "reviewer": "officer", "date": "2025-05-20",
                "evidence": "memo 7", "valid_until": "2025-11-20"})
        };
        let r = records(&[
            ("reviews", "r-mine", review("r-mine", &pool)),
            ("reviews", "r-other", review("r-other", "no-such-pool")),
        ]);
        let mut sc = example();
        assert!(overlay(&mut sc, &r));
        assert_eq!(sc.reviews.len(), base.reviews.len() + 1);
        let added = sc.reviews.last().unwrap();
        assert_eq!(
            (added.id.as_str(), added.target.as_str()),
            ("r-mine", pool.as_str())
        );
    }
}
