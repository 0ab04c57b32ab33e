//! The pages: each handler reads the store, asks `compute` for the answer it shows (or shows
//! that answer's progress), and renders HTML with every value escaped.

use std::collections::HashMap;
use std::fmt::Write;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use xpufleet_model::{Acquisition, Date};
use xpufleet_report::chart::{self, LineSeries, Lines, Span, Timeline};
use xpufleet_report::components;
use xpufleet_report::format::{esc, fixed, int, sig3, usd};
use xpufleet_report::Palette;
use xpufleet_report::ReportData;

use super::compute::{JobState, Output, Task};
use super::{error_page, html, html_doc, urlencode, Action, Signed, UiState};
use crate::db::{DbError, Revision};
use xpufleet_app::RecordKind;
use xpufleet_app::VerificationRecord as Verification;
use xpufleet_store::usecases::UseCaseError;

type Page = Result<Response, Response>;

use xpufleet_report::palette::PLANNED;

fn internal(e: impl std::fmt::Display) -> Response {
    error_page(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
}

fn bad(msg: &str) -> Response {
    error_page(StatusCode::BAD_REQUEST, msg)
}

/// The common query of the reading pages.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    pub scenario: Option<String>,
    pub revision: Option<i64>,
    pub as_of: Option<String>,
    pub outcome: Option<String>,
    pub site: Option<String>,
    pub country: Option<String>,
    pub tenant: Option<String>,
    pub within_days: Option<String>,
    pub edit: Option<String>,
    /// Set by the redirect after a valid save: the record saved ("licences/ID").
    pub saved: Option<String>,
}

fn parse_date(field: &str, v: &Option<String>) -> Result<Option<Date>, Response> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s
            .parse::<Date>()
            .map(Some)
            .map_err(|e| bad(&format!("{field}: {e}; expected a date as YYYY-MM-DD"))),
    }
}

/// The scenario a page is about: the one asked for, else the first stored. `None` when there is
/// none yet.
async fn pick(s: &UiState, q: &PageQuery) -> Result<Option<(String, String, Revision)>, Response> {
    let id = match &q.scenario {
        Some(id) if !id.is_empty() => id.clone(),
        _ => match s
            .store
            .list_scenarios(1, 0)
            .await
            .map_err(internal)?
            .first()
        {
            Some((id, _, _)) => id.clone(),
            None => return Ok(None),
        },
    };
    let rev = match q.revision {
        Some(n) => s.store.revision(&id, n).await,
        None => s.store.latest_revision(&id).await,
    };
    let rev = match rev {
        Ok(r) => r,
        Err(DbError::NotFound) => {
            return Err(error_page(
                StatusCode::NOT_FOUND,
                &format!("scenario {id:?} (revision {:?}) is not stored", q.revision),
            ))
        }
        Err(e) => return Err(internal(e)),
    };
    let name = xpufleet_io::scenario::parse_scenario(&rev.body, "scenario")
        .map(|sc| sc.name)
        .unwrap_or_default();
    Ok(Some((id, name, rev)))
}

fn no_scenario(title: &str, who: &Signed) -> Response {
    if !super::may(&who.0.role, Action::Compute) {
        let body = format!(
            "<h1>{}</h1><p>No scenario is stored yet; a planner, compliance officer or admin can store one.</p>",
            esc(title)
        );
        return html(html_doc(title, Some(who), "", &body));
    }
    let body = format!(
        "<h1>{}</h1><p>No scenario is stored yet.</p>\
         <form method=\"post\" action=\"/scenarios\">{}<input type=\"hidden\" name=\"example\" value=\"1\">\
         <button type=\"submit\">Store the built-in example scenario</button></form>\
         <p>Or <a href=\"/scenarios\">paste a scenario's TOML</a>.</p>",
        esc(title),
        who.csrf_field()
    );
    html(html_doc(title, Some(who), "", &body))
}

/// The scenario and date chooser at the top of a reading page.
async fn chooser(
    s: &UiState,
    action: &str,
    current: &str,
    as_of: Option<&str>,
    extra: &str,
) -> Result<String, Response> {
    let all = s.store.list_scenarios(500, 0).await.map_err(internal)?;
    let opts: String = all
        .iter()
        .map(|(id, name, rev)| {
            format!(
                "<option value=\"{}\"{}>{} (revision {rev})</option>",
                esc(id),
                if id == current { " selected" } else { "" },
                esc(if name.is_empty() { id } else { name })
            )
        })
        .collect();
    let date = match as_of {
        Some(d) => format!(
            "<span class=\"ctl\"><label for=\"as_of\">As of</label><input id=\"as_of\" name=\"as_of\" type=\"date\" value=\"{}\"></span>",
            esc(d)
        ),
        None => String::new(),
    };
    Ok(format!(
        "<form method=\"get\" action=\"{action}\" class=\"controls\" aria-label=\"Choose what to show\">\
         <span class=\"ctl\"><label for=\"scenario\">Scenario</label><select id=\"scenario\" name=\"scenario\">{opts}</select></span>\
         {date}{extra}<button type=\"submit\">Show</button></form>"
    ))
}

/// A job's progress, refreshing itself until the answer is ready.
fn progress_page(title: &str, who: &Signed, job: &super::Job, again: &str) -> Response {
    let (step, done) = match job.state() {
        JobState::Running { step, steps_done } => (step, steps_done),
        JobState::Done(_) => ("finishing".into(), 5),
    };
    let total = match job.task {
        Task::Report { .. } => 5,
        Task::Plan { .. } => 2,
    };
    let body = format!(
        "<h1>{}</h1><section class=\"part\" role=\"status\" aria-live=\"polite\" id=\"progress\">\
         <p>Computing: <b>{}</b> ({}s so far). This page refreshes itself; you may leave it and come back.</p>\
         <progress max=\"{total}\" value=\"{}\" aria-label=\"Steps done\">{} of {total}</progress>\
         <p><a href=\"{}\">Refresh now</a></p></section>",
        esc(title),
        esc(&step),
        job.started.elapsed().as_secs(),
        done.min(total),
        done.min(total),
        esc(again)
    );
    let head = format!(
        "<meta http-equiv=\"refresh\" content=\"1;url={}\">",
        esc(again)
    );
    html(html_doc(title, Some(who), &head, &body))
}

/// The report for a page: ready, or the progress page.
async fn report_for(
    s: &UiState,
    who: &Signed,
    title: &str,
    again: &str,
    (id, rev): (&str, &Revision),
    task: Task,
) -> Result<std::sync::Arc<ReportData>, Response> {
    let records = super::compute::current(&s.store).await.map_err(internal)?;
    let job = s.jobs.start(id, rev.revision, &rev.body, records, task);
    match job.state() {
        JobState::Done(Ok(Output::Report(r))) => Ok(r),
        JobState::Done(Ok(_)) => Err(internal("a job answered with the wrong kind of result")),
        JobState::Done(Err(e)) => Err(error_page(StatusCode::UNPROCESSABLE_ENTITY, &e)),
        JobState::Running { .. } => Err(progress_page(title, who, &job, again)),
    }
}

fn default_report(as_of: Option<Date>) -> Task {
    Task::Report {
        as_of,
        policy: "fifo-het".into(),
        seed: 0,
        failures: true,
    }
}

fn self_url(path: &str, q: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = q
        .iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", urlencode(v)))
        })
        .collect();
    if parts.is_empty() {
        path.into()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

fn table(id: &str, caption: &str, head: &[&str], num: &[usize], rows: &[Vec<String>]) -> String {
    let mut s = format!(
        "<div class=\"tablewrap\"><table id=\"{id}\"><caption>{}</caption><thead><tr>",
        esc(caption)
    );
    for (i, h) in head.iter().enumerate() {
        let _ = write!(
            s,
            "<th scope=\"col\"{}>{}</th>",
            if num.contains(&i) {
                " class=\"num\""
            } else {
                ""
            },
            esc(h)
        );
    }
    s.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        let _ = write!(
            s,
            "<tr><td colspan=\"{}\" class=\"muted\">none</td></tr>",
            head.len()
        );
    }
    for r in rows {
        s.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let _ = write!(
                s,
                "<td{}>{c}</td>",
                if num.contains(&i) {
                    " class=\"num\""
                } else {
                    ""
                }
            );
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div>");
    s
}

fn figure(id: &str, title: &str, svg: &str) -> String {
    format!(
        "<figure class=\"chart\" id=\"{id}\"><figcaption>{}</figcaption>{svg}</figure>",
        esc(title)
    )
}

/// A value's name as the JSON answers spell it ("max-compute", "within-gap").
fn name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn opt_num(v: Option<f64>) -> String {
    v.map(sig3).unwrap_or_else(|| "unknown".into())
}

// ---- fleet ---------------------------------------------------------------------------------

pub async fn fleet(State(s): State<UiState>, who: Signed, Query(q): Query<PageQuery>) -> Page {
    let as_of = parse_date("as_of", &q.as_of)?;
    let Some((id, name, rev)) = pick(&s, &q).await? else {
        return Ok(no_scenario("Fleet", &who));
    };
    let again = self_url(
        "/fleet",
        &[("scenario", Some(&id)), ("as_of", q.as_of.as_deref())],
    );
    let r = report_for(
        &s,
        &who,
        "Fleet",
        &again,
        (&id, &rev),
        default_report(as_of),
    )
    .await?;
    let sc = super::compute::current(&s.store)
        .await
        .map_err(internal)?
        .load_effective(&rev.body)
        .map_err(|e| error_page(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()))?
        .0
        .scenario;
    let mut b = format!(
        "<h1>Fleet</h1><p class=\"explain\">{} (revision {}), as of {}: the pools today and the ones the plan buys or leases.</p>",
        esc(&name),
        rev.revision,
        r.meta.as_of
    );
    b.push_str(&chooser(&s, "/fleet", &id, Some(&r.meta.as_of.to_string()), "").await?);
    let Some(f) = r.fleet.get() else {
        b.push_str(&format!(
            "<p class=\"na\">Not available: {}</p>",
            esc(r.fleet.reason().unwrap_or(""))
        ));
        return Ok(html(html_doc("Fleet", Some(&who), "", &b)));
    };
    let accels: u64 = f.pools.iter().map(|p| p.accels).sum();
    let pf: f64 = f.pools.iter().filter_map(|p| p.peak_pflops).sum();
    let mw: f64 = f.pools.iter().filter_map(|p| p.power_mw).sum();
    let _ = write!(
        b,
        "<section class=\"part\" aria-labelledby=\"h-totals\"><h2 id=\"h-totals\">At a glance</h2>\
         <p class=\"headline\" id=\"fleet-headline\">{} accelerators in {} pools, <b>{} PFLOPS</b> dense BF16 peak, {} MW facility power.</p>",
        int(accels),
        f.pools.len(),
        sig3(pf),
        sig3(mw)
    );
    b.push_str("<div class=\"grid2\">");
    for (cid, title, rows) in [
        ("chart-compute-vendor", "PFLOPS by vendor", &f.by_vendor),
        ("chart-compute-country", "PFLOPS by country", &f.by_country),
    ] {
        let svg = components::compute_chart(rows, title, chart::HALF);
        b.push_str(&figure(cid, title, &svg));
    }
    b.push_str("</div>");
    let svg = components::power_chart(&f.sites, &r.labels, chart::FULL);
    b.push_str(&figure("chart-power-site", "Power by site", &svg));
    b.push_str("</section>");
    // By vendor, country and site, as tables too (the numbers behind the charts).
    b.push_str("<section class=\"part\" aria-labelledby=\"h-by\"><h2 id=\"h-by\">By vendor, country and site</h2><div class=\"grid2\">");
    for (tid, caption, rows) in [
        ("by-vendor", "Vendor", &f.by_vendor),
        ("by-country", "Country", &f.by_country),
    ] {
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    esc(&r.key),
                    int(r.accels_existing + r.accels_planned),
                    sig3(r.pflops_existing + r.pflops_planned),
                ]
            })
            .collect();
        b.push_str(&table(
            tid,
            caption,
            &[caption, "Accelerators", "PFLOPS"],
            &[1, 2],
            &rows,
        ));
    }
    b.push_str("</div>");
    let site_rows: Vec<Vec<String>> = f
        .sites
        .iter()
        .map(|x| {
            vec![
                esc(&x.site),
                esc(&x.country),
                sig3(x.existing_mw + x.planned_mw),
                sig3(x.capacity_mw),
            ]
        })
        .collect();
    b.push_str(&table(
        "by-site",
        "Sites: power drawn against capacity",
        &["Site", "Country", "Drawn (MW)", "Capacity (MW)"],
        &[2, 3],
        &site_rows,
    ));
    b.push_str("</section>");
    // Pools, with tenure and verification.
    let comp = r.compliance.get();
    let rows: Vec<Vec<String>> = f
        .pools
        .iter()
        .map(|p| {
            let (tenure, lessor) = match sc
                .pools
                .iter()
                .find(|x| x.id == p.id)
                .map(|x| &x.acquisition)
            {
                Some(Acquisition::Bought { .. }) => ("owned".to_string(), String::new()),
                Some(Acquisition::Leased { from, .. }) => ("leased".to_string(), esc(from)),
                None => (format!("{} (planned)", p.origin.as_str()), String::new()),
            };
            let verified = comp.map(|c| {
                let rows: Vec<_> = c
                    .rows
                    .iter()
                    .filter(|r| r.target_kind == "pool" && r.target == p.id)
                    .collect();
                if rows.is_empty() {
                    "—".to_string()
                } else if rows.iter().all(|r| r.verified) {
                    "<span class=\"ok\">verified</span>".to_string()
                } else {
                    "<span class=\"bad\">unverified</span>".to_string()
                }
            });
            vec![
                format!(
                    "<a href=\"/compliance?scenario={}&amp;as_of={}#pool-{}\"><code>{}</code></a>",
                    urlencode(&id),
                    r.meta.as_of,
                    esc(&p.id),
                    esc(&p.id)
                ),
                esc(&p.accelerator),
                esc(&p.vendor),
                format!("{} ({})", esc(&p.site), esc(&p.country)),
                tenure,
                lessor,
                verified.unwrap_or_default(),
                int(p.accels),
                opt_num(p.peak_pflops),
                opt_num(p.power_mw),
            ]
        })
        .collect();
    b.push_str("<section class=\"part\" aria-labelledby=\"h-pools\"><h2 id=\"h-pools\">Pools</h2>");
    b.push_str(&table(
        "pools",
        "Every pool: tenure, lessor, verification state, size",
        &[
            "Pool",
            "Accelerator",
            "Vendor",
            "Site",
            "Tenure",
            "Lessor",
            "Verification",
            "Accelerators",
            "PFLOPS",
            "MW",
        ],
        &[7, 8, 9],
        &rows,
    ));
    b.push_str("</section>");
    Ok(html(html_doc("Fleet", Some(&who), "", &b)))
}

