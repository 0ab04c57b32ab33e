//! The HTTP API: routes, the token check, the handlers and the OpenAPI document generated from
//! their types. The router is built from `routes()`, the same table `routed_paths` reports, so
//! the test that every served path is documented sees exactly what is served.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::openapi::schema::{ObjectBuilder, Schema};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, OpenApi, PartialSchema, ToSchema};
use xpufleet_app::service::{self, Computation, Computed, Context};
use xpufleet_app::RecordKind;
use xpufleet_model::Date;

use crate::audit::{ChangeCtx, NewEntry, Reply};
use crate::auth::Caller;
use crate::db::{DbError, Store, StoredRun};
use crate::error::{ApiError, ErrorBody};
use crate::token;
use xpufleet_store::usecases;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) store: Store,
    metrics: Arc<Metrics>,
    pub(crate) auth: Arc<crate::auth::Auth>,
    results: Arc<Mutex<ResultCache>>,
    /// Idempotency keys being answered now, per server (two servers in one process, as in the
    /// tests, must not see each other's keys).
    pub(crate) in_flight: crate::idempotency::InFlight,
    /// Whether clients reach this server through TLS: cookies are then `Secure`.
    pub(crate) behind_tls: bool,
    pub(crate) log_format: crate::ops::LogFormat,
    /// The bounded pool every computation runs in (`pool.rs`).
    pub(crate) computations: Arc<crate::pool::Computations>,
}

impl AppState {
    pub fn new(store: Store) -> AppState {
        AppState {
            store,
            metrics: Arc::default(),
            auth: Arc::default(),
            results: Arc::default(),
            in_flight: Arc::default(),
            behind_tls: false,
            log_format: crate::ops::LogFormat::Off,
            computations: Arc::default(),
        }
    }

    /// With a computation pool of `slots` at a time, each stopped after `time_limit`.
    pub fn with_computations(mut self, slots: usize, time_limit: std::time::Duration) -> AppState {
        self.computations = Arc::new(crate::pool::Computations::new(slots, time_limit));
        self
    }

    /// Marks cookies `Secure`: clients reach this server through a TLS proxy.
    pub fn behind_tls(mut self, yes: bool) -> AppState {
        self.behind_tls = yes;
        self
    }

    /// Logs each request as one line on stderr in `format`.
    pub fn with_log_format(mut self, format: crate::ops::LogFormat) -> AppState {
        self.log_format = format;
        self
    }

    /// With a request-rate budget per token other than the default.
    pub fn with_rate_limit(mut self, limit: crate::limits::RateLimit) -> AppState {
        self.auth = Arc::new(crate::auth::Auth::with_rate_limit(limit));
        self
    }
}

/// The most bytes of answers kept in memory.
const RESULT_CACHE_BYTES: usize = 64 << 20;

/// Answers served, by run id. A run's id is the digest of everything it read, so its answer
/// never changes: the bytes are kept and served without reading them back from the database
/// (on PostgreSQL, fetching a large stored answer on every request was most of the latency).
/// The oldest are dropped first past `RESULT_CACHE_BYTES`.
#[derive(Debug, Default)]
struct ResultCache {
    by_id: std::collections::HashMap<String, Bytes>,
    order: std::collections::VecDeque<String>,
    bytes: usize,
}

impl ResultCache {
    fn get(&self, id: &str) -> Option<Bytes> {
        self.by_id.get(id).cloned()
    }

    fn put(&mut self, id: &str, result: Bytes) {
        if result.len() > RESULT_CACHE_BYTES / 8 || self.by_id.contains_key(id) {
            return;
        }
        self.bytes += result.len();
        self.by_id.insert(id.to_string(), result);
        self.order.push_back(id.to_string());
        while self.bytes > RESULT_CACHE_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(b) = self.by_id.remove(&old) {
                self.bytes -= b.len();
            }
        }
    }
}

/// An answer to a computation: its run id and bytes.
struct Answered {
    id: String,
    result: Bytes,
}

#[derive(Debug, Default)]
struct Metrics {
    by_status: Mutex<BTreeMap<u16, u64>>,
    runs_computed: AtomicU64,
    runs_reused: AtomicU64,
}

/// Any JSON object (an answer whose shape is the CLI's `--json`).
pub struct AnyObject;

impl PartialSchema for AnyObject {
    fn schema() -> RefOr<Schema> {
        RefOr::T(Schema::Object(
            ObjectBuilder::new()
                .description(Some(
                    "the same JSON as the CLI's --json for the same inputs",
                ))
                .build(),
        ))
    }
}
impl ToSchema for AnyObject {}

// ---- the routes ---------------------------------------------------------------------------

