//! The audit trail over HTTP: `GET /api/v1/audit`, and the middleware that gives every
//! successful mutation its entry, and `Reply`, the answer a handler makes of a use case's
//! output (`xpufleet_store::usecases`) so that it commits with the change. The chain itself
//! (its entries, canonical form, `verify` and `Store::audit_mismatches`) is
//! `xpufleet_store::audit`, re-exported here.
//!
//! **Invariant:** a change and its entry are one transaction (`db::Change`): the data, the
//! entry and the stored idempotent answer are committed together or not at all (each use
//! case commits them; `ChangeCtx::keep` makes the answer it stores).

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use crate::api::{AppState, Page};
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::token;
use xpufleet_store::usecases::Kept;

pub use xpufleet_store::audit::*;

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

/// What a handler needs to make a change: the audit entry's who and what (completed by the
/// change's writes), and the `Idempotency-Key` slot whose answer commits with it. Put in the
/// request's extensions by `record`.
#[derive(Debug, Clone)]
pub struct ChangeCtx {
    pub entry: NewEntry,
    pub key: Option<IdemSlot>,
}

/// A POST's `Idempotency-Key`, put in the request's extensions by `idempotency::idempotent`.
#[derive(Debug, Clone)]
pub struct IdemSlot {
    pub token_name: String,
    pub key: String,
    /// SHA-256 of the path and body, to tell a retry from another request under the key.
    pub request_sha256: String,
}

/// On an answer: its change and audit entry were committed together, so `record` does not
/// append another.
#[derive(Debug, Clone, Copy)]
pub struct Committed;

/// On an answer: its idempotent answer was committed with its change, so
/// `idempotency::idempotent` does not store it again.
#[derive(Debug, Clone, Copy)]
pub struct AnswerKept;

/// The answer to a change, made from its use case's output before the change commits, so
/// that its idempotent answer (`ChangeCtx::keep`) commits with the change.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// What a retry with the same `Idempotency-Key` gets instead of `body`, when `body` shows
    /// a secret once.
    pub kept_instead: Option<String>,
}

impl Reply {
    /// `v` as JSON, as `axum::Json` answers it.
    pub fn json<T: Serialize>(status: StatusCode, v: &T) -> Result<Reply, ApiError> {
        let body = serde_json::to_vec(v).map_err(ApiError::internal)?;
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Ok(Reply {
            status,
            headers,
            body: Bytes::from(body),
            kept_instead: None,
        })
    }

    /// An answer without a body.
    pub fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
            kept_instead: None,
        }
    }

    /// With header `name` set to `value` (left out when `value` cannot be a header value).
    pub fn with(mut self, name: header::HeaderName, value: &str) -> Reply {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }
}

impl ChangeCtx {
    /// The idempotent answer to keep with the change that `r` answers, when the request
    /// carries an `Idempotency-Key` and `r` is a success.
    pub fn keep(&self, r: &Reply) -> Option<Kept> {
        let slot = self.key.as_ref()?;
        if !r.status.is_success() {
            return None;
        }
        Some(Kept {
            token_name: slot.token_name.clone(),
            key: slot.key.clone(),
            answer: crate::idempotency::Stored {
                request_sha256: slot.request_sha256.clone(),
                status: r.status.as_u16(),
                headers: crate::idempotency::kept_headers(&r.headers),
                body: match &r.kept_instead {
                    Some(k) => k.clone(),
                    None => String::from_utf8_lossy(&r.body).into_owned(),
                },
            },
        })
    }

    /// `r` as the response to a change committed with its entry (and, by `keep`, its
    /// idempotent answer): marked so that neither `record` nor `idempotency::idempotent`
    /// stores them again.
    pub fn answer(&self, r: Reply) -> Response {
        let kept = self.key.is_some() && r.status.is_success();
        let mut resp = (r.status, r.headers, r.body).into_response();
        resp.extensions_mut().insert(Committed);
        if kept {
            resp.extensions_mut().insert(AnswerKept);
        }
        resp
    }
}

/// The middleware after `idempotency::idempotent`: gives the handler its `ChangeCtx`, and
/// after an answer that changed or computed something but was not `Committed` with its entry
/// (a stored answer served again, a replay), appends its entry before the answer leaves. An
/// entry that cannot be appended turns the answer into a `503`.
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
    let (mut req, digest) = if method == Method::GET || method == Method::HEAD {
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
    let ctx = ChangeCtx {
        entry: NewEntry {
            actor: caller.name,
            role: caller.role.to_string(),
            action: format!("{method} {route}"),
            resource: path.clone(),
            revision: None,
            body_sha256: digest,
            ..NewEntry::default()
        },
        key: req.extensions().get::<IdemSlot>().cloned(),
    };
    req.extensions_mut().insert(ctx.clone());
    let resp = next.run(req).await;
    if !audited(&method, &resp) || resp.extensions().get::<Committed>().is_some() {
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
        resource,
        revision,
        ..ctx.entry
    };
    match s.store.append_audit(new).await {
        Ok(_) => resp,
        Err(e) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the answer was computed but its audit entry could not be written: {e}"),
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
