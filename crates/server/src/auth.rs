//! Who may do what: the four roles, the route → role table, and the middleware that decides a
//! request from its token and its route alone, before the body is read or validated.
//!
//! **Invariant:** the table fails closed. A route with no rule is refused for every token, and
//! the matrix test walks every operation of the served OpenAPI document, so a new route without
//! a rule fails the build rather than opening a hole.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::AppState;
use crate::db::DbError;
use crate::error::ApiError;
use crate::token;
use xpufleet_app::records::Writer;
use xpufleet_app::RecordKind;

/// A token's role. Each includes the rights of the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads everything except token data.
    Viewer,
    /// + creates and edits scenarios, sites, pools and acquisitions; runs check, plan and run.
    Planner,
    /// + creates and edits verifications, licences, rule packs and catalog overrides; approves
    ///   plans.
    Compliance,
    /// + creates, lists and revokes tokens.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Planner, Role::Compliance, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Planner => "planner",
            Role::Compliance => "compliance",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("expected viewer, planner, compliance or admin, found {s:?}"))
    }
}

/// Who may change records of `kind`: the fleet's inventory is the planners', everything an
/// export-control verdict rests on is compliance's.
fn record_writer(kind: RecordKind) -> Role {
    match kind.writer() {
        Writer::Planner => Role::Planner,
        Writer::Compliance => Role::Compliance,
    }
}

