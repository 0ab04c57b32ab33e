//! Criterion benches of `plan()`: the built-in example and generated programs of 30 parts × 40
//! sites × buy/lease (2,400 candidates) and 50 parts × 200 sites × buy/lease (20,000), with
//! each solver built in. Under `cargo test` (no `--bench` argument) the generated programs
//! shrink to 3 parts × 4 sites, so the benches run as quick tests. The hard programs
//! (`synth::hard` at 130, 400 and 2,000 candidates, planned under `synth::HardGate`) run with
//! the default options (10-s limit per MILP, sensitivities on) and print each solver's status
//! and proven gap once before timing; under `cargo test` they shrink to 40 candidates. The
//! programs shaped like issue 26's own instance (`plan/issue-12-sites`, `plan/issue-40-sites`:
//! `synth::issue` over the built-in catalog) run the same way; under `cargo test`, 4 sites. The
//! plan over time (`plan/quarters-12x130`) spreads the hard 130-candidate program over 12 quarters.

use criterion::{criterion_group, criterion_main, Criterion};
use xpufleet_comply::AllowAll;
use xpufleet_perf::PerfModel;
use xpufleet_plan::{plan, synth, PlanOptions, SolveStatus, Solver};

fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Whether criterion's name filter (the first argument that is not a flag) matches the bench
/// `id` (`group/name`). The status lines printed before timing are solves of their own, run
/// only for the benches a filtered run times. The filter is a regular expression, as
/// criterion's is; one that does not parse is matched as a substring.
fn wanted(id: &str) -> bool {
    let Some(f) = std::env::args().skip(1).find(|a| !a.starts_with('-')) else {
        return true;
    };
    match regex::Regex::new(&f) {
        Ok(re) => re.is_match(id),
        Err(_) => id.contains(&f),
    }
}

/// Whether any of `names` in `group` is [`wanted`].
fn any_wanted(group: &str, names: &[String]) -> bool {
    names.iter().any(|n| wanted(&format!("{group}/{n}")))
}

/// The benches' names for `solvers` with and without sensitivities (`microlp`,
/// `microlp+sensitivity`, ...).
fn names(solvers: &[Solver], sensitivity: &[bool]) -> Vec<String> {
    solvers
        .iter()
        .flat_map(|s| {
            sensitivity
                .iter()
                .map(move |&on| format!("{}{}", s.as_str(), if on { "+sensitivity" } else { "" }))
        })
        .collect()
}

fn example(c: &mut Criterion) {
    let s = xpufleet_io::load_scenario(None, None).expect("the example loads");
    let perf = PerfModel::default();
    let opts = PlanOptions::default();
    c.bench_function("plan/example", |b| {
        b.iter(|| plan(&s.scenario, &s.catalog, &AllowAll, &perf, &opts).unwrap())
    });
}

fn generated(c: &mut Criterion, accelerators: usize, sites: usize) {
    let (accelerators, sites) = if benching() {
        (accelerators, sites)
    } else {
        (3, 4)
    };
    let (scenario, catalog) = synth::scenario(
        synth::Size {
            accelerators,
            sites,
        },
        7,
    );
    let perf = PerfModel::default();
    let mut g = c.benchmark_group(format!("plan/{}-candidates", scenario.candidates.len()));
    g.sample_size(10);
    let solvers: &[Solver] = if cfg!(feature = "highs") {
        &[Solver::Microlp, Solver::Highs]
    } else {
        &[Solver::Microlp]
    };
    for &solver in solvers {
        let opts = PlanOptions {
            sensitivity: false,
            solver,
            time_limit_s: Some(60.0),
            ..PlanOptions::default()
        };
        g.bench_function(solver.as_str(), |b| {
            b.iter(|| {
                let p = plan(&scenario, &catalog, &AllowAll, &perf, &opts).unwrap();
                assert_ne!(p.status, SolveStatus::TimeLimit);
                p
            })
        });
    }
    if accelerators * sites <= 1200 {
        let full = PlanOptions::default();
        g.bench_function("microlp+sensitivity", |b| {
            b.iter(|| plan(&scenario, &catalog, &AllowAll, &perf, &full).unwrap())
        });
    }
    g.finish();
}

