//! Property tests over random fleets and workloads: capacity never exceeded, gangs atomic, no
//! placement against a verdict (all re-verified by the independent checker), no stale decision,
//! every job accounted for, and the same seed giving a byte-identical event log.

use proptest::prelude::*;
use xpufleet_sched::Policy;
use xpufleet_sim::{check, simulate, simulate_reference, to_jsonl, Config, Failures, LogEvent};

use crate::support::*;

#[derive(Debug, Clone)]
struct Case {
    n_types: usize,
    pools: Vec<PoolDef>,
    n_tenants: usize,
    denied: Vec<(usize, usize)>,
    jobs: Vec<(u32, u64, f64, Vec<f64>, u32)>,
    policy: Policy,
    round_s: Option<u64>,
    failures: bool,
    restart_delay_s: u64,
    hold_s: Option<u64>,
    seed: u64,
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..=3, 1usize..=2, 1usize..=3).prop_flat_map(|(n_types, n_sites, n_tenants)| {
        let pool = (
            0..n_types as u16,
            0..n_sites as u32,
            1u32..=4,
            prop_oneof![Just(1u32), Just(2), Just(4), Just(8)],
            1u32..=2,
        );
        let job = (
            prop_oneof![
                Just(1u32),
                Just(2),
                Just(3),
                Just(4),
                Just(8),
                Just(12),
                Just(40)
            ],
            0u64..2000,
            1.0f64..5000.0,
            prop::collection::vec(prop_oneof![Just(0.0), 0.2f64..3.0], n_types),
            0..n_tenants as u32,
        );
        (
            prop::collection::vec(pool, 1..=4),
            prop::collection::vec((0..n_tenants, 0usize..4), 0..3),
            prop::collection::vec(job, 1..40),
            prop::sample::select(Policy::ALL.to_vec()),
            prop_oneof![Just(None), Just(Some(60u64)), Just(Some(360))],
            any::<bool>(),
            prop_oneof![Just(0u64), Just(30)],
            prop_oneof![Just(None), Just(Some(0u64)), Just(Some(900))],
            any::<u64>(),
        )
            .prop_map(
                move |(
                    pools,
                    denied,
                    jobs,
                    policy,
                    round_s,
                    failures,
                    restart_delay_s,
                    hold_s,
                    seed,
                )| {
                    let n_pools = pools.len();
                    Case {
                        n_types,
                        pools,
                        n_tenants,
                        denied: denied.into_iter().map(|(t, p)| (t, p % n_pools)).collect(),
                        jobs,
                        policy,
                        round_s,
                        failures,
                        restart_delay_s,
                        hold_s,
                        seed,
                    }
                },
            )
    })
}

fn run(c: &Case) -> (String, xpufleet_sim::Metrics) {
    run_with(c, simulate)
}

type Engine = fn(
    xpufleet_sched::FleetState,
    Vec<xpufleet_sched::Job>,
    &Config,
    &mut dyn FnMut(u64, u64),
) -> xpufleet_sim::Outcome;

fn run_with(c: &Case, engine: Engine) -> (String, xpufleet_sim::Metrics) {
    let out = outcome(c, engine);
    (to_jsonl(&out.log), out.metrics)
}

fn outcome(c: &Case, engine: Engine) -> xpufleet_sim::Outcome {
    let sites = c.pools.iter().map(|p| p.1).max().unwrap_or(0) as usize + 1;
    let fleet = fleet_with_denials(
        fleet_spec(c.n_types, sites, &c.pools),
        c.n_tenants,
        &c.denied,
    );
    let jobs = c
        .jobs
        .iter()
        .map(|(a, s, w, r, t)| job(*a, *s, *w, r, *t))
        .collect();
    let cfg = Config {
        policy: c.policy,
        seed: c.seed,
        round_s: c.round_s,
        restart_delay_s: c.restart_delay_s,
        failures: c.failures.then_some(Failures {
            // High enough that failures happen in a small run.
            rate_per_chip_hour: 0.05,
            repair_s: 600,
            checkpoint_interval_s: 300,
        }),
        hold_s: c.hold_s,
        log: true,
    };
    engine(fleet, jobs, &cfg, &mut |_, _| {})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn runs_replay_clean_and_repeat_exactly(c in case()) {
        let (log, m) = run(&c);
        let replayed = check::replay(&log);
        prop_assert!(replayed.is_ok(), "{:?}\n{log}", replayed);
        let r = replayed.unwrap();
        prop_assert_eq!(m.rejected_decisions, 0);
        prop_assert_eq!(r.finishes, m.completed);
        prop_assert_eq!(r.preemptions, m.preemptions);
        prop_assert_eq!(m.completed + m.unfinished + m.rejected.values().sum::<u64>(), m.jobs);
        if !c.failures {
            // Without failures nothing can block a runnable job for ever.
            prop_assert_eq!(m.unfinished, 0, "{:?}", m);
        }
        let (again, _) = run(&c);
        prop_assert!(log == again, "same seed, different log");
    }

    /// A round plan never preempts (nor so moves) a job within its hold: every preemption
    /// comes at least the hold after the job's last start.
    #[test]
    fn no_job_is_preempted_within_its_hold(c in case()) {
        let cfg_hold = c.hold_s.unwrap_or_else(|| {
            c.restart_delay_s + if c.failures { 300 } else { 0 }
        });
        let out = outcome(&c, simulate);
        let mut last_start = std::collections::HashMap::new();
        for ev in &out.log {
            match ev {
                LogEvent::Start { t, job, .. } => {
                    last_start.insert(*job, *t);
                }
                LogEvent::Preempt { t, job } => {
                    let started = last_start[job];
                    prop_assert!(
                        *t >= started + cfg_hold,
                        "job {job} started at {started:?}, preempted at {t:?}, hold {cfg_hold} s"
                    );
                }
                _ => {}
            }
        }
    }

    #[test]
    fn shortcuts_change_nothing(c in case()) {
        let (log, m) = run(&c);
        let (ref_log, ref_m) = run_with(&c, simulate_reference);
        prop_assert!(log == ref_log, "the fast path's log differs from the reference's");
        prop_assert_eq!(format!("{m:?}"), format!("{ref_m:?}"));
    }
}
