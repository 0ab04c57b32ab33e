//! Screening list versions (issue 24 item 4): `POST /api/v1/screening-lists` stores a new
//! version of the restricted-party list (CSL CSV or JSON) under the SHA-256 of its text and, in
//! the same audited change, the re-screening of every party of every stored scenario against it
//! and the version before it (`xpufleet_app::screening::rescreen`: new and cleared hits).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xpufleet_app::screening::Rescreen;
use xpufleet_model::Date;

use crate::api::AppState;
use crate::audit::{ChangeCtx, Reply};
use crate::db::DbError;
use crate::error::{ApiError, ErrorBody};
use xpufleet_store::usecases;

/// The threshold and the day.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScreenQuery {
    /// Name similarity at or above which a match is a hit, in (0, 1]; the CLI's default.
    pub threshold: Option<f64>,
    /// The day whose listings count (YYYY-MM-DD); today (UTC) by default.
    pub as_of: Option<String>,
}

/// A stored list version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScreeningListInfo {
    /// 1 for the first version stored, then 2, …
    pub seq: i64,
    pub sha256: String,
    /// When it was stored (UTC, RFC 3339).
    pub stored_at: String,
    pub new_hits: usize,
    pub cleared_hits: usize,
}

fn stored(text: &str) -> Result<Rescreen, ApiError> {
    serde_json::from_str(text).map_err(ApiError::internal)
}

#[utoipa::path(post, path = "/api/v1/screening-lists", params(ScreenQuery),
    request_body(content = String, content_type = "text/csv", description = "the list, in the Consolidated Screening List CSV layout (or its JSON as application/json)"),
    responses((status = 201, body = Rescreen, description = "stored; every party re-screened"),
        (status = 200, body = Rescreen, description = "this version was stored before: its re-screening"),
        (status = 400, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn store_list(
    State(s): State<AppState>,
    Extension(ctx): Extension<ChangeCtx>,
    q: Result<Query<ScreenQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::field("query", e.body_text()))?;
    let ct = crate::api::media_type(&headers);
    if !matches!(ct.as_str(), "text/csv" | "application/json") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type {ct:?}: expected text/csv or application/json"),
        ));
    }
    let raw = body.map_err(|e| ApiError::field("body", e.body_text()))?;
    let text = std::str::from_utf8(&raw)
        .map_err(|_| ApiError::field("body", "expected UTF-8 text"))?
        .to_string();
    if text.trim().is_empty() {
        return Err(ApiError::field(
            "body",
            "expected a screening list, found nothing",
        ));
    }
    let threshold = q
        .threshold
        .unwrap_or(xpufleet_comply::screening::DEFAULT_THRESHOLD);
    let as_of = match &q.as_of {
        None => crate::alerts::today(),
        Some(d) => d
            .parse::<Date>()
            .map_err(|e| ApiError::field("as_of", format!("{e}; expected YYYY-MM-DD")))?,
    };
    let sha = crate::db::digest(&text);
    match s.store.screening_list(&sha).await {
        Ok((_, r)) => return Ok(Json(stored(&r)?).into_response()),
        Err(DbError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let previous = s.store.latest_screening_list().await?;
    let context = crate::api::context(&s.store).await?;
    let mut scenarios = vec![];
    for (id, _, _) in s.store.list_scenarios(i64::MAX, 0).await? {
        scenarios.push((id.clone(), s.store.latest_revision(&id).await?.body));
    }
    let (sha2, text2) = (sha.clone(), text.clone());
    let rescreen = s
        .computations
        .run(move || {
            xpufleet_app::screening::rescreen(
                &context,
                &scenarios,
                (&sha2, &text2),
                previous.as_ref().map(|(s, t)| (s.as_str(), t.as_str())),
                threshold,
                as_of,
            )
        })
        .await??;
    let json = serde_json::to_string(&rescreen).map_err(ApiError::internal)?;
    let list = usecases::ScreeningList {
        sha256: sha,
        text,
        rescreen_json: json,
    };
    let reply = Reply::json(StatusCode::CREATED, &rescreen)?;
    usecases::store_screening_list(&s.store, ctx.entry.clone(), &list, |_| ctx.keep(&reply))
        .await?;
    Ok(ctx.answer(reply))
}

#[utoipa::path(get, path = "/api/v1/screening-lists",
    responses((status = 200, body = Vec<ScreeningListInfo>)), security(("bearer" = [])))]
pub async fn list_lists(
    State(s): State<AppState>,
) -> Result<Json<Vec<ScreeningListInfo>>, ApiError> {
    let mut out = vec![];
    for (seq, sha256, stored_at, r) in s.store.screening_lists().await? {
        let r = stored(&r)?;
        out.push(ScreeningListInfo {
            seq,
            sha256,
            stored_at,
            new_hits: r.new_hits.len(),
            cleared_hits: r.cleared_hits.len(),
        });
    }
    Ok(Json(out))
}

#[utoipa::path(get, path = "/api/v1/screening-lists/{sha256}", params(("sha256" = String, Path)),
    responses((status = 200, body = Rescreen), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_list(
    State(s): State<AppState>,
    Path(sha256): Path<String>,
) -> Result<Json<Rescreen>, ApiError> {
    let (_, r) = s.store.screening_list(&sha256).await.map_err(|e| match e {
        DbError::NotFound => ApiError::not_found("screening list"),
        e => e.into(),
    })?;
    Ok(Json(stored(&r)?))
}
