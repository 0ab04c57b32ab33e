//! The use cases that change something, one typed function each: the API's handlers, the web
//! UI's forms and (for tokens) the CLI call these and nothing below them, so no front end
//! assembles a change on its own.
//!
//! Each function validates its input (with `xpufleet_app::service`, where the rules are),
//! writes, appends the audit entry and stores the idempotent answer in one `db::Change`, so
//! that all of it commits or none of it does. The answer for an `Idempotency-Key` is made by
//! the caller from the use case's output (`keep`), because only the front end knows how it
//! answers (an HTTP status, headers and body); it is committed with the change. Front ends
//! without keys pass [`unkept`].
//!
//! Errors are a [`UseCaseError`], which the server maps to a status and the UI to its pages.
//! They live here, beside the store, rather than in `xpufleet-app`, because `xpufleet-app`
//! is the pure pipeline that the CLI runs without a database: the use cases need both.

use serde::Serialize;
use utoipa::ToSchema;
use xpufleet_app::service::{self, Context};
use xpufleet_app::RecordKind;
use xpufleet_model::Date;

use crate::approvals::Approval;
use crate::audit::NewEntry;
use crate::db::{digest, Change, DbError, StoredRun};
use crate::idempotency::Stored;
use crate::sessions::{csrf_of, now_s, Session};
use crate::{token, Store};

/// Why a use case refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum UseCaseError {
    /// One field of the input is wrong: which, and what was expected.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The input failed the application's checks (located diagnostics, a refusal).
    #[error(transparent)]
    App(#[from] xpufleet_app::Error),
    /// The thing the change is about does not exist (`what` names it: "scenario", "record").
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change was based on revision `base`, and someone saved `latest` first.
    #[error("stale revision: the latest revision is {latest}")]
    Stale { latest: i64 },
    /// The change contradicts what is stored; the message says how.
    #[error("{0}")]
    Conflict(String),
    /// The input is well formed but names something the change does not apply to.
    #[error("{0}")]
    Unprocessable(String),
    /// Storage failed, or another request with the same `Idempotency-Key` committed first.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// An idempotent answer to keep with a change: for whom, under which key, and what.
#[derive(Debug, Clone)]
pub struct Kept {
    pub token_name: String,
    pub key: String,
    pub answer: Stored,
}

/// The `keep` of a front end that has no `Idempotency-Key` (the web UI, the CLI).
pub fn unkept<T>(_: &T) -> Option<Kept> {
    None
}

/// Commits `c` with the answer `keep` makes of `out`.
async fn finish<T>(
    mut c: Change,
    out: T,
    keep: impl FnOnce(&T) -> Option<Kept>,
) -> Result<T, UseCaseError> {
    if let Some(k) = keep(&out) {
        c.keep_answer(&k.token_name, &k.key, k.answer);
    }
    c.commit().await?;
    Ok(out)
}

/// "not found" about `what`; other storage errors as they are.
fn missing(what: &'static str) -> impl Fn(DbError) -> UseCaseError {
    move |e| match e {
        DbError::NotFound => UseCaseError::NotFound(what),
        e => e.into(),
    }
}

/// The rule packs, catalog overrides and fleet records stored now, which a scenario is
/// checked against.
pub async fn context(store: &Store) -> Result<Context, UseCaseError> {
    Ok(Context::from_stored(store.context_records().await?)?)
}

// ---- scenarios -------------------------------------------------------------------------------

/// A stored scenario revision: its id and number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct ScenarioRef {
    pub id: String,
    pub revision: i64,
}

/// Stores a new scenario at revision 1 under a new random id, after checking its text as
/// `xpufleet validate` would; `by` is the token's name.
pub async fn create_scenario(
    store: &Store,
    entry: NewEntry,
    by: &str,
    text: &str,
    keep: impl FnOnce(&ScenarioRef) -> Option<Kept>,
) -> Result<ScenarioRef, UseCaseError> {
    let loaded = context(store).await?.load(text)?;
    let id = token::hex(
        &token::random_bytes::<8>().map_err(|e| UseCaseError::Invalid {
            field: "id".into(),
            message: format!("no random id could be made: {e}"),
        })?,
    );
    let mut c = store.begin_change(entry).await?;
    c.create_scenario(&id, &loaded.scenario.name, text, by)
        .await?;
    finish(c, ScenarioRef { id, revision: 1 }, keep).await
}

