//! Accelerators (GPUs, NPUs, MLUs) and the catalog that lists them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{CountryCode, Figure};

/// Numeric precision of a training run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    #[default]
    Bf16,
    Fp16,
    Fp8,
    Int8,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::Bf16 => "bf16",
            Precision::Fp16 => "fp16",
            Precision::Fp8 => "fp8",
            Precision::Int8 => "int8",
        })
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "bf16" => Ok(Precision::Bf16),
            "fp16" => Ok(Precision::Fp16),
            "fp8" => Ok(Precision::Fp8),
            "int8" => Ok(Precision::Int8),
            _ => Err(format!(
                "expected one of bf16, fp16, fp8, int8; found {s:?}"
            )),
        }
    }
}

/// One accelerator part. Every performance figure is a `Figure`: a value or unknown, with its
/// source key and confidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accelerator {
    /// Stable id used everywhere else ("h100-sxm", "ascend-910b").
    pub id: String,
    pub vendor: String,
    /// Headquarters country of the vendor ("US", "CN"): decides what is a domestic supplier.
    pub vendor_country: CountryCode,
    /// Marketing name ("H100 SXM").
    pub name: String,
    /// Family used by the performance model to choose its defaults ("hopper", "ampere",
    /// "blackwell", "ada", "ascend", "mlu").
    pub family: String,
    /// Designed or marketed for data centres (decides 3A090 vs the consumer branch).
    #[serde(default = "yes")]
    pub data_center: bool,
    /// Dense (no sparsity) BF16 TFLOPS.
    #[serde(default = "Figure::unknown")]
    pub tflops_bf16: Figure,
    /// Dense FP16 TFLOPS; taken as equal to BF16 when unknown.
    #[serde(default = "Figure::unknown")]
    pub tflops_fp16: Figure,
    /// Dense FP8 TFLOPS.
    #[serde(default = "Figure::unknown")]
    pub fp8_tflops: Figure,
    /// Dense INT8 TOPS.
    #[serde(default = "Figure::unknown")]
    pub int8_tops: Figure,
    #[serde(default = "Figure::unknown")]
    pub memory_gb: Figure,
    #[serde(default = "Figure::unknown")]
    pub memory_tbps: Figure,
    /// Chip-to-chip (scale-up) bandwidth, GB/s, aggregate per chip.
    #[serde(default = "Figure::unknown")]
    pub interconnect_gbps: Figure,
    /// Board power (TDP), W.
    #[serde(default = "Figure::unknown")]
    pub power_w: Figure,
    /// Applicable (logic) die area, mm².
    #[serde(default = "Figure::unknown")]
    pub die_mm2: Figure,
    #[serde(default)]
    pub launch_year: Option<i32>,
    /// Reported unit price, USD.
    #[serde(default = "Figure::unknown")]
    pub price_usd: Figure,
    /// Chips per card or module counted as one accelerator (MLU370-X8 is two chips on a card).
    #[serde(default = "one")]
    pub chips_per_unit: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}

impl Accelerator {
    /// Dense peak TFLOPS at a precision; FP16 falls back to BF16 (same tensor-core rate on every
    /// listed part). `None` when the figure is unknown.
    pub fn peak_tflops(&self, p: Precision) -> Option<f64> {
        match p {
            Precision::Bf16 => self.tflops_bf16.get(),
            Precision::Fp16 => self.tflops_fp16.get().or(self.tflops_bf16.get()),
            Precision::Fp8 => self.fp8_tflops.get(),
            Precision::Int8 => self.int8_tops.get(),
        }
    }

    /// The figure for a named field ("tflops_bf16", "power_w", ...), for error messages and
    /// overrides.
    pub fn figure(&self, field: &str) -> Option<&Figure> {
        Some(match field {
            "tflops_bf16" => &self.tflops_bf16,
            "tflops_fp16" => &self.tflops_fp16,
            "fp8_tflops" => &self.fp8_tflops,
            "int8_tops" => &self.int8_tops,
            "memory_gb" => &self.memory_gb,
            "memory_tbps" => &self.memory_tbps,
            "interconnect_gbps" => &self.interconnect_gbps,
            "power_w" => &self.power_w,
            "die_mm2" => &self.die_mm2,
            "price_usd" => &self.price_usd,
            _ => return None,
        })
    }

    /// Names of all figure fields, in catalog order.
    pub const FIGURE_FIELDS: [&'static str; 10] = [
        "tflops_bf16",
        "tflops_fp16",
        "fp8_tflops",
        "int8_tops",
        "memory_gb",
        "memory_tbps",
        "interconnect_gbps",
        "power_w",
        "die_mm2",
        "price_usd",
    ];
}

