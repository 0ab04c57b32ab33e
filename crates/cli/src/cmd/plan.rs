//! `xpufleet plan`: the procurement plan of a scenario (default: the built-in example) as of a
//! date, with the constraints that bind, what relaxing each would buy, the excluded candidates
//! and why; with `--what-if`, the plan re-made under the what-if's changes and the difference.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use xpufleet_io::whatif::{parse_what_if, LoadedWhatIf};
use xpufleet_io::LoadedScenario;
use xpufleet_model::{Date, Money};
use xpufleet_plan::{Objective, Plan, PlanDiff, PlanOptions, SolveStatus, Solver};

use crate::common::{fixed, print_json, signed, table, Ctx};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario file; the built-in example when omitted.
    #[arg(value_name = "SCENARIO")]
    scenario: Option<PathBuf>,
    /// Plan as of this date (YYYY-MM-DD): the rules in force then apply. Default: the
    /// scenario's date.
    #[arg(long, value_name = "DATE")]
    as_of: Option<Date>,
    /// max-compute, min-cost or compute-per-dollar. Default: the scenario's plan.objective.
    #[arg(long, value_name = "NAME")]
    objective: Option<Objective>,
    /// Effective PFLOPS to reach (min-cost; a floor for compute-per-dollar).
    #[arg(long, value_name = "PFLOPS")]
    target: Option<f64>,
    /// Re-plan under a what-if file and show the difference. With no FILE, the scenario's
    /// plan.what_if (read relative to the scenario).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "")]
    what_if: Option<String>,
    /// Rule-pack files added after the built-in packs and the scenario's rule_packs.
    #[arg(long, value_name = "FILE")]
    rules: Vec<PathBuf>,
    /// Skip re-solving with each binding constraint relaxed.
    #[arg(long)]
    no_sensitivity: bool,
    /// Relative gap, in the objective's own units, at which the solver may stop (0 proves
    /// optimality).
    #[arg(long, value_name = "FRACTION", default_value_t = xpufleet_plan::DEFAULT_GAP)]
    gap: f64,
    /// MILP solver: microlp (our branch-and-bound over microlp's LP, pure Rust, always built
    /// in), microlp-bb (microlp's own branch-and-bound) or highs (needs a build with
    /// `--features highs`).
    #[arg(long, value_name = "NAME", default_value = "microlp")]
    solver: Solver,
    /// Seconds one MILP may run before its best plan is taken (status time-limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    time_limit: f64,
    /// Sample the scenario's [[risk]] entries N times: the base plan's spread of compute and
    /// spend, and a robust plan (docs/risk.md).
    #[arg(long, value_name = "N")]
    samples: Option<u64>,
    /// Seed of the samples (same seed, same numbers).
    #[arg(long, value_name = "S", default_value_t = 0, requires = "samples")]
    seed: u64,
    /// What the robust plan maximises: expected, p10 or cvar:LEVEL (e.g. cvar:0.1).
    #[arg(
        long,
        value_name = "MEASURE",
        default_value = "expected",
        requires = "samples"
    )]
    risk_measure: xpufleet_plan::risk::Measure,
    /// as-of: plan by the rules in force on the plan's date and list what changes within the
    /// horizon; strict: plan only what stays usable on every rule change inside the horizon.
    #[arg(long, value_name = "MODE", default_value = "as-of")]
    horizon_rules: xpufleet_app::horizon::HorizonRules,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let loaded = ctx.scenario(args.scenario.as_deref())?;
    let rules = xpufleet_app::read_rule_paths(&args.rules).map_err(|d| anyhow!("{d}"))?;
    let opts = PlanOptions {
        date: args.as_of,
        objective: args.objective,
        target_pflops: args.target,
        sensitivity: !args.no_sensitivity,
        mip_gap: args.gap,
        solver: args.solver,
        time_limit_s: Some(args.time_limit),
        ..PlanOptions::default()
    };
    let what_if = match &args.what_if {
        None => None,
        Some(w) => {
            let what_if = read_what_if(&loaded, w)?;
            // Rule packs the what-if adds are read relative to the what-if file.
            let dir = Path::new(&what_if.origin).parent().unwrap_or(Path::new(""));
            if !what_if.what_if.rule_packs.is_empty()
                && loaded.dir.is_none()
                && args.scenario.is_none()
                && w.is_empty()
            {
                anyhow::bail!(
                    "{}: rule pack {:?} cannot be read from the built-in example",
                    what_if.origin,
                    what_if.what_if.rule_packs[0]
                );
            }
            let files: Vec<PathBuf> = what_if
                .what_if
                .rule_packs
                .iter()
                .map(|r| dir.join(r))
                .collect();
            let rule_packs = xpufleet_app::read_rule_paths(&files).map_err(|d| anyhow!("{d}"))?;
            Some(xpufleet_app::WhatIfInput {
                what_if,
                rule_packs,
            })
        }
    };
    let risk = args.samples.map(|samples| xpufleet_app::risk::RiskOptions {
        samples,
        seed: args.seed,
        measure: args.risk_measure,
    });
    let out = xpufleet_app::plan_horizon(
        &loaded,
        &rules,
        &opts,
        what_if.as_ref(),
        risk.as_ref(),
        args.horizon_rules,
    )?;
    if args.json {
        return print_json(&out);
    }
    print_plan(&out.plan, &loaded);
    print_changes(&out);
    if let (Some(w), Some(o)) = (&what_if, &out.what_if) {
        println!();
        print_what_if(&w.what_if, &o.plan, &o.diff);
    }
    if let Some(r) = &out.risk {
        println!();
        super::risk::print_risk(r);
    }
    Ok(())
}

