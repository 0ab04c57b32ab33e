//! Any bytes as a scenario file: parsed, validated (every problem located, never a panic), and,
//! when valid, turned into a simulation run under small work limits, so that numbers that pass
//! validation cannot crash or hang the engines behind it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xpufleet_io::validate::{validate, validate_partial};
use xpufleet_sim::{simulate_with_limits, Config, Limits};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let loaded = xpufleet_io::scenario::scenario_from_text(
        "fuzz.toml".into(),
        text.to_string(),
        None,
        xpufleet_io::builtin_catalog(),
    );
    let ls = match loaded {
        Ok(ls) => ls,
        Err((_, partial)) => {
            if let Some(p) = partial {
                let _ = validate_partial(&p);
            }
            return;
        }
    };
    if !validate(&ls).is_empty() {
        return;
    }
    let Ok(gate) = xpufleet_io::rules::rule_engine(&ls, &[]) else {
        return;
    };
    let perf = xpufleet_perf::PerfModel::default();
    let sc = &ls.scenario;
    let Ok(prep) = xpufleet_sim::scenario::prepare(sc, &ls.catalog, &gate, &perf, sc.date) else {
        return;
    };
    let limits = Limits {
        max_events: 20_000,
        ..Limits::default()
    };
    let policy = xpufleet_sched::Policy::ALL[data.len() % xpufleet_sched::Policy::ALL.len()];
    let out = simulate_with_limits(
        prep.fleet,
        prep.jobs,
        &Config::new(policy),
        limits,
        &mut |_, _| {},
    );
    assert!(out.metrics.completed + out.metrics.unfinished <= out.metrics.jobs);
});
