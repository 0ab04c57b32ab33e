//! How fast a job runs on each accelerator type: the rate model the simulator advances jobs by
//! and the heterogeneity-aware policies rank types by.

use std::collections::BTreeMap;

use xpufleet_model::{Accelerator, Catalog, Precision, ThroughputTable, TraceJob, Work};
use xpufleet_perf::{PerfModel, Placement};

/// Work per second of a job's whole gang on one accelerator type; `0.0` means it never runs
/// there. Units are the job's `work` units (steps, reference-seconds or FLOPs).
pub trait RateModel {
    fn rate(&self, job: &TraceJob, accel: &str) -> f64;
}

/// (a) Measured throughputs (Gavel): job kind × type × gang size → steps/s. A kind or gang the
/// table lacks on a type reads as zero there.
#[derive(Debug, Clone, Copy)]
pub struct TableRates<'a>(pub &'a ThroughputTable);

impl RateModel for TableRates<'_> {
    fn rate(&self, job: &TraceJob, accel: &str) -> f64 {
        match &job.kind {
            Some(k) => self.0.rate_or_zero(k, accel, job.accels),
            None => 0.0,
        }
    }
}

/// (b) Duration-only traces: `work` is seconds on the job's reference type; on another type the
/// job runs `speed[type] / speed[ref]` times as fast.
#[derive(Debug, Clone, Default)]
pub struct RelativeSpeed {
    /// Relative speed per type (any unit; only ratios matter).
    pub speed: BTreeMap<String, f64>,
    /// The type a job without `ref_type` was measured on.
    pub default_ref: String,
}

/// A type a rate model cannot value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RateError {
    #[error("accelerator type {0:?} is not in the catalog; add it with --catalog, or give measured throughputs")]
    UnknownType(String),
    #[error("{0}")]
    Perf(#[from] xpufleet_perf::PerfError),
}

impl RelativeSpeed {
    /// Every type equally fast (a single-type cluster, or a trace with no speed data).
    pub fn uniform(types: &[String]) -> RelativeSpeed {
        RelativeSpeed {
            speed: types.iter().map(|t| (t.clone(), 1.0)).collect(),
            default_ref: types.first().cloned().unwrap_or_default(),
        }
    }

    /// Speeds from the performance model: sustained BF16 FLOP/s of one 8-chip node of each type.
    /// The first type is the default reference.
    pub fn from_perf(
        perf: &PerfModel,
        catalog: &Catalog,
        types: &[String],
    ) -> Result<RelativeSpeed, RateError> {
        let mut speed = BTreeMap::new();
        for t in types {
            let a = catalog
                .get(t)
                .ok_or_else(|| RateError::UnknownType(t.clone()))?;
            speed.insert(
                t.clone(),
                perf.sustained_flops(a, Precision::Bf16, 8, 8)? / 8.0,
            );
        }
        Ok(RelativeSpeed {
            speed,
            default_ref: types.first().cloned().unwrap_or_default(),
        })
    }
}

impl RateModel for RelativeSpeed {
    fn rate(&self, job: &TraceJob, accel: &str) -> f64 {
        let r = job.ref_type.as_deref().unwrap_or(&self.default_ref);
        match (self.speed.get(accel), self.speed.get(r)) {
            (Some(&s), Some(&base)) if base > 0.0 => s / base,
            // A reference type outside the fleet: the job's own seconds on this type.
            (Some(&s), None) if s > 0.0 => 1.0,
            _ => 0.0,
        }
    }
}

/// (c) Scenario jobs: `work` is FLOPs; rate is the performance model's FLOP/s of the gang on the
/// type, packed into its scale-up domains.
#[derive(Debug, Clone)]
pub struct FlopsRates<'a> {
    pub perf: &'a PerfModel,
    /// Accelerator and scale-up domain per type id.
    pub types: BTreeMap<String, (&'a Accelerator, u32)>,
    /// Work shape and precision per job label (dense/MoE matters for MFU).
    pub shapes: BTreeMap<String, (Work, Precision)>,
}

impl RateModel for FlopsRates<'_> {
    fn rate(&self, job: &TraceJob, accel: &str) -> f64 {
        let (Some(&(a, sd)), Some((work, prec))) =
            (self.types.get(accel), self.shapes.get(&job.label))
        else {
            return 0.0;
        };
        let n = u64::from(job.accels);
        self.perf
            .rate(work, a, *prec, n, &Placement::compact(n, sd))
            .unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xpufleet_model::SimTime;

    fn job(kind: Option<&str>, accels: u32, ref_type: Option<&str>) -> TraceJob {
        TraceJob {
            id: 0,
            label: "j".into(),
            submit: SimTime(0),
            accels,
            work: 100.0,
            ref_type: ref_type.map(Into::into),
            kind: kind.map(Into::into),
            allowed: vec![],
            tenant: None,
            priority: 0,
            deadline: None,
        }
    }

    #[test]
    fn table_rates_read_the_gang_size_and_zero_when_missing() {
        let mut t = ThroughputTable::default();
        t.insert("resnet", "v100", 2, 20.0);
        t.insert("resnet", "k80", 2, 0.0);
        let r = TableRates(&t);
        assert_eq!(r.rate(&job(Some("resnet"), 2, None), "v100"), 20.0);
        assert_eq!(r.rate(&job(Some("resnet"), 2, None), "k80"), 0.0);
        assert_eq!(r.rate(&job(Some("resnet"), 4, None), "v100"), 0.0);
        assert_eq!(r.rate(&job(None, 2, None), "v100"), 0.0);
    }

    #[test]
    fn relative_speed_is_a_ratio_to_the_reference() {
        let mut rs = RelativeSpeed::uniform(&["a".into(), "b".into()]);
        rs.speed.insert("b".into(), 3.0);
        assert_eq!(rs.rate(&job(None, 1, None), "b"), 3.0);
        assert_eq!(rs.rate(&job(None, 1, Some("b")), "a"), 1.0 / 3.0);
        assert_eq!(rs.rate(&job(None, 1, None), "zzz"), 0.0);
    }
}
