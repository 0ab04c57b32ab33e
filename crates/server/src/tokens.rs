//! Token administration over HTTP (admin only): create (the secret is shown once), list
//! (never a secret or a digest), revoke by name. Revocation applies at once in this process.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::AppState;
use crate::audit::ChangeCtx;
use crate::auth::Role;
use crate::db::DbError;
use crate::error::{ApiError, ErrorBody};
use crate::token;

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

/// A created token: the only time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub name: String,
    pub role: String,
    /// Send as `Authorization: Bearer <token>`; the server keeps only its SHA-256.
    pub token: String,
}

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
    let name = xpufleet_store::tokens::check_new_token(&req.name, &req.role)
        .map_err(|(field, why)| ApiError::field(field, why))?;
    let role: Role = req
        .role
        .parse()
        .map_err(|e: String| ApiError::field("role", e))?;
    let tok = token::generate().map_err(ApiError::internal)?;
    let digest = token::hash(&tok);
    let mut c = s.store.begin_change(ctx.entry.clone()).await?;
    c.create_token(&digest, name, role.as_str(), &crate::audit::now_rfc3339())
        .await
        .map_err(|e| match e {
            DbError::Conflict { .. } => ApiError::new(
                StatusCode::CONFLICT,
                format!("an unrevoked token is named {name:?}; revoke it first"),
            ),
            e => e.into(),
        })?;
    let mut resp = (
        StatusCode::CREATED,
        Json(CreatedToken {
            name: name.to_string(),
            role: role.to_string(),
            token: tok,
        }),
    )
        .into_response();
    if let Ok(v) = format!("/api/v1/tokens/{name}").parse() {
        resp.headers_mut().insert("location", v);
    }
    // A retry with the same Idempotency-Key gets this instead: the secret is never stored.
    let kept = serde_json::json!({
        "name": name,
        "role": role.as_str(),
        "token_sha256": digest,
        "token": null,
        "note": "the secret was shown once, in the first answer to this request; it is not \
                 stored and cannot be shown again (revoke the token and create another if it \
                 was lost)",
    });
    resp.extensions_mut()
        .insert(crate::audit::KeptInstead(kept.to_string()));
    crate::audit::commit(c, &ctx, resp).await
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
    let mut c = s.store.begin_change(ctx.entry.clone()).await?;
    c.revoke_tokens(&name).await.map_err(|e| match e {
        DbError::NotFound => ApiError::not_found("unrevoked token of that name"),
        e => e.into(),
    })?;
    let resp = crate::audit::commit(c, &ctx, StatusCode::NO_CONTENT.into_response()).await?;
    s.auth.forget_all();
    Ok(resp)
}
