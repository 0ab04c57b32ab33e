//! `xpufleet run`: the main job. Validates a scenario, has `xpufleet_app::report` check, plan,
//! re-plan under the what-if and simulate it, and writes the report: `report.html`,
//! `report.json` and one CSV per table. The same scenario, date, policy and seed give
//! byte-identical files.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use xpufleet_model::Date;
use xpufleet_report as report;
use xpufleet_sched::Policy;

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
    #[arg(long, default_value = xpufleet_app::defaults::RUN_POLICY, value_name = "NAME")]
    policy: String,
    /// Seed of the simulation's random accelerator failures.
    #[arg(long, default_value_t = xpufleet_app::defaults::SEED, value_name = "N")]
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
    // Validating, the pipeline's steps, and writing the report.
    let progress = Progress::new(2 + xpufleet_app::run::STEPS.len() as u64);
    progress.step("validating the scenario");
    let loaded = xpufleet_app::load_file(args.scenario.as_deref(), ctx.catalog.as_deref())
        .map_err(|d| anyhow!("{d}"))?;
    let as_of = match &args.as_of {
        Some(s) => Some(s.parse::<Date>().map_err(|e| anyhow!("--as-of: {e}"))?),
        None => None,
    };
    let opts = xpufleet_app::RunOptions {
        as_of,
        policy,
        seed: args.seed,
        failures: !args.no_failures,
    };
    let data = xpufleet_app::report(&loaded, &[], &opts, &mut |p| match p {
        xpufleet_app::Progress::Step(s) => progress.step(s),
        xpufleet_app::Progress::Message(m) => progress.message(m.to_string()),
    })?;

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
    crate::common::say!(
        "xpufleet run: {} as of {} (policy {}, seed {})",
        d.meta.scenario,
        d.meta.as_of,
        d.meta.policy,
        d.meta.seed
    );
    match d.plan.get() {
        Some(p) => crate::common::say!(
            "  plan      {} lines, {} accelerators, {} spent, +{} effective PFLOPS",
            p.lines.len(),
            int(p.accels()),
            usd(p.spend_usd()),
            report::format::sig3(p.effective_pflops)
        ),
        None => crate::common::say!(
            "  plan      not available: {}",
            d.plan.reason().unwrap_or("")
        ),
    }
    match d.compliance.get() {
        Some(c) => crate::common::say!(
            "  rules     {} of {} uses not allowed; {} unverified",
            c.rows.iter().filter(|r| !r.usable).count(),
            c.rows.len(),
            xpufleet_report::format::count(c.unverified.len(), "pool", "pools")
        ),
        None => crate::common::say!("  rules     not available"),
    }
    if let Some(w) = d.what_if.get() {
        crate::common::say!(
            "  what-if   {}: effective PFLOPS {} → {}",
            w.name,
            report::format::sig3(w.base_effective_pflops),
            report::format::sig3(w.what_if_effective_pflops)
        );
    }
    match d.workload.get() {
        Some(w) => {
            crate::common::say!(
                "  workload  {}/{} jobs done, mean JCT {}, makespan {}",
                report::format::int(w.stats.completed),
                report::format::int(w.stats.jobs),
                w.stats.jct_mean_s.map_or("–".into(), duration),
                duration(w.stats.makespan_s as f64),
            );
            if let Some(f) = &w.fleet_use {
                let busy: Vec<String> = w
                    .utilisation
                    .iter()
                    .map(|u| format!("{} {}", u.accelerator, pct(u.mean)))
                    .collect();
                let text = format!(
                    "{} of {} planned accelerators busy over {} (the rest idle); by type: {}",
                    pct(f.utilisation),
                    report::format::int(f.accels),
                    duration(f.horizon_s as f64),
                    busy.join(", ")
                );
                for (i, line) in crate::common::wrap(
                    &text,
                    usize::from(crate::common::out_width().unwrap_or(u16::MAX)).saturating_sub(12),
                )
                .iter()
                .enumerate()
                {
                    println!(
                        "{}{line}",
                        if i == 0 {
                            "  fleet     "
                        } else {
                            "            "
                        }
                    );
                }
            }
        }
        None => crate::common::say!(
            "  workload  not available: {}",
            d.workload.reason().unwrap_or("")
        ),
    }
    if let Some(c) = d.cost_energy.get() {
        crate::common::say!(
            "  cost      {} and {} MWh to run the workload",
            usd(c.total_cost_usd),
            report::format::sig3(c.total_energy_mwh)
        );
        if let Some(idle) = &c.idle {
            crate::common::say!(
                "            {} for {} idle accelerator-hours (capex amortised or lease)",
                usd(idle.total_cost_usd),
                report::format::short(idle.total_accel_hours)
            );
        }
    }
    crate::common::say!(
        "report: {} ({} files in {})",
        out.join("report.html").display(),
        n_files,
        out.display()
    );
}
