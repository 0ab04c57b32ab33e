//! A synthetic month of a large mixed fleet: Nvidia (H20, H100), Ascend (910B, 910C) and
//! Cambricon (MLU370) pools at several sites, and about a million jobs whose gang sizes are
//! heavy-tailed and whose software stack ties each to one vendor's accelerators.
//!
//! This is a workload for testing the scheduler and simulator at scale, not a model of any
//! real operator: the shapes (diurnal arrivals, power-of-two gangs with a heavy tail, lognormal
//! durations) follow what Philly, Helios and Alibaba traces show; the numbers are ours.

use xpufleet_model::{ClusterSpec, SimTime, TraceJob};

use super::{normal, stream, unit, GenError, Workload};

/// One site's pools: (accelerator id, accelerators, accelerators per node, scale-up domain).
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSite {
    pub site: String,
    pub pools: Vec<(String, u32, u32, u32)>,
}

/// Software stacks: (name, accelerator ids a job built for it may use, the reference type its
/// durations are stated on).
pub const STACKS: [(&str, &[&str], &str); 3] = [
    ("cuda", &["h20", "h100-sxm"], "h20"),
    ("cann", &["ascend-910b", "ascend-910c"], "ascend-910b"),
    ("neuware", &["mlu370-x8"], "mlu370-x8"),
];

/// Gang sizes and their probabilities: most jobs are small, a few need thousands.
const GANGS: [(u32, f64); 12] = [
    (1, 0.40),
    (2, 0.10),
    (4, 0.10),
    (8, 0.20),
    (16, 0.08),
    (32, 0.05),
    (64, 0.03),
    (128, 0.02),
    (256, 0.01),
    (512, 0.006),
    (1024, 0.003),
    (2048, 0.001),
];

/// Settings of the fleet-month generator.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetMonth {
    pub n_jobs: usize,
    /// Arrivals fall in [0, horizon_s).
    pub horizon_s: u64,
    /// Multiplies every pool's size (1.0: the 200,000-accelerator fleet); pools are rounded to
    /// whole scale-up domains, at least one.
    pub fleet_scale: f64,
    /// Offered load: expected accelerator-seconds of work over fleet capacity × horizon.
    pub target_load: f64,
    /// Lognormal sigma of durations (ln seconds).
    pub duration_sigma: f64,
    /// Durations are clamped to [min, max] seconds.
    pub min_duration_s: f64,
    pub max_duration_s: f64,
    /// Number of tenants; job counts across them follow Zipf(1).
    pub n_tenants: u32,
    /// Share of jobs that have a deadline (3× their duration after submission).
    pub deadline_share: f64,
    pub seed: u64,
    pub sites: Vec<FleetSite>,
}

impl Default for FleetMonth {
    fn default() -> Self {
        let site = |name: &str, pools: &[(&str, u32, u32, u32)]| FleetSite {
            site: name.to_string(),
            pools: pools
                .iter()
                .map(|&(a, n, per_node, domain)| (a.to_string(), n, per_node, domain))
                .collect(),
        };
        FleetMonth {
            n_jobs: 1_000_000,
            horizon_s: 30 * 86_400,
            fleet_scale: 1.0,
            target_load: 0.8,
            duration_sigma: 1.5,
            min_duration_s: 60.0,
            max_duration_s: 14.0 * 86_400.0,
            n_tenants: 50,
            deadline_share: 0.1,
            seed: 0,
            // 200,000 accelerators: 72,000 + 59,040 + 27,360 + 41,600. Ascend 910C comes in
            // CloudMatrix supernodes of 384 (48 nodes of 8).
            sites: vec![
                site(
                    "cn-north-1",
                    &[
                        ("h20", 40_000, 8, 8),
                        ("ascend-910b", 24_000, 8, 8),
                        ("mlu370-x8", 8_000, 8, 8),
                    ],
                ),
                site(
                    "cn-east-1",
                    &[
                        ("h20", 20_000, 8, 8),
                        ("ascend-910b", 16_000, 8, 8),
                        ("ascend-910c", 23_040, 8, 384),
                    ],
                ),
                site(
                    "cn-west-1",
                    &[("ascend-910c", 15_360, 8, 384), ("mlu370-x8", 12_000, 8, 8)],
                ),
                site(
                    "my-johor-1",
                    &[("h100-sxm", 32_000, 8, 8), ("h20", 9_600, 8, 8)],
                ),
            ],
        }
    }
}

