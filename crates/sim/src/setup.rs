//! Turning a cluster description and trace jobs into the scheduler's fleet and jobs.

use std::collections::BTreeMap;

use xpufleet_comply::Gate;
use xpufleet_model::{ClusterSpec, Date, TraceJob};
use xpufleet_sched::{AccelType, Access, FleetState, Job, PoolQuery, PoolSpec, TypeIdx, MAX_TYPES};

use crate::rate::RateModel;

/// The tenant name jobs without one run as.
pub const DEFAULT_TENANT: &str = "default";

/// Pools, types and sites, before the verdicts are known.
#[derive(Debug, Clone, Default)]
pub struct FleetSpec {
    pub types: Vec<AccelType>,
    pub sites: Vec<String>,
    pub pools: Vec<PoolSpec>,
}

/// Why a fleet cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SetupError {
    #[error("the fleet has {0} accelerator types; at most {MAX_TYPES} are supported")]
    TooManyTypes(usize),
    #[error("the fleet has no accelerators")]
    Empty,
    #[error("node group {0}: accels_per_node must be at least 1")]
    EmptyNode(String),
}

/// The accelerator types of `cluster` with no price in `price_usd_per_hour`, sorted. The
/// `cost` policy ranks by price, so it must not run while any is unknown: unknown is never zero.
pub fn unpriced_types(
    cluster: &ClusterSpec,
    price_usd_per_hour: &BTreeMap<String, f64>,
) -> Vec<String> {
    let mut v: Vec<String> = cluster
        .groups
        .iter()
        .filter(|g| !price_usd_per_hour.contains_key(&g.accel))
        .map(|g| g.accel.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

impl FleetSpec {
    /// One pool per node group of the cluster; `price_usd_per_hour` by type (0 if absent: a
    /// ranking price only; callers that rank by price refuse unpriced types first, see
    /// [`unpriced_types`]).
    pub fn from_cluster(
        cluster: &ClusterSpec,
        price_usd_per_hour: &BTreeMap<String, f64>,
    ) -> Result<FleetSpec, SetupError> {
        let mut f = FleetSpec::default();
        for g in &cluster.groups {
            if g.accels_per_node == 0 {
                return Err(SetupError::EmptyNode(format!("{}/{}", g.site, g.accel)));
            }
            let ty = f.type_index(&g.accel);
            let site = f.site_index(&g.site);
            f.pools.push(PoolSpec {
                id: format!("{}/{}/{}", g.site, g.accel, f.pools.len()),
                site,
                accel_type: ty,
                nodes: g.nodes,
                accels_per_node: g.accels_per_node,
                scaleup_domain: g.scaleup_domain.max(g.accels_per_node),
                leased: false,
                price_usd_per_hour: price_usd_per_hour.get(&g.accel).copied().unwrap_or(0.0),
            });
        }
        f.check()?;
        Ok(f)
    }

    pub fn check(&self) -> Result<(), SetupError> {
        if self.types.len() > MAX_TYPES {
            return Err(SetupError::TooManyTypes(self.types.len()));
        }
        if self.pools.iter().map(|p| p.accels()).sum::<u64>() == 0 {
            return Err(SetupError::Empty);
        }
        Ok(())
    }

    /// The index of a type, added if new.
    pub fn type_index(&mut self, id: &str) -> TypeIdx {
        match self.types.iter().position(|t| t.id == id) {
            Some(i) => i as TypeIdx,
            None => {
                self.types.push(AccelType { id: id.to_string() });
                (self.types.len() - 1) as TypeIdx
            }
        }
    }

    /// The index of a site, added if new.
    pub fn site_index(&mut self, id: &str) -> u32 {
        match self.sites.iter().position(|s| s == id) {
            Some(i) => i as u32,
            None => {
                self.sites.push(id.to_string());
                (self.sites.len() - 1) as u32
            }
        }
    }

    /// The fleet with verdicts from `gate` for each tenant (asked once per (tenant, pool)).
    pub fn with_gate(
        self,
        gate: &dyn Gate,
        tenants: &[String],
        date: Date,
        workload_flops: &[Option<f64>],
    ) -> FleetState {
        let queries: Vec<PoolQuery> = self
            .pools
            .iter()
            .map(|p| PoolQuery {
                id: &p.id,
                leased: p.leased,
            })
            .collect();
        let access = Access::build(gate, tenants, &queries, date, workload_flops);
        FleetState::new(self.types, self.sites, self.pools, access)
    }

    /// The fleet with every tenant allowed everywhere.
    pub fn allow_all(self, n_tenants: usize) -> FleetState {
        let access = Access::allow_all(n_tenants.max(1), self.pools.len());
        FleetState::new(self.types, self.sites, self.pools, access)
    }
}

/// Tenant names in first-seen order (the default tenant first) and each job's tenant index.
pub fn tenants(jobs: &[TraceJob]) -> (Vec<String>, Vec<u32>) {
    let mut names = vec![DEFAULT_TENANT.to_string()];
    let mut index: BTreeMap<String, u32> = BTreeMap::new();
    index.insert(DEFAULT_TENANT.to_string(), 0);
    let idx = jobs
        .iter()
        .map(|j| {
            let name = j.tenant.as_deref().unwrap_or(DEFAULT_TENANT);
            *index.entry(name.to_string()).or_insert_with(|| {
                names.push(name.to_string());
                (names.len() - 1) as u32
            })
        })
        .collect();
    (names, idx)
}

/// The scheduler's jobs: rates per fleet type from `rates`, allowed types from the trace (empty
/// means any), tenants from `tenant_idx`.
pub fn build_jobs(
    trace: &[TraceJob],
    types: &[AccelType],
    tenant_idx: &[u32],
    rates: &dyn RateModel,
) -> Vec<Job> {
    trace
        .iter()
        .enumerate()
        .map(|(i, tj)| {
            let r: Box<[f64]> = types.iter().map(|t| rates.rate(tj, &t.id)).collect();
            let mut allowed = 0u64;
            for (t, ty) in types.iter().enumerate() {
                if (tj.allowed.is_empty() || tj.allowed.iter().any(|a| a == &ty.id)) && r[t] > 0.0 {
                    allowed |= 1 << t;
                }
            }
            Job {
                accels: tj.accels.max(1),
                tenant: tenant_idx.get(i).copied().unwrap_or(0),
                allowed,
                priority: tj.priority,
                submit: tj.submit,
                deadline: tj.deadline,
                may_span_sites: false,
                work: tj.work.max(0.0),
                rates: r,
                smaller: Box::default(),
            }
        })
        .collect()
}