/// One `[[accelerator]]` entry as a user writes it (in a catalog file, a scenario or a what-if):
/// every field but `id` may be left out. An entry whose id the catalog already has is an
/// *override*: the fields it gives replace that entry's, field by field, and every other figure
/// keeps its value and source. An entry with a new id adds a part and must give the fields in
/// `AcceleratorEntry::REQUIRED`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceleratorEntry {
    pub id: String,
    /// The source key of every figure this entry gives with a value and without a `source` of
    /// its own (an override's measurements, say). Not a field of the accelerator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_country: Option<CountryCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_center: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tflops_bf16: Option<Figure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tflops_fp16: Option<Figure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp8_tflops: Option<Figure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub int8_tops: Option<Figure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_gb: Option<Figure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_tbps: Option<Figure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interconnect_gbps: Option<Figure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<Figure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub die_mm2: Option<Figure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_year: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_usd: Option<Figure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chips_per_unit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Every field of an accelerator but its id, in catalog order: the names `overridden` lists.
pub const ENTRY_FIELDS: [&str; 18] = [
    "vendor",
    "vendor_country",
    "name",
    "family",
    "data_center",
    "tflops_bf16",
    "tflops_fp16",
    "fp8_tflops",
    "int8_tops",
    "memory_gb",
    "memory_tbps",
    "interconnect_gbps",
    "power_w",
    "die_mm2",
    "launch_year",
    "price_usd",
    "chips_per_unit",
    "note",
];

impl AcceleratorEntry {
    /// The fields a new part must give: the ones no default can stand in for.
    pub const REQUIRED: [&'static str; 4] = ["vendor", "vendor_country", "name", "family"];

    /// A figure the entry gives, by field name.
    pub fn figure(&self, field: &str) -> Option<&Figure> {
        match field {
            "tflops_bf16" => self.tflops_bf16.as_ref(),
            "tflops_fp16" => self.tflops_fp16.as_ref(),
            "fp8_tflops" => self.fp8_tflops.as_ref(),
            "int8_tops" => self.int8_tops.as_ref(),
            "memory_gb" => self.memory_gb.as_ref(),
            "memory_tbps" => self.memory_tbps.as_ref(),
            "interconnect_gbps" => self.interconnect_gbps.as_ref(),
            "power_w" => self.power_w.as_ref(),
            "die_mm2" => self.die_mm2.as_ref(),
            "price_usd" => self.price_usd.as_ref(),
            _ => None,
        }
    }

    /// Names of the fields this entry gives (`ENTRY_FIELDS` order; `id` and `source` are not
    /// fields of the part).
    pub fn given(&self) -> Vec<&'static str> {
        let present = [
            self.vendor.is_some(),
            self.vendor_country.is_some(),
            self.name.is_some(),
            self.family.is_some(),
            self.data_center.is_some(),
            self.tflops_bf16.is_some(),
            self.tflops_fp16.is_some(),
            self.fp8_tflops.is_some(),
            self.int8_tops.is_some(),
            self.memory_gb.is_some(),
            self.memory_tbps.is_some(),
            self.interconnect_gbps.is_some(),
            self.power_w.is_some(),
            self.die_mm2.is_some(),
            self.launch_year.is_some(),
            self.price_usd.is_some(),
            self.chips_per_unit.is_some(),
            self.note.is_some(),
        ];
        ENTRY_FIELDS
            .iter()
            .zip(present)
            .filter_map(|(f, p)| p.then_some(*f))
            .collect()
    }