/// "What changes within the horizon": each plan line whose verdict moves on a rule change
/// before the horizon ends, with the direction and what the line holds.
fn print_changes(out: &xpufleet_app::PlanOutput) {
    let title = format!(
        "What changes within the horizon (to {}; rules: {})",
        out.horizon_end, out.horizon_rules
    );
    if out.verdict_changes.is_empty() {
        crate::common::say!("\n{title}: nothing for the planned lines");
        return;
    }
    let mut t = table();
    t.set_header(vec![
        "date",
        "candidate",
        "verdict",
        "usable",
        "chips",
        "spend USD",
        "eff. PFLOPS",
    ]);
    for c in &out.verdict_changes {
        let yes = |b: bool| if b { "yes" } else { "no" };
        t.add_row(vec![
            c.change.date.to_string(),
            c.change.target.clone(),
            format!("{} -> {}", c.change.from, c.change.to),
            format!(
                "{} -> {} ({})",
                yes(c.change.usable_from),
                yes(c.change.usable_to),
                c.direction
            ),
            c.accelerators.to_string(),
            usd(c.spend_usd),
            format!("{:.1}", c.effective_pflops),
        ]);
    }
    crate::common::say!("\n{title}\n{t}");
    for c in &out.verdict_changes {
        crate::common::say!(
            "  {} {}: {}",
            c.change.date,
            c.change.target,
            c.change.rules.join(", ")
        );
    }
    // A line that stops being usable more than once is counted once.
    let mut lost_lines: Vec<(&str, f64)> = out
        .verdict_changes
        .iter()
        .filter(|c| c.change.usable_from && !c.change.usable_to)
        .map(|c| (c.change.target.as_str(), c.effective_pflops))
        .collect();
    lost_lines.sort_by(|a, b| a.0.cmp(b.0));
    lost_lines.dedup_by(|a, b| a.0 == b.0);
    let lost: f64 = lost_lines.iter().map(|l| l.1).sum();
    if lost > 0.0 {
        crate::common::say!(
            "  {lost:.1} effective PFLOPS of this plan stop being usable before the horizon ends; \
             --horizon-rules strict plans without them"
        );
    }
}

/// The what-if named on the command line, or the scenario's own (`FILE` empty).
fn read_what_if(loaded: &LoadedScenario, file: &str) -> Result<LoadedWhatIf> {
    let (origin, text) = if file.is_empty() {
        let rel = loaded.scenario.plan.what_if.as_deref().ok_or_else(|| {
            anyhow!(
                "{}: plan.what_if is not set; give the file: --what-if FILE",
                loaded.origin
            )
        })?;
        loaded.read_relative(rel).map_err(|d| anyhow!("{d}"))?
    } else {
        let text =
            std::fs::read_to_string(file).map_err(|e| anyhow!("{file}: cannot read: {e}"))?;
        (file.to_string(), text)
    };
    parse_what_if(&text, &origin).map_err(|d| anyhow!("{d}"))
}

/// Money as `Money` prints it, but never "-0.00": a solver's rounding residue is zero.
fn money(amount: f64, currency: &str) -> String {
    let amount = if amount.abs() < 0.005 { 0.0 } else { amount };
    Money::new(amount, currency).to_string()
}

fn usd(amount: f64) -> String {
    money(amount, "USD")
}

