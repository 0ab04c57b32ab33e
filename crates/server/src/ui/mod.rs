//! The web UI served by `xpufleet serve` at `/`: server-rendered pages over the same store and
//! use cases as the API, for people who will never open a terminal. Every page is plain HTML
//! that reads with JavaScript off; the one script (`/ui/app.js`) only records page errors.
//!
//! Sign-in takes an API token once (`/login`, form field `token`) and gives a session cookie
//! (`HttpOnly`, `SameSite=Strict`, `Path=/`) naming a random session id; every form carries the
//! session's CSRF token and every POST checks it. Sessions live in the database, stored by the
//! SHA-256 of their id, so every server on one database knows them (a session made on one
//! works on all, and signing out on one signs out on all); the CSRF token is derived from the
//! session id, so no session secret ever reaches the database. Failed sign-ins are counted in
//! the database too: over `LOGIN_FAILURES_PER_MINUTE` in a minute, sign-in answers `429`.
//! Signing in and out, and the end of a session whose token was revoked, are the store's use
//! cases (`usecases::sign_in`, `usecases::end_session`): each session is made and ended with
//! its audit entry in one transaction. The forms' changes are the API's use cases too
//! (`change` below).
//!
//! Long computations (the report behind the fleet, compliance and simulate pages, plans and
//! what-ifs) run on a blocking task; the page that asked shows their progress and refreshes
//! itself (`<meta http-equiv="refresh">`, so it works without JavaScript) until they are done.

// A refusal is a whole page (a `Response`), returned as handlers return it; boxing it would
// only add noise on every `?`.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use xpufleet_report::format::esc;

use crate::db::Store;
use crate::token;

pub use xpufleet_store::sessions::Session;
use xpufleet_store::usecases::{self, SessionEnd, SignIn, UseCaseError};

mod compute;
mod pages;

pub use compute::{Job, JobState};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "xpf_session";
/// The cookie that carries the sign-in form's CSRF token before there is a session.
const LOGIN_COOKIE: &str = "xpf_login";
/// Failed sign-ins allowed per minute, over every server on the database; beyond, `429`.
pub const LOGIN_FAILURES_PER_MINUTE: i64 = 20;

/// What the UI's handlers share.
#[derive(Clone)]
pub struct UiState {
    pub(crate) app: crate::api::AppState,
    pub(crate) store: Store,
    pub(crate) jobs: Arc<compute::Jobs>,
}

impl std::fmt::Debug for UiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Session ids are secrets: never printed.
        f.debug_struct("UiState").finish_non_exhaustive()
    }
}

/// What a role may do in the UI. Everyone signed in may read every page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Edit verification records and licences.
    EditRecords,
    /// Approve a plan.
    ApprovePlan,
    /// Create or revise scenarios, run plans, what-ifs and simulations.
    Compute,
}

/// The role rule of the UI's forms is the API's (`auth::rule`) for the API call each form
/// stands for: compliance officers (and admins) edit the records that decide verdicts and
/// approve plans; planners change scenarios and run computations but cannot approve plans;
/// viewers read. An unknown role may do nothing.
pub fn may(role: &str, action: Action) -> bool {
    use axum::http::Method;
    let (method, route) = match action {
        Action::EditRecords => (Method::PUT, "/api/v1/verifications/{id}"),
        Action::ApprovePlan => (Method::POST, "/api/v1/runs/{id}/approve"),
        Action::Compute => (Method::POST, "/api/v1/scenarios/{id}/plan"),
    };
    match (
        role.parse::<crate::auth::Role>(),
        crate::auth::rule(&method, route),
    ) {
        (Ok(have), Some(need)) => have >= need,
        _ => false,
    }
}

