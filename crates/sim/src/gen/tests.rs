//! Generator tests: determinism, and distributions checked against their definitions with
//! wide, honest bounds (several standard errors).

use proptest::prelude::*;
use xpufleet_model::ThroughputTable;

use super::*;

/// A small Gavel-shaped table: two distributed types and one single-GPU type.
fn table() -> ThroughputTable {
    let mut t = ThroughputTable::default();
    for (gpu, speed) in [("v100", 3.0), ("p100", 2.0), ("k80", 1.0)] {
        for g in [1, 2, 4, 8] {
            t.insert("ResNet", gpu, g, speed * f64::from(g) * 0.9);
            t.insert("LM", gpu, g, speed * 2.0 * f64::from(g) * 0.8);
        }
        t.insert("A3C", gpu, 1, speed * 5.0);
    }
    t
}

fn small_month(seed: u64) -> FleetMonth {
    FleetMonth {
        n_jobs: 20_000,
        fleet_scale: 0.05,
        seed,
        ..FleetMonth::default()
    }
}

#[test]
fn gavel_is_deterministic_and_seed_sensitive() {
    let t = table();
    let cfg = GavelGen {
        n_jobs: 300,
        ..GavelGen::default()
    };
    let a = gavel(&t, &cfg).unwrap();
    assert_eq!(a, gavel(&t, &cfg).unwrap());
    let b = gavel(&t, &GavelGen { seed: 1, ..cfg }).unwrap();
    assert_ne!(a.jobs, b.jobs);
    assert_eq!(a.cluster.by_type()["v100"], 36);
    assert_eq!(a.cluster.total_accels(), 108);
}

#[test]
fn gavel_distributions_match_gavels_generator() {
    let t = table();
    let n = 20_000;
    let w = gavel(
        &t,
        &GavelGen {
            n_jobs: n,
            seed: 7,
            ..GavelGen::default()
        },
    )
    .unwrap();
    let share = |pred: &dyn Fn(&xpufleet_model::TraceJob) -> bool| {
        w.jobs.iter().filter(|j| pred(j)).count() as f64 / n as f64
    };
    // Scale factors 70/10/15/5 %; the standard error of a share near 0.5 at n = 20,000 is
    // 0.0035, so 0.02 is more than five of them.
    assert!((share(&|j| j.accels == 1) - 0.70).abs() < 0.02);
    assert!((share(&|j| j.accels == 2) - 0.10).abs() < 0.02);
    assert!((share(&|j| j.accels == 4) - 0.15).abs() < 0.02);
    assert!((share(&|j| j.accels == 8) - 0.05).abs() < 0.02);
    // A single-GPU-only type never gets more than one GPU.
    assert!(w
        .jobs
        .iter()
        .all(|j| j.kind.as_deref() != Some("A3C") || j.accels == 1));
    // Durations, recovered from steps and the reference rate: 80% in 10^[1.5,3] minutes,
    // 20% in 10^[3,4] minutes, nothing outside 10^[1.5,4].
    let minutes: Vec<f64> = w
        .jobs
        .iter()
        .map(|j| {
            let rate = t.get(j.kind.as_deref().unwrap(), "v100", j.accels).unwrap();
            j.work / rate / 60.0
        })
        .collect();
    assert!(minutes
        .iter()
        .all(|&m| m >= 10f64.powf(1.5) * 0.999 && m <= 1e4 * 1.001));
    let long = minutes.iter().filter(|&&m| m > 1000.0).count() as f64 / n as f64;
    assert!((long - 0.2).abs() < 0.02, "long share {long}");
    // Poisson arrivals at 2/h: mean gap 1800 s; the standard error of the mean of 20,000
    // exponential gaps is 1800/sqrt(20,000) = 13 s.
    let span = w.jobs.last().unwrap().submit.secs() as f64;
    let mean_gap = span / (n - 1) as f64;
    assert!((mean_gap - 1800.0).abs() < 80.0, "mean gap {mean_gap}");
    assert!(w.jobs.windows(2).all(|p| p[0].submit <= p[1].submit));
    assert_eq!(w.jobs[0].submit.secs(), 0);
}

