//! A scenario's pools and `[[job]]`s as the simulator's input: the one place that turns a
//! [`Scenario`] into a gated fleet and scheduler jobs, used by both `xpufleet run` and
//! `xpufleet simulate --scenario` so the two cannot drift apart.
//!
//! Data residency is enforced by the same type mask that enforces `allowed_accels`: a
//! simulator type is an accelerator *in a country* (`h100-sxm@MY`), and a job whose data must
//! stay in some countries is allowed only the types of those countries. Compliance is applied
//! as (tenant, pool) verdicts from the gate, asked once per pair with the tenant's largest
//! workload (the strictest verdict its jobs could meet).

use std::collections::BTreeMap;

use xpufleet_comply::Gate;
use xpufleet_model::{Acquisition, Catalog, Date, Scenario, SimTime, TraceJob};
use xpufleet_perf::PerfModel;
use xpufleet_sched::{FleetState, Job, PoolSpec, TypeIdx};

use crate::rate::{FlopsRates, RateModel};
use crate::setup::{build_jobs, tenants, FleetSpec, SetupError};

/// A type id no pool has: a job whose allowed list holds only this can run nowhere (an empty
/// list would mean "anywhere").
pub const NOWHERE: &str = "(nowhere)";

/// The simulator's type id for an accelerator in a country.
pub fn type_key(accelerator: &str, country: &str) -> String {
    format!("{accelerator}@{country}")
}

/// One simulator type: an accelerator in a country.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeInfo {
    /// The id the fleet, the event log and [`crate::Metrics::utilization`] use
    /// ([`type_key`]).
    pub key: String,
    /// Catalog id of the accelerator.
    pub accelerator: String,
    /// Country of the sites its pools are in.
    pub country: String,
}

/// Everything a caller needs to simulate a scenario and read the results back.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Pools in scenario order (fleet pool `i` is `sc.pools[i]`), with the gate's verdicts.
    pub fleet: FleetState,
    /// Jobs in scenario order (simulation job `i` is `sc.jobs[i]`).
    pub jobs: Vec<Job>,
    /// Each job's scenario id, by simulation job index.
    pub labels: Vec<String>,
    /// By fleet type index.
    pub types: Vec<TypeInfo>,
    /// Each pool's fleet type index, by pool index.
    pub pool_type: Vec<TypeIdx>,
    /// Tenant names by tenant index (the default tenant first).
    pub tenants: Vec<String>,
    /// The workload each tenant was asked about: its largest job's FLOPs.
    pub flops_by_tenant: Vec<Option<f64>>,
}

/// Why a scenario cannot be simulated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrepareError {
    #[error("pool {pool:?}: unknown site {site:?}")]
    UnknownSite { pool: String, site: String },
    #[error("pool {pool:?}: accelerator {accelerator:?} is not in the catalog")]
    UnknownAccelerator { pool: String, accelerator: String },
    #[error("[[job]] {job:?}: {message}")]
    Job { job: String, message: String },
    #[error("{0}")]
    Fleet(#[from] SetupError),
    /// A pool's price cannot be converted to USD (no FX rate): unknown is never zero, so the
    /// pool is not priced at $0.
    #[error("pool {pool:?}: its price in {currency} cannot be converted to USD: expected an FX rate for {currency}")]
    Unpriced { pool: String, currency: String },
}

