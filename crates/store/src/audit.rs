//! The audit trail: one entry per successful mutation and per stored computation, appended to
//! `audit_log` and chained by SHA-256 so that any later UPDATE, DELETE or reordering of rows is
//! found by `verify` (and by `xpufleet audit verify`).
//!
//! The hash of an entry is SHA-256 over its canonical form: for each of the fields `seq`, `at`,
//! `actor`, `role`, `action`, `resource`, `revision`, `body_sha256`, `prev_hash`, in that
//! order, the field's value as UTF-8 bytes written as `<byte length>:<bytes>,` (a netstring;
//! `seq` and `revision` in decimal, a missing `revision` as the empty string). `prev_hash` of
//! the first entry is 64 zeros; `seq` counts from 1 without gaps. An entry that names the
//! changed record's digests before and after the change (`before_sha256`, `after_sha256`, the
//! empty string where there was or is no record) has them as two more netstrings after
//! `prev_hash`; an entry with both empty (every entry written before they existed) has nine
//! fields, so old chains keep their hashes. `docs/server.md` gives the algorithm as a few
//! lines of Python for a third party to check an export.
//!
//! **Invariant:** a change and its entry are one transaction (`db::Change`): the data, the
//! entry and the stored idempotent answer are committed together or not at all, so after a
//! crash at any moment every record's digest is its last entry's `after_sha256`
//! (`Store::audit_mismatches` checks it, and `xpufleet audit verify` with it).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

use crate::db::{DbError, Store};
use crate::token;

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry, as stored, served and exported (one JSON object per line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// 1, 2, 3, ... without gaps.
    pub seq: i64,
    /// When, in UTC (RFC 3339, seconds).
    pub at: String,
    /// The token's name.
    pub actor: String,
    /// The token's role.
    pub role: String,
    /// The method and route, as `PUT /api/v1/pools/{id}`.
    pub action: String,
    /// What was changed or computed: its path (`/api/v1/pools/p1`, `/api/v1/runs/<id>`).
    pub resource: String,
    /// The revision or version the change produced, when it has one.
    pub revision: Option<i64>,
    /// SHA-256 of the request body (of nothing, for an empty body).
    pub body_sha256: String,
    /// SHA-256 of the changed record as stored before the change; empty when there was none
    /// (a creation) or the entry is not a change.
    #[serde(default)]
    pub before_sha256: String,
    /// SHA-256 of the changed record as stored after the change; empty after a deletion or
    /// when the entry is not a change.
    #[serde(default)]
    pub after_sha256: String,
    /// `hash` of the entry before (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 of this entry's canonical form.
    pub hash: String,
}

impl AuditEntry {
    /// The bytes that are hashed (see the module's documentation).
    pub fn canonical(&self) -> Vec<u8> {
        let revision = self.revision.map(|r| r.to_string()).unwrap_or_default();
        let fields: [&str; 9] = [
            &self.seq.to_string(),
            &self.at,
            &self.actor,
            &self.role,
            &self.action,
            &self.resource,
            &revision,
            &self.body_sha256,
            &self.prev_hash,
        ];
        let digests: &[&str] = if self.before_sha256.is_empty() && self.after_sha256.is_empty() {
            &[]
        } else {
            &[&self.before_sha256, &self.after_sha256]
        };
        let mut out = Vec::new();
        for f in fields.iter().chain(digests) {
            out.extend_from_slice(f.len().to_string().as_bytes());
            out.push(b':');
            out.extend_from_slice(f.as_bytes());
            out.push(b',');
        }
        out
    }

    /// What `hash` should be.
    pub fn compute_hash(&self) -> String {
        token::hex(&Sha256::digest(self.canonical()))
    }
}

/// The first entry that breaks the chain, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The position in the chain (1-based) where the break was found.
    pub position: i64,
    /// The `seq` stored there.
    pub seq: i64,
    pub reason: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "entry {} (seq {}) breaks the chain: {}",
            self.position, self.seq, self.reason
        )
    }
}

