//! The three planning objectives and their names on the command line and in scenario files.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What the plan optimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// Maximise effective PFLOPS (peak BF16 × expected MFU) within every constraint.
    MaxCompute,
    /// Minimise USD spend while reaching `target_pflops` effective PFLOPS.
    MinCost,
    /// Maximise effective PFLOPS per USD (and, among plans at that ratio, the most compute).
    ComputePerDollar,
}

impl Objective {
    pub const NAMES: [&'static str; 3] = ["max-compute", "min-cost", "compute-per-dollar"];

    pub fn as_str(self) -> &'static str {
        match self {
            Objective::MaxCompute => "max-compute",
            Objective::MinCost => "min-cost",
            Objective::ComputePerDollar => "compute-per-dollar",
        }
    }

    /// The unit of the objective's value.
    pub fn unit(self) -> &'static str {
        match self {
            Objective::MaxCompute => "effective PFLOPS",
            Objective::MinCost => "USD",
            Objective::ComputePerDollar => "effective PFLOPS per million USD",
        }
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Objective {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "max-compute" => Ok(Objective::MaxCompute),
            "min-cost" => Ok(Objective::MinCost),
            "compute-per-dollar" => Ok(Objective::ComputePerDollar),
            other => Err(format!(
                "expected one of {}; found {other:?}",
                Objective::NAMES.join(", ")
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in Objective::NAMES {
            assert_eq!(n.parse::<Objective>().unwrap().as_str(), n);
        }
        assert!("max".parse::<Objective>().unwrap_err().contains("min-cost"));
    }
}
