//! `xpufleet-store`: the durable application service behind `xpufleet serve` and the CLI's
//! `token` and `audit` commands. One `Store` over SQLite or PostgreSQL (sqlx), its migrations,
//! the hash-chained audit trail, and the fleet's records, scenarios, runs, approvals, tokens,
//! sessions, idempotent answers, shared rate buckets and screening lists.
//!
//! Each change is one `db::Change`: the use case validates and writes inside it, and its
//! audit entry (and the idempotent answer, when there is one) commits in the same transaction,
//! or nothing does. Each use case that changes something is one typed function of
//! `usecases`, called alike by the API, the web UI and the CLI's `token create`; migrations are sqlx's, run under our lock
//! (`migrate`). Nothing here knows HTTP; `xpufleet-server` translates requests into
//! these calls and their errors into status codes.

pub mod approvals;
pub mod audit;
pub mod db;
pub mod idempotency;
pub mod limits;
pub mod migrate;
pub mod sessions;
pub mod token;
pub mod tokens;
pub mod usecases;

pub use db::{Change, DatabaseUrl, DbError, Store};