fn routes() -> Vec<(String, MethodRouter<AppState>)> {
    let mut r: Vec<(String, MethodRouter<AppState>)> = vec![
        ("/api/v1/openapi.json".into(), get(openapi_json)),
        (
            "/api/v1/scenarios".into(),
            post(create_scenario).get(list_scenarios),
        ),
        (
            "/api/v1/scenarios/{id}".into(),
            get(get_scenario).put(update_scenario),
        ),
        (
            "/api/v1/scenarios/{id}/revisions".into(),
            get(list_revisions),
        ),
        (
            "/api/v1/scenarios/{id}/revisions/{rev}".into(),
            get(get_revision),
        ),
        ("/api/v1/scenarios/{id}/check".into(), get(check)),
        ("/api/v1/scenarios/{id}/plan".into(), post(plan)),
        ("/api/v1/scenarios/{id}/simulate".into(), post(simulate)),
        ("/api/v1/scenarios/{id}/effective".into(), get(effective)),
        ("/api/v1/scenarios/{id}/runs".into(), post(create_run)),
        ("/api/v1/runs/{id}".into(), get(get_run)),
        ("/api/v1/runs/{id}/result".into(), get(get_run_result)),
        ("/api/v1/runs/{id}/report.html".into(), get(get_run_html)),
        ("/api/v1/runs/{id}/replay".into(), post(replay_run)),
        // Trust: approvals, the audit trail, alerts and token administration.
        (
            "/api/v1/runs/{id}/approve".into(),
            post(crate::approvals::approve),
        ),
        (
            "/api/v1/runs/{id}/approvals".into(),
            get(crate::approvals::list_approvals),
        ),
        ("/api/v1/audit".into(), get(crate::audit::list_audit)),
        ("/api/v1/alerts".into(), get(crate::alerts::alerts)),
        (
            "/api/v1/screening-lists".into(),
            post(crate::screening::store_list).get(crate::screening::list_lists),
        ),
        (
            "/api/v1/screening-lists/{sha256}".into(),
            get(crate::screening::get_list),
        ),
        (
            "/api/v1/tokens".into(),
            post(crate::tokens::create_token).get(crate::tokens::list_tokens),
        ),
        (
            "/api/v1/tokens/{name}".into(),
            axum::routing::delete(crate::tokens::revoke_token),
        ),
    ];
    for kind in RecordKind::ALL {
        r.push((
            format!("/api/v1/{kind}"),
            get(move |s, q| list_records(kind, s, q)),
        ));
        r.push((
            format!("/api/v1/{kind}/{{id}}"),
            get(move |s, p| get_record(kind, s, p))
                .put(move |s, p, h, Extension(c), b| put_record(kind, s, p, h, b, c))
                .delete(move |s, p, Extension(c)| delete_record(kind, s, p, c)),
        ));
        if kind.retained() {
            r.push((
                format!("/api/v1/{kind}/{{id}}/versions"),
                get(move |s, p| record_versions(kind, s, p))
                    .delete(move |s, p, Extension(c)| purge_record(kind, s, p, c)),
            ));
        }
    }
    r
}

/// Every path the router serves.
pub fn routed_paths() -> Vec<String> {
    let mut p: Vec<String> = routes().into_iter().map(|(p, _)| p).collect();
    p.extend(["/healthz", "/readyz", "/metrics"].map(String::from));
    p
}

/// The whole service.
pub fn router(state: AppState) -> Router {
    let mut api = Router::new();
    for (path, mr) in routes() {
        api = api.route(&path, mr);
    }
    // Outermost first: authorize (token, role, rate), replay of an Idempotency-Key, then the
    // audit entry.
    let api = api
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::audit::record,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::idempotency::idempotent,
        ))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::authorize,
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(api)
        .merge(crate::ui::router(state.clone()))
        .fallback(|| async { ApiError::not_found("route") })
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::ops::observe,
        ))
        .layer(DefaultBodyLimit::max(crate::MAX_BODY_BYTES))
        .with_state(state)
}

async fn count(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let code = resp.status().as_u16();
    if let Ok(mut m) = s.metrics.by_status.lock() {
        *m.entry(code).or_default() += 1;
    }
    resp
}

// ---- health and metrics -----------------------------------------------------------------

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "the process is up")))]
async fn healthz() -> &'static str {
    "ok\n"
}

#[utoipa::path(get, path = "/readyz", responses(
    (status = 200, description = "the database answers"),
    (status = 503, description = "the database does not answer", body = ErrorBody)))]
async fn readyz(State(s): State<AppState>) -> Response {
    if s.store.ping().await {
        "ready\n".into_response()
    } else {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(State(s): State<AppState>) -> Response {
    let mut out = String::new();
    out.push_str("# HELP xpufleet_http_requests_total HTTP requests answered, by status.\n");
    out.push_str("# TYPE xpufleet_http_requests_total counter\n");
    if let Ok(m) = s.metrics.by_status.lock() {
        for (code, n) in m.iter() {
            out.push_str(&format!(
                "xpufleet_http_requests_total{{status=\"{code}\"}} {n}\n"
            ));
        }
    }
    out.push_str("# HELP xpufleet_runs_total Checks, plans and runs answered, by whether they were computed or reused.\n");
    out.push_str("# TYPE xpufleet_runs_total counter\n");
    out.push_str(&format!(
        "xpufleet_runs_total{{source=\"computed\"}} {}\n",
        s.metrics.runs_computed.load(Ordering::Relaxed)
    ));
    out.push_str(&format!(
        "xpufleet_runs_total{{source=\"reused\"}} {}\n",
        s.metrics.runs_reused.load(Ordering::Relaxed)
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

// ---- bodies --------------------------------------------------------------------------------

/// The request's media type, lower-cased and without parameters (`""` when absent).
pub(crate) fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A TOML document from a request: the body itself with `Content-Type: application/toml` (or
/// text/plain), or the JSON object `{"toml": "..."}`, or any other JSON object, which is
/// converted to TOML. Anything else is `415`.
fn toml_body(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<String, ApiError> {
    let body = body_bytes(body)?;
    let ct = media_type(headers);
    let text =
        std::str::from_utf8(&body).map_err(|_| ApiError::field("body", "expected UTF-8 text"))?;
    match ct.as_str() {
        "application/toml" | "text/plain" | "text/x-toml" => Ok(text.to_string()),
        "application/json" => {
            let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                let mut err = ApiError::field("body", format!("not JSON: {e}"));
                err.body.problems[0].line = Some(e.line());
                err.body.problems[0].col = Some(e.column());
                err
            })?;
            if let Some(t) = v.get("toml").and_then(|t| t.as_str()) {
                return Ok(t.to_string());
            }
            if !v.is_object() {
                return Err(ApiError::field("body", "expected a JSON object"));
            }
            toml::to_string(&v)
                .map_err(|e| ApiError::field("body", format!("cannot be written as TOML: {e}")))
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type {other:?}: expected application/toml or application/json"),
        )),
    }
}

fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                format!("request body over {} bytes", crate::MAX_BODY_BYTES),
            )
        } else {
            ApiError::new(status, e.body_text())
        }
    })
}

