//! The web UI's sessions and failed sign-ins, in the database so that every server on one
//! database knows them. A session is stored by the SHA-256 of its id; its CSRF token is
//! derived from the id, so no session secret ever reaches the database. Signing in and out
//! are use cases (`usecases::sign_in`, `usecases::end_session`): each session is created and
//! ended with its audit entry in one transaction.

use std::time::Duration;

use crate::db::Store;
use crate::token;

/// A session ends this long after it was last used.
pub const SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);
/// A session's last use is written back at most this often (not on every page).
const SESSION_TOUCH_S: i64 = 60;

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Session {
    /// The SHA-256 of the token signed in with: a revoked token ends its sessions.
    pub token_hash: String,
    pub name: String,
    pub role: String,
    pub csrf: String,
}

/// Seconds since 1970, for session ages and sign-in throttling.
pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The CSRF token of the session with id `id`: derived, so that every server computes the
/// same one and none is stored. SHA-256 does not give back the id from it.
pub fn csrf_of(id: &str) -> String {
    token::hash(&format!("xpufleet csrf\n{id}"))
}

impl Store {
    /// The live session with id `id`, its last use brought up to date.
    pub async fn session(&self, id: &str) -> Result<Option<Session>, crate::DbError> {
        use sqlx::Row;
        let now = now_s();
        let key = token::hash(id);
        let row = sqlx::query(
            "SELECT token_hash, name, role, last_used FROM sessions WHERE id_sha256 = $1",
        )
        .bind(&key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let last: i64 = row.try_get(3)?;
        if now - last >= SESSION_IDLE.as_secs() as i64 {
            self.expire_session(id).await?;
            return Ok(None);
        }
        if now - last >= SESSION_TOUCH_S {
            sqlx::query("UPDATE sessions SET last_used = $1 WHERE id_sha256 = $2")
                .bind(now)
                .bind(&key)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(Session {
            token_hash: row.try_get(0)?,
            name: row.try_get(1)?,
            role: row.try_get(2)?,
            csrf: csrf_of(id),
        }))
    }

    /// Deletes a session that expired (it ended when it expired, so no entry is appended);
    /// sessions are made and ended otherwise by `usecases::sign_in` and
    /// `usecases::end_session`, each with its audit entry.
    async fn expire_session(&self, id: &str) -> Result<(), crate::DbError> {
        sqlx::query("DELETE FROM sessions WHERE id_sha256 = $1")
            .bind(token::hash(id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Counts a failed sign-in; the failures of the last minute, this one included.
    pub async fn login_failed(&self) -> Result<i64, crate::DbError> {
        let now = now_s();
        sqlx::query("DELETE FROM login_failures WHERE at < $1")
            .bind(now - 60)
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO login_failures (at) VALUES ($1)")
            .bind(now)
            .execute(&self.pool)
            .await?;
        self.login_failures().await
    }

    /// The failed sign-ins of the last minute.
    pub async fn login_failures(&self) -> Result<i64, crate::DbError> {
        use sqlx::Row;
        let row = sqlx::query("SELECT COUNT(*) FROM login_failures WHERE at >= $1")
            .bind(now_s() - 60)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }
}
