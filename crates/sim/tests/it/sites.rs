//! Issue 17: "a job never spans sites unless it says so", re-checked where it is claimed:
//! `FleetState::allocate` refuses a cross-site placement for a job that may not span, and the
//! independent checker refuses such a start in an event log. The property varies the flag.

use proptest::prelude::*;
use xpufleet_sched::{ApplyError, Policy, Slot};
use xpufleet_sim::{check, simulate, to_jsonl, Config, LogEvent};

use crate::support::*;

/// Two sites, each with pools of the one type: big gangs fit only across sites.
fn two_site_fleet() -> xpufleet_sched::FleetState {
    fleet_with_denials(
        fleet_spec(1, 2, &[(0, 0, 2, 4, 1), (0, 1, 2, 4, 1), (0, 0, 1, 4, 1)]),
        1,
        &[],
    )
}

#[test]
fn issue_17_allocate_refuses_a_cross_site_placement_unless_allowed() {
    let slots = [
        Slot {
            pool: 0,
            node: 0,
            count: 4,
        },
        Slot {
            pool: 1,
            node: 0,
            count: 4,
        },
    ];
    let mut fleet = two_site_fleet();
    assert!(matches!(
        fleet.allocate(0, false, &slots),
        Err(ApplyError::SpansSites { first: 0, other: 1 })
    ));
    assert_eq!(fleet.free_total(), 20, "nothing taken on refusal");
    fleet.allocate(0, true, &slots).unwrap();
    assert_eq!(fleet.free_total(), 12);
}

#[test]
fn issue_17_the_checker_refuses_a_log_that_spans_sites() {
    // 16 accelerators: more than either site has.
    let mut j = job(16, 0, 100.0, &[1.0], 0);
    j.may_span_sites = true;
    let out = simulate(
        two_site_fleet(),
        vec![j],
        &log_cfg(Policy::Fifo),
        &mut |_, _| {},
    );
    let text = to_jsonl(&out.log);
    check::replay(&text).unwrap();
    // The same log with the job's permission taken away.
    let tampered = text.replace(",\"may_span_sites\":true", "");
    assert_ne!(tampered, text);
    let v = check::replay(&tampered).unwrap_err();
    assert!(v.what.contains("may not span sites"), "{v}");
}

fn log_cfg(policy: Policy) -> Config {
    let mut cfg = Config::new(policy);
    cfg.log = true;
    cfg
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the flags, every start of a job that may not span sites is on one site, and the
    /// log replays clean; jobs that may span are not kept from doing so.
    #[test]
    fn jobs_span_sites_only_when_they_may(
        jobs in prop::collection::vec((prop_oneof![Just(2u32), Just(4), Just(8), Just(12), Just(16)], 0u64..500, 10.0f64..500.0, any::<bool>()), 1..20),
        policy in prop::sample::select(Policy::ALL.to_vec()),
    ) {
        let flags: Vec<bool> = jobs.iter().map(|j| j.3).collect();
        let jobs: Vec<_> = jobs
            .iter()
            .map(|&(a, s, w, span)| {
                let mut j = job(a, s, w, &[1.0], 0);
                j.may_span_sites = span;
                j
            })
            .collect();
        let fleet = two_site_fleet();
        let site_of: Vec<u32> = fleet.pools.iter().map(|p| p.spec.site).collect();
        let out = simulate(fleet, jobs, &log_cfg(policy), &mut |_, _| {});
        prop_assert!(check::replay(&to_jsonl(&out.log)).is_ok());
        prop_assert_eq!(out.metrics.rejected_decisions, 0);
        for e in &out.log {
            if let LogEvent::Start { job, slots, .. } = e {
                let sites: std::collections::BTreeSet<u32> =
                    slots.iter().map(|s| site_of[s[0] as usize]).collect();
                prop_assert!(flags[*job as usize] || sites.len() == 1, "job {} spans {:?}", job, sites);
            }
        }
    }
}
