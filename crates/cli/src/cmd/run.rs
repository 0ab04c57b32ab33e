//! `xpufleet run`: the main job. Validates a scenario, checks every pool and candidate against
//! the rules as of a date, plans procurement (and re-plans under the what-if), builds the planned
//! fleet (existing pools plus the plan's lines as new pools), simulates the scenario's training
//! jobs on it, and writes the report: `report.html`, `report.json` and one CSV per table.
//!
//! Every engine's answer becomes one section of `xpufleet_report::ReportData`; an engine that
//! cannot answer (an infeasible plan, no jobs) leaves its section "not available" with the
//! reason, never stand-in numbers. Nothing here reads the clock into the report: the same
//! scenario, date, policy and seed give byte-identical JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use xpufleet_comply::{CheckReport, RuleEngine, RuleSet, Status, UseKind};
use xpufleet_model::{Acquisition, CandidateMode, Catalog, Date, Pool, Scenario};
use xpufleet_perf::PerfModel;
use xpufleet_plan::{Plan, PlanOptions};
use xpufleet_report::{self as report, Section};
use xpufleet_sched::Policy;
use xpufleet_sim::scenario::{prepare, Prepared};
use xpufleet_sim::{simulate, Config, Failures, LogEvent};

use crate::common::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file (TOML); the built-in example when absent.
    #[arg(value_name = "SCENARIO")]
    scenario: Option<PathBuf>,
    /// Folder to write the report to (created if needed; files in it are overwritten).
    #[arg(long, default_value = "xpufleet-report", value_name = "DIR")]
    out: PathBuf,
    /// Apply the rules in force on this date (YYYY-MM-DD); the scenario's date by default.
    #[arg(long, value_name = "DATE")]
    as_of: Option<String>,
    /// Scheduling policy of the simulation: fifo, easy-backfill, las, las-het, fifo-het,
    /// finish-time or cost.
    #[arg(long, default_value = "fifo-het", value_name = "NAME")]
    policy: String,
    /// Seed of the simulation's random accelerator failures.
    #[arg(long, default_value_t = 0, value_name = "N")]
    seed: u64,
    /// Simulate without accelerator failures.
    #[arg(long)]
    no_failures: bool,
}