/// The audit entry of a change made through the UI, as the API's middleware starts it for
/// the same change made over HTTP: `action` is the API call it stands for.
pub fn entry(who: &Signed, action: &str, resource: &str, body: &[u8]) -> crate::audit::NewEntry {
    use sha2::Digest;
    crate::audit::NewEntry {
        actor: who.0.name.clone(),
        role: who.0.role.clone(),
        action: action.to_string(),
        resource: resource.to_string(),
        body_sha256: token::hex(&sha2::Sha256::digest(body)),
        ..Default::default()
    }
}

/// The UI's changes: each is the API's use case (`xpufleet_store::usecases`), which writes,
/// appends its audit entry and commits in one transaction; a refusal is the API's, shown
/// on the UI's pages.
pub(crate) mod change {
    use super::{entry, Signed, UiState};
    use xpufleet_store::usecases::{self, unkept, ApprovePlan, UseCaseError};

    /// Creates or replaces a record; its new version.
    pub async fn put_record(
        s: &UiState,
        who: &Signed,
        kind: xpufleet_app::RecordKind,
        id: &str,
        body: &str,
    ) -> Result<i64, UseCaseError> {
        let e = entry(
            who,
            &format!("PUT /api/v1/{kind}/{{id}}"),
            &format!("/api/v1/{kind}/{id}"),
            body.as_bytes(),
        );
        let out = usecases::put_record(&s.store, e, kind, id, body, unkept).await?;
        Ok(out.version)
    }

    /// A new scenario; its id.
    pub async fn create_scenario(
        s: &UiState,
        who: &Signed,
        text: &str,
    ) -> Result<String, UseCaseError> {
        let e = entry(who, "POST /api/v1/scenarios", "", text.as_bytes());
        let out = usecases::create_scenario(&s.store, e, &who.0.name, text, unkept).await?;
        Ok(out.id)
    }

    /// A scenario's next revision after `base`; its number.
    pub async fn revise_scenario(
        s: &UiState,
        who: &Signed,
        id: &str,
        base: i64,
        text: &str,
    ) -> Result<i64, UseCaseError> {
        let e = entry(who, "PUT /api/v1/scenarios/{id}", "", text.as_bytes());
        let out =
            usecases::revise_scenario(&s.store, e, &who.0.name, id, base, text, unkept).await?;
        Ok(out.revision)
    }

    /// Approves stored plan `run_id` with `note`, as `POST /api/v1/runs/{id}/approve` would.
    pub async fn approve(
        s: &UiState,
        who: &Signed,
        run_id: &str,
        note: &str,
    ) -> Result<(), UseCaseError> {
        let body = serde_json::json!({ "note": note }).to_string();
        let e = entry(
            who,
            "POST /api/v1/runs/{id}/approve",
            &format!("/api/v1/runs/{run_id}/approve"),
            body.as_bytes(),
        );
        let input = ApprovePlan {
            run_id: run_id.to_string(),
            by: who.0.name.clone(),
            role: who.0.role.clone(),
            note: note.to_string(),
        };
        usecases::approve_plan(&s.store, e, input, unkept).await?;
        Ok(())
    }
}

/// The UI's routes, ready to merge into the service's router.
pub fn router<S: Clone + Send + Sync + 'static>(app: crate::api::AppState) -> Router<S> {
    let jobs = Arc::new(compute::Jobs::new(app.computations.clone()));
    let state = UiState {
        store: app.store.clone(),
        app,
        jobs,
    };
    Router::new()
        .route("/", get(|| async { Redirect::to("/fleet") }))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/ui/style.css", get(style))
        .route("/ui/app.js", get(script))
        .route("/ui/icon.svg", get(icon))
        .route("/favicon.ico", get(icon))
        .route("/fleet", get(pages::fleet))
        .route("/compliance", get(pages::compliance))
        .route("/records", get(pages::records))
        .route("/records/verifications", post(pages::save_verification))
        .route("/records/licences", post(pages::save_licence))
        .route("/records/reviews", post(pages::save_review))
        .route("/plan", get(pages::plan).post(pages::what_if))
        .route("/plan/approve", post(pages::approve))
        .route(
            "/scenarios",
            get(pages::scenarios).post(pages::new_scenario),
        )
        .route(
            "/scenarios/{id}/edit",
            get(pages::edit_scenario).post(pages::save_scenario),
        )
        .route("/scenarios/{id}/diff", get(pages::diff_revisions))
        .route(
            "/simulate",
            get(pages::simulate).post(pages::start_simulation),
        )
        .route("/jobs/{id}", get(pages::job))
        .route("/audit", get(pages::audit_page))
        .with_state(state)
}

