//! Generated planning scenarios of any size, for benchmarks and property tests. Deterministic in
//! the seed (a SplitMix64 stream; no RNG crate needed for this).

use xpufleet_model::{
    Accelerator, Candidate, CandidateMode, Catalog, Envelope, EnvelopeScope, Figure, FxRates,
    MixBasis, Money, PlanSettings, Scenario, Site, SupplierMix, SupplyCap, Tenure,
};

/// Sizes of a generated scenario.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub accelerators: usize,
    pub sites: usize,
}

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn accelerator(id: String, vendor: &str, country: &str, tflops: f64, power_w: f64) -> Accelerator {
    Accelerator {
        id: id.clone(),
        vendor: vendor.into(),
        vendor_country: country.into(),
        name: id,
        family: if country == "CN" { "ascend" } else { "hopper" }.into(),
        data_center: true,
        tflops_bf16: Figure::given(tflops),
        tflops_fp16: Figure::given(tflops),
        fp8_tflops: Figure::unknown(),
        int8_tops: Figure::unknown(),
        // The performance model reads the chip's balance from these.
        memory_gb: Figure::given(96.0),
        memory_tbps: Figure::given((tflops / 300.0).clamp(1.0, 8.0)),
        interconnect_gbps: Figure::given(if country == "CN" { 392.0 } else { 900.0 }),
        power_w: Figure::given(power_w),
        die_mm2: Figure::unknown(),
        launch_year: None,
        price_usd: Figure::unknown(),
        chips_per_unit: 1,
        note: None,
    }
}

/// A scenario with `size.accelerators` parts from six vendors (three Chinese, three American),
/// `size.sites` sites (the first half in CN, the rest in MY), and one buy and one lease candidate
/// for every part at every site: a CNY envelope for buying in China with a 60% domestic-spend
/// mix, a USD envelope for Malaysia, one supply cap per vendor and a cap on every fifth part.
/// Budgets, caps and power are sized so that all of them can bind.
pub fn scenario(size: Size, seed: u64) -> (Scenario, Catalog) {
    let mut rng = SplitMix(seed);
    let vendors = [
        ("Huawei", "CN"),
        ("Cambricon", "CN"),
        ("Hygon", "CN"),
        ("Nvidia", "US"),
        ("AMD", "US"),
        ("Intel", "US"),
    ];
    let mut catalog = Catalog::default();
    let mut prices_usd = Vec::new();
    for i in 0..size.accelerators {
        let (vendor, country) = vendors[i % vendors.len()];
        let tflops = rng.range(100.0, 2500.0).round();
        let power_w = rng.range(250.0, 1200.0).round();
        // Price roughly tracks compute, with noise so no two parts have the same ratio.
        let price = (tflops * rng.range(15.0, 35.0)).round();
        prices_usd.push(price);
        catalog.accelerators.push(accelerator(
            format!("x{i:02}"),
            vendor,
            country,
            tflops,
            power_w,
        ));
    }
    let n_cn = size.sites.div_ceil(2);
    let mut sites = Vec::new();
    for s in 0..size.sites {
        let country = if s < n_cn { "CN" } else { "MY" };
        sites.push(Site {
            id: format!("site{s:02}"),
            name: String::new(),
            country: country.into(),
            region: String::new(),
            tenure: Tenure::Owned,
            owner: "co".into(),
            operator: "co".into(),
            power_mw: rng.range(5.0, 40.0).round(),
            pue: (rng.range(1.1, 1.5) * 100.0).round() / 100.0,
            electricity_per_kwh: Money::new(0.1, "USD"),
            verifications: vec![],
        });
    }
    let cny_per_usd = 7.2;
    let mut candidates = Vec::new();
    for (i, a) in catalog.accelerators.iter().enumerate() {
        for (s, site) in sites.iter().enumerate() {
            let cn = s < n_cn;
            let markup = rng.range(0.95, 1.15);
            let buy = if cn {
                Money::new((prices_usd[i] * cny_per_usd * markup).round(), "CNY")
            } else {
                Money::new((prices_usd[i] * markup).round(), "USD")
            };
            // Three years of hire recovers the price, plus a margin.
            let rate = prices_usd[i] / (3.0 * 8760.0) * rng.range(1.2, 1.6);
            let envelope: String = if cn { "home" } else { "abroad" }.into();
            candidates.push(purchase(
                format!("{}-{}-buy", a.id, site.id),
                &a.id,
                &site.id,
                buy,
                envelope.clone(),
                8,
            ));
            // Leases only abroad; a lease at home is outside the home envelope's scope and is
            // excluded, which is part of what the generator exercises.
            candidates.push(Candidate {
                mode: CandidateMode::Lease,
                max_nodes: (i % 7 == 0).then_some(50),
                ..purchase(
                    format!("{}-{}-lease", a.id, site.id),
                    &a.id,
                    &site.id,
                    Money::new((rate * 1e4).round() / 1e4, "USD"),
                    envelope,
                    8,
                )
            });
        }
    }
    let mut supply_caps: Vec<SupplyCap> = vendors
        .iter()
        .map(|(v, _)| SupplyCap {
            id: format!("{}-cap", v.to_lowercase()),
            vendor: Some((*v).into()),
            accelerator: None,
            max_accels: (rng.range(0.5, 2.0) * 1000.0 * size.sites as f64).round() as u64,
        })
        .collect();
    for a in catalog.accelerators.iter().step_by(5) {
        supply_caps.push(SupplyCap {
            id: format!("{}-cap", a.id),
            vendor: None,
            accelerator: Some(a.id.clone()),
            max_accels: (rng.range(0.2, 1.0) * 500.0 * size.sites as f64).round() as u64,
        });
    }
    let mut fx = FxRates::default();
    fx.usd_per_unit.insert("CNY".into(), 1.0 / cny_per_usd);
    let scenario = Scenario {
        name: format!("synthetic-{}x{}", size.accelerators, size.sites),
        sites,
        envelopes: vec![
            Envelope {
                id: "home".into(),
                description: String::new(),
                budget: Money::new(4e7 * size.sites as f64, "CNY"),
                scope: EnvelopeScope {
                    countries: vec!["CN".into()],
                    modes: vec![CandidateMode::Buy],
                },
            },
            Envelope {
                id: "abroad".into(),
                description: String::new(),
                budget: Money::new(6e6 * size.sites as f64, "USD"),
                scope: EnvelopeScope {
                    countries: vec!["MY".into()],
                    modes: vec![],
                },
            },
        ],
        supplier_mix: vec![SupplierMix {
            id: "home-60".into(),
            description: String::new(),
            envelope: "home".into(),
            domestic_country: "CN".into(),
            min_share: 0.6,
            basis: MixBasis::Spend,
        }],
        candidates,
        supply_caps,
        ..bare(fx)
    };
    (scenario, catalog)
}