/// Steps shown on a terminal; nothing when stderr is not one.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(steps: u64) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let b = indicatif::ProgressBar::new(steps);
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg}")
                .expect("a valid template"),
        );
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        Progress(Some(b))
    }

    fn step(&self, msg: &str) {
        if let Some(b) = &self.0 {
            b.inc(1);
            b.set_message(msg.to_string());
        }
    }

    fn message(&self, msg: String) {
        if let Some(b) = &self.0 {
            b.set_message(msg);
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let policy: Policy = args
        .policy
        .parse()
        .map_err(|e: String| anyhow!("--policy: {e}"))?;
    let progress = Progress::new(6);
    progress.step("validating the scenario");
    let loaded =
        xpufleet_io::validate::check_scenario(args.scenario.as_deref(), ctx.catalog.as_deref())
            .map_err(|d| anyhow!("{d}"))?;
    let sc = &loaded.scenario;
    let catalog = &loaded.catalog;
    let as_of = match &args.as_of {
        Some(s) => s.parse::<Date>().map_err(|e| anyhow!("--as-of: {e}"))?,
        None => sc.date,
    };
    let rules = xpufleet_io::rules::scenario_rule_set(&loaded, &[]).map_err(|d| anyhow!("{d}"))?;
    let engine = RuleEngine::new(rules.clone(), sc, catalog);
    let perf = PerfModel::default();
    let mut notes: Vec<String> = Vec::new();

    progress.step("checking every pool and candidate against the rules");
    let checked = engine.check(as_of);
    let compliance = compliance_section(&checked, sc);

    progress.step("planning procurement");
    let opts = PlanOptions {
        date: Some(as_of),
        ..PlanOptions::default()
    };
    let base = xpufleet_plan::plan(sc, catalog, &engine, &perf, &opts);
    let plan_section = match &base {
        Ok(p) => {
            for w in &p.warnings {
                notes.push(format!("plan: {w}"));
            }
            Section::available(plan_data(p, sc))
        }
        Err(e) => Section::unavailable(format!("no procurement plan: {e}")),
    };

    progress.step("re-planning under the what-if");
    let what_if = match &base {
        Ok(b) => what_if_section(&loaded, &engine, &rules, &perf, as_of, b)?,
        Err(_) => Section::unavailable("there is no base plan to compare with"),
    };

    progress.step("simulating the workload on the planned fleet");
    let planned = planned_scenario(sc, base.as_ref().ok(), as_of);
    let fleet = Section::available(fleet_data(&planned, catalog));
    let sim = simulate_fleet(
        &planned,
        catalog,
        &rules,
        &perf,
        as_of,
        policy,
        args.seed,
        !args.no_failures,
        &progress,
    );
    let (workload, cost_energy) = match sim {
        Ok(s) => {
            notes.extend(s.notes);
            (Section::available(s.workload), s.cost)
        }
        Err(why) => (
            Section::unavailable(why.clone()),
            Section::unavailable(format!("no simulation: {why}")),
        ),
    };

    let data = report::ReportData {
        meta: report::Meta {
            scenario: sc.name.clone(),
            description: sc.description.clone(),
            origin: loaded.origin.clone(),
            company: sc.company.clone(),
            as_of,
            seed: args.seed,
            policy: policy.name().to_string(),
            generator: format!("xpufleet {}", env!("CARGO_PKG_VERSION")),
        },
        labels: labels(&planned, catalog),
        fleet,
        plan: plan_section,
        what_if,
        compliance,
        workload,
        cost_energy,
        notes,
    };

    progress.step("writing the report");
    let files = report::render_all(&data);
    crate::common::write_files_atomic(&args.out, &files)?;
    // A table an earlier report wrote but this one has no data for would contradict it.
    for name in report::CSV_NAMES {
        let path = args.out.join(name);
        if !files.iter().any(|f| f.0 == name) && path.is_file() {
            std::fs::remove_file(&path)
                .with_context(|| format!("removing the stale {}", path.display()))?;
        }
    }
    progress.finish();
    print_summary(&data, &args.out, files.len());
    Ok(())
}

fn print_summary(d: &report::ReportData, out: &std::path::Path, n_files: usize) {
    use xpufleet_report::format::{duration, int, pct, usd};
    println!(
        "xpufleet run: {} as of {} (policy {}, seed {})",
        d.meta.scenario, d.meta.as_of, d.meta.policy, d.meta.seed
    );
    match d.plan.get() {
        Some(p) => println!(
            "  plan      {} lines, {} accelerators, {} spent, +{} effective PFLOPS",
            p.lines.len(),
            int(p.accels()),
            usd(p.spend_usd()),
            report::format::sig3(p.effective_pflops)
        ),
        None => println!(
            "  plan      not available: {}",
            d.plan.reason().unwrap_or("")
        ),
    }
    match d.compliance.get() {
        Some(c) => println!(
            "  rules     {} of {} uses not allowed; {} pool(s) unverified",
            c.rows.iter().filter(|r| !r.usable).count(),
            c.rows.len(),
            c.unverified.len()
        ),
        None => println!("  rules     not available"),
    }
    if let Some(w) = d.what_if.get() {
        println!(
            "  what-if   {}: effective PFLOPS {} → {}",
            w.name,
            report::format::sig3(w.base_effective_pflops),
            report::format::sig3(w.what_if_effective_pflops)
        );
    }
    match d.workload.get() {
        Some(w) => {
            let busy: Vec<String> = w
                .utilisation
                .iter()
                .map(|u| format!("{} {}", u.accelerator, pct(u.mean)))
                .collect();
            println!(
                "  workload  {}/{} jobs done, mean JCT {}, makespan {}; busy: {}",
                w.stats.completed,
                w.stats.jobs,
                w.stats.jct_mean_s.map_or("–".into(), duration),
                duration(w.stats.makespan_s as f64),
                busy.join(", ")
            );
        }
        None => println!(
            "  workload  not available: {}",
            d.workload.reason().unwrap_or("")
        ),
    }
    if let Some(c) = d.cost_energy.get() {
        println!(
            "  cost      {} and {} MWh to run the workload",
            usd(c.total_cost_usd),
            report::format::sig3(c.total_energy_mwh)
        );
    }
    println!(
        "report: {} ({} files in {})",
        out.join("report.html").display(),
        n_files,
        out.display()
    );
}

fn use_str(k: UseKind) -> &'static str {
    match k {
        UseKind::Own => "own",
        UseKind::Operate => "operate",
        UseKind::Remote => "remote",
    }
}