    /// The required fields (`REQUIRED`) this entry leaves out, all of them.
    pub fn missing(&self) -> Vec<&'static str> {
        let given = [
            self.vendor.is_some(),
            self.vendor_country.is_some(),
            self.name.is_some(),
            self.family.is_some(),
        ];
        Self::REQUIRED
            .iter()
            .zip(given)
            .filter_map(|(f, g)| (!g).then_some(*f))
            .collect()
    }

    /// A given figure with the entry's `source` filled in where the figure has a value and no
    /// source of its own.
    fn sourced(&self, f: &Option<Figure>) -> Option<Figure> {
        let mut f = f.clone()?;
        if f.source.is_none() && f.value.is_some() {
            f.source.clone_from(&self.source);
        }
        Some(f)
    }

    /// The new part this entry describes, or the required fields it lacks (all of them).
    pub fn to_accelerator(&self) -> Result<Accelerator, Vec<&'static str>> {
        let missing = self.missing();
        if !missing.is_empty() {
            return Err(missing);
        }
        let mut a = Accelerator {
            id: self.id.clone(),
            vendor: String::new(),
            vendor_country: String::new(),
            name: String::new(),
            family: String::new(),
            data_center: yes(),
            tflops_bf16: Figure::unknown(),
            tflops_fp16: Figure::unknown(),
            fp8_tflops: Figure::unknown(),
            int8_tops: Figure::unknown(),
            memory_gb: Figure::unknown(),
            memory_tbps: Figure::unknown(),
            interconnect_gbps: Figure::unknown(),
            power_w: Figure::unknown(),
            die_mm2: Figure::unknown(),
            launch_year: None,
            price_usd: Figure::unknown(),
            chips_per_unit: one(),
            note: None,
        };
        a.apply(self);
        Ok(a)
    }

    /// Lays `later` over this entry, field by field (a what-if's entry over a scenario's).
    pub fn overlay(&mut self, later: &AcceleratorEntry) {
        // A later entry's default source covers only the figures it gives.
        let figures = |e: &AcceleratorEntry, f: &Option<Figure>| e.sourced(f);
        macro_rules! take {
            ($($f:ident),*) => {$(
                if later.$f.is_some() {
                    self.$f.clone_from(&later.$f);
                }
            )*};
        }
        macro_rules! take_figure {
            ($($f:ident),*) => {$(
                if later.$f.is_some() {
                    self.$f = figures(later, &later.$f);
                }
            )*};
        }
        take!(
            vendor,
            vendor_country,
            name,
            family,
            data_center,
            launch_year,
            chips_per_unit,
            note
        );
        take_figure!(
            tflops_bf16,
            tflops_fp16,
            fp8_tflops,
            int8_tops,
            memory_gb,
            memory_tbps,
            interconnect_gbps,
            power_w,
            die_mm2,
            price_usd
        );
    }
}

impl From<&Accelerator> for AcceleratorEntry {
    /// The entry that gives every field of `a` (the built-in catalog's entries are such).
    fn from(a: &Accelerator) -> AcceleratorEntry {
        AcceleratorEntry {
            id: a.id.clone(),
            source: None,
            vendor: Some(a.vendor.clone()),
            vendor_country: Some(a.vendor_country.clone()),
            name: Some(a.name.clone()),
            family: Some(a.family.clone()),
            data_center: Some(a.data_center),
            tflops_bf16: Some(a.tflops_bf16.clone()),
            tflops_fp16: Some(a.tflops_fp16.clone()),
            fp8_tflops: Some(a.fp8_tflops.clone()),
            int8_tops: Some(a.int8_tops.clone()),
            memory_gb: Some(a.memory_gb.clone()),
            memory_tbps: Some(a.memory_tbps.clone()),
            interconnect_gbps: Some(a.interconnect_gbps.clone()),
            power_w: Some(a.power_w.clone()),
            die_mm2: Some(a.die_mm2.clone()),
            launch_year: a.launch_year,
            price_usd: Some(a.price_usd.clone()),
            chips_per_unit: Some(a.chips_per_unit),
            note: a.note.clone(),
        }
    }
}

impl Accelerator {
    /// Replaces the fields `e` gives and keeps every other (a figure given replaces the whole
    /// figure: value, source, confidence and note). Returns the names of the fields replaced.
    pub fn apply(&mut self, e: &AcceleratorEntry) -> Vec<&'static str> {
        macro_rules! put {
            ($($f:ident),*) => {$(
                if let Some(v) = &e.$f {
                    self.$f = v.clone();
                }
            )*};
        }
        macro_rules! put_figure {
            ($($f:ident),*) => {$(
                if let Some(v) = e.sourced(&e.$f) {
                    self.$f = v;
                }
            )*};
        }
        put!(
            vendor,
            vendor_country,
            name,
            family,
            data_center,
            chips_per_unit
        );
        put_figure!(
            tflops_bf16,
            tflops_fp16,
            fp8_tflops,
            int8_tops,
            memory_gb,
            memory_tbps,
            interconnect_gbps,
            power_w,
            die_mm2,
            price_usd
        );
        if e.launch_year.is_some() {
            self.launch_year = e.launch_year;
        }
        if e.note.is_some() {
            self.note.clone_from(&e.note);
        }
        e.given()
    }
}

/// A catalog file as written: its source keys and its entries, overrides or new parts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    #[serde(default, rename = "accelerator")]
    pub accelerators: Vec<AcceleratorEntry>,
}

/// An entry with a new id that lacks required fields: where it is in its list and what it lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomplete {
    /// The entry's index in the list it came from.
    pub index: usize,
    pub id: String,
    /// Every required field it leaves out.
    pub missing: Vec<&'static str>,
}