/// Builds the simulator's fleet and jobs from a scenario, with `gate`'s verdicts as of `as_of`.
///
/// Leased pools cost their lease rate per accelerator-hour; bought pools their price spread
/// over their life. A job may use the types of its `allowed_accels` (any when empty) in its
/// `data_countries` (any when empty); a job left with none is allowed only [`NOWHERE`], so the
/// simulator rejects it with a reason rather than letting it run anywhere.
pub fn prepare(
    sc: &Scenario,
    catalog: &Catalog,
    gate: &dyn Gate,
    perf: &PerfModel,
    as_of: Date,
) -> Result<Prepared, PrepareError> {
    let mut fspec = FleetSpec::default();
    let mut types: Vec<TypeInfo> = Vec::new();
    // Accelerator and scale-up domain per type key (the first pool's domain, for the rate).
    let mut rate_types = BTreeMap::new();
    let mut pool_type = Vec::with_capacity(sc.pools.len());
    for p in &sc.pools {
        let site = sc.site(&p.site).ok_or_else(|| PrepareError::UnknownSite {
            pool: p.id.clone(),
            site: p.site.clone(),
        })?;
        let accel =
            catalog
                .get(&p.accelerator)
                .ok_or_else(|| PrepareError::UnknownAccelerator {
                    pool: p.id.clone(),
                    accelerator: p.accelerator.clone(),
                })?;
        let unpriced = |m: &xpufleet_model::Money| PrepareError::Unpriced {
            pool: p.id.clone(),
            currency: m.currency.to_string(),
        };
        let (leased, price_usd_per_hour) = match &p.acquisition {
            Acquisition::Leased { rate, .. } => {
                (true, sc.fx.to_usd(rate).map_err(|_| unpriced(rate))?)
            }
            Acquisition::Bought {
                price, life_years, ..
            } => (
                false,
                sc.fx.to_usd(price).map_err(|_| unpriced(price))? / (life_years.max(0.1) * 8760.0),
            ),
        };
        let key = type_key(&p.accelerator, &site.country);
        let per_node = p.accels_per_node.max(1);
        let scaleup_domain = p.scaleup_domain.max(per_node);
        rate_types
            .entry(key.clone())
            .or_insert((accel, scaleup_domain));
        let accel_type = fspec.type_index(&key);
        if usize::from(accel_type) == types.len() {
            types.push(TypeInfo {
                key,
                accelerator: p.accelerator.clone(),
                country: site.country.clone(),
            });
        }
        pool_type.push(accel_type);
        let site_idx = fspec.site_index(&site.id);
        fspec.pools.push(PoolSpec {
            id: p.id.clone(),
            site: site_idx,
            accel_type,
            nodes: p.nodes,
            accels_per_node: per_node,
            scaleup_domain,
            leased,
            price_usd_per_hour,
        });
    }
    fspec.check()?;

    let mut trace = Vec::with_capacity(sc.jobs.len());
    let mut shapes = BTreeMap::new();
    for (i, j) in sc.jobs.iter().enumerate() {
        let job_err = |e: &dyn std::fmt::Display| PrepareError::Job {
            job: j.id.clone(),
            message: e.to_string(),
        };
        let work = j.work().map_err(|e| job_err(&e))?;
        let flops = xpufleet_perf::work_flops(&work)
            .map_err(|e| job_err(&e))?
            .total;
        shapes.insert(j.id.clone(), (work, j.precision));
        let mut allowed: Vec<String> = types
            .iter()
            .filter(|t| {
                (j.allowed_accels.is_empty() || j.allowed_accels.contains(&t.accelerator))
                    && (j.data_countries.is_empty() || j.data_countries.contains(&t.country))
            })
            .map(|t| t.key.clone())
            .collect();
        if allowed.is_empty() {
            allowed.push(NOWHERE.to_string());
        }
        trace.push(TraceJob {
            id: i as u64,
            label: j.id.clone(),
            submit: j.submit(),
            accels: j.max_accels.max(j.min_accels).max(1),
            work: flops,
            ref_type: None,
            kind: None,
            allowed,
            tenant: Some(j.tenant.clone()),
            priority: j.priority,
            deadline: j.deadline_s.map(|d| SimTime(j.submit_s + d)),
        });
    }
    let rates = FlopsRates {
        perf,
        types: rate_types,
        shapes,
    };
    let (tenant_names, tenant_idx) = tenants(&trace);
    let mut jobs = build_jobs(&trace, &fspec.types, &tenant_idx, &rates);
    for ((j, tj), tr) in jobs.iter_mut().zip(&sc.jobs).zip(&trace) {
        j.may_span_sites = tj.may_span_sites;
        j.smaller = moldable_sizes(tj.min_accels, j.accels)
            .map(|k| {
                let at_k = TraceJob {
                    accels: k,
                    ..tr.clone()
                };
                let r: Box<[f64]> = fspec
                    .types
                    .iter()
                    .map(|t| rates.rate(&at_k, &t.id))
                    .collect();
                (k, r)
            })
            .collect();
    }
    // Each tenant is asked about with its largest workload: the strictest verdict it could meet.
    let mut flops_by_tenant: Vec<Option<f64>> = vec![None; tenant_names.len()];
    for (tj, &t) in trace.iter().zip(&tenant_idx) {
        let f = &mut flops_by_tenant[t as usize];
        *f = Some(f.unwrap_or(0.0).max(tj.work));
    }
    let fleet = fspec.with_gate(gate, &tenant_names, as_of, &flops_by_tenant);
    Ok(Prepared {
        fleet,
        jobs,
        labels: trace.into_iter().map(|t| t.label).collect(),
        types,
        pool_type,
        tenants: tenant_names,
        flops_by_tenant,
    })
}

