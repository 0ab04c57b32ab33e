//! What a compliance officer must act on soon: verification records and licences that expire
//! within N days (or have expired), pools and candidates unverified as of the date, and pools,
//! uses and candidates whose verdict changes at the next dated rule change. Every stored
//! scenario is read at its latest revision with the rule packs and catalog overrides stored now.

use std::collections::BTreeMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use xpufleet_comply::CheckReport;
use xpufleet_model::Date;

use crate::api::{AppState, Context, Verification};
use crate::error::{ApiError, ErrorBody};

/// The window and the date.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertsQuery {
    /// Days ahead to look for expiries, 0 to 3650 (default 30).
    pub within_days: Option<i64>,
    /// The day to look from (YYYY-MM-DD); today (UTC) by default.
    pub as_of: Option<String>,
}

/// One thing to act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    /// verification-expiring, verification-expired, licence-expiring, licence-expired,
    /// review-expiring, review-expired, unverified, verdict-changes or scenario-unreadable.
    pub kind: String,
    /// What it is about: `verifications/<id>`, `licences/<id>`, `scenarios/<id>`, with the
    /// pool or candidate after a `#` when it is about one.
    pub subject: String,
    /// The date it happens (expiry, rule change), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Days from `as_of` to `date` (negative when past).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
    pub message: String,
}

/// The answer of `GET /api/v1/alerts`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Alerts {
    pub as_of: String,
    pub within_days: i64,
    /// Most urgent first: by date (undated last), then kind and subject.
    pub alerts: Vec<Alert>,
}

fn days_between(from: Date, to: Date) -> i64 {
    let mut n = 0i64;
    let (mut a, sign) = if to >= from { (from, 1) } else { (to, -1) };
    let b = if to >= from { to } else { from };
    // Dates are close together here; step a year at a time first to stay fast.
    while a.plus_days(366) <= b {
        a = a.plus_days(366);
        n += 366;
    }
    while a < b {
        a = a.plus_days(1);
        n += 1;
    }
    sign * n
}

fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (y, m, d) = crate::audit::civil_from_days(secs.div_euclid(86_400));
    Date::from_ymd(y as i32, m, d).expect("a civil date")
}

/// An expiry alert when `until` is before `horizon`.
fn expiry(kind: &str, subject: String, until: Date, as_of: Date, horizon: Date) -> Option<Alert> {
    if until > horizon {
        return None;
    }
    let days = days_between(as_of, until);
    let (kind, message) = if until < as_of {
        (
            format!("{kind}-expired"),
            format!("expired on {until}, {} days ago", -days),
        )
    } else {
        (
            format!("{kind}-expiring"),
            format!("expires on {until}, in {days} days"),
        )
    };
    Some(Alert {
        kind,
        subject,
        date: Some(until.to_string()),
        days: Some(days),
        message,
    })
}

/// Verdicts by (target kind, target, user, use): the outcome and whether engines may use it.
fn verdicts(
    r: &CheckReport,
) -> BTreeMap<(String, String, String, String), (xpufleet_comply::Outcome, bool)> {
    r.uses
        .iter()
        .chain(&r.candidates)
        .map(|u| {
            let e = &u.eval;
            let mode = serde_json::to_value(e.mode)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            (
                (
                    e.target_kind.to_string(),
                    e.target.clone(),
                    e.user.clone(),
                    mode,
                ),
                (e.verdict.outcome, e.verdict.usable),
            )
        })
        .collect()
}

/// The alerts of one scenario revision. Blocking.
fn scenario_alerts(
    id: &str,
    body: &str,
    ctx: &Context,
    as_of: Date,
    horizon: Date,
) -> Result<Vec<Alert>, ApiError> {
    let loaded = ctx.load(body)?;
    let rules = ctx.rules();
    let subject = |what: &str| format!("scenarios/{id}#{what}");
    let mut out = vec![];
    for l in &loaded.scenario.licences {
        out.extend(expiry(
            "licence",
            subject(&l.id),
            l.valid_until,
            as_of,
            horizon,
        ));
    }
    // A cleared review that runs out puts its red flags back in the way: the officer must
    // renew it (or the use stops). Denials and escalations that expire are worth a look too.
    for r in &loaded.scenario.reviews {
        if r.date > as_of {
            continue;
        }
        if let Some(mut a) = expiry("review", subject(&r.target), r.valid_until, as_of, horizon) {
            a.message = format!(
                "review {} ({} by {}, rules {}) of {} {}",
                r.id,
                r.decision,
                r.reviewer,
                r.rules.join(", "),
                r.target,
                a.message
            );
            out.push(a);
        }
    }
    let now = xpufleet_app::check(&loaded, &rules, Some(as_of))?.report;
    for u in &now.unverified {
        out.push(Alert {
            kind: "unverified".into(),
            subject: subject(&u.target),
            date: None,
            days: None,
            message: format!(
                "{} {} at {} is unverified as of {as_of}: missing {}",
                u.target_kind,
                u.target,
                u.site,
                u.missing.join(", ")
            ),
        });
    }
    let set = xpufleet_app::rule_set(&loaded, &rules)?;
    if let Some((date, rule_ids)) = xpufleet_comply::timeline::next_rule_change(&set, as_of) {
        let then = xpufleet_app::check(&loaded, &rules, Some(date))?.report;
        let before = verdicts(&now);
        for (key, after) in verdicts(&then) {
            let Some(was) = before.get(&key) else {
                continue;
            };
            if *was == after {
                continue;
            }
            let (kind, target, user, mode) = key;
            let ((was, was_usable), (after, usable)) = (*was, after);
            // Stricter when the use stops being usable, or its outcome tightens.
            let direction = if (was_usable && !usable) || (was_usable == usable && after > was) {
                "stricter"
            } else {
                "looser"
            };
            let usable_word = |u: bool| if u { "usable" } else { "not usable" };
            out.push(Alert {
                kind: "verdict-changes".into(),
                subject: subject(&target),
                date: Some(date.to_string()),
                days: Some(days_between(as_of, date)),
                message: format!(
                    "{kind} {target}, {user} ({mode}): {was} until {date}, then {after}, \
                     {direction}: {} -> {} (rules {})",
                    usable_word(was_usable),
                    usable_word(usable),
                    rule_ids.join(", ")
                ),
            });
        }
    }
    Ok(out)
}

