//! Classification of an accelerator under the US export rule in force on a date: TPP, PD and
//! the ECCN (3A090 under the 2022-10 rule; 3A090.a / 3A090.b under the 2023-10 rule).
//!
//! Unknown figures are never guessed. Each threshold test is three-valued (yes / no / cannot
//! tell); a test only "cannot tell" when the figures it needs are unknown *and* the known figures
//! do not already settle it (a TPP lower bound of 12,480 settles "TPP >= 4800" whatever the
//! unknown precisions are). When the answer cannot be told, the classification is
//! indeterminate and `missing` lists the figures that would settle it.

use serde::{Deserialize, Serialize};
use xpufleet_model::{Accelerator, Date, Figure};

/// The 2022-10 rule (87 FR 62186) created ECCN 3A090 on this date: before it no chip has one.
pub const RULE_2022_FROM: (i32, u32, u32) = (2022, 10, 7);
/// The 2023-10 rule (88 FR 73458) applies to exports from this date.
pub const RULE_2023_FROM: (i32, u32, u32) = (2023, 11, 17);
/// Rule id of the 2022-10 classification test.
pub const RULE_2022_ID: &str = "us-ear-2022-10/3a090";
/// Rule id of the 2023-10 classification test.
pub const RULE_2023_ID: &str = "us-ear-2023-10/3a090";

/// Thresholds of the 2022-10 rule: TPP >= 4800 and chip-to-chip bandwidth >= 600 GB/s.
pub const TPP_2022: f64 = 4800.0;
pub const INTERCONNECT_2022_GBPS: f64 = 600.0;

/// An export control classification number for advanced-computing ICs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Eccn {
    /// 2022-10 rule: TPP >= 4800 and interconnect >= 600 GB/s.
    #[serde(rename = "3A090")]
    A3090,
    /// 2023-10 rule, paragraph a.
    #[serde(rename = "3A090.a")]
    A3090a,
    /// 2023-10 rule, paragraph b.
    #[serde(rename = "3A090.b")]
    A3090b,
    /// 2024-12 rule: high-bandwidth memory stacks (never an accelerator with co-packaged HBM).
    #[serde(rename = "3A090.c")]
    A3090c,
}

impl Eccn {
    pub fn as_str(self) -> &'static str {
        match self {
            Eccn::A3090 => "3A090",
            Eccn::A3090a => "3A090.a",
            Eccn::A3090b => "3A090.b",
            Eccn::A3090c => "3A090.c",
        }
    }

    /// Parses "3A090", "3A090.a", "3A090.b" or "3A090.c" (case of the letter ignored).
    pub fn parse(s: &str) -> Option<Eccn> {
        match s.trim().to_ascii_lowercase().as_str() {
            "3a090" => Some(Eccn::A3090),
            "3a090.a" => Some(Eccn::A3090a),
            "3a090.b" => Some(Eccn::A3090b),
            "3a090.c" => Some(Eccn::A3090c),
            _ => None,
        }
    }
}

impl std::fmt::Display for Eccn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the chip is controlled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Controlled,
    NotControlled,
    /// Figures that are needed are unknown: the answer is not guessed.
    Indeterminate,
}

/// A three-valued truth: a test over figures that may be unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tri {
    Yes,
    No,
    Unknown,
}

impl Tri {
    pub fn from_bool(b: bool) -> Tri {
        if b {
            Tri::Yes
        } else {
            Tri::No
        }
    }
    /// Kleene "and": a No settles it whatever the unknowns.
    pub fn and(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
            _ => Tri::Unknown,
        }
    }
    /// Kleene "or": a Yes settles it whatever the unknowns.
    pub fn or(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::No, Tri::No) => Tri::No,
            _ => Tri::Unknown,
        }
    }
}