/// The accelerator catalog, keyed by id, plus the source keys it cites.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Source key -> citation ("K" -> "github s-w-kelly/chip-export-controls ...").
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    #[serde(default, rename = "accelerator")]
    pub accelerators: Vec<Accelerator>,
    /// Id -> the fields that a user's entry (catalog file, scenario, what-if) replaced, in
    /// `ENTRY_FIELDS` order. Parts a user added are not listed; untouched ones are absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overridden: BTreeMap<String, Vec<String>>,
}

impl Catalog {
    pub fn get(&self, id: &str) -> Option<&Accelerator> {
        self.accelerators.iter().find(|a| a.id == id)
    }

    /// Lays entries over the catalog in order: an entry whose id is listed overrides the fields
    /// it gives (recorded in `overridden`); one with a new id is added when it gives every
    /// required field. Entries that add a part and lack fields are left out and returned, each
    /// with all it lacks.
    pub fn apply<'e>(
        &mut self,
        entries: impl IntoIterator<Item = &'e AcceleratorEntry>,
    ) -> Vec<Incomplete> {
        let mut incomplete = Vec::new();
        for (index, e) in entries.into_iter().enumerate() {
            match self.accelerators.iter_mut().find(|x| x.id == e.id) {
                Some(slot) => {
                    let given = slot.apply(e);
                    if !given.is_empty() {
                        let fields = self.overridden.entry(e.id.clone()).or_default();
                        fields.extend(given.iter().map(|f| f.to_string()));
                        // One name per field, in catalog order, however many layers gave it.
                        fields.sort_by_key(|f| ENTRY_FIELDS.iter().position(|x| x == f));
                        fields.dedup();
                    }
                }
                None => match e.to_accelerator() {
                    Ok(a) => self.accelerators.push(a),
                    Err(missing) => incomplete.push(Incomplete {
                        index,
                        id: e.id.clone(),
                        missing,
                    }),
                },
            }
        }
        incomplete
    }

    /// Lays a catalog file over this one: its sources are added (a key given again takes the
    /// file's citation) and its entries applied as `apply` does.
    pub fn apply_file(&mut self, file: &CatalogFile) -> Vec<Incomplete> {
        self.sources
            .extend(file.sources.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.apply(&file.accelerators)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.accelerators.iter().map(|a| a.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Confidence;
    use proptest::prelude::*;

    fn figure() -> impl Strategy<Value = Figure> {
        let conf = prop_oneof![Just(Confidence::Reported), Just(Confidence::Estimate)];
        prop_oneof![
            Just(Figure::unknown()),
            Just(Figure::unsupported()),
            (0.1f64..1e5, conf, proptest::option::of("[A-Z]{1,3}")).prop_map(|(v, c, s)| {
                Figure {
                    value: Some(v),
                    confidence: c,
                    source: s,
                    note: None,
                }
            }),
        ]
    }

    fn accelerator() -> impl Strategy<Value = Accelerator> {
        (
            "[a-z]{1,6}",
            proptest::collection::vec(figure(), 10),
            proptest::option::of(1990i32..2100),
            1u32..9,
            any::<bool>(),
            proptest::option::of("[a-z ]{0,8}"),
        )
            .prop_map(|(vendor, f, year, chips, dc, note)| Accelerator {
                id: "part".into(),
                vendor,
                vendor_country: "US".into(),
                name: "Part".into(),
                family: "hopper".into(),
                data_center: dc,
                tflops_bf16: f[0].clone(),
                tflops_fp16: f[1].clone(),
                fp8_tflops: f[2].clone(),
                int8_tops: f[3].clone(),
                memory_gb: f[4].clone(),
                memory_tbps: f[5].clone(),
                interconnect_gbps: f[6].clone(),
                power_w: f[7].clone(),
                die_mm2: f[8].clone(),
                launch_year: year,
                price_usd: f[9].clone(),
                chips_per_unit: chips,
                note,
            })
    }

    /// An entry for the id "part" that gives a random subset of fields, taken from `a`.
    fn entry() -> impl Strategy<Value = AcceleratorEntry> {
        (
            accelerator(),
            proptest::collection::vec(any::<bool>(), ENTRY_FIELDS.len()),
            proptest::option::of("[A-Z]{1,3}"),
        )
            .prop_map(|(a, keep, source)| {
                let full = AcceleratorEntry::from(&a);
                let mut e = AcceleratorEntry {
                    id: a.id.clone(),
                    source,
                    ..Default::default()
                };
                for (field, k) in ENTRY_FIELDS.iter().zip(keep) {
                    if !k {
                        continue;
                    }
                    let mut one = AcceleratorEntry {
                        id: a.id.clone(),
                        ..Default::default()
                    };
                    match *field {
                        "vendor" => one.vendor.clone_from(&full.vendor),
                        "vendor_country" => one.vendor_country.clone_from(&full.vendor_country),
                        "name" => one.name.clone_from(&full.name),
                        "family" => one.family.clone_from(&full.family),
                        "data_center" => one.data_center = full.data_center,
                        "launch_year" => one.launch_year = full.launch_year,
                        "chips_per_unit" => one.chips_per_unit = full.chips_per_unit,
                        "note" => one.note.clone_from(&full.note),
                        "tflops_bf16" => one.tflops_bf16.clone_from(&full.tflops_bf16),
                        "tflops_fp16" => one.tflops_fp16.clone_from(&full.tflops_fp16),
                        "fp8_tflops" => one.fp8_tflops.clone_from(&full.fp8_tflops),
                        "int8_tops" => one.int8_tops.clone_from(&full.int8_tops),
                        "memory_gb" => one.memory_gb.clone_from(&full.memory_gb),
                        "memory_tbps" => one.memory_tbps.clone_from(&full.memory_tbps),
                        "interconnect_gbps" => {
                            one.interconnect_gbps.clone_from(&full.interconnect_gbps)
                        }
                        "power_w" => one.power_w.clone_from(&full.power_w),
                        "die_mm2" => one.die_mm2.clone_from(&full.die_mm2),
                        "price_usd" => one.price_usd.clone_from(&full.price_usd),
                        _ => unreachable!("every entry field is listed"),
                    }
                    // `one` has no source, so overlaying it copies the field as given.
                    e.overlay(&one);
                }
                e
            })
    }

    proptest! {
        /// An accelerator's own entry laid over it changes nothing.
        #[test]
        fn merging_an_entry_with_itself_changes_nothing(a in accelerator()) {
            let mut merged = a.clone();
            merged.apply(&AcceleratorEntry::from(&a));
            prop_assert_eq!(&merged, &a);
            let mut c = Catalog { accelerators: vec![a.clone()], ..Default::default() };
            prop_assert!(c.apply([&AcceleratorEntry::from(&a)]).is_empty());
            prop_assert_eq!(&c.accelerators, &vec![a]);
        }

        /// Every field an override leaves out keeps the base's value; every field it gives
        /// takes the entry's (with the entry's source where the figure had none); and
        /// `overridden` lists exactly the fields given.
        #[test]
        fn merge_never_drops_a_field(base in accelerator(), e in entry()) {
            let mut c = Catalog { accelerators: vec![base.clone()], ..Default::default() };
            prop_assert!(c.apply([&e]).is_empty());
            let merged = c.get("part").unwrap();
            let given = e.given();
            let (was, now) = (AcceleratorEntry::from(&base), AcceleratorEntry::from(merged));
            for field in Accelerator::FIGURE_FIELDS {
                let f = merged.figure(field).unwrap();
                match e.figure(field) {
                    None => prop_assert_eq!(Some(f), base.figure(field), "{} dropped", field),
                    Some(g) => {
                        prop_assert_eq!(f.value, g.value);
                        prop_assert_eq!(f.confidence, g.confidence);
                        let want = match (&g.source, g.value) {
                            (Some(s), _) => Some(s.clone()),
                            (None, Some(_)) => e.source.clone(),
                            (None, None) => None,
                        };
                        prop_assert_eq!(&f.source, &want);
                    }
                }
            }
            let pairs = [
                ("vendor", was.vendor == now.vendor, e.vendor.is_some()),
                ("launch_year", was.launch_year == now.launch_year, e.launch_year.is_some()),
                ("chips_per_unit", was.chips_per_unit == now.chips_per_unit, e.chips_per_unit.is_some()),
                ("data_center", was.data_center == now.data_center, e.data_center.is_some()),
                ("note", was.note == now.note, e.note.is_some()),
            ];
            for (field, same, given) in pairs {
                prop_assert!(same || given, "{} changed without being given", field);
            }
            let listed: Vec<&str> = c
                .overridden
                .get("part")
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default();
            prop_assert_eq!(listed, given);
        }
    }

    #[test]
    fn a_new_part_lacking_fields_names_them_all() {
        let mut c = Catalog::default();
        let e = AcceleratorEntry {
            id: "new".into(),
            vendor: Some("Acme".into()),
            ..Default::default()
        };
        let out = c.apply([&e]);
        assert_eq!(
            out,
            vec![Incomplete {
                index: 0,
                id: "new".into(),
                missing: vec!["vendor_country", "name", "family"],
            }]
        );
        assert!(c.accelerators.is_empty());
    }
}