/// A hard scenario: `candidates / 10` sites (at least four) in seven countries, each with its own
/// currency and envelope, and ten parts from six vendors in four countries offered to buy at
/// every site. Everything that makes branch-and-bound work binds at once: a domestic-spend mix in
/// the CNY envelope (and one on CN parts in the MYR envelope), a domestic-units mix in the JPY
/// envelope and a units mix on GB parts in the EUR envelope, a supply cap per vendor and on
/// every third part, budgets between 70% and 130% of what the sites' power holds (so budgets
/// bind in some countries and power at the sites of others), a price premium on domestic parts
/// at home, and [`HardGate`] prohibiting the two fastest US parts at CN sites (as an export rule
/// would: a few percent of the candidates). Prices carry noise, so no two candidates have the
/// same price-to-compute ratio.
pub fn hard(candidates: usize, seed: u64) -> (Scenario, Catalog) {
    let mut rng = SplitMix(seed ^ 0x5EED_4A2D);
    let vendors = [
        ("Huawei", "CN"),
        ("Cambricon", "CN"),
        ("Nvidia", "US"),
        ("AMD", "US"),
        ("Preferred", "JP"),
        ("Graphcore", "GB"),
    ];
    let n_parts = 10;
    let n_sites = (candidates / n_parts).max(4);
    let mut catalog = Catalog::default();
    let mut prices_usd = Vec::new();
    for i in 0..n_parts {
        let (vendor, country) = vendors[i % vendors.len()];
        let tflops = rng.range(200.0, 2500.0).round();
        let power_w = rng.range(300.0, 1200.0).round();
        let price = (tflops * rng.range(12.0, 30.0)).round();
        prices_usd.push(price);
        catalog.accelerators.push(accelerator(
            format!("h{i:02}"),
            vendor,
            country,
            tflops,
            power_w,
        ));
    }
    // Country, currency, USD per unit of the currency.
    let countries = [
        ("CN", "CNY", 1.0 / 7.2),
        ("JP", "JPY", 1.0 / 150.0),
        ("DE", "EUR", 1.08),
        ("MY", "MYR", 1.0 / 4.5),
        ("SG", "SGD", 0.74),
        ("IN", "INR", 1.0 / 83.0),
        ("US", "USD", 1.0),
    ];
    let mut fx = FxRates::default();
    for (_, cur, rate) in countries {
        if cur != "USD" {
            fx.usd_per_unit.insert(cur.into(), rate);
        }
    }
    let mut sites = Vec::new();
    let mut per_country = [0usize; 7];
    for s in 0..n_sites {
        let c = s % countries.len();
        per_country[c] += 1;
        sites.push(Site {
            id: format!("s{s:03}"),
            name: String::new(),
            country: countries[c].0.into(),
            region: String::new(),
            tenure: Tenure::Owned,
            owner: "co".into(),
            operator: "co".into(),
            // 1–4 MW: a few hundred nodes, less than the budgets buy, so power binds.
            power_mw: (rng.range(1.0, 4.0) * 100.0).round() / 100.0,
            pue: (rng.range(1.1, 1.5) * 100.0).round() / 100.0,
            electricity_per_kwh: Money::new(0.1, "USD"),
            verifications: vec![],
        });
    }
    let mut cands = Vec::new();
    for (s, site) in sites.iter().enumerate() {
        let (country, cur, rate) = countries[s % countries.len()];
        for (i, a) in catalog.accelerators.iter().enumerate() {
            // A domestic part costs a third more at home (small runs, no volume discount),
            // so the domestic-content mixes bind.
            let premium = if a.vendor_country == country {
                1.35
            } else {
                1.0
            };
            let usd = prices_usd[i] * premium * rng.range(0.9, 1.25);
            let price = Money::new((usd / rate).round(), cur);
            cands.push(Candidate {
                // A few parts are offered only in small lots.
                max_nodes: (i == 7).then_some(rng.range(5.0, 40.0).round() as u32),
                ..purchase(
                    format!("{}-{}", a.id, site.id),
                    &a.id,
                    &site.id,
                    price,
                    format!("env-{}", country.to_lowercase()),
                    if i % 3 == 0 { 4 } else { 8 },
                )
            });
        }
    }
    // Each envelope buys between 70% and 130% of what its sites' power would hold at the
    // average price: budgets bind in some countries, power at the sites of others.
    let avg_usd_per_w: f64 = catalog
        .accelerators
        .iter()
        .zip(&prices_usd)
        .map(|(a, p)| p / a.power_w.value.unwrap_or(700.0))
        .sum::<f64>()
        / n_parts as f64;
    let envelopes: Vec<Envelope> = countries
        .iter()
        .enumerate()
        .filter(|(c, _)| per_country[*c] > 0)
        .map(|(_, (country, cur, rate))| {
            let watts: f64 = sites
                .iter()
                .filter(|s| s.country == *country)
                .map(|s| s.power_mw * 1e6)
                .sum();
            let usd = watts / 1.3 * avg_usd_per_w * rng.range(0.7, 1.3);
            Envelope {
                id: format!("env-{}", country.to_lowercase()),
                description: String::new(),
                budget: Money::new((usd / rate).round(), *cur),
                scope: EnvelopeScope {
                    countries: vec![(*country).into()],
                    modes: vec![CandidateMode::Buy],
                },
            }
        })
        .collect();
    let mut supplier_mix = vec![SupplierMix {
        id: "cn-spend-70".into(),
        description: String::new(),
        envelope: "env-cn".into(),
        domestic_country: "CN".into(),
        min_share: 0.7,
        basis: MixBasis::Spend,
    }];
    if per_country[1] > 0 {
        supplier_mix.push(SupplierMix {
            id: "jp-units-50".into(),
            description: String::new(),
            envelope: "env-jp".into(),
            domestic_country: "JP".into(),
            min_share: 0.5,
            basis: MixBasis::Units,
        });
    }
    if per_country[2] > 0 {
        supplier_mix.push(SupplierMix {
            id: "de-units-40".into(),
            description: String::new(),
            envelope: "env-de".into(),
            domestic_country: "GB".into(),
            min_share: 0.4,
            basis: MixBasis::Units,
        });
    }
    if per_country[3] > 0 {
        supplier_mix.push(SupplierMix {
            id: "my-spend-35".into(),
            description: String::new(),
            envelope: "env-my".into(),
            domestic_country: "CN".into(),
            min_share: 0.35,
            basis: MixBasis::Spend,
        });
    }
    // Caps: 15–35% of the accelerators the power of all sites would hold, per vendor; 5–15% on
    // every third part.
    let total_accels = sites.iter().map(|s| s.power_mw * 1e6).sum::<f64>() / 700.0 / 1.3;
    let mut supply_caps: Vec<SupplyCap> = vendors
        .iter()
        .map(|(v, _)| SupplyCap {
            id: format!("{}-cap", v.to_lowercase()),
            vendor: Some((*v).into()),
            accelerator: None,
            max_accels: (total_accels * rng.range(0.15, 0.35)).round() as u64,
        })
        .collect();
    for a in catalog.accelerators.iter().step_by(3) {
        supply_caps.push(SupplyCap {
            id: format!("{}-cap", a.id),
            vendor: None,
            accelerator: Some(a.id.clone()),
            max_accels: (total_accels * rng.range(0.05, 0.15)).round() as u64,
        });
    }
    let scenario = Scenario {
        name: format!("hard-{}", cands.len()),
        sites,
        envelopes,
        supplier_mix,
        candidates: cands,
        supply_caps,
        ..bare(fx)
    };
    (scenario, catalog)
}

