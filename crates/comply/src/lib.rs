//! Export-control classification and rule evaluation.
//!
//! **Architecture invariant:** `comply` knows nothing of files or HTTP. Rule packs arrive parsed
//! (the `io` crate reads them); verdicts leave as data. A verdict that forbids something is a
//! successful answer, never an `Err`. Nothing here reads the wall clock: every answer is "as of"
//! a date the caller gives.
//!
//! Words (see `docs/compliance.md` for more):
//! - **TPP**, total processing performance: dense TOPS x bit length, the highest over precisions.
//! - **PD**, performance density: TPP per mm² of applicable die area.
//! - **ECCN**, export control classification number: 3A090 (2022-10 rule), 3A090.a / .b
//!   (2023-10 rule), 3A090.c (HBM, 2024-12).
//! - **D:1, D:4, D:5, Macau**: EAR country groups, defined as data in the rule packs.
//! - **HQ rule**: a licence is needed wherever the chips go when the recipient (or its ultimate
//!   parent) is headquartered in D:5 or Macau.
//! - **Licence exception** (NAC, LPP): allowed without a licence within conditions and limits.
//! - **VEU**: validated end user, an authorisation for a named data centre or company.
//!
//! Code map: `classify` (TPP, PD, ECCN on a date), `rules` (pack types, country groups,
//! `RuleSet`), `engine` (`RuleEngine`: the `Gate` for pools and candidates, and `check`),
//! `screening` (parties against a Consolidated-Screening-List file), `verdict` (the shared
//! `Gate` contract).

pub mod classify;
pub mod engine;
pub mod rules;
pub mod screening;
pub mod timeline;
pub mod verdict;

pub use classify::{classify, tpp, Classification, Eccn, Status, Tpp, Tri};
pub use engine::{
    chip_rules, job_flops, licence_drawdown, pool_value, CheckReport, CheckedUse, Evaluation,
    Finding, LicenceUse, LimitUse, RuleEngine, Unverified, UseVerdict, VerificationStatus,
    LICENCE_ALERT_SHARE,
};
pub use rules::{
    BoundRule, Citation, Conditions, CountryGroup, DatedMember, Limit, LimitScope, PackInfo,
    PackProblem, Party, Reaches, Rule, RuleOutcome, RulePack, RuleScope, RuleSet,
};
pub use screening::{Screening, ScreeningEntry, ScreeningHit, ScreeningList, ScreeningReport};
pub use timeline::{rule_changes, verdict_changes, VerdictChange};
pub use verdict::{AllowAll, Gate, Outcome, UseKind, UseRequest, Verdict};
pub use xpufleet_model::Purpose;
