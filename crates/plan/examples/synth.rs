//! Plans a generated scenario once and prints the time, status and proven gap:
//! `cargo run --release -p xpufleet-plan --example synth -- PARTS SITES [SOLVER] [OBJECTIVE]
//! [sensitivity]`, or for a hard instance of about N candidates (`synth::hard`, planned under
//! `synth::HardGate`) `... --example synth -- hard N [SOLVER] [OBJECTIVE] [sensitivity]`, or
//! for one shaped like issue 26's own instance over the built-in catalog's parts
//! (`synth::issue`, `synth::HardGate::tpp`), `... --example synth -- issue SITES ...` (12 sites
//! make 125 candidates, 40 make 431). `SYNTH_QUARTERS=12` spreads any of them over 12 quarters
//! (`synth::quarters`), `SYNTH_TIME_LIMIT=6` sets the time limit of a MILP (seconds),
//! `SYNTH_SEED=3` draws another program of the same family (default 7, the benches' seed).

use std::time::Instant;

use xpufleet_comply::{AllowAll, Gate};
use xpufleet_perf::PerfModel;
use xpufleet_plan::{plan, synth, verify, PlanOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // A number argument left out takes its default; one given that is not a number is an error.
    let num = |k: usize, d: usize| match args.get(k) {
        None => d,
        Some(a) => a.parse().unwrap_or_else(|_| {
            usage(&format!(
                "argument {}: expected a whole number, got {a:?}",
                k + 1
            ))
        }),
    };
    let seed = match std::env::var("SYNTH_SEED") {
        Err(_) => 7,
        Ok(v) => v.parse().unwrap_or_else(|_| {
            eprintln!("error: SYNTH_SEED: expected a whole number, got {v:?}");
            std::process::exit(2)
        }),
    };
    let issue = args.first().is_some_and(|a| a == "issue");
    let hard = issue || args.first().is_some_and(|a| a == "hard");
    let (mut scenario, catalog) = if issue {
        let catalog = xpufleet_io::builtin_catalog();
        (synth::issue(&catalog, num(1, 12), seed), catalog)
    } else if hard {
        synth::hard(num(1, 130), seed)
    } else {
        synth::scenario(
            synth::Size {
                accelerators: num(0, 30),
                sites: num(1, 40),
            },
            seed,
        )
    };
    // `SYNTH_QUARTERS=12` spreads the program over that many quarters (`synth::quarters`).
    if let Some(q) = std::env::var("SYNTH_QUARTERS")
        .ok()
        .and_then(|q| q.parse().ok())
    {
        synth::quarters(&mut scenario, q);
    }
    let gate: Box<dyn Gate> = if issue {
        Box::new(synth::HardGate::tpp(&scenario, &catalog, 4800.0))
    } else if hard {
        Box::new(synth::HardGate::new(&scenario, &catalog))
    } else {
        Box::new(AllowAll)
    };
    let gate = gate.as_ref();
    let solver = args.get(2).map_or("microlp", |s| s.as_str());
    let objective = args.get(3).map_or("max-compute", |s| s.as_str());
    let mut opts = PlanOptions {
        sensitivity: args.get(4).is_some_and(|a| a == "sensitivity"),
        solver: solver
            .parse()
            .unwrap_or_else(|e| usage(&format!("argument 3 (solver): {e}"))),
        objective: Some(
            objective
                .parse()
                .unwrap_or_else(|e| usage(&format!("argument 4 (objective): {e}"))),
        ),
        // A hard instance is planned as `plan` would plan it (10 s a MILP).
        time_limit_s: if let Some(t) = std::env::var("SYNTH_TIME_LIMIT")
            .ok()
            .and_then(|t| t.parse().ok())
        {
            Some(t)
        } else if hard {
            PlanOptions::default().time_limit_s
        } else {
            Some(60.0)
        },
        ..PlanOptions::default()
    };
    if objective == "min-cost" {
        // Half of what max-compute reaches.
        let mc = plan(
            &scenario,
            &catalog,
            gate,
            &PerfModel::default(),
            &PlanOptions {
                objective: Some("max-compute".parse().unwrap()),
                ..opts.clone()
            },
        )
        .expect("a plan");
        opts.target_pflops = Some(mc.effective_pflops / 2.0);
    }
    if let Some(path) = std::env::var_os("SYNTH_DUMP") {
        let text = xpufleet_plan::program_text(&scenario, &catalog, gate, &PerfModel::default())
            .expect("a program");
        std::fs::write(path, text).expect("the dump is written");
    }
    let t = Instant::now();
    let p = plan(&scenario, &catalog, gate, &PerfModel::default(), &opts).expect("a plan");
    let secs = t.elapsed().as_secs_f64();
    let bad = verify(&p, &scenario, &catalog);
    println!(
        "{} candidates ({} excluded), {solver}, {objective}: {secs:.2} s, value {:.3}, bound {:.3}, gap {:.2e}, status {}, rows broken {}, relaxations {} ({} proven)",
        scenario.candidates.len(),
        p.excluded.len(),
        p.objective.value,
        p.bound,
        p.gap,
        p.status.as_str(),
        bad.len(),
        p.constraints.iter().filter(|c| c.relaxation.is_some()).count(),
        p.constraints
            .iter()
            .filter(|c| c.relaxation.as_ref().is_some_and(|r| r.proven))
            .count()
    );
    // Each sensitivity's own proven gap (the re-solves share one solve's time).
    let gaps: Vec<f64> = p
        .constraints
        .iter()
        .filter_map(|c| c.relaxation.as_ref().and_then(|r| r.gap))
        .collect();
    if !gaps.is_empty() {
        let mut sorted = gaps.clone();
        sorted.sort_by(f64::total_cmp);
        println!(
            "  sensitivity gaps: median {:.2e}, max {:.2e}, {} without an answer",
            sorted[sorted.len() / 2],
            sorted[sorted.len() - 1],
            p.constraints
                .iter()
                .filter(|c| c.relaxation.as_ref().is_some_and(|r| r.gap.is_none()))
                .count()
        );
    }
    if std::env::var_os("SYNTH_VERBOSE").is_some() {
        for c in &p.constraints {
            println!(
                "  {} binding {} value {:.4} limit {:.4}",
                c.id, c.binding, c.value, c.limit
            );
            if let Some(r) = &c.relaxation {
                println!(
                    "    relaxed: delta {:?} status {:?} gap {:?} proven {}",
                    r.objective_delta,
                    r.status.map(|s| s.as_str()),
                    r.gap,
                    r.proven
                );
            }
        }
    }
    for c in p.constraints.iter().filter(|c| c.relaxation.is_some()) {
        let r = c.relaxation.as_ref().unwrap();
        if r.objective_delta.is_some_and(|d| d < 0.0) != (objective == "min-cost")
            && r.objective_delta != Some(0.0)
        {
            println!("  wrong sign: {} {:?}", c.id, r.objective_delta);
        }
    }
}

/// Says what was wrong with the arguments and how to call the example, and exits 2.
fn usage(what: &str) -> ! {
    eprintln!(
        "synth: {what}\nusage: synth PARTS SITES [SOLVER] [OBJECTIVE] [sensitivity] | \
         synth hard N ... | synth issue SITES ..."
    );
    std::process::exit(2)
}