/// Per-type utilisation (keyed by [`TypeInfo::key`], as the simulator measures it) summed
/// over countries into one figure per accelerator, weighted by each type's capacity
/// (`capacity_by_type`, by fleet type index): what a reader of "utilisation of the H100s"
/// expects, whatever countries they sit in.
pub fn utilisation_by_accelerator(
    types: &[TypeInfo],
    capacity_by_type: &[u64],
    by_type: &BTreeMap<String, f64>,
) -> BTreeMap<String, f64> {
    let mut busy_cap: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for (t, info) in types.iter().enumerate() {
        let cap = capacity_by_type.get(t).copied().unwrap_or(0) as f64;
        let u = by_type.get(&info.key).copied().unwrap_or(0.0);
        let e = busy_cap.entry(info.accelerator.clone()).or_default();
        e.0 += u * cap;
        e.1 += cap;
    }
    busy_cap
        .into_iter()
        .map(|(a, (busy, cap))| (a, if cap > 0.0 { busy / cap } else { 0.0 }))
        .collect()
}

/// The smaller gangs a job of `min_accels` to `max_accels` may start with, largest first: its
/// largest gang halved while the half is whole and at least `min_accels` (data parallelism
/// halves: half the replicas, each node group keeping its layout). A rigid job has none.
pub fn moldable_sizes(min_accels: u32, max_accels: u32) -> impl Iterator<Item = u32> {
    std::iter::successors(Some(max_accels), move |&k| {
        (k % 2 == 0 && k / 2 >= min_accels.max(1)).then_some(k / 2)
    })
    .skip(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn moldable_sizes_halve_down_to_the_minimum() {
        let v = |min, max| moldable_sizes(min, max).collect::<Vec<_>>();
        assert_eq!(v(32, 128), [64, 32]);
        assert_eq!(v(1024, 4096), [2048, 1024]);
        assert_eq!(v(100, 128), Vec::<u32>::new());
        assert_eq!(v(64, 64), Vec::<u32>::new());
        assert_eq!(v(0, 6), [3]);
        assert_eq!(v(200, 100), Vec::<u32>::new());
    }

    use super::*;
    use xpufleet_comply::{AllowAll, UseRequest, Verdict};

    /// Two CN pools (H20, A800) and two MY pools (H100, H20), three jobs.
    const SCENARIO: &str = r#"
name = "t"
date = 2025-03-01
company = "acme"

[[entity]]
id = "acme"
name = "Acme"
hq_country = "CN"

[[entity]]
id = "acme-sg"
name = "Acme SG"
hq_country = "SG"
parent = "acme"

[[site]]
id = "cn-1"
country = "CN"
power_mw = 100
tenure = "owned"
owner = "acme"
operator = "acme"
pue = 1.3
electricity_per_kwh = { amount = 0.1, currency = "USD" }

[[site]]
id = "my-1"
country = "MY"
power_mw = 100
tenure = "owned"
owner = "acme"
operator = "acme"
pue = 1.3
electricity_per_kwh = { amount = 0.1, currency = "USD" }

[[pool]]
id = "cn-h20"
site = "cn-1"
accelerator = "h20"
nodes = 4
accels_per_node = 8
scaleup_domain = 8
acquisition = { kind = "bought", price = { amount = 8760, currency = "USD" }, date = 2024-01-01, life_years = 1 }

[[pool]]
id = "cn-a800"
site = "cn-1"
accelerator = "a800-sxm"
nodes = 2
accels_per_node = 8
scaleup_domain = 8
acquisition = { kind = "bought", price = { amount = 17520, currency = "USD" }, date = 2024-01-01, life_years = 1 }

[[pool]]
id = "my-h100"
site = "my-1"
accelerator = "h100-sxm"
nodes = 4
accels_per_node = 8
scaleup_domain = 8
acquisition = { kind = "leased", rate = { amount = 2.5, currency = "USD" }, from = "acme-sg", until = 2026-12-31 }

[[pool]]
id = "my-h20"
site = "my-1"
accelerator = "h20"
nodes = 1
accels_per_node = 8
scaleup_domain = 8
acquisition = { kind = "leased", rate = { amount = 1.0, currency = "USD" }, from = "acme-sg", until = 2026-12-31 }

[[job]]
id = "cn-only"
params = 1e9
tokens = 1e10
min_accels = 8
max_accels = 8
tenant = "acme"
data_countries = ["CN"]

[[job]]
id = "h100-or-h20"
params = 1e9
tokens = 1e10
min_accels = 8
max_accels = 8
tenant = "acme-sg"
allowed_accels = ["h100-sxm", "h20"]
may_span_sites = true

[[job]]
id = "h100-in-cn"
flops = 1e21
min_accels = 8
max_accels = 16
tenant = "acme"
allowed_accels = ["h100-sxm"]
data_countries = ["CN"]
"#;

    fn scenario() -> Scenario {
        xpufleet_io::parse_scenario(SCENARIO, "test.toml").expect("a valid test scenario")
    }

    fn prep_with(gate: &dyn Gate) -> Prepared {
        let catalog = xpufleet_io::builtin_catalog();
        let sc = scenario();
        prepare(&sc, &catalog, gate, &PerfModel::default(), sc.date).expect("prepared")
    }

    /// The fleet type keys a job may use.
    fn allowed(p: &Prepared, job: usize) -> Vec<&str> {
        p.types
            .iter()
            .enumerate()
            .filter(|(t, _)| p.jobs[job].allowed & (1 << t) != 0)
            .map(|(_, i)| i.key.as_str())
            .collect()
    }

    /// Denies tenant "acme" the pool "my-h100"; allows everything else.
    struct DenyAcmeOnMyH100;

    impl Gate for DenyAcmeOnMyH100 {
        fn verdict(&self, req: &UseRequest) -> Verdict {
            if req.user == "acme" && req.target == "my-h100" {
                Verdict::prohibited("test/deny", "denied in the test")
            } else {
                Verdict::allowed()
            }
        }
    }

    #[test]
    fn types_are_accelerators_in_countries_and_pools_keep_scenario_order() {
        let p = prep_with(&AllowAll);
        let keys: Vec<&str> = p.types.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["h20@CN", "a800-sxm@CN", "h100-sxm@MY", "h20@MY"]);
        assert_eq!(p.types[3].accelerator, "h20");
        assert_eq!(p.types[3].country, "MY");
        assert_eq!(p.pool_type, [0, 1, 2, 3]);
        let ids: Vec<&str> = p.fleet.pools.iter().map(|s| s.spec.id.as_str()).collect();
        assert_eq!(ids, ["cn-h20", "cn-a800", "my-h100", "my-h20"]);
        assert_eq!(p.labels, ["cn-only", "h100-or-h20", "h100-in-cn"]);
    }

    #[test]
    fn leased_pools_cost_their_rate_and_bought_ones_their_price_over_life() {
        let p = prep_with(&AllowAll);
        let price: Vec<(bool, f64)> = p
            .fleet
            .pools
            .iter()
            .map(|s| (s.spec.leased, s.spec.price_usd_per_hour))
            .collect();
        assert_eq!(
            price,
            [(false, 1.0), (false, 2.0), (true, 2.5), (true, 1.0)]
        );
    }

    #[test]
    fn data_residency_keeps_a_job_to_its_countries() {
        let p = prep_with(&AllowAll);
        assert_eq!(allowed(&p, 0), ["h20@CN", "a800-sxm@CN"]);
    }

    #[test]
    fn allowed_accelerators_cover_every_country_they_sit_in() {
        let p = prep_with(&AllowAll);
        assert_eq!(allowed(&p, 1), ["h20@CN", "h100-sxm@MY", "h20@MY"]);
    }

    #[test]
    fn a_job_no_pool_can_serve_may_use_no_type() {
        // H100s only in Malaysia, data only in China: nowhere, not "anywhere".
        let p = prep_with(&AllowAll);
        assert_eq!(p.jobs[2].allowed, 0);
    }

    #[test]
    fn the_gate_denies_one_tenant_one_pool_asked_with_its_largest_workload() {
        let p = prep_with(&DenyAcmeOnMyH100);
        assert_eq!(p.tenants, ["default", "acme", "acme-sg"]);
        let acme = 1;
        let acme_sg = 2;
        assert_eq!(p.jobs[0].tenant, acme);
        assert_eq!(p.jobs[1].tenant, acme_sg);
        assert_eq!(p.fleet.access.denied_pairs(), [(acme, 2)]);
        assert!(p.fleet.access.check(acme_sg, 2).is_ok());
        // acme's largest job is the 1e21-FLOP one; 6 × 1e9 × 1e10 = 6e19 is smaller.
        assert_eq!(p.flops_by_tenant[acme as usize], Some(1e21));
        assert_eq!(p.flops_by_tenant[0], None);
    }

    #[test]
    fn may_span_sites_and_rates_follow_the_job() {
        let p = prep_with(&AllowAll);
        // Rates on allowed types are positive; the job's work is its FLOPs.
        for t in [0, 1] {
            assert!(p.jobs[0].rates[t] > 0.0, "type {t}");
        }
        assert_eq!(p.jobs[2].work, 1e21);
        assert!(!p.jobs[0].may_span_sites);
        assert!(p.jobs[1].may_span_sites);
    }

    #[test]
    fn utilisation_is_summed_over_countries_by_capacity() {
        let p = prep_with(&AllowAll);
        let by_type: BTreeMap<String, f64> = [
            ("h20@CN".to_string(), 0.5),
            ("a800-sxm@CN".to_string(), 1.0),
            ("h100-sxm@MY".to_string(), 0.0),
            ("h20@MY".to_string(), 1.0),
        ]
        .into_iter()
        .collect();
        let u = utilisation_by_accelerator(&p.types, &p.fleet.capacity_by_type(), &by_type);
        // h20: 32 accelerators at 50% and 8 at 100% → 24 of 40 busy.
        assert!((u["h20"] - 0.6).abs() < 1e-12);
        assert_eq!(u["a800-sxm"], 1.0);
        assert_eq!(u["h100-sxm"], 0.0);
        assert_eq!(u.len(), 3);
    }

    #[test]
    fn an_unknown_accelerator_is_a_named_error() {
        let mut sc = scenario();
        sc.pools[1].accelerator = "no-such-chip".into();
        let err = prepare(
            &sc,
            &xpufleet_io::builtin_catalog(),
            &AllowAll,
            &PerfModel::default(),
            sc.date,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"pool "cn-a800": accelerator "no-such-chip" is not in the catalog"#
        );
    }
}