fn compliance_section(checked: &CheckReport, sc: &Scenario) -> Section<report::Compliance> {
    let rows = checked
        .uses
        .iter()
        .chain(&checked.candidates)
        .map(|u| {
            let e = &u.eval;
            let v = &e.verdict;
            let citations = v
                .rules
                .iter()
                .map(|r| {
                    e.findings
                        .iter()
                        .chain(&e.notices)
                        .find(|f| &f.rule == r)
                        .map(|f| f.citation.to_string())
                        .unwrap_or_default()
                })
                .collect();
            let classification = e.classification.as_ref().and_then(|c| match c.status {
                Status::NotControlled => None,
                _ => Some(c.label()),
            });
            report::ComplianceRow {
                target: e.target.clone(),
                target_kind: e.target_kind.to_string(),
                accelerator: e.accelerator.clone(),
                site: e.site.clone(),
                country: e.site_country.clone().unwrap_or_default(),
                classification,
                user: e.user.clone(),
                use_kind: use_str(e.mode).to_string(),
                outcome: v.outcome,
                verified: v.verified,
                usable: v.usable(),
                rules: v.rules.clone(),
                citations,
                reasons: v.reasons.clone(),
                would_change: v.would_change.clone(),
            }
        })
        .collect();
    let unverified = checked
        .unverified
        .iter()
        .filter(|u| u.target_kind == "pool")
        .map(|u| {
            let pool = sc.pool(&u.target);
            report::UnverifiedRow {
                pool: u.target.clone(),
                site: u.site.clone(),
                accelerator: pool.map(|p| p.accelerator.clone()).unwrap_or_default(),
                accels: pool.map_or(0, Pool::accelerators),
                missing: u.missing.clone(),
            }
        })
        .collect();
    Section::available(report::Compliance { rows, unverified })
}

fn mode_str(m: CandidateMode) -> String {
    m.to_string()
}

/// The plan's effective PFLOPS as the performance model's 80% interval.
fn pflops_interval(point: f64) -> report::PflopsInterval {
    let perf = PerfModel::default();
    let [lo, hi] = perf.interval_factors();
    report::PflopsInterval {
        level: perf.calibration.interval_level,
        stack: perf.stack.to_string(),
        pflops: [point * lo, point * hi],
    }
}

fn plan_data(p: &Plan, sc: &Scenario) -> report::Plan {
    let lines: Vec<report::PlanLine> = p
        .lines
        .iter()
        .map(|l| report::PlanLine {
            candidate: l.candidate.clone(),
            accelerator: l.accelerator.clone(),
            vendor: l.vendor.clone(),
            site: l.site.clone(),
            country: l.country.clone(),
            mode: mode_str(l.mode),
            nodes: l.nodes,
            accels: l.units,
            chips: l.chips,
            spend: l.spend,
            currency: l.currency.clone(),
            spend_usd: l.spend_usd,
            envelope: l.envelope.clone(),
            effective_pflops: Some(l.effective_pflops),
            power_mw: Some(l.power_mw),
        })
        .collect();
    let envelopes = p
        .envelopes
        .iter()
        .map(|e| {
            let env = sc.envelope(&e.id);
            let to_usd = |amount: f64| {
                sc.fx
                    .to_usd(&xpufleet_model::Money::new(amount, e.currency.as_str()))
                    .unwrap_or(f64::NAN)
            };
            report::EnvelopeSpend {
                id: e.id.clone(),
                description: env.map(|x| x.description.clone()).unwrap_or_default(),
                currency: e.currency.clone(),
                budget: e.budget,
                spent: e.spent,
                budget_usd: to_usd(e.budget),
                spent_usd: e.spent_usd.unwrap_or_else(|| to_usd(e.spent)),
            }
        })
        .collect();
    let objective_unit = p.objective.unit.clone();
    let constraints = p
        .constraints
        .iter()
        .map(|c| {
            let mut detail = format!(
                "{} {} {} {}",
                report::format::sig3(c.value),
                c.sense,
                report::format::sig3(c.limit),
                c.unit
            );
            let mut value = None;
            if let Some(r) = &c.relaxation {
                value = r.objective_delta;
                match r.objective_delta {
                    Some(d) => detail.push_str(&format!(
                        "; {}: {}{} {objective_unit}",
                        r.step,
                        if d >= 0.0 { "+" } else { "" },
                        report::format::sig3(d)
                    )),
                    None => detail.push_str(&format!("; {}: no better plan", r.step)),
                }
            }
            report::ConstraintRow {
                id: c.id.clone(),
                binding: c.binding,
                value,
                detail,
            }
        })
        .collect();
    report::Plan {
        as_of: p.date,
        objective: p.objective.kind.as_str().to_string(),
        objective_value: p.objective.value,
        effective_pflops: p.effective_pflops,
        effective_pflops_interval: Some(pflops_interval(p.effective_pflops)),
        spend_by_vendor: report::spend_by(&lines, |l| l.vendor.clone()),
        spend_by_site: report::spend_by(&lines, |l| l.site.clone()),
        supplier_shares: p
            .supplier_mix
            .iter()
            .map(|m| report::SupplierShare {
                id: m.id.clone(),
                envelope: m.envelope.clone(),
                domestic_country: m.domestic_country.clone(),
                min_share: m.min_share,
                share: m.share,
            })
            .collect(),
        constraints,
        excluded: p
            .excluded
            .iter()
            .map(|e| report::ExcludedRow {
                candidate: e.candidate.clone(),
                reason: e.reason.clone(),
            })
            .collect(),
        lines,
        envelopes,
    }
}