/// Parts of the real catalog an [`issue`] scenario offers, with a list price in USD where the
/// catalog has none (street prices reported for these parts; the catalog's own figure wins
/// where it has one). Only parts whose compute and board power the catalog knows: a site's
/// power row needs the power, the performance model the compute.
const ISSUE_PARTS: [(&str, f64); 10] = [
    ("h100-sxm", 27_500.0),
    ("h800-sxm", 30_000.0),
    ("h200-sxm", 32_000.0),
    ("h20", 12_500.0),
    ("a100-sxm-80gb", 15_000.0),
    ("a800-sxm", 16_000.0),
    ("l20", 8_000.0),
    ("b200", 35_000.0),
    ("ascend-910b", 17_000.0),
    ("mlu370-x8", 6_000.0),
];

/// A scenario shaped like issue 26's own instance, over the parts of `catalog` (pass the
/// built-in catalog): `sites` sites in six countries with their own currencies (about 10.75
/// candidates a site: 129 at 12 sites, about 406 at 40), each offering six of [`ISSUE_PARTS`]
/// to buy and most of those to lease too; an envelope per country in its currency; supplier
/// mixes that bind, two in spend (CN parts in the CNY and MYR envelopes) and two in units (CN
/// parts in the SGD and INR envelopes); a supply cap per vendor and on three
/// parts; sites of 1.5–6 MW with an existing pool at every third, so power binds at many; and
/// [`HardGate::tpp`] excluding the US parts above the export threshold at CN sites. It goes
/// through `prepare` and the performance model like a user's file. Deterministic in `seed`.
pub fn issue(catalog: &Catalog, sites: usize, seed: u64) -> Scenario {
    let mut rng = SplitMix(seed ^ 0x1550_E026);
    let parts: Vec<(&Accelerator, f64)> = ISSUE_PARTS
        .iter()
        .filter_map(|(id, list)| {
            let a = catalog.accelerators.iter().find(|a| a.id == *id)?;
            Some((a, a.price_usd.value.unwrap_or(*list)))
        })
        .collect();
    // Country, currency, USD per unit of the currency.
    let countries = [
        ("CN", "CNY", 1.0 / 7.2),
        ("MY", "MYR", 1.0 / 4.5),
        ("SG", "SGD", 0.74),
        ("IN", "INR", 1.0 / 83.0),
        ("DE", "EUR", 1.08),
        ("US", "USD", 1.0),
    ];
    let mut fx = FxRates::default();
    for (_, cur, rate) in countries {
        if cur != "USD" {
            fx.usd_per_unit.insert(cur.into(), rate);
        }
    }
    let mut site_list = Vec::with_capacity(sites);
    let mut pools = Vec::new();
    for s in 0..sites {
        let (country, _, _) = countries[s % countries.len()];
        let id = format!("{}-{s:02}", country.to_lowercase());
        if s % 3 == 2 {
            // An existing pool draws part of the site's power: less headroom than its rating.
            let (a, price) = parts[s % parts.len()];
            pools.push(xpufleet_model::Pool {
                id: format!("{id}-pool"),
                site: id.clone(),
                accelerator: a.id.clone(),
                nodes: rng.range(10.0, 60.0).round() as u32,
                accels_per_node: 8,
                scaleup_domain: 8,
                acquisition: xpufleet_model::Acquisition::Bought {
                    price: Money::new(price, "USD"),
                    date: None,
                    life_years: 4.0,
                },
                owner: None,
                licences: vec![],
                history: vec![],
                purpose: None,
            });
        }
        site_list.push(Site {
            id,
            name: String::new(),
            country: country.into(),
            region: String::new(),
            tenure: Tenure::Owned,
            owner: "co".into(),
            operator: "co".into(),
            power_mw: (rng.range(1.5, 6.0) * 100.0).round() / 100.0,
            pue: (rng.range(1.1, 1.45) * 100.0).round() / 100.0,
            electricity_per_kwh: Money::new(0.1, "USD"),
            verifications: vec![],
        });
    }
    let horizon_hours = PlanSettings::default().horizon_days * 24.0;
    let mut candidates = Vec::new();
    for (s, site) in site_list.iter().enumerate() {
        let (country, cur, rate) = countries[s % countries.len()];
        // Six parts a site, drawn without repeats; CN sites are offered both CN parts always.
        let mut offered: Vec<usize> = (0..parts.len()).collect();
        for k in (1..offered.len()).rev() {
            offered.swap(k, (rng.next() % (k as u64 + 1)) as usize);
        }
        offered.truncate(6);
        if country == "CN" {
            for (k, (a, _)) in parts.iter().enumerate() {
                if a.vendor_country == "CN" && !offered.contains(&k) {
                    offered[0] = k;
                    offered.rotate_left(1);
                }
            }
        }
        offered.sort_unstable();
        for &k in &offered {
            let (a, list) = parts[k];
            // A domestic part costs a fifth more at home (small runs), so the mixes bind.
            let premium = if a.vendor_country == country {
                1.2
            } else {
                1.0
            };
            let usd = list * premium * rng.range(0.9, 1.2);
            let per_node = if a.id == "mlu370-x8" { 4 } else { 8 };
            let base = purchase(
                format!("{}-{}-buy", a.id, site.id),
                &a.id,
                &site.id,
                Money::new((usd / rate).round(), cur),
                format!("env-{}", country.to_lowercase()),
                per_node,
            );
            if rng.range(0.0, 1.0) < 0.8 {
                // The horizon's hire costs 45–65% of the price, and lessors hold few nodes.
                let hourly = usd * rng.range(0.45, 0.65) / horizon_hours;
                candidates.push(Candidate {
                    id: format!("{}-{}-lease", a.id, site.id),
                    mode: CandidateMode::Lease,
                    price: Money::new(((hourly / rate) * 1e4).round() / 1e4, cur),
                    max_nodes: Some(rng.range(4.0, 30.0).round() as u32),
                    ..base.clone()
                });
            }
            candidates.push(base);
        }
    }
    // Each envelope buys 20–50% of what its sites' power would hold at the average price:
    // budgets bind in some countries, power at the sites of others.
    let avg_usd_per_w = parts
        .iter()
        .map(|(a, p)| p / a.power_w.value.unwrap_or(700.0))
        .sum::<f64>()
        / parts.len() as f64;
    let envelopes: Vec<Envelope> = countries
        .iter()
        .filter(|(c, _, _)| site_list.iter().any(|s| s.country == *c))
        .map(|(country, cur, rate)| {
            let watts: f64 = site_list
                .iter()
                .filter(|s| s.country == *country)
                .map(|s| s.power_mw * 1e6)
                .sum();
            let usd = watts / 1.3 * avg_usd_per_w * rng.range(0.2, 0.5);
            Envelope {
                id: format!("env-{}", country.to_lowercase()),
                description: String::new(),
                budget: Money::new((usd / rate).round(), *cur),
                scope: EnvelopeScope {
                    countries: vec![(*country).into()],
                    modes: vec![],
                },
            }
        })
        .collect();
    let mix = |id: &str, env: &str, home: &str, share: f64, basis| SupplierMix {
        id: id.into(),
        description: String::new(),
        envelope: env.into(),
        domestic_country: home.into(),
        min_share: share,
        basis,
    };
    let supplier_mix: Vec<SupplierMix> = [
        mix("cn-spend-80", "env-cn", "CN", 0.8, MixBasis::Spend),
        mix("my-spend-40", "env-my", "CN", 0.4, MixBasis::Spend),
        mix("sg-units-35", "env-sg", "CN", 0.35, MixBasis::Units),
        mix("in-units-30", "env-in", "CN", 0.3, MixBasis::Units),
    ]
    .into_iter()
    .filter(|m| envelopes.iter().any(|e| e.id == m.envelope))
    .collect();
    // Caps: 30–60% of the accelerators all sites' power would hold, per vendor; 5–12% on three
    // parts in demand.
    let total_accels = site_list.iter().map(|s| s.power_mw * 1e6).sum::<f64>() / 700.0 / 1.3;
    let mut supply_caps: Vec<SupplyCap> = ["Nvidia", "Huawei", "Cambricon"]
        .iter()
        .map(|v| SupplyCap {
            id: format!("{}-cap", v.to_lowercase()),
            vendor: Some((*v).into()),
            accelerator: None,
            max_accels: (total_accels * rng.range(0.3, 0.6)).round() as u64,
        })
        .collect();
    for part in ["b200", "h200-sxm", "ascend-910b"] {
        supply_caps.push(SupplyCap {
            id: format!("{part}-cap"),
            vendor: None,
            accelerator: Some(part.into()),
            max_accels: (total_accels * rng.range(0.05, 0.12)).round() as u64,
        });
    }
    Scenario {
        name: format!("issue-{}", candidates.len()),
        sites: site_list,
        pools,
        envelopes,
        supplier_mix,
        candidates,
        supply_caps,
        ..bare(fx)
    }
}

