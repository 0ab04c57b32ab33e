//! A fixed, hand-written `ReportData` shaped like the built-in example's, so the renderer can be
//! tested without the engines.

use xpufleet_comply::Outcome;
use xpufleet_model::Date;
use xpufleet_report::*;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

#[allow(clippy::too_many_arguments)]
fn line(
    cand: &str,
    accel: &str,
    vendor: &str,
    site: &str,
    country: &str,
    mode: &str,
    units: u64,
    spend: f64,
    cur: &str,
    usd_per: f64,
    env: &str,
    eff_pf_per_chip: f64,
    kw_per_chip: f64,
) -> PlanLine {
    let accels = units * 8;
    let chips = accels;
    PlanLine {
        candidate: cand.into(),
        accelerator: accel.into(),
        vendor: vendor.into(),
        site: site.into(),
        country: country.into(),
        mode: mode.into(),
        nodes: units,
        accels,
        chips,
        spend: spend * chips as f64,
        currency: cur.into(),
        spend_usd: spend * chips as f64 * usd_per,
        envelope: env.into(),
        effective_pflops: Some(eff_pf_per_chip * chips as f64),
        power_mw: Some(kw_per_chip * chips as f64 / 1000.0),
        line_use: "training".into(),
        services: Vec::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn pool(
    id: &str,
    origin: PoolOrigin,
    accel: &str,
    vendor: &str,
    site: &str,
    country: &str,
    accels: u64,
    tflops: Option<f64>,
) -> FleetPool {
    FleetPool {
        id: id.into(),
        origin,
        accelerator: accel.into(),
        vendor: vendor.into(),
        site: site.into(),
        country: country.into(),
        accels,
        peak_pflops: tflops.map(|t| t * accels as f64 / 1000.0),
        power_mw: Some(accels as f64 * 0.7 * 1.25 / 1000.0),
    }
}

#[allow(clippy::too_many_arguments)]
fn verdict(
    target: &str,
    kind: &str,
    accel: &str,
    site: &str,
    country: &str,
    user: &str,
    use_kind: &str,
    outcome: Outcome,
    verified: bool,
    rule: Option<(&str, &str)>,
    reason: &str,
    change: Option<&str>,
) -> ComplianceRow {
    ComplianceRow {
        target: target.into(),
        target_kind: kind.into(),
        accelerator: accel.into(),
        site: site.into(),
        country: country.into(),
        classification: if accel == "h20" || accel.starts_with("mlu370") {
            None
        } else {
            Some("3A090.a".into())
        },
        user: user.into(),
        use_kind: use_kind.into(),
        outcome,
        verified,
        usable: verified && outcome.usable(),
        rules: rule.iter().map(|r| r.0.to_string()).collect(),
        citations: rule.iter().map(|r| r.1.to_string()).collect(),
        reasons: if reason.is_empty() {
            vec![]
        } else {
            vec![reason.into()]
        },
        would_change: change.map(Into::into),
    }
}

fn job(
    id: &str,
    tenant: &str,
    accels: u32,
    accel: Option<(&str, &str)>,
    submit: u64,
    start: Option<u64>,
    end: Option<u64>,
) -> JobRow {
    JobRow {
        id: id.into(),
        name: format!("{id} run"),
        tenant: tenant.into(),
        accels,
        accelerator: accel.map(|a| a.0.to_string()),
        pool: accel.map(|a| a.1.to_string()),
        submit_s: submit,
        start_s: start,
        end_s: end,
        status: match (start, end) {
            (_, Some(_)) => "completed",
            (Some(_), None) => "running",
            _ => "waiting",
        }
        .into(),
        failures: 0,
        reason: if start.is_none() {
            Some("no capacity of an allowed type".into())
        } else {
            None
        },
    }
}

/// The fixture.
pub fn report() -> ReportData {
    let as_of = d("2025-03-01");
    let lines = vec![
        line(
            "cn-910c-buy",
            "ascend-910c",
            "Huawei",
            "cn-ulanqab",
            "CN",
            "buy",
            1536,
            206000.0,
            "CNY",
            0.1389,
            "cn-chips",
            0.32,
            0.85,
        ),
        line(
            "cn-h20-buy",
            "h20",
            "Nvidia",
            "cn-wuhu",
            "CN",
            "buy",
            1200,
            90000.0,
            "CNY",
            0.1389,
            "cn-chips",
            0.06,
            0.5,
        ),
        line(
            "my-b200-lease",
            "b200",
            "Nvidia",
            "my-johor",
            "MY",
            "lease",
            1000,
            4.2 * 8760.0,
            "USD",
            1.0,
            "abroad",
            0.9,
            1.3,
        ),
    ];
    let envelopes = vec![
        EnvelopeSpend {
            id: "cn-chips".into(),
            description: "40B CNY on AI chips in China".into(),
            currency: "CNY".into(),
            budget: 40e9,
            spent: lines[0].spend + lines[1].spend,
            budget_usd: 40e9 * 0.1389,
            spent_usd: lines[0].spend_usd + lines[1].spend_usd,
        },
        EnvelopeSpend {
            id: "abroad".into(),
            description: "~$6.8B abroad".into(),
            currency: "USD".into(),
            budget: 6.8e9,
            spent: lines[2].spend,
            budget_usd: 6.8e9,
            spent_usd: lines[2].spend_usd,
        },
    ];
    let plan = Plan {
        as_of,
        periods: vec![],
        objective: "max-compute".into(),
        objective_value: lines.iter().filter_map(|l| l.effective_pflops).sum(),
        effective_pflops: lines.iter().filter_map(|l| l.effective_pflops).sum(),
        effective_pflops_interval: Some(PflopsInterval {
            level: 0.8,
            stack: "typical".into(),
            pflops: [
                0.76 * lines.iter().filter_map(|l| l.effective_pflops).sum::<f64>(),
                1.22 * lines.iter().filter_map(|l| l.effective_pflops).sum::<f64>(),
            ],
        }),
        spend_by_vendor: spend_by(&lines, |l| l.vendor.clone()),
        spend_by_site: spend_by(&lines, |l| l.site.clone()),
        supplier_shares: vec![SupplierShare {
            id: "cn-domestic-60".into(),
            envelope: "cn-chips".into(),
            domestic_country: "CN".into(),
            min_share: 0.6,
            share: Some(lines[0].spend / (lines[0].spend + lines[1].spend)),
        }],
        constraints: vec![
            ConstraintRow {
                id: "budget/cn-chips".into(),
                binding: true,
                value: Some(0.0123),
                detail: "PFLOPS per million CNY".into(),
            },
            ConstraintRow {
                id: "supply/910c-2025".into(),
                binding: true,
                value: Some(1.5),
                detail: "PFLOPS per 1,000 more 910C".into(),
            },
            ConstraintRow {
                id: "power/cn-ulanqab".into(),
                binding: false,
                value: None,
                detail: String::new(),
            },
        ],
        excluded: vec![
            ExcludedRow {
                candidate: "cn-h100-buy".into(),
                reason: "prohibited by us-ear-2023-10/3a090-d5: H100 is 3A090.a".into(),
            },
            ExcludedRow {
                candidate: "cn-mlu590-buy".into(),
                reason: "mlu590: `tflops_bf16` is unknown".into(),
            },
        ],
        horizon_end: Some(as_of.plus_days(365)),
        // Guidance enacted inside the horizon red-flags the first line's accelerators.
        verdict_changes: vec![VerdictChangeRow {
            target: lines[0].candidate.clone(),
            user: "acme-ai".into(),
            date: "2025-05-13".parse().expect("a date"),
            from: xpufleet_comply::Outcome::Allowed,
            to: xpufleet_comply::Outcome::RedFlag,
            usable_from: true,
            usable_to: false,
            direction: "stricter".into(),
            rules: vec!["us-bis-2025-05/ascend-guidance".into()],
            accelerators: lines[0].chips,
            spend_usd: lines[0].spend_usd,
            effective_pflops: lines[0].effective_pflops.unwrap_or(0.0),
        }],
        lines: lines.clone(),
        envelopes,
    };
    let mut pools = vec![
        pool(
            "cn-a800",
            PoolOrigin::Existing,
            "a800-sxm",
            "Nvidia",
            "cn-ulanqab",
            "CN",
            2048,
            Some(312.0),
        ),
        pool(
            "cn-h20",
            PoolOrigin::Existing,
            "h20",
            "Nvidia",
            "cn-wuhu",
            "CN",
            10000,
            Some(148.0),
        ),
        pool(
            "cn-910b",
            PoolOrigin::Existing,
            "ascend-910b",
            "Huawei",
            "cn-ulanqab",
            "CN",
            8000,
            Some(320.0),
        ),
        pool(
            "my-h100",
            PoolOrigin::Existing,
            "h100-sxm",
            "Nvidia",
            "my-johor",
            "MY",
            4096,
            Some(989.5),
        ),
        pool(
            "my-h200-overflow",
            PoolOrigin::Existing,
            "h200-sxm",
            "Nvidia",
            "my-cyberjaya",
            "MY",
            512,
            Some(989.5),
        ),
    ];
    for l in &lines {
        pools.push(FleetPool {
            id: format!("plan:{}", l.candidate),
            origin: PoolOrigin::Planned,
            accelerator: l.accelerator.clone(),
            vendor: l.vendor.clone(),
            site: l.site.clone(),
            country: l.country.clone(),
            accels: l.chips,
            peak_pflops: l.effective_pflops.map(|e| e / 0.4),
            power_mw: l.power_mw,
        });
    }
    let fleet = Fleet::new(
        pools,
        &[
            ("cn-ulanqab".into(), "CN".into(), 150.0),
            ("cn-wuhu".into(), "CN".into(), 90.0),
            ("my-johor".into(), "MY".into(), 120.0),
            ("my-cyberjaya".into(), "MY".into(), 20.0),
        ],
    );
    let d5 = ("us-ear-2023-10/3a090-d5", "88 FR 73458 (2023-10-25)");
    let compliance = Compliance {
        rows: vec![
            verdict(
                "cn-a800",
                "pool",
                "a800-sxm",
                "cn-ulanqab",
                "CN",
                "acme-ai",
                "own",
                Outcome::LicenceRequired,
                true,
                Some(d5),
                "A800 is 3A090.a from 2023-11-17; China is D:5",
                Some("a licence covering the pool"),
            ),
            verdict(
                "cn-h20",
                "pool",
                "h20",
                "cn-wuhu",
                "CN",
                "acme-ai",
                "own",
                Outcome::Allowed,
                true,
                None,
                "",
                None,
            ),
            verdict(
                "cn-910b",
                "pool",
                "ascend-910b",
                "cn-ulanqab",
                "CN",
                "acme-ai",
                "own",
                Outcome::Allowed,
                true,
                None,
                "",
                None,
            ),
            verdict(
                "my-h100",
                "pool",
                "h100-sxm",
                "my-johor",
                "MY",
                "acme-sg",
                "remote",
                Outcome::RedFlag,
                true,
                Some(("us-ear-2025-01/iaas-d5-parent", "90 FR 4544 (2025-01-15)")),
                "tenant's ultimate parent is headquartered in D:5",
                Some("a tenant whose ultimate parent is outside D:5"),
            ),
            verdict(
                "my-h200-overflow",
                "pool",
                "h200-sxm",
                "my-cyberjaya",
                "MY",
                "acme-sg",
                "remote",
                Outcome::Allowed,
                false,
                None,
                "no owner or operator verification on file for my-cyberjaya",
                Some("verify sg-neocloud as owner and operator"),
            ),
            verdict(
                "cn-h100-buy",
                "candidate",
                "h100-sxm",
                "cn-wuhu",
                "CN",
                "acme-ai",
                "own",
                Outcome::Prohibited,
                true,
                Some(d5),
                "H100 is 3A090.a; China is D:5",
                None,
            ),
            verdict(
                "cn-910c-buy",
                "candidate",
                "ascend-910c",
                "cn-ulanqab",
                "CN",
                "acme-ai",
                "own",
                Outcome::Allowed,
                true,
                None,
                "",
                None,
            ),
            verdict(
                "my-b200-lease",
                "candidate",
                "b200",
                "my-johor",
                "MY",
                "acme-sg",
                "remote",
                Outcome::LicenceException,
                true,
                Some(("us-ear-2025-01/lpp", "90 FR 4544 (2025-01-15)")),
                "within the LPP quantity limit",
                None,
            ),
        ],
        unverified: vec![UnverifiedRow {
            pool: "my-h200-overflow".into(),
            site: "my-cyberjaya".into(),
            accelerator: "h200-sxm".into(),
            accels: 512,
            missing: vec![
                "owner verification of sg-neocloud".into(),
                "operator verification of sg-neocloud".into(),
            ],
        }],
    };
    let what_if = WhatIf {
        name: "h20-licence-2025-04".into(),
        description: "As of 2025-04-15: H20 to China needs a licence".into(),
        as_of: d("2025-04-15"),
        base_effective_pflops: plan.effective_pflops,
        what_if_effective_pflops: plan.effective_pflops - 410.0,
        base_spend_usd: plan.spend_usd(),
        what_if_spend_usd: plan.spend_usd() - 2.1e8,
        changes: vec![
            WhatIfChange {
                candidate: "cn-910c-buy".into(),
                accelerator: "ascend-910c".into(),
                site: "cn-ulanqab".into(),
                mode: "buy".into(),
                base_accels: 12288,
                what_if_accels: 12288,
                base_spend_usd: lines[0].spend_usd,
                what_if_spend_usd: lines[0].spend_usd,
            },
            WhatIfChange {
                candidate: "cn-h20-buy".into(),
                accelerator: "h20".into(),
                site: "cn-wuhu".into(),
                mode: "buy".into(),
                base_accels: 9600,
                what_if_accels: 0,
                base_spend_usd: lines[1].spend_usd,
                what_if_spend_usd: 0.0,
            },
            WhatIfChange {
                candidate: "cn-910b-buy".into(),
                accelerator: "ascend-910b".into(),
                site: "cn-ulanqab".into(),
                mode: "buy".into(),
                base_accels: 0,
                what_if_accels: 6400,
                base_spend_usd: 0.0,
                what_if_spend_usd: 6400.0 * 110000.0 * 0.1389,
            },
        ],
        newly_excluded: vec![ExcludedRow {
            candidate: "cn-h20-buy".into(),
            reason: "licence required by us-ear-2025-04/h20: H20 to China".into(),
        }],
    };
    let jobs = vec![
        job(
            "llm-dense-70b",
            "acme-ai",
            4096,
            Some(("ascend-910b", "cn-910b")),
            0,
            Some(0),
            Some(9 * 86400 + 3600),
        ),
        job(
            "moe-400b",
            "acme-sg",
            4096,
            Some(("b200", "plan:my-b200-lease")),
            0,
            Some(0),
            Some(6 * 86400),
        ),
        job(
            "ablation-1b-a",
            "acme-ai",
            64,
            Some(("h20", "cn-h20")),
            1800,
            Some(1800),
            Some(1800 + 20000),
        ),
        job(
            "ablation-1b-b",
            "acme-ai",
            64,
            Some(("h20", "cn-h20")),
            1800,
            Some(1800),
            Some(1800 + 20500),
        ),
        // Two failures hit this job; the workload's third failure hit an idle accelerator.
        JobRow {
            failures: 2,
            ..job(
                "vision-13b",
                "acme-ai",
                1024,
                Some(("ascend-910c", "plan:cn-910c-buy")),
                3600,
                Some(3600),
                Some(3 * 86400),
            )
        },
        job(
            "code-7b",
            "acme-ai",
            512,
            Some(("a800-sxm", "cn-a800")),
            7200,
            Some(90000),
            Some(4 * 86400),
        ),
        job(
            "speech-3b",
            "acme-ai",
            256,
            Some(("ascend-910b", "cn-910b")),
            10800,
            Some(400000),
            None,
        ),
        job("moe-sg-distill", "acme-sg", 2048, None, 172800, None, None),
        JobRow {
            status: "rejected".into(),
            reason: Some("no pool its tenant may use has 16384 accelerators".into()),
            ..job("too-big-1t", "acme-ai", 16384, None, 7200, None, None)
        },
    ];
    let horizon = 10 * 86400;
    let util = |a: &str, cap: u64, pts: &[(u64, u64)]| {
        UtilSeries::new(
            a.into(),
            cap,
            pts.iter()
                .map(|&(t_s, busy)| UtilPoint { t_s, busy })
                .collect(),
            horizon,
        )
    };
    let utilisation = vec![
        util(
            "ascend-910b",
            8000,
            &[(0, 4096), (400000, 4352), (781200, 256)],
        ),
        util("b200", 8000, &[(0, 4096), (518400, 0)]),
        util(
            "h20",
            19600,
            &[(0, 0), (1800, 128), (21800, 64), (22300, 0)],
        ),
        util("ascend-910c", 12288, &[(0, 0), (3600, 1024), (259200, 0)]),
        util("a800-sxm", 2048, &[(0, 0), (90000, 512), (345600, 0)]),
    ];
    // The whole planned fleet, types that ran nothing included (H100, H200, MLU370 below).
    let busy_accel_s: f64 = utilisation
        .iter()
        .map(|u| u.mean * u.capacity as f64 * horizon as f64)
        .sum();
    let workload = Workload {
        policy: "fifo-het".into(),
        horizon_s: horizon,
        stats: JctStats::from_jobs(&jobs),
        jobs,
        utilisation,
        preemptions: 0,
        failures: 3,
        job_failures: 2,
        fleet_use: Some(FleetUse::new(306_328, horizon, busy_accel_s)),
        stopped: None,
    };
    let mut cost = CostEnergy::new(vec![
        CostRow {
            accelerator: "ascend-910b".into(),
            chip_hours: 1.02e6,
            energy_mwh: 620.0,
            cost_usd: 3.1e6,
        },
        CostRow {
            accelerator: "b200".into(),
            chip_hours: 5.9e5,
            energy_mwh: 905.0,
            cost_usd: 2.48e6,
        },
        CostRow {
            accelerator: "ascend-910c".into(),
            chip_hours: 6.9e4,
            energy_mwh: 68.0,
            cost_usd: 3.9e5,
        },
        CostRow {
            accelerator: "a800-sxm".into(),
            chip_hours: 3.6e4,
            energy_mwh: 17.5,
            cost_usd: 1.2e5,
        },
        CostRow {
            accelerator: "h20".into(),
            chip_hours: 720.0,
            energy_mwh: 0.4,
            cost_usd: 2100.0,
        },
    ]);
    cost.idle = Some(IdleCost::new(vec![
        CostRow {
            accelerator: "h200-sxm".into(),
            chip_hours: 2.67e7,
            energy_mwh: 0.0,
            cost_usd: 5.6e7,
        },
        CostRow {
            accelerator: "h20".into(),
            chip_hours: 1.9e7,
            energy_mwh: 0.0,
            cost_usd: 1.1e7,
        },
    ]));
    let mut labels = Labels::default();
    for (id, name) in [
        ("a800-sxm", "A800 SXM"),
        ("h20", "H20"),
        ("ascend-910b", "Ascend 910B"),
        ("ascend-910c", "Ascend 910C"),
        ("h100-sxm", "H100 SXM"),
        ("h200-sxm", "H200 SXM"),
        ("b200", "B200"),
    ] {
        labels.accelerators.insert(id.into(), name.into());
    }
    for (id, name) in [
        ("cn-ulanqab", "Ulanqab campus"),
        ("cn-wuhu", "Wuhu cluster"),
        ("my-johor", "Johor leased halls"),
        ("my-cyberjaya", "Cyberjaya overflow"),
    ] {
        labels.sites.insert(id.into(), name.into());
    }
    ReportData {
        meta: Meta {
            scenario: "capex-2025".into(),
            description: "Acme AI 2025: 40B CNY of chips at home, $6.8B abroad, 60% domestic"
                .into(),
            origin: "examples/capex-2025.toml".into(),
            company: "acme-ai".into(),
            as_of,
            seed: 7,
            policy: "fifo-het".into(),
            generator: "xpufleet (fixture)".into(),
        },
        labels,
        fleet: Section::available(fleet),
        plan: Section::available(plan),
        what_if: Section::available(what_if),
        compliance: Section::available(compliance),
        workload: Section::available(workload),
        cost_energy: Section::available(cost),
        risk: None,
        serving: None,
        notes: vec!["1 candidate skipped: mlu590 has no BF16 figure".into()],
    }
}
