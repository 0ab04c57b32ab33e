//! `xpufleet simulate`: run a scheduling policy over a trace (on a cluster given by type counts)
//! or over a scenario's pools and jobs, and report JCT, queueing, utilisation and more.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, bail, Result};
use xpufleet_app::defaults;
use xpufleet_app::{SimulateOptions, SimulateOutput, Simulated, Source, TraceInput};
use xpufleet_sched::Policy;
use xpufleet_sim::Limits;

use crate::common::{print_json, table, Ctx};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A trace as FORMAT:PATH (formats: gavel, gavel10, philly, alibaba, jobs, tiresias).
    #[arg(long, value_name = "FORMAT:PATH", conflicts_with = "scenario")]
    trace: Option<String>,
    /// Gavel throughput JSON: job kind × type × gang size → steps/s (Gavel traces need it).
    #[arg(long, value_name = "PATH")]
    throughputs: Option<PathBuf>,
    /// The cluster for a trace: TYPE=N[xPER_NODE],... (e.g. v100=36,p100=36,k80=36 or
    /// h100-sxm=2000x8). Nodes default to 8 accelerators (1 with --throughputs, as Gavel).
    #[arg(long, value_name = "TYPE=N,...")]
    cluster: Option<String>,
    /// Alibaba: the node list the cluster is read from (instead of --cluster).
    #[arg(long, value_name = "PATH")]
    nodes: Option<PathBuf>,
    /// Duration traces: the accelerator type durations were measured on (default: the first
    /// type of --cluster).
    #[arg(long, value_name = "TYPE")]
    ref_type: Option<String>,
    /// Repair unusable trace lines by the format's documented remapping instead of skipping.
    #[arg(long)]
    remap: bool,
    /// A scenario file: its pools and [[job]]s are simulated, with compliance verdicts.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// fifo, easy-backfill, las, las-het, fifo-het, finish-time or cost.
    #[arg(long, default_value = defaults::SIMULATE_POLICY)]
    policy: String,
    /// Seed of the random failures (and of nothing else): the same seed gives the same run.
    #[arg(long, default_value_t = defaults::SEED, value_name = "N")]
    seed: u64,
    /// Schedule in rounds of this many seconds (Gavel: 360); las and las-het always use rounds.
    #[arg(long, value_name = "S")]
    round_s: Option<u64>,
    /// Seconds a preempted or failed job needs to restart from its checkpoint.
    #[arg(long, default_value_t = 0, value_name = "S")]
    restart_delay_s: u64,
    /// Inject accelerator failures at the performance model's rate (or --failure-rate).
    #[arg(long)]
    failures: bool,
    /// Failures per accelerator-hour (implies --failures).
    #[arg(long, value_name = "PER_CHIP_HOUR")]
    failure_rate: Option<f64>,
    /// Seconds to repair a failed accelerator.
    #[arg(long, default_value_t = defaults::REPAIR_S, value_name = "S")]
    repair_s: u64,
    /// Seconds of progress between checkpoints.
    #[arg(long, default_value_t = defaults::CHECKPOINT_S, value_name = "S")]
    checkpoint_s: u64,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// Write the event log (JSONL) here; it is replayed by the independent checker first.
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,
    /// Stop with an error after this many simulated events (a budget for work: no input makes
    /// a run endless). Runs also stop 100 simulated years after the first submission.
    #[arg(long, default_value_t = Limits::default().max_events, value_name = "N")]
    max_events: u64,
}

/// The CLI's flag for an option the application layer names.
fn flag(e: xpufleet_app::Error) -> anyhow::Error {
    match e {
        xpufleet_app::Error::Option { field, message } => {
            anyhow!("--{}: {message}", field.replace('_', "-"))
        }
        e => anyhow!("{e}"),
    }
}

pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let policy: Policy = args
        .policy
        .parse()
        .map_err(|e: String| anyhow!("--policy: {e}"))?;
    let opts = SimulateOptions {
        policy,
        seed: args.seed,
        round_s: args.round_s,
        restart_delay_s: args.restart_delay_s,
        failures: args.failures,
        failure_rate: args.failure_rate,
        repair_s: args.repair_s,
        checkpoint_s: args.checkpoint_s,
        max_events: args.max_events,
        events: args.events.is_some(),
    };
    let catalog = ctx.catalog()?;
    let trace;
    let loaded;
    let source = match (&args.trace, &args.scenario) {
        (Some(t), None) => {
            trace = TraceInput {
                spec: t.clone(),
                throughputs: args.throughputs.clone(),
                cluster: args.cluster.clone(),
                nodes: args.nodes.clone(),
                ref_type: args.ref_type.clone(),
                remap: args.remap,
            };
            Source::Trace(&trace)
        }
        (None, Some(_)) => {
            loaded = ctx.scenario(args.scenario.as_deref())?;
            Source::Scenario(&loaded, &[])
        }
        _ => bail!("give either --trace FORMAT:PATH with --cluster, or --scenario FILE"),
    };
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} jobs done {elapsed}")
                .expect("a valid template"),
        );
        Some(b)
    } else {
        None
    };
    let wall = Instant::now();
    let out = xpufleet_app::simulate(source, &catalog, &opts, &mut |done, total| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    });
    let wall_s = wall.elapsed().as_secs_f64();
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let Simulated {
        mut output,
        events_jsonl,
    } = out.map_err(flag)?;
    output.wall_s = Some(wall_s);
    if let (Some(path), Some(text)) = (&args.events, &events_jsonl) {
        crate::common::write_atomic(path, text)?;
    }
    if args.json {
        return print_json(&output);
    }
    print_human(&output);
    Ok(())
}

fn print_human(r: &SimulateOutput) {
    let m = &r.metrics;
    let mut t = table();
    t.set_header(vec!["metric", "value"]);
    let rows: Vec<(&str, String)> = vec![
        ("policy", r.policy.to_string()),
        ("accelerators", r.accelerators.to_string()),
        ("jobs", m.jobs.to_string()),
        ("completed", m.completed.to_string()),
        ("unfinished", m.unfinished.to_string()),
        ("JCT mean", hours(m.jct_mean_s)),
        ("JCT p50", hours(m.jct_p50_s as f64)),
        ("JCT p99", hours(m.jct_p99_s as f64)),
        ("queue wait mean", hours(m.queue_mean_s)),
        ("makespan", hours(m.makespan_s as f64)),
        ("preemptions", m.preemptions.to_string()),
        ("failures", m.failures.to_string()),
        ("wall time", format!("{:.3} s", r.wall_s.unwrap_or(0.0))),
    ];
    for (k, v) in rows {
        t.add_row(vec![k.to_string(), v]);
    }
    for (ty, u) in &m.utilization {
        t.add_row(vec![
            format!("utilization {ty}"),
            format!("{:.1}%", u * 100.0),
        ]);
    }
    println!("{}", crate::common::fit(&mut t));
    for (what, map) in [
        ("rejected", &m.rejected),
        ("skipped lines", &r.skipped),
        ("remapped lines", &r.remapped),
        ("unfinished", &r.unfinished_reasons),
    ] {
        for (reason, n) in map {
            crate::common::say!("{what}: {reason}: {n}");
        }
    }
    for e in &r.unfinished_examples {
        crate::common::say!("  e.g. {e}");
    }
    if let Some(c) = &r.events_checked {
        crate::common::say!(
            "event log checked: {} starts, {} finishes, {} preemptions, {} failures; no violation",
            c.starts,
            c.finishes,
            c.preemptions,
            c.failures
        );
    }
}

fn hours(s: f64) -> String {
    format!("{s:.0} s ({:.2} h)", s / 3600.0)
}