/// A generated scenario's frame: company `co` on 2025-03-01 with the rates `fx`, and nothing
/// else (the generators fill in sites, envelopes, mixes, candidates and caps).
fn bare(fx: FxRates) -> Scenario {
    Scenario {
        name: String::new(),
        description: String::new(),
        date: "2025-03-01".parse().expect("a valid date"),
        company: "co".into(),
        fx,
        accelerators: vec![],
        rule_packs: vec![],
        entities: vec![],
        sites: vec![],
        pools: vec![],
        envelopes: vec![],
        supplier_mix: vec![],
        candidates: vec![],
        supply_caps: vec![],
        licences: vec![],
        reviews: vec![],
        jobs: vec![],
        services: vec![],
        workload: None,
        plan: PlanSettings::default(),
        risks: vec![],
        verification: Default::default(),
        periods: vec![],
    }
}

/// A purchase of `per_node`-accelerator nodes of `accelerator` at `site` from `envelope`, with
/// no limit, lessor, licence, purpose, origin, lead time or dates (a lease is this with
/// `mode` and `price` replaced).
fn purchase(
    id: String,
    accelerator: &str,
    site: &str,
    price: Money,
    envelope: String,
    per_node: u32,
) -> Candidate {
    Candidate {
        id,
        accelerator: accelerator.into(),
        site: site.into(),
        mode: CandidateMode::Buy,
        price,
        envelope,
        accels_per_node: per_node,
        scaleup_domain: None,
        max_nodes: None,
        lessor: None,
        licences: vec![],
        purpose: None,
        ships_from: None,
        lead_time_days: None,
        from: None,
        until: None,
    }
}