/// The first date after `as_of` on which a rule takes effect, starts to require compliance or
/// lapses, with the ids of those rules.
fn next_rule_change(rules: &RuleSet, as_of: Date) -> Option<(Date, Vec<String>)> {
    let mut by_date: BTreeMap<Date, BTreeSet<String>> = BTreeMap::new();
    for r in &rules.rules {
        let dates = [
            Some(r.rule.effective_from),
            r.rule.compliance_from,
            r.rule.effective_to.map(|d| d.plus_days(1)),
        ];
        for d in dates.into_iter().flatten().filter(|d| *d > as_of) {
            by_date.entry(d).or_default().insert(r.id.clone());
        }
    }
    by_date
        .into_iter()
        .next()
        .map(|(d, ids)| (d, ids.into_iter().collect()))
}

/// The alternative plan: the scenario's `plan.what_if` file applied to the scenario, or, when it
/// names none, the plan as of the next rule change after the date. A what-if file that does not
/// parse or names what the scenario lacks is bad input (an `Err`); a what-if that cannot be
/// planned is an answer (an unavailable section).
fn what_if_section(
    loaded: &xpufleet_io::LoadedScenario,
    engine: &RuleEngine,
    rules: &RuleSet,
    perf: &PerfModel,
    as_of: Date,
    base: &Plan,
) -> Result<Section<report::WhatIf>> {
    let sc = &loaded.scenario;
    let catalog = &loaded.catalog;
    let (name, description, date, alt) = match &sc.plan.what_if {
        Some(rel) => {
            let (origin, text) = loaded
                .read_relative(rel)
                .map_err(|d| anyhow!("plan.what_if: {d}"))?;
            let w =
                xpufleet_io::whatif::parse_what_if(&text, &origin).map_err(|d| anyhow!("{d}"))?;
            let (alt_sc, alt_cat) = w.apply(sc, catalog).map_err(|d| anyhow!("{d}"))?;
            // Rule packs the what-if adds are read relative to the what-if file.
            let dir = std::path::Path::new(&origin)
                .parent()
                .map(|p| p.to_path_buf())
                .unwrap_or_default();
            let extra: Vec<PathBuf> = w.what_if.rule_packs.iter().map(|r| dir.join(r)).collect();
            let alt_rules = if extra.is_empty() {
                rules.clone()
            } else {
                xpufleet_io::rules::scenario_rule_set(loaded, &extra).map_err(|d| anyhow!("{d}"))?
            };
            let date = w.what_if.as_of.unwrap_or(as_of);
            let alt_engine = RuleEngine::new(alt_rules, &alt_sc, &alt_cat);
            let opts = PlanOptions {
                date: Some(date),
                sensitivity: false,
                ..PlanOptions::default()
            };
            let alt = xpufleet_plan::plan(&alt_sc, &alt_cat, &alt_engine, perf, &opts);
            let name = if w.what_if.name.is_empty() {
                rel.clone()
            } else {
                w.what_if.name.clone()
            };
            let description = if w.what_if.description.is_empty() {
                w.changes().join("; ")
            } else {
                w.what_if.description.clone()
            };
            (name, description, date, alt)
        }
        None => {
            let Some((date, ids)) = next_rule_change(rules, as_of) else {
                return Ok(Section::unavailable(format!(
                    "the scenario names no what-if (plan.what_if) and no rule changes after {as_of}"
                )));
            };
            let opts = PlanOptions {
                date: Some(date),
                sensitivity: false,
                ..PlanOptions::default()
            };
            let alt = xpufleet_plan::plan(sc, catalog, engine, perf, &opts);
            let shown: Vec<&str> = ids.iter().take(4).map(String::as_str).collect();
            let more = if ids.len() > 4 {
                format!(" and {} more", ids.len() - 4)
            } else {
                String::new()
            };
            (
                format!("rules of {date}"),
                format!(
                    "the plan re-solved as of the next rule change after {as_of}: {}{more}",
                    shown.join(", ")
                ),
                date,
                alt,
            )
        }
    };
    let alt = match alt {
        Ok(p) => p,
        Err(e) => {
            return Ok(Section::unavailable(format!(
                "re-planning under the what-if {name} failed: {e}"
            )));
        }
    };
    let diff = xpufleet_plan::diff(base, &alt);
    let mut changes: Vec<report::WhatIfChange> = Vec::new();
    for l in base.lines.iter().chain(&alt.lines) {
        if changes.iter().any(|c| c.candidate == l.candidate) {
            continue;
        }
        let b = base.lines.iter().find(|x| x.candidate == l.candidate);
        let a = alt.lines.iter().find(|x| x.candidate == l.candidate);
        changes.push(report::WhatIfChange {
            candidate: l.candidate.clone(),
            accelerator: l.accelerator.clone(),
            site: l.site.clone(),
            mode: mode_str(l.mode),
            base_accels: b.map_or(0, |x| x.units),
            what_if_accels: a.map_or(0, |x| x.units),
            base_spend_usd: b.map_or(0.0, |x| x.spend_usd),
            what_if_spend_usd: a.map_or(0.0, |x| x.spend_usd),
        });
    }
    Ok(Section::available(report::WhatIf {
        name,
        description,
        as_of: date,
        base_effective_pflops: diff.pflops_base,
        what_if_effective_pflops: diff.pflops_alt,
        base_spend_usd: diff.spend_usd_base,
        what_if_spend_usd: diff.spend_usd_alt,
        changes,
        newly_excluded: diff
            .newly_excluded
            .iter()
            .map(|e| report::ExcludedRow {
                candidate: e.candidate.clone(),
                reason: e.reason.clone(),
            })
            .collect(),
    }))
}

