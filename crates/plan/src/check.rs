//! An independent check that a plan satisfies every constraint of its scenario, recomputed from
//! the scenario and catalog rather than from the program's rows (tests, `plan`, `run` and the
//! server use it), for one-date plans and plans over periods alike.

use std::collections::BTreeMap;

use xpufleet_comply::{Gate, UseKind, UseRequest};
use xpufleet_model::{
    Acquisition, CandidateMode, Catalog, Date, MixBasis, Purpose, Scenario, SupplierMix,
};

use crate::{Objective, Plan, PlanLine};

/// Every constraint the plan breaks, in words; empty when it satisfies all of them. Checks
/// integrality (units = nodes × accels per node), spend against each envelope's budget, envelope
/// scope, supplier-mix shares, supply caps, site power (existing pools included), `max_nodes`,
/// the min-cost target, and that no excluded candidate is bought. A scenario with `[[period]]`s
/// is checked period by period (see [`verify_periods`]).
pub fn verify(plan: &Plan, scenario: &Scenario, catalog: &Catalog) -> Vec<String> {
    if !scenario.periods.is_empty() {
        return verify_periods(plan, scenario, catalog);
    }
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
        let lines = mix_by_env.get(m.envelope.as_str()).into_iter().flatten();
        let (dom, tot) = mix_weights(m, lines.map(|(c, s, u)| (c.as_str(), *s, *u)));
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

/// `verify`, and that every line is usable under `gate` on its dates: the plan's date for a
/// one-date plan, the first and last day of the line's period for a plan over periods (a rule
/// enacted inside a period binds that period's orders). Training nodes are judged as the
/// company's use, serving nodes as a service tenant's serving use; a purchase is owned, a lease
/// is remote use. The gate is the one the plan was made with (it knows each candidate's
/// `ships_from`, site and use).
pub fn verify_with_gate(
    plan: &Plan,
    scenario: &Scenario,
    catalog: &Catalog,
    gate: &dyn Gate,
) -> Vec<String> {
    let mut bad = verify(plan, scenario, catalog);
    bad.extend(verify_rules(plan, scenario, gate));
    bad
}

/// Each line whose candidate the gate finds unusable on one of the line's dates, in words.
fn verify_rules(plan: &Plan, scenario: &Scenario, gate: &dyn Gate) -> Vec<String> {
    let mut bad = Vec::new();
    for l in &plan.lines {
        let dates: Vec<Date> = match &l.period {
            None => vec![plan.date],
            Some(id) => match scenario.periods.iter().find(|p| p.id == *id) {
                Some(p) => vec![p.start, p.end],
                // `verify` reports the unknown period.
                None => continue,
            },
        };
        let kind = match l.mode {
            CandidateMode::Buy => UseKind::Own,
            CandidateMode::Lease => UseKind::Remote,
        };
        let req = |user: &str, date: Date| UseRequest {
            user: user.to_string(),
            target: l.candidate.clone(),
            kind,
            workload_flops: None,
            date,
        };
        let tenants: Vec<String> = if scenario.services.is_empty() {
            vec![scenario.company.clone()]
        } else {
            scenario
                .services
                .iter()
                .map(|v| v.tenant.clone().unwrap_or_else(|| scenario.company.clone()))
                .collect()
        };
        for date in dates {
            let when = match &l.period {
                Some(id) => format!("{} ({id})", l.candidate),
                None => l.candidate.clone(),
            };
            if l.nodes > l.serving_nodes {
                let v = gate.verdict(&req(&scenario.company, date));
                if !v.usable() {
                    bad.push(format!("{when}: not usable on {date}: {}", v.summary()));
                }
            }
            if l.serving_nodes > 0 {
                // The line serves one of the services; it must be usable for serving by one
                // of their tenants.
                let verdicts: Vec<_> = tenants
                    .iter()
                    .map(|t| gate.verdict_for(&req(t, date), Purpose::Serving))
                    .collect();
                if !verdicts.iter().any(|v| v.usable()) {
                    bad.push(format!(
                        "{when}: not usable for serving on {date}: {}",
                        verdicts[0].summary()
                    ));
                }
            }
        }
    }
    bad
}

/// The draw of the site's existing pools still there on `date` (a leased pool whose lease ended
/// before it no longer draws), W; infinite when a pool's power is unknown.
fn existing_draw_w(
    scenario: &Scenario,
    catalog: &Catalog,
    site: &str,
    pue: f64,
    date: Date,
) -> f64 {
    scenario
        .pools
        .iter()
        .filter(|p| p.site == site)
        .filter(|p| match &p.acquisition {
            Acquisition::Leased { until: Some(u), .. } => *u >= date,
            _ => true,
        })
        .map(|p| {
            catalog
                .get(&p.accelerator)
                .and_then(|a| a.power_w.get())
                .map_or(f64::INFINITY, |w| w * p.accelerators() as f64 * pue)
        })
        .sum()
}

/// One order as a supplier mix weighs it: vendor country, spend, units.
type MixEntry<'a> = (&'a str, f64, f64);

