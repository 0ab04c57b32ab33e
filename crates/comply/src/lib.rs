//! Export-control classification and rule evaluation.
//!
//! **Architecture invariant:** `comply` knows nothing of files or HTTP. Rule packs arrive parsed
//! (the `io` crate reads them); verdicts leave as data. A verdict that forbids something is a
//! successful answer, never an `Err`.

pub mod verdict;

pub use verdict::{AllowAll, Gate, Outcome, UseKind, UseRequest, Verdict};
