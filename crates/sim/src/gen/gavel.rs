//! Gavel's job generator (`scheduler/utils.py`, `generate_job`), for parity runs against
//! Gavel's simulator: Poisson arrivals, a job type drawn uniformly from the throughput table,
//! Philly-like scale factors, and durations turned into steps by the reference GPU's measured
//! throughput.

use std::collections::BTreeSet;

use xpufleet_model::{ClusterSpec, SimTime, ThroughputTable, TraceJob};

use super::{exponential, stream, unit, GenError, Workload};

/// Settings of Gavel's generator. Defaults are those of Gavel's parity experiments: 2 jobs per
/// hour, multi-GPU jobs, V100 as the reference type, 36 V100 + 36 P100 + 36 K80.
#[derive(Debug, Clone, PartialEq)]
pub struct GavelGen {
    pub n_jobs: usize,
    /// Mean arrival rate of the Poisson process.
    pub jobs_per_hour: f64,
    /// Draw scale factors from Gavel's distribution; otherwise every job uses one GPU.
    pub multi_gpu: bool,
    /// GPU type whose measured throughput turns a duration into steps.
    pub reference: String,
    /// The cluster, as (GPU type, count); Gavel's workers are single-GPU servers, so nodes of
    /// one GPU each, one site.
    pub cluster: Vec<(String, u32)>,
    pub seed: u64,
}

impl Default for GavelGen {
    fn default() -> Self {
        GavelGen {
            n_jobs: 2000,
            jobs_per_hour: 2.0,
            multi_gpu: true,
            reference: "v100".into(),
            cluster: vec![("v100".into(), 36), ("p100".into(), 36), ("k80".into(), 36)],
            seed: 0,
        }
    }
}

/// Gavel's scale-factor draw: 1 GPU below 0.7, 2 GPUs in [0.7, 0.8], 4 in (0.8, 0.95],
/// 8 above 0.95.
pub fn gavel_scale_factor(r: f64) -> u32 {
    if (0.7..=0.8).contains(&r) {
        2
    } else if r > 0.8 && r <= 0.95 {
        4
    } else if r > 0.95 {
        8
    } else {
        1
    }
}

/// Gavel's duration draw, in seconds: with probability 0.2 (`r_long >= 0.8`) 10^U(3,4)
/// minutes, otherwise 10^U(1.5,3) minutes; `u` is the uniform exponent draw in [0, 1).
pub fn gavel_duration_s(r_long: f64, u: f64) -> f64 {
    let (lo, hi) = if r_long >= 0.8 {
        (3.0, 4.0)
    } else {
        (1.5, 3.0)
    };
    60.0 * 10f64.powf(lo + (hi - lo) * u)
}

/// Generates Gavel-style jobs. `work` is in steps (`kind` is the Gavel job type), and the
/// first job arrives at time 0, the rest after exponential gaps.
pub fn gavel(table: &ThroughputTable, cfg: &GavelGen) -> Result<Workload, GenError> {
    if !(cfg.jobs_per_hour.is_finite() && cfg.jobs_per_hour > 0.0) {
        return Err(GenError::Config {
            field: "jobs_per_hour",
            expected: "a positive number",
            found: cfg.jobs_per_hour.to_string(),
        });
    }
    // Job types as Gavel's JobTable has them: every type profiled on the reference GPU alone;
    // "distributed" types are those also profiled there at more than one GPU.
    let kinds: Vec<&str> = table
        .kinds()
        .filter(|k| table.get(k, &cfg.reference, 1).is_some_and(|r| r > 0.0))
        .collect();
    if kinds.is_empty() {
        return Err(GenError::Throughputs(format!(
            "no job type has a 1-GPU throughput on the reference type {:?}",
            cfg.reference
        )));
    }
    let distributed: BTreeSet<&str> = kinds
        .iter()
        .copied()
        .filter(|k| {
            [2, 4, 8]
                .iter()
                .all(|&g| table.get(k, &cfg.reference, g).is_some_and(|r| r > 0.0))
        })
        .collect();
    if cfg.multi_gpu && distributed.is_empty() {
        return Err(GenError::Throughputs(format!(
            "no job type is profiled at 2, 4 and 8 GPUs on {:?}",
            cfg.reference
        )));
    }

    let mut arrivals = stream(cfg.seed, 1);
    let mut kinds_rng = stream(cfg.seed, 2);
    let mut scale_rng = stream(cfg.seed, 3);
    let mut duration_rng = stream(cfg.seed, 4);
    let rate_per_s = cfg.jobs_per_hour / 3600.0;

    let mut jobs = Vec::with_capacity(cfg.n_jobs);
    let mut t_s = 0.0f64;
    for id in 0..cfg.n_jobs {
        if id > 0 {
            t_s += exponential(&mut arrivals, rate_per_s);
        }
        let scale = if cfg.multi_gpu {
            gavel_scale_factor(unit(&mut scale_rng))
        } else {
            1
        };
        // Gavel redraws the type until it can run at the drawn scale factor.
        let kind = loop {
            let k = kinds[(unit(&mut kinds_rng) * kinds.len() as f64) as usize % kinds.len()];
            if scale == 1 || distributed.contains(k) {
                break k;
            }
        };
        let r_long = unit(&mut duration_rng);
        let duration_s = gavel_duration_s(r_long, unit(&mut duration_rng));
        // Present by construction of `kinds` and `distributed`.
        let rate = table.get(kind, &cfg.reference, scale).unwrap_or(0.0);
        jobs.push(TraceJob {
            id: id as u64,
            label: format!("gavel-{id}"),
            submit: SimTime(t_s.round() as u64),
            accels: scale,
            work: duration_s * rate,
            ref_type: None,
            kind: Some(kind.to_string()),
            allowed: Vec::new(),
            tenant: None,
            priority: 0,
            deadline: None,
        });
    }
    let mut cluster = ClusterSpec::default();
    for (gpu, n) in &cfg.cluster {
        cluster.add("site-0", gpu, *n, 1, 1);
    }
    Ok(Workload { jobs, cluster })
}
