//! The fleet model: accelerators, entities, sites, pools, money, dates, training jobs and the
//! scenario that ties them together.
//!
//! **Architecture invariant:** this crate does no I/O. Types derive `serde` so the `io` crate can
//! read and write them, but nothing here touches a file, the network or the wall clock.

pub mod accel;
pub mod cluster;
pub mod date;
pub mod entity;
pub mod figure;
pub mod job;
pub mod money;
pub mod pool;
pub mod risk;
pub mod scenario;
pub mod site;
pub mod throughput;
pub mod time;

pub use accel::{Accelerator, Catalog, Precision};
pub use cluster::{ClusterSpec, NodeGroup};
pub use date::Date;
pub use entity::{Entities, Entity, EntityError};
pub use figure::{Confidence, Figure};
pub use job::{TraceJob, TrainingJob, Work, WorkloadGen};
pub use money::{Currency, FxRates, Money, MoneyError};
pub use pool::{Acquisition, Pool, Transfer, TransferKind};
pub use risk::{Dist, Risk, RiskKind};
pub use scenario::{
    Candidate, CandidateMode, Envelope, EnvelopeScope, Licence, MixBasis, PlanSettings, Review,
    ReviewDecision, Scenario, SupplierMix, SupplyCap,
};
pub use site::{Role, Site, Tenure, Verification};
pub use throughput::ThroughputTable;
pub use time::SimTime;

/// An ISO 3166-1 alpha-2 country code, upper case ("CN", "MY", "US").
pub type CountryCode = String;
