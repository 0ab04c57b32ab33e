//! An independent check that a plan satisfies every constraint of its scenario, recomputed from
//! the scenario and catalog rather than from the program's rows (tests and the CLI use it).

use std::collections::BTreeMap;

use xpufleet_model::{Acquisition, CandidateMode, Catalog, MixBasis, Scenario};

use crate::{Objective, Plan};

/// Every constraint the plan breaks, in words; empty when it satisfies all of them. Checks
/// integrality (units = nodes × accels per node), spend against each envelope's budget, envelope
/// scope, supplier-mix shares, supply caps, site power (existing pools included), `max_nodes`,
/// the min-cost target, and that no excluded candidate is bought.
pub fn verify(plan: &Plan, scenario: &Scenario, catalog: &Catalog) -> Vec<String> {
    let mut bad = Vec::new();
    let rel = |x: f64| 1e-7 * x.abs().max(1.0);
    let hours = scenario.plan.horizon_days * 24.0;
    let mut spend_by_env: BTreeMap<&str, f64> = BTreeMap::new();
    let mut mix_by_env: BTreeMap<&str, Vec<(String, f64, f64)>> = BTreeMap::new();
    let mut power_by_site: BTreeMap<&str, f64> = BTreeMap::new();
    let mut pflops = 0.0;
    for l in &plan.lines {
        let Some(c) = scenario.candidates.iter().find(|c| c.id == l.candidate) else {
            bad.push(format!("{}: not a candidate of the scenario", l.candidate));
            continue;
        };
        // A candidate excluded for training only may be bought to serve, and for nothing else.
        for e in plan.excluded.iter().filter(|e| e.candidate == c.id) {
            match e.excluded_use {
                Some(crate::Use::Training) if l.nodes == l.serving_nodes => {}
                Some(u) => bad.push(format!(
                    "{}: excluded for {} but bought for it",
                    c.id,
                    u.as_str()
                )),
                None => bad.push(format!("{}: excluded but bought", c.id)),
            }
        }
        if l.nodes == 0 || l.units != l.nodes * c.accels_per_node as u64 {
            bad.push(format!(
                "{}: {} units is not {} whole nodes of {}",
                c.id, l.units, l.nodes, c.accels_per_node
            ));
        }
        if let Some(m) = c.max_nodes {
            if l.nodes > m as u64 {
                bad.push(format!("{}: {} nodes > max_nodes {m}", c.id, l.nodes));
            }
        }
        let (Some(a), Some(site), Some(env)) = (
            catalog.get(&c.accelerator),
            scenario.site(&c.site),
            scenario.envelope(&c.envelope),
        ) else {
            bad.push(format!("{}: dangling reference", c.id));
            continue;
        };
        if (!env.scope.countries.is_empty() && !env.scope.countries.contains(&site.country))
            || (!env.scope.modes.is_empty() && !env.scope.modes.contains(&c.mode))
        {
            bad.push(format!("{}: outside envelope {}'s scope", c.id, env.id));
        }
        let per = match c.mode {
            CandidateMode::Buy => 1.0,
            CandidateMode::Lease => hours,
        };
        let spend = scenario
            .fx
            .convert(&c.price.scale(l.units as f64 * per), &env.budget.currency)
            .map(|m| m.amount);
        let Ok(spend) = spend else {
            bad.push(format!("{}: cannot convert its price", c.id));
            continue;
        };
        if (spend - l.spend).abs() > rel(spend) {
            bad.push(format!(
                "{}: spend {} but price gives {spend}",
                c.id, l.spend
            ));
        }
        *spend_by_env.entry(env.id.as_str()).or_default() += spend;
        let w = match a.power_w.get() {
            Some(w) => w * l.units as f64 * site.pue,
            None => {
                bad.push(format!("{}: bought with unknown power", c.id));
                0.0
            }
        };
        *power_by_site.entry(site.id.as_str()).or_default() += w;
        mix_by_env.entry(env.id.as_str()).or_default().push((
            a.vendor_country.clone(),
            spend,
            l.units as f64,
        ));
        pflops += l.effective_pflops;
    }
    for e in &scenario.envelopes {
        let s = spend_by_env.get(e.id.as_str()).copied().unwrap_or(0.0);
        if s > e.budget.amount + rel(e.budget.amount) {
            bad.push(format!(
                "envelope {}: spends {s} > budget {}",
                e.id, e.budget.amount
            ));
        }
    }
    for m in &scenario.supplier_mix {
        let lines = mix_by_env.get(m.envelope.as_str());
        let (mut dom, mut tot) = (0.0, 0.0);
        for (country, spend, units) in lines.into_iter().flatten() {
            let w = match m.basis {
                MixBasis::Spend => *spend,
                MixBasis::Units => *units,
            };
            tot += w;
            if *country == m.domestic_country {
                dom += w;
            }
        }
        if tot > 0.0 && dom < m.min_share * tot - rel(tot) {
            bad.push(format!(
                "supplier mix {}: domestic share {:.4} < {}",
                m.id,
                dom / tot,
                m.min_share
            ));
        }
    }
    for cap in &scenario.supply_caps {
        let n: u64 = plan
            .lines
            .iter()
            .filter(|l| {
                let a = catalog.get(&l.accelerator);
                cap.vendor
                    .as_ref()
                    .is_none_or(|v| a.is_some_and(|a| a.vendor.eq_ignore_ascii_case(v)))
                    && cap.accelerator.as_ref().is_none_or(|x| *x == l.accelerator)
            })
            .map(|l| l.units)
            .sum();
        if n > cap.max_accels {
            bad.push(format!(
                "supply cap {}: {n} accelerators > {}",
                cap.id, cap.max_accels
            ));
        }
    }
    for s in &scenario.sites {
        let planned = power_by_site.get(s.id.as_str()).copied().unwrap_or(0.0);
        if planned == 0.0 {
            continue;
        }
        let existing: f64 = scenario
            .pools
            .iter()
            .filter(|p| p.site == s.id)
            .filter(|p| match &p.acquisition {
                Acquisition::Leased { until: Some(u), .. } => *u >= plan.date,
                _ => true,
            })
            .map(|p| {
                catalog
                    .get(&p.accelerator)
                    .and_then(|a| a.power_w.get())
                    .map_or(f64::INFINITY, |w| w * p.accelerators() as f64 * s.pue)
            })
            .sum();
        let limit = s.power_mw * 1e6;
        if existing + planned > limit + rel(limit) {
            bad.push(format!(
                "site {}: {:.3} MW > {} MW",
                s.id,
                (existing + planned) / 1e6,
                s.power_mw
            ));
        }
    }
    if plan.objective.kind == Objective::MinCost {
        if let Some(t) = plan.objective.target_pflops {
            if pflops < t - rel(t) {
                bad.push(format!("target: {pflops} PFLOPS < {t}"));
            }
        }
    }
    bad
}