fn mid(c: &mut Criterion) {
    generated(c, 30, 40);
}

fn large(c: &mut Criterion) {
    generated(c, 50, 200);
}

/// The hard programs: one group per size, one bench per solver built in, default options with
/// and without sensitivities.
fn hard(c: &mut Criterion) {
    let sizes: &[usize] = if benching() { &[130, 400, 2000] } else { &[40] };
    let solvers: &[Solver] = if cfg!(feature = "highs") {
        &[Solver::Microlp, Solver::Highs]
    } else {
        &[Solver::Microlp]
    };
    let perf = PerfModel::default();
    for &n in sizes {
        // The sensitivities of 2,000 candidates take minutes: timed once, by the example
        // (docs/benchmarks.md), not ten times here.
        let sensitivity: &[bool] = if n > 400 { &[false] } else { &[false, true] };
        let group = format!("plan/hard-{n}");
        if !any_wanted(&group, &names(solvers, sensitivity)) {
            continue;
        }
        let (scenario, catalog) = synth::hard(n, 7);
        let gate = synth::HardGate::new(&scenario, &catalog);
        let mut g = c.benchmark_group(&group);
        g.sample_size(10);
        for &solver in solvers {
            for &sensitivity in sensitivity {
                let opts = PlanOptions {
                    solver,
                    sensitivity,
                    ..PlanOptions::default()
                };
                let name = format!(
                    "{}{}",
                    solver.as_str(),
                    if sensitivity { "+sensitivity" } else { "" }
                );
                if !wanted(&format!("{group}/{name}")) {
                    continue;
                }
                let p = plan(&scenario, &catalog, &gate, &perf, &opts).unwrap();
                eprintln!(
                    "plan/hard-{n}/{name}: status {}, proven gap {:.2e}, value {:.3}, bound {:.3}",
                    p.status.as_str(),
                    p.gap,
                    p.objective.value,
                    p.bound
                );
                g.bench_function(name, |b| {
                    b.iter(|| plan(&scenario, &catalog, &gate, &perf, &opts).unwrap())
                });
            }
        }
        g.finish();
    }
}

/// The programs shaped like issue 26's own instance (`synth::issue` over the built-in catalog,
/// planned under `synth::HardGate::tpp`): 12 sites (125 candidates) and 40 sites (431), one
/// bench per solver built in, default options with and without sensitivities, each solve's
/// status and proven gap printed once before timing; under `cargo test`, 4 sites.
fn issue_shaped(c: &mut Criterion) {
    let sizes: &[usize] = if benching() { &[12, 40] } else { &[4] };
    let solvers: &[Solver] = if cfg!(feature = "highs") {
        &[Solver::Microlp, Solver::Highs]
    } else {
        &[Solver::Microlp]
    };
    let catalog = xpufleet_io::builtin_catalog();
    let perf = PerfModel::default();
    for &sites in sizes {
        let group = format!("plan/issue-{sites}-sites");
        if !any_wanted(&group, &names(solvers, &[false, true])) {
            continue;
        }
        let scenario = synth::issue(&catalog, sites, 7);
        let gate = synth::HardGate::tpp(&scenario, &catalog, 4800.0);
        let mut g = c.benchmark_group(&group);
        g.sample_size(10);
        for &solver in solvers {
            for sensitivity in [false, true] {
                let opts = PlanOptions {
                    solver,
                    sensitivity,
                    ..PlanOptions::default()
                };
                let name = format!(
                    "{}{}",
                    solver.as_str(),
                    if sensitivity { "+sensitivity" } else { "" }
                );
                if !wanted(&format!("{group}/{name}")) {
                    continue;
                }
                let p = plan(&scenario, &catalog, &gate, &perf, &opts).unwrap();
                eprintln!(
                    "plan/issue-{sites}-sites/{name}: {} candidates, status {}, proven gap {:.2e}, value {:.3}, bound {:.3}",
                    scenario.candidates.len(),
                    p.status.as_str(),
                    p.gap,
                    p.objective.value,
                    p.bound
                );
                g.bench_function(name, |b| {
                    b.iter(|| plan(&scenario, &catalog, &gate, &perf, &opts).unwrap())
                });
            }
        }
        g.finish();
    }
}