// ---- compliance ----------------------------------------------------------------------------

fn select(id: &str, label: &str, values: &[String], current: Option<&str>) -> String {
    let mut s = format!(
        "<span class=\"ctl\"><label for=\"{id}\">{label}</label><select id=\"{id}\" name=\"{id}\"><option value=\"\">any</option>"
    );
    for v in values {
        let _ = write!(
            s,
            "<option value=\"{0}\"{1}>{0}</option>",
            esc(v),
            if current == Some(v.as_str()) {
                " selected"
            } else {
                ""
            }
        );
    }
    s.push_str("</select></span>");
    s
}

pub async fn compliance(State(s): State<UiState>, who: Signed, Query(q): Query<PageQuery>) -> Page {
    let as_of = parse_date("as_of", &q.as_of)?;
    let within: i64 = match q.within_days.as_deref().map(str::trim) {
        None | Some("") => xpufleet_app::alerts::DEFAULT_WITHIN_DAYS,
        Some(v) => match v.parse() {
            Ok(n) if (0..=xpufleet_app::alerts::MAX_WITHIN_DAYS).contains(&n) => n,
            _ => {
                return Err(bad(
                    "within_days: expected a whole number of days from 0 to 3650",
                ))
            }
        },
    };
    let Some((id, name, rev)) = pick(&s, &q).await? else {
        return Ok(no_scenario("Compliance", &who));
    };
    let again = self_url(
        "/compliance",
        &[
            ("scenario", Some(&id)),
            ("as_of", q.as_of.as_deref()),
            ("outcome", q.outcome.as_deref()),
            ("site", q.site.as_deref()),
            ("country", q.country.as_deref()),
            ("tenant", q.tenant.as_deref()),
        ],
    );
    let r = report_for(
        &s,
        &who,
        "Compliance",
        &again,
        (&id, &rev),
        default_report(as_of),
    )
    .await?;
    let records = super::compute::current(&s.store).await.map_err(internal)?;
    let date = r.meta.as_of;
    let body = rev.body.clone();
    let scenarios = [(id.clone(), body)];
    let al = s
        .app
        .computations
        .run(move || xpufleet_app::alerts::alerts(&records, &scenarios, date, within))
        .await
        .map_err(internal)?
        .map_err(|e| error_page(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()))?
        .alerts;
    let Some(c) = r.compliance.get() else {
        return Err(error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            r.compliance.reason().unwrap_or("no compliance section"),
        ));
    };
    let uniq = |f: &dyn Fn(&xpufleet_report::ComplianceRow) -> String| {
        let mut v: Vec<String> = c.rows.iter().map(f).collect();
        v.sort();
        v.dedup();
        v
    };
    let outcomes = uniq(&|r| r.outcome.to_string());
    let sites = uniq(&|r| r.site.clone());
    let countries = uniq(&|r| r.country.clone());
    let tenants = uniq(&|r| r.user.clone());
    let filters = format!(
        "{}{}{}{}<span class=\"ctl\"><label for=\"within_days\">Alerts within (days)</label>\
         <input id=\"within_days\" name=\"within_days\" type=\"number\" min=\"0\" max=\"3650\" value=\"{within}\"></span>",
        select("outcome", "Outcome", &outcomes, q.outcome.as_deref()),
        select("site", "Site", &sites, q.site.as_deref()),
        select("country", "Country", &countries, q.country.as_deref()),
        select("tenant", "Tenant", &tenants, q.tenant.as_deref()),
    );
    let mut b = format!(
        "<h1>Compliance</h1><p class=\"explain\">{} (revision {}): may each tenant use each pool and candidate on <b id=\"as-of\">{date}</b>, under which rule, and what would change it.</p>",
        esc(&name),
        rev.revision
    );
    b.push_str(&chooser(&s, "/compliance", &id, Some(&date.to_string()), &filters).await?);
    let shown: Vec<&xpufleet_report::ComplianceRow> = c
        .rows
        .iter()
        .filter(|r| {
            q.outcome
                .as_deref()
                .is_none_or(|o| o.is_empty() || r.outcome.to_string() == o)
        })
        .filter(|r| {
            q.site
                .as_deref()
                .is_none_or(|o| o.is_empty() || r.site == o)
        })
        .filter(|r| {
            q.country
                .as_deref()
                .is_none_or(|o| o.is_empty() || r.country == o)
        })
        .filter(|r| {
            q.tenant
                .as_deref()
                .is_none_or(|o| o.is_empty() || r.user == o)
        })
        .collect();
    let usable = shown.iter().filter(|r| r.usable).count();
    let _ = write!(
        b,
        "<section class=\"part\" aria-labelledby=\"h-verdicts\"><h2 id=\"h-verdicts\">Verdicts</h2>\
         <p class=\"headline\" id=\"verdict-summary\">{usable} of {} uses shown are usable.</p>",
        shown.len()
    );
    // The report's verdict chart, over the rows shown.
    let shown_rows: Vec<xpufleet_report::ComplianceRow> =
        shown.iter().map(|r| (*r).clone()).collect();
    b.push_str(&figure(
        "chart-verdicts",
        "Verdicts",
        &components::verdict_chart(&shown_rows, chart::FULL),
    ));
    // The first row of each target carries its anchor (ids are unique on a page).
    let mut anchored = std::collections::HashSet::new();
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|r| {
            let anchor = if anchored.insert((r.target_kind.clone(), r.target.clone())) {
                format!(" id=\"{}-{}\"", esc(&r.target_kind), esc(&r.target))
            } else {
                String::new()
            };
            let rules: Vec<String> = r
                .rules
                .iter()
                .enumerate()
                .map(|(i, rule)| {
                    let cite = r.citations.get(i).filter(|c| !c.is_empty());
                    match cite {
                        Some(c) => format!(
                            "<code>{}</code><div class=\"muted\">{}</div>",
                            esc(rule),
                            esc(c)
                        ),
                        None => format!("<code>{}</code>", esc(rule)),
                    }
                })
                .collect();
            vec![
                format!(
                    "<code{anchor}>{}</code> <span class=\"muted\">{}</span>",
                    esc(&r.target),
                    esc(&r.target_kind)
                ),
                format!("{} · {}", esc(&r.user), esc(&r.use_kind)),
                format!("{} ({})", esc(&r.site), esc(&r.country)),
                format!(
                    "<span class=\"pill o-{}\">{}</span>",
                    esc(&r.outcome.to_string()),
                    esc(&r.outcome.to_string())
                ),
                if r.usable {
                    "<span class=\"ok\">usable</span>".into()
                } else if !r.verified {
                    "<span class=\"bad\">not usable: unverified</span>".into()
                } else {
                    "<span class=\"bad\">not usable</span>".into()
                },
                if rules.is_empty() {
                    "—".into()
                } else {
                    rules.join("")
                },
                esc(&r.reasons.join("; ")),
                match (&r.would_change, r.verified) {
                    (Some(w), _) => esc(w),
                    (None, false) => {
                        "valid owner and operator verification records (see Records)".into()
                    }
                    (None, true) => String::new(),
                },
            ]
        })
        .collect();
    b.push_str(&table(
        "verdicts",
        "Every pool and candidate, by tenant and use",
        &[
            "Target",
            "Tenant · use",
            "Site",
            "Outcome",
            "Usable",
            "Rule and citation",
            "Why",
            "What would change it",
        ],
        &[],
        &rows,
    ));
    if !c.unverified.is_empty() {
        let rows: Vec<Vec<String>> = c
            .unverified
            .iter()
            .map(|u| {
                vec![
                    format!("<code>{}</code>", esc(&u.pool)),
                    esc(&u.site),
                    int(u.accels),
                    esc(&u.missing.join("; ")),
                ]
            })
            .collect();
        b.push_str(&table(
            "unverified",
            "Pools without valid verification (no engine may use them)",
            &["Pool", "Site", "Accelerators", "Missing"],
            &[2],
            &rows,
        ));
        if super::may(&who.0.role, Action::EditRecords) {
            let _ = write!(
                b,
                "<p><a href=\"/records?scenario={}\">Add a verification record</a></p>",
                urlencode(&id)
            );
        }
    }
    b.push_str("</section>");
    let rows: Vec<Vec<String>> = al
        .iter()
        .map(|a| {
            vec![
                esc(a.date.as_deref().unwrap_or("")),
                esc(&a.kind),
                esc(&format!("{}: {}", a.subject, a.message)),
            ]
        })
        .collect();
    let _ = write!(
        b,
        "<section class=\"part\" aria-labelledby=\"h-alerts\"><h2 id=\"h-alerts\">What expires or changes next</h2>\
         <p class=\"explain\">Verifications, licences and reviews that expire within {within} days after {date} or have expired, unverified pools, and verdicts that change at the next rule change.</p>{}</section>",
        table("alerts", "Alerts", &["Date", "Kind", "What"], &[], &rows)
    );
    Ok(html(html_doc("Compliance", Some(&who), "", &b)))
}

// ---- records -------------------------------------------------------------------------------

