//! Token administration over HTTP (admin only): create (the secret is shown once), list
//! (never a secret or a digest), revoke by name. Revocation applies at once in this process.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::AppState;
use crate::audit::{ChangeCtx, Reply};
use crate::error::{ApiError, ErrorBody};
use xpufleet_store::usecases;

pub use xpufleet_store::tokens::{token_digest, TokenInfo};

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Who or what holds it; unique among unrevoked tokens.
    pub name: String,
    /// viewer, planner, compliance or admin.
    pub role: String,
}

pub use xpufleet_store::usecases::CreatedToken;

#[utoipa::path(post, path = "/api/v1/tokens", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "an unrevoked token has that name")),
    security(("bearer" = [])))]
pub async fn create_token(
    State(s): State<AppState>,
    Extension(ctx): Extension<ChangeCtx>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| ApiError::new(e.status(), e.body_text()))?;
    let req: NewToken = serde_json::from_slice(&body).map_err(|e| {
        let mut err = ApiError::field("body", e.to_string());
        err.body.problems[0].line = Some(e.line());
        err.body.problems[0].col = Some(e.column());
        err
    })?;
    let reply = |t: &CreatedToken| {
        let mut r = Reply::json(StatusCode::CREATED, t)?
            .with(header::LOCATION, &format!("/api/v1/tokens/{}", t.name));
        // A retry with the same Idempotency-Key gets this instead: the secret is never stored.
        r.kept_instead = Some(t.kept_instead());
        Ok::<_, ApiError>(r)
    };
    let t = usecases::create_token(&s.store, ctx.entry.clone(), &req.name, &req.role, |t| {
        reply(t).ok().and_then(|r| ctx.keep(&r))
    })
    .await?;
    Ok(ctx.answer(reply(&t)?))
}

#[utoipa::path(get, path = "/api/v1/tokens",
    responses((status = 200, body = Vec<TokenInfo>)), security(("bearer" = [])))]
pub async fn list_tokens(State(s): State<AppState>) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    Ok(Json(s.store.list_tokens().await?))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{name}", params(("name" = String, Path)),
    responses((status = 204, description = "every unrevoked token of that name is revoked"),
        (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_token(
    State(s): State<AppState>,
    Extension(ctx): Extension<ChangeCtx>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let reply = Reply::empty(StatusCode::NO_CONTENT);
    usecases::revoke_token(&s.store, ctx.entry.clone(), &name, |_| ctx.keep(&reply)).await?;
    s.auth.forget_all();
    Ok(ctx.answer(reply))
}