/// Checks a chain in stored order; `Ok(n)` with the number of entries when it is intact.
pub fn verify<'a>(entries: impl IntoIterator<Item = &'a AuditEntry>) -> Result<i64, Broken> {
    let mut prev = GENESIS.to_string();
    let mut n = 0i64;
    for e in entries {
        n += 1;
        let broken = |reason: String| Broken {
            position: n,
            seq: e.seq,
            reason,
        };
        if e.seq != n {
            return Err(broken(format!(
                "expected seq {n}: an entry is missing or out of order"
            )));
        }
        if e.prev_hash != prev {
            return Err(broken(format!(
                "prev_hash is {}, the entry before hashes to {prev}",
                e.prev_hash
            )));
        }
        let h = e.compute_hash();
        if e.hash != h {
            return Err(broken(format!(
                "its content hashes to {h}, not the stored {}: it was altered",
                e.hash
            )));
        }
        prev = h;
    }
    Ok(n)
}

/// Now in UTC as RFC 3339 to the second.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339(secs)
}

fn rfc3339(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let rem = unix_secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// What an entry records, before it is placed in the chain.
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    pub actor: String,
    pub role: String,
    pub action: String,
    pub resource: String,
    pub revision: Option<i64>,
    pub body_sha256: String,
    /// The changed record's digest before the change ("" when it did not exist).
    pub before_sha256: String,
    /// The changed record's digest after the change ("" when it no longer exists).
    pub after_sha256: String,
}

/// Appends are serialised in this process; within a transaction the database serialises them
/// across processes (SQLite's write lock, PostgreSQL's table lock in `append_in`).
fn append_lock() -> &'static tokio::sync::Mutex<()> {
    static LOCK: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    LOCK.get_or_init(Default::default)
}

const COLUMNS: &str = "seq, at, actor, role, action, resource, revision, body_sha256, prev_hash, \
     hash, before_sha256, after_sha256";

/// A stored row as an entry; a column of the wrong type (a row tampered with behind the
/// server's back) is an error naming it, not a panic.
fn entry(row: &AnyRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        seq: row.try_get(0)?,
        at: row.try_get(1)?,
        actor: row.try_get(2)?,
        role: row.try_get(3)?,
        action: row.try_get(4)?,
        resource: row.try_get(5)?,
        revision: row.try_get(6)?,
        body_sha256: row.try_get(7)?,
        prev_hash: row.try_get(8)?,
        hash: row.try_get(9)?,
        before_sha256: row.try_get(10)?,
        after_sha256: row.try_get(11)?,
    })
}

