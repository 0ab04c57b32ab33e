//! Plan approval: a compliance officer marks a stored plan approved (a planner cannot; the
//! role table in `auth` says so). Approvals are append-only and each one is audited.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::AppState;
use crate::audit::{ChangeCtx, Reply};
use crate::auth::Caller;
use crate::db::DbError;
use crate::error::{ApiError, ErrorBody};
use xpufleet_store::usecases;

pub use xpufleet_store::approvals::Approval;

/// What an approval may say.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// Why, or on what conditions.
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/runs/{id}/approve", params(("id" = String, Path)),
    request_body(content = ApproveRequest, description = "optional"),
    responses((status = 201, body = Approval), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "already approved by this token's holder"),
        (status = 422, body = ErrorBody, description = "the run is not a plan")),
    security(("bearer" = [])))]
pub async fn approve(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<ChangeCtx>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    let req: ApproveRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ApproveRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::field("body", e.to_string()))?
    };
    let input = usecases::ApprovePlan {
        run_id: id,
        by: caller.name,
        role: caller.role.to_string(),
        note: req.note,
    };
    let reply = |a: &Approval| Reply::json(StatusCode::CREATED, a);
    let a = usecases::approve_plan(&s.store, ctx.entry.clone(), input, |a| {
        reply(a).ok().and_then(|r| ctx.keep(&r))
    })
    .await?;
    Ok(ctx.answer(reply(&a)?))
}

#[utoipa::path(get, path = "/api/v1/runs/{id}/approvals", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Approval>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_approvals(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Approval>>, ApiError> {
    s.store.run(&id).await.map_err(|e| match e {
        DbError::NotFound => ApiError::not_found("run"),
        e => e.into(),
    })?;
    Ok(Json(s.store.approvals(&id).await?))
}