#[utoipa::path(get, path = "/api/v1/alerts", params(AlertsQuery),
    responses((status = 200, body = Alerts), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn alerts(
    State(s): State<AppState>,
    q: Result<Query<AlertsQuery>, QueryRejection>,
) -> Result<Json<Alerts>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::field("query", e.body_text()))?;
    let within_days = q.within_days.unwrap_or(30);
    if !(0..=3650).contains(&within_days) {
        return Err(ApiError::field("within_days", "expected 0 to 3650"));
    }
    let as_of = match &q.as_of {
        None => today(),
        Some(d) => d
            .parse::<Date>()
            .map_err(|e| ApiError::field("as_of", format!("{e}; expected YYYY-MM-DD")))?,
    };
    let horizon = as_of.plus_days(within_days);
    let mut out = vec![];
    for (id, body, _) in s.store.records("verifications", -1, 0).await? {
        if let Ok(v) = serde_json::from_str::<Verification>(&body) {
            if let Some(to) = v.valid_to {
                out.extend(expiry(
                    "verification",
                    format!("verifications/{id}"),
                    to,
                    as_of,
                    horizon,
                ));
            }
        }
    }
    for (id, body, _) in s.store.records("licences", -1, 0).await? {
        if let Ok(l) = serde_json::from_str::<xpufleet_model::Licence>(&body) {
            out.extend(expiry(
                "licence",
                format!("licences/{id}"),
                l.valid_until,
                as_of,
                horizon,
            ));
        }
    }
    let ctx = Context::current(&s.store).await?;
    let mut scenarios = vec![];
    for (id, _, _) in s.store.list_scenarios(i64::MAX, 0).await? {
        let r = s.store.latest_revision(&id).await?;
        scenarios.push((id, r.body));
    }
    let from_scenarios = s
        .computations
        .run(move || {
            let mut out = vec![];
            for (id, body) in scenarios {
                match scenario_alerts(&id, &body, &ctx, as_of, horizon) {
                    Ok(a) => out.extend(a),
                    Err(e) => out.push(Alert {
                        kind: "scenario-unreadable".into(),
                        subject: format!("scenarios/{id}"),
                        date: None,
                        days: None,
                        message: e.body.error,
                    }),
                }
            }
            out
        })
        .await?;
    out.extend(from_scenarios);
    out.sort_by(|a, b| {
        (a.date.is_none(), &a.date, &a.kind, &a.subject, &a.message).cmp(&(
            b.date.is_none(),
            &b.date,
            &b.kind,
            &b.subject,
            &b.message,
        ))
    });
    Ok(Json(Alerts {
        as_of: as_of.to_string(),
        within_days,
        alerts: out,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn days_count_both_ways() {
        assert_eq!(days_between(d("2026-01-01"), d("2026-01-31")), 30);
        assert_eq!(days_between(d("2026-01-31"), d("2026-01-01")), -30);
        assert_eq!(days_between(d("2024-01-01"), d("2026-01-01")), 731);
    }

    #[test]
    fn expiries_inside_the_window_only() {
        let as_of = d("2026-06-01");
        let horizon = as_of.plus_days(30);
        assert!(expiry("licence", "x".into(), d("2026-07-02"), as_of, horizon).is_none());
        let a = expiry("licence", "x".into(), d("2026-07-01"), as_of, horizon).unwrap();
        assert_eq!((a.kind.as_str(), a.days), ("licence-expiring", Some(30)));
        let a = expiry("licence", "x".into(), d("2026-05-30"), as_of, horizon).unwrap();
        assert_eq!((a.kind.as_str(), a.days), ("licence-expired", Some(-2)));
    }
}
