//! Why a job is waiting: every job a policy leaves in the queue carries one of these.

use serde::{Deserialize, Serialize};
use xpufleet_model::SimTime;

use crate::fleet::FleetState;
use crate::queue::JobId;

/// A named reason for not placing a job now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Reason {
    /// None of the job's allowed types is in the fleet, or it runs at zero speed on all of them.
    NoAllowedType,
    /// The gang is larger than all the capacity of any allowed type it may use together.
    TooLarge { accels: u32, largest: u64 },
    /// Every pool of an allowed type is denied to the tenant; the first denial is named.
    Prohibited {
        pool: String,
        site: String,
        rule: Option<String>,
        summary: String,
    },
    /// Every pool of an allowed type lacks a valid owner/operator verification.
    Unverified { pool: String, summary: String },
    /// Not enough free accelerators of any allowed type.
    NoCapacity { accels: u32, free: u64 },
    /// Enough free accelerators in total, but not in one placeable group (fragmented).
    Fragmented { accels: u32, free: u64 },
    /// Would delay the reservation held for the head job.
    BlockedByReservation { head: JobId, until: SimTime },
    /// Strict arrival order: the head job does not fit, so nothing behind it starts.
    BehindHead { head: JobId },
    /// A round-based policy gave this round to jobs with less attained service.
    NotSelected,
    /// Waiting because it would finish sooner on a busy faster type than on a free one.
    WaitingForFasterType { accel: String, at: SimTime },
}

impl Reason {
    /// The reason's kebab-case name, for counting.
    pub fn name(&self) -> &'static str {
        match self {
            Reason::NoAllowedType => "no-allowed-type",
            Reason::TooLarge { .. } => "too-large",
            Reason::Prohibited { .. } => "prohibited",
            Reason::Unverified { .. } => "unverified",
            Reason::NoCapacity { .. } => "no-capacity",
            Reason::Fragmented { .. } => "fragmented",
            Reason::BlockedByReservation { .. } => "blocked-by-reservation",
            Reason::BehindHead { .. } => "behind-head",
            Reason::NotSelected => "not-selected",
            Reason::WaitingForFasterType { .. } => "waiting-for-faster-type",
        }
    }

    /// Will the job never run on this fleet, whatever else happens?
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            Reason::NoAllowedType
                | Reason::TooLarge { .. }
                | Reason::Prohibited { .. }
                | Reason::Unverified { .. }
        )
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::NoAllowedType => write!(f, "no capacity of an allowed type"),
            Reason::TooLarge { accels, largest } => write!(
                f,
                "needs {accels} accelerators at once; the largest allowed group has {largest}"
            ),
            Reason::Prohibited {
                pool,
                site,
                rule,
                summary,
            } => match rule {
                Some(r) => write!(
                    f,
                    "prohibited at site {site} (pool {pool}) by rule {r}: {summary}"
                ),
                None => write!(f, "prohibited at site {site} (pool {pool}): {summary}"),
            },
            Reason::Unverified { pool, summary } => write!(f, "unverified pool {pool}: {summary}"),
            Reason::NoCapacity { accels, free } => write!(
                f,
                "no capacity: needs {accels}, {free} free of its allowed types"
            ),
            Reason::Fragmented { accels, free } => write!(
                f,
                "fragmented: {free} free of its allowed types but no placement for {accels}"
            ),
            Reason::BlockedByReservation { head, until } => {
                write!(f, "blocked by the reservation for job {head} until {until}")
            }
            Reason::BehindHead { head } => write!(f, "queued behind job {head}"),
            Reason::NotSelected => write!(f, "not selected this round (more attained service)"),
            Reason::WaitingForFasterType { accel, at } => {
                write!(f, "waiting for {accel}, expected free at {at}")
            }
        }
    }
}

pub(crate) fn denial_reason(fleet: &FleetState, d: &crate::access::Denial) -> Reason {
    let p = &fleet.pools[d.pool as usize].spec;
    if !d.verified {
        Reason::Unverified {
            pool: p.id.clone(),
            summary: d.summary.clone(),
        }
    } else {
        Reason::Prohibited {
            pool: p.id.clone(),
            site: fleet.sites[p.site as usize].clone(),
            rule: d.rule.clone(),
            summary: d.summary.clone(),
        }
    }
}