impl FleetMonth {
    /// The cluster these settings describe.
    pub fn cluster(&self) -> ClusterSpec {
        let mut cluster = ClusterSpec::default();
        for s in &self.sites {
            for (accel, n, per_node, domain) in &s.pools {
                let domains = ((f64::from(*n) * self.fleet_scale) / f64::from(*domain))
                    .round()
                    .max(1.0) as u32;
                cluster.add(
                    &s.site,
                    accel,
                    domains * domain / per_node,
                    *per_node,
                    *domain,
                );
            }
        }
        cluster
    }
}

fn check(cfg: &FleetMonth) -> Result<(), GenError> {
    let bad = |field, expected, found: String| {
        Err(GenError::Config {
            field,
            expected,
            found,
        })
    };
    if cfg.horizon_s == 0 {
        return bad("horizon_s", "a positive number of seconds", "0".into());
    }
    if !(cfg.fleet_scale.is_finite() && cfg.fleet_scale > 0.0) {
        return bad(
            "fleet_scale",
            "a positive number",
            cfg.fleet_scale.to_string(),
        );
    }
    if !(cfg.target_load.is_finite() && cfg.target_load > 0.0) {
        return bad(
            "target_load",
            "a positive number",
            cfg.target_load.to_string(),
        );
    }
    if !(cfg.min_duration_s > 0.0 && cfg.max_duration_s >= cfg.min_duration_s) {
        return bad(
            "min_duration_s",
            "0 < min_duration_s <= max_duration_s",
            format!("{}..{}", cfg.min_duration_s, cfg.max_duration_s),
        );
    }
    if !(0.0..=1.0).contains(&cfg.deadline_share) {
        return bad(
            "deadline_share",
            "a share in [0, 1]",
            cfg.deadline_share.to_string(),
        );
    }
    if cfg.n_tenants == 0 {
        return bad("n_tenants", "at least 1", "0".into());
    }
    Ok(())
}