fn input(
    id: &str,
    label: &str,
    ty: &str,
    value: &str,
    help: &str,
    problem: Option<&str>,
) -> String {
    let (inv, prob) = match problem {
        Some(p) => (
            " aria-invalid=\"true\"".to_string(),
            format!(
                "<span class=\"problem\" id=\"{id}-problem\">{}</span>",
                esc(p)
            ),
        ),
        None => (String::new(), String::new()),
    };
    let desc = if problem.is_some() {
        format!(" aria-describedby=\"{id}-problem\"")
    } else if !help.is_empty() {
        format!(" aria-describedby=\"{id}-help\"")
    } else {
        String::new()
    };
    let help = if help.is_empty() {
        String::new()
    } else {
        format!(
            "<span class=\"muted\" id=\"{id}-help\">{}</span>",
            esc(help)
        )
    };
    format!(
        "<div class=\"field\"><label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{}\" type=\"{ty}\" value=\"{}\"{inv}{desc}>{help}{prob}</div>",
        id.rsplit('-').next().unwrap_or(id),
        esc(value)
    )
}

pub async fn records(State(s): State<UiState>, who: Signed, Query(q): Query<PageQuery>) -> Page {
    records_page(&s, &who, &q, HashMap::new(), None, StatusCode::OK).await
}