/// Prefix of the pools the plan adds to the fleet.
const PLANNED_PREFIX: &str = "plan:";

/// The scenario with each plan line as a new pool (`plan:<candidate>`), bought or leased as of
/// `as_of`, so the rule engine and the simulator see the planned fleet.
fn planned_scenario(sc: &Scenario, plan: Option<&Plan>, as_of: Date) -> Scenario {
    let mut out = sc.clone();
    let Some(plan) = plan else { return out };
    for l in &plan.lines {
        let Some(c) = sc.candidates.iter().find(|c| c.id == l.candidate) else {
            continue;
        };
        let per_node = c.accels_per_node.max(1);
        let (acquisition, owner) = match c.mode {
            CandidateMode::Buy => (
                Acquisition::Bought {
                    price: c.price.clone(),
                    date: Some(as_of),
                    life_years: 4.0,
                },
                None,
            ),
            CandidateMode::Lease => {
                let lessor = c
                    .lessor
                    .clone()
                    .or_else(|| sc.site(&c.site).map(|s| s.owner.clone()))
                    .unwrap_or_default();
                (
                    Acquisition::Leased {
                        rate: c.price.clone(),
                        from: lessor.clone(),
                        until: None,
                    },
                    Some(lessor),
                )
            }
        };
        out.pools.push(Pool {
            id: format!("{PLANNED_PREFIX}{}", c.id),
            site: c.site.clone(),
            accelerator: c.accelerator.clone(),
            nodes: l.nodes.min(u32::MAX as u64) as u32,
            accels_per_node: per_node,
            scaleup_domain: c.scaleup_domain.unwrap_or(per_node).max(per_node),
            acquisition,
            owner,
            licences: c.licences.clone(),
            history: vec![],
        });
    }
    out
}

fn fleet_data(sc: &Scenario, catalog: &Catalog) -> report::Fleet {
    let pools = sc
        .pools
        .iter()
        .map(|p| {
            let a = catalog.get(&p.accelerator);
            let site = sc.site(&p.site);
            let accels = p.accelerators();
            report::FleetPool {
                id: p.id.clone(),
                origin: if p.id.starts_with(PLANNED_PREFIX) {
                    report::PoolOrigin::Planned
                } else {
                    report::PoolOrigin::Existing
                },
                accelerator: p.accelerator.clone(),
                vendor: a.map(|a| a.vendor.clone()).unwrap_or_default(),
                site: p.site.clone(),
                country: site.map(|s| s.country.clone()).unwrap_or_default(),
                accels,
                peak_pflops: a
                    .and_then(|a| a.tflops_bf16.get())
                    .map(|t| t * accels as f64 / 1000.0),
                power_mw: match (a.and_then(|a| a.power_w.get()), site) {
                    (Some(w), Some(s)) => Some(w * accels as f64 * s.pue / 1e6),
                    _ => None,
                },
            }
        })
        .collect();
    let sites: Vec<(String, String, f64)> = sc
        .sites
        .iter()
        .map(|s| (s.id.clone(), s.country.clone(), s.power_mw))
        .collect();
    report::Fleet::new(pools, &sites)
}

fn labels(sc: &Scenario, catalog: &Catalog) -> report::Labels {
    let mut l = report::Labels::default();
    let ids = sc
        .pools
        .iter()
        .map(|p| &p.accelerator)
        .chain(sc.candidates.iter().map(|c| &c.accelerator));
    for id in ids {
        if let Some(a) = catalog.get(id) {
            l.accelerators.insert(id.clone(), a.name.clone());
        }
    }
    for s in &sc.sites {
        if !s.name.is_empty() {
            l.sites.insert(s.id.clone(), s.name.clone());
        }
    }
    l
}