// ---- sessions ------------------------------------------------------------------------------

/// A use case's failure as the error page the API's status would give.
fn unavailable_use(e: UseCaseError) -> Response {
    let e = crate::error::ApiError::from(e);
    error_page(e.status, &e.body.error)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn random_hex() -> Result<String, Response> {
    token::random_bytes::<32>()
        .map(|b| token::hex(&b))
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e).into_response())
}

/// Constant-time comparison, so a CSRF token cannot be guessed a byte at a time.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The signed-in person of a request; pages that need one redirect to `/login` without.
#[derive(Debug, Clone)]
pub struct Signed(pub Session);

impl FromRequestParts<UiState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &UiState) -> Result<Signed, Response> {
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            Redirect::to(&format!("/login?next={}", urlencode(&next))).into_response()
        };
        let Some(id) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let unavailable = |e: crate::DbError| {
            let e = crate::error::ApiError::from(e);
            error_page(e.status, &e.body.error)
        };
        let sess = match s.store.session(&id).await.map_err(unavailable)? {
            Some(sess) => sess,
            None => return Err(to_login()),
        };
        // A revoked token (or one whose role changed) ends the session at once, on every
        // server: each reads the token's row.
        match s.store.token(&sess.token_hash).await {
            Ok((_, role)) if role == sess.role => Ok(Signed(sess)),
            Ok(_) | Err(crate::DbError::NotFound) => {
                usecases::end_session(&s.store, &id, &sess, SessionEnd::TokenRevoked)
                    .await
                    .map_err(unavailable_use)?;
                Err(to_login())
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl Signed {
    /// Refuses a form whose CSRF token is not the session's.
    pub fn check_csrf(&self, form: &HashMap<String, String>) -> Result<(), Response> {
        match form.get("csrf") {
            Some(t) if same(t, &self.0.csrf) => Ok(()),
            _ => Err(error_page(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from this site (CSRF check failed). Reload the page and try again.",
            )),
        }
    }

    /// Refuses an action the session's role may not take.
    pub fn require(&self, action: Action) -> Result<(), Response> {
        if may(&self.0.role, action) {
            Ok(())
        } else {
            Err(error_page(
                StatusCode::FORBIDDEN,
                &format!(
                    "Your role ({}) may not do this: {}.",
                    self.0.role,
                    match action {
                        Action::EditRecords => "editing verification records and licences needs the compliance or admin role",
                        Action::ApprovePlan => "approving a plan needs the compliance or admin role",
                        Action::Compute => "changing scenarios and running computations needs the planner, compliance or admin role",
                    }
                ),
            ))
        }
    }

    /// The hidden CSRF field every form carries.
    pub fn csrf_field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            esc(&self.0.csrf)
        )
    }
}

fn cookie_header(name: &str, value: &str, max_age: Option<u64>) -> String {
    let mut c = format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/");
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    c
}

#[derive(Debug, serde::Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only paths on this site are followed after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        // Browsers drop TAB, CR and LF inside URLs ("/\t/evil" is "//evil"), and a control
        // character cannot be put in a Location header at all.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.into()
        }
        _ => "/fleet".into(),
    }
}