/// Stores the next revision of scenario `id`, based on revision `base`: `NotFound` for an
/// unknown scenario (before its text is judged), `Stale` when `base` is not the latest.
pub async fn revise_scenario(
    store: &Store,
    entry: NewEntry,
    by: &str,
    id: &str,
    base: i64,
    text: &str,
    keep: impl FnOnce(&ScenarioRef) -> Option<Kept>,
) -> Result<ScenarioRef, UseCaseError> {
    store
        .latest_revision(id)
        .await
        .map_err(missing("scenario"))?;
    let loaded = context(store).await?.load(text)?;
    let mut c = store.begin_change(entry).await?;
    let revision = c
        .revise_scenario(id, base, &loaded.scenario.name, text, by)
        .await
        .map_err(|e| match e {
            DbError::Conflict { latest } => UseCaseError::Stale { latest },
            e => missing("scenario")(e),
        })?;
    let out = ScenarioRef {
        id: id.to_string(),
        revision,
    };
    finish(c, out, keep).await
}

// ---- records ---------------------------------------------------------------------------------

/// A record as stored by `put_record`: its text (checked, and for JSON kinds re-serialised)
/// and its new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRecord {
    pub text: String,
    pub version: i64,
}

/// Creates or replaces record `kind/id` after checking it against its kind
/// (`service::check_record`).
pub async fn put_record(
    store: &Store,
    entry: NewEntry,
    kind: RecordKind,
    id: &str,
    text: &str,
    keep: impl FnOnce(&PutRecord) -> Option<Kept>,
) -> Result<PutRecord, UseCaseError> {
    let text = service::check_record(kind, id, text)?;
    let mut c = store.begin_change(entry).await?;
    let version = c.put_record(kind.as_str(), id, &text).await?;
    finish(c, PutRecord { text, version }, keep).await
}

/// Deletes record `kind/id`; a retained kind keeps its versions (`Change::delete_record`).
pub async fn delete_record(
    store: &Store,
    entry: NewEntry,
    kind: RecordKind,
    id: &str,
    keep: impl FnOnce(&()) -> Option<Kept>,
) -> Result<(), UseCaseError> {
    let mut c = store.begin_change(entry).await?;
    c.delete_record(kind.as_str(), id)
        .await
        .map_err(missing("record"))?;
    finish(c, (), keep).await
}

/// The day of an RFC 3339 time.
pub fn day_of(at: &str) -> Option<Date> {
    at.get(..10)?.parse().ok()
}

/// Purges the kept versions of deleted record `kind/id` once its retention period is over
/// on `today` (15 CFR 762.6, `records::may_purge`): `Conflict` while it is not deleted.
pub async fn purge_record(
    store: &Store,
    entry: NewEntry,
    kind: RecordKind,
    id: &str,
    today: Date,
    keep: impl FnOnce(&()) -> Option<Kept>,
) -> Result<(), UseCaseError> {
    let kept = store.record_versions(kind.as_str(), id).await?;
    if kept.is_empty() {
        return Err(UseCaseError::NotFound("record versions"));
    }
    if !kept.last().is_some_and(|v| v.deleted) {
        return Err(UseCaseError::Conflict(format!(
            "{kind}/{id} is not deleted: delete it first, then purge its versions"
        )));
    }
    xpufleet_app::records::may_purge(
        kind,
        kept.iter()
            .filter_map(|v| Some((v.body.as_str(), day_of(&v.at)?))),
        today,
    )?;
    let mut c = store.begin_change(entry).await?;
    c.purge_versions(kind.as_str(), id)
        .await
        .map_err(missing("record versions"))?;
    finish(c, (), keep).await
}

// ---- runs, approvals, screening lists ------------------------------------------------------

/// Stores a computed run with its audit entry; a run with the same id is kept as it is.
pub async fn store_run(
    store: &Store,
    entry: NewEntry,
    run: &StoredRun,
) -> Result<(), UseCaseError> {
    let mut c = store.begin_change(entry).await?;
    c.insert_run(run).await?;
    finish(c, (), unkept).await
}

/// Who approves a plan, and why.
#[derive(Debug, Clone)]
pub struct ApprovePlan {
    pub run_id: String,
    /// The token's name and role.
    pub by: String,
    pub role: String,
    pub note: String,
}