/// The gate [`hard`] scenarios are planned with: prohibits the two fastest US parts at CN sites,
/// as an export rule on performance would; allows everything else.
#[derive(Debug, Clone)]
pub struct HardGate {
    /// Candidate ids the gate prohibits.
    pub prohibited: std::collections::BTreeSet<String>,
}

impl HardGate {
    pub fn new(scenario: &Scenario, catalog: &Catalog) -> HardGate {
        let mut us: Vec<&Accelerator> = catalog
            .accelerators
            .iter()
            .filter(|a| a.vendor_country == "US")
            .collect();
        us.sort_by(|a, b| {
            b.tflops_bf16
                .value
                .unwrap_or(0.0)
                .total_cmp(&a.tflops_bf16.value.unwrap_or(0.0))
        });
        let top: Vec<&str> = us.iter().take(2).map(|a| a.id.as_str()).collect();
        let cn_sites: Vec<&str> = scenario
            .sites
            .iter()
            .filter(|s| s.country == "CN")
            .map(|s| s.id.as_str())
            .collect();
        let prohibited = scenario
            .candidates
            .iter()
            .filter(|c| {
                top.contains(&c.accelerator.as_str()) && cn_sites.contains(&c.site.as_str())
            })
            .map(|c| c.id.clone())
            .collect();
        HardGate { prohibited }
    }
}

