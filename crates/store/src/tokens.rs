//! API tokens in the database: listing without secrets, creation and revocation as parts of
//! a `Change` (each audited with the token's digest, never its secret).

use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use crate::db::{Change, DbError, Store};

/// A token as listed: no secret, no digest.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenInfo {
    pub name: String,
    pub role: String,
    /// When it was created through the API (empty for tokens made before that was recorded).
    pub created_at: String,
    pub revoked: bool,
}

impl Store {
    /// Every token, by name, without secrets.
    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>, DbError> {
        let rows = sqlx::query(
            "SELECT name, role, created_at, revoked FROM tokens ORDER BY name, created_at",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| TokenInfo {
                name: r.get(0),
                role: r.get(1),
                created_at: r.get(2),
                revoked: r.get::<i64, _>(3) != 0,
            })
            .collect())
    }
}

/// A token's name and role checked once for every front end (the API and `xpufleet token
/// create`): the role is one of [`crate::token::ROLES`], the name 1 to 200 characters after
/// trimming, none of them a control character. Returns the trimmed name, or the field at fault
/// and what was expected.
pub fn check_new_token<'a>(name: &'a str, role: &str) -> Result<&'a str, (&'static str, String)> {
    if !crate::token::ROLES.contains(&role) {
        return Err((
            "role",
            format!(
                "expected one of {}, found {role:?}",
                crate::token::ROLES.join(", ")
            ),
        ));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err((
            "name",
            "expected 1 to 200 characters, no control characters".into(),
        ));
    }
    Ok(name)
}

/// The digest that audit entries give a token's row: its name, role and state, never its
/// secret or the secret's digest.
pub fn token_digest(name: &str, role: &str, revoked: bool) -> String {
    let state = if revoked { "revoked" } else { "active" };
    crate::db::digest(&format!("token\n{name}\n{role}\n{state}"))
}

impl Change {
    /// A new token; `Conflict` when an unrevoked token has the name.
    pub async fn create_token(
        &mut self,
        hash: &str,
        name: &str,
        role: &str,
        at: &str,
    ) -> Result<(), DbError> {
        let taken = sqlx::query("SELECT 1 FROM tokens WHERE name = $1 AND revoked = 0")
            .bind(name)
            .fetch_optional(self.conn())
            .await?;
        if taken.is_some() {
            return Err(DbError::Conflict { latest: 0 });
        }
        self.insert_token(hash, name, role, at).await
    }

    /// A new token, whatever other tokens are named.
    pub(crate) async fn insert_token(
        &mut self,
        hash: &str,
        name: &str,
        role: &str,
        at: &str,
    ) -> Result<(), DbError> {
        sqlx::query("INSERT INTO tokens (hash, name, role, created_at) VALUES ($1, $2, $3, $4)")
            .bind(hash)
            .bind(name)
            .bind(role)
            .bind(at)
            .execute(self.conn())
            .await?;
        self.changed(
            Some(format!("/api/v1/tokens/{name}")),
            None,
            "",
            &token_digest(name, role, false),
        );
        Ok(())
    }

    /// Revokes every unrevoked token named `name`; `NotFound` when there is none.
    pub async fn revoke_tokens(&mut self, name: &str) -> Result<u64, DbError> {
        let row = sqlx::query("SELECT role FROM tokens WHERE name = $1 AND revoked = 0")
            .bind(name)
            .fetch_optional(self.conn())
            .await?
            .ok_or(DbError::NotFound)?;
        let role: String = row.try_get(0)?;
        let res = sqlx::query("UPDATE tokens SET revoked = 1 WHERE name = $1 AND revoked = 0")
            .bind(name)
            .execute(self.conn())
            .await?;
        self.changed(
            None,
            None,
            &token_digest(name, &role, false),
            &token_digest(name, &role, true),
        );
        Ok(res.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::check_new_token;

    #[test]
    fn a_token_request_is_checked_the_same_for_every_front_end() {
        assert_eq!(check_new_token("  ci-bot ", "planner"), Ok("ci-bot"));
        assert_eq!(check_new_token("ci", "root").unwrap_err().0, "role");
        for bad in ["", "   ", "a\nb", "a\tb", &"x".repeat(201)] {
            assert_eq!(
                check_new_token(bad, "viewer").unwrap_err().0,
                "name",
                "{bad:?}"
            );
        }
        assert!(check_new_token(&"é".repeat(200), "admin").is_ok());
    }
}