/// Approves stored plan `run_id`: `NotFound` for an unknown run, `Unprocessable` for a run
/// that is not a plan, `Conflict` when this holder approved it before.
pub async fn approve_plan(
    store: &Store,
    entry: NewEntry,
    input: ApprovePlan,
    keep: impl FnOnce(&Approval) -> Option<Kept>,
) -> Result<Approval, UseCaseError> {
    let run = store.run(&input.run_id).await.map_err(missing("run"))?;
    if run.kind != "plan" {
        return Err(UseCaseError::Unprocessable(format!(
            "run {} is a {}; only plans are approved",
            input.run_id, run.kind
        )));
    }
    let a = Approval {
        run_id: input.run_id,
        approved_by: input.by,
        role: input.role,
        at: crate::audit::now_rfc3339(),
        note: input.note,
    };
    let mut c = store.begin_change(entry).await?;
    c.approve(&a).await.map_err(|e| match e {
        DbError::Conflict { .. } => {
            UseCaseError::Conflict(format!("{} already approved this plan", a.approved_by))
        }
        e => e.into(),
    })?;
    finish(c, a, keep).await
}

/// A new screening list version, with the re-screening made against it (its JSON).
#[derive(Debug, Clone)]
pub struct ScreeningList {
    pub sha256: String,
    pub text: String,
    pub rescreen_json: String,
}

/// Stores a screening list version; its `seq`. The caller answers a version already stored
/// (same SHA-256) from the store instead.
pub async fn store_screening_list(
    store: &Store,
    entry: NewEntry,
    list: &ScreeningList,
    keep: impl FnOnce(&i64) -> Option<Kept>,
) -> Result<i64, UseCaseError> {
    let mut c = store.begin_change(entry).await?;
    let seq = c
        .store_screening_list(&list.sha256, &list.text, &list.rescreen_json)
        .await?;
    finish(c, seq, keep).await
}

// ---- tokens --------------------------------------------------------------------------------

/// A created token: the only time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub name: String,
    pub role: String,
    /// Send as `Authorization: Bearer <token>`; the server keeps only its SHA-256.
    pub token: String,
}

impl CreatedToken {
    /// What an idempotent retry is answered instead of this: the secret is never stored.
    pub fn kept_instead(&self) -> String {
        serde_json::json!({
            "name": self.name,
            "role": self.role,
            "token_sha256": token::hash(&self.token),
            "token": null,
            "note": "the secret was shown once, in the first answer to this request; it is not \
                     stored and cannot be shown again (revoke the token and create another if it \
                     was lost)",
        })
        .to_string()
    }
}

/// Creates a token named `name` (trimmed) with role `role`, checked by
/// `tokens::check_new_token`: `Conflict` when an unrevoked token has the name.
pub async fn create_token(
    store: &Store,
    entry: NewEntry,
    name: &str,
    role: &str,
    keep: impl FnOnce(&CreatedToken) -> Option<Kept>,
) -> Result<CreatedToken, UseCaseError> {
    let name = crate::tokens::check_new_token(name, role).map_err(|(field, message)| {
        UseCaseError::Invalid {
            field: field.into(),
            message,
        }
    })?;
    let secret = token::generate().map_err(|e| UseCaseError::Invalid {
        field: "token".into(),
        message: format!("no random token could be made: {e}"),
    })?;
    let mut c = store.begin_change(entry).await?;
    c.create_token(
        &token::hash(&secret),
        name,
        role,
        &crate::audit::now_rfc3339(),
    )
    .await
    .map_err(|e| match e {
        DbError::Conflict { .. } => UseCaseError::Conflict(format!(
            "an unrevoked token is named {name:?}; revoke it first"
        )),
        e => e.into(),
    })?;
    let out = CreatedToken {
        name: name.to_string(),
        role: role.to_string(),
        token: secret,
    };
    finish(c, out, keep).await
}

/// Revokes every unrevoked token named `name`; how many. `NotFound` when there is none.
pub async fn revoke_token(
    store: &Store,
    entry: NewEntry,
    name: &str,
    keep: impl FnOnce(&u64) -> Option<Kept>,
) -> Result<u64, UseCaseError> {
    let mut c = store.begin_change(entry).await?;
    let n = c
        .revoke_tokens(name)
        .await
        .map_err(missing("unrevoked token of that name"))?;
    finish(c, n, keep).await
}

// ---- sign-in -------------------------------------------------------------------------------

/// The web UI's audit resource of a session: named by the start of its id's SHA-256 (the
/// id is the cookie's secret and is never stored or logged).
pub fn session_resource(id: &str) -> String {
    format!("/ui/sessions/{}", &token::hash(id)[..16])
}

