//! The stored answers of `Idempotency-Key` requests, per token and key. The answer to a change
//! is stored inside the change's own transaction (`Change::keep_answer`); the answer to a
//! computation after it (`Store::store_idempotent_answer`).

use sqlx::Row;

use crate::db::{DbError, Store};

/// A stored answer.
#[derive(Debug, Clone)]
pub struct Stored {
    pub request_sha256: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Store {
    pub async fn idempotent_answer(
        &self,
        token_name: &str,
        key: &str,
    ) -> Result<Option<Stored>, DbError> {
        let row = sqlx::query(
            "SELECT request_sha256, status, headers, body FROM idempotency WHERE token_name = $1 AND key = $2",
        )
        .bind(token_name)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Stored {
            request_sha256: r.get(0),
            status: r.get::<i64, _>(1) as u16,
            headers: serde_json::from_str(&r.get::<String, _>(2)).unwrap_or_default(),
            body: r.get(3),
        }))
    }

    pub async fn store_idempotent_answer(
        &self,
        token_name: &str,
        key: &str,
        s: &Stored,
    ) -> Result<(), DbError> {
        let headers = serde_json::to_string(&s.headers).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO idempotency (token_name, key, request_sha256, status, headers, body) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (token_name, key) DO NOTHING",
        )
        .bind(token_name)
        .bind(key)
        .bind(&s.request_sha256)
        .bind(i64::from(s.status))
        .bind(headers)
        .bind(&s.body)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
