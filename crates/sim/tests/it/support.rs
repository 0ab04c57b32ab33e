//! Fleets, workloads and a table gate for the tests.

#![allow(dead_code)]

use std::collections::BTreeSet;

use xpufleet_comply::{Gate, UseRequest, Verdict};
use xpufleet_model::SimTime;
use xpufleet_sched::{AccelType, FleetState, Job, PoolSpec};
use xpufleet_sim::FleetSpec;

/// A gate that forbids the listed (tenant, pool id) pairs.
pub struct TableGate(pub BTreeSet<(String, String)>);

impl Gate for TableGate {
    fn verdict(&self, req: &UseRequest) -> Verdict {
        if self.0.contains(&(req.user.clone(), req.target.clone())) {
            Verdict::prohibited("test/table", "listed in the test table")
        } else {
            Verdict::allowed()
        }
    }
}

/// (type, site, nodes, accels per node, nodes per domain)
pub type PoolDef = (u16, u32, u32, u32, u32);

pub fn fleet_spec(n_types: usize, n_sites: usize, pools: &[PoolDef]) -> FleetSpec {
    FleetSpec {
        types: (0..n_types)
            .map(|t| AccelType {
                id: format!("t{t}"),
            })
            .collect(),
        sites: (0..n_sites).map(|s| format!("s{s}")).collect(),
        pools: pools
            .iter()
            .enumerate()
            .map(|(i, &(ty, site, nodes, apn, npd))| PoolSpec {
                id: format!("p{i}"),
                site,
                accel_type: ty,
                nodes,
                accels_per_node: apn,
                scaleup_domain: apn * npd,
                leased: i % 2 == 1,
                price_usd_per_hour: 1.0 + ty as f64,
            })
            .collect(),
    }
}

pub fn tenant_names(n: usize) -> Vec<String> {
    (0..n).map(|t| format!("tenant{t}")).collect()
}

pub fn date() -> xpufleet_model::Date {
    xpufleet_model::Date::from_ymd(2025, 6, 1).unwrap()
}

pub fn fleet_with_denials(
    spec: FleetSpec,
    n_tenants: usize,
    denied: &[(usize, usize)],
) -> FleetState {
    let names = tenant_names(n_tenants);
    let gate = TableGate(
        denied
            .iter()
            .map(|&(t, p)| (names[t].clone(), format!("p{p}")))
            .collect(),
    );
    spec.with_gate(&gate, &names, date(), &vec![None; n_tenants])
}

/// A job with per-type rates.
pub fn job(accels: u32, submit: u64, work: f64, rates: &[f64], tenant: u32) -> Job {
    let mut allowed = 0;
    for (t, &r) in rates.iter().enumerate() {
        if r > 0.0 {
            allowed |= 1 << t;
        }
    }
    Job {
        accels,
        tenant,
        allowed,
        priority: 0,
        submit: SimTime(submit),
        deadline: None,
        may_span_sites: false,
        work,
        rates: rates.into(),
        smaller: Box::default(),
    }
}
