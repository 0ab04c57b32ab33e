//! Migrations by sqlx's `Migrator`, run under our own lock on both databases.
//!
//! sqlx 0.8 locks its migrator on PostgreSQL (an advisory lock) but not on SQLite (its
//! `Migrate::lock` does nothing, and each migration runs in a deferred transaction), so two
//! servers starting together on one SQLite file could both find a migration pending and one
//! would fail half-way through its start. We therefore take the lock ourselves and run sqlx's
//! migrator with its own locking off:
//!
//! - PostgreSQL: a session-level advisory lock (`PG_MIGRATION_LOCK`) on the connection the
//!   migrator runs on; that connection is taken out of the pool and closed afterwards, so the
//!   lock ends with it even when a migration fails (and with the session if the process dies).
//! - SQLite: a write transaction (`BEGIN IMMEDIATE`) on a sibling lock database
//!   (`<file>.migrate-lock`, created 0600), held while the migrator runs on the real file.
//!   SQLite's own file locks make it exclusive across processes and connections, waiting up to
//!   `LOCK_WAIT`; the operating system drops it if the process dies. (std's `File::lock` would
//!   do the same, but needs Rust 1.89 and the workspace supports 1.87.)
//!
//! Under the lock, a database made by the builds before (our migrator, `schema_migrations`
//! with each migration's SHA-256) is adopted once: each recorded SHA-256 is checked against
//! this build's text and the same versions are written into `_sqlx_migrations` with sqlx's
//! SHA-384 of that text, in one transaction, without running any migration again. Then sqlx's
//! migrator applies what is pending and refuses a database whose applied migration's text has
//! changed. `schema_migrations` is left as it was, for a build before this one.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::migrate::{Migrate, MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyConnection, Connection, Executor, Row};

use crate::db::{digest, DbError, Store, MIGRATIONS};

/// The PostgreSQL advisory lock key that names xpufleet's migrations (an arbitrary constant).
pub(crate) const PG_MIGRATION_LOCK: i64 = 7262023;

/// How long a migrator waits for another process's migrations on SQLite.
pub const LOCK_WAIT: Duration = Duration::from_secs(120);

/// The lock database beside SQLite file `db`.
pub(crate) fn migration_lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".migrate-lock");
    PathBuf::from(name)
}

/// This build's migrations, embedded.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> futures_core_box::BoxFuture<Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        Box::pin(async { Ok(migrations()) })
    }
}

/// A boxed future, as `MigrationSource` wants it (without a dependency on `futures-core`).
mod futures_core_box {
    pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;
}

/// Our migrations as sqlx's: the same versions, names and texts (checksummed by sqlx).
pub fn migrations() -> Vec<Migration> {
    MIGRATIONS
        .iter()
        .map(|(version, name, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*name),
                MigrationType::Simple,
                Cow::Borrowed(*sql),
                false,
            )
        })
        .collect()
}

/// sqlx's migrator of this build's migrations, its own locking off (we hold ours).
pub async fn migrator() -> Result<Migrator, DbError> {
    let mut m = Migrator::new(Embedded)
        .await
        .map_err(|e| DbError::Corrupt(format!("the embedded migrations: {e}")))?;
    m.set_locking(false);
    Ok(m)
}

/// A migration error in words that name the migration.
fn refused(e: MigrateError) -> DbError {
    let name = |v: i64| {
        MIGRATIONS
            .iter()
            .find(|m| m.0 == v)
            .map_or("unknown to this build", |m| m.1)
    };
    match e {
        MigrateError::VersionMismatch(v) => DbError::Corrupt(format!(
            "migration {v} ({}) was applied with another text than this build's (its SHA-384 \
             in _sqlx_migrations differs): it was changed after it was applied; restore it \
             and add a new migration instead",
            name(v)
        )),
        MigrateError::VersionMissing(v) => DbError::Corrupt(format!(
            "migration {v} was applied by a newer build, which this one does not know: \
             run that build or a newer one"
        )),
        MigrateError::Dirty(v) => DbError::Corrupt(format!(
            "migration {v} ({}) is marked partially applied in _sqlx_migrations",
            name(v)
        )),
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => DbError::Other(e),
        e => DbError::Corrupt(format!("migrations: {e}")),
    }
}