impl std::ops::Not for Tri {
    type Output = Tri;
    fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

/// TPP of one chip: the known maximum over precisions and whether it is complete.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tpp {
    /// Highest dense TOPS x bit length over the precisions whose figure is known, per chip.
    /// `None` when no precision is known.
    pub value: Option<f64>,
    /// True when every precision is known or unsupported, so `value` is the TPP, not a lower
    /// bound.
    pub exact: bool,
    /// Precision figure fields that are unknown ("tflops_bf16", "fp8_tflops", "int8_tops").
    pub unknown: Vec<String>,
    /// The precision that gave the maximum ("bf16/fp16", "fp8", "int8").
    pub precision: Option<String>,
}

/// TPP = max over precisions of dense TOPS x bit length, per chip (a card of two chips counts
/// each chip: `chips_per_unit`). BF16 and FP16 are one 16-bit rate: the known one of the two
/// counts, and only both unknown makes it missing (the catalog takes FP16 equal to BF16).
pub fn tpp(a: &Accelerator) -> Tpp {
    let chips = a.chips_per_unit.max(1) as f64;
    let mut best: Option<(f64, &str)> = None;
    let mut unknown = Vec::new();
    let sixteen = match (a.tflops_bf16.get(), a.tflops_fp16.get()) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (Some(x), None) | (None, Some(x)) => Some(x),
        (None, None) => None,
    };
    let sixteen_unknown = a.tflops_bf16.is_unknown() && a.tflops_fp16.is_unknown();
    let mut consider =
        |v: Option<f64>, is_unknown: bool, bits: f64, name: &'static str, field| match v {
            Some(t) => {
                let x = t * bits / chips;
                if !matches!(best, Some((b, _)) if b >= x) {
                    best = Some((x, name));
                }
            }
            None if is_unknown => unknown.push(String::from(field)),
            None => {}
        };
    consider(sixteen, sixteen_unknown, 16.0, "bf16/fp16", "tflops_bf16");
    consider(
        a.fp8_tflops.get(),
        a.fp8_tflops.is_unknown(),
        8.0,
        "fp8",
        "fp8_tflops",
    );
    consider(
        a.int8_tops.get(),
        a.int8_tops.is_unknown(),
        8.0,
        "int8",
        "int8_tops",
    );
    Tpp {
        value: best.map(|(v, _)| v),
        exact: unknown.is_empty(),
        precision: best.map(|(_, p)| p.to_string()),
        unknown,
    }
}

/// A chip's classification on a date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// Accelerator id.
    pub id: String,
    pub date: Date,
    /// TPP per chip; a lower bound when `tpp_exact` is false.
    pub tpp: Option<f64>,
    pub tpp_exact: bool,
    /// Performance density, TPP per mm² of applicable die area (lower bound when TPP is).
    pub pd: Option<f64>,
    /// `None` when not controlled or indeterminate (see `status`).
    pub eccn: Option<Eccn>,
    pub status: Status,
    /// Id of the classification rule that decided ("us-ear-2023-10/3a090").
    pub rule: String,
    /// Figures that were needed but unknown (empty unless indeterminate).
    pub missing: Vec<String>,
    /// Designed or marketed for data centres.
    pub data_center: bool,
    /// A non-data-centre chip meeting 3A090.a may ship under licence exception NAC.
    pub nac_eligible: bool,
    /// Meeting the 3A090 parameters is not the same as being subject to the EAR: a part
    /// designed and made outside the US is subject only through the foreign-direct-product
    /// rules, which xpufleet does not model. True for US-origin parts.
    pub subject_to_ear: bool,
    /// One sentence saying why.
    pub reason: String,
}

impl Classification {
    pub fn is_controlled(&self) -> bool {
        self.status == Status::Controlled
    }

    /// "3A090.a", "not controlled" or "indeterminate".
    pub fn label(&self) -> String {
        match (self.status, self.eccn) {
            (Status::Controlled, Some(e)) => e.to_string(),
            (Status::Indeterminate, _) => "indeterminate".into(),
            _ => "not controlled".into(),
        }
    }
}

/// `value >= threshold` where `value` is a lower bound unless `exact`.
fn at_least(value: Option<f64>, exact: bool, threshold: f64) -> Tri {
    match value {
        Some(v) if v >= threshold => Tri::Yes,
        Some(_) if exact => Tri::No,
        _ => Tri::Unknown,
    }
}