/// The digest audit entries give a session: who holds it with which role, never its id.
pub fn session_digest(s: &Session) -> String {
    digest(&format!(
        "session\n{}\n{}\n{}",
        s.name, s.role, s.token_hash
    ))
}

/// What a sign-in came to.
#[derive(Debug)]
pub enum SignIn {
    /// A new session: the cookie's id and the session.
    Session { id: String, session: Session },
    /// The token is not one the store knows (or it is revoked); the failure was counted.
    Unknown,
    /// Too many failed sign-ins in the last minute, over every server on the database.
    Throttled,
}

/// Signs in with API token `secret`: a new session, created with its audit entry in one
/// transaction (so no session exists without one, whatever moment a process dies). A failed
/// sign-in is counted, not audited: it changes nothing but the counter that throttles
/// sign-in, and auditing it would let anyone without a token grow the audit chain.
pub async fn sign_in(
    store: &Store,
    secret: &str,
    failures_per_minute: i64,
) -> Result<SignIn, UseCaseError> {
    if store.login_failures().await? >= failures_per_minute {
        return Ok(SignIn::Throttled);
    }
    let token_hash = token::hash(secret);
    let (name, role) = match store.token(&token_hash).await {
        Ok(found) => found,
        Err(DbError::NotFound) => {
            return Ok(if store.login_failed().await? > failures_per_minute {
                SignIn::Throttled
            } else {
                SignIn::Unknown
            });
        }
        Err(e) => return Err(e.into()),
    };
    let id = token::hex(
        &token::random_bytes::<32>().map_err(|e| UseCaseError::Invalid {
            field: "session".into(),
            message: format!("no random session id could be made: {e}"),
        })?,
    );
    let session = Session {
        token_hash,
        name,
        role,
        csrf: csrf_of(&id),
    };
    let mut c = store
        .begin_change(NewEntry {
            actor: session.name.clone(),
            role: session.role.clone(),
            action: "POST /login".into(),
            body_sha256: digest(""),
            ..NewEntry::default()
        })
        .await?;
    c.create_session(&id, &session, now_s()).await?;
    c.changed(
        Some(session_resource(&id)),
        None,
        "",
        &session_digest(&session),
    );
    finish(c, SignIn::Session { id, session }, unkept).await
}

/// Why a session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// Its holder signed out.
    SignOut,
    /// Its token was revoked, or its role changed, since it was made.
    TokenRevoked,
}

/// Ends session `id` of `s` with its audit entry, in one transaction; ending one that is gone
/// already changes nothing and appends nothing.
pub async fn end_session(
    store: &Store,
    id: &str,
    s: &Session,
    why: SessionEnd,
) -> Result<(), UseCaseError> {
    let action = match why {
        SessionEnd::SignOut => "POST /logout",
        SessionEnd::TokenRevoked => "session ended: its token was revoked or its role changed",
    };
    let mut c = store
        .begin_change(NewEntry {
            actor: s.name.clone(),
            role: s.role.clone(),
            action: action.into(),
            body_sha256: digest(""),
            ..NewEntry::default()
        })
        .await?;
    if !c.delete_session(id).await? {
        // Nothing changed: the transaction is dropped, so rolled back.
        return Ok(());
    }
    c.changed(Some(session_resource(id)), None, &session_digest(s), "");
    finish(c, (), unkept).await
}

impl Change {
    /// A new session (expired ones are swept first: they ended when they expired).
    async fn create_session(&mut self, id: &str, s: &Session, now: i64) -> Result<(), DbError> {
        sqlx::query("DELETE FROM sessions WHERE last_used < $1")
            .bind(now - crate::sessions::SESSION_IDLE.as_secs() as i64)
            .execute(self.conn())
            .await?;
        sqlx::query(
            "INSERT INTO sessions (id_sha256, token_hash, name, role, last_used) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token::hash(id))
        .bind(&s.token_hash)
        .bind(&s.name)
        .bind(&s.role)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Deletes session `id`; whether there was one.
    async fn delete_session(&mut self, id: &str) -> Result<bool, DbError> {
        let res = sqlx::query("DELETE FROM sessions WHERE id_sha256 = $1")
            .bind(token::hash(id))
            .execute(self.conn())
            .await?;
        Ok(res.rows_affected() > 0)
    }
}