/// 20 services over 30 part types at two sites (issue 22): each service is a covering row over
/// 30 serving copies, in the same program as the training compute. Under `cargo test` it
/// shrinks to 3 services over 3 parts.
fn services(c: &mut Criterion) {
    let (parts, n_services) = if benching() { (30, 20) } else { (3, 3) };
    let group = format!("plan/{n_services}-services-{parts}-parts");
    if !wanted(&format!("{group}/microlp")) {
        return;
    }
    let (mut scenario, catalog) = synth::scenario(
        synth::Size {
            accelerators: parts,
            sites: 2,
        },
        7,
    );
    for k in 0..n_services {
        // Models from 7B to 70B dense and volumes from 20M to 400M output tokens a day, which
        // the generated budgets cover: the usual case, not the conflict analysis.
        let params = 7e9 * (1 + k % 10) as f64;
        let output = 2e7 * (1 + (k * 7) % 20) as f64;
        scenario.services.push(xpufleet_model::Service {
            id: format!("svc-{k}"),
            description: String::new(),
            params,
            active_params: None,
            n_layers: None,
            d_model: None,
            kv_bytes_per_token: None,
            kv_heads: None,
            head_dim: None,
            precision: None,
            input_tokens_per_day: output * 4.0,
            output_tokens_per_day: output,
            buckets: Vec::new(),
            peak_to_average: 1.5,
            ttft_ms: None,
            tpot_ms: None,
            tenant: None,
            allowed_accels: Vec::new(),
            data_countries: Vec::new(),
        });
    }
    let perf = PerfModel::default();
    let opts = PlanOptions {
        sensitivity: false,
        ..PlanOptions::default()
    };
    let p = plan(&scenario, &catalog, &AllowAll, &perf, &opts).unwrap();
    if benching() {
        println!(
            "plan/services: {} candidates, {} services: status {}, gap {:.2e}, value {:.3}, \
             bound {:.3}, {} short, {} prefill/decode shares",
            scenario.candidates.len(),
            p.services.len(),
            p.status.as_str(),
            p.gap,
            p.objective.value,
            p.bound,
            p.services.iter().filter(|s| s.shortfall.is_some()).count(),
            p.services
                .iter()
                .flat_map(|s| &s.by_accelerator)
                .filter(|b| b.role != "both")
                .count()
        );
    }
    assert_eq!(p.services.len(), n_services);
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    g.bench_function("microlp", |b| {
        b.iter(|| plan(&scenario, &catalog, &AllowAll, &perf, &opts).unwrap())
    });
    g.finish();
}

/// A plan over time: the hard 130-candidate program over 12 quarters (`synth::quarters`), with
/// and without sensitivities; under `cargo test`, 40 candidates over 4 quarters.
fn over_time(c: &mut Criterion) {
    let (n, q) = if benching() { (130, 12) } else { (40, 4) };
    let group = format!("plan/quarters-{q}x{n}");
    if !any_wanted(&group, &names(&[Solver::Microlp], &[false, true])) {
        return;
    }
    let (mut scenario, catalog) = synth::hard(n, 7);
    synth::quarters(&mut scenario, q);
    let gate = synth::HardGate::new(&scenario, &catalog);
    let perf = PerfModel::default();
    let mut g = c.benchmark_group(&group);
    g.sample_size(10);
    for sensitivity in [false, true] {
        let opts = PlanOptions {
            sensitivity,
            ..PlanOptions::default()
        };
        let name = if sensitivity {
            "microlp+sensitivity"
        } else {
            "microlp"
        };
        if !wanted(&format!("{group}/{name}")) {
            continue;
        }
        let p = plan(&scenario, &catalog, &gate, &perf, &opts).unwrap();
        eprintln!(
            "plan/quarters-{q}x{n}/{name}: {} periods, {} lines, status {}, proven gap {:.2e}, value {:.3}, bound {:.3}",
            p.periods.len(),
            p.lines.len(),
            p.status.as_str(),
            p.gap,
            p.objective.value,
            p.bound
        );
        g.bench_function(name, |b| {
            b.iter(|| plan(&scenario, &catalog, &gate, &perf, &opts).unwrap())
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    example,
    mid,
    large,
    hard,
    issue_shaped,
    services,
    over_time
);
criterion_main!(benches);