struct SimSections {
    workload: report::Workload,
    cost: Section<report::CostEnergy>,
    notes: Vec<String>,
}

/// Simulates the scenario's jobs on its pools (the planned fleet) and reads the event log back
/// into job rows, utilisation over time and cost and energy per accelerator type.
#[allow(clippy::too_many_arguments)]
fn simulate_fleet(
    sc: &Scenario,
    catalog: &Catalog,
    rules: &RuleSet,
    perf: &PerfModel,
    as_of: Date,
    policy: Policy,
    seed: u64,
    failures: bool,
    progress: &Progress,
) -> std::result::Result<SimSections, String> {
    if sc.jobs.is_empty() {
        return Err("the scenario has no [[job]]s to simulate".into());
    }
    let gate = RuleEngine::new(rules.clone(), sc, catalog);
    let Prepared { fleet, jobs, .. } =
        prepare(sc, catalog, &gate, perf, as_of).map_err(|e| e.to_string())?;
    let cfg = Config {
        policy,
        seed,
        round_s: None,
        restart_delay_s: if failures {
            perf.reliability.restart_s.max(0.0) as u64
        } else {
            0
        },
        failures: failures.then_some(Failures {
            rate_per_chip_hour: perf.reliability.failure_rate_per_chip_hour,
            repair_s: 4 * 3600,
            checkpoint_interval_s: 1800,
        }),
        log: true,
    };
    let out = simulate(fleet, jobs, &cfg, &mut |done, total| {
        progress.message(format!("simulating the workload: {done}/{total} jobs done"));
    });
    let mut notes = Vec::new();
    for (reason, n) in &out.metrics.rejected {
        notes.push(format!(
            "simulation: {n} job(s) can never run on the planned fleet: {reason}"
        ));
    }
    if out.metrics.rejected_decisions > 0 {
        notes.push(format!(
            "simulation: {} scheduler decision(s) were refused on re-check",
            out.metrics.rejected_decisions
        ));
    }
    let pool_accel: Vec<String> = sc.pools.iter().map(|p| p.accelerator.clone()).collect();
    let replay = replay_log(&out.log, sc.jobs.len(), sc.pools.len());
    let unfinished: BTreeMap<usize, String> = out
        .unfinished
        .iter()
        .map(|(id, r)| (*id as usize, r.to_string()))
        .collect();

    // Jobs.
    let job_rows: Vec<report::JobRow> = sc
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| {
            let r = &replay.jobs[i];
            let status = if r.end.is_some() {
                "completed"
            } else if r.rejected.is_some() {
                "rejected"
            } else if r.running {
                "running"
            } else {
                "waiting"
            };
            let pools: Vec<&str> = r.pools.iter().map(|&p| sc.pools[p].id.as_str()).collect();
            report::JobRow {
                id: j.id.clone(),
                name: j.name.clone(),
                tenant: j.tenant.clone(),
                accels: if r.accels > 0 {
                    r.accels
                } else {
                    j.max_accels.max(j.min_accels)
                },
                accelerator: r.pools.first().map(|&p| pool_accel[p].clone()),
                pool: (!pools.is_empty()).then(|| pools.join(" + ")),
                submit_s: j.submit_s,
                start_s: r.first_start,
                end_s: r.end,
                status: status.to_string(),
                reason: r.rejected.clone().or_else(|| unfinished.get(&i).cloned()),
            }
        })
        .collect();
    let horizon_s = replay.last_t.max(1);

    // Utilisation per accelerator type (summed over the countries it sits in).
    let mut capacity: BTreeMap<String, u64> = BTreeMap::new();
    for p in &sc.pools {
        *capacity.entry(p.accelerator.clone()).or_default() += p.accelerators();
    }
    let utilisation = capacity
        .iter()
        .map(|(accel, &cap)| {
            let pools: Vec<usize> = (0..sc.pools.len())
                .filter(|&p| &pool_accel[p] == accel)
                .collect();
            let points = replay.busy_series(&pools);
            report::UtilSeries::new(accel.clone(), cap, points, horizon_s)
        })
        .collect();

    let cost = cost_energy(sc, catalog, perf, &replay.chip_seconds, &mut notes);
    Ok(SimSections {
        workload: report::Workload {
            policy: policy.name().to_string(),
            horizon_s,
            stats: report::JctStats::from_jobs(&job_rows),
            jobs: job_rows,
            utilisation,
            preemptions: out.metrics.preemptions,
            failures: out.metrics.failures,
        },
        cost,
        notes,
    })
}

/// What the event log says about one job.
#[derive(Debug, Clone, Default)]
struct JobTrace {
    first_start: Option<u64>,
    end: Option<u64>,
    rejected: Option<String>,
    running: bool,
    /// Pools of its latest start, in slot order.
    pools: Vec<usize>,
    accels: u32,
}

