//! Storage: one `Store` over SQLite or PostgreSQL (sqlx's `Any` driver), with the same SQL and
//! the same behaviour on both. Versioned migrations are embedded in the binary and applied on
//! start by sqlx's `Migrator` (recorded in `_sqlx_migrations` with their SHA-384), under our
//! own lock so that one process migrates at a time on either database (`migrate.rs`).

use sha2::Digest;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

use crate::audit::{AuditEntry, NewEntry};
use crate::idempotency::Stored;
use crate::migrate::{migration_lock_path, PG_MIGRATION_LOCK};

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The thing asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A conditional change lost: the stored revision is not the one the caller read.
    #[error("stale revision: the latest is {latest}")]
    Conflict { latest: i64 },
    /// Another request with the same `Idempotency-Key` committed first; this change was
    /// rolled back.
    #[error("another request with this Idempotency-Key was answered first")]
    KeyTaken,
    /// A stored row is not what the schema says (altered behind the server's back).
    #[error("corrupt: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database: {0}")]
    Other(#[from] sqlx::Error),
}

/// The migrations, in order: (version, name, SQL statements separated by `;`).
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (2, "trust", include_str!("../migrations/0002_trust.sql")),
    (
        3,
        "change digests",
        include_str!("../migrations/0003_change_digests.sql"),
    ),
    (
        4,
        "sessions",
        include_str!("../migrations/0004_sessions.sql"),
    ),
    (
        5,
        "record versions",
        include_str!("../migrations/0005_record_versions.sql"),
    ),
    (
        6,
        "screening lists",
        include_str!("../migrations/0006_screening_lists.sql"),
    ),
    (
        7,
        "rate buckets",
        include_str!("../migrations/0007_rate_buckets.sql"),
    ),
];

/// The longest a pooled connection is used before it is replaced.
pub const MAX_CONNECTION_LIFE: std::time::Duration = std::time::Duration::from_secs(600);

/// How long `/readyz` waits for the database before it says not ready.
pub const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(1500);

/// A database URL whose `Debug` and `Display` hide the password.
#[derive(Clone)]
pub struct DatabaseUrl(pub String);

impl DatabaseUrl {
    fn redacted(&self) -> String {
        let s = &self.0;
        match (s.find("://"), s.rfind('@')) {
            (Some(a), Some(at)) if at > a => {
                let creds = &s[a + 3..at];
                match creds.find(':') {
                    Some(c) => format!("{}{}:***{}", &s[..a + 3], &creds[..c], &s[at..]),
                    None => s.clone(),
                }
            }
            _ => s.clone(),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.redacted())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.redacted())
    }
}

/// Whether `e` says the connection is gone rather than the statement wrong: an I/O or protocol
/// failure, or PostgreSQL's "terminating connection" (class 57P: an administrator, a shutdown,
/// a crash) and connection-exception (class 08) codes.
pub fn lost_connection(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
        _ => false,
    }
}

/// A stored scenario revision.
#[derive(Debug, Clone)]
pub struct Revision {
    pub scenario_id: String,
    pub revision: i64,
    pub body: String,
}

/// A stored run.
#[derive(Debug, Clone)]
pub struct StoredRun {
    pub id: String,
    pub kind: String,
    pub scenario_id: String,
    pub revision: i64,
    pub inputs: String,
    pub result: String,
    pub html: Option<String>,
}

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    sqlite: bool,
}

impl Store {
    /// Connects (creating a SQLite file if needed, readable by its owner alone, in WAL mode)
    /// and applies pending migrations.
    pub async fn open(url: &DatabaseUrl) -> Result<Store, DbError> {
        Store::connect(url, true, false).await
    }

    /// Creates (or opens) a database migrated as builds before sqlx's migrator did it: our
    /// migrations recorded in `schema_migrations` with their SHA-256. Kept only so that tests
    /// can make such a database and check that `open` adopts it.
    #[doc(hidden)]
    pub async fn open_as_before_sqlx(url: &DatabaseUrl) -> Result<Store, DbError> {
        Store::connect(url, true, true).await
    }

    /// `open`, but a SQLite file that does not exist is an error instead of a new database:
    /// for commands that read one (`xpufleet audit verify`).
    pub async fn open_existing(url: &DatabaseUrl) -> Result<Store, DbError> {
        Store::connect(url, false, false).await
    }