/// Appends one entry after the last, inside the caller's transaction: the entry commits with
/// the change it records or not at all. On PostgreSQL the table is locked until the
/// transaction ends, so that two servers never read the same last entry; on SQLite the
/// transaction already holds the database's write lock (`BEGIN IMMEDIATE`).
pub(crate) async fn append_in(
    conn: &mut sqlx::AnyConnection,
    sqlite: bool,
    new: &NewEntry,
) -> Result<AuditEntry, DbError> {
    if !sqlite {
        sqlx::query("LOCK TABLE audit_log IN EXCLUSIVE MODE")
            .execute(&mut *conn)
            .await?;
    }
    let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    let (seq, prev_hash) = match last {
        Some(r) => (r.try_get::<i64, _>(0)? + 1, r.try_get::<String, _>(1)?),
        None => (1, GENESIS.to_string()),
    };
    let mut e = AuditEntry {
        seq,
        at: now_rfc3339(),
        actor: new.actor.clone(),
        role: new.role.clone(),
        action: new.action.clone(),
        resource: new.resource.clone(),
        revision: new.revision,
        body_sha256: new.body_sha256.clone(),
        before_sha256: new.before_sha256.clone(),
        after_sha256: new.after_sha256.clone(),
        prev_hash,
        hash: String::new(),
    };
    e.hash = e.compute_hash();
    sqlx::query(&format!(
        "INSERT INTO audit_log ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(e.seq)
    .bind(&e.at)
    .bind(&e.actor)
    .bind(&e.role)
    .bind(&e.action)
    .bind(&e.resource)
    .bind(e.revision)
    .bind(&e.body_sha256)
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .bind(&e.before_sha256)
    .bind(&e.after_sha256)
    .execute(&mut *conn)
    .await?;
    Ok(e)
}

impl Store {
    /// Appends one entry after the last in a transaction of its own; returns it. For what
    /// changed nothing (a stored answer served again, a replay); a change appends its entry
    /// in its own transaction (`Store::begin_change`).
    pub async fn append_audit(&self, new: NewEntry) -> Result<AuditEntry, DbError> {
        let _guard = append_lock().lock().await;
        let mut last_err = None;
        for _ in 0..5 {
            match self.try_append(&new).await {
                Ok(e) => return Ok(e),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.expect("at least one try"))
    }

    async fn try_append(&self, new: &NewEntry) -> Result<AuditEntry, DbError> {
        let mut tx = self.begin_write().await?;
        let e = append_in(&mut tx, self.is_sqlite(), new).await?;
        tx.commit().await?;
        Ok(e)
    }

    /// Entries in chain order from `offset`, at most `limit`, optionally only those of one
    /// actor and of one resource (the resource itself and everything under it).
    pub async fn audit_entries(
        &self,
        resource: Option<&str>,
        actor: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<AuditEntry>, DbError> {
        let under = resource.map(|r| format!("{}/", r.trim_end_matches('/')));
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_log \
             WHERE ($1 = 0 OR resource = $2 OR substr(resource, 1, CAST($3 AS INTEGER)) = $4) \
             AND ($5 = 0 OR actor = $6) \
             ORDER BY seq LIMIT $7 OFFSET $8"
        ))
        .bind(i64::from(resource.is_some()))
        .bind(resource.unwrap_or(""))
        .bind(under.as_deref().map_or(0, |u| u.chars().count() as i64))
        .bind(under.as_deref().unwrap_or(""))
        .bind(i64::from(actor.is_some()))
        .bind(actor.unwrap_or(""))
        .bind(if limit < 0 { i64::MAX } else { limit })
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .enumerate()
            .map(|(i, r)| {
                entry(r).map_err(|e| {
                    DbError::Corrupt(format!(
                        "audit_log row {} (in seq order) is not an audit entry: {e}",
                        offset + i as i64 + 1
                    ))
                })
            })
            .collect()
    }

    /// The whole chain, in stored order (by `seq`).
    pub async fn audit_chain(&self) -> Result<Vec<AuditEntry>, DbError> {
        self.audit_entries(None, None, -1, 0).await
    }
}

impl Store {
    /// Where the data and the audit trail disagree: every record, scenario and run whose
    /// stored digest is not the `after_sha256` of the last entry that changed it (or that has
    /// no entry at all), and every such entry whose data is gone. Empty when they agree, as
    /// they always do when every change commits with its entry. Entries written before
    /// entries carried digests vouch for their resource without being compared.
    pub async fn audit_mismatches(&self) -> Result<Vec<String>, DbError> {
        use std::collections::{BTreeMap, BTreeSet};
        let chain = self.audit_chain().await?;
        let mut last: BTreeMap<String, String> = BTreeMap::new();
        let mut legacy: BTreeSet<String> = BTreeSet::new();
        for e in &chain {
            if e.before_sha256.is_empty() && e.after_sha256.is_empty() {
                legacy.insert(e.resource.clone());
            } else {
                last.insert(e.resource.clone(), e.after_sha256.clone());
            }
        }
        let mut data: BTreeMap<String, String> = BTreeMap::new();
        let corrupt = |what: &str, e: sqlx::Error| DbError::Corrupt(format!("{what}: {e}"));
        for r in sqlx::query("SELECT kind, id, body FROM records")
            .fetch_all(&self.pool)
            .await?
        {
            let (kind, id, body): (String, String, String) = (
                r.try_get(0).map_err(|e| corrupt("records", e))?,
                r.try_get(1).map_err(|e| corrupt("records", e))?,
                r.try_get(2).map_err(|e| corrupt("records", e))?,
            );
            data.insert(format!("/api/v1/{kind}/{id}"), crate::db::digest(&body));
        }
        for r in sqlx::query(
            "SELECT s.id, r.body FROM scenarios s \
             JOIN scenario_revisions r ON r.scenario_id = s.id AND r.revision = s.latest",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let id: String = r.try_get(0).map_err(|e| corrupt("scenarios", e))?;
            let body: String = r.try_get(1).map_err(|e| corrupt("scenarios", e))?;
            data.insert(format!("/api/v1/scenarios/{id}"), crate::db::digest(&body));
        }
        for r in sqlx::query("SELECT id, result FROM runs")
            .fetch_all(&self.pool)
            .await?
        {
            let id: String = r.try_get(0).map_err(|e| corrupt("runs", e))?;
            let result: String = r.try_get(1).map_err(|e| corrupt("runs", e))?;
            data.insert(format!("/api/v1/runs/{id}"), crate::db::digest(&result));
        }
        let mut out = vec![];
        for (resource, have) in &data {
            match last.get(resource) {
                Some(want) if want == have => {}
                Some(want) => out.push(format!(
                    "{resource}: stored data hashes to {have}, its last audit entry says {}",
                    if want.is_empty() {
                        "deleted"
                    } else {
                        want.as_str()
                    }
                )),
                None if legacy.contains(resource) => {}
                None => out.push(format!("{resource}: stored with no audit entry")),
            }
        }
        let checked = |r: &str| {
            r.starts_with("/api/v1/runs/") && r.matches('/').count() == 4
                || r.starts_with("/api/v1/scenarios/") && r.matches('/').count() == 4
                || xpufleet_app::RecordKind::ALL
                    .iter()
                    .any(|k| r.starts_with(&format!("/api/v1/{k}/")))
        };
        for (resource, want) in &last {
            if !want.is_empty() && !data.contains_key(resource) && checked(resource) {
                out.push(format!(
                    "{resource}: its last audit entry says it is stored, and it is not"
                ));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = vec![];
        for seq in 1..=n {
            let mut e = AuditEntry {
                seq,
                at: rfc3339(1_700_000_000 + seq),
                actor: "alice".into(),
                role: "planner".into(),
                action: "PUT /api/v1/pools/{id}".into(),
                resource: format!("/api/v1/pools/p{seq}"),
                revision: (seq % 2 == 0).then_some(seq),
                body_sha256: token::hash(""),
                before_sha256: String::new(),
                after_sha256: if seq == 3 {
                    token::hash("x")
                } else {
                    String::new()
                },
                prev_hash: out.last().map_or(GENESIS.to_string(), |e| e.hash.clone()),
                hash: String::new(),
            };
            e.hash = e.compute_hash();
            out.push(e);
        }
        out
    }

    #[test]
    fn the_canonical_form_is_a_list_of_netstrings() {
        let e = &chain(1)[0];
        let c = String::from_utf8(e.canonical()).unwrap();
        assert!(
            c.starts_with("1:1,20:2023-11-14T22:13:21Z,5:alice,7:planner,"),
            "{c}"
        );
        assert!(c.contains(",0:,64:e3b0c442"), "{c}");
        assert!(c.ends_with(&format!("64:{GENESIS},")), "{c}");
    }

    #[test]
    fn an_intact_chain_verifies_and_any_change_breaks_it() {
        let good = chain(5);
        assert_eq!(verify(&good), Ok(5));
        assert_eq!(verify(&[]), Ok(0));

        let mut altered = good.clone();
        altered[2].actor = "mallory".into();
        let b = verify(&altered).unwrap_err();
        assert_eq!((b.position, b.seq), (3, 3));
        assert!(b.reason.contains("altered"), "{b}");

        let mut deleted = good.clone();
        deleted.remove(1);
        assert_eq!(verify(&deleted).unwrap_err().position, 2);

        let mut swapped = good.clone();
        swapped.swap(1, 3);
        assert_eq!(verify(&swapped).unwrap_err().position, 2);

        // Renumbering after a deletion is caught by the hash links.
        let mut renumbered = good.clone();
        renumbered.remove(1);
        for (i, e) in renumbered.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        let b = verify(&renumbered).unwrap_err();
        assert_eq!(b.position, 2, "{b}");
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