async fn login_form(
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Result<Response, Response> {
    login_page(q.next.as_deref(), None, StatusCode::OK)
}

fn login_page(
    next: Option<&str>,
    problem: Option<&str>,
    status: StatusCode,
) -> Result<Response, Response> {
    let nonce = random_hex()?;
    let problem = problem
        .map(|p| {
            format!(
                "<p class=\"problem\" role=\"alert\" id=\"login-problem\">{}</p>",
                esc(p)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1>\
         <p class=\"explain\">Paste an API token. An administrator creates one with \
         <code>xpufleet token create --role compliance --name you</code>.</p>{problem}\
         <form method=\"post\" action=\"/login\" class=\"card narrow\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{nonce}\">\
         <input type=\"hidden\" name=\"next\" value=\"{}\">\
         <label for=\"token\">Token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required \
         aria-describedby=\"token-help\"{}>\
         <p id=\"token-help\" class=\"muted\">Starts with <code>xpf_</code>; it is sent once and never shown again.</p>\
         <button type=\"submit\">Sign in</button></form>",
        esc(&safe_next(next)),
        if problem.is_empty() { "" } else { " aria-invalid=\"true\"" },
    );
    let mut resp = (status, html(html_doc("Sign in", None, "", &body))).into_response();
    if let Ok(v) = cookie_header(LOGIN_COOKIE, &nonce, Some(600)).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn login(
    State(s): State<UiState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, Response> {
    let next = form.get("next").map(String::as_str);
    let nonce_ok = match (cookie(&headers, LOGIN_COOKIE), form.get("csrf")) {
        (Some(c), Some(f)) => same(&c, f),
        _ => false,
    };
    if !nonce_ok {
        return login_page(
            next,
            Some("The sign-in form expired or did not come from this site. Try again."),
            StatusCode::FORBIDDEN,
        );
    }
    let throttled = || {
        let mut r = error_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-ins in the last minute. Wait a minute and try again.",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
        r
    };
    let tok = form.get("token").map(|t| t.trim()).unwrap_or("");
    if tok.is_empty() {
        return login_page(
            next,
            Some("token: expected an API token"),
            StatusCode::BAD_REQUEST,
        );
    }
    let id = match usecases::sign_in(&s.store, tok, LOGIN_FAILURES_PER_MINUTE)
        .await
        .map_err(unavailable_use)?
    {
        SignIn::Session { id, .. } => id,
        SignIn::Throttled => return Err(throttled()),
        SignIn::Unknown => {
            return login_page(next, Some("token: unknown token"), StatusCode::UNAUTHORIZED)
        }
    };
    let mut resp = Redirect::to(&safe_next(next)).into_response();
    for c in [
        cookie_header(SESSION_COOKIE, &id, None),
        cookie_header(LOGIN_COOKIE, "", Some(0)),
    ] {
        if let Ok(v) = c.parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

async fn logout(
    State(s): State<UiState>,
    who: Signed,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, Response> {
    who.check_csrf(&form)?;
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        usecases::end_session(&s.store, &id, &who.0, SessionEnd::SignOut)
            .await
            .map_err(unavailable_use)?;
    }
    let mut resp = Redirect::to("/login").into_response();
    if let Ok(v) = cookie_header(SESSION_COOKIE, "", Some(0)).parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

// ---- the page frame ------------------------------------------------------------------------

const STYLE: &str = concat!(
    include_str!("../../../report/src/report.css"),
    "\n",
    include_str!("ui.css")
);
const SCRIPT: &str = include_str!("app.js");

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        STYLE,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// A small icon, so that browsers do not ask for a missing `/favicon.ico`.
const ICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#172340\"/><rect x=\"3\" y=\"3\" width=\"4\" height=\"4\" fill=\"#3b5bdb\"/><rect x=\"9\" y=\"3\" width=\"4\" height=\"4\" fill=\"#9aa9c2\"/><rect x=\"3\" y=\"9\" width=\"4\" height=\"4\" fill=\"#9aa9c2\"/><rect x=\"9\" y=\"9\" width=\"4\" height=\"4\" fill=\"#3b5bdb\"/></svg>";

async fn icon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        ICON,
    )
        .into_response()
}

/// The pages of the navigation bar: (path, label).
pub const NAV: [(&str, &str); 7] = [
    ("/fleet", "Fleet"),
    ("/compliance", "Compliance"),
    ("/records", "Records"),
    ("/plan", "Plan"),
    ("/scenarios", "Scenarios"),
    ("/simulate", "Simulate"),
    ("/audit", "Audit"),
];

/// The navigation bar's links, the current page marked.
fn nav_links(title: &str) -> String {
    let links: String = NAV
        .iter()
        .map(|(href, label)| {
            let current = if title.starts_with(label) {
                " aria-current=\"page\""
            } else {
                ""
            };
            format!("<li><a href=\"{href}\"{current}>{label}</a></li>")
        })
        .collect();
    format!("<nav aria-label=\"Pages\"><ul>{links}</ul></nav>")
}

/// A whole page: the skip link, the banner with navigation and sign-out, the main landmark.
pub fn html_doc(title: &str, who: Option<&Signed>, head_extra: &str, body: &str) -> String {
    let nav = match who {
        None => String::new(),
        Some(w) => format!(
            "{}<form method=\"post\" action=\"/logout\" class=\"signout\">{}\
             <span class=\"who\">{} <small>({})</small></span>\
             <button type=\"submit\">Sign out</button></form>",
            nav_links(title),
            w.csrf_field(),
            esc(&w.0.name),
            esc(&w.0.role)
        ),
    };
    layout(title, &nav, head_extra, body)
}

fn layout(title: &str, nav: &str, head_extra: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · xpufleet</title>{head_extra}\
         <link rel=\"icon\" href=\"/ui/icon.svg\" type=\"image/svg+xml\"><link rel=\"stylesheet\" href=\"/ui/style.css\"><script src=\"/ui/app.js\"></script></head>\
         <body class=\"ui\"><a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header class=\"bar\"><a class=\"brand\" href=\"/fleet\">xpufleet</a>{nav}</header>\
         <main id=\"main\" tabindex=\"-1\">{body}</main></body></html>",
        esc(title)
    )
}

/// A page that explains what went wrong, with the status it deserves, inside the site's
/// layout (its navigation too: a page that does not know who is signed in still leads on).
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let heading = match status.as_u16() {
        400 | 422 => "That input was refused",
        401 => "Sign in first",
        403 => "Your role may not do that",
        404 => "Not found",
        409 => "That conflicts with what is stored",
        429 => "Too many requests",
        s if s >= 500 => "Something went wrong on the server",
        _ => "That could not be done",
    };
    let body = format!(
        "<h1>{heading}</h1><p class=\"problem\" role=\"alert\">{}</p>\
         <p class=\"muted\">HTTP {} {}. Go back to correct it, or choose a page above.</p>",
        esc(message),
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    (status, html(layout("Error", &nav_links(""), "", &body))).into_response()
}

/// HTML with its content type and a policy that allows only this site's own script and style.
pub fn html(doc: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        doc,
    )
        .into_response()
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_edit_and_approve_only_as_compliance_or_admin() {
        for role in ["admin", "compliance"] {
            assert!(may(role, Action::EditRecords));
            assert!(may(role, Action::ApprovePlan));
        }
        assert!(!may("planner", Action::ApprovePlan));
        assert!(!may("planner", Action::EditRecords));
        assert!(may("planner", Action::Compute));
        for a in [Action::EditRecords, Action::ApprovePlan, Action::Compute] {
            assert!(!may("viewer", a));
            assert!(!may("someone", a));
        }
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/plan?scenario=a")), "/plan?scenario=a");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "",
            "/\t/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/a\nb",
        ] {
            assert_eq!(safe_next(Some(bad)), "/fleet");
        }
        assert_eq!(safe_next(None), "/fleet");
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; xpf_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