fn json_body<T: serde::de::DeserializeOwned + Default>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body_bytes(body)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&body).map_err(|e| {
        let mut err = ApiError::field("body", e.to_string());
        err.body.problems[0].line = Some(e.line());
        err.body.problems[0].col = Some(e.column());
        err
    })
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(t)| t)
        .map_err(|e| ApiError::field("query", e.body_text()))
}

fn json_text(
    status: StatusCode,
    text: impl IntoResponse,
    extra: Vec<(&'static str, String)>,
) -> Response {
    let mut resp = (status, [(header::CONTENT_TYPE, "application/json")], text).into_response();
    for (k, v) in extra {
        if let Ok(v) = v.parse() {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

/// Pretty JSON with a final newline: what the CLI's `print_json` writes.
fn cli_json<T: Serialize>(v: &T) -> Result<String, ApiError> {
    let mut s = serde_json::to_string_pretty(v).map_err(ApiError::internal)?;
    s.push('\n');
    Ok(s)
}

// ---- scenarios ------------------------------------------------------------------------------

pub use xpufleet_store::usecases::ScenarioRef;

/// A scenario.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScenarioInfo {
    pub id: String,
    pub name: String,
    /// The latest revision.
    pub revision: i64,
}

/// A page of a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The `offset` of the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<i64>,
}

/// Where a list starts and how long a page is.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

impl PageQuery {
    fn bounds(&self) -> Result<(i64, i64), ApiError> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(ApiError::field("limit", "expected 1 to 500"));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(ApiError::field("offset", "expected 0 or more"));
        }
        Ok((limit, offset))
    }
}

fn page<T>(mut items: Vec<T>, limit: i64, offset: i64) -> Page<T> {
    // One more than a page was fetched to tell whether another follows.
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    Page {
        next_offset: more.then_some(offset + limit),
        items,
    }
}

/// The rule packs, catalog overrides and fleet records stored now: what a computation reads
/// besides the scenario (`xpufleet_app::service::Context`).
pub(crate) async fn context(store: &Store) -> Result<Context, ApiError> {
    Ok(Context::from_stored(store.context_records().await?)?)
}

#[utoipa::path(post, path = "/api/v1/scenarios",
    request_body(content = String, content_type = "application/toml", description = "the scenario TOML (or JSON)"),
    responses((status = 201, body = ScenarioRef), (status = 400, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_scenario(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<ChangeCtx>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let text = toml_body(&headers, body)?;
    let out = usecases::create_scenario(&s.store, ctx.entry.clone(), &caller.name, &text, |r| {
        created_scenario(r).ok().and_then(|r| ctx.keep(&r))
    })
    .await?;
    Ok(ctx.answer(created_scenario(&out)?))
}

/// The answer to a scenario's creation.
fn created_scenario(r: &ScenarioRef) -> Result<Reply, ApiError> {
    Ok(Reply::json(StatusCode::CREATED, r)?
        .with(header::LOCATION, &format!("/api/v1/scenarios/{}", r.id))
        .with(header::ETAG, &format!("\"{}\"", r.revision)))
}

#[utoipa::path(get, path = "/api/v1/scenarios", params(PageQuery),
    responses((status = 200, body = Page<ScenarioInfo>)), security(("bearer" = [])))]
