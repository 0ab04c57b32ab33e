//! Data centres and the owner/operator verification records kept for them.

use serde::{Deserialize, Serialize};

use crate::{CountryCode, Date, Money};

/// Whether the company owns the site or leases capacity in it from a third party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tenure {
    Owned,
    Leased,
}

/// The part an entity plays in a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Owns the chips.
    Owner,
    /// Operates the data centre.
    Operator,
}

/// One owner or operator verification: who was checked, by whom, when, on what evidence, and
/// until when it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    pub role: Role,
    /// The entity verified.
    pub entity: String,
    /// Who did the verification (a person, team or firm).
    pub verified_by: String,
    pub date: Date,
    /// Evidence reference (document id, audit report, ...).
    pub evidence: String,
    pub valid_until: Date,
    /// Headquarters country recorded at verification, if checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hq_country: Option<CountryCode>,
    /// Ultimate parent recorded at verification, if checked (an entity id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ultimate_parent: Option<String>,
}

impl Verification {
    /// In force on `date` (from `date` to `valid_until`, both inclusive).
    pub fn valid_on(&self, date: Date) -> bool {
        self.date <= date && date <= self.valid_until
    }
}

/// A data centre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// ISO 3166 alpha-2.
    pub country: CountryCode,
    /// Free-text region ("Inner Mongolia", "Johor").
    #[serde(default)]
    pub region: String,
    pub tenure: Tenure,
    /// Entity that owns the facility.
    pub owner: String,
    /// Entity that operates it.
    pub operator: String,
    /// Facility power available to IT load plus cooling, MW.
    pub power_mw: f64,
    /// Power usage effectiveness (≥ 1).
    pub pue: f64,
    /// Electricity price per kWh, in the site's currency.
    #[serde(deserialize_with = "crate::table_only")]
    pub electricity_per_kwh: Money,
    /// Owner and operator verifications on file.
    #[serde(default, rename = "verification")]
    pub verifications: Vec<Verification>,
}
