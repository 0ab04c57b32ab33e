//! `[workload] generator = "fleet-month"`: a month of large training jobs sized to a
//! scenario's planned fleet, as scenario `[[job]]`s, so that `xpufleet run` simulates work of
//! the fleet's own size rather than a handful of jobs on a few hundred thousand accelerators.
//!
//! The shapes follow the fleet-month trace generator ([`super::fleet_month`]): arrivals spread
//! over the period, power-of-two gangs with a heavy tail, lognormal work. Jobs are few and large
//! (a thousand to tens of thousands of accelerators) so the simulation stays quick. Each job is
//! built for one accelerator type (its software stack), chosen in proportion to that type's
//! accelerators, and its gang fits in that type's largest pool; its FLOPs are sized so that the
//! jobs together would keep `utilisation_target` of the fleet busy over the period at a
//! nominal speed of peak BF16 × [`NOMINAL_MFU`]. The simulator's own performance model then
//! decides how long they really take, so the report's measured utilisation is the answer.

use xpufleet_model::{Precision, TrainingJob, WorkloadGen};

use super::{normal, stream, unit, GenError};

/// MFU assumed when sizing jobs (the simulator uses its own model to run them).
pub const NOMINAL_MFU: f64 = 0.4;

/// Lognormal sigma of a job's duration at the nominal speed (ln seconds).
const WORK_SIGMA: f64 = 1.0;

/// Gang sizes (accelerators) and their weights: most jobs need thousands of accelerators, some
/// tens of thousands (a frontier pre-training run); each is halved until it fits its type.
const GANGS: [(u32, f64); 7] = [
    (1024, 0.10),
    (2048, 0.15),
    (4096, 0.20),
    (8192, 0.20),
    (16384, 0.15),
    (32768, 0.12),
    (65536, 0.08),
];

/// One accelerator type of the planned fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetType {
    /// Catalog id.
    pub accelerator: String,
    /// Accelerators of this type in the fleet.
    pub accels: u64,
    /// Accelerators in its largest pool: the largest gang it can run without spanning pools.
    pub largest_pool: u64,
    /// Dense BF16 peak per accelerator, TFLOPS.
    pub tflops_bf16: f64,
}

/// The jobs of `cfg` for a fleet of `types`, run for `tenants` in turn (at least one).
pub fn fleet_month_jobs(
    cfg: &WorkloadGen,
    types: &[FleetType],
    tenants: &[String],
) -> Result<Vec<TrainingJob>, GenError> {
    let bad = |field, expected, found: String| GenError::Config {
        field,
        expected,
        found,
    };
    if cfg.generator != WorkloadGen::FLEET_MONTH {
        return Err(bad("generator", "\"fleet-month\"", cfg.generator.clone()));
    }
    if !(cfg.days.is_finite() && cfg.days > 0.0) {
        return Err(bad("days", "a positive number", cfg.days.to_string()));
    }
    if !(cfg.utilisation_target.is_finite() && cfg.utilisation_target > 0.0) {
        return Err(bad(
            "utilisation_target",
            "a positive share",
            cfg.utilisation_target.to_string(),
        ));
    }
    if tenants.is_empty() {
        return Err(bad("tenants", "at least one tenant", "none".into()));
    }
    let types: Vec<&FleetType> = types
        .iter()
        .filter(|t| t.accels > 0 && t.largest_pool > 0 && t.tflops_bf16 > 0.0)
        .collect();
    if types.is_empty() || cfg.jobs == 0 {
        return Ok(vec![]);
    }
    let horizon_s = cfg.days * 86_400.0;
    let fleet_accels: f64 = types.iter().map(|t| t.accels as f64).sum();
    // The expected gang, with each type's gangs halved to fit as below, so that the expected
    // accelerator-seconds of all jobs are `utilisation_target` of the fleet's over the period.
    let gang_total: f64 = GANGS.iter().map(|&(_, w)| w).sum();
    let mean_gang: f64 = types
        .iter()
        .map(|t| {
            let share = t.accels as f64 / fleet_accels;
            let mean_t: f64 = GANGS
                .iter()
                .map(|&(g, w)| w * f64::from(fit(g, t.largest_pool)))
                .sum::<f64>()
                / gang_total;
            share * mean_t
        })
        .sum();
    let mean_duration_s =
        cfg.utilisation_target * fleet_accels * horizon_s / (f64::from(cfg.jobs) * mean_gang);
    // Lognormal durations: mean = median·e^(σ²/2).
    let ln_median = (mean_duration_s / (WORK_SIGMA * WORK_SIGMA / 2.0).exp())
        .max(1.0)
        .ln();

    let type_cum = cumulate(types.iter().map(|t| t.accels as f64));
    let gang_cum = cumulate(GANGS.iter().map(|&(_, w)| w));
    let mut arrivals = stream(cfg.seed, 21);
    let mut kinds = stream(cfg.seed, 22);
    let mut gangs = stream(cfg.seed, 23);
    let mut works = stream(cfg.seed, 24);

    let mut submits: Vec<u64> = (0..cfg.jobs)
        .map(|_| (unit(&mut arrivals) * horizon_s) as u64)
        .collect();
    submits.sort_unstable();
    let width = cfg.jobs.to_string().len();
    let mut jobs = Vec::with_capacity(submits.len());
    for (i, submit_s) in submits.into_iter().enumerate() {
        let t = types[pick(&type_cum, unit(&mut kinds))];
        let gang = fit(GANGS[pick(&gang_cum, unit(&mut gangs))].0, t.largest_pool);
        // Ten minutes at least, the whole period at most.
        let duration_s = (ln_median + WORK_SIGMA * normal(&mut works))
            .exp()
            .clamp(600.0, horizon_s);
        let accel_s = duration_s * f64::from(gang);
        let flops = accel_s * t.tflops_bf16 * 1e12 * NOMINAL_MFU;
        jobs.push(TrainingJob {
            id: format!("gen-{:0width$}", i + 1),
            name: format!("fleet-month job on {} × {}", gang, t.accelerator),
            params: None,
            active_params: None,
            tokens: None,
            flops: Some(flops),
            n_layers: None,
            seq_len: None,
            d_model: None,
            precision: Precision::default(),
            allowed_accels: vec![t.accelerator.clone()],
            min_accels: gang,
            max_accels: gang,
            priority: 0,
            tenant: tenants[i % tenants.len()].clone(),
            data_countries: vec![],
            submit_s,
            deadline_s: None,
            may_span_sites: false,
        });
    }
    Ok(jobs)
}