async fn list_scenarios(
    State(s): State<AppState>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<ScenarioInfo>>, ApiError> {
    let (limit, offset) = query(q)?.bounds()?;
    let rows = s.store.list_scenarios(limit + 1, offset).await?;
    let items = rows
        .into_iter()
        .map(|(id, name, revision)| ScenarioInfo { id, name, revision })
        .collect();
    Ok(Json(page(items, limit, offset)))
}

#[utoipa::path(get, path = "/api/v1/scenarios/{id}", params(("id" = String, Path)),
    responses((status = 200, body = ScenarioInfo), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_scenario(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = s.store.latest_revision(&id).await.map_err(scenario_404)?;
    let name = xpufleet_io::scenario::parse_scenario(&r.body, "scenario")
        .map(|sc| sc.name)
        .unwrap_or_default();
    let mut resp = Json(ScenarioInfo {
        id,
        name,
        revision: r.revision,
    })
    .into_response();
    if let Ok(v) = format!("\"{}\"", r.revision).parse() {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

fn scenario_404(e: DbError) -> ApiError {
    not_found("scenario")(e)
}

/// A storage error, where "not found" means `what` was not found.
fn not_found(what: &'static str) -> impl Fn(DbError) -> ApiError {
    move |e| match e {
        DbError::NotFound => ApiError::not_found(what),
        e => e.into(),
    }
}

#[utoipa::path(put, path = "/api/v1/scenarios/{id}",
    params(("id" = String, Path), ("If-Match" = String, Header, description = "the revision the change is based on")),
    request_body(content = String, content_type = "application/toml"),
    responses((status = 200, body = ScenarioRef), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 428, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_scenario(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(ctx): Extension<ChangeCtx>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Some(m) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "If-Match: expected the revision the change is based on",
        ));
    };
    let expected: i64 = m
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ApiError::field("If-Match", "expected a revision number"))?;
    let text = toml_body(&headers, body)?;
    let reply = |r: &ScenarioRef| Reply::json(StatusCode::OK, r);
    let out = usecases::revise_scenario(
        &s.store,
        ctx.entry.clone(),
        &caller.name,
        &id,
        expected,
        &text,
        |r| reply(r).ok().and_then(|r| ctx.keep(&r)),
    )
    .await?;
    Ok(ctx.answer(reply(&out)?))
}

#[utoipa::path(get, path = "/api/v1/scenarios/{id}/revisions", params(("id" = String, Path)),
    responses((status = 200, body = Vec<i64>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_revisions(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<i64>>, ApiError> {
    Ok(Json(s.store.revisions(&id).await.map_err(scenario_404)?))
}

#[utoipa::path(get, path = "/api/v1/scenarios/{id}/revisions/{rev}",
    params(("id" = String, Path), ("rev" = i64, Path)),
    responses((status = 200, description = "the revision's TOML", content_type = "application/toml", body = String),
        (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_revision(
    State(s): State<AppState>,
    Path((id, rev)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    let r = s
        .store
        .revision(&id, rev)
        .await
        .map_err(not_found("scenario revision"))?;
    Ok(([(header::CONTENT_TYPE, "application/toml")], r.body).into_response())
}

// ---- computations -------------------------------------------------------------------------

/// Which revision, and as of when.
#[derive(Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery {
    /// The date whose rules apply (YYYY-MM-DD); the scenario's date by default.
    pub as_of: Option<String>,
    /// The scenario revision; the latest by default.
    pub revision: Option<i64>,
}

/// Options of a run (`xpufleet run`'s flags).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// YYYY-MM-DD; the scenario's date by default.
    pub as_of: Option<String>,
    /// Scheduling policy; fifo-het by default.
    pub policy: Option<String>,
    /// Seed of the random accelerator failures; 0 by default.
    pub seed: Option<u64>,
    /// Simulate without accelerator failures.
    #[serde(default)]
    pub no_failures: bool,
}

/// Everything a computation read: stored with its answer so that it can be recomputed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Inputs {
    kind: String,
    scenario_id: String,
    revision: i64,
    as_of: Option<String>,
    #[serde(default)]
    what_if: Option<String>,
    #[serde(default)]
    run: Option<RunRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    simulate: Option<SimulateRequest>,
    context: Context,
    generator: String,
}

impl Inputs {
    fn id(&self) -> Result<(String, String), ApiError> {
        let text = serde_json::to_string(self).map_err(ApiError::internal)?;
        let id = token::hex(&Sha256::digest(text.as_bytes())[..16]);
        Ok((id, text))
    }
}

fn parse_date(field: &str, s: &Option<String>) -> Result<Option<Date>, ApiError> {
    match s {
        None => Ok(None),
        Some(s) => s
            .parse::<Date>()
            .map(Some)
            .map_err(|e| ApiError::field(field, format!("{e}; expected YYYY-MM-DD"))),
    }
}

/// The plan of a stored scenario revision, as `POST /api/v1/scenarios/{id}/plan` computes and
/// stores it: its run id, and whether it was computed now. The web UI approves plans through
/// this, so an approval names an API run.
pub(crate) async fn stored_plan(
    s: &AppState,
    scenario_id: &str,
    revision: i64,
    as_of: Option<String>,
    what_if: Option<String>,
    who: &NewEntry,
) -> Result<(String, bool), ApiError> {
    let r = scenario_revision(s, scenario_id, Some(revision)).await?;
    let inputs = Inputs {
        kind: "plan".into(),
        scenario_id: scenario_id.into(),
        revision,
        as_of,
        what_if,
        run: None,
        simulate: None,
        context: context(&s.store).await?,
        generator: generator(),
    };
    let (answered, computed) = answer(s, inputs, &r.body, who).await?;
    Ok((answered.id, computed))
}

/// The answer to `inputs`: what is stored for them (kept in memory once read), else computed
/// now and stored.
async fn answer(
    s: &AppState,
    inputs: Inputs,
    body: &str,
    who: &NewEntry,
) -> Result<(Answered, bool), ApiError> {
    let (id, text) = inputs.id()?;
    let cached = s.results.lock().ok().and_then(|c| c.get(&id));
    let stored = match cached {
        Some(b) => Some(b),
        None => match s.store.run_result(&id).await {
            Ok(result) => {
                let b = Bytes::from(result);
                if let Ok(mut c) = s.results.lock() {
                    c.put(&id, b.clone());
                }
                Some(b)
            }
            Err(DbError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
    };
    if let Some(result) = stored {
        s.metrics.runs_reused.fetch_add(1, Ordering::Relaxed);
        return Ok((Answered { id, result }, false));
    }
    let body = body.to_string();
    let inputs2 = inputs.clone();
    let (result, html) = s
        .computations
        .run(move || compute(&inputs2, &body))
        .await??;
    let run = StoredRun {
        id,
        kind: inputs.kind.clone(),
        scenario_id: inputs.scenario_id.clone(),
        revision: inputs.revision,
        inputs: text,
        result,
        html,
    };
    // The run and its audit entry commit together.
    usecases::store_run(&s.store, who.clone(), &run).await?;
    s.metrics.runs_computed.fetch_add(1, Ordering::Relaxed);
    let result = Bytes::from(run.result);
    if let Ok(mut c) = s.results.lock() {
        c.put(&run.id, result.clone());
    }
    Ok((Answered { id: run.id, result }, true))
}

/// Computes a check, plan, run or simulation from its inputs and the scenario revision's text
/// with the application service: the answer's JSON (and for a run, the HTML report). Blocking.
fn compute(inputs: &Inputs, scenario: &str) -> Result<(String, Option<String>), ApiError> {
    let as_of = parse_date("as_of", &inputs.as_of)?;
    let what = match inputs.kind.as_str() {
        "check" => Computation::Check { as_of },
        "plan" => Computation::Plan {
            as_of,
            what_if: inputs.what_if.clone(),
        },
        "run" => {
            let req = inputs.run.clone().unwrap_or_default();
            let mut opts = xpufleet_app::RunOptions {
                as_of,
                seed: req.seed.unwrap_or(0),
                failures: !req.no_failures,
                ..Default::default()
            };
            if let Some(p) = &req.policy {
                opts.policy = p
                    .parse()
                    .map_err(|e: String| ApiError::field("policy", e))?;
            }
            Computation::Run(opts)
        }
        "simulate" => Computation::Simulate(inputs.simulate.clone().unwrap_or_default().options()?),
        other => return Err(ApiError::internal(format!("unknown run kind {other:?}"))),
    };
    Ok(
        match service::compute(&inputs.context, scenario, &what, &mut |_| {})? {
            Computed::Check(out) => (cli_json(&out)?, None),
            Computed::Plan(out) => (cli_json(&out)?, None),
            Computed::Simulate(out) => (cli_json(&out)?, None),
            Computed::Run(data) => (
                xpufleet_report::to_json(&data),
                Some(xpufleet_report::render_html(&data)),
            ),
        },
    )
}

async fn scenario_revision(
    s: &AppState,
    id: &str,
    rev: Option<i64>,
) -> Result<crate::db::Revision, ApiError> {
    let r = match rev {
        None => s.store.latest_revision(id).await,
        Some(n) => s.store.revision(id, n).await,
    };
    r.map_err(|e| match e {
        DbError::NotFound if rev.is_some() => ApiError::not_found("scenario revision"),
        e => scenario_404(e),
    })
}

/// A computation's answer, marked as audited with the run it stored when it computed one.
fn audited_if(computed: bool, mut resp: Response) -> Response {
    if computed {
        resp.extensions_mut().insert(crate::audit::Committed);
    }
    resp
}

fn run_headers(run: &Answered, computed: bool) -> Vec<(&'static str, String)> {
    vec![
        ("x-run-id", run.id.clone()),
        ("location", format!("/api/v1/runs/{}", run.id)),
        (
            "x-run-source",
            if computed { "computed" } else { "stored" }.into(),
        ),
    ]
}

#[utoipa::path(get, path = "/api/v1/scenarios/{id}/check", params(("id" = String, Path), CheckQuery),
    responses((status = 200, body = AnyObject, description = "as `xpufleet check --json`"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn check(
    State(s): State<AppState>,
    Extension(ctx): Extension<ChangeCtx>,
    Path(id): Path<String>,
    q: Result<Query<CheckQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    parse_date("as_of", &q.as_of)?;
    let r = scenario_revision(&s, &id, q.revision).await?;
    let inputs = Inputs {
        kind: "check".into(),
        scenario_id: id,
        revision: r.revision,
        as_of: q.as_of,
        what_if: None,
        run: None,
        simulate: None,
        context: context(&s.store).await?,
        generator: generator(),
    };
    let (run, computed) = answer(&s, inputs, &r.body, &ctx.entry).await?;
    Ok(audited_if(
        computed,
        json_text(
            StatusCode::OK,
            run.result.clone(),
            run_headers(&run, computed),
        ),
    ))
}

/// The build in every run's inputs, so a run id changes with the code (`xpufleet_app::build`).
fn generator() -> String {
    xpufleet_app::build::generator()
}

#[utoipa::path(post, path = "/api/v1/scenarios/{id}/plan", params(("id" = String, Path), CheckQuery),
    request_body(content = String, content_type = "application/toml", description = "an optional what-if"),
    responses((status = 200, body = AnyObject, description = "as `xpufleet plan --json [--what-if]`"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn plan(
    State(s): State<AppState>,
    Extension(ctx): Extension<ChangeCtx>,
    Path(id): Path<String>,
    q: Result<Query<CheckQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    parse_date("as_of", &q.as_of)?;
    let raw = body_bytes(body)?;
    let what_if = if raw.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let text = toml_body(&headers, Ok(raw))?;
        // Bad what-ifs are 400 before anything is looked up or stored.
        service::what_if(&text)?;
        Some(text)
    };
    let r = scenario_revision(&s, &id, q.revision).await?;
    let inputs = Inputs {
        kind: "plan".into(),
        scenario_id: id,
        revision: r.revision,
        as_of: q.as_of,
        what_if,
        run: None,
        simulate: None,
        context: context(&s.store).await?,
        generator: generator(),
    };
    let (run, computed) = answer(&s, inputs, &r.body, &ctx.entry).await?;
    Ok(audited_if(
        computed,
        json_text(
            StatusCode::OK,
            run.result.clone(),
            run_headers(&run, computed),
        ),
    ))
}

#[utoipa::path(post, path = "/api/v1/scenarios/{id}/runs", params(("id" = String, Path)),
    request_body(content = RunRequest, description = "optional"),
    responses((status = 201, body = AnyObject, description = "the report data, as `xpufleet run` writes report.json"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_run(
    State(s): State<AppState>,
    Extension(ctx): Extension<ChangeCtx>,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: RunRequest = json_body(body)?;
    parse_date("as_of", &req.as_of)?;
    if let Some(p) = &req.policy {
        p.parse::<xpufleet_sched::Policy>()
            .map_err(|e: String| ApiError::field("policy", e))?;
    }
    let r = scenario_revision(&s, &id, None).await?;
    let inputs = Inputs {
        kind: "run".into(),
        scenario_id: id,
        revision: r.revision,
        as_of: req.as_of.clone(),
        what_if: None,
        run: Some(req),
        simulate: None,
        context: context(&s.store).await?,
        generator: generator(),
    };
    let (run, computed) = answer(&s, inputs, &r.body, &ctx.entry).await?;
    Ok(audited_if(
        computed,
        json_text(
            StatusCode::CREATED,
            run.result.clone(),
            run_headers(&run, computed),
        ),
    ))
}

/// Options of a scenario's simulation (`xpufleet simulate --scenario`'s flags); every field
/// is optional and defaults as the flag does.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// fifo (the default), easy-backfill, las, las-het, fifo-het, finish-time or cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Seed of the random failures; 0 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Schedule in rounds of this many seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_s: Option<u64>,
    /// Inject accelerator failures at the performance model's rate (or `failure_rate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<bool>,
    /// Failures per accelerator-hour, 0 to 1 (implies `failures`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_rate: Option<f64>,
    /// Seconds to repair a failed accelerator; 14400 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair_s: Option<u64>,
    /// Seconds of progress between checkpoints; 1800 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_s: Option<u64>,
    /// Seconds a preempted or failed job needs to restart; 0 by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_delay_s: Option<u64>,
    /// Stop with 422 after this many simulated events; at most (and by default) 50 million.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_events: Option<u64>,
}

impl SimulateRequest {
    /// The application layer's options: unstated fields take the CLI's defaults.
    fn options(&self) -> Result<xpufleet_app::SimulateOptions, ApiError> {
        let d = xpufleet_app::SimulateOptions::default();
        let policy = match &self.policy {
            Some(p) => p
                .parse()
                .map_err(|e: String| ApiError::field("policy", e))?,
            None => d.policy,
        };
        if self.max_events.is_some_and(|n| n == 0 || n > d.max_events) {
            return Err(ApiError::field(
                "max_events",
                format!("expected 1 to {}", d.max_events),
            ));
        }
        let opts = xpufleet_app::SimulateOptions {
            policy,
            seed: self.seed.unwrap_or(d.seed),
            round_s: self.round_s.or(d.round_s),
            restart_delay_s: self.restart_delay_s.unwrap_or(d.restart_delay_s),
            failures: self.failures.unwrap_or(d.failures),
            failure_rate: self.failure_rate.or(d.failure_rate),
            repair_s: self.repair_s.unwrap_or(d.repair_s),
            checkpoint_s: self.checkpoint_s.unwrap_or(d.checkpoint_s),
            max_events: self.max_events.unwrap_or(d.max_events),
            events: false,
        };
        opts.validate()?;
        Ok(opts)
    }
}

/// Which revision.
#[derive(Debug, Default, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevisionQuery {
    /// The scenario revision; the latest by default.
    pub revision: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/scenarios/{id}/simulate", params(("id" = String, Path), RevisionQuery),
    request_body(content = SimulateRequest, description = "optional"),
    responses((status = 200, body = AnyObject, description = "as `xpufleet simulate --scenario F --json`, without the wall-clock `wall_s`"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn simulate(
    State(s): State<AppState>,
    Extension(ctx): Extension<ChangeCtx>,
    Path(id): Path<String>,
    q: Result<Query<RevisionQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let req: SimulateRequest = json_body(body)?;
    // Bad options are 400 before anything is looked up or stored.
    req.options()?;
    let r = scenario_revision(&s, &id, q.revision).await?;
    let inputs = Inputs {
        kind: "simulate".into(),
        scenario_id: id,
        revision: r.revision,
        as_of: None,
        what_if: None,
        run: None,
        simulate: Some(req),
        context: context(&s.store).await?,
        generator: generator(),
    };
    let (run, computed) = answer(&s, inputs, &r.body, &ctx.entry).await?;
    Ok(audited_if(
        computed,
        json_text(
            StatusCode::OK,
            run.result.clone(),
            run_headers(&run, computed),
        ),
    ))
}

#[utoipa::path(get, path = "/api/v1/scenarios/{id}/effective", params(("id" = String, Path), RevisionQuery),
    responses((status = 200, description = "the effective scenario: the revision overlaid with the fleet's records", content_type = "application/toml", body = String),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn effective(
    State(s): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<RevisionQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let r = scenario_revision(&s, &id, q.revision).await?;
    let context = context(&s.store).await?;
    let (_, text) = s
        .computations
        .run(move || context.load_effective(&r.body))
        .await??;
    Ok(([(header::CONTENT_TYPE, "application/toml")], text).into_response())
}

/// A stored run: what it read and what it answered.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RunInfo {
    pub id: String,
    /// check, plan, simulate or run.
    pub kind: String,
    pub scenario_id: String,
    pub revision: i64,
    /// Everything it read: date, seed, policy, what-if, rule packs and catalog overrides (with
    /// their versions and text), generator.
    #[schema(value_type = Object)]
    pub inputs: serde_json::Value,
    /// The answer (exact bytes at `/api/v1/runs/{id}/result`).
    #[schema(value_type = Object)]
    pub result: serde_json::Value,
}

async fn stored_run(s: &AppState, id: &str) -> Result<StoredRun, ApiError> {
    s.store.run(id).await.map_err(not_found("run"))
}

#[utoipa::path(get, path = "/api/v1/runs/{id}", params(("id" = String, Path)),
    responses((status = 200, body = RunInfo), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_run(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RunInfo>, ApiError> {
    let r = stored_run(&s, &id).await?;
    Ok(Json(RunInfo {
        id: r.id,
        kind: r.kind,
        scenario_id: r.scenario_id,
        revision: r.revision,
        inputs: serde_json::from_str(&r.inputs).map_err(ApiError::internal)?,
        result: serde_json::from_str(&r.result).map_err(ApiError::internal)?,
    }))
}

#[utoipa::path(get, path = "/api/v1/runs/{id}/result", params(("id" = String, Path)),
    responses((status = 200, body = AnyObject), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_run_result(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = stored_run(&s, &id).await?;
    Ok(json_text(StatusCode::OK, r.result, vec![]))
}

#[utoipa::path(get, path = "/api/v1/runs/{id}/report.html", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_run_html(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = stored_run(&s, &id).await?;
    let html = r.html.ok_or_else(|| {
        ApiError::not_found("report (only runs have one; this is a check or plan)")
    })?;
    // The report is self-contained: nothing may be loaded from elsewhere, sent anywhere or
    // framed; its own inline script (which only records page errors) and styles may run.
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, REPORT_CSP),
        ],
        html,
    )
        .into_response())
}

/// The `Content-Security-Policy` of a stored report.
pub const REPORT_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
     style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

#[utoipa::path(post, path = "/api/v1/runs/{id}/replay", params(("id" = String, Path)),
    responses((status = 200, body = AnyObject, description = "the answer recomputed from the stored inputs; byte-identical to the stored one"),
        (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn replay_run(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let r = stored_run(&s, &id).await?;
    let inputs: Inputs = serde_json::from_str(&r.inputs).map_err(ApiError::internal)?;
    let rev = s.store.revision(&r.scenario_id, r.revision).await?;
    let (result, _) = s
        .computations
        .run(move || compute(&inputs, &rev.body))
        .await??;
    let same = if result == r.result { "true" } else { "false" };
    Ok(json_text(
        StatusCode::OK,
        result,
        vec![("x-identical", same.into())],
    ))
}

// ---- records --------------------------------------------------------------------------------

/// An owner or operator verification: who was verified, for how long, on what document. (The
/// schema of `xpufleet_app::VerificationRecord`, which parses and checks it.)
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// The entity verified.
    pub entity: String,
    /// owner or operator.
    pub role: String,
    /// The site or pool it concerns; every site when absent.
    #[serde(default)]
    pub subject: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub valid_from: Date,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default)]
    pub valid_to: Option<Date>,
    /// SHA-256 of the evidence document, 64 hex digits.
    pub document_sha256: String,
}

/// A stored record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Record {
    pub id: String,
    /// Increases by one with every change.
    pub version: i64,
    /// The record: JSON for sites, pools, acquisitions, verifications and licences; for rule
    /// packs and catalog overrides, `{"toml": "..."}`.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
}

/// Reads a record's body as its kind is sent (TOML or JSON) and has the application service
/// check it; returns the text to store.
fn validate_record(
    kind: RecordKind,
    id: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<String, ApiError> {
    if kind.is_toml() {
        let text = toml_body(headers, body)?;
        return Ok(service::check_record(kind, id, &text)?);
    }
    let ct = media_type(headers);
    if ct != "application/json" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type {ct:?}: expected application/json for {kind}"),
        ));
    }
    let raw = body_bytes(body)?;
    // A syntax error is located here by line and column, before the service reads the body.
    let v: serde_json::Value = serde_json::from_slice(&raw).map_err(|e| {
        let mut err = ApiError::field("body", e.to_string());
        err.body.problems[0].line = Some(e.line());
        err.body.problems[0].col = Some(e.column());
        err
    })?;
    Ok(service::check_record(kind, id, &v.to_string())?)
}

fn record_json(
    kind: RecordKind,
    id: String,
    body: String,
    version: i64,
) -> Result<Record, ApiError> {
    let body = if kind.is_toml() {
        serde_json::json!({ "toml": body })
    } else {
        serde_json::from_str(&body).map_err(ApiError::internal)?
    };
    Ok(Record { id, version, body })
}

#[utoipa::path(get, path = "/api/v1/{kind}", params(("kind" = String, Path, description = "sites, pools, acquisitions, verifications, licences, rule-packs or catalog-overrides"), PageQuery),
    responses((status = 200, body = Page<Record>)), security(("bearer" = [])))]
async fn list_records(
    kind: RecordKind,
    State(s): State<AppState>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page<Record>>, ApiError> {
    let (limit, offset) = query(q)?.bounds()?;
    let rows = s.store.records(kind.as_str(), limit + 1, offset).await?;
    let items = rows
        .into_iter()
        .map(|(id, body, v)| record_json(kind, id, body, v))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(page(items, limit, offset)))
}

#[utoipa::path(get, path = "/api/v1/{kind}/{id}", params(("kind" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Record), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_record(
    kind: RecordKind,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Record>, ApiError> {
    let (body, v) = s
        .store
        .record(kind.as_str(), &id)
        .await
        .map_err(not_found("record"))?;
    Ok(Json(record_json(kind, id, body, v)?))
}

#[utoipa::path(put, path = "/api/v1/{kind}/{id}", params(("kind" = String, Path), ("id" = String, Path)),
    request_body(content = Object, description = "JSON, or TOML for rule packs and catalog overrides"),
    responses((status = 200, body = Record), (status = 400, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
async fn put_record(
    kind: RecordKind,
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    ctx: ChangeCtx,
) -> Result<Response, ApiError> {
    service::check_record_id(&id)?;
    let text = validate_record(kind, &id, &headers, body)?;
    let reply = |p: &usecases::PutRecord| {
        Reply::json(
            StatusCode::OK,
            &record_json(kind, id.clone(), p.text.clone(), p.version)?,
        )
    };
    let out = usecases::put_record(&s.store, ctx.entry.clone(), kind, &id, &text, |p| {
        reply(p).ok().and_then(|r| ctx.keep(&r))
    })
    .await?;
    Ok(ctx.answer(reply(&out)?))
}

#[utoipa::path(delete, path = "/api/v1/{kind}/{id}", params(("kind" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_record(
    kind: RecordKind,
    State(s): State<AppState>,
    Path(id): Path<String>,
    ctx: ChangeCtx,
) -> Result<Response, ApiError> {
    let reply = Reply::empty(StatusCode::NO_CONTENT);
    usecases::delete_record(&s.store, ctx.entry.clone(), kind, &id, |_| ctx.keep(&reply)).await?;
    Ok(ctx.answer(reply))
}

/// One kept version of a retained record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeptVersion {
    pub version: i64,
    /// The record as written; for the tombstone, the last version's body.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    /// This version is the tombstone: the record was deleted.
    pub deleted: bool,
    /// When it was written or deleted (UTC, RFC 3339).
    pub at: String,
}

/// The kept versions of an export record and how long they are kept (15 CFR 762.6).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RecordHistory {
    pub id: String,
    /// The record is deleted (its last version is a tombstone).
    pub deleted: bool,
    /// The last day of the retention period: five years after the record's last event (the
    /// latest write, deletion, or date the record names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retained_until: Option<String>,
    /// Oldest first.
    pub versions: Vec<KeptVersion>,
}

use xpufleet_store::usecases::day_of;

#[utoipa::path(get, path = "/api/v1/{kind}/{id}/versions", params(("kind" = String, Path, description = "acquisitions, verifications, licences or reviews"), ("id" = String, Path)),
    responses((status = 200, body = RecordHistory), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn record_versions(
    kind: RecordKind,
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RecordHistory>, ApiError> {
    let kept = s.store.record_versions(kind.as_str(), &id).await?;
    if kept.is_empty() {
        // A record written before versions were kept has its current version only.
        let (body, version) = s
            .store
            .record(kind.as_str(), &id)
            .await
            .map_err(not_found("record"))?;
        return Ok(Json(RecordHistory {
            id,
            deleted: false,
            retained_until: None,
            versions: vec![KeptVersion {
                version,
                body: serde_json::from_str(&body).map_err(ApiError::internal)?,
                deleted: false,
                at: String::new(),
            }],
        }));
    }
    let deleted = kept.last().is_some_and(|v| v.deleted);
    let until = xpufleet_app::records::retained_until(
        kind,
        kept.iter()
            .filter_map(|v| Some((v.body.as_str(), day_of(&v.at)?))),
    );
    let versions = kept
        .into_iter()
        .map(|v| {
            Ok(KeptVersion {
                version: v.version,
                body: serde_json::from_str(&v.body).map_err(ApiError::internal)?,
                deleted: v.deleted,
                at: v.at,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(RecordHistory {
        id,
        deleted,
        retained_until: until.map(|d| d.to_string()),
        versions,
    }))
}

#[utoipa::path(delete, path = "/api/v1/{kind}/{id}/versions", params(("kind" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the record is not deleted, or is within its retention period (15 CFR 762.6)")),
    security(("bearer" = [])))]
async fn purge_record(
    kind: RecordKind,
    State(s): State<AppState>,
    Path(id): Path<String>,
    ctx: ChangeCtx,
) -> Result<Response, ApiError> {
    let reply = Reply::empty(StatusCode::NO_CONTENT);
    usecases::purge_record(
        &s.store,
        ctx.entry.clone(),
        kind,
        &id,
        crate::alerts::today(),
        |_| ctx.keep(&reply),
    )
    .await?;
    Ok(ctx.answer(reply))
}

// ---- OpenAPI ------------------------------------------------------------------------------

#[derive(OpenApi)]
#[openapi(
    info(title = "xpufleet", description = "The fleet's system of record: scenarios, records, checks, plans and runs."),
    paths(healthz, readyz, metrics, openapi_json, create_scenario, list_scenarios, get_scenario,
        update_scenario, list_revisions, get_revision, check, plan, simulate, effective, create_run, get_run,
        get_run_result, get_run_html, replay_run, list_records, get_record, put_record, delete_record,
        record_versions, purge_record,
        crate::approvals::approve, crate::approvals::list_approvals, crate::audit::list_audit,
        crate::alerts::alerts, crate::screening::store_list, crate::screening::list_lists,
        crate::screening::get_list, crate::tokens::create_token, crate::tokens::list_tokens, crate::tokens::revoke_token),
    components(schemas(ErrorBody, ScenarioRef, ScenarioInfo, RunRequest, SimulateRequest, RunInfo, Record, Verification, RecordHistory, KeptVersion,
        crate::audit::AuditEntry, crate::alerts::Alerts, crate::alerts::Alert,
        xpufleet_app::screening::Rescreen, xpufleet_app::screening::PartyHit, crate::screening::ScreeningListInfo, crate::approvals::Approval, crate::approvals::ApproveRequest,
        crate::tokens::NewToken, crate::tokens::CreatedToken, crate::tokens::TokenInfo)),
    modifiers(&Bearer)
)]
struct ApiDoc;

struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI 3.1 document, generated from the handlers' annotations and types. The record
/// handlers are documented once under `/api/v1/{kind}` and served once per kind, so their
/// entry is copied to each kind's path here.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut api = ApiDoc::openapi();
    let paths = &mut api.paths.paths;
    let list = paths.remove("/api/v1/{kind}");
    let one = paths.remove("/api/v1/{kind}/{id}");
    let versions = paths.remove("/api/v1/{kind}/{id}/versions");
    for k in RecordKind::ALL {
        let kind = k.as_str();
        let kept = if k.retained() { &versions } else { &None };
        for (template, item) in [
            ("/api/v1/{kind}", &list),
            ("/api/v1/{kind}/{id}", &one),
            ("/api/v1/{kind}/{id}/versions", kept),
        ] {
            if let Some(item) = item {
                let mut item = item.clone();
                strip_kind_param(&mut item);
                paths.insert(template.replace("{kind}", kind), item);
            }
        }
    }
    crate::auth::document_roles(&mut api);
    api
}

fn strip_kind_param(item: &mut utoipa::openapi::PathItem) {
    for op in [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
    ]
    .into_iter()
    .flatten()
    {
        if let Some(ps) = &mut op.parameters {
            ps.retain(|p| p.name != "kind");
        }
    }
}

#[utoipa::path(get, path = "/api/v1/openapi.json",
    responses((status = 200, body = AnyObject, description = "this document")), security(("bearer" = [])))]
async fn openapi_json() -> Response {
    match openapi().to_pretty_json() {
        Ok(s) => json_text(StatusCode::OK, s, vec![]),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_cache_keeps_the_newest_within_its_bytes() {
        let mut c = ResultCache::default();
        let chunk = RESULT_CACHE_BYTES / 8;
        for i in 0..9 {
            c.put(&format!("r{i}"), Bytes::from(vec![b'x'; chunk]));
        }
        assert!(c.bytes <= RESULT_CACHE_BYTES);
        assert!(c.get("r0").is_none(), "the oldest is dropped first");
        assert_eq!(c.get("r8").map(|b| b.len()), Some(chunk));
        // An answer too large to keep is served from the database each time instead.
        c.put("big", Bytes::from(vec![b'x'; chunk + 1]));
        assert!(c.get("big").is_none());
        // The same id is never stored twice.
        let before = c.bytes;
        c.put("r8", Bytes::from_static(b"other"));
        assert_eq!(c.bytes, before);
        assert_eq!(c.get("r8").map(|b| b.len()), Some(chunk));
    }
}
