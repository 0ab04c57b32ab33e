//! The audit trail: one entry per successful mutation and per stored computation, appended to
//! `audit_log` and chained by SHA-256 so that any later UPDATE, DELETE or reordering of rows is
//! found by `verify` (and by `xpufleet audit verify`).
//!
//! The hash of an entry is SHA-256 over its canonical form: for each of the fields `seq`, `at`,
//! `actor`, `role`, `action`, `resource`, `revision`, `body_sha256`, `prev_hash`, in that
//! order, the field's value as UTF-8 bytes written as `<byte length>:<bytes>,` (a netstring;
//! `seq` and `revision` in decimal, a missing `revision` as the empty string). `prev_hash` of
//! the first entry is 64 zeros; `seq` counts from 1 without gaps. `docs/server.md` gives the
//! algorithm as a few lines of Python for a third party to check an export.

use std::sync::OnceLock;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};

use crate::api::{AppState, Page};
use crate::auth::Caller;
use crate::db::{DbError, Store};
use crate::error::{ApiError, ErrorBody};
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
        let mut out = Vec::new();
        for f in fields {
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
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub actor: String,
    pub role: String,
    pub action: String,
    pub resource: String,
    pub revision: Option<i64>,
    pub body_sha256: String,
}

/// Appends are serialised in this process; the `seq` primary key makes a concurrent appender
/// in another process fail and retry instead of forking the chain.
fn append_lock() -> &'static tokio::sync::Mutex<()> {
    static LOCK: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    LOCK.get_or_init(Default::default)
}

const COLUMNS: &str =
    "seq, at, actor, role, action, resource, revision, body_sha256, prev_hash, hash";

fn entry(row: &AnyRow) -> AuditEntry {
    AuditEntry {
        seq: row.get(0),
        at: row.get(1),
        actor: row.get(2),
        role: row.get(3),
        action: row.get(4),
        resource: row.get(5),
        revision: row.get(6),
        body_sha256: row.get(7),
        prev_hash: row.get(8),
        hash: row.get(9),
    }
}

impl Store {
    /// Appends one entry after the last; returns it.
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
        let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        let (seq, prev_hash) = match last {
            Some(r) => (r.get::<i64, _>(0) + 1, r.get::<String, _>(1)),
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
            prev_hash,
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        sqlx::query(&format!(
            "INSERT INTO audit_log ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
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
        .execute(&mut *tx)
        .await?;
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
        Ok(rows.iter().map(entry).collect())
    }

    /// The whole chain, in stored order (by `seq`).
    pub async fn audit_chain(&self) -> Result<Vec<AuditEntry>, DbError> {
        self.audit_entries(None, None, -1, 0).await
    }
}

/// The filters and page of `GET /api/v1/audit`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries about this path and what is under it (`/api/v1/scenarios/abc`).
    pub resource: Option<String>,
    /// Only entries by this token name.
    pub actor: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery),
    responses((status = 200, body = Page<AuditEntry>), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_audit(
    State(s): State<AppState>,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::field("query", e.body_text()))?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field("limit", "expected 1 to 500"));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::field("offset", "expected 0 or more"));
    }
    let mut items = s
        .store
        .audit_entries(q.resource.as_deref(), q.actor.as_deref(), limit + 1, offset)
        .await?;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    Ok(Json(Page {
        items,
        next_offset: more.then_some(offset + limit),
    }))
}

/// The request body, read once by the first middleware that needs it and handed on.
#[derive(Debug, Clone)]
pub struct BodyDigest(pub String);

/// Reads the whole body (at most `MAX_BODY_BYTES`: `413` beyond) and puts it back.
pub async fn buffer_body(req: Request) -> Result<(Request, Bytes), Response> {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, crate::MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body over {} bytes", crate::MAX_BODY_BYTES),
            )
            .into_response()
        })?;
    let mut req = Request::from_parts(parts, Body::from(bytes.clone()));
    let digest = token::hex(&Sha256::digest(&bytes));
    req.extensions_mut().insert(BodyDigest(digest));
    Ok((req, bytes))
}

/// Whether an answer to `method` is audited: every successful change, and every GET that
/// computed and stored something new.
fn audited(method: &Method, resp: &Response) -> bool {
    if !resp.status().is_success() {
        return false;
    }
    if method == Method::GET || method == Method::HEAD {
        return resp
            .headers()
            .get("x-run-source")
            .is_some_and(|v| v == "computed");
    }
    true
}

/// The largest answer read back for its `revision` / `version` field.
const REVISION_PEEK_BYTES: usize = 256 << 10;

/// The middleware after `auth::authorize`: runs the request, and when it changed or computed
/// something, appends its entry before the answer leaves. An entry that cannot be appended
/// turns the answer into a `503`, so no acknowledged change goes unrecorded.
pub async fn record(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let path = req.uri().path().to_string();
    let Some(caller) = req.extensions().get::<Caller>().cloned() else {
        return ApiError::internal("audit: no caller").into_response();
    };
    let (req, digest) = if method == Method::GET || method == Method::HEAD {
        let d = token::hex(&Sha256::digest(b""));
        (req, d)
    } else {
        let req = match req.extensions().get::<BodyDigest>() {
            Some(_) => req,
            None => match buffer_body(req).await {
                Ok((r, _)) => r,
                Err(resp) => return resp,
            },
        };
        let d = req
            .extensions()
            .get::<BodyDigest>()
            .map(|d| d.0.clone())
            .unwrap_or_default();
        (req, d)
    };
    let resp = next.run(req).await;
    if !audited(&method, &resp) {
        return resp;
    }
    let resource = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(String::from)
        .unwrap_or(path);
    let (resp, revision) = peek_revision(resp).await;
    let new = NewEntry {
        actor: caller.name,
        role: caller.role.to_string(),
        action: format!("{method} {route}"),
        resource,
        revision,
        body_sha256: digest,
    };
    match s.store.append_audit(new).await {
        Ok(_) => resp,
        Err(e) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the change was made but its audit entry could not be written: {e}"),
        )
        .into_response(),
    }
}

/// The top-level `revision` or `version` of a small JSON answer, and the answer unchanged.
async fn peek_revision(resp: Response) -> (Response, Option<i64>) {
    use axum::body::HttpBody;
    let json = resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let small = resp
        .body()
        .size_hint()
        .upper()
        .is_some_and(|n| n as usize <= REVISION_PEEK_BYTES);
    if !json || !small {
        return (resp, None);
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, REVISION_PEEK_BYTES).await else {
        return (
            ApiError::internal("audit: unreadable answer").into_response(),
            None,
        );
    };
    let rev = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("revision").or_else(|| v.get("version")).cloned())
        .and_then(|v| v.as_i64());
    (Response::from_parts(parts, Body::from(bytes)), rev)
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