/// Draws from a discrete distribution given as cumulative weights.
fn pick(cumulative: &[f64], r: f64) -> usize {
    let total = cumulative.last().copied().unwrap_or(1.0);
    cumulative
        .iter()
        .position(|&c| r * total < c)
        .unwrap_or(cumulative.len() - 1)
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

/// Generates the month. Jobs are duration-based: `work` is seconds on the job's stack's
/// reference type (`ref_type`), `allowed` lists its stack's accelerator types, and no gang is
/// larger than the largest pool of its stack at one site.
pub fn fleet_month(cfg: &FleetMonth) -> Result<Workload, GenError> {
    check(cfg)?;
    let cluster = cfg.cluster();
    let by_type = cluster.by_type();

    // Stack shares follow capacity, so that each vendor's pools see the same offered load.
    let stack_accels: Vec<f64> = STACKS
        .iter()
        .map(|(_, types, _)| {
            types
                .iter()
                .map(|t| by_type.get(*t).copied().unwrap_or(0) as f64)
                .sum()
        })
        .collect();
    let stack_cum = cumulate(stack_accels.iter().copied());
    if stack_cum.last().copied().unwrap_or(0.0) <= 0.0 {
        return Err(GenError::Config {
            field: "sites",
            expected: "pools of at least one of h20, h100-sxm, ascend-910b, ascend-910c, mlu370-x8",
            found: "none".into(),
        });
    }
    // The largest gang a stack can ever run: its largest single-type pool at one site.
    let stack_max_gang: Vec<u32> = STACKS
        .iter()
        .map(|(_, types, _)| {
            cluster
                .groups
                .iter()
                .filter(|g| types.contains(&g.accel.as_str()))
                .map(|g| g.accels().min(u64::from(u32::MAX)) as u32)
                .max()
                .unwrap_or(0)
        })
        .collect();

    let gang_cum = cumulate(GANGS.iter().map(|&(_, p)| p));
    let mean_gang: f64 = GANGS.iter().map(|&(g, p)| f64::from(g) * p).sum::<f64>()
        / GANGS.iter().map(|&(_, p)| p).sum::<f64>();
    // Median duration chosen so that the expected offered load is `target_load` (ignoring the
    // clamp and the gang cap, both of which trim it a little).
    let capacity_accel_s = cluster.total_accels() as f64 * cfg.horizon_s as f64;
    let mean_duration_s =
        cfg.target_load * capacity_accel_s / (cfg.n_jobs.max(1) as f64 * mean_gang);
    let median_s = mean_duration_s / (cfg.duration_sigma * cfg.duration_sigma / 2.0).exp();
    let ln_median = median_s.max(1.0).ln();

    let tenant_cum = cumulate((1..=cfg.n_tenants).map(|k| 1.0 / f64::from(k)));

    let mut arrivals = stream(cfg.seed, 11);
    let mut stacks = stream(cfg.seed, 12);
    let mut gangs = stream(cfg.seed, 13);
    let mut durations = stream(cfg.seed, 14);
    let mut tenants = stream(cfg.seed, 15);
    let mut extras = stream(cfg.seed, 16);

    // Arrival times: a Poisson process of `n_jobs` points with a diurnal rate (peak at 14:00,
    // trough at 02:00, peak/trough = 3), by thinning uniform draws; then sorted.
    let day_s = 86_400.0;
    let mut times: Vec<u64> = Vec::with_capacity(cfg.n_jobs);
    while times.len() < cfg.n_jobs {
        let t = unit(&mut arrivals) * cfg.horizon_s as f64;
        let phase = std::f64::consts::TAU * ((t % day_s) / day_s - 14.0 / 24.0);
        let accept = (1.0 + 0.5 * phase.cos()) / 1.5;
        if unit(&mut arrivals) < accept {
            times.push(t as u64);
        }
    }
    times.sort_unstable();

    let mut jobs = Vec::with_capacity(cfg.n_jobs);
    for (id, submit_s) in times.into_iter().enumerate() {
        let s = pick(&stack_cum, unit(&mut stacks));
        let (_, types, reference) = STACKS[s];
        let mut gang = GANGS[pick(&gang_cum, unit(&mut gangs))].0;
        while gang > stack_max_gang[s].max(1) {
            gang /= 2;
        }
        let duration_s = (ln_median + cfg.duration_sigma * normal(&mut durations))
            .exp()
            .clamp(cfg.min_duration_s, cfg.max_duration_s)
            .round();
        let tenant = pick(&tenant_cum, unit(&mut tenants));
        let r = unit(&mut extras);
        let priority = if r < 0.02 {
            2
        } else if r < 0.12 {
            1
        } else {
            0
        };
        let deadline = (unit(&mut extras) < cfg.deadline_share)
            .then(|| SimTime(submit_s) + (3.0 * duration_s) as u64);
        jobs.push(TraceJob {
            id: id as u64,
            label: format!("j{id}"),
            submit: SimTime(submit_s),
            accels: gang,
            work: duration_s,
            ref_type: Some(reference.to_string()),
            kind: None,
            allowed: types.iter().map(|t| t.to_string()).collect(),
            tenant: Some(format!("tenant-{tenant:02}")),
            priority,
            deadline,
        });
    }
    Ok(Workload { jobs, cluster })
}