fn figure_at_least(f: &Figure, threshold: f64) -> Tri {
    match f.get() {
        Some(v) => Tri::from_bool(v >= threshold),
        // An unsupported interconnect is no interconnect.
        None if !f.is_unknown() => Tri::No,
        None => Tri::Unknown,
    }
}

/// Classifies `a` under the rule in force on `date`.
pub fn classify(a: &Accelerator, date: Date) -> Classification {
    let from_2023 =
        Date::from_ymd(RULE_2023_FROM.0, RULE_2023_FROM.1, RULE_2023_FROM.2).expect("a real date");
    let t = tpp(a);
    let die = a.die_mm2.get().filter(|d| *d > 0.0);
    let pd = match (t.value, die) {
        (Some(v), Some(d)) => Some(v / d),
        _ => None,
    };
    let tpp_ge = |x: f64| at_least(t.value, t.exact, x);
    // PD is exact only when TPP is; an unknown die leaves every PD test open.
    let pd_ge = |x: f64| match die {
        Some(_) => at_least(pd, t.exact, x),
        None => Tri::Unknown,
    };
    let tpp_text = match (t.value, t.exact) {
        (Some(v), true) => format!("TPP {v:.0}"),
        (Some(v), false) => format!("TPP at least {v:.0}"),
        (None, _) => "TPP unknown".to_string(),
    };
    let pd_text = match pd {
        Some(p) => format!(", PD {p:.2}"),
        None => String::new(),
    };
    let mut c = Classification {
        id: a.id.clone(),
        date,
        tpp: t.value,
        tpp_exact: t.exact,
        pd,
        eccn: None,
        status: Status::NotControlled,
        rule: String::new(),
        missing: vec![],
        data_center: a.data_center,
        nac_eligible: false,
        subject_to_ear: a.vendor_country.eq_ignore_ascii_case("US"),
        reason: String::new(),
    };
    let from_2022 =
        Date::from_ymd(RULE_2022_FROM.0, RULE_2022_FROM.1, RULE_2022_FROM.2).expect("a real date");
    if date < from_2022 {
        c.rule = "none".into();
        c.reason = format!(
            "{tpp_text}{pd_text}: no ECCN before 2022-10-07, when 87 FR 62186 created 3A090 (earlier actions named parts: see the rule packs)"
        );
        return c;
    }
    // Which figures each test reads, for `missing` when the answer stays open.
    let mut needs_die = false;
    let mut needs_link = false;
    let verdict: (Tri, Option<Eccn>, Tri, Option<Eccn>) = if date < from_2023 {
        c.rule = RULE_2022_ID.into();
        needs_link = true;
        let ctrl = tpp_ge(TPP_2022).and(figure_at_least(
            &a.interconnect_gbps,
            INTERCONNECT_2022_GBPS,
        ));
        (ctrl, Some(Eccn::A3090), Tri::No, None)
    } else {
        c.rule = RULE_2023_ID.into();
        if a.data_center {
            needs_die = true;
            let is_a = tpp_ge(4800.0).or(tpp_ge(1600.0).and(pd_ge(5.92)));
            let b1 = tpp_ge(2400.0)
                .and(!tpp_ge(4800.0))
                .and(pd_ge(1.6))
                .and(!pd_ge(5.92));
            let b2 = tpp_ge(1600.0).and(pd_ge(3.2)).and(!pd_ge(5.92));
            let is_b = (!is_a).and(b1.or(b2));
            (is_a, Some(Eccn::A3090a), is_b, Some(Eccn::A3090b))
        } else {
            // Not designed or marketed for data centres: only TPP >= 4800 is controlled, and
            // it may ship under NAC.
            (tpp_ge(4800.0), Some(Eccn::A3090a), Tri::No, None)
        }
    };
    let (first, first_eccn, second, second_eccn) = verdict;
    match (first, second) {
        (Tri::Yes, _) => {
            c.status = Status::Controlled;
            c.eccn = first_eccn;
        }
        (Tri::No, Tri::Yes) => {
            c.status = Status::Controlled;
            c.eccn = second_eccn;
        }
        (Tri::No, Tri::No) => c.status = Status::NotControlled,
        _ => c.status = Status::Indeterminate,
    }
    if c.status == Status::Indeterminate {
        c.missing = t.unknown.clone();
        if needs_die && die.is_none() {
            c.missing.push("die_mm2".into());
        }
        if needs_link && a.interconnect_gbps.is_unknown() {
            c.missing.push("interconnect_gbps".into());
        }
    }
    c.nac_eligible = !a.data_center && c.status == Status::Controlled;
    let link = match a.interconnect_gbps.get() {
        Some(g) => format!(", interconnect {g:.0} GB/s"),
        None => String::new(),
    };
    c.reason = match c.status {
        Status::Controlled if !c.subject_to_ear => format!(
            "{tpp_text}{pd_text}{} meets the parameters of {} under {}, but as a part of {} origin it is not subject to the EAR by its figures alone (the foreign-direct-product rules, 15 CFR 734.9, which can make it so, are not modelled)",
            if c.rule == RULE_2022_ID { &link } else { "" },
            c.eccn.map_or("", Eccn::as_str),
            c.rule,
            a.vendor_country
        ),
        Status::Controlled => format!(
            "{tpp_text}{pd_text}{} meets {} under {}",
            if c.rule == RULE_2022_ID { &link } else { "" },
            c.eccn.map_or("", Eccn::as_str),
            c.rule
        ),
        Status::NotControlled => format!(
            "{tpp_text}{pd_text}{} is outside 3A090 under {}",
            if c.rule == RULE_2022_ID { &link } else { "" },
            c.rule
        ),
        Status::Indeterminate => format!(
            "{tpp_text}{pd_text}: cannot tell under {} without {}",
            c.rule,
            c.missing.join(", ")
        ),
    };
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use xpufleet_model::Figure;

    fn chip(id: &str, bf16: f64, int8: f64, die: f64, link: f64) -> Accelerator {
        Accelerator {
            id: id.into(),
            vendor: "V".into(),
            vendor_country: "US".into(),
            name: id.into(),
            family: "hopper".into(),
            data_center: true,
            tflops_bf16: Figure::given(bf16),
            tflops_fp16: Figure::given(bf16),
            fp8_tflops: Figure::unsupported(),
            int8_tops: Figure::given(int8),
            memory_gb: Figure::unknown(),
            memory_tbps: Figure::unknown(),
            interconnect_gbps: Figure::given(link),
            power_w: Figure::unknown(),
            die_mm2: Figure::given(die),
            launch_year: None,
            price_usd: Figure::unknown(),
            chips_per_unit: 1,
            note: None,
        }
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn h100_is_3a090a_with_tpp_15832() {
        let mut h100 = chip("h100", 989.5, 1979.0, 814.0, 900.0);
        h100.fp8_tflops = Figure::given(1979.0);
        let c = classify(&h100, d("2024-01-01"));
        assert_eq!(c.tpp, Some(15832.0));
        assert_eq!(c.eccn, Some(Eccn::A3090a));
        assert!((c.pd.unwrap() - 19.45).abs() < 0.01);
        let old = classify(&h100, d("2023-01-01"));
        assert_eq!(old.eccn, Some(Eccn::A3090));
        assert_eq!(old.rule, RULE_2022_ID);
        // No ECCN before the rule that created 3A090 (87 FR 62186, 2022-10-07).
        let before = classify(&h100, d("2022-10-06"));
        assert_eq!(before.eccn, None);
        assert_eq!(before.status, Status::NotControlled);
        assert_eq!(classify(&h100, d("2022-10-07")).eccn, Some(Eccn::A3090));
    }

    #[test]
    fn h20_is_outside_3a090() {
        let c = classify(&chip("h20", 148.0, 296.0, 814.0, 900.0), d("2025-06-01"));
        assert_eq!(c.tpp, Some(2368.0));
        assert!((c.pd.unwrap() - 2.909).abs() < 0.01);
        assert_eq!(c.status, Status::NotControlled);
        assert_eq!(c.eccn, None);
    }

    #[test]
    fn a800_changes_on_2023_11_17() {
        let a800 = chip("a800", 312.0, 624.0, 826.0, 400.0);
        let before = classify(&a800, d("2023-11-16"));
        assert_eq!(before.status, Status::NotControlled, "{}", before.reason);
        let after = classify(&a800, d("2023-11-17"));
        assert_eq!(after.eccn, Some(Eccn::A3090a));
        assert_eq!(after.tpp, Some(4992.0));
        assert!((after.pd.unwrap() - 6.04).abs() < 0.01);
    }

    #[test]
    fn b_band_and_pd_branch() {
        // TPP 3200, PD 2.0: in the b band (2400..4800, PD 1.6..5.92).
        let c = classify(&chip("x", 200.0, 0.0, 1600.0, 0.0), d("2024-01-01"));
        assert_eq!(c.eccn, Some(Eccn::A3090b));
        // TPP 1600 on a small die (PD >= 5.92) is .a.
        let c = classify(&chip("y", 100.0, 0.0, 200.0, 0.0), d("2024-01-01"));
        assert_eq!(c.eccn, Some(Eccn::A3090a));
        // TPP 1599 is below every threshold.
        let c = classify(&chip("z", 99.9375, 0.0, 10.0, 0.0), d("2024-01-01"));
        assert_eq!(c.status, Status::NotControlled);
    }

    #[test]
    fn unknowns_are_listed_never_guessed() {
        let mut c = chip("mlu", 0.0, 0.0, 0.0, 0.0);
        c.tflops_bf16 = Figure::unknown();
        c.tflops_fp16 = Figure::unknown();
        c.int8_tops = Figure::unknown();
        c.die_mm2 = Figure::unknown();
        let k = classify(&c, d("2025-06-01"));
        assert_eq!(k.status, Status::Indeterminate);
        assert_eq!(k.eccn, None);
        assert_eq!(k.missing, vec!["tflops_bf16", "int8_tops", "die_mm2"]);
        // A known lower bound above 4800 settles .a even with int8 and the die unknown.
        c.tflops_bf16 = Figure::given(780.0);
        let k = classify(&c, d("2025-06-01"));
        assert_eq!(k.eccn, Some(Eccn::A3090a));
        assert!(k.missing.is_empty());
        assert!(!k.tpp_exact);
        // Under the 2022 rule the interconnect is needed too.
        c.interconnect_gbps = Figure::unknown();
        let k = classify(&c, d("2023-01-01"));
        assert_eq!(k.status, Status::Indeterminate);
        assert_eq!(k.missing, vec!["int8_tops", "interconnect_gbps"]);
        // ...unless it is known to be below 600 GB/s.
        c.interconnect_gbps = Figure::given(392.0);
        assert_eq!(classify(&c, d("2023-01-01")).status, Status::NotControlled);
    }

    #[test]
    fn two_chip_cards_count_per_chip() {
        let mut c = chip("card", 96.0, 256.0, 0.0, 200.0);
        c.die_mm2 = Figure::unknown();
        c.chips_per_unit = 2;
        let k = classify(&c, d("2025-06-01"));
        assert_eq!(k.tpp, Some(1024.0));
        assert_eq!(k.status, Status::NotControlled, "{}", k.reason);
    }

    #[test]
    fn consumer_chips_only_above_4800_and_nac() {
        let mut c = chip("gaming", 200.0, 0.0, 100.0, 0.0);
        c.data_center = false;
        assert_eq!(classify(&c, d("2024-01-01")).status, Status::NotControlled);
        c.tflops_bf16 = Figure::given(400.0);
        c.tflops_fp16 = Figure::given(400.0);
        let k = classify(&c, d("2024-01-01"));
        assert_eq!(k.eccn, Some(Eccn::A3090a));
        assert!(k.nac_eligible);
    }
}