/// The least role that may call `method` on the route template `route` (as written in the
/// router and the OpenAPI document); `None` (refused for everyone) for a route without a rule.
pub fn rule(method: &Method, route: &str) -> Option<Role> {
    use Role::*;
    let m = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    let fixed = match (m, route) {
        ("GET", "/api/v1/openapi.json") => Some(Viewer),
        (
            "GET",
            "/api/v1/scenarios"
            | "/api/v1/scenarios/{id}"
            | "/api/v1/scenarios/{id}/revisions"
            | "/api/v1/scenarios/{id}/revisions/{rev}",
        ) => Some(Viewer),
        ("POST", "/api/v1/scenarios") | ("PUT", "/api/v1/scenarios/{id}") => Some(Planner),
        // A check is a computation that is stored, as a plan is.
        ("GET", "/api/v1/scenarios/{id}/check") => Some(Planner),
        (
            "POST",
            "/api/v1/scenarios/{id}/plan"
            | "/api/v1/scenarios/{id}/runs"
            | "/api/v1/scenarios/{id}/simulate",
        ) => Some(Planner),
        // The effective scenario is the revision with the records that anyone may read.
        ("GET", "/api/v1/scenarios/{id}/effective") => Some(Viewer),
        (
            "GET",
            "/api/v1/runs/{id}"
            | "/api/v1/runs/{id}/result"
            | "/api/v1/runs/{id}/report.html"
            | "/api/v1/runs/{id}/approvals",
        ) => Some(Viewer),
        ("POST", "/api/v1/runs/{id}/replay") => Some(Planner),
        ("POST", "/api/v1/runs/{id}/approve") => Some(Compliance),
        (
            "GET",
            "/api/v1/audit"
            | "/api/v1/alerts"
            | "/api/v1/screening-lists"
            | "/api/v1/screening-lists/{sha256}",
        ) => Some(Viewer),
        ("POST", "/api/v1/screening-lists") => Some(Compliance),
        ("GET" | "POST", "/api/v1/tokens") | ("DELETE", "/api/v1/tokens/{name}") => Some(Admin),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    // The record routes, one pair per kind.
    let rest = route.strip_prefix("/api/v1/")?;
    let (kind, one, versions) = match rest.split_once('/') {
        None => (rest, false, false),
        Some((k, "{id}")) => (k, true, false),
        Some((k, "{id}/versions")) => (k, true, true),
        Some(_) => return None,
    };
    let kind: RecordKind = kind.parse().ok()?;
    if versions && !kind.retained() {
        return None;
    }
    match (m, one) {
        ("GET", _) => Some(Viewer),
        // A purge of kept versions is the record writer's, as the deletion was.
        ("PUT" | "DELETE", true) if !versions || m == "DELETE" => Some(record_writer(kind)),
        _ => None,
    }
}

/// The token's holder, for the handlers and the audit trail.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

/// How long a token found in the database is trusted without asking again. Revocation through
/// this process empties the cache at once; this bounds how long a revocation made through
/// another process (another server on the same PostgreSQL, `xpufleet token`) takes to apply.
const CACHE_TTL: Duration = Duration::from_secs(2);

/// Tokens recently seen, by digest, and the per-token request budgets.
#[derive(Debug)]
pub struct Auth {
    cache: Mutex<HashMap<String, (Caller, Instant)>>,
    pub(crate) limiter: crate::limits::RateLimiter,
}

impl Default for Auth {
    fn default() -> Auth {
        Auth {
            cache: Mutex::default(),
            limiter: crate::limits::RateLimiter::new(crate::limits::RateLimit::default()),
        }
    }
}

impl Auth {
    pub fn with_rate_limit(limit: crate::limits::RateLimit) -> Auth {
        Auth {
            cache: Mutex::default(),
            limiter: crate::limits::RateLimiter::new(limit),
        }
    }

    /// Forgets every cached token: called when one is revoked.
    pub fn forget_all(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
    }

    async fn caller(&self, s: &AppState, tok: &str) -> Result<Caller, ApiError> {
        let digest = token::hash(tok);
        if let Ok(c) = self.cache.lock() {
            if let Some((caller, at)) = c.get(&digest) {
                if at.elapsed() < CACHE_TTL {
                    return Ok(caller.clone());
                }
            }
        }
        let unknown = || ApiError::new(StatusCode::UNAUTHORIZED, "unknown or revoked token");
        let (stored, name, role) = match s.store.token_row(&digest).await {
            Ok(row) => row,
            Err(DbError::NotFound) => return Err(unknown()),
            Err(e) => return Err(e.into()),
        };
        // The database found the row by its digest; compare again in constant time so that
        // nothing in this process branches on how much of a digest matched.
        if !token::ct_eq(stored.as_bytes(), digest.as_bytes()) {
            return Err(unknown());
        }
        let role: Role = role.parse().map_err(|e: String| {
            ApiError::new(StatusCode::UNAUTHORIZED, format!("token's role: {e}"))
        })?;
        let caller = Caller { name, role };
        if let Ok(mut c) = self.cache.lock() {
            c.insert(digest, (caller.clone(), Instant::now()));
        }
        Ok(caller)
    }
}

/// The middleware on every `/api/v1` route: `401` without a valid token, `429` over the
/// token's request rate, `403` when the token's role is below the route's rule (or the route
/// has none); all before the body is read.
pub async fn authorize(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(tok) = bearer.filter(|t| !t.is_empty()) else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing token: send Authorization: Bearer <token> (xpufleet token create)",
        )
        .into_response();
    };
    let caller = match s.auth.caller(&s, tok).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    // Refused requests count against the budget too: a flood of 403s is still a flood.
    if let Err(wait) = s.auth.limiter.take(&caller.name, &s.store).await {
        return crate::limits::too_many(wait);
    }
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    match rule(req.method(), &route) {
        None => {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "{} {route} has no authorisation rule, so it is refused",
                    req.method()
                ),
            )
            .into_response()
        }
        Some(need) if caller.role < need => {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "{} {route} needs the {need} role; this token is {}",
                    req.method(),
                    caller.role
                ),
            )
            .into_response()
        }
        Some(_) => {}
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// Writes each operation's rule into the OpenAPI document: `x-required-role` and a sentence in
/// its description. An operation without a rule gets `x-required-role: none`.
pub fn document_roles(api: &mut utoipa::openapi::OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let ops = [
            (Method::GET, &mut item.get),
            (Method::PUT, &mut item.put),
            (Method::POST, &mut item.post),
            (Method::DELETE, &mut item.delete),
            (Method::PATCH, &mut item.patch),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let role = rule(&method, path);
            let name = role.map(Role::as_str).unwrap_or("none");
            let ext = op.extensions.get_or_insert_with(Default::default);
            ext.insert("x-required-role".into(), serde_json::json!(name));
            let line = match role {
                Some(r) => format!("Requires the `{r}` role or above."),
                None => "No authorisation rule: refused for every token.".into(),
            };
            op.description = Some(match op.description.take() {
                Some(d) if !d.is_empty() => format!("{d}\n\n{line}"),
                _ => line,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse() {
        assert!(Role::Viewer < Role::Planner);
        assert!(Role::Planner < Role::Compliance);
        assert!(Role::Compliance < Role::Admin);
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn unknown_routes_fail_closed() {
        assert_eq!(rule(&Method::GET, "/api/v1/nowhere"), None);
        assert_eq!(rule(&Method::POST, "/api/v1/pools"), None);
        assert_eq!(rule(&Method::PUT, "/api/v1/pools/{id}/x"), None);
        assert_eq!(rule(&Method::PATCH, "/api/v1/scenarios/{id}"), None);
        assert_eq!(
            rule(&Method::PUT, "/api/v1/verifications/{id}"),
            Some(Role::Compliance)
        );
        assert_eq!(
            rule(&Method::PUT, "/api/v1/pools/{id}"),
            Some(Role::Planner)
        );
        assert_eq!(
            rule(&Method::HEAD, "/api/v1/pools/{id}"),
            Some(Role::Viewer)
        );
    }
}
