//! Plan approvals in the database: append-only, each one part of an audited `Change`.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use crate::db::{Change, DbError, Store};

/// One approval of a plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    pub run_id: String,
    /// The token's name.
    pub approved_by: String,
    pub role: String,
    /// UTC, RFC 3339.
    pub at: String,
    pub note: String,
}

impl Store {
    /// The approvals of a run, oldest first.
    pub async fn approvals(&self, run_id: &str) -> Result<Vec<Approval>, DbError> {
        let rows = sqlx::query(
            "SELECT run_id, approved_by, role, at, note FROM approvals WHERE run_id = $1 ORDER BY at, approved_by",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Approval {
                run_id: r.get(0),
                approved_by: r.get(1),
                role: r.get(2),
                at: r.get(3),
                note: r.get(4),
            })
            .collect())
    }
}

impl Change {
    /// Approves a stored plan; `Conflict` when this holder approved it before.
    pub async fn approve(&mut self, a: &Approval) -> Result<(), DbError> {
        let dup = sqlx::query("SELECT 1 FROM approvals WHERE run_id = $1 AND approved_by = $2")
            .bind(&a.run_id)
            .bind(&a.approved_by)
            .fetch_optional(self.conn())
            .await?;
        if dup.is_some() {
            return Err(DbError::Conflict { latest: 0 });
        }
        sqlx::query(
            "INSERT INTO approvals (run_id, approved_by, role, at, note) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&a.run_id)
        .bind(&a.approved_by)
        .bind(&a.role)
        .bind(&a.at)
        .bind(&a.note)
        .execute(self.conn())
        .await?;
        let json = serde_json::to_string(a).map_err(|e| DbError::Corrupt(e.to_string()))?;
        self.changed(None, None, "", &crate::db::digest(&json));
        Ok(())
    }
}