impl Store {
    /// Applies the pending migrations with sqlx's migrator under our lock, after adopting a
    /// database made by the migrator before it (see the module's documentation).
    /// `lock` is the SQLite lock database (none for PostgreSQL or an in-memory database).
    pub(crate) async fn migrate(&self, lock: Option<&Path>) -> Result<(), DbError> {
        let migrator = migrator().await?;
        let mut conn = self.pool.acquire().await?.detach();
        let held = match (self.is_sqlite(), lock) {
            (true, Some(path)) => Some(sqlite_lock(path).await?),
            (true, None) => None,
            (false, _) => {
                sqlx::query(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))
                    .execute(&mut conn)
                    .await?;
                None
            }
        };
        let res = async {
            self.adopt(&mut conn).await?;
            migrator.run(&mut conn).await.map_err(refused)
        }
        .await;
        // Closing the connection ends the PostgreSQL session and with it the advisory lock.
        let _ = conn.close().await;
        if let Some(mut l) = held {
            // Rolling back the lock database's transaction releases SQLite's lock.
            let _ = l.execute("ROLLBACK").await;
            let _ = l.close().await;
        }
        res
    }

    /// Writes the migrations recorded in `schema_migrations` into `_sqlx_migrations`, once,
    /// after checking each recorded SHA-256 against this build's text; all or nothing.
    async fn adopt(&self, conn: &mut AnyConnection) -> Result<(), DbError> {
        conn.ensure_migrations_table().await.map_err(refused)?;
        let mut tx = if self.is_sqlite() {
            conn.begin_with("BEGIN IMMEDIATE").await?
        } else {
            conn.begin().await?
        };
        let adopted: i64 = sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let (has_table, has_checksum) = if self.is_sqlite() {
            (
                "SELECT COUNT(*) FROM sqlite_master \
                 WHERE type = 'table' AND name = 'schema_migrations'",
                "SELECT COUNT(*) FROM pragma_table_info('schema_migrations') \
                 WHERE name = 'checksum'",
            )
        } else {
            (
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = 'schema_migrations'",
                "SELECT COUNT(*) FROM information_schema.columns \
                 WHERE table_schema = current_schema() \
                 AND table_name = 'schema_migrations' AND column_name = 'checksum'",
            )
        };
        let count = |n: sqlx::any::AnyRow| n.try_get::<i64, _>(0);
        if adopted > 0 || count(sqlx::query(has_table).fetch_one(&mut *tx).await?)? == 0 {
            return Ok(());
        }
        let checksummed = count(sqlx::query(has_checksum).fetch_one(&mut *tx).await?)? > 0;
        let rows = sqlx::query(if checksummed {
            "SELECT version, checksum FROM schema_migrations ORDER BY version"
        } else {
            "SELECT version, '' FROM schema_migrations ORDER BY version"
        })
        .fetch_all(&mut *tx)
        .await?;
        let ours = migrations();
        for r in rows {
            let version: i64 = r.try_get(0)?;
            let stored: String = r.try_get(1)?;
            let Some(&(_, name, sql)) = MIGRATIONS.iter().find(|m| m.0 == version) else {
                return Err(refused(MigrateError::VersionMissing(version)));
            };
            let sha256 = digest(sql);
            // A database made before checksums were recorded has none to check.
            if !stored.is_empty() && stored != sha256 {
                return Err(DbError::Corrupt(format!(
                    "migration {version} ({name}) was applied with SHA-256 {stored}, and this \
                     build's text of it hashes to {sha256}: it was changed after it was \
                     applied; restore it and add a new migration instead"
                )));
            }
            let m = ours
                .iter()
                .find(|m| m.version == version)
                .expect("every migration of MIGRATIONS is in migrations()");
            sqlx::query(
                "INSERT INTO _sqlx_migrations \
                 (version, description, success, checksum, execution_time) \
                 VALUES ($1, $2, TRUE, $3, 0)",
            )
            .bind(version)
            .bind(name)
            .bind(m.checksum.to_vec())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Opens SQLite lock database `path` (0600) and takes its write lock, waiting up to
/// `LOCK_WAIT` for another migrator to finish.
async fn sqlite_lock(path: &Path) -> Result<AnyConnection, DbError> {
    crate::db::create_private(path)?;
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut l = AnyConnection::connect(&url).await?;
    l.execute(format!("PRAGMA busy_timeout = {}", LOCK_WAIT.as_millis()).as_str())
        .await?;
    l.execute("BEGIN IMMEDIATE").await?;
    Ok(l)
}