fn status_line(p: &Plan) -> String {
    let bound = match p.objective.kind {
        Objective::MinCost => usd(p.bound),
        _ => format!("{:.1} {}", p.bound, p.objective.unit),
    };
    match p.status {
        SolveStatus::Optimal => format!("proven optimal ({})", p.solver),
        SolveStatus::WithinGap => format!(
            "proven within {:.4}% of the optimum (bound {bound}; {})",
            p.gap * 100.0,
            p.solver
        ),
        SolveStatus::TimeLimit => format!(
            "time limit: feasible plan, proven only within {:.4}% of the optimum (bound {bound}; {})",
            p.gap * 100.0,
            p.solver
        ),
    }
}

/// A plan over periods as a timeline: each period's orders and spend, the capacity present in
/// it as a bar scaled to the largest period, and that capacity by part.
/// What each line that serves is for (`use` and `services` in `plan --json`); the other
/// lines train. A list under the table rather than a column, so the table keeps to 100 columns.
fn print_line_uses(p: &Plan) {
    let serving: Vec<&xpufleet_plan::PlanLine> =
        p.lines.iter().filter(|l| l.serving_nodes > 0).collect();
    if serving.is_empty() {
        return;
    }
    println!("\nLines bought to serve (the other nodes train):");
    for l in serving {
        // Over periods, the period the line is ordered in.
        let when = l
            .period
            .as_ref()
            .map_or(String::new(), |q| format!(" ({q})"));
        println!(
            "  {}{when}: {} of {} nodes serve {}",
            l.candidate,
            l.serving_nodes,
            l.nodes,
            l.services.join(", ")
        );
    }
}

fn print_timeline(p: &Plan) {
    let max = p
        .periods
        .iter()
        .map(|q| q.effective_pflops)
        .fold(0.0, f64::max);
    let mut t = table();
    t.set_header(vec![
        "period",
        "from",
        "to",
        "orders",
        "spend USD",
        "eff. PFLOPS",
        "capacity",
        "by part",
    ]);
    for q in &p.periods {
        // Twenty characters for the largest period; a period with any capacity shows one.
        let n = if max > 0.0 {
            ((q.effective_pflops / max) * 20.0).round() as usize
        } else {
            0
        };
        let n = if q.effective_pflops > 0.0 {
            n.max(1)
        } else {
            0
        };
        let pflops = match q.target_pflops {
            Some(tg) => format!("{} (need {})", fixed(q.effective_pflops, 1), fixed(tg, 1)),
            None => fixed(q.effective_pflops, 1),
        };
        t.add_row(vec![
            q.id.clone(),
            q.start.to_string(),
            q.end.to_string(),
            q.lines.len().to_string(),
            usd(q.spend_usd),
            pflops,
            "#".repeat(n),
            q.capacity
                .iter()
                .map(|c| format!("{} {}", c.accelerator, fixed(c.effective_pflops, 1)))
                .collect::<Vec<_>>()
                .join(", "),
        ]);
    }
    println!(
        "\nTimeline (effective PFLOPS present in each period)\n{}",
        crate::common::fit(&mut t)
    );
}