#[test]
fn gavel_single_gpu_mode_and_errors() {
    let t = table();
    let w = gavel(
        &t,
        &GavelGen {
            n_jobs: 500,
            multi_gpu: false,
            ..GavelGen::default()
        },
    )
    .unwrap();
    assert!(w.jobs.iter().all(|j| j.accels == 1));
    let kinds: std::collections::BTreeSet<_> =
        w.jobs.iter().filter_map(|j| j.kind.clone()).collect();
    assert_eq!(kinds.len(), 3, "every type is drawn: {kinds:?}");
    let err = gavel(
        &t,
        &GavelGen {
            reference: "h100".into(),
            ..GavelGen::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("h100"), "{err}");
    assert!(gavel(
        &t,
        &GavelGen {
            jobs_per_hour: 0.0,
            ..GavelGen::default()
        }
    )
    .is_err());
}

#[test]
fn full_fleet_is_200k_accelerators_at_four_sites() {
    let c = FleetMonth::default().cluster();
    assert_eq!(c.total_accels(), 200_000);
    let by_type = c.by_type();
    assert_eq!(by_type["h20"], 69_600);
    assert_eq!(by_type["ascend-910c"], 38_400);
    assert_eq!(c.by_site().len(), 4);
    assert!(c
        .groups
        .iter()
        .all(|g| g.scaleup_domain.is_multiple_of(g.accels_per_node)
            && g.accels().is_multiple_of(u64::from(g.scaleup_domain))));
}

#[test]
fn fleet_month_is_deterministic() {
    let a = fleet_month(&small_month(3)).unwrap();
    assert_eq!(a, fleet_month(&small_month(3)).unwrap());
    assert_ne!(a.jobs, fleet_month(&small_month(4)).unwrap().jobs);
}

#[test]
fn fleet_month_shapes_are_as_documented() {
    let cfg = small_month(5);
    let w = fleet_month(&cfg).unwrap();
    let n = w.jobs.len() as f64;
    assert_eq!(w.jobs.len(), cfg.n_jobs);
    assert!(w.jobs.windows(2).all(|p| p[0].submit <= p[1].submit));
    assert!(w.jobs.iter().all(|j| j.submit.secs() < cfg.horizon_s));
    // Every job's types are one stack's, and its gang fits that stack's largest pool.
    for j in &w.jobs {
        let (_, types, reference) = STACKS
            .iter()
            .find(|(_, types, _)| types.iter().any(|t| j.allowed.iter().any(|a| a == t)))
            .unwrap();
        assert_eq!(j.allowed.len(), types.len());
        assert_eq!(j.ref_type.as_deref(), Some(*reference));
        let biggest = w
            .cluster
            .groups
            .iter()
            .filter(|g| types.contains(&g.accel.as_str()))
            .map(|g| g.accels())
            .max()
            .unwrap();
        assert!(u64::from(j.accels) <= biggest);
        assert!(j.accels.is_power_of_two());
        assert!(j.work >= cfg.min_duration_s && j.work <= cfg.max_duration_s);
    }
    // Heavy tail: single-accelerator jobs are the mode, yet gangs of 256+ exist.
    let ones = w.jobs.iter().filter(|j| j.accels == 1).count() as f64 / n;
    assert!((ones - 0.40).abs() < 0.03, "ones {ones}");
    assert!(w.jobs.iter().any(|j| j.accels >= 256));
    // Offered load near the target (the clamp and the gang cap trim it; lognormal sums are
    // noisy, so the band is wide).
    let work: f64 = w.jobs.iter().map(|j| j.work * f64::from(j.accels)).sum();
    let load = work / (w.cluster.total_accels() as f64 * cfg.horizon_s as f64);
    assert!(load > 0.4 && load < 1.2, "offered load {load}");
    // Diurnal arrivals: more jobs in the afternoon (12-16h) than at night (0-4h).
    let in_hours = |lo: u64, hi: u64| {
        w.jobs
            .iter()
            .filter(|j| (lo..hi).contains(&(j.submit.secs() % 86_400 / 3600)))
            .count()
    };
    assert!(in_hours(12, 16) as f64 > 1.8 * in_hours(0, 4) as f64);
    // Zipf tenants: the first tenant has the most jobs.
    let t0 = w
        .jobs
        .iter()
        .filter(|j| j.tenant.as_deref() == Some("tenant-00"))
        .count();
    let t9 = w
        .jobs
        .iter()
        .filter(|j| j.tenant.as_deref() == Some("tenant-09"))
        .count();
    assert!(t0 > 5 * t9, "{t0} vs {t9}");
}

#[test]
fn fleet_month_rejects_bad_settings() {
    for cfg in [
        FleetMonth {
            horizon_s: 0,
            ..small_month(0)
        },
        FleetMonth {
            fleet_scale: -1.0,
            ..small_month(0)
        },
        FleetMonth {
            deadline_share: 2.0,
            ..small_month(0)
        },
        FleetMonth {
            sites: Vec::new(),
            ..small_month(0)
        },
    ] {
        assert!(fleet_month(&cfg).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Any seed and size: jobs sorted, ids dense, gangs within Gavel's 1..=8, positive work.
    #[test]
    fn gavel_jobs_are_well_formed(seed in any::<u64>(), n in 1usize..200) {
        let w = gavel(&table(), &GavelGen { n_jobs: n, seed, ..GavelGen::default() }).unwrap();
        prop_assert_eq!(w.jobs.len(), n);
        for (i, j) in w.jobs.iter().enumerate() {
            prop_assert_eq!(j.id, i as u64);
            prop_assert!([1, 2, 4, 8].contains(&j.accels));
            prop_assert!(j.work > 0.0 && j.work.is_finite());
        }
        prop_assert!(w.jobs.windows(2).all(|p| p[0].submit <= p[1].submit));
    }

    #[test]
    fn scale_factor_and_duration_draws_stay_in_range(r in 0.0f64..1.0, u in 0.0f64..1.0) {
        prop_assert!([1, 2, 4, 8].contains(&gavel_scale_factor(r)));
        let m = gavel_duration_s(r, u) / 60.0;
        prop_assert!(m >= 10f64.powf(1.5) * 0.999 && m <= 1e4 * 1.001);
    }
}
