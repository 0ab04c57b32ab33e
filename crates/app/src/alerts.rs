//! What a compliance officer must act on soon, computed once for the API and the web UI.
//!
//! **The rule.** Within `within_days` of `as_of` (30 by default) and also anything already
//! past due, since an expired licence or review is more urgent than one about to expire:
//! - stored verification, licence and review records that expire (`<kind>-expiring`) or have
//!   expired (`<kind>-expired`), named `verifications/<id>`, `licences/<id>`, `reviews/<id>`;
//! - a scenario's own licences, reviews and site verifications that do the same (those that
//!   stored records replace or add are reported once, as records), named
//!   `scenarios/<id>#<what>`;
//! - pools and candidates unverified as of the date (`unverified`);
//! - a scenario's licences whose quantity or value its pools have drawn down to 80% or more
//!   (`licence-drawn`, with what to do; an over-drawn licence says which pools it no longer
//!   covers);
//! - every pool, use and candidate whose verdict changes at the next dated rule change, with
//!   the direction (`verdict-changes`).
//!
//! A review is alerted only from its date on: a decision recorded for the future is not yet
//! in force. Nothing here reads the clock: the caller says which day it is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use xpufleet_comply::CheckReport;
use xpufleet_model::{Date, Licence, Review};

use crate::records::{RecordKind, VerificationRecord};
use crate::service::Context;
use crate::Error;

/// The window's default length in days.
pub const DEFAULT_WITHIN_DAYS: i64 = 30;

/// The longest window, in days.
pub const MAX_WITHIN_DAYS: i64 = 3650;

/// One thing to act on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    /// verification-expiring, verification-expired, licence-expiring, licence-expired,
    /// review-expiring, review-expired, licence-drawn, unverified, verdict-changes or
    /// scenario-unreadable.
    pub kind: String,
    /// What it is about: `verifications/<id>`, `licences/<id>`, `reviews/<id>`,
    /// `scenarios/<id>`, with the pool or candidate after a `#` when it is about one.
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
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Alerts {
    pub as_of: String,
    pub within_days: i64,
    /// Most urgent first: by date (undated last), then kind and subject.
    pub alerts: Vec<Alert>,
}