impl HardGate {
    /// Prohibits, at CN sites, every US part whose total processing performance (2 × dense
    /// BF16 TFLOPS × 16 bits) reaches `threshold` (4,800 in ECCN 3A090.a), as the export rules
    /// would; the H20 and L20 stay allowed.
    pub fn tpp(scenario: &Scenario, catalog: &Catalog, threshold: f64) -> HardGate {
        let over = |id: &str| {
            catalog.accelerators.iter().any(|a| {
                a.id == id
                    && a.vendor_country == "US"
                    && a.tflops_bf16
                        .value
                        .is_some_and(|t| 2.0 * t * 16.0 >= threshold)
            })
        };
        let cn_sites: std::collections::BTreeSet<&str> = scenario
            .sites
            .iter()
            .filter(|s| s.country == "CN")
            .map(|s| s.id.as_str())
            .collect();
        let prohibited = scenario
            .candidates
            .iter()
            .filter(|c| cn_sites.contains(c.site.as_str()) && over(&c.accelerator))
            .map(|c| c.id.clone())
            .collect();
        HardGate { prohibited }
    }
}

impl xpufleet_comply::Gate for HardGate {
    fn verdict(&self, req: &xpufleet_comply::UseRequest) -> xpufleet_comply::Verdict {
        if self.prohibited.contains(&req.target) {
            xpufleet_comply::Verdict {
                outcome: xpufleet_comply::Outcome::Prohibited,
                rules: vec!["synth/top-us-parts-cn".into()],
                reasons: vec![
                    "synth/top-us-parts-cn: this US part may not go to CN sites (the generator's export-like gate)".into(),
                ],
                would_change: None,
                verified: true,
                usable: false,
                review: None,
            }
        } else {
            xpufleet_comply::Verdict::allowed()
        }
    }
}