/// The domestic and the total weight of a mix's lines (vendor country, spend, units), each line
/// weighed on the mix's basis.
fn mix_weights<'a>(m: &SupplierMix, lines: impl Iterator<Item = MixEntry<'a>>) -> (f64, f64) {
    let (mut dom, mut tot) = (0.0, 0.0);
    for (country, spend, units) in lines {
        let w = match m.basis {
            MixBasis::Spend => spend,
            MixBasis::Units => units,
        };
        tot += w;
        if country == m.domestic_country {
            dom += w;
        }
    }
    (dom, tot)
}

/// A plan over periods, checked from the scenario: every line names a period and is ordered
/// where it may be (a lease inside its `from`/`until` window, a purchase early enough to arrive
/// by the last period's start), its spend is its price (a lease's for the period's hours), and
/// per period the envelope budgets (the period's `budgets` entry, else the envelope's), supplier
/// mixes and supply caps over the period's orders, site power over everything present (purchases
/// from the first period starting on or after their delivery, leases in their own period, the
/// existing pools still there on the period's start) and the min-cost and compute-per-dollar
/// demand; over all periods each envelope's own budget. The plan's `periods[]` must agree with
/// the lines: the same periods in order, each with its orders and the capacity present.
pub fn verify_periods(plan: &Plan, scenario: &Scenario, catalog: &Catalog) -> Vec<String> {
    let mut bad = Vec::new();
    let rel = |x: f64| 1e-7 * x.abs().max(1.0);
    let periods = &scenario.periods;
    let n = periods.len();
    // Keyed by (envelope, period), (mix, period), ...; period indices into `periods`.
    let mut spend: BTreeMap<(&str, usize), f64> = BTreeMap::new();
    let mut mix: BTreeMap<(&str, usize), Vec<MixEntry>> = BTreeMap::new();
    let mut power_w: BTreeMap<(&str, usize), f64> = BTreeMap::new();
    let mut pflops = vec![0.0f64; n];
    let mut units_by_part: Vec<BTreeMap<&str, u64>> = vec![BTreeMap::new(); n];
    let mut ordered: Vec<Vec<&PlanLine>> = vec![Vec::new(); n];
    // Accelerators bought or leased to serve, present in each period, by candidate.
    let mut serving: Vec<BTreeMap<&str, u64>> = vec![BTreeMap::new(); n];
    for l in &plan.lines {
        let Some(u) = l
            .period
            .as_ref()
            .and_then(|id| periods.iter().position(|p| p.id == *id))
        else {
            bad.push(format!(
                "{}: ordered in {}, not a period of the scenario",
                l.candidate,
                l.period.as_deref().unwrap_or("no period")
            ));
            continue;
        };
        let per = &periods[u];
        let Some(c) = scenario.candidates.iter().find(|c| c.id == l.candidate) else {
            bad.push(format!("{}: not a candidate of the scenario", l.candidate));
            continue;
        };
        let who = format!("{} ({})", c.id, per.id);
        if l.nodes == 0 || l.units != l.nodes * c.accels_per_node as u64 {
            bad.push(format!(
                "{who}: {} units is not {} whole nodes of {}",
                l.units, l.nodes, c.accels_per_node
            ));
        }
        if let Some(m) = c.max_nodes {
            if l.nodes > m as u64 {
                bad.push(format!("{who}: {} nodes > max_nodes {m}", l.nodes));
            }
        }
        let (Some(a), Some(site), Some(env)) = (
            catalog.get(&c.accelerator),
            scenario.site(&c.site),
            scenario.envelope(&c.envelope),
        ) else {
            bad.push(format!("{who}: dangling reference"));
            continue;
        };
        if (!env.scope.countries.is_empty() && !env.scope.countries.contains(&site.country))
            || (!env.scope.modes.is_empty() && !env.scope.modes.contains(&c.mode))
        {
            bad.push(format!("{who}: outside envelope {}'s scope", env.id));
        }
        let (present, hours) = match c.mode {
            CandidateMode::Lease => {
                if let Some(f) = c.from.filter(|f| per.start < *f) {
                    bad.push(format!(
                        "{who}: leased from {}, before its window opens on {f}",
                        per.start
                    ));
                }
                if let Some(until) = c.until.filter(|until| per.end > *until) {
                    bad.push(format!(
                        "{who}: leased to {}, after its window closes on {until}",
                        per.end
                    ));
                }
                (u..u + 1, per.days() as f64 * 24.0)
            }
            CandidateMode::Buy => {
                let lead = c.lead_time_days.unwrap_or(0);
                let arrives = per.start.plus_days(lead);
                match (u..n).find(|&v| periods[v].start >= arrives) {
                    Some(v) => (v..n, 1.0),
                    None => {
                        bad.push(format!(
                            "{who}: ordered on {} with a lead time of {lead} days it arrives on \\
                             {arrives}, after the last period starts",
                            per.start
                        ));
                        (n..n, 1.0)
                    }
                }
            }
        };
        let currency = per
            .budgets
            .get(&env.id)
            .map_or(&env.budget.currency, |m| &m.currency);
        let Ok(cost) = scenario
            .fx
            .convert(&c.price.scale(l.units as f64 * hours), currency)
            .map(|m| m.amount)
        else {
            bad.push(format!("{who}: cannot convert its price"));
            continue;
        };
        if (cost - l.spend).abs() > rel(cost) {
            bad.push(format!("{who}: spend {} but price gives {cost}", l.spend));
        }
        *spend.entry((env.id.as_str(), u)).or_default() += cost;
        mix.entry((env.id.as_str(), u)).or_default().push((
            a.vendor_country.as_str(),
            cost,
            l.units as f64,
        ));
        let w = match a.power_w.get() {
            Some(w) => w * l.units as f64 * site.pue,
            None => {
                bad.push(format!("{who}: bought with unknown power"));
                0.0
            }
        };
        if l.serving_nodes > l.nodes {
            bad.push(format!(
                "{who}: {} serving nodes of {}",
                l.serving_nodes, l.nodes
            ));
        }
        for v in present {
            *serving[v].entry(l.candidate.as_str()).or_default() +=
                l.serving_nodes.min(l.nodes) * c.accels_per_node as u64;
            *power_w.entry((site.id.as_str(), v)).or_default() += w;
            pflops[v] += l.effective_pflops;
            *units_by_part[v].entry(l.accelerator.as_str()).or_default() += l.units;
        }
        ordered[u].push(l);
    }
    for e in &scenario.envelopes {
        let mut total = 0.0;
        for (u, per) in periods.iter().enumerate() {
            let s = spend.get(&(e.id.as_str(), u)).copied().unwrap_or(0.0);
            total += s;
            let limit = per.budgets.get(&e.id).unwrap_or(&e.budget).amount;
            if s > limit + rel(limit) {
                bad.push(format!(
                    "envelope {} in {}: spends {s} > budget {limit}",
                    e.id, per.id
                ));
            }
        }
        if total > e.budget.amount + rel(e.budget.amount) {
            bad.push(format!(
                "envelope {}: spends {total} over all periods > budget {}",
                e.id, e.budget.amount
            ));
        }
    }
    for m in &scenario.supplier_mix {
        for (u, per) in periods.iter().enumerate() {
            let lines = mix.get(&(m.envelope.as_str(), u)).into_iter().flatten();
            let (dom, tot) = mix_weights(m, lines.copied());
            if tot > 0.0 && dom < m.min_share * tot - rel(tot) {
                bad.push(format!(
                    "supplier mix {} in {}: domestic share {:.4} < {}",
                    m.id,
                    per.id,
                    dom / tot,
                    m.min_share
                ));
            }
        }
    }
    for cap in &scenario.supply_caps {
        for (u, per) in periods.iter().enumerate() {
            let units: u64 = ordered[u]
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
            if units > cap.max_accels {
                bad.push(format!(
                    "supply cap {} in {}: {units} accelerators > {}",
                    cap.id, per.id, cap.max_accels
                ));
            }
        }
    }
    for s in &scenario.sites {
        for (v, per) in periods.iter().enumerate() {
            let planned = power_w.get(&(s.id.as_str(), v)).copied().unwrap_or(0.0);
            if planned == 0.0 {
                continue;
            }
            let existing = existing_draw_w(scenario, catalog, &s.id, s.pue, per.start);
            let limit = s.power_mw * 1e6;
            if existing + planned > limit + rel(limit) {
                bad.push(format!(
                    "site {} in {}: {:.3} MW > {} MW",
                    s.id,
                    per.id,
                    (existing + planned) / 1e6,
                    s.power_mw
                ));
            }
        }
    }
    if plan.objective.kind != Objective::MaxCompute {
        for (v, per) in periods.iter().enumerate() {
            if let Some(t) = per.target_pflops.or(plan.objective.target_pflops) {
                if pflops[v] < t - rel(t) {
                    bad.push(format!(
                        "target in {}: {} PFLOPS present < {t}",
                        per.id, pflops[v]
                    ));
                }
            }
        }
    }
    // The plan's own account of its periods must be what the lines give.
    let ids: Vec<&str> = plan.periods.iter().map(|q| q.id.as_str()).collect();
    let want: Vec<&str> = periods.iter().map(|p| p.id.as_str()).collect();
    if ids != want {
        bad.push(format!(
            "periods: the plan lists {} but the scenario has {}",
            ids.join(", "),
            want.join(", ")
        ));
        return bad;
    }
    for (v, q) in plan.periods.iter().enumerate() {
        let mut listed: Vec<(&str, u64)> = q
            .lines
            .iter()
            .map(|l| (l.candidate.as_str(), l.nodes))
            .collect();
        let mut own: Vec<(&str, u64)> = ordered[v]
            .iter()
            .map(|l| (l.candidate.as_str(), l.nodes))
            .collect();
        listed.sort_unstable();
        own.sort_unstable();
        if listed != own {
            bad.push(format!(
                "period {}: lists orders {listed:?} but the lines order {own:?} in it",
                q.id
            ));
        }
        for part in &q.capacity {
            let have = units_by_part[v]
                .get(part.accelerator.as_str())
                .copied()
                .unwrap_or(0);
            if part.units != have {
                bad.push(format!(
                    "period {}: claims {} units of {} present, but deliveries and leases give {have}",
                    q.id, part.units, part.accelerator
                ));
            }
        }
        for (part, &have) in &units_by_part[v] {
            if have > 0 && !q.capacity.iter().any(|c| c.accelerator == *part) {
                bad.push(format!(
                    "period {}: {have} units of {part} are present but not listed",
                    q.id
                ));
            }
        }
        if (q.effective_pflops - pflops[v]).abs() > rel(pflops[v]) {
            bad.push(format!(
                "period {}: claims {} effective PFLOPS present, but the lines give {}",
                q.id, q.effective_pflops, pflops[v]
            ));
        }
        verify_period_services(&mut bad, scenario, &periods[v], q, &serving[v]);
    }
    bad
}

