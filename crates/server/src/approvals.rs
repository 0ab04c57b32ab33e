//! Plan approval: a compliance officer marks a stored plan approved (a planner cannot; the
//! role table in `auth` says so). Approvals are append-only and each one is audited.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use crate::api::AppState;
use crate::audit::ChangeCtx;
use crate::auth::Caller;
use crate::db::{Change, DbError, Store};
use crate::error::{ApiError, ErrorBody};

/// What an approval may say.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// Why, or on what conditions.
    #[serde(default)]
    pub note: String,
}

/// One approval of a plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    pub run_id: String,
    /// The token's name.
    pub approved_by: String,
    pub role: String,
    /// UTC, RFC 3339.
    pub at: String,
    pub note: String,
}

impl Store {
    /// The approvals of a run, oldest first.
    pub async fn approvals(&self, run_id: &str) -> Result<Vec<Approval>, DbError> {
        let rows = sqlx::query(
            "SELECT run_id, approved_by, role, at, note FROM approvals WHERE run_id = $1 ORDER BY at, approved_by",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Approval {
                run_id: r.get(0),
                approved_by: r.get(1),
                role: r.get(2),
                at: r.get(3),
                note: r.get(4),
            })
            .collect())
    }
}

impl Change {
    /// Approves a stored plan; `Conflict` when this holder approved it before.
    pub async fn approve(&mut self, a: &Approval) -> Result<(), DbError> {
        let dup = sqlx::query("SELECT 1 FROM approvals WHERE run_id = $1 AND approved_by = $2")
            .bind(&a.run_id)
            .bind(&a.approved_by)
            .fetch_optional(self.conn())
            .await?;
        if dup.is_some() {
            return Err(DbError::Conflict { latest: 0 });
        }
        sqlx::query(
            "INSERT INTO approvals (run_id, approved_by, role, at, note) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&a.run_id)
        .bind(&a.approved_by)
        .bind(&a.role)
        .bind(&a.at)
        .bind(&a.note)
        .execute(self.conn())
        .await?;
        let json = serde_json::to_string(a).map_err(|e| DbError::Corrupt(e.to_string()))?;
        self.changed(None, None, "", &crate::db::digest(&json));
        Ok(())
    }
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
    let run = s.store.run(&id).await.map_err(|e| match e {
        DbError::NotFound => ApiError::not_found("run"),
        e => e.into(),
    })?;
    if run.kind != "plan" {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("run {id} is a {}; only plans are approved", run.kind),
        ));
    }
    let a = Approval {
        run_id: id,
        approved_by: caller.name,
        role: caller.role.to_string(),
        at: crate::audit::now_rfc3339(),
        note: req.note,
    };
    let mut c = s.store.begin_change(ctx.entry.clone()).await?;
    c.approve(&a).await.map_err(|e| match e {
        DbError::Conflict { .. } => ApiError::new(
            StatusCode::CONFLICT,
            format!("{} already approved this plan", a.approved_by),
        ),
        e => e.into(),
    })?;
    crate::audit::commit(c, &ctx, (StatusCode::CREATED, Json(a)).into_response()).await
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