/// `scenario` spread over `n` quarters from its date: each quarter may spend a quarter of each
/// envelope's budget (the envelope's own budget stays the total), every third purchase takes 84
/// days to arrive (so it counts from the next quarter), and leases run from the second quarter
/// to the one before last, so capacity both arrives late and drops away. The benches' plan over
/// time (`plan/quarters-*`).
pub fn quarters(scenario: &mut Scenario, n: usize) {
    let mut start = scenario.date;
    let mut periods = Vec::with_capacity(n);
    for q in 0..n {
        let end = start.plus_days(90);
        periods.push(xpufleet_model::Period {
            id: format!("q{:02}", q + 1),
            start,
            end,
            budgets: scenario
                .envelopes
                .iter()
                .map(|e| (e.id.clone(), e.budget.scale(0.25)))
                .collect(),
            target_pflops: None,
            service_demand: Default::default(),
            services: Default::default(),
            service_growth: None,
        });
        start = end.plus_days(1);
    }
    let (second, before_last) = (
        periods.get(1).map(|p| p.start),
        periods.len().checked_sub(2).map(|k| periods[k].end),
    );
    for (k, c) in scenario.candidates.iter_mut().enumerate() {
        match c.mode {
            CandidateMode::Buy if k % 3 == 0 => c.lead_time_days = Some(84),
            CandidateMode::Lease => {
                c.from = second;
                c.until = before_last;
            }
            _ => {}
        }
    }
    scenario.periods = periods;
}