/// A period's services: each `[[service]]` listed once with the period's demand, covered at
/// most in full, what is short reported as a shortfall, and no candidate serving with more
/// accelerators than its lines bought (or leased) to serve and present in the period.
fn verify_period_services(
    bad: &mut Vec<String>,
    scenario: &Scenario,
    per: &xpufleet_model::Period,
    q: &crate::PeriodPlan,
    serving: &BTreeMap<&str, u64>,
) {
    let rel = |x: f64| 1e-7 * x.abs().max(1.0);
    let ids: Vec<&str> = q.services.iter().map(|v| v.id.as_str()).collect();
    let want: Vec<&str> = scenario.services.iter().map(|v| v.id.as_str()).collect();
    if ids != want {
        bad.push(format!(
            "period {}: lists services {ids:?}, the scenario has {want:?}",
            q.id
        ));
        return;
    }
    let mut used: BTreeMap<&str, u64> = BTreeMap::new();
    for (v, svc) in q.services.iter().zip(&scenario.services) {
        let (_, output) = per.service_volumes(svc);
        if (v.output_tokens_per_day - output).abs() > rel(output) {
            bad.push(format!(
                "period {}: service {} demands {} output tokens a day, the scenario {output}",
                q.id, v.id, v.output_tokens_per_day
            ));
        }
        if v.covered_output_tokens_per_day > output + rel(output) {
            bad.push(format!(
                "period {}: service {} covered {} > its demand {output}",
                q.id, v.id, v.covered_output_tokens_per_day
            ));
        }
        let short = v
            .shortfall
            .as_ref()
            .map_or(0.0, |s| s.output_tokens_per_day);
        if (v.covered_output_tokens_per_day + short - output).abs() > 1e-6 * output.max(1.0) {
            bad.push(format!(
                "period {}: service {} covers {} and is short by {short}, not its demand {output}",
                q.id, v.id, v.covered_output_tokens_per_day
            ));
        }
        for b in &v.by_accelerator {
            if let Some(c) = &b.candidate {
                *used.entry(c.as_str()).or_default() += b.accelerators;
            }
        }
    }
    for (c, n) in used {
        let have = serving.get(c).copied().unwrap_or(0);
        if n > have {
            bad.push(format!(
                "period {}: {c} serves with {n} accelerators, but its lines bought {have} to \
                 serve that are present then",
                q.id
            ));
        }
    }
}