/// `gang` halved until it fits a pool of `largest_pool` accelerators (at least 1).
fn fit(mut gang: u32, largest_pool: u64) -> u32 {
    while u64::from(gang) > largest_pool && gang > 1 {
        gang /= 2;
    }
    gang
}

fn cumulate(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .into_iter()
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

/// Draws an index from cumulative weights.
fn pick(cumulative: &[f64], r: f64) -> usize {
    let total = cumulative.last().copied().unwrap_or(1.0);
    cumulative
        .iter()
        .position(|&c| r * total < c)
        .unwrap_or(cumulative.len().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> WorkloadGen {
        WorkloadGen {
            generator: "fleet-month".into(),
            seed: 7,
            jobs: 400,
            days: 30.0,
            utilisation_target: 0.6,
            tenants: vec![],
        }
    }

    fn fleet() -> Vec<FleetType> {
        vec![
            FleetType {
                accelerator: "h200-sxm".into(),
                accels: 111_456,
                largest_pool: 111_456,
                tflops_bf16: 989.0,
            },
            FleetType {
                accelerator: "ascend-910b".into(),
                accels: 68_000,
                largest_pool: 60_000,
                tflops_bf16: 320.0,
            },
            FleetType {
                accelerator: "a800-sxm".into(),
                accels: 2_048,
                largest_pool: 2_048,
                tflops_bf16: 312.0,
            },
        ]
    }

    fn tenants() -> Vec<String> {
        vec!["acme-ai".into(), "acme-sg".into()]
    }

    #[test]
    fn same_seed_same_jobs_other_seed_other_jobs() {
        let a = fleet_month_jobs(&cfg(), &fleet(), &tenants()).unwrap();
        let b = fleet_month_jobs(&cfg(), &fleet(), &tenants()).unwrap();
        assert_eq!(a, b);
        let c = fleet_month_jobs(&WorkloadGen { seed: 8, ..cfg() }, &fleet(), &tenants()).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn jobs_fit_their_type_and_arrive_in_order_within_the_period() {
        let jobs = fleet_month_jobs(&cfg(), &fleet(), &tenants()).unwrap();
        assert_eq!(jobs.len(), 400);
        let fleet = fleet();
        for w in jobs.windows(2) {
            assert!(w[0].submit_s <= w[1].submit_s);
        }
        for j in &jobs {
            assert!(j.submit_s < 30 * 86_400);
            assert_eq!(j.allowed_accels.len(), 1);
            let t = fleet
                .iter()
                .find(|t| t.accelerator == j.allowed_accels[0])
                .unwrap();
            assert!(u64::from(j.max_accels) <= t.largest_pool, "{j:?}");
            assert_eq!(j.min_accels, j.max_accels);
            assert!(j.flops.unwrap() > 0.0 && j.flops.unwrap().is_finite());
        }
        // Tenants in turn; the small A800 pool never gets a gang above its size.
        assert_eq!(jobs[0].tenant, "acme-ai");
        assert_eq!(jobs[1].tenant, "acme-sg");
    }

    #[test]
    fn offered_load_is_near_the_target_at_the_nominal_speed() {
        let c = WorkloadGen {
            jobs: 4000,
            ..cfg()
        };
        let fleet = fleet();
        let jobs = fleet_month_jobs(&c, &fleet, &tenants()).unwrap();
        let accel_s: f64 = jobs
            .iter()
            .map(|j| {
                let t = fleet
                    .iter()
                    .find(|t| t.accelerator == j.allowed_accels[0])
                    .unwrap();
                j.flops.unwrap() / (t.tflops_bf16 * 1e12 * NOMINAL_MFU)
            })
            .sum();
        let capacity: f64 = fleet.iter().map(|t| t.accels as f64).sum::<f64>() * 30.0 * 86_400.0;
        let load = accel_s / capacity;
        // The clamps trim the tails a little; the sample mean is within ~15% of the target.
        assert!((0.45..0.75).contains(&load), "offered load {load}");
    }

    #[test]
    fn bad_settings_are_errors_and_an_empty_fleet_gets_no_jobs() {
        let e = fleet_month_jobs(
            &WorkloadGen {
                generator: "philly".into(),
                ..cfg()
            },
            &fleet(),
            &tenants(),
        );
        assert!(matches!(
            e,
            Err(GenError::Config {
                field: "generator",
                ..
            })
        ));
        assert!(fleet_month_jobs(&cfg(), &fleet(), &[]).is_err());
        assert!(fleet_month_jobs(
            &WorkloadGen {
                days: f64::NAN,
                ..cfg()
            },
            &fleet(),
            &tenants()
        )
        .is_err());
        assert_eq!(fleet_month_jobs(&cfg(), &[], &tenants()).unwrap(), vec![]);
    }
}