    async fn connect(url: &DatabaseUrl, create: bool, legacy: bool) -> Result<Store, DbError> {
        sqlx::any::install_default_drivers();
        let sqlite = url.0.starts_with("sqlite:");
        let mut conn_url = url.0.clone();
        let mut lock_path = None;
        if sqlite {
            if let Some(path) = sqlite_path(&url.0) {
                lock_path = Some(migration_lock_path(&path));
                if !create && !path.exists() {
                    return Err(DbError::Other(sqlx::Error::Configuration(
                        format!("no database at {}", path.display()).into(),
                    )));
                }
                if create {
                    create_private(&path)?;
                }
            }
        }
        if sqlite && !conn_url.contains("mode=") {
            let mode = if create { "mode=rwc" } else { "mode=rw" };
            conn_url.push(if conn_url.contains('?') { '&' } else { '?' });
            conn_url.push_str(mode);
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 4 } else { 8 })
            // Recovery without a restart (issue 23 item 6): a connection is pinged before it
            // is handed out, so one that a restarted or failed database left dead is dropped
            // and replaced instead of failing a request; none lives longer than
            // `MAX_CONNECTION_LIFE`, so the pool renews itself even when no ping fails.
            .test_before_acquire(true)
            .max_lifetime(Some(MAX_CONNECTION_LIFE))
            .idle_timeout(Some(std::time::Duration::from_secs(60)))
            // With the database down, a request fails in seconds (503), not after sqlx's
            // default 30 s wait for a connection.
            .acquire_timeout(std::time::Duration::from_secs(3))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        // FULL: a commit is on disk before it is acknowledged, so a 2xx
                        // survives power loss too (NORMAL in WAL mode survives only a
                        // process kill), at one fsync per commit.
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                    }
                    Ok(())
                })
            })
            .connect(&conn_url)
            .await?;
        let store = Store { pool, sqlite };
        if legacy {
            store.migrate_as_before_sqlx().await?;
        } else {
            store.migrate(lock_path.as_deref()).await?;
        }
        Ok(store)
    }

    /// How builds before sqlx's migrator applied the migrations, each in its own transaction
    /// under SQLite's write lock or a transaction-scoped PostgreSQL advisory lock, recorded in
    /// `schema_migrations` with their SHA-256 (a database made before checksums were recorded
    /// got them). Kept for `open_as_before_sqlx` alone.
    async fn migrate_as_before_sqlx(&self) -> Result<(), DbError> {
        let mut tx = self.migration_tx().await?;
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)",
        )
        .await?;
        let has_checksum = if self.sqlite {
            "SELECT COUNT(*) FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'"
        } else {
            "SELECT COUNT(*) FROM information_schema.columns \
             WHERE table_name = 'schema_migrations' AND column_name = 'checksum'"
        };
        let n: i64 = sqlx::query(has_checksum)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if n == 0 {
            tx.execute(
                "ALTER TABLE schema_migrations ADD COLUMN checksum TEXT NOT NULL DEFAULT ''",
            )
            .await?;
        }
        tx.commit().await?;
        for (version, name, sql) in MIGRATIONS {
            let checksum = digest(sql);
            let mut tx = self.migration_tx().await?;
            let done = sqlx::query("SELECT checksum FROM schema_migrations WHERE version = $1")
                .bind(*version)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = done {
                let stored: String = row.try_get(0)?;
                if stored.is_empty() {
                    sqlx::query("UPDATE schema_migrations SET checksum = $1 WHERE version = $2")
                        .bind(&checksum)
                        .bind(*version)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                } else if stored != checksum {
                    return Err(DbError::Corrupt(format!(
                        "migration {version} ({name}) was applied with SHA-256 {stored}, and \
                         this build's text of it hashes to {checksum}: it was changed after it \
                         was applied; restore it and add a new migration instead"
                    )));
                }
                continue;
            }
            for stmt in statements(sql) {
                tx.execute(stmt.as_str()).await?;
            }
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            )
            .bind(*version)
            .bind(*name)
            .bind(&checksum)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// A write transaction that holds the migration lock until it ends.
    async fn migration_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, DbError> {
        let mut tx = self.begin_write().await?;
        if !self.sqlite {
            // An arbitrary constant naming xpufleet's migrations.
            tx.execute(format!("SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})").as_str())
                .await?;
        }
        Ok(tx)
    }

    /// A transaction that will write. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`, waiting up to `busy_timeout`), so that concurrent writers queue instead of
    /// failing with "database is locked" when a read transaction cannot be upgraded.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        if self.sqlite {
            self.pool.begin_with("BEGIN IMMEDIATE").await
        } else {
            self.pool.begin().await
        }
    }

    pub(crate) fn is_sqlite(&self) -> bool {
        self.sqlite
    }

    /// Starts a change: its writes, its audit entry (`entry`, completed by the writes with the
    /// resource, revision and digests) and its idempotent answer commit together in
    /// `Change::commit`, or not at all.
    pub async fn begin_change(&self, entry: NewEntry) -> Result<Change, DbError> {
        Ok(Change {
            tx: self.begin_write().await?,
            sqlite: self.sqlite,
            entry,
            answer: None,
        })
    }

    /// Whether the database answers and takes writes, within `READY_WITHIN`: a write
    /// transaction is opened (SQLite's write lock; on PostgreSQL an UPDATE, refused by a
    /// read-only server) and rolled back, so nothing changes.
    pub async fn ping(&self) -> bool {
        let check = async {
            let mut tx = self.begin_write().await?;
            sqlx::query("UPDATE _sqlx_migrations SET description = description WHERE version = -1")
                .execute(&mut *tx)
                .await?;
            tx.rollback().await?;
            Ok::<(), sqlx::Error>(())
        };
        matches!(tokio::time::timeout(READY_WITHIN, check).await, Ok(Ok(())))
    }

    /// `who`'s shared request bucket now (full when it has none), without spending from it.
    pub async fn rate_bucket(
        &self,
        who: &str,
        limit: crate::limits::RateLimit,
        now_ms: i64,
    ) -> Result<f64, DbError> {
        let row = sqlx::query("SELECT tokens, updated_ms FROM rate_buckets WHERE who = $1")
            .bind(who)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => crate::limits::shared_level(
                limit,
                r.try_get::<f64, _>(0)?,
                now_ms - r.try_get::<i64, _>(1)?,
                0.0,
            ),
            None => limit.burst,
        })
    }

    /// Spends `spent` requests from `who`'s shared bucket (refilled up to `now_ms` first) and
    /// returns what is left, in one transaction: replicas syncing at once queue on the row.
    pub async fn spend_rate_bucket(
        &self,
        who: &str,
        spent: f64,
        limit: crate::limits::RateLimit,
        now_ms: i64,
    ) -> Result<f64, DbError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO rate_buckets (who, tokens, updated_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (who) DO NOTHING",
        )
        .bind(who)
        .bind(limit.burst)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let lock = if self.sqlite { "" } else { " FOR UPDATE" };
        let row = sqlx::query(&format!(
            "SELECT tokens, updated_ms FROM rate_buckets WHERE who = $1{lock}"
        ))
        .bind(who)
        .fetch_one(&mut *tx)
        .await?;
        let (tokens, updated_ms): (f64, i64) = (row.try_get(0)?, row.try_get(1)?);
        let left = crate::limits::shared_level(limit, tokens, now_ms - updated_ms, spent);
        sqlx::query("UPDATE rate_buckets SET tokens = $1, updated_ms = $2 WHERE who = $3")
            .bind(left)
            .bind(now_ms.max(updated_ms))
            .bind(who)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(left)
    }

    /// The migrations applied, in order.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, DbError> {
        let rows = sqlx::query("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get::<i64, _>(0)).collect())
    }

    /// Stores a token made outside the server (`xpufleet token create`), audited as made by
    /// `by` on this machine, in one transaction.
    pub async fn insert_token(&self, hash: &str, name: &str, role: &str) -> Result<(), DbError> {
        self.issue_token(hash, name, role, "local").await
    }

    /// Revokes every unrevoked token named `name`, audited as done on this machine; how many.
    pub async fn revoke_tokens(&self, name: &str) -> Result<u64, DbError> {
        let mut c = self
            .begin_change(NewEntry {
                actor: "local".into(),
                role: "admin".into(),
                action: "xpufleet token revoke".into(),
                resource: format!("/api/v1/tokens/{name}"),
                body_sha256: digest(""),
                ..NewEntry::default()
            })
            .await?;
        let n = c.revoke_tokens(name).await?;
        c.commit().await?;
        Ok(n)
    }

    /// `insert_token` naming who ran the command.
    async fn issue_token(
        &self,
        hash: &str,
        name: &str,
        role: &str,
        by: &str,
    ) -> Result<(), DbError> {
        let mut c = self
            .begin_change(NewEntry {
                actor: by.to_string(),
                role: "admin".into(),
                action: "xpufleet token create".into(),
                resource: format!("/api/v1/tokens/{name}"),
                body_sha256: digest(""),
                ..NewEntry::default()
            })
            .await?;
        c.insert_token(hash, name, role, &crate::audit::now_rfc3339())
            .await?;
        c.commit().await?;
        Ok(())
    }

    /// Runs a read, and once more when it failed because its connection was lost (a restarted
    /// PostgreSQL, a terminated backend, a SQLite I/O error): the second try gets another
    /// connection, tested before it is handed out. Only reads go through here; a write whose
    /// connection is lost was rolled back with it and answers `503` (`DbError::Other`).
    async fn read<T, F, Fut>(&self, f: F) -> Result<T, sqlx::Error>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
    {
        match f().await {
            Err(e) if lost_connection(&e) => {
                tracing::warn!(error = %e, "a read lost its database connection; retrying once");
                f().await
            }
            r => r,
        }
    }

    /// The (name, role) of the unrevoked token with this hash.
    pub async fn token(&self, hash: &str) -> Result<(String, String), DbError> {
        let (_, name, role) = self.token_row(hash).await?;
        Ok((name, role))
    }

    /// The (hash, name, role) of the unrevoked token with this hash.
    pub async fn token_row(&self, hash: &str) -> Result<(String, String, String), DbError> {
        // Every authenticated request reads it first: retried once on a lost connection.
        let row = self
            .read(|| {
                sqlx::query("SELECT hash, name, role FROM tokens WHERE hash = $1 AND revoked = 0")
                    .bind(hash)
                    .fetch_optional(&self.pool)
            })
            .await?
            .ok_or(DbError::NotFound)?;
        Ok((row.get(0), row.get(1), row.get(2)))
    }

    /// The scenarios' (id, name, latest revision), by id, from `offset`.
    pub async fn list_scenarios(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<(String, String, i64)>, DbError> {
        let rows =
            sqlx::query("SELECT id, name, latest FROM scenarios ORDER BY id LIMIT $1 OFFSET $2")
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    pub async fn latest_revision(&self, id: &str) -> Result<Revision, DbError> {
        let row = self
            .read(|| {
                sqlx::query(
                    "SELECT r.scenario_id, r.revision, r.body FROM scenarios s \
                     JOIN scenario_revisions r ON r.scenario_id = s.id AND r.revision = s.latest \
                     WHERE s.id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
            })
            .await?
            .ok_or(DbError::NotFound)?;
        Ok(revision(&row))
    }

    pub async fn revision(&self, id: &str, rev: i64) -> Result<Revision, DbError> {
        let row = sqlx::query(
            "SELECT scenario_id, revision, body FROM scenario_revisions WHERE scenario_id = $1 AND revision = $2",
        )
        .bind(id)
        .bind(rev)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(DbError::NotFound)?;
        Ok(revision(&row))
    }

    /// The revision numbers of a scenario, oldest first.
    pub async fn revisions(&self, id: &str) -> Result<Vec<i64>, DbError> {
        let rows = sqlx::query(
            "SELECT revision FROM scenario_revisions WHERE scenario_id = $1 ORDER BY revision",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Err(DbError::NotFound);
        }
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// A stored run's answer alone (not its inputs or report).
    pub async fn run_result(&self, id: &str) -> Result<String, DbError> {
        let row = self
            .read(|| {
                sqlx::query("SELECT result FROM runs WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
            })
            .await?
            .ok_or(DbError::NotFound)?;
        Ok(row.get(0))
    }

    pub async fn run(&self, id: &str) -> Result<StoredRun, DbError> {
        let row = sqlx::query(
            "SELECT id, kind, scenario_id, revision, inputs, result, html FROM runs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(DbError::NotFound)?;
        Ok(StoredRun {
            id: row.get(0),
            kind: row.get(1),
            scenario_id: row.get(2),
            revision: row.get(3),
            inputs: row.get(4),
            result: row.get(5),
            html: row.get(6),
        })
    }

    /// A record's (body, version).
    pub async fn record(&self, kind: &str, id: &str) -> Result<(String, i64), DbError> {
        let row = self
            .read(|| {
                sqlx::query("SELECT body, version FROM records WHERE kind = $1 AND id = $2")
                    .bind(kind)
                    .bind(id)
                    .fetch_optional(&self.pool)
            })
            .await?
            .ok_or(DbError::NotFound)?;
        Ok((row.get(0), row.get(1)))
    }

    /// The kept versions of a retained record, oldest first (`RecordKind::retained`).
    pub async fn record_versions(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Vec<RecordVersion>, DbError> {
        let rows = sqlx::query(
            "SELECT version, body, deleted, at FROM record_versions \
             WHERE kind = $1 AND id = $2 ORDER BY version",
        )
        .bind(kind)
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RecordVersion {
                    version: r.try_get(0)?,
                    body: r.try_get(1)?,
                    deleted: r.try_get::<i64, _>(2)? != 0,
                    at: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// The stored screening list versions, oldest first: (seq, sha256, stored_at, rescreen
    /// JSON).
    pub async fn screening_lists(&self) -> Result<Vec<(i64, String, String, String)>, DbError> {
        let rows = sqlx::query(
            "SELECT seq, sha256, stored_at, rescreen FROM screening_lists ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect()
    }

    /// A stored screening list version's (body, rescreen JSON).
    pub async fn screening_list(&self, sha256: &str) -> Result<(String, String), DbError> {
        let row = sqlx::query("SELECT body, rescreen FROM screening_lists WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(DbError::NotFound)?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// The newest stored screening list: (sha256, body).
    pub async fn latest_screening_list(&self) -> Result<Option<(String, String)>, DbError> {
        let row = sqlx::query("SELECT sha256, body FROM screening_lists ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// Records of a kind as (id, body, version), by id; `limit` < 0 means all.
    pub async fn records(
        &self,
        kind: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<(String, String, i64)>, DbError> {
        let rows = sqlx::query(
            "SELECT id, body, version FROM records WHERE kind = $1 ORDER BY id LIMIT $2 OFFSET $3",
        )
        .bind(kind)
        .bind(if limit < 0 { i64::MAX } else { limit })
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Every record as (kind, id, body, version), by kind and id: what a computation reads
    /// (rule packs, catalog overrides and the records overlaid onto scenarios), in one query.
    pub async fn context_records(&self) -> Result<Vec<(String, String, String, i64)>, DbError> {
        let rows = sqlx::query("SELECT kind, id, body, version FROM records ORDER BY kind, id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SHA-256 of stored text, as audit entries name it.
pub fn digest(text: &str) -> String {
    crate::token::hex(&sha2::Sha256::digest(text.as_bytes()))
}

/// One kept version of a retained record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordVersion {
    pub version: i64,
    /// The record as written; for the tombstone, the last version's body.
    pub body: String,
    /// The tombstone: the record was deleted at `at`.
    pub deleted: bool,
    /// When it was written, UTC, RFC 3339.
    pub at: String,
}

/// Whether records of `kind` keep their versions (`RecordKind::retained`).
fn retained(kind: &str) -> bool {
    kind.parse::<xpufleet_app::RecordKind>()
        .is_ok_and(|k| k.retained())
}

/// One change in progress: a write transaction with the audit entry that will record it.
/// Dropping it without `commit` rolls everything back.
pub struct Change {
    pub(crate) tx: sqlx::Transaction<'static, sqlx::Any>,
    sqlite: bool,
    /// The entry, completed by each write with what it changed.
    pub(crate) entry: NewEntry,
    /// The answer kept for a retry with the same `Idempotency-Key`: (token name, key, answer).
    answer: Option<(String, String, Stored)>,
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Change")
            .field("entry", &self.entry)
            .finish_non_exhaustive()
    }
}

impl Change {
    /// The connection inside the transaction.
    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// Records what the change did to one record: its path, revision and digests.
    pub(crate) fn changed(
        &mut self,
        resource: Option<String>,
        revision: Option<i64>,
        before: &str,
        after: &str,
    ) {
        if let Some(r) = resource {
            self.entry.resource = r;
        }
        self.entry.revision = revision;
        self.entry.before_sha256 = before.to_string();
        self.entry.after_sha256 = after.to_string();
    }

    /// Keeps `answer` for retries with `key` by `token_name`, in the same transaction.
    pub fn keep_answer(&mut self, token_name: &str, key: &str, answer: Stored) {
        self.answer = Some((token_name.to_string(), key.to_string(), answer));
    }

    /// Appends the audit entry, stores the idempotent answer and commits, all or nothing.
    /// `KeyTaken` when another request with the same key committed first (this change is then
    /// rolled back, so a key makes at most one change across every server).
    pub async fn commit(mut self) -> Result<AuditEntry, DbError> {
        let entry = crate::audit::append_in(&mut self.tx, self.sqlite, &self.entry).await?;
        if let Some((token_name, key, s)) = &self.answer {
            let headers = serde_json::to_string(&s.headers).unwrap_or_else(|_| "[]".into());
            let res = sqlx::query(
                "INSERT INTO idempotency (token_name, key, request_sha256, status, headers, body) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(token_name)
            .bind(key)
            .bind(&s.request_sha256)
            .bind(i64::from(s.status))
            .bind(headers)
            .bind(&s.body)
            .execute(&mut *self.tx)
            .await;
            if let Err(e) = res {
                let taken = e
                    .as_database_error()
                    .is_some_and(|d| d.is_unique_violation());
                return Err(if taken { DbError::KeyTaken } else { e.into() });
            }
        }
        self.tx.commit().await?;
        Ok(entry)
    }

    /// A new scenario at revision 1.
    pub async fn create_scenario(
        &mut self,
        id: &str,
        name: &str,
        body: &str,
        by: &str,
    ) -> Result<(), DbError> {
        sqlx::query("INSERT INTO scenarios (id, name, latest) VALUES ($1, $2, 1)")
            .bind(id)
            .bind(name)
            .execute(self.conn())
            .await?;
        sqlx::query(
            "INSERT INTO scenario_revisions (scenario_id, revision, body, created_by) VALUES ($1, 1, $2, $3)",
        )
        .bind(id)
        .bind(body)
        .bind(by)
        .execute(self.conn())
        .await?;
        self.changed(
            Some(format!("/api/v1/scenarios/{id}")),
            Some(1),
            "",
            &digest(body),
        );
        Ok(())
    }

    /// A new revision of a scenario whose latest revision is `expected`; `Conflict` when it is
    /// not (someone else changed it first), `NotFound` when there is no such scenario.
    /// Returns the new revision.
    pub async fn revise_scenario(
        &mut self,
        id: &str,
        expected: i64,
        name: &str,
        body: &str,
        by: &str,
    ) -> Result<i64, DbError> {
        let cur = sqlx::query(
            "SELECT s.latest, r.body FROM scenarios s \
             JOIN scenario_revisions r ON r.scenario_id = s.id AND r.revision = s.latest \
             WHERE s.id = $1",
        )
        .bind(id)
        .fetch_optional(self.conn())
        .await?
        .ok_or(DbError::NotFound)?;
        let latest: i64 = cur.try_get(0)?;
        let before: String = cur.try_get(1)?;
        if latest != expected {
            return Err(DbError::Conflict { latest });
        }
        // Conditional again: on PostgreSQL a concurrent reviser may have committed since the
        // read above, and this UPDATE then sees its row.
        let res = sqlx::query(
            "UPDATE scenarios SET latest = latest + 1, name = $1 WHERE id = $2 AND latest = $3",
        )
        .bind(name)
        .bind(id)
        .bind(expected)
        .execute(self.conn())
        .await?;
        if res.rows_affected() != 1 {
            return Err(DbError::Conflict {
                latest: expected + 1,
            });
        }
        let next = expected + 1;
        sqlx::query(
            "INSERT INTO scenario_revisions (scenario_id, revision, body, created_by) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(next)
        .bind(body)
        .bind(by)
        .execute(self.conn())
        .await?;
        self.changed(
            Some(format!("/api/v1/scenarios/{id}")),
            Some(next),
            &digest(&before),
            &digest(body),
        );
        Ok(next)
    }

    /// Stores a run; a run with the same id (the same inputs) is kept as it is.
    pub async fn insert_run(&mut self, r: &StoredRun) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO runs (id, kind, scenario_id, revision, inputs, result, html) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&r.id)
        .bind(&r.kind)
        .bind(&r.scenario_id)
        .bind(r.revision)
        .bind(&r.inputs)
        .bind(&r.result)
        .bind(r.html.clone())
        .execute(self.conn())
        .await?;
        let id = &r.id;
        self.changed(
            Some(format!("/api/v1/runs/{id}")),
            Some(r.revision),
            "",
            &digest(&r.result),
        );
        Ok(())
    }

    /// Creates or replaces a record; returns its new version (1 for a new one).
    pub async fn put_record(&mut self, kind: &str, id: &str, body: &str) -> Result<i64, DbError> {
        let cur = sqlx::query("SELECT version, body FROM records WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
            .fetch_optional(self.conn())
            .await?;
        let (version, before) = match cur {
            Some(row) => {
                let v: i64 = row.try_get(0)?;
                let old: String = row.try_get(1)?;
                if retained(kind) {
                    self.keep_unkept(kind, id, v, &old).await?;
                }
                sqlx::query(
                    "UPDATE records SET body = $1, version = $2 WHERE kind = $3 AND id = $4",
                )
                .bind(body)
                .bind(v + 1)
                .bind(kind)
                .bind(id)
                .execute(self.conn())
                .await?;
                (v + 1, digest(&old))
            }
            None => {
                // A retained record written again after its deletion continues its versions.
                let last: Option<i64> = sqlx::query(
                    "SELECT MAX(version) FROM record_versions WHERE kind = $1 AND id = $2",
                )
                .bind(kind)
                .bind(id)
                .fetch_one(self.conn())
                .await?
                .try_get(0)?;
                let v = last.unwrap_or(0) + 1;
                sqlx::query(
                    "INSERT INTO records (kind, id, body, version) VALUES ($1, $2, $3, $4)",
                )
                .bind(kind)
                .bind(id)
                .bind(body)
                .bind(v)
                .execute(self.conn())
                .await?;
                (v, String::new())
            }
        };
        if retained(kind) {
            self.keep_version(kind, id, version, body, false).await?;
        }
        self.changed(
            Some(format!("/api/v1/{kind}/{id}")),
            Some(version),
            &before,
            &digest(body),
        );
        Ok(version)
    }

    /// Keeps version `version` of a retained record; a version written before versions were
    /// kept is kept when the record next changes, dated then.
    async fn keep_version(
        &mut self,
        kind: &str,
        id: &str,
        version: i64,
        body: &str,
        deleted: bool,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO record_versions (kind, id, version, body, deleted, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(kind)
        .bind(id)
        .bind(version)
        .bind(body)
        .bind(i64::from(deleted))
        .bind(crate::audit::now_rfc3339())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Keeps the stored version of a retained record when it is not kept yet (it was written
    /// before versions were kept).
    async fn keep_unkept(
        &mut self,
        kind: &str,
        id: &str,
        version: i64,
        body: &str,
    ) -> Result<(), DbError> {
        let kept = sqlx::query(
            "SELECT 1 FROM record_versions WHERE kind = $1 AND id = $2 AND version = $3",
        )
        .bind(kind)
        .bind(id)
        .bind(version)
        .fetch_optional(self.conn())
        .await?;
        if kept.is_none() {
            self.keep_version(kind, id, version, body, false).await?;
        }
        Ok(())
    }

    /// Deletes a record; `NotFound` when there is none. A retained record leaves a tombstone
    /// (the next version, marked deleted, with the last body) and its versions readable.
    pub async fn delete_record(&mut self, kind: &str, id: &str) -> Result<(), DbError> {
        let old = sqlx::query("SELECT body, version FROM records WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
            .fetch_optional(self.conn())
            .await?
            .ok_or(DbError::NotFound)?;
        let old_version: i64 = old.try_get(1)?;
        let old: String = old.try_get(0)?;
        if retained(kind) {
            self.keep_unkept(kind, id, old_version, &old).await?;
            self.keep_version(kind, id, old_version + 1, &old, true)
                .await?;
        }
        sqlx::query("DELETE FROM records WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
            .execute(self.conn())
            .await?;
        self.changed(
            Some(format!("/api/v1/{kind}/{id}")),
            None,
            &digest(&old),
            "",
        );
        Ok(())
    }
}

impl Change {
    /// Stores a new screening list version with the re-screening made against it; its `seq`.
    /// The caller answers a version already stored (same SHA-256) from the store instead.
    pub async fn store_screening_list(
        &mut self,
        sha256: &str,
        body: &str,
        rescreen: &str,
    ) -> Result<i64, DbError> {
        let last: Option<i64> = sqlx::query("SELECT MAX(seq) FROM screening_lists")
            .fetch_one(self.conn())
            .await?
            .try_get(0)?;
        let seq = last.unwrap_or(0) + 1;
        sqlx::query(
            "INSERT INTO screening_lists (seq, sha256, body, stored_at, rescreen) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(seq)
        .bind(sha256)
        .bind(body)
        .bind(crate::audit::now_rfc3339())
        .bind(rescreen)
        .execute(self.conn())
        .await?;
        self.changed(
            Some(format!("/api/v1/screening-lists/{sha256}")),
            Some(seq),
            "",
            &digest(body),
        );
        Ok(seq)
    }

    /// Purges the kept versions of a deleted retained record (the caller has checked that the
    /// retention period is over); `NotFound` when none are kept.
    pub async fn purge_versions(&mut self, kind: &str, id: &str) -> Result<(), DbError> {
        let rows = sqlx::query(
            "SELECT body FROM record_versions WHERE kind = $1 AND id = $2 ORDER BY version",
        )
        .bind(kind)
        .bind(id)
        .fetch_all(self.conn())
        .await?;
        let Some(last) = rows.last() else {
            return Err(DbError::NotFound);
        };
        let last: String = last.try_get(0)?;
        sqlx::query("DELETE FROM record_versions WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
            .execute(self.conn())
            .await?;
        self.changed(
            Some(format!("/api/v1/{kind}/{id}/versions")),
            None,
            &digest(&last),
            "",
        );
        Ok(())
    }
}

/// The file behind a `sqlite:` URL (`None` for an in-memory database).
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

/// Creates an empty database file readable and writable by its owner alone (0600), unless it
/// exists: it holds token digests, the audit trail and every record. SQLite gives its `-wal`
/// and `-shm` files the database file's permissions.
pub(crate) fn create_private(path: &std::path::Path) -> Result<(), DbError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    match o.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(DbError::Other(sqlx::Error::Io(e))),
    }
}

/// The statements of a migration: comment lines dropped, split at `;`.
fn statements(sql: &str) -> Vec<String> {
    let code: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .map(|l| format!("{l}\n"))
        .collect();
    code.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn revision(row: &AnyRow) -> Revision {
    Revision {
        scenario_id: row.get(0),
        revision: row.get(1),
        body: row.get(2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_split_into_statements_without_comments() {
        let s = statements("-- a; comment\nCREATE TABLE a (x TEXT);\n\nCREATE TABLE b (y TEXT)\n");
        assert_eq!(
            s,
            vec!["CREATE TABLE a (x TEXT)", "CREATE TABLE b (y TEXT)"]
        );
        assert_eq!(statements(MIGRATIONS[0].2).len(), 5);
    }

    #[test]
    fn only_a_lost_connection_is_retried() {
        let io = sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset by peer",
        ));
        assert!(lost_connection(&io));
        assert!(lost_connection(&sqlx::Error::Protocol(
            "unexpected EOF".into()
        )));
        // A statement that is wrong, or a row that is missing, fails the same way twice.
        assert!(!lost_connection(&sqlx::Error::RowNotFound));
        assert!(!lost_connection(&sqlx::Error::PoolTimedOut));
        assert!(!lost_connection(&sqlx::Error::ColumnNotFound("x".into())));
    }

    #[test]
    fn database_urls_hide_their_password() {
        let u = DatabaseUrl("postgres://alice:s3cret@127.0.0.1:5432/db".into());
        assert_eq!(format!("{u:?}"), "postgres://alice:***@127.0.0.1:5432/db");
        assert_eq!(u.to_string(), "postgres://alice:***@127.0.0.1:5432/db");
        let plain = DatabaseUrl("sqlite://xpufleet.db".into());
        assert_eq!(plain.to_string(), "sqlite://xpufleet.db");
    }
}
