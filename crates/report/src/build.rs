//! Aggregations the report needs from engine rows: compute by vendor and country, spend by
//! key, JCT statistics, mean utilisation. Pure, so they are tested here rather than trusted to
//! each caller.
//!
//! Float sums fold from `0.0`: `Iterator::sum` of no `f64`s is `-0.0`, which would print as
//! `-0` in the JSON and the page.

use std::collections::BTreeMap;

use crate::data::*;

impl Fleet {
    /// Groups pools by vendor and by country, and adds up power per site. `site_capacity` gives
    /// (site, country, capacity MW) for every site, in the order the sites should be listed.
    pub fn new(pools: Vec<FleetPool>, site_capacity: &[(String, String, f64)]) -> Fleet {
        let by_vendor = compute_by(&pools, |p| p.vendor.clone());
        let by_country = compute_by(&pools, |p| p.country.clone());
        let sites = site_capacity
            .iter()
            .map(|(site, country, cap)| {
                let draw = |o: PoolOrigin| -> f64 {
                    pools
                        .iter()
                        .filter(|p| &p.site == site && p.origin == o)
                        .filter_map(|p| p.power_mw)
                        .fold(0.0, |a, b| a + b)
                };
                SitePower {
                    site: site.clone(),
                    country: country.clone(),
                    capacity_mw: *cap,
                    existing_mw: draw(PoolOrigin::Existing),
                    planned_mw: draw(PoolOrigin::Planned),
                }
            })
            .collect();
        Fleet {
            pools,
            by_vendor,
            by_country,
            sites,
        }
    }

    /// Peak PFLOPS of the whole fleet (pools with a known peak).
    pub fn total_pflops(&self) -> f64 {
        self.by_vendor
            .iter()
            .map(|r| r.pflops_existing + r.pflops_planned)
            .fold(0.0, |a, b| a + b)
    }
}

impl ComputeRow {
    pub fn pflops_total(&self) -> f64 {
        self.pflops_existing + self.pflops_planned
    }
}

fn compute_by(pools: &[FleetPool], key: impl Fn(&FleetPool) -> String) -> Vec<ComputeRow> {
    let mut m: BTreeMap<String, ComputeRow> = BTreeMap::new();
    for p in pools {
        let k = key(p);
        let row = m.entry(k.clone()).or_insert_with(|| ComputeRow {
            key: k,
            accels_existing: 0,
            accels_planned: 0,
            pflops_existing: 0.0,
            pflops_planned: 0.0,
            accels_unknown_peak: 0,
        });
        let pf = p.peak_pflops.unwrap_or(0.0);
        if p.peak_pflops.is_none() {
            row.accels_unknown_peak += p.accels;
        }
        match p.origin {
            PoolOrigin::Existing => {
                row.accels_existing += p.accels;
                row.pflops_existing += pf;
            }
            PoolOrigin::Planned => {
                row.accels_planned += p.accels;
                row.pflops_planned += pf;
            }
        }
    }
    let mut v: Vec<ComputeRow> = m.into_values().collect();
    v.sort_by(|a, b| {
        b.pflops_total()
            .total_cmp(&a.pflops_total())
            .then_with(|| a.key.cmp(&b.key))
    });
    v
}

/// Spend of plan lines grouped by `key`, amounts per currency, largest USD total first.
pub fn spend_by(lines: &[PlanLine], key: impl Fn(&PlanLine) -> String) -> Vec<SpendRow> {
    let mut m: BTreeMap<String, (BTreeMap<String, f64>, f64)> = BTreeMap::new();
    for l in lines {
        let e = m.entry(key(l)).or_default();
        *e.0.entry(l.currency.clone()).or_default() += l.spend;
        e.1 += l.spend_usd;
    }
    let mut v: Vec<SpendRow> = m
        .into_iter()
        .map(|(key, (amounts, total_usd))| SpendRow {
            key,
            amounts: amounts
                .into_iter()
                .map(|(currency, amount)| Amount { currency, amount })
                .collect(),
            total_usd,
        })
        .collect();
    v.sort_by(|a, b| {
        b.total_usd
            .total_cmp(&a.total_usd)
            .then_with(|| a.key.cmp(&b.key))
    });
    v
}

impl Plan {
    pub fn spend_usd(&self) -> f64 {
        self.lines
            .iter()
            .map(|l| l.spend_usd)
            .fold(0.0, |a, b| a + b)
    }

    pub fn accels(&self) -> u64 {
        self.lines.iter().map(|l| l.accels).sum()
    }
}

/// The `p`-th percentile (0 < p ≤ 100) by the nearest-rank method: the smallest value with at
/// least p% of the values at or below it. `None` for no values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

