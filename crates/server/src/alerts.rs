//! `GET /api/v1/alerts`: what a compliance officer must act on soon, as
//! `xpufleet_app::alerts` computes it (the rule is documented there) for every stored scenario
//! at its latest revision and the records stored now. The handler reads the store and the
//! clock; the service decides.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use xpufleet_model::Date;

pub use xpufleet_app::alerts::{Alert, Alerts};

use crate::api::AppState;
use crate::error::{ApiError, ErrorBody};

/// The window and the date.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// Days ahead to look for expiries, 0 to 3650 (default 30); expired items are always listed.
    pub within_days: Option<i64>,
    /// The day to look from (YYYY-MM-DD); today (UTC) by default.
    pub as_of: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/alerts", params(AlertsQuery),
    responses((status = 200, body = Alerts), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn alerts(
    State(s): State<AppState>,
    q: Result<Query<AlertsQuery>, QueryRejection>,
) -> Result<Json<Alerts>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::field("query", e.body_text()))?;
    let within_days = q
        .within_days
        .unwrap_or(xpufleet_app::alerts::DEFAULT_WITHIN_DAYS);
    let as_of = match &q.as_of {
        None => today(),
        Some(d) => d
            .parse::<Date>()
            .map_err(|e| ApiError::field("as_of", format!("{e}; expected YYYY-MM-DD")))?,
    };
    let ctx = crate::api::context(&s.store).await?;
    let mut scenarios = vec![];
    for (id, _, _) in s.store.list_scenarios(i64::MAX, 0).await? {
        let r = s.store.latest_revision(&id).await?;
        scenarios.push((id, r.body));
    }
    let answer = s
        .computations
        .run(move || xpufleet_app::alerts::alerts(&ctx, &scenarios, as_of, within_days))
        .await??;
    Ok(Json(answer))
}

/// Today (UTC), by the server's clock.
pub(crate) fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (y, m, d) = crate::audit::civil_from_days(secs.div_euclid(86_400));
    Date::from_ymd(y as i32, m, d).expect("a civil date")
}