/// The event log read back: per-job history, busy accelerators per pool over time, and
/// accelerator-seconds used per pool.
struct Replay {
    jobs: Vec<JobTrace>,
    /// (time, pool, change in busy accelerators), in log order.
    changes: Vec<(u64, usize, i64)>,
    chip_seconds: Vec<f64>,
    last_t: u64,
}

impl Replay {
    /// Busy accelerators over the given pools as a step function, one point per time.
    fn busy_series(&self, pools: &[usize]) -> Vec<report::UtilPoint> {
        let mut pts = vec![report::UtilPoint { t_s: 0, busy: 0 }];
        let mut busy: i64 = 0;
        for &(t, p, d) in &self.changes {
            if !pools.contains(&p) {
                continue;
            }
            busy += d;
            let point = report::UtilPoint {
                t_s: t,
                busy: busy.max(0) as u64,
            };
            match pts.last_mut() {
                Some(last) if last.t_s == t => *last = point,
                _ => pts.push(point),
            }
        }
        // Drop points that repeat the previous value.
        pts.dedup_by(|b, a| a.busy == b.busy);
        pts
    }
}

/// Accelerators a running job holds: (start time, (pool, accelerators) per pool).
type Held = BTreeMap<usize, (u64, Vec<(usize, u32)>)>;

fn replay_log(log: &[LogEvent], n_jobs: usize, n_pools: usize) -> Replay {
    let mut jobs = vec![JobTrace::default(); n_jobs];
    let mut held: Held = BTreeMap::new();
    let mut changes = Vec::new();
    let mut chip_seconds = vec![0.0; n_pools];
    let mut last_t = 0;
    let mut release =
        |job: usize, t: u64, held: &mut Held, changes: &mut Vec<(u64, usize, i64)>| {
            if let Some((start, slots)) = held.remove(&job) {
                for (p, n) in slots {
                    chip_seconds[p] += n as f64 * t.saturating_sub(start) as f64;
                    changes.push((t, p, -(n as i64)));
                }
            }
        };
    for ev in log {
        if let Some(t) = ev.time() {
            last_t = last_t.max(t.secs());
        }
        match ev {
            LogEvent::Start { t, job, slots, .. } => {
                let j = *job as usize;
                let t = t.secs();
                let mut by_pool: Vec<(usize, u32)> = Vec::new();
                for [pool, _node, count] in slots {
                    let p = *pool as usize;
                    match by_pool.iter_mut().find(|(q, _)| *q == p) {
                        Some(e) => e.1 += count,
                        None => by_pool.push((p, *count)),
                    }
                }
                for &(p, n) in &by_pool {
                    changes.push((t, p, n as i64));
                }
                if let Some(jt) = jobs.get_mut(j) {
                    jt.first_start.get_or_insert(t);
                    jt.running = true;
                    jt.pools = by_pool.iter().map(|x| x.0).collect();
                    jt.accels = by_pool.iter().map(|x| x.1).sum();
                }
                held.insert(j, (t, by_pool));
            }
            LogEvent::Finish { t, job } => {
                let j = *job as usize;
                release(j, t.secs(), &mut held, &mut changes);
                if let Some(jt) = jobs.get_mut(j) {
                    jt.end = Some(t.secs());
                    jt.running = false;
                }
            }
            LogEvent::Preempt { t, job }
            | LogEvent::Fail {
                t, job: Some(job), ..
            } => {
                let j = *job as usize;
                release(j, t.secs(), &mut held, &mut changes);
                if let Some(jt) = jobs.get_mut(j) {
                    jt.running = false;
                }
            }
            LogEvent::Reject { job, reason, .. } => {
                if let Some(jt) = jobs.get_mut(*job as usize) {
                    jt.rejected = Some(reason.clone());
                }
            }
            _ => {}
        }
    }
    // Jobs still holding accelerators when the simulation stopped used them until then.
    let still: Vec<usize> = held.keys().copied().collect();
    for j in still {
        release(j, last_t, &mut held, &mut changes);
        if let Some(jt) = jobs.get_mut(j) {
            jt.running = true;
        }
    }
    Replay {
        jobs,
        changes,
        chip_seconds,
        last_t,
    }
}