impl JctStats {
    /// Statistics over completed jobs; `makespan_s` is the last end time (0 if none ended).
    pub fn from_jobs(jobs: &[JobRow]) -> JctStats {
        let mut jct: Vec<f64> = jobs
            .iter()
            .filter_map(|j| j.jct_s())
            .map(|s| s as f64)
            .collect();
        jct.sort_by(f64::total_cmp);
        let queue: Vec<f64> = jobs
            .iter()
            .filter_map(|j| j.queue_s())
            .map(|s| s as f64)
            .collect();
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        JctStats {
            jobs: jobs.len() as u64,
            completed: jct.len() as u64,
            jct_mean_s: mean(&jct),
            jct_p50_s: percentile(&jct, 50.0),
            jct_p99_s: percentile(&jct, 99.0),
            queue_mean_s: mean(&queue),
            makespan_s: jobs.iter().filter_map(|j| j.end_s).max().unwrap_or(0),
        }
    }
}

impl UtilSeries {
    /// A series from step points, with its mean busy fraction over `[0, horizon_s)`.
    pub fn new(accelerator: String, capacity: u64, points: Vec<UtilPoint>, horizon_s: u64) -> Self {
        let mean = mean_utilisation(&points, capacity, horizon_s);
        UtilSeries {
            accelerator,
            capacity,
            points,
            mean,
        }
    }
}

/// Busy accelerator-seconds over capacity × horizon, for a step function sorted by time that is
/// 0 before its first point.
pub fn mean_utilisation(points: &[UtilPoint], capacity: u64, horizon_s: u64) -> f64 {
    if capacity == 0 || horizon_s == 0 {
        return 0.0;
    }
    let mut busy_s = 0.0;
    for (i, p) in points.iter().enumerate() {
        let start = p.t_s.min(horizon_s);
        let end = points
            .get(i + 1)
            .map_or(horizon_s, |n| n.t_s)
            .min(horizon_s);
        busy_s += p.busy as f64 * end.saturating_sub(start) as f64;
    }
    busy_s / (capacity as f64 * horizon_s as f64)
}

impl CostEnergy {
    pub fn new(rows: Vec<CostRow>) -> CostEnergy {
        CostEnergy {
            total_chip_hours: rows.iter().map(|r| r.chip_hours).fold(0.0, |a, b| a + b),
            total_energy_mwh: rows.iter().map(|r| r.energy_mwh).fold(0.0, |a, b| a + b),
            total_cost_usd: rows.iter().map(|r| r.cost_usd).fold(0.0, |a, b| a + b),
            rows,
            idle: None,
        }
    }
}

impl IdleCost {
    pub fn new(rows: Vec<CostRow>) -> IdleCost {
        IdleCost {
            total_accel_hours: rows.iter().map(|r| r.chip_hours).fold(0.0, |a, b| a + b),
            total_cost_usd: rows.iter().map(|r| r.cost_usd).fold(0.0, |a, b| a + b),
            rows,
        }
    }
}

/// Where one checked use stands, counted once: its outcome when that forbids the use, else
/// "unverified" when an owner or operator verification is missing, else its (usable) outcome.
/// A use that is both licence-required and unverified counts as licence-required, so the
/// headline, the badges and the chart all add up to the number of uses checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Standing {
    Allowed,
    LicenceException,
    Unverified,
    RedFlag,
    LicenceRequired,
    Prohibited,
}

impl Standing {
    /// Every standing, usable ones first.
    pub const ALL: [Standing; 6] = [
        Standing::Allowed,
        Standing::LicenceException,
        Standing::Unverified,
        Standing::RedFlag,
        Standing::LicenceRequired,
        Standing::Prohibited,
    ];

    pub fn of(row: &ComplianceRow) -> Standing {
        use xpufleet_comply::Outcome;
        match row.outcome {
            Outcome::Prohibited => Standing::Prohibited,
            Outcome::LicenceRequired => Standing::LicenceRequired,
            Outcome::RedFlag => Standing::RedFlag,
            _ if !row.verified => Standing::Unverified,
            Outcome::LicenceException => Standing::LicenceException,
            Outcome::Allowed => Standing::Allowed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Allowed => "allowed",
            Standing::LicenceException => "licence-exception",
            Standing::Unverified => "unverified",
            Standing::RedFlag => "red-flag",
            Standing::LicenceRequired => "licence-required",
            Standing::Prohibited => "prohibited",
        }
    }

    /// May an engine plan or place onto a use that stands so?
    pub fn usable(self) -> bool {
        matches!(self, Standing::Allowed | Standing::LicenceException)
    }
}

impl Compliance {
    /// Rows per [`Standing`], strictest last, only standings that occur. Every row is counted
    /// exactly once, so the counts add up to `rows.len()`.
    pub fn standings(&self) -> Vec<(Standing, usize)> {
        let mut m: BTreeMap<Standing, usize> = BTreeMap::new();
        for r in &self.rows {
            *m.entry(Standing::of(r)).or_default() += 1;
        }
        m.into_iter().collect()
    }

    /// Uses no engine may plan or place onto (every standing but allowed and licence
    /// exception, less red flags a compliance review cleared: the row's `usable`).
    pub fn blocked(&self) -> usize {
        self.rows.iter().filter(|r| !r.usable).count()
    }

