//! The fleet model: accelerators, entities, sites, pools, money, dates, training jobs and the
//! scenario that ties them together.
//!
//! **Architecture invariant:** this crate does no I/O. Types derive `serde` so the `io` crate can
//! read and write them, but nothing here touches a file, the network or the wall clock.

pub mod accel;
pub mod cancel;
pub mod cluster;
pub mod date;
pub mod entity;
pub mod figure;
pub mod id;
pub mod job;
pub mod money;
pub mod period;
pub mod pool;
pub mod risk;
pub mod scenario;
pub mod service;
pub mod site;
pub mod throughput;
pub mod time;

pub use accel::{
    Accelerator, AcceleratorEntry, Catalog, CatalogFile, Incomplete, Precision, ENTRY_FIELDS,
};
pub use cluster::{ClusterSpec, NodeGroup};
pub use date::Date;
pub use entity::{Entities, Entity, EntityError};
pub use figure::{Confidence, Figure};
pub use id::{id_problem, is_id, ID_RULE};
pub use job::{TraceJob, TrainingJob, Work, WorkloadGen};
pub use money::{Currency, FxRates, Money, MoneyError};
pub use period::{Period, PeriodDemand};
pub use pool::{Acquisition, Pool, Purpose, Transfer, TransferKind};
pub use risk::{Dist, Risk, RiskKind};
pub use scenario::{
    Candidate, CandidateMode, Envelope, EnvelopeScope, Licence, MixBasis, PlanSettings, Review,
    ReviewDecision, Scenario, SupplierMix, SupplyCap, VerificationPolicy,
};
pub use service::{RequestBucket, Service};
pub use site::{Role, Site, Tenure, Verification};
pub use throughput::ThroughputTable;
pub use time::SimTime;

/// An ISO 3166-1 alpha-2 country code, upper case ("CN", "MY", "US").
pub type CountryCode = String;

/// `T` read from a table (a map) only. serde's derived structs also take an array of their
/// fields in order, so `scope = []` would pass as an empty scope and `budget = [1e6, "USD"]`
/// as money: a typing slip that must be refused, not read as something the user never wrote.
/// Used as `#[serde(deserialize_with = "crate::table_only")]` on struct-valued fields.
pub fn table_only<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    struct TableOnly<T>(std::marker::PhantomData<T>);
    impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for TableOnly<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a table of named fields")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(TableOnly(std::marker::PhantomData))
}

/// `table_only` for an optional field (used with `#[serde(default)]`).
pub fn table_only_opt<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    table_only(d).map(Some)
}
