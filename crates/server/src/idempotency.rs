//! `Idempotency-Key` on POST: the first successful answer to a key is stored (per token), and
//! a retry with the same key and the same request gets that answer again instead of a second
//! change; the same key with a different request is `422`, and while the first is still being
//! answered, `409`.
//!
//! The answer to a change is stored in the change's own transaction (the use case stores the answer
//! `ChangeCtx::keep` makes), so a key names one change or none, whatever crashes, and across every
//! server on one database: a second request with the key that commits after the first is rolled
//! back (`409`, and its retry replays the first answer). An answer that shows a secret once (a new
//! token) is stored without it: the replay names the token and its digest and says the secret was
//! shown once. The answer to a computation (a plan, a run) is stored after it; the run it stored is
//! content-addressed, so a retry computes nothing twice.

use std::collections::HashSet;
use std::sync::Mutex;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::api::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::token;

pub use xpufleet_store::idempotency::Stored;

/// The answer headers kept with a stored answer.
const KEPT_HEADERS: [&str; 6] = [
    "content-type",
    "location",
    "etag",
    "x-run-id",
    "x-run-source",
    "x-identical",
];

/// The largest answer stored for replay; a bigger one is answered but not stored.
pub(crate) const MAX_STORED_BYTES: usize = 16 << 20;

/// The headers of an answer that are kept with it.
pub(crate) fn kept_headers(h: &axum::http::HeaderMap) -> Vec<(String, String)> {
    KEPT_HEADERS
        .iter()
        .filter_map(|k| {
            h.get(*k)
                .and_then(|v| v.to_str().ok())
                .map(|v| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// Keys being answered now, as (token name, key).
/// The (token name, key) pairs whose first request is still being answered.
pub(crate) type InFlight = std::sync::Arc<Mutex<HashSet<(String, String)>>>;

struct Claim(InFlight, (String, String));

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut s) = self.0.lock() {
            s.remove(&self.1);
        }
    }
}

fn replay(s: Stored) -> Response {
    let mut resp = (
        StatusCode::from_u16(s.status).unwrap_or(StatusCode::OK),
        s.body,
    )
        .into_response();
    let h = resp.headers_mut();
    h.remove("content-type");
    for (k, v) in s.headers {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            h.insert(k, v);
        }
    }
    h.insert("idempotent-replayed", HeaderValue::from_static("true"));
    resp
}

/// The middleware between `auth::authorize` and `audit::record`.
pub async fn idempotent(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get("idempotency-key") else {
        return next.run(req).await;
    };
    let key = match key.to_str() {
        Ok(k) if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => {
            k.to_string()
        }
        _ => {
            return ApiError::field(
                "Idempotency-Key",
                "expected 1 to 255 visible ASCII characters",
            )
            .into_response()
        }
    };
    let Some(caller) = req.extensions().get::<Caller>().cloned() else {
        return ApiError::internal("idempotency: no caller").into_response();
    };
    let path = req.uri().to_string();
    let (mut req, bytes) = match crate::audit::buffer_body(req).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let mut h = Sha256::new();
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(&bytes);
    let digest = token::hex(&h.finalize());
    let slot = (caller.name.clone(), key.clone());
    let _claim = {
        let Ok(mut set) = s.in_flight.lock() else {
            return ApiError::internal("idempotency: poisoned").into_response();
        };
        if !set.insert(slot.clone()) {
            return ApiError::new(
                StatusCode::CONFLICT,
                "a request with this Idempotency-Key is still being answered; retry later",
            )
            .into_response();
        }
        Claim(s.in_flight.clone(), slot)
    };
    match s.store.idempotent_answer(&caller.name, &key).await {
        Ok(Some(stored)) if stored.request_sha256 == digest => return replay(stored),
        Ok(Some(_)) => {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Idempotency-Key was used before with a different request",
            )
            .into_response()
        }
        Ok(None) => {}
        Err(e) => return ApiError::from(e).into_response(),
    }
    req.extensions_mut().insert(crate::audit::IdemSlot {
        token_name: caller.name.clone(),
        key: key.clone(),
        request_sha256: digest.clone(),
    });
    let resp = next.run(req).await;
    if !resp.status().is_success()
        || resp
            .extensions()
            .get::<crate::audit::AnswerKept>()
            .is_some()
    {
        return resp;
    }
    let fits = {
        use axum::body::HttpBody;
        resp.body()
            .size_hint()
            .upper()
            .is_some_and(|n| n as usize <= MAX_STORED_BYTES)
    };
    if !fits {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_STORED_BYTES).await else {
        return ApiError::internal("idempotency: the answer could not be read").into_response();
    };
    let headers = kept_headers(&parts.headers);
    if let Ok(text) = std::str::from_utf8(&bytes) {
        let stored = Stored {
            request_sha256: digest,
            status: parts.status.as_u16(),
            headers,
            body: text.to_string(),
        };
        if let Err(e) = s
            .store
            .store_idempotent_answer(&caller.name, &key, &stored)
            .await
        {
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the change was made but its answer could not be kept for retries: {e}"),
            )
            .into_response();
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}
