//! Who may use what, as of a date: every (pool, tenant) pair of a scenario with the rule
//! engine's verdict. Exports only render this; they decide nothing.
//!
//! Tenants are the scenario's company, the tenants of its `[[job]]`s, and any the caller adds.
//! A pair that `xpufleet check` evaluates (an intended use) takes `check`'s evaluation as it
//! is; other pairs are evaluated the same way (the pool's mode, the tenant's largest job), so
//! an export never lets a tenant onto a pool `check` calls unusable for it.

use std::collections::BTreeSet;

use serde::Serialize;
use xpufleet_comply::{job_flops, RuleEngine, UseRequest};
use xpufleet_model::Date;

/// A pool as the exports need it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolInfo {
    pub id: String,
    pub site: String,
    pub country: String,
    pub accelerator: String,
    pub nodes: u32,
    pub accels_per_node: u32,
    pub scaleup_domain: u32,
}

impl PoolInfo {
    pub fn accelerators(&self) -> u64 {
        u64::from(self.nodes) * u64::from(self.accels_per_node)
    }
}

/// One tenant on one pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Access {
    pub pool: String,
    pub tenant: String,
    /// `Verdict::usable()`: allowed or within a licence exception, and verified.
    pub usable: bool,
    /// `allowed`, `licence-exception`, `red-flag`, `licence-required`, `prohibited`.
    pub outcome: String,
    pub verified: bool,
    /// Ids of the deciding rules.
    pub rules: Vec<String>,
    /// `Verdict::summary()`: the outcome, the first rule and its reason.
    pub summary: String,
    /// The citation of each deciding finding (`rule: citation`).
    pub citations: Vec<String>,
}

/// Pools, tenants and every pair's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    pub scenario: String,
    pub as_of: Date,
    pub tenants: Vec<String>,
    pub pools: Vec<PoolInfo>,
    /// Pool-major, tenants in order.
    pub access: Vec<Access>,
}

impl Policy {
    /// Evaluates every pool for every tenant on `date`; `extra_tenants` are added to the
    /// company and the job tenants.
    pub fn evaluate(engine: &RuleEngine, date: Date, extra_tenants: &[String]) -> Policy {
        let s = engine.scenario();
        let mut tenants: BTreeSet<String> = BTreeSet::new();
        tenants.insert(s.company.clone());
        tenants.extend(s.jobs.iter().map(|j| j.tenant.clone()));
        tenants.extend(extra_tenants.iter().cloned());
        let report = engine.check(date);
        let mut access = vec![];
        let mut pools = vec![];
        for p in &s.pools {
            let country = s
                .site(&p.site)
                .map(|x| x.country.clone())
                .unwrap_or_default();
            pools.push(PoolInfo {
                id: p.id.clone(),
                site: p.site.clone(),
                country,
                accelerator: p.accelerator.clone(),
                nodes: p.nodes,
                accels_per_node: p.accels_per_node,
                scaleup_domain: p.scaleup_domain,
            });
            for t in &tenants {
                let checked = report
                    .uses
                    .iter()
                    .find(|u| u.eval.target == p.id && &u.eval.user == t)
                    .map(|u| u.eval.clone());
                let eval = checked.unwrap_or_else(|| {
                    let flops = s
                        .jobs
                        .iter()
                        .filter(|j| &j.tenant == t)
                        .filter_map(job_flops)
                        .fold(None, |m: Option<f64>, f| Some(m.map_or(f, |x| x.max(f))));
                    engine.evaluate(&UseRequest {
                        user: t.clone(),
                        target: p.id.clone(),
                        kind: engine
                            .pool_mode(&p.id)
                            .unwrap_or(xpufleet_comply::UseKind::Own),
                        workload_flops: flops,
                        date,
                    })
                });
                let v = &eval.verdict;
                let citations = eval
                    .findings
                    .iter()
                    .filter(|f| v.rules.contains(&f.rule))
                    .map(|f| format!("{}: {}", f.rule, f.citation))
                    .collect();
                access.push(Access {
                    pool: p.id.clone(),
                    tenant: t.clone(),
                    usable: v.usable(),
                    outcome: v.outcome.to_string(),
                    verified: v.verified,
                    rules: v.rules.clone(),
                    summary: v.summary(),
                    citations,
                });
            }
        }
        Policy {
            scenario: s.name.clone(),
            as_of: date,
            tenants: tenants.into_iter().collect(),
            pools,
            access,
        }
    }

    pub fn access(&self, pool: &str, tenant: &str) -> Option<&Access> {
        self.access
            .iter()
            .find(|a| a.pool == pool && a.tenant == tenant)
    }

    /// May `tenant` use `pool`? False for an unknown pair.
    pub fn usable(&self, pool: &str, tenant: &str) -> bool {
        self.access(pool, tenant).is_some_and(|a| a.usable)
    }
}
