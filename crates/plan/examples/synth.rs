//! Plans a generated scenario once and prints the time, status and proven gap:
//! `cargo run --release -p xpufleet-plan --example synth -- PARTS SITES [SOLVER] [OBJECTIVE]
//! [sensitivity]`.

use std::time::Instant;

use xpufleet_comply::AllowAll;
use xpufleet_perf::PerfModel;
use xpufleet_plan::{plan, synth, verify, PlanOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |k: usize, d: usize| args.get(k).and_then(|a| a.parse().ok()).unwrap_or(d);
    let size = synth::Size {
        accelerators: num(0, 30),
        sites: num(1, 40),
    };
    let solver = args.get(2).map_or("microlp", |s| s.as_str());
    let objective = args.get(3).map_or("max-compute", |s| s.as_str());
    let (scenario, catalog) = synth::scenario(size, 7);
    let mut opts = PlanOptions {
        sensitivity: args.get(4).is_some_and(|a| a == "sensitivity"),
        solver: solver.parse().expect("microlp or highs"),
        objective: Some(objective.parse().expect("an objective")),
        time_limit_s: Some(60.0),
        ..PlanOptions::default()
    };
    if objective == "min-cost" {
        // Half of what max-compute reaches.
        let mc = plan(
            &scenario,
            &catalog,
            &AllowAll,
            &PerfModel::default(),
            &PlanOptions {
                objective: Some("max-compute".parse().unwrap()),
                ..opts.clone()
            },
        )
        .expect("a plan");
        opts.target_pflops = Some(mc.effective_pflops / 2.0);
    }
    let t = Instant::now();
    let p = plan(&scenario, &catalog, &AllowAll, &PerfModel::default(), &opts).expect("a plan");
    let secs = t.elapsed().as_secs_f64();
    let bad = verify(&p, &scenario, &catalog);
    println!(
        "{} candidates, {solver}, {objective}: {secs:.2} s, value {:.3}, bound {:.3}, gap {:.2e}, status {}, rows broken {}, relaxations {} ({} proven)",
        scenario.candidates.len(),
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
    for c in p.constraints.iter().filter(|c| c.relaxation.is_some()) {
        let r = c.relaxation.as_ref().unwrap();
        if r.objective_delta.is_some_and(|d| d < 0.0) != (objective == "min-cost")
            && r.objective_delta != Some(0.0)
        {
            println!("  wrong sign: {} {:?}", c.id, r.objective_delta);
        }
    }
}