/// Chip-hours, energy and cost of what each pool ran, by accelerator type. Energy is board power
/// × the performance model's training utilisation plus host overhead, × PUE (as `estimate`);
/// cost is the lease rate, or the price amortised over the pool's life, plus electricity.
fn cost_energy(
    sc: &Scenario,
    catalog: &Catalog,
    perf: &PerfModel,
    chip_seconds: &[f64],
    notes: &mut Vec<String>,
) -> Section<report::CostEnergy> {
    let e = &perf.energy;
    let mut by_accel: BTreeMap<String, report::CostRow> = BTreeMap::new();
    let mut skipped: BTreeMap<String, String> = BTreeMap::new();
    for (p, pool) in sc.pools.iter().enumerate() {
        let chip_hours = chip_seconds.get(p).copied().unwrap_or(0.0) / 3600.0;
        if chip_hours <= 0.0 {
            continue;
        }
        let Some(site) = sc.site(&pool.site) else {
            continue;
        };
        let power_w = catalog.get(&pool.accelerator).and_then(|a| a.power_w.get());
        let Some(power_w) = power_w else {
            skipped.insert(
                pool.id.clone(),
                format!("{}: board power unknown", pool.accelerator),
            );
            continue;
        };
        let energy_mwh =
            chip_hours * power_w * (e.board_utilisation + e.host_overhead_frac) * site.pue / 1e6;
        let compute = match &pool.acquisition {
            Acquisition::Leased { rate, .. } => rate.scale(chip_hours),
            Acquisition::Bought {
                price, life_years, ..
            } => price.scale(chip_hours / (life_years.max(0.1) * 8760.0)),
        };
        let electricity = site.electricity_per_kwh.scale(energy_mwh * 1000.0);
        let usd = match (sc.fx.to_usd(&compute), sc.fx.to_usd(&electricity)) {
            (Ok(a), Ok(b)) => a + b,
            (Err(err), _) | (_, Err(err)) => {
                skipped.insert(pool.id.clone(), err.to_string());
                continue;
            }
        };
        let row = by_accel
            .entry(pool.accelerator.clone())
            .or_insert_with(|| report::CostRow {
                accelerator: pool.accelerator.clone(),
                chip_hours: 0.0,
                energy_mwh: 0.0,
                cost_usd: 0.0,
            });
        row.chip_hours += chip_hours;
        row.energy_mwh += energy_mwh;
        row.cost_usd += usd;
    }
    for (pool, why) in &skipped {
        notes.push(format!("cost and energy: pool {pool} left out: {why}"));
    }
    if by_accel.is_empty() {
        return Section::unavailable(if skipped.is_empty() {
            "no job ran on the planned fleet".to_string()
        } else {
            "no pool that ran jobs has a known board power and exchange rate".to_string()
        });
    }
    let mut rows: Vec<report::CostRow> = by_accel.into_values().collect();
    rows.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then_with(|| a.accelerator.cmp(&b.accelerator))
    });
    Section::available(report::CostEnergy::new(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use xpufleet_model::SimTime;

    fn start(t: u64, job: u32, slots: Vec<[u32; 3]>) -> LogEvent {
        LogEvent::Start {
            t: SimTime(t),
            job,
            accel_type: "x".into(),
            slots,
        }
    }

    #[test]
    fn replay_counts_busy_accelerators_and_chip_seconds() {
        let log = vec![
            start(0, 0, vec![[0, 0, 8], [0, 1, 8]]),
            start(10, 1, vec![[1, 0, 4]]),
            LogEvent::Preempt {
                t: SimTime(20),
                job: 1,
            },
            LogEvent::Finish {
                t: SimTime(100),
                job: 0,
            },
            LogEvent::Reject {
                t: SimTime(5),
                job: 2,
                reason: "too large".into(),
            },
        ];
        let r = replay_log(&log, 3, 2);
        assert_eq!(r.chip_seconds, vec![1600.0, 40.0]);
        assert_eq!(r.jobs[0].first_start, Some(0));
        assert_eq!(r.jobs[0].end, Some(100));
        assert_eq!(r.jobs[0].accels, 16);
        assert!(!r.jobs[1].running && r.jobs[1].end.is_none());
        assert_eq!(r.jobs[2].rejected.as_deref(), Some("too large"));
        let s = r.busy_series(&[0, 1]);
        let pts: Vec<(u64, u64)> = s.iter().map(|p| (p.t_s, p.busy)).collect();
        assert_eq!(pts, vec![(0, 16), (10, 20), (20, 16), (100, 0)]);
        assert_eq!(r.last_t, 100);
    }

    #[test]
    fn next_rule_change_is_strictly_after_the_date() {
        let rules = xpufleet_io::rules::builtin_rule_set();
        let d: Date = "2025-03-01".parse().unwrap();
        let (next, ids) = next_rule_change(&rules, d).expect("the packs change after 2025-03-01");
        assert!(next > d);
        assert!(!ids.is_empty());
        // Nothing changes strictly between the date and the next change.
        let (again, _) = next_rule_change(&rules, next.plus_days(-1)).unwrap();
        assert_eq!(again, next);
    }
}