/// Each period's served demand (`periods[].services` in `plan --json`): a row per service and
/// period with its demand then, the share covered and the parts that serve it. Nothing without
/// `[[service]]`.
fn print_period_services(p: &Plan) {
    if p.periods.iter().all(|q| q.services.is_empty()) {
        return;
    }
    let mut t = table();
    t.set_header(vec![
        "period",
        "service",
        "output tokens/day",
        "covered",
        "served by (accelerators)",
        "USD/day",
    ]);
    for q in &p.periods {
        for s in &q.services {
            // By part, the shares of every candidate and pool summed: the plan's lines say
            // which order they come from.
            let mut parts: Vec<(String, u64)> = Vec::new();
            for b in &s.by_accelerator {
                let part = if b.role == "both" {
                    b.accelerator.clone()
                } else {
                    format!("{} {}", b.accelerator, b.role)
                };
                match parts.iter_mut().find(|(a, _)| *a == part) {
                    Some((_, n)) => *n += b.accelerators,
                    None => parts.push((part, b.accelerators)),
                }
            }
            t.add_row(vec![
                q.id.clone(),
                s.id.clone(),
                format!("{:.3e}", s.output_tokens_per_day),
                format!(
                    "{:.1}%",
                    100.0 * s.covered_output_tokens_per_day / s.output_tokens_per_day
                ),
                if parts.is_empty() {
                    "nothing".into()
                } else {
                    parts
                        .iter()
                        .map(|(a, n)| format!("{n} {a}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                format!("{:.0}", s.cost_usd_per_day),
            ]);
        }
    }
    println!(
        "\nServed by period (pools first, then the nodes present in the period that its rules \
         let serve)\n{}",
        crate::common::fit(&mut t)
    );
}

fn print_plan(p: &Plan, loaded: &LoadedScenario) {
    crate::common::say!(
        "Plan for {} ({}) as of {}: objective {}",
        p.scenario,
        loaded.origin,
        p.date,
        p.objective.kind
    );
    let value = match p.objective.kind {
        Objective::MinCost => usd(p.objective.value),
        _ => format!("{:.1} {}", p.objective.value, p.objective.unit),
    };
    crate::common::say!("  objective value: {value}; {}", status_line(p));
    crate::common::say!(
        "  effective PFLOPS (peak BF16 x expected MFU): {}; spend {}; power {} MW",
        fixed(p.effective_pflops, 1),
        usd(p.spend_usd),
        fixed(p.power_mw, 1)
    );
    if p.lines.is_empty() {
        crate::common::say!("\nNothing to buy or lease.");
    } else {
        let over_periods = !p.periods.is_empty();
        let mut t = table();
        // Over periods, fewer columns so that the period fits beside what is ordered.
        if over_periods {
            t.set_header(vec![
                "period",
                "accelerator",
                "site",
                "mode",
                "nodes",
                "units",
                "spend USD",
                "envelope",
                "eff. PFLOPS",
            ]);
            for l in &p.lines {
                t.add_row(vec![
                    l.period.clone().unwrap_or_default(),
                    l.accelerator.clone(),
                    l.site.clone(),
                    l.mode.to_string(),
                    l.nodes.to_string(),
                    l.units.to_string(),
                    usd(l.spend_usd),
                    l.envelope.clone(),
                    format!("{:.1}", l.effective_pflops),
                ]);
            }
            println!("\n{}", crate::common::fit(&mut t));
            print_line_uses(p);
            print_timeline(p);
            print_period_services(p);
        } else {
            let header = vec![
                "accelerator",
                "vendor",
                "site",
                "country",
                "mode",
                "nodes",
                "units",
                "chips",
                "spend",
                "spend USD",
                "envelope",
                "power MW",
                "eff. PFLOPS",
            ];
            t.set_header(header);
            for l in &p.lines {
                let row = vec![
                    l.accelerator.clone(),
                    l.vendor.clone(),
                    l.site.clone(),
                    l.country.clone(),
                    l.mode.to_string(),
                    l.nodes.to_string(),
                    l.units.to_string(),
                    l.chips.to_string(),
                    money(l.spend, &l.currency),
                    usd(l.spend_usd),
                    l.envelope.clone(),
                    format!("{:.2}", l.power_mw),
                    format!("{:.1}", l.effective_pflops),
                ];
                t.add_row(row);
            }
            println!("\n{}", crate::common::fit(&mut t));
            print_line_uses(p);
        }
    }
    let mut t = table();
    t.set_header(vec!["envelope", "budget", "spent", "spent USD", "used"]);
    for e in &p.envelopes {
        t.add_row(vec![
            e.id.clone(),
            money(e.budget, &e.currency),
            money(e.spent, &e.currency),
            e.spent_usd.map_or("?".into(), usd),
            if e.budget > 0.0 {
                format!(
                    "{}%",
                    xpufleet_report::format::fixed(100.0 * e.spent / e.budget, 1)
                )
            } else {
                "-".into()
            },
        ]);
    }
    println!("\nEnvelopes\n{}", crate::common::fit(&mut t));
    if !p.supplier_mix.is_empty() {
        let mut t = table();
        t.set_header(vec![
            "supplier mix",
            "envelope",
            "domestic",
            "basis",
            "share",
            "minimum",
        ]);
        for m in &p.supplier_mix {
            t.add_row(vec![
                m.id.clone(),
                m.envelope.clone(),
                m.domestic_country.clone(),
                format!("{:?}", m.basis).to_lowercase(),
                m.share
                    .map_or("(nothing bought)".into(), |s| format!("{:.1}%", 100.0 * s)),
                format!("{:.0}%", 100.0 * m.min_share),
            ]);
        }
        println!("\nSupplier shares\n{}", crate::common::fit(&mut t));
    }
    let mut t = table();
    t.set_header(vec![
        "constraint",
        "binding",
        "value",
        "limit",
        "relaxed by",
        "objective change",
    ]);
    for c in &p.constraints {
        let (step, delta) = match &c.relaxation {
            None => (String::new(), String::new()),
            Some(r) => (
                r.step.clone(),
                match (r.objective_delta, r.proven) {
                    (Some(d), true) => format!("{d:+.1} {}", p.objective.unit),
                    (Some(d), false) => format!(
                        "{d:+.1} {} found (not proven: re-solve hit its limit)",
                        p.objective.unit
                    ),
                    (None, _) => "re-solve failed".into(),
                },
            ),
        };
        let fmt = |v: f64| {
            if c.unit.starts_with("share") {
                format!("{:.1}%", 100.0 * v)
            } else if c.unit.len() == 3 && c.unit.chars().all(|ch| ch.is_ascii_uppercase()) {
                money(v, &c.unit)
            } else if c.unit == "accelerators" && (v - v.round()).abs() < 1e-6 {
                // Counts of accelerators are whole: `60000 accelerators`, not `60000.0`.
                format!("{:.0} {}", v.round(), c.unit)
            } else {
                format!("{v:.1} {}", c.unit)
            }
        };
        t.add_row(vec![
            c.id.clone(),
            if c.binding {
                "yes".into()
            } else {
                String::new()
            },
            fmt(c.value),
            format!("{} {}", c.sense, fmt(c.limit)),
            step,
            delta,
        ]);
    }
    println!(
        "\nConstraints (binding: not one more node of anything it limits fits)\n{}",
        crate::common::fit(&mut t)
    );
    if !p.excluded.is_empty() {
        let mut t = table();
        t.set_header(vec![
            "excluded candidate",
            "accelerator",
            "site",
            "mode",
            "why",
        ]);
        for e in &p.excluded {
            t.add_row(vec![
                e.candidate.clone(),
                e.accelerator.clone(),
                e.site.clone(),
                e.mode.to_string(),
                e.reason.clone(),
            ]);
        }
        println!("\nExcluded before solving\n{}", crate::common::fit(&mut t));
    }
    print_services(p);
    for w in &p.warnings {
        crate::common::say!("warning: {w}");
    }
}

/// The services section: demand, what covers it (pools first, then bought or leased nodes) and
/// any shortfall with what binds. Nothing without `[[service]]`.
fn print_services(p: &Plan) {
    if p.services.is_empty() {
        return;
    }
    let mut t = table();
    t.set_header(vec![
        "service",
        "output tokens/day",
        "covered",
        "served by",
        "USD/day",
    ]);
    for s in &p.services {
        let by: Vec<String> = s
            .by_accelerator
            .iter()
            .map(|b| {
                let from = b.pool.as_deref().or(b.candidate.as_deref()).unwrap_or("");
                // A disaggregated share says which phase it does.
                let role = if b.role == "both" {
                    String::new()
                } else {
                    format!(", {}", b.role)
                };
                format!("{} x {} ({from}{role})", b.accelerators, b.accelerator)
            })
            .collect();
        t.add_row(vec![
            s.id.clone(),
            format!("{:.3e}", s.output_tokens_per_day),
            format!(
                "{:.1}%",
                100.0 * s.covered_output_tokens_per_day / s.output_tokens_per_day
            ),
            if by.is_empty() {
                "nothing".into()
            } else {
                by.join(", ")
            },
            format!("{:.0}", s.cost_usd_per_day),
        ]);
    }
    // Over periods the top-level services are the last period's.
    let title = match p.periods.last() {
        Some(q) => format!(
            "Services in the last period, {} (pools serve first; serving nodes earn no PFLOPS)",
            q.id
        ),
        None => {
            "Services (existing pools serve first; serving nodes earn no training PFLOPS)".into()
        }
    };
    println!("\n{title}\n{}", crate::common::fit(&mut t));
    // Over periods, each period's shortfall is one of the plan's warnings.
    for s in p.services.iter().filter(|_| p.periods.is_empty()) {
        if let Some(short) = &s.shortfall {
            crate::common::say!(
                "service {} is short by {:.3e} output tokens/day: {}",
                s.id,
                short.output_tokens_per_day,
                short.reason
            );
        }
    }
}

fn print_what_if(w: &LoadedWhatIf, alt: &Plan, d: &PlanDiff) {
    let name = if w.what_if.name.is_empty() {
        w.origin.as_str()
    } else {
        w.what_if.name.as_str()
    };
    crate::common::say!("What-if {name} ({})", w.origin);
    if !w.what_if.description.is_empty() {
        crate::common::say!("  {}", w.what_if.description);
    }
    for c in w.changes() {
        crate::common::say!("  - {c}");
    }
    crate::common::say!(
        "  effective PFLOPS {} -> {} ({}); spend {} -> {} ({}M USD); {}",
        fixed(d.pflops_base, 1),
        fixed(d.pflops_alt, 1),
        signed(d.pflops_delta, 1),
        usd(d.spend_usd_base),
        usd(d.spend_usd_alt),
        signed(d.spend_usd_delta / 1e6, 1),
        status_line(alt)
    );
    if d.is_empty() {
        crate::common::say!("  The plan does not change.");
    } else {
        // Over periods a line is a candidate's orders in one period: the period is a column.
        let over_periods = d.lines.iter().any(|l| l.period.is_some());
        let mut t = table();
        let mut header = vec!["candidate"];
        if over_periods {
            header.push("period");
        }
        header.extend([
            "accelerator",
            "vendor",
            "site",
            "mode",
            "change",
            "units",
            "spend USD",
            "eff. PFLOPS",
        ]);
        t.set_header(header);
        for l in &d.lines {
            let mut row = vec![l.candidate.clone()];
            if over_periods {
                row.push(l.period.clone().unwrap_or_default());
            }
            row.extend([
                l.accelerator.clone(),
                l.vendor.clone(),
                l.site.clone(),
                l.mode.to_string(),
                l.change.clone(),
                format!("{} -> {}", l.units_base, l.units_alt),
                format!("{} -> {}", usd(l.spend_usd_base), usd(l.spend_usd_alt)),
                format!("{:.1} -> {:.1}", l.pflops_base, l.pflops_alt),
            ]);
            t.add_row(row);
        }
        println!("\nBought instead\n{}", crate::common::fit(&mut t));
        if !d.moves.is_empty() {
            let mut t = table();
            t.set_header(vec![
                "moved: candidate",
                "accelerator",
                "units",
                "from",
                "to",
                "bought",
            ]);
            for m in &d.moves {
                t.add_row(vec![
                    m.candidate.clone(),
                    m.accelerator.clone(),
                    m.units.to_string(),
                    m.from_period.clone(),
                    m.to_period.clone(),
                    m.direction.clone(),
                ]);
            }
            println!("{}", crate::common::fit(&mut t));
        }
        if !d.periods.is_empty() {
            let mut t = table();
            t.set_header(vec![
                "period",
                "spend base",
                "spend what-if",
                "change",
                "eff. PFLOPS present",
            ]);
            for q in &d.periods {
                t.add_row(vec![
                    q.id.clone(),
                    usd(q.spend_usd_base),
                    usd(q.spend_usd_alt),
                    format!("{:+.1}M USD", q.delta_usd / 1e6),
                    format!("{:.1} -> {:.1}", q.pflops_base, q.pflops_alt),
                ]);
            }
            println!("{}", crate::common::fit(&mut t));
        }
        let mut t = table();
        t.set_header(vec![
            "money moved: vendor",
            "country",
            "base",
            "what-if",
            "change",
        ]);
        for v in &d.vendors {
            t.add_row(vec![
                v.vendor.clone(),
                v.vendor_country.clone(),
                usd(v.spend_usd_base),
                usd(v.spend_usd_alt),
                format!("{:+.1}M USD", v.delta_usd / 1e6),
            ]);
        }
        println!("{}", crate::common::fit(&mut t));
        let mut t = table();
        t.set_header(vec!["envelope", "base", "what-if", "change"]);
        for e in &d.envelopes {
            t.add_row(vec![
                e.id.clone(),
                money(e.spent_base, &e.currency),
                money(e.spent_alt, &e.currency),
                money(e.delta, &e.currency),
            ]);
        }
        println!("{}", crate::common::fit(&mut t));
    }
    for e in &d.newly_excluded {
        crate::common::say!("  now excluded: {}: {}", e.candidate, e.reason);
    }
    for c in &d.no_longer_excluded {
        crate::common::say!("  no longer excluded: {c}");
    }
    let binding: Vec<&str> = alt
        .constraints
        .iter()
        .filter(|c| c.binding)
        .map(|c| c.id.as_str())
        .collect();
    crate::common::say!("  binding in the what-if: {}", binding.join(", "));
    for w in &alt.warnings {
        crate::common::say!("warning (what-if): {w}");
    }
}