async fn records_page(
    s: &UiState,
    who: &Signed,
    q: &PageQuery,
    form: HashMap<String, String>,
    problem: Option<(String, String, String)>,
    status: StatusCode,
) -> Page {
    let mut b = String::from(
        "<h1>Records</h1><p class=\"explain\">Owner and operator verifications, licences and compliance reviews on file. \
         They are laid over every scenario's own; a change shows at once on the Compliance page.</p>",
    );
    if let Some((_, _, msg)) = &problem {
        let _ = write!(
            b,
            "<p class=\"problem\" role=\"alert\" id=\"form-problem\">Not saved: {}</p>",
            esc(msg)
        );
    } else if let Some(saved) = q.saved.as_deref().filter(|v| !v.is_empty()) {
        let _ = write!(
            b,
            "<p class=\"ok banner\" role=\"status\" id=\"saved\">Saved <code>{}</code>; the change is audited.</p>",
            esc(saved)
        );
    }
    let ver = s
        .store
        .records(RecordKind::Verifications.as_str(), -1, 0)
        .await
        .map_err(internal)?;
    let lic = s
        .store
        .records(RecordKind::Licences.as_str(), -1, 0)
        .await
        .map_err(internal)?;
    let rev = s
        .store
        .records(RecordKind::Reviews.as_str(), -1, 0)
        .await
        .map_err(internal)?;
    let may_edit = super::may(&who.0.role, Action::EditRecords);
    let rows: Vec<Vec<String>> = ver
        .iter()
        .map(|(rid, body, v)| {
            let j: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
            let f = |k: &str| esc(j.get(k).and_then(|x| x.as_str()).unwrap_or(""));
            vec![
                format!("<code>{}</code>", esc(rid)),
                f("entity"),
                f("role"),
                f("subject"),
                f("valid_from"),
                f("valid_to"),
                v.to_string(),
                if may_edit {
                    format!(
                        "<a href=\"/records?edit=verifications/{}#verification-form\">Edit</a>",
                        urlencode(rid)
                    )
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    b.push_str(
        "<section class=\"part\" aria-labelledby=\"h-ver\"><h2 id=\"h-ver\">Verifications</h2>",
    );
    b.push_str(&table(
        "verification-records",
        "Verification records",
        &[
            "Id",
            "Entity",
            "Role",
            "Site or pool",
            "From",
            "To",
            "Version",
            "",
        ],
        &[6],
        &rows,
    ));
    // Prefill from the record being edited, or from the form just refused.
    let mut cur: HashMap<String, String> = form.clone();
    if cur.is_empty() {
        if let Some(rid) = q
            .edit
            .as_deref()
            .and_then(|e| e.strip_prefix("verifications/"))
        {
            if let Some((_, body, _)) = ver.iter().find(|(i, _, _)| i == rid) {
                let j: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
                cur.insert("id".into(), rid.into());
                for k in [
                    "entity",
                    "role",
                    "subject",
                    "valid_from",
                    "valid_to",
                    "document_sha256",
                ] {
                    if let Some(v) = j.get(k).and_then(|x| x.as_str()) {
                        cur.insert(k.into(), v.into());
                    }
                }
            }
        }
    }
    let g = |k: &str| cur.get(k).cloned().unwrap_or_default();
    let pr = |kind: &str, k: &str| {
        problem
            .as_ref()
            .filter(|(pk, f, _)| pk == kind && f == k)
            .map(|(_, _, m)| m.as_str())
    };
    if may_edit {
        let role = g("role");
        let _ = write!(
            b,
            "<form method=\"post\" action=\"/records/verifications\" id=\"verification-form\" class=\"card form\">\
             <h3>Add or replace a verification</h3>{}{}{}\
             <div class=\"field\"><label for=\"v-role\">Role</label><select id=\"v-role\" name=\"role\">\
             <option value=\"owner\"{}>owner</option><option value=\"operator\"{}>operator</option></select></div>\
             {}{}{}{}<button type=\"submit\">Save verification</button></form>",
            who.csrf_field(),
            input("v-id", "Record id", "text", &g("id"), "saving with an existing id replaces that record", pr("v", "id")),
            input("v-entity", "Entity verified", "text", &g("entity"), "an entity id of the scenario", pr("v", "entity")),
            if role != "operator" { " selected" } else { "" },
            if role == "operator" { " selected" } else { "" },
            input("v-subject", "Site or pool", "text", &g("subject"), "the site id (or a pool id, meaning its site)", pr("v", "subject")),
            input("v-valid_from", "Valid from", "date", &g("valid_from"), "", pr("v", "valid_from")),
            input("v-valid_to", "Valid to", "date", &g("valid_to"), "empty: open-ended", pr("v", "valid_to")),
            input("v-document_sha256", "Evidence document SHA-256", "text", &g("document_sha256"), "64 hex digits", pr("v", "document_sha256")),
        );
    } else {
        b.push_str("<p class=\"muted\">Editing records needs the compliance or admin role.</p>");
    }
    b.push_str("</section>");
    let rows: Vec<Vec<String>> = lic
        .iter()
        .map(|(rid, body, v)| {
            let j: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
            let f = |k: &str| {
                esc(&j
                    .get(k)
                    .map(|x| {
                        x.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .unwrap_or_default())
            };
            vec![
                format!("<code>{}</code>", esc(rid)),
                f("authority"),
                f("holder"),
                f("accelerators"),
                f("countries"),
                f("valid_from"),
                f("valid_until"),
                v.to_string(),
            ]
        })
        .collect();
    b.push_str("<section class=\"part\" aria-labelledby=\"h-lic\"><h2 id=\"h-lic\">Licences</h2>");
    b.push_str(&table(
        "licence-records",
        "Licence records",
        &[
            "Id",
            "Authority",
            "Holder",
            "Accelerators",
            "Countries",
            "From",
            "Until",
            "Version",
        ],
        &[7],
        &rows,
    ));
    if may_edit {
        let _ = write!(
            b,
            "<form method=\"post\" action=\"/records/licences\" id=\"licence-form\" class=\"card form\">\
             <h3>Add or replace a licence</h3>{}{}{}{}{}{}{}{}{}{}<button type=\"submit\">Save licence</button></form>",
            who.csrf_field(),
            input("l-id", "Licence id", "text", &g("l_id"), "", pr("l", "id")),
            input("l-authority", "Authority", "text", &g("authority"), "US-BIS, MY-MITI, …", pr("l", "authority")),
            input("l-holder", "Holder", "text", &g("holder"), "an entity id", pr("l", "holder")),
            input("l-accelerators", "Accelerators", "text", &g("accelerators"), "catalog ids, comma-separated; empty: any", pr("l", "accelerators")),
            input("l-countries", "Countries", "text", &g("countries"), "ISO codes, comma-separated; empty: any", pr("l", "countries")),
            input("l-valid_from", "Valid from", "date", &g("valid_from"), "", pr("l", "valid_from")),
            input("l-valid_until", "Valid until", "date", &g("valid_until"), "", pr("l", "valid_until")),
            input("l-max_accels", "Most accelerators", "number", &g("max_accels"), "empty: no limit", pr("l", "max_accels")),
            input("l-reference", "Reference", "text", &g("reference"), "", pr("l", "reference")),
        );
    }
    b.push_str("</section>");
    // Reviews: a compliance officer's decisions on red flags (issue 24).
    let rows: Vec<Vec<String>> = rev
        .iter()
        .map(|(rid, body, v)| {
            let r: Option<xpufleet_model::Review> = serde_json::from_str(body).ok();
            match r {
                Some(r) => vec![
                    format!("<code>{}</code>", esc(rid)),
                    esc(&r.target),
                    esc(r.user.as_deref().unwrap_or("every user")),
                    esc(&r.rules.join(", ")),
                    esc(r.decision.as_str()),
                    esc(&r.reviewer),
                    r.date.to_string(),
                    r.valid_until.to_string(),
                    v.to_string(),
                ],
                None => vec![
                    format!("<code>{}</code>", esc(rid)),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    v.to_string(),
                ],
            }
        })
        .collect();
    b.push_str("<section class=\"part\" aria-labelledby=\"h-rev\"><h2 id=\"h-rev\">Reviews</h2>");
    b.push_str(&table(
        "review-records",
        "Review records",
        &[
            "Id", "Target", "User", "Rules", "Decision", "Reviewer", "Date", "Until", "Version",
        ],
        &[8],
        &rows,
    ));
    if may_edit {
        let _ = write!(
            b,
            "<form method=\"post\" action=\"/records/reviews\" id=\"review-form\" class=\"card form\">\
             <h3>Record or replace a review</h3>{}{}{}{}{}{}{}{}{}{}<button type=\"submit\">Save review</button></form>",
            who.csrf_field(),
            input("r-review_id", "Review id", "text", &g("review_id"), "", pr("r", "id")),
            input("r-review_target", "Pool or candidate", "text", &g("review_target"), "the id the red flags are on", pr("r", "target")),
            input("r-review_user", "User", "text", &g("review_user"), "an entity id; empty: every user", pr("r", "user")),
            input("r-review_rules", "Rules", "text", &g("review_rules"), "full rule ids (pack/rule), comma-separated", pr("r", "rules")),
            input("r-review_decision", "Decision", "text", &g("review_decision"), "cleared, denied or escalated", pr("r", "decision")),
            input("r-reviewer", "Reviewer", "text", &g("reviewer"), "who decided", pr("r", "reviewer")),
            input("r-review_date", "Date", "date", &g("review_date"), "", pr("r", "date")),
            input("r-review_evidence", "Evidence", "text", &g("review_evidence"), "a memo or file reference", pr("r", "evidence")),
            input("r-review_until", "Valid until", "date", &g("review_until"), "", pr("r", "valid_until")),
        );
    }
    b.push_str("</section>");
    Ok((status, html(html_doc("Records", Some(who), "", &b))).into_response())
}

/// Saves a review record from the Records page, checked by the application service as the API
/// checks `PUT /api/v1/reviews/{id}`.
pub async fn save_review(
    State(s): State<UiState>,
    who: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    who.check_csrf(&form)?;
    who.require(Action::EditRecords)?;
    let g = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let id = g("review_id");
    let mut j = serde_json::json!({
        "id": id,
        "target": g("review_target"),
        "rules": list(&g("review_rules")),
        "decision": g("review_decision"),
        "reviewer": g("reviewer"),
        "date": g("review_date"),
        "evidence": g("review_evidence"),
        "valid_until": g("review_until"),
    });
    if !g("review_user").is_empty() {
        j["user"] = g("review_user").into();
    }
    match app_check(RecordKind::Reviews, &id, &j) {
        Ok(()) => {
            super::change::put_record(&s, &who, RecordKind::Reviews, &id, &j.to_string())
                .await
                .map_err(super::unavailable_use)?;
            Ok(Redirect::to("/records").into_response())
        }
        Err((field, msg)) => {
            let m = format!("{field}: {msg}");
            records_page(
                &s,
                &who,
                &PageQuery::default(),
                form.clone(),
                Some(("r".into(), field, m)),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// Checks a verification form as the API checks a `verifications` record: (field, message).
fn verification_from_form(
    f: &HashMap<String, String>,
) -> Result<(String, Verification), (String, String)> {
    let g = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let id = g("id");
    if id.is_empty() || id.len() > 200 || id.chars().any(|c| c.is_control() || c == '/') {
        return Err(("id".into(), "expected 1 to 200 characters, no '/'".into()));
    }
    for k in ["entity", "subject"] {
        if g(k).is_empty() {
            return Err((k.into(), "expected a value".into()));
        }
    }
    let role = g("role");
    if role != "owner" && role != "operator" {
        return Err(("role".into(), "expected owner or operator".into()));
    }
    let valid_from: Date = g("valid_from").parse().map_err(|e| {
        (
            "valid_from".to_string(),
            format!("{e}; expected YYYY-MM-DD"),
        )
    })?;
    let valid_to = match g("valid_to").as_str() {
        "" => None,
        t => Some(
            t.parse::<Date>()
                .map_err(|e| ("valid_to".to_string(), format!("{e}; expected YYYY-MM-DD")))?,
        ),
    };
    if valid_to.is_some_and(|t| t < valid_from) {
        return Err((
            "valid_to".into(),
            "expected a date on or after valid from".into(),
        ));
    }
    let d = g("document_sha256").to_ascii_lowercase();
    if d.len() != 64 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(("document_sha256".into(), "expected 64 hex digits".into()));
    }
    let v = Verification {
        entity: g("entity"),
        role,
        subject: Some(g("subject")),
        valid_from,
        valid_to,
        document_sha256: d,
    };
    // The API's own check has the last word, so the UI never stores what the API would refuse.
    let body = serde_json::to_value(&v).map_err(|e| ("record".to_string(), e.to_string()))?;
    app_check(RecordKind::Verifications, &id, &body)?;
    Ok((id, v))
}

/// The application service's verdict on a record, as (field, message): the UI never stores
/// what the API would refuse.
fn app_check(kind: RecordKind, id: &str, body: &serde_json::Value) -> Result<(), (String, String)> {
    xpufleet_app::service::check_record(kind, id, &body.to_string())
        .map(|_| ())
        .map_err(|e| match e {
            xpufleet_app::Error::Option { field, message } => (field, message),
            e => ("record".into(), e.to_string()),
        })
}

pub async fn save_verification(
    State(s): State<UiState>,
    who: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    who.check_csrf(&form)?;
    who.require(Action::EditRecords)?;
    let (id, v) = match verification_from_form(&form) {
        Ok(x) => x,
        Err((field, msg)) => {
            let m = format!("{field}: {msg}");
            return records_page(
                &s,
                &who,
                &PageQuery::default(),
                form,
                Some(("v".into(), field, m)),
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let body = serde_json::to_string(&v).map_err(internal)?;
    super::change::put_record(&s, &who, RecordKind::Verifications, &id, &body)
        .await
        .map_err(super::unavailable_use)?;
    Ok(Redirect::to(&format!("/records?saved=verifications/{}", urlencode(&id))).into_response())
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

pub async fn save_licence(
    State(s): State<UiState>,
    who: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    who.check_csrf(&form)?;
    who.require(Action::EditRecords)?;
    let g = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let id = g("id");
    let mut j = serde_json::json!({
        "id": id,
        "authority": g("authority"),
        "holder": g("holder"),
        "accelerators": list(&g("accelerators")),
        "countries": list(&g("countries")),
        "valid_from": g("valid_from"),
        "valid_until": g("valid_until"),
        "reference": g("reference"),
    });
    let refuse = |field: &str, msg: String| (field.to_string(), msg);
    let checked = (|| {
        if id.is_empty() || id.len() > 200 || id.chars().any(|c| c.is_control() || c == '/') {
            return Err(refuse("id", "expected 1 to 200 characters, no '/'".into()));
        }
        for k in ["authority", "holder"] {
            if g(k).is_empty() {
                return Err(refuse(k, "expected a value".into()));
            }
        }
        for k in ["valid_from", "valid_until"] {
            g(k).parse::<Date>()
                .map_err(|e| refuse(k, format!("{e}; expected YYYY-MM-DD")))?;
        }
        if !g("max_accels").is_empty() {
            let n: u64 = g("max_accels")
                .parse()
                .map_err(|_| refuse("max_accels", "expected a whole number".into()))?;
            j["max_accels"] = n.into();
        }
        app_check(RecordKind::Licences, &id, &j)?;
        let l: xpufleet_model::Licence =
            serde_json::from_value(j.clone()).map_err(|e| refuse("licence", e.to_string()))?;
        if l.valid_until < l.valid_from {
            return Err(refuse(
                "valid_until",
                "expected a date on or after valid from".into(),
            ));
        }
        Ok(l)
    })();
    match checked {
        Ok(_) => {
            let body = j.to_string();
            super::change::put_record(&s, &who, RecordKind::Licences, &id, &body)
                .await
                .map_err(super::unavailable_use)?;
            Ok(
                Redirect::to(&format!("/records?saved=licences/{}", urlencode(&id)))
                    .into_response(),
            )
        }
        Err((field, msg)) => {
            let mut f = form.clone();
            f.insert("l_id".into(), id.clone());
            f.remove("id");
            let m = format!("{field}: {msg}");
            records_page(
                &s,
                &who,
                &PageQuery::default(),
                f,
                Some(("l".into(), field, m)),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

// ---- plan ----------------------------------------------------------------------------------

pub async fn plan(State(s): State<UiState>, who: Signed, Query(q): Query<PageQuery>) -> Page {
    let as_of = parse_date("as_of", &q.as_of)?;
    let Some((id, _, rev)) = pick(&s, &q).await? else {
        return Ok(no_scenario("Plan", &who));
    };
    let records = super::compute::current(&s.store).await.map_err(internal)?;
    let job = s.jobs.start(
        &id,
        rev.revision,
        &rev.body,
        records,
        Task::Plan {
            as_of,
            what_if: None,
        },
    );
    let again = self_url(
        "/plan",
        &[
            ("scenario", Some(&id)),
            ("revision", q.revision.map(|r| r.to_string()).as_deref()),
            ("as_of", q.as_of.as_deref()),
        ],
    );
    render_job(&s, &who, &job, &again).await
}

/// A what-if TOML from the form's fields; `None` when the form changes nothing.
fn what_if_toml(f: &HashMap<String, String>) -> Result<Option<String>, String> {
    let g = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let q = |v: &str| toml::Value::String(v.to_string()).to_string();
    let mut t = String::from("name = \"web what-if\"\n");
    let mut changed = false;
    if !g("wi_as_of").is_empty() {
        let d: Date = g("wi_as_of")
            .parse()
            .map_err(|e| format!("date: {e}; expected YYYY-MM-DD"))?;
        let _ = writeln!(t, "as_of = {d}");
        changed = true;
    }
    if !g("remove_licence").is_empty() {
        let _ = writeln!(t, "remove_licences = [{}]", q(&g("remove_licence")));
        changed = true;
    }
    let num = |k: &str, what: &str| -> Result<f64, String> {
        g(k).parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("{what}: expected a number, 0 or more"))
    };
    if !g("price_candidate").is_empty() {
        let _ = write!(
            t,
            "[[price]]\ncandidate = {}\nprice = {{ amount = {}, currency = {} }}\n",
            q(&g("price_candidate")),
            num("price_amount", "price")?,
            q(&if g("price_currency").is_empty() {
                "USD".into()
            } else {
                g("price_currency")
            })
        );
        changed = true;
    }
    if !g("cap_id").is_empty() {
        let n = num("cap_max", "cap")?;
        let _ = write!(
            t,
            "[[supply_cap]]\nid = {}\nmax_accels = {}\n",
            q(&g("cap_id")),
            n.round() as u64
        );
        changed = true;
    }
    if !g("budget_envelope").is_empty() {
        let _ = write!(
            t,
            "[[budget]]\nenvelope = {}\namount = {}\n",
            q(&g("budget_envelope")),
            num("budget_amount", "budget")?
        );
        changed = true;
    }
    if !g("licence_id").is_empty() {
        let _ = write!(
            t,
            "[[licence]]\nid = {}\nauthority = {}\nholder = {}\naccelerators = [{}]\ncountries = [{}]\nvalid_from = {}\nvalid_until = {}\n",
            q(&g("licence_id")),
            q(&g("licence_authority")),
            q(&g("licence_holder")),
            list(&g("licence_accelerators")).iter().map(|a| q(a)).collect::<Vec<_>>().join(", "),
            list(&g("licence_countries")).iter().map(|a| q(a)).collect::<Vec<_>>().join(", "),
            g("licence_valid_from").parse::<Date>().map_err(|e| format!("licence valid from: {e}"))?,
            g("licence_valid_until").parse::<Date>().map_err(|e| format!("licence valid until: {e}"))?,
        );
        changed = true;
    }
    Ok(changed.then_some(t))
}

pub async fn what_if(
    State(s): State<UiState>,
    who: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    who.check_csrf(&form)?;
    who.require(Action::Compute)?;
    let q = PageQuery {
        scenario: form.get("scenario").cloned(),
        revision: form.get("revision").and_then(|r| r.parse().ok()),
        ..Default::default()
    };
    let Some((id, _, rev)) = pick(&s, &q).await? else {
        return Ok(no_scenario("Plan", &who));
    };
    let as_of = parse_date("as_of", &form.get("as_of").cloned())?;
    let text = match what_if_toml(&form) {
        Ok(Some(t)) => match xpufleet_io::whatif::parse_what_if(&t, "what-if") {
            // A bad what-if (an unknown candidate, a negative cap) is refused before anything
            // runs.
            Err(d) => Err(d.to_string()),
            Ok(_) => Ok(t),
        },
        Ok(None) => Err("it changes nothing: fill in at least one change.".to_string()),
        Err(e) => Err(e),
    };
    let text = match text {
        Ok(t) => t,
        Err(message) => {
            // Shown on the plan page, inside the layout, with the form as it was filled in.
            let records = super::compute::current(&s.store).await.map_err(internal)?;
            let base = s.jobs.start(
                &id,
                rev.revision,
                &rev.body,
                records,
                Task::Plan {
                    as_of,
                    what_if: None,
                },
            );
            // The base plan is usually held already; else it is computed now (a plan takes
            // seconds), so the refusal can be shown beside it.
            let waited = std::time::Instant::now();
            while matches!(base.state(), JobState::Running { .. })
                && waited.elapsed() < std::time::Duration::from_secs(60)
            {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            return match base.state() {
                JobState::Done(Ok(Output::Plan(p))) => {
                    let problem = WhatIfProblem {
                        message,
                        form: &form,
                    };
                    plan_page(&s, &who, &base, &p, Some(problem)).await
                }
                _ => Err(error_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("The what-if was not run: {message}"),
                )),
            };
        }
    };
    let records = super::compute::current(&s.store).await.map_err(internal)?;
    let job = s.jobs.start(
        &id,
        rev.revision,
        &rev.body,
        records,
        Task::Plan {
            as_of,
            what_if: Some(text),
        },
    );
    Ok(Redirect::to(&format!("/jobs/{}", job.id)).into_response())
}

pub async fn approve(
    State(s): State<UiState>,
    who: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    who.check_csrf(&form)?;
    who.require(Action::ApprovePlan)?;
    let job = form
        .get("job")
        .and_then(|j| s.jobs.get(j))
        .ok_or_else(|| bad("job: this plan is no longer held; run it again and approve it then"))?;
    let Task::Plan { as_of, what_if } = &job.task else {
        return Err(bad("job: not a plan"));
    };
    if !matches!(job.state(), JobState::Done(Ok(Output::Plan(_)))) {
        return Err(bad("job: the plan has not finished"));
    }
    // The approval names the API's stored run of the same plan (computed now if it is not
    // stored yet), so `GET /api/v1/runs/{id}/approvals` lists it.
    // A plan computed now is stored and audited in one transaction, as the API does.
    let what_if_text = what_if.clone().unwrap_or_default();
    let (run_id, _) = crate::api::stored_plan(
        &s.app,
        &job.scenario_id,
        job.revision,
        as_of.map(|d| d.to_string()),
        what_if.clone(),
        &super::entry(
            &who,
            "POST /api/v1/scenarios/{id}/plan",
            "",
            what_if_text.as_bytes(),
        ),
    )
    .await
    .map_err(|e| error_page(e.status, &e.body.error))?;
    let note = form
        .get("note")
        .map(|n| n.trim().to_string())
        .unwrap_or_default();
    super::change::approve(&s, &who, &run_id, &note)
        .await
        .map_err(super::unavailable_use)?;
    job.set_run_id(&run_id);
    Ok(Redirect::to(&format!("/jobs/{}", job.id)).into_response())
}

async fn render_job(s: &UiState, who: &Signed, job: &super::Job, again: &str) -> Page {
    let title = match &job.task {
        Task::Plan {
            what_if: Some(_), ..
        } => "Plan: what-if",
        Task::Plan { .. } => "Plan",
        Task::Report { .. } => "Simulate",
    };
    let out = match job.state() {
        JobState::Running { .. } => return Ok(progress_page(title, who, job, again)),
        JobState::Done(Err(e)) => return Err(error_page(StatusCode::UNPROCESSABLE_ENTITY, &e)),
        JobState::Done(Ok(o)) => o,
    };
    match out {
        Output::Plan(p) => plan_page(s, who, job, &p, None).await,
        Output::Report(r) => simulate_result(s, who, job, &r).await,
    }
}

/// What the plan tables need besides the plan: the scenario (for envelopes and FX), display
/// names and the scenario's accelerator colours, the same as the report's.
struct PlanView {
    sc: xpufleet_model::Scenario,
    labels: xpufleet_report::Labels,
    palette: Palette,
}

/// A solver gap as the CLI prints it: a percentage with four decimals ("0.0027%").
fn gap_pct(gap: f64) -> String {
    format!("{}%", fixed(gap * 100.0, 4))
}

/// The plan as the report shows it: the same components (lines, constraints with what
/// relaxing them gains, exclusions).
fn plan_tables(p: &xpufleet_plan::Plan, v: &PlanView, b: &mut String) {
    let _ = write!(
        b,
        "<p class=\"headline\" id=\"plan-headline\">As of {}: <b>{} PFLOPS</b> effective for {} ({} objective, status {}, gap {}).</p>",
        p.date,
        sig3(p.effective_pflops),
        usd(p.spend_usd),
        esc(&name(&p.objective.kind)),
        esc(&name(&p.status)),
        gap_pct(p.gap)
    );
    let rp = xpufleet_app::run::plan_data(p, &v.sc);
    b.push_str("<h3>What to buy or lease</h3>");
    b.push_str(&components::plan_lines_table(
        &rp.lines, &v.labels, &v.palette,
    ));
    b.push_str("<h3>Constraints: what limits the plan, and what relaxing it gains</h3>");
    b.push_str(&components::constraints_table(&rp.constraints));
    b.push_str("<h3>Candidates the plan may not use, and why</h3>");
    b.push_str(&components::excluded_table(&rp.excluded));
    // A plan over periods: the same capacity-by-part chart as the report, in its colours.
    if !p.periods.is_empty() {
        let periods: Vec<xpufleet_report::periods::PeriodCapacity> = p
            .periods
            .iter()
            .map(|q| xpufleet_report::periods::PeriodCapacity {
                id: q.id.clone(),
                start: q.start,
                end: q.end,
                spend_usd: q.spend_usd,
                parts: q
                    .capacity
                    .iter()
                    .map(|c| (c.accelerator.clone(), c.effective_pflops))
                    .collect(),
                target_pflops: q.target_pflops,
                services: q
                    .services
                    .iter()
                    .map(xpufleet_app::run::period_service)
                    .collect(),
            })
            .collect();
        let palette = &v.palette;
        let svg = xpufleet_report::periods::capacity_chart(&periods, &|a: &str, _| {
            palette.accelerator(a).to_string()
        });
        b.push_str(&figure(
            "chart-capacity-periods",
            "Capacity by part over the plan's periods",
            &svg,
        ));
        let served = xpufleet_report::periods::served_table(&periods);
        if !served.is_empty() {
            b.push_str("<h3>Served demand by period</h3>");
            b.push_str(&served);
        }
    }
    services_table(p, b);
}

/// A bad what-if shown on the plan page: the message, and the form's input to fill it in again.
struct WhatIfProblem<'a> {
    message: String,
    form: &'a HashMap<String, String>,
}

/// The plan's services in one compact table: demand, share covered, what serves each (pools
/// first) and cost a day; nothing without `[[service]]`.
fn services_table(p: &xpufleet_plan::Plan, b: &mut String) {
    if p.services.is_empty() {
        return;
    }
    let rows: Vec<Vec<String>> = p
        .services
        .iter()
        .map(|v| {
            let by: Vec<String> = v
                .by_accelerator
                .iter()
                .map(|a| {
                    let from = a.pool.as_deref().or(a.candidate.as_deref()).unwrap_or("");
                    // A disaggregated share says which phase it does.
                    let role = if a.role == "both" {
                        String::new()
                    } else {
                        format!(", {}", esc(&a.role))
                    };
                    format!(
                        "{} × {} (<code>{}</code>{role})",
                        int(a.accelerators),
                        esc(&a.accelerator),
                        esc(from)
                    )
                })
                .collect();
            vec![
                format!("<code>{}</code>", esc(&v.id)),
                sig3(v.output_tokens_per_day),
                format!(
                    "{}%",
                    sig3(100.0 * v.covered_output_tokens_per_day / v.output_tokens_per_day)
                ),
                by.join(", "),
                usd(v.cost_usd_per_day),
                v.shortfall
                    .as_ref()
                    .map(|s| esc(&s.reason))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    b.push_str(&table(
        "services",
        "Services: demand and what serves it",
        &[
            "Service",
            "Output tokens/day",
            "Covered",
            "Served by",
            "USD/day",
            "Short because",
        ],
        &[1, 2, 4],
        &rows,
    ));
}

async fn plan_page(
    s: &UiState,
    who: &Signed,
    job: &super::Job,
    p: &xpufleet_app::PlanOutput,
    problem: Option<WhatIfProblem<'_>>,
) -> Page {
    let sc = s
        .store
        .revision(&job.scenario_id, job.revision)
        .await
        .map_err(internal)?;
    let loaded = super::compute::current(&s.store)
        .await
        .map_err(internal)?
        .load(&sc.body)
        .map_err(|e| error_page(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()))?;
    let view = PlanView {
        labels: xpufleet_app::run::labels(&loaded.scenario, &loaded.catalog),
        palette: Palette::of_scenario(&loaded.scenario),
        sc: loaded.scenario,
    };
    let mut b = format!(
        "<h1>Plan</h1><p class=\"explain\">Scenario {} (<code>{}</code>), revision {}.</p>",
        esc(if view.sc.name.is_empty() {
            &job.scenario_id
        } else {
            &view.sc.name
        }),
        esc(&job.scenario_id),
        job.revision
    );
    b.push_str(
        &chooser(
            s,
            "/plan",
            &job.scenario_id,
            Some(&p.plan.date.to_string()),
            "",
        )
        .await?,
    );
    let approvals = match job.run_id() {
        Some(run) => s.store.approvals(&run).await.map_err(internal)?,
        None => vec![],
    };
    let approved_by_me = approvals.iter().any(|a| a.approved_by == who.0.name);
    if !approvals.is_empty() {
        let run = job.run_id().unwrap_or_default();
        let _ = write!(
            b,
            "<p class=\"ok banner\" id=\"approved\">{} (stored as run <code>{}</code>).</p>",
            approvals
                .iter()
                .map(|a| format!(
                    "Approved by {} ({}) at {}",
                    esc(&a.approved_by),
                    esc(&a.role),
                    esc(&a.at)
                ))
                .collect::<Vec<_>>()
                .join("; "),
            esc(&run)
        );
    }
    if let Some(w) = &p.what_if {
        let d = &w.diff;
        let _ = write!(
            b,
            "<section class=\"part\" aria-labelledby=\"h-diff\"><h2 id=\"h-diff\">What-if against the base plan</h2>\
             <p class=\"headline\" id=\"what-if-summary\">What-if: effective PFLOPS {} → {} ({}{}), spend {} → {}.</p><ul>{}</ul>",
            sig3(d.pflops_base),
            sig3(d.pflops_alt),
            if d.pflops_delta >= 0.0 { "+" } else { "" },
            sig3(d.pflops_delta),
            usd(d.spend_usd_base),
            usd(d.spend_usd_alt),
            w.changes.iter().map(|c| format!("<li>{}</li>", esc(c))).collect::<String>()
        );
        let rows: Vec<Vec<String>> = d
            .lines
            .iter()
            .map(|l| {
                // Over periods a line is the candidate's orders in one period.
                let period = l
                    .period
                    .as_ref()
                    .map(|p| format!(" ({})", esc(p)))
                    .unwrap_or_default();
                vec![
                    format!("<code>{}</code>{period}", esc(&l.candidate)),
                    esc(&l.change),
                    int(l.units_base),
                    int(l.units_alt),
                    usd(l.spend_usd_base),
                    usd(l.spend_usd_alt),
                ]
            })
            .collect();
        b.push_str(&table(
            "what-if-diff",
            "Lines that change",
            &[
                "Candidate",
                "Change",
                "Base accelerators",
                "What-if accelerators",
                "Base spend",
                "What-if spend",
            ],
            &[2, 3, 4, 5],
            &rows,
        ));
        let rows: Vec<Vec<String>> = d
            .newly_excluded
            .iter()
            .map(|e| {
                vec![
                    format!("<code>{}</code>", esc(&e.candidate)),
                    esc(&e.reason),
                ]
            })
            .collect();
        b.push_str(&table(
            "newly-excluded",
            "Newly excluded",
            &["Candidate", "Why"],
            &[],
            &rows,
        ));
        b.push_str("<h3>The what-if plan</h3>");
        plan_tables(&w.plan, &view, &mut b);
        b.push_str("</section>");
    }
    b.push_str(
        "<section class=\"part\" aria-labelledby=\"h-base\"><h2 id=\"h-base\">Base plan</h2>",
    );
    plan_tables(&p.plan, &view, &mut b);
    b.push_str("</section>");
    b.push_str(
        "<section class=\"part\" aria-labelledby=\"h-horizon\"><h2 id=\"h-horizon\">What changes within the horizon</h2>",
    );
    b.push_str(&components::horizon_changes(
        &xpufleet_app::run::verdict_change_rows(&p.verdict_changes),
        p.plan.date,
        Some(p.horizon_end),
    ));
    b.push_str("</section>");
    if super::may(&who.0.role, Action::ApprovePlan) && !approved_by_me {
        let _ = write!(
            b,
            "<form method=\"post\" action=\"/plan/approve\" class=\"card form\">{}<input type=\"hidden\" name=\"job\" value=\"{}\">\
             <button type=\"submit\" id=\"approve\">Approve this plan</button></form>",
            who.csrf_field(),
            esc(&job.id)
        );
    }
    if super::may(&who.0.role, Action::Compute) {
        let sc = &view.sc;
        // A refused what-if comes back with what was typed, so it can be corrected.
        let given = |k: &str| -> String {
            problem
                .as_ref()
                .and_then(|p| p.form.get(k))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        let val = |k: &str| format!(" value=\"{}\"", esc(&given(k)));
        let options = |ids: Vec<String>, k: &str| -> String {
            let chosen = given(k);
            ids.iter()
                .map(|id| {
                    format!(
                        "<option{}>{}</option>",
                        if *id == chosen { " selected" } else { "" },
                        esc(id)
                    )
                })
                .collect()
        };
        let cands = options(
            sc.candidates.iter().map(|c| c.id.clone()).collect(),
            "price_candidate",
        );
        let caps = options(
            sc.supply_caps.iter().map(|c| c.id.clone()).collect(),
            "cap_id",
        );
        let envs = options(
            sc.envelopes.iter().map(|c| c.id.clone()).collect(),
            "budget_envelope",
        );
        let lics = options(
            sc.licences.iter().map(|c| c.id.clone()).collect(),
            "remove_licence",
        );
        // The currencies a price may be in: USD and those the scenario's `[fx]` converts.
        let mut currencies = vec!["USD".to_string()];
        currencies.extend(
            sc.fx
                .usd_per_unit
                .keys()
                .map(|c| c.as_str().to_string())
                .filter(|c| c != "USD"),
        );
        let currencies = options(currencies, "price_currency");
        if let Some(pr) = &problem {
            let _ = write!(
                b,
                "<p class=\"problem\" role=\"alert\" id=\"what-if-problem\">The what-if was not run: {}</p>",
                esc(&pr.message)
            );
        }
        let _ = write!(
            b,
            "<section class=\"part\" aria-labelledby=\"h-wi\"><h2 id=\"h-wi\">What if…</h2>\
             <form method=\"post\" action=\"/plan\" id=\"what-if-form\" class=\"form\">{}\
             <input type=\"hidden\" name=\"scenario\" value=\"{}\"><input type=\"hidden\" name=\"revision\" value=\"{}\">\
             <input type=\"hidden\" name=\"as_of\" value=\"{}\">\
             <fieldset><legend>Date</legend><div class=\"field\"><label for=\"wi_as_of\">Re-plan as of</label><input id=\"wi_as_of\" name=\"wi_as_of\" type=\"date\"{}></div></fieldset>\
             <fieldset><legend>Price</legend><div class=\"field\"><label for=\"price_candidate\">Candidate</label><select id=\"price_candidate\" name=\"price_candidate\"><option value=\"\">no change</option>{cands}</select></div>\
             <div class=\"field\"><label for=\"price_amount\">Price per accelerator</label><input id=\"price_amount\" name=\"price_amount\" type=\"number\" step=\"any\" min=\"0\"{}></div>\
             <div class=\"field\"><label for=\"price_currency\">Currency</label><select id=\"price_currency\" name=\"price_currency\">{currencies}</select></div></fieldset>\
             <fieldset><legend>Supply cap</legend><div class=\"field\"><label for=\"cap_id\">Cap</label><select id=\"cap_id\" name=\"cap_id\"><option value=\"\">no change</option>{caps}</select></div>\
             <div class=\"field\"><label for=\"cap_max\">Most accelerators</label><input id=\"cap_max\" name=\"cap_max\" type=\"number\" min=\"0\"{}></div></fieldset>\
             <fieldset><legend>Budget</legend><div class=\"field\"><label for=\"budget_envelope\">Envelope</label><select id=\"budget_envelope\" name=\"budget_envelope\"><option value=\"\">no change</option>{envs}</select></div>\
             <div class=\"field\"><label for=\"budget_amount\">Budget (envelope currency)</label><input id=\"budget_amount\" name=\"budget_amount\" type=\"number\" step=\"any\" min=\"0\"{}></div></fieldset>\
             <fieldset><legend>Licence</legend><div class=\"field\"><label for=\"remove_licence\">Remove licence</label><select id=\"remove_licence\" name=\"remove_licence\"><option value=\"\">none</option>{lics}</select></div>\
             <div class=\"field\"><label for=\"licence_id\">Add licence id</label><input id=\"licence_id\" name=\"licence_id\"{}></div>\
             <div class=\"field\"><label for=\"licence_authority\">Authority</label><input id=\"licence_authority\" name=\"licence_authority\"{}></div>\
             <div class=\"field\"><label for=\"licence_holder\">Holder</label><input id=\"licence_holder\" name=\"licence_holder\"{}></div>\
             <div class=\"field\"><label for=\"licence_accelerators\">Accelerators (comma-separated)</label><input id=\"licence_accelerators\" name=\"licence_accelerators\"{}></div>\
             <div class=\"field\"><label for=\"licence_countries\">Countries (comma-separated)</label><input id=\"licence_countries\" name=\"licence_countries\"{}></div>\
             <div class=\"field\"><label for=\"licence_valid_from\">Valid from</label><input id=\"licence_valid_from\" name=\"licence_valid_from\" type=\"date\"{}></div>\
             <div class=\"field\"><label for=\"licence_valid_until\">Valid until</label><input id=\"licence_valid_until\" name=\"licence_valid_until\" type=\"date\"{}></div></fieldset>\
             <button type=\"submit\">Re-plan and compare</button></form></section>",
            who.csrf_field(),
            esc(&job.scenario_id),
            job.revision,
            p.plan.date,
            val("wi_as_of"),
            val("price_amount"),
            val("cap_max"),
            val("budget_amount"),
            val("licence_id"),
            val("licence_authority"),
            val("licence_holder"),
            val("licence_accelerators"),
            val("licence_countries"),
            val("licence_valid_from"),
            val("licence_valid_until"),
        );
    }
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, html(html_doc("Plan", Some(who), "", &b))).into_response())
}

// ---- scenarios -----------------------------------------------------------------------------

pub async fn scenarios(State(s): State<UiState>, who: Signed) -> Page {
    let all = s.store.list_scenarios(500, 0).await.map_err(internal)?;
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|(id, name, rev)| {
            vec![
                format!(
                    "<a href=\"/scenarios/{}/edit\">{}</a>",
                    urlencode(id),
                    esc(if name.is_empty() { id } else { name })
                ),
                format!("<code>{}</code>", esc(id)),
                rev.to_string(),
            ]
        })
        .collect();
    let mut b = String::from("<h1>Scenarios</h1>");
    b.push_str(&table(
        "scenario-list",
        "Stored scenarios",
        &["Name", "Id", "Latest revision"],
        &[2],
        &rows,
    ));
    if super::may(&who.0.role, Action::Compute) {
        let _ = write!(
            b,
            "<section class=\"part\" aria-labelledby=\"h-new\"><h2 id=\"h-new\">New scenario</h2>\
             <form method=\"post\" action=\"/scenarios\" class=\"form\">{0}\
             <label for=\"toml\">Scenario TOML</label><textarea id=\"toml\" name=\"toml\" rows=\"12\" spellcheck=\"false\"></textarea>\
             <button type=\"submit\">Store</button></form>\
             <form method=\"post\" action=\"/scenarios\">{0}<input type=\"hidden\" name=\"example\" value=\"1\">\
             <button type=\"submit\">Store the built-in example scenario</button></form></section>",
            who.csrf_field()
        );
    }
    Ok(html(html_doc("Scenarios", Some(&who), "", &b)))
}

/// Problems of a scenario's text, located: (line, message); `None` lines are about the whole.
async fn validate(
    s: &UiState,
    text: &str,
) -> Result<Result<String, Vec<(Option<usize>, String)>>, Response> {
    let records = super::compute::current(&s.store).await.map_err(internal)?;
    let catalog = records.catalog().map_err(internal)?;
    let text = text.to_string();
    s.app
        .computations
        .run(
            move || match xpufleet_app::load_text("scenario", &text, catalog) {
                Ok(l) => Ok(l.scenario.name),
                Err(d) => Err(d
                    .iter()
                    .map(|d| {
                        let field = d
                            .field
                            .as_deref()
                            .map(|f| format!("{f}: "))
                            .unwrap_or_default();
                        (d.line, format!("{field}{}", d.message))
                    })
                    .collect()),
            },
        )
        .await
        .map_err(internal)
}

#[derive(Debug, Deserialize)]
pub struct RevQuery {
    rev: Option<i64>,
    /// Set by the redirect after a valid save: the revision stored.
    saved: Option<i64>,
}

pub async fn new_scenario(
    State(s): State<UiState>,
    who: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    who.check_csrf(&form)?;
    who.require(Action::Compute)?;
    let text = if form.contains_key("example") {
        xpufleet_io::EXAMPLE_SCENARIO.to_string()
    } else {
        form.get("toml").cloned().unwrap_or_default()
    };
    match validate(&s, &text).await? {
        Ok(_) => {
            let id = super::change::create_scenario(&s, &who, &text)
                .await
                .map_err(super::unavailable_use)?;
            Ok(Redirect::to(&format!("/scenarios/{id}/edit?saved=1")).into_response())
        }
        Err(problems) => Ok((
            StatusCode::BAD_REQUEST,
            html(html_doc(
                "Scenarios",
                Some(&who),
                "",
                &editor_body(&who, None, &text, 0, &[], &problems),
            )),
        )
            .into_response()),
    }
}

/// The editor: the text with its problems beside their lines, the form, and the revisions.
fn editor_body(
    who: &Signed,
    id: Option<&str>,
    text: &str,
    base: i64,
    revisions: &[i64],
    problems: &[(Option<usize>, String)],
) -> String {
    let can_edit = super::may(&who.0.role, Action::Compute);
    let mut b = String::from("<h1>Scenario editor</h1>");
    if !problems.is_empty() {
        let _ = write!(
            b,
            "<section class=\"part problems\" aria-labelledby=\"h-problems\" role=\"alert\"><h2 id=\"h-problems\">Not saved: {}</h2><ul id=\"problem-list\">{}</ul>",
            xpufleet_report::format::count(problems.len(), "problem", "problems"),
            problems
                .iter()
                .map(|(l, m)| match l {
                    Some(l) => format!("<li><a href=\"#L{l}\">line {l}</a>: {}</li>", esc(m)),
                    None => format!("<li>{}</li>", esc(m)),
                })
                .collect::<String>()
        );
        // The text, numbered, each problem under its line.
        b.push_str("<ol class=\"listing\" aria-label=\"The text with its problems\">");
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let here: Vec<&String> = problems
                .iter()
                .filter(|(l, _)| *l == Some(n))
                .map(|(_, m)| m)
                .collect();
            let _ = write!(
                b,
                "<li id=\"L{n}\"{}><code>{}</code>",
                if here.is_empty() {
                    ""
                } else {
                    " class=\"has-problem\""
                },
                esc(line)
            );
            for m in here {
                let _ = write!(b, "<div class=\"problem\">{}</div>", esc(m));
            }
            b.push_str("</li>");
        }
        b.push_str("</ol></section>");
    }
    let action = match id {
        Some(id) => format!("/scenarios/{}/edit", urlencode(id)),
        None => "/scenarios".into(),
    };
    let _ = write!(
        b,
        "<form method=\"post\" action=\"{action}\" class=\"form editor\">{}<input type=\"hidden\" name=\"base\" value=\"{base}\">\
         <label for=\"toml\">Scenario TOML{}</label>\
         <textarea id=\"toml\" name=\"toml\" rows=\"30\" spellcheck=\"false\"{}>{}</textarea>{}</form>",
        who.csrf_field(),
        if base > 0 { format!(" (based on revision {base})") } else { String::new() },
        if can_edit { "" } else { " readonly" },
        esc(text),
        if can_edit {
            "<button type=\"submit\">Validate and save</button>"
        } else {
            "<p class=\"muted\">Saving a revision needs the planner, compliance or admin role.</p>"
        }
    );
    if let Some(id) = id {
        if !revisions.is_empty() {
            let latest = revisions.iter().max().copied().unwrap_or(1);
            b.push_str("<section class=\"part\" aria-labelledby=\"h-revs\"><h2 id=\"h-revs\">Revisions</h2><ul id=\"revisions\">");
            for r in revisions.iter().rev() {
                let _ = write!(
                    b,
                    "<li><a href=\"/scenarios/{0}/edit?rev={r}\">revision {r}</a>",
                    urlencode(id)
                );
                if *r > 1 {
                    let _ = write!(
                        b,
                        " · <a href=\"/scenarios/{0}/diff?from={1}&amp;to={r}\">diff with {1}</a>",
                        urlencode(id),
                        r - 1
                    );
                }
                if *r != latest {
                    let _ = write!(b, " · <a href=\"/scenarios/{0}/diff?from={r}&amp;to={latest}\">diff with latest</a>", urlencode(id));
                }
                b.push_str("</li>");
            }
            b.push_str("</ul></section>");
        }
    }
    b
}

pub async fn edit_scenario(
    State(s): State<UiState>,
    who: Signed,
    Path(id): Path<String>,
    Query(q): Query<RevQuery>,
) -> Page {
    let rev = match q.rev {
        Some(n) => s.store.revision(&id, n).await,
        None => s.store.latest_revision(&id).await,
    }
    .map_err(|e| match e {
        DbError::NotFound => error_page(StatusCode::NOT_FOUND, "no such scenario or revision"),
        e => internal(e),
    })?;
    let latest = s
        .store
        .latest_revision(&id)
        .await
        .map_err(internal)?
        .revision;
    let revs = s.store.revisions(&id).await.map_err(internal)?;
    let mut b = editor_body(&who, Some(&id), &rev.body, latest, &revs, &[]);
    if let Some(n) = q.saved {
        // The confirmation goes right under the page's heading.
        let note = format!(
            "<p class=\"ok banner\" role=\"status\" id=\"saved\">Saved as revision {n}; the change is audited.</p>"
        );
        match b.find("</h1>") {
            Some(i) => b.insert_str(i + 5, &note),
            None => b.insert_str(0, &note),
        }
    }
    Ok(html(html_doc("Scenarios", Some(&who), "", &b)))
}

pub async fn save_scenario(
    State(s): State<UiState>,
    who: Signed,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    who.check_csrf(&form)?;
    who.require(Action::Compute)?;
    let text = form.get("toml").cloned().unwrap_or_default();
    let base: i64 = form
        .get("base")
        .and_then(|b| b.parse().ok())
        .ok_or_else(|| bad("base: expected the revision the edit started from"))?;
    let revs = s.store.revisions(&id).await.map_err(|e| match e {
        DbError::NotFound => error_page(StatusCode::NOT_FOUND, "no such scenario"),
        e => internal(e),
    })?;
    match validate(&s, &text).await? {
        Err(problems) => Ok((
            StatusCode::BAD_REQUEST,
            html(html_doc(
                "Scenarios",
                Some(&who),
                "",
                &editor_body(&who, Some(&id), &text, base, &revs, &problems),
            )),
        )
            .into_response()),
        Ok(_) => match super::change::revise_scenario(&s, &who, &id, base, &text).await {
            Ok(rev) => Ok(
                Redirect::to(&format!("/scenarios/{}/edit?saved={rev}", urlencode(&id)))
                    .into_response(),
            ),
            Err(UseCaseError::Stale { latest: l }) => {
                let problems = vec![(None, format!("someone saved revision {l} first; your text is kept below: compare with the latest and save again"))];
                let latest = s
                    .store
                    .latest_revision(&id)
                    .await
                    .map_err(internal)?
                    .revision;
                Ok((
                    StatusCode::CONFLICT,
                    html(html_doc(
                        "Scenarios",
                        Some(&who),
                        "",
                        &editor_body(&who, Some(&id), &text, latest, &revs, &problems),
                    )),
                )
                    .into_response())
            }
            Err(e) => Err(super::unavailable_use(e)),
        },
    }
}

#[derive(Debug, Deserialize)]
pub struct DiffQuery {
    from: i64,
    to: i64,
}

/// A line diff (longest common subsequence): each line with ' ', '-' or '+'.
pub fn line_diff<'a>(a: &'a str, b: &'a str) -> Vec<(char, &'a str)> {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    // Common prefix and suffix first, so the table is only as big as the changed middle.
    let pre = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let mut out: Vec<(char, &str)> = a[..pre].iter().map(|l| (' ', *l)).collect();
    if am.len() * bm.len() > 4_000_000 {
        out.extend(am.iter().map(|l| ('-', *l)));
        out.extend(bm.iter().map(|l| ('+', *l)));
    } else {
        let (n, m) = (am.len(), bm.len());
        let mut t = vec![0u32; (n + 1) * (m + 1)];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                t[i * (m + 1) + j] = if am[i] == bm[j] {
                    t[(i + 1) * (m + 1) + j + 1] + 1
                } else {
                    t[(i + 1) * (m + 1) + j].max(t[i * (m + 1) + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                out.push((' ', am[i]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || t[(i + 1) * (m + 1) + j] >= t[i * (m + 1) + j + 1]) {
                // Deletions before insertions, as `diff -u` shows a changed line.
                out.push(('-', am[i]));
                i += 1;
            } else {
                out.push(('+', bm[j]));
                j += 1;
            }
        }
    }
    out.extend(a[a.len() - suf..].iter().map(|l| (' ', *l)));
    out
}

/// Lines of context kept around each change in the diff page.
const DIFF_CONTEXT: usize = 3;

/// One run of a compact diff: changed lines with their context, and where they start in the
/// old and the new text (1-based, as `diff -u` numbers them).
#[derive(Debug, PartialEq)]
pub struct Hunk<'a> {
    pub old_start: usize,
    pub new_start: usize,
    pub lines: Vec<(char, &'a str)>,
}

/// The changed parts of a line diff with `context` unchanged lines on each side; runs of
/// unchanged lines longer than that between changes are left out.
pub fn hunks<'a>(d: &[(char, &'a str)], context: usize) -> Vec<Hunk<'a>> {
    // Each line's number in the old and the new text.
    let mut at = Vec::with_capacity(d.len());
    let (mut old, mut new) = (1, 1);
    for (c, _) in d {
        at.push((old, new));
        match c {
            '-' => old += 1,
            '+' => new += 1,
            _ => {
                old += 1;
                new += 1;
            }
        }
    }
    let keep: Vec<bool> = (0..d.len())
        .map(|i| {
            let lo = i.saturating_sub(context);
            let hi = (i + context + 1).min(d.len());
            d[lo..hi].iter().any(|(c, _)| *c != ' ')
        })
        .collect();
    let mut out: Vec<Hunk> = vec![];
    let mut i = 0;
    while i < d.len() {
        if !keep[i] {
            i += 1;
            continue;
        }
        let mut h = Hunk {
            old_start: at[i].0,
            new_start: at[i].1,
            lines: vec![],
        };
        while i < d.len() && keep[i] {
            h.lines.push(d[i]);
            i += 1;
        }
        out.push(h);
    }
    out
}

pub async fn diff_revisions(
    State(s): State<UiState>,
    who: Signed,
    Path(id): Path<String>,
    Query(q): Query<DiffQuery>,
) -> Page {
    let get = |n: i64| {
        let s = s.clone();
        let id = id.clone();
        async move {
            s.store.revision(&id, n).await.map_err(|e| match e {
                DbError::NotFound => error_page(
                    StatusCode::NOT_FOUND,
                    &format!("revision {n} of this scenario is not stored"),
                ),
                e => internal(e),
            })
        }
    };
    let (a, b2) = (get(q.from).await?, get(q.to).await?);
    let d = line_diff(&a.body, &b2.body);
    let changed = d.iter().filter(|(c, _)| *c != ' ').count();
    let mut b = format!(
        "<h1>Scenario diff</h1><p class=\"explain\"><code>{}</code>: revision {} → {}, {} changed, shown with {DIFF_CONTEXT} lines of context. <a href=\"/scenarios/{}/edit\">Back to the editor</a></p><pre class=\"diff\" id=\"diff\">",
        esc(&id),
        q.from,
        q.to,
        xpufleet_report::format::count(changed, "line", "lines"),
        urlencode(&id)
    );
    let hs = hunks(&d, DIFF_CONTEXT);
    if hs.is_empty() {
        b.push_str("<span class=\"same\">The two revisions hold the same text.</span>\n");
    }
    for h in hs {
        let olds = h.lines.iter().filter(|(c, _)| *c != '+').count();
        let news = h.lines.iter().filter(|(c, _)| *c != '-').count();
        let _ = writeln!(
            b,
            "<span class=\"hunk\">@@ -{},{olds} +{},{news} @@</span>",
            h.old_start, h.new_start
        );
        for (c, l) in h.lines {
            let class = match c {
                '+' => "add",
                '-' => "del",
                _ => "same",
            };
            let _ = writeln!(b, "<span class=\"{class}\">{c} {}</span>", esc(l));
        }
    }
    b.push_str("</pre>");
    Ok(html(html_doc("Scenarios", Some(&who), "", &b)))
}

// ---- simulate ------------------------------------------------------------------------------

pub async fn simulate(State(s): State<UiState>, who: Signed, Query(q): Query<PageQuery>) -> Page {
    let Some((id, name, rev)) = pick(&s, &q).await? else {
        return Ok(no_scenario("Simulate", &who));
    };
    let mut b = format!(
        "<h1>Simulate</h1><p class=\"explain\">Run the workload of {} (revision {}) on the planned fleet: the production scheduler, a seeded simulation.</p>",
        esc(&name),
        rev.revision
    );
    b.push_str(&chooser(&s, "/simulate", &id, None, "").await?);
    if super::may(&who.0.role, Action::Compute) {
        let policies: String = xpufleet_sched::Policy::ALL
            .iter()
            .map(|p| {
                format!(
                    "<option{}>{}</option>",
                    if p.name() == "fifo-het" {
                        " selected"
                    } else {
                        ""
                    },
                    p.name()
                )
            })
            .collect();
        let _ = write!(
            b,
            "<form method=\"post\" action=\"/simulate\" id=\"simulate-form\" class=\"card form\">{}\
             <input type=\"hidden\" name=\"scenario\" value=\"{}\">\
             <div class=\"field\"><label for=\"policy\">Policy</label><select id=\"policy\" name=\"policy\">{policies}</select></div>\
             <div class=\"field\"><label for=\"seed\">Seed</label><input id=\"seed\" name=\"seed\" type=\"number\" min=\"0\" value=\"0\"></div>\
             <div class=\"field\"><label><input type=\"checkbox\" name=\"failures\" value=\"1\" checked> Simulate accelerator failures</label></div>\
             <div class=\"field\"><label for=\"sim_as_of\">As of</label><input id=\"sim_as_of\" name=\"as_of\" type=\"date\"></div>\
             <button type=\"submit\">Run the simulation</button></form>",
            who.csrf_field(),
            esc(&id)
        );
    } else {
        b.push_str("<p class=\"muted\">Running simulations needs the planner, compliance or admin role.</p>");
    }
    Ok(html(html_doc("Simulate", Some(&who), "", &b)))
}

pub async fn start_simulation(
    State(s): State<UiState>,
    who: Signed,
    Form(form): Form<HashMap<String, String>>,
) -> Page {
    who.check_csrf(&form)?;
    who.require(Action::Compute)?;
    let q = PageQuery {
        scenario: form.get("scenario").cloned(),
        ..Default::default()
    };
    let Some((id, _, rev)) = pick(&s, &q).await? else {
        return Ok(no_scenario("Simulate", &who));
    };
    let policy = form
        .get("policy")
        .cloned()
        .unwrap_or_else(|| "fifo-het".into());
    policy
        .parse::<xpufleet_sched::Policy>()
        .map_err(|e| bad(&format!("policy: {e}")))?;
    let seed: u64 = match form.get("seed").map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => 0,
        Some(v) => v
            .parse()
            .map_err(|_| bad("seed: expected a whole number, 0 or more"))?,
    };
    let as_of = parse_date("as_of", &form.get("as_of").cloned())?;
    let records = super::compute::current(&s.store).await.map_err(internal)?;
    let job = s.jobs.start(
        &id,
        rev.revision,
        &rev.body,
        records,
        Task::Report {
            as_of,
            policy,
            seed,
            failures: form.contains_key("failures"),
        },
    );
    Ok(Redirect::to(&format!("/jobs/{}", job.id)).into_response())
}

fn hours(v: f64) -> String {
    format!("{} h", sig3(v / 3600.0))
}

async fn simulate_result(s: &UiState, who: &Signed, job: &super::Job, r: &ReportData) -> Page {
    let mut b = format!(
        "<h1>Simulate</h1><p class=\"explain\">Scenario {} (<code>{}</code>) revision {}, policy <b>{}</b>, seed {}, as of {}.</p>",
        esc(&r.meta.scenario),
        esc(&job.scenario_id),
        job.revision,
        esc(&r.meta.policy),
        r.meta.seed,
        r.meta.as_of
    );
    let _ = s;
    let Some(w) = r.workload.get() else {
        let _ = write!(
            b,
            "<p class=\"na\" id=\"sim-unavailable\">Not available: {}</p>",
            esc(r.workload.reason().unwrap_or(""))
        );
        return Ok(html(html_doc("Simulate", Some(who), "", &b)));
    };
    if let Some(why) = &w.stopped {
        let _ = write!(
            b,
            "<p class=\"note\" role=\"status\" id=\"sim-stopped\">The simulation {}. \
             Jobs shown running or waiting had not finished when it stopped; the figures \
             cover the simulation until then.</p>",
            esc(why)
        );
    }
    let st = &w.stats;
    let _ = write!(
        b,
        "<section class=\"part\" aria-labelledby=\"h-sim\"><h2 id=\"h-sim\">Result</h2>\
         <dl class=\"kpis\" id=\"sim-stats\"><div><dt>Jobs completed</dt><dd>{} of {}</dd></div>\
         <div><dt>Mean JCT</dt><dd>{}</dd></div><div><dt>p99 JCT</dt><dd>{}</dd></div>\
         <div><dt>Makespan</dt><dd>{}</dd></div><div><dt>Preemptions</dt><dd>{}</dd></div><div><dt>Failures hitting jobs</dt><dd>{}</dd></div></dl>",
        st.completed,
        st.jobs,
        st.jct_mean_s.map(hours).unwrap_or_else(|| "—".into()),
        st.jct_p99_s.map(hours).unwrap_or_else(|| "—".into()),
        hours(st.makespan_s as f64),
        w.preemptions,
        w.job_failures
    );
    let horizon_h = (w.horizon_s.max(1)) as f64 / 3600.0;
    let hf = |v: f64| sig3(v);
    let pc = |v: f64| format!("{}%", sig3(v));
    // The report's colours: one per accelerator of the scenario, the same on every page.
    let pal = Palette::of_report(r);
    b.push_str(&figure(
        "chart-utilisation",
        "Utilisation by accelerator type",
        &components::utilisation_chart(w, &r.labels, &pal),
    ));
    const MAX_ROWS: usize = 60;
    if w.jobs.len() <= MAX_ROWS {
        let mut used: Vec<String> = w
            .jobs
            .iter()
            .filter_map(|j| j.accelerator.clone())
            .collect();
        used.sort();
        used.dedup();
        let color = |a: &str| pal.accelerator(a);
        let svg = chart::timeline(&Timeline {
            width: chart::FULL,
            rows: w
                .jobs
                .iter()
                .map(|j| Span {
                    label: j.id.clone(),
                    submit: j.submit_s as f64 / 3600.0,
                    start: j.start_s.map(|v| v as f64 / 3600.0),
                    end: j.end_s.map(|v| v as f64 / 3600.0),
                    color: j.accelerator.as_deref().map_or("#888888", color).into(),
                    rejected: j.status == "rejected",
                    title: format!(
                        "{} on {}",
                        j.id,
                        j.accelerator.as_deref().unwrap_or("nothing")
                    ),
                })
                .collect(),
            x_max: horizon_h,
            x_label: "Hours since the first submission".into(),
            x_fmt: &hf,
            legend: used
                .iter()
                .map(|a| (a.clone(), color(a).to_string()))
                .collect(),
            desc: "Each job's wait and run time, coloured by accelerator type".into(),
        });
        b.push_str(&figure("chart-timeline", "Jobs over time", &svg));
    } else {
        let _ = write!(
            b,
            "<p class=\"na\">Jobs over time: {} jobs are too many to draw one row each.</p>",
            w.jobs.len()
        );
    }
    let mut jcts: Vec<f64> = w
        .jobs
        .iter()
        .filter_map(|j| j.jct_s())
        .map(|v| v as f64 / 3600.0)
        .collect();
    jcts.sort_by(f64::total_cmp);
    if !jcts.is_empty() {
        let n = w.jobs.len().max(1) as f64;
        let mut pts = vec![(0.0, 0.0)];
        pts.extend(
            jcts.iter()
                .enumerate()
                .map(|(i, v)| (*v, 100.0 * (i + 1) as f64 / n)),
        );
        let svg = chart::lines(&Lines {
            width: chart::FULL,
            series: vec![LineSeries {
                name: "jobs finished within a JCT".into(),
                color: PLANNED.into(),
                points: pts,
                step: true,
            }],
            x_label: "Job completion time (hours)".into(),
            y_label: "Jobs (%)".into(),
            x_max: jcts.last().copied().unwrap_or(1.0) * 1.05,
            y_max: Some(100.0),
            x_fmt: &hf,
            y_fmt: &pc,
            desc: "Cumulative distribution of job completion times".into(),
        });
        b.push_str(&figure("chart-jct", "JCT distribution", &svg));
    }
    let rows: Vec<Vec<String>> = w
        .jobs
        .iter()
        .take(200)
        .map(|j| {
            vec![
                format!("<code>{}</code>", esc(&j.id)),
                esc(&j.tenant),
                j.accels.to_string(),
                esc(j.pool.as_deref().unwrap_or("—")),
                esc(&j.status),
                j.jct_s()
                    .map(|v| hours(v as f64))
                    .unwrap_or_else(|| "—".into()),
                esc(j.reason.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    b.push_str(&table(
        "sim-jobs",
        "Jobs",
        &[
            "Job",
            "Tenant",
            "Accelerators",
            "Pool",
            "Status",
            "JCT",
            "Why waiting",
        ],
        &[2, 5],
        &rows,
    ));
    b.push_str("</section>");
    Ok(html(html_doc("Simulate", Some(who), "", &b)))
}

// ---- jobs ----------------------------------------------------------------------------------

pub async fn job(State(s): State<UiState>, who: Signed, Path(id): Path<String>) -> Page {
    let job = s.jobs.get(&id).ok_or_else(|| {
        error_page(
            StatusCode::NOT_FOUND,
            "no such computation (results are kept while the server runs)",
        )
    })?;
    render_job(&s, &who, &job, &format!("/jobs/{}", urlencode(&id))).await
}

// ---- audit ---------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
pub struct AuditFilter {
    actor: Option<String>,
    resource: Option<String>,
}

/// The audit trail (newest first, the last 500 that match), filterable by actor and resource,
/// with the whole chain's verification status.
pub async fn audit_page(
    State(s): State<UiState>,
    who: Signed,
    Query(q): Query<AuditFilter>,
) -> Page {
    let chain = s.store.audit_chain().await.map_err(internal)?;
    let status = match crate::audit::verify(&chain) {
        Ok(n) => format!(
            "<p class=\"ok banner\" id=\"chain-status\">The chain verifies: {n} entries, each hashed over the one before.</p>"
        ),
        Err(broken) => format!(
            "<p class=\"problem\" role=\"alert\" id=\"chain-status\">The chain is broken: {}</p>",
            esc(&broken.to_string())
        ),
    };
    let actor = q.actor.as_deref().map(str::trim).filter(|a| !a.is_empty());
    let resource = q
        .resource
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let mut shown: Vec<&crate::audit::AuditEntry> = chain
        .iter()
        .filter(|e| actor.is_none_or(|a| e.actor == a))
        .filter(|e| {
            resource.is_none_or(|r| {
                e.resource == r
                    || e.resource
                        .starts_with(&format!("{}/", r.trim_end_matches('/')))
            })
        })
        .collect();
    shown.reverse();
    shown.truncate(500);
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|e| {
            vec![
                e.seq.to_string(),
                esc(&e.at),
                format!(
                    "{} <span class=\"muted\">({})</span>",
                    esc(&e.actor),
                    esc(&e.role)
                ),
                format!("<code>{}</code>", esc(&e.action)),
                format!("<code>{}</code>", esc(&e.resource)),
                e.revision.map(|r| r.to_string()).unwrap_or_default(),
                format!(
                    "<code title=\"{}\">{}…</code>",
                    esc(&e.hash),
                    esc(&e.hash[..e.hash.len().min(12)])
                ),
            ]
        })
        .collect();
    let b = format!(
        "<h1>Audit</h1><p class=\"explain\">Every change, over the API or on these pages, in a hash chain \
         (<code>xpufleet audit verify</code> checks it offline).</p>{status}\
         <form method=\"get\" action=\"/audit\" class=\"controls\" aria-label=\"Filter the trail\">\
         <label for=\"actor\">Actor</label><input id=\"actor\" name=\"actor\" value=\"{}\">\
         <label for=\"resource\">Resource</label><input id=\"resource\" name=\"resource\" value=\"{}\" placeholder=\"/api/v1/verifications\">\
         <button type=\"submit\">Filter</button></form>{}",
        esc(actor.unwrap_or("")),
        esc(resource.unwrap_or("")),
        table(
            "audit",
            &format!("{} of {} entries, newest first", shown.len(), chain.len()),
            &["Seq", "At (UTC)", "Actor", "Action", "Resource", "Revision", "Hash"],
            &[0, 5],
            &rows
        )
    );
    Ok(html(html_doc("Audit", Some(&who), "", &b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_keep_changes_with_their_context_only() {
        let a: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let b = a.replace("line 10\n", "line ten\n");
        let d = line_diff(&a, &b);
        let h = hunks(&d, 2);
        assert_eq!(h.len(), 1);
        assert_eq!((h[0].old_start, h[0].new_start), (8, 8));
        assert_eq!(
            h[0].lines,
            vec![
                (' ', "line 8"),
                (' ', "line 9"),
                ('-', "line 10"),
                ('+', "line ten"),
                (' ', "line 11"),
                (' ', "line 12"),
            ]
        );
        // Two changes far apart are two hunks; the same text is none.
        let c = b.replace("line 19\n", "line nineteen\n");
        assert_eq!(hunks(&line_diff(&a, &c), 2).len(), 2);
        assert!(hunks(&line_diff(&a, &a), 2).is_empty());
    }

    #[test]
    fn line_diff_keeps_common_lines_and_marks_changes() {
        let d = line_diff("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n");
        let got: Vec<String> = d.iter().map(|(c, l)| format!("{c}{l}")).collect();
        assert_eq!(got, [" a", "-b", "+B", " c", " d", "+e"]);
        assert!(line_diff("x\ny", "x\ny").iter().all(|(c, _)| *c == ' '));
    }

    #[test]
    fn a_what_if_form_becomes_a_what_if_file_that_parses() {
        let mut f = HashMap::new();
        f.insert("wi_as_of".to_string(), "2025-04-15".to_string());
        f.insert("budget_envelope".to_string(), "cn-chips".to_string());
        f.insert("budget_amount".to_string(), "30e9".to_string());
        f.insert("cap_id".to_string(), "huawei-2025".to_string());
        f.insert("cap_max".to_string(), "90000".to_string());
        let t = what_if_toml(&f).unwrap().unwrap();
        let w = xpufleet_io::whatif::parse_what_if(&t, "what-if").unwrap();
        assert_eq!(w.what_if.as_of, Some("2025-04-15".parse().unwrap()));
        assert!(what_if_toml(&HashMap::new()).unwrap().is_none());
        f.insert("budget_amount".to_string(), "-1".to_string());
        assert!(what_if_toml(&f).unwrap_err().starts_with("budget:"));
    }

    #[test]
    fn a_verification_form_is_checked_like_the_api() {
        let mut f: HashMap<String, String> = [
            ("id", "cyber-owner"),
            ("entity", "sg-neocloud"),
            ("role", "owner"),
            ("subject", "my-cyberjaya"),
            ("valid_from", "2025-01-01"),
            ("document_sha256", &"ab".repeat(32)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert!(verification_from_form(&f).is_ok());
        f.insert("valid_to".into(), "2024-01-01".into());
        assert_eq!(verification_from_form(&f).unwrap_err().0, "valid_to");
        f.remove("valid_to");
        f.insert("document_sha256".into(), "xyz".into());
        assert_eq!(verification_from_form(&f).unwrap_err().0, "document_sha256");
        f.insert("role".into(), "tenant".into());
        assert_eq!(verification_from_form(&f).unwrap_err().0, "role");
    }
}