    /// Rows per outcome, strictest last, only outcomes that occur.
    pub fn counts(&self) -> Vec<(xpufleet_comply::Outcome, usize)> {
        let mut m: BTreeMap<xpufleet_comply::Outcome, usize> = BTreeMap::new();
        for r in &self.rows {
            *m.entry(r.outcome).or_default() += 1;
        }
        m.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(
        id: &str,
        origin: PoolOrigin,
        vendor: &str,
        country: &str,
        pf: Option<f64>,
    ) -> FleetPool {
        FleetPool {
            id: id.into(),
            origin,
            accelerator: id.into(),
            vendor: vendor.into(),
            site: format!("site-{country}"),
            country: country.into(),
            accels: 8,
            peak_pflops: pf,
            power_mw: Some(1.0),
        }
    }

    #[test]
    fn compute_groups_and_sorts_largest_first() {
        let f = Fleet::new(
            vec![
                pool("a", PoolOrigin::Existing, "Nvidia", "MY", Some(2.0)),
                pool("b", PoolOrigin::Planned, "Huawei", "CN", Some(5.0)),
                pool("c", PoolOrigin::Planned, "Nvidia", "CN", Some(1.0)),
                pool("d", PoolOrigin::Planned, "Cambricon", "CN", None),
            ],
            &[("site-CN".into(), "CN".into(), 10.0)],
        );
        let keys: Vec<&str> = f.by_vendor.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["Huawei", "Nvidia", "Cambricon"]);
        let nv = &f.by_vendor[1];
        assert_eq!((nv.accels_existing, nv.accels_planned), (8, 8));
        assert_eq!((nv.pflops_existing, nv.pflops_planned), (2.0, 1.0));
        assert_eq!(f.by_vendor[2].accels_unknown_peak, 8);
        assert_eq!(f.by_country[0].key, "CN");
        assert_eq!(f.by_country[0].pflops_planned, 6.0);
        assert_eq!(f.sites[0].planned_mw, 3.0);
        assert_eq!(f.sites[0].existing_mw, 0.0);
        assert_eq!(f.total_pflops(), 8.0);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(5.0));
        assert_eq!(percentile(&v, 99.0), Some(10.0));
        assert_eq!(percentile(&v, 10.0), Some(1.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn jct_stats_count_only_completed_jobs() {
        let job = |submit, start: Option<u64>, end: Option<u64>| JobRow {
            id: "j".into(),
            name: String::new(),
            tenant: "t".into(),
            accels: 8,
            accelerator: None,
            pool: None,
            submit_s: submit,
            start_s: start,
            end_s: end,
            status: String::new(),
            reason: None,
            failures: 0,
        };
        let s = JctStats::from_jobs(&[
            job(0, Some(10), Some(100)),
            job(50, Some(60), Some(350)),
            job(0, None, None),
        ]);
        assert_eq!((s.jobs, s.completed), (3, 2));
        assert_eq!(s.jct_mean_s, Some(200.0));
        assert_eq!(s.queue_mean_s, Some(10.0));
        assert_eq!(s.makespan_s, 350);
    }

    #[test]
    fn mean_utilisation_integrates_the_steps() {
        let pts = [
            UtilPoint { t_s: 0, busy: 4 },
            UtilPoint { t_s: 50, busy: 8 },
            UtilPoint { t_s: 100, busy: 0 },
        ];
        // 4×50 + 8×50 = 600 busy accel-seconds over 8 × 200.
        assert!((mean_utilisation(&pts, 8, 200) - 600.0 / 1600.0).abs() < 1e-12);
        // Points past the horizon are cut off.
        assert!((mean_utilisation(&pts, 8, 75) - (200.0 + 200.0) / 600.0).abs() < 1e-12);
        assert_eq!(mean_utilisation(&pts, 0, 75), 0.0);
    }

    #[test]
    fn spend_keeps_currencies_apart() {
        let line = |site: &str, spend: f64, cur: &str, usd: f64| PlanLine {
            candidate: "c".into(),
            accelerator: "a".into(),
            vendor: "v".into(),
            site: site.into(),
            country: "CN".into(),
            mode: "buy".into(),
            nodes: 1,
            accels: 8,
            chips: 8,
            spend,
            currency: cur.into(),
            spend_usd: usd,
            envelope: "e".into(),
            effective_pflops: None,
            power_mw: None,
            line_use: "training".into(),
            services: Vec::new(),
        };
        let rows = spend_by(
            &[
                line("x", 100.0, "CNY", 14.0),
                line("x", 10.0, "USD", 10.0),
                line("y", 50.0, "USD", 50.0),
            ],
            |l| l.site.clone(),
        );
        assert_eq!(rows[0].key, "y");
        assert_eq!(rows[1].amounts.len(), 2);
        assert_eq!(rows[1].amounts[0].currency, "CNY");
        assert_eq!(rows[1].total_usd, 24.0);
    }
}