/// Days from `from` to `to`, negative when `to` is earlier.
pub fn days_between(from: Date, to: Date) -> i64 {
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

/// An expiry alert when `until` is on or before `horizon` (past ones included).
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

/// A review's expiry alert, which says what runs out with it.
fn review_expiry(subject: String, r: &Review, as_of: Date, horizon: Date) -> Option<Alert> {
    if r.date > as_of {
        return None;
    }
    // A cleared review that runs out puts its red flags back in the way: the officer must
    // renew it (or the use stops). Denials and escalations that expire are worth a look too.
    let mut a = expiry("review", subject, r.valid_until, as_of, horizon)?;
    a.message = format!(
        "review {} ({} by {}, rules {}) of {} {}",
        r.id,
        r.decision,
        r.reviewer,
        r.rules.join(", "),
        r.target,
        a.message
    );
    Some(a)
}

/// Verdicts by (target kind, target, user, use): the outcome and whether engines may use it.
type Verdicts = BTreeMap<(String, String, String, String), (xpufleet_comply::Outcome, bool)>;

fn verdicts(r: &CheckReport) -> Verdicts {
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

/// The alerts of one scenario revision's text under `ctx`. Blocking.
fn scenario_alerts(
    id: &str,
    text: &str,
    ctx: &Context,
    as_of: Date,
    horizon: Date,
) -> Result<Vec<Alert>, Error> {
    let (loaded, _) = ctx.load_effective(text)?;
    let rules = ctx.rules();
    let stored = |kind: RecordKind, id: &str| ctx.records_of(kind).any(|(i, _)| i == id);
    let subject = |what: &str| format!("scenarios/{id}#{what}");
    let mut out = vec![];
    for l in &loaded.scenario.licences {
        if !stored(RecordKind::Licences, &l.id) {
            out.extend(expiry(
                "licence",
                subject(&l.id),
                l.valid_until,
                as_of,
                horizon,
            ));
        }
    }
    for r in &loaded.scenario.reviews {
        if !stored(RecordKind::Reviews, &r.id) {
            out.extend(review_expiry(subject(&r.target), r, as_of, horizon));
        }
    }
    for site in &loaded.scenario.sites {
        for v in &site.verifications {
            if v.verified_by.starts_with("verifications/") {
                continue;
            }
            if let Some(mut a) = expiry(
                "verification",
                subject(&site.id),
                v.valid_until,
                as_of,
                horizon,
            ) {
                a.message = format!(
                    "{} verification of {} at {} ({}) {}",
                    format!("{:?}", v.role).to_lowercase(),
                    v.entity,
                    site.id,
                    v.evidence,
                    a.message
                );
                out.push(a);
            }
        }
    }
    let now = crate::check(&loaded, &rules, Some(as_of))?.report;
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
    for l in &now.licences {
        if let Some(message) = &l.alert {
            out.push(Alert {
                kind: "licence-drawn".into(),
                subject: subject(&l.id),
                date: None,
                days: None,
                message: message.clone(),
            });
        }
    }
    let set = crate::rule_set(&loaded, &rules)?;
    if let Some((date, rule_ids)) = xpufleet_comply::timeline::next_rule_change(&set, as_of) {
        let then = crate::check(&loaded, &rules, Some(date))?.report;
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

/// Everything to act on as of `as_of` within `within_days` (0 to `MAX_WITHIN_DAYS`), for the
/// stored records in `ctx` and the scenarios given as (id, text of the latest revision). A
/// scenario that cannot be read is itself an alert. Blocking.
pub fn alerts(
    ctx: &Context,
    scenarios: &[(String, String)],
    as_of: Date,
    within_days: i64,
) -> Result<Alerts, Error> {
    if !(0..=MAX_WITHIN_DAYS).contains(&within_days) {
        return Err(Error::Option {
            field: "within_days".into(),
            message: format!("expected 0 to {MAX_WITHIN_DAYS}"),
        });
    }
    let horizon = as_of.plus_days(within_days);
    let mut out = vec![];
    for (id, body) in ctx.records_of(RecordKind::Verifications) {
        if let Ok(v) = serde_json::from_str::<VerificationRecord>(body) {
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
    for (id, body) in ctx.records_of(RecordKind::Licences) {
        if let Ok(l) = serde_json::from_str::<Licence>(body) {
            out.extend(expiry(
                "licence",
                format!("licences/{id}"),
                l.valid_until,
                as_of,
                horizon,
            ));
        }
    }
    for (id, body) in ctx.records_of(RecordKind::Reviews) {
        if let Ok(r) = serde_json::from_str::<Review>(body) {
            out.extend(review_expiry(format!("reviews/{id}"), &r, as_of, horizon));
        }
    }
    for (id, text) in scenarios {
        match scenario_alerts(id, text, ctx, as_of, horizon) {
            Ok(a) => out.extend(a),
            Err(e) => out.push(Alert {
                kind: "scenario-unreadable".into(),
                subject: format!("scenarios/{id}"),
                date: None,
                days: None,
                message: e.to_string(),
            }),
        }
    }
    out.sort_by(|a, b| {
        (a.date.is_none(), &a.date, &a.kind, &a.subject, &a.message).cmp(&(
            b.date.is_none(),
            &b.date,
            &b.kind,
            &b.subject,
            &b.message,
        ))
    });
    Ok(Alerts {
        as_of: as_of.to_string(),
        within_days,
        alerts: out,
    })
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
    fn expiries_inside_the_window_and_past_ones() {
        let as_of = d("2026-06-01");
        let horizon = as_of.plus_days(30);
        assert!(expiry("licence", "x".into(), d("2026-07-02"), as_of, horizon).is_none());
        let a = expiry("licence", "x".into(), d("2026-07-01"), as_of, horizon).unwrap();
        assert_eq!((a.kind.as_str(), a.days), ("licence-expiring", Some(30)));
        let a = expiry("licence", "x".into(), d("2026-05-30"), as_of, horizon).unwrap();
        assert_eq!((a.kind.as_str(), a.days), ("licence-expired", Some(-2)));
    }

    /// A stored review about to expire is alerted once, as a record, even when it applies to
    /// a scenario; one decided for later is not alerted yet.
    #[test]
    fn a_stored_review_about_to_expire_is_alerted_once() {
        let text = include_str!("../../../examples/capex-2025.toml");
        let sc = crate::load_file(None, None).unwrap().scenario;
        let pool = sc.pools[0].id.clone();
        let review = |id: &str, date: &str| {
            serde_json::json!({"id": id, "target": pool, "rules": ["pack/rule"],
                "decision": "cleared", "reviewer": "officer", "date": date,
                "evidence": "memo 7", "valid_until": "2026-06-20"})
            .to_string()
        };
        let ctx = Context::from_stored([
            ("reviews".into(), "r1".into(), review("r1", "2026-01-01"), 1),
            ("reviews".into(), "r2".into(), review("r2", "2026-06-10"), 1),
        ])
        .unwrap();
        let scenarios = [("s".to_string(), text.to_string())];
        let a = alerts(&ctx, &scenarios, d("2026-06-01"), 30).unwrap();
        let reviews: Vec<&Alert> = a
            .alerts
            .iter()
            .filter(|a| a.kind.starts_with("review-"))
            .collect();
        assert_eq!(reviews.len(), 1, "{reviews:?}");
        assert_eq!(reviews[0].kind, "review-expiring");
        assert_eq!(reviews[0].subject, "reviews/r1");
        assert_eq!(reviews[0].days, Some(19));
        assert!(alerts(&ctx, &scenarios, d("2026-06-01"), 3651).is_err());
    }
}
