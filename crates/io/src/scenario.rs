//! Reading the accelerator catalog and scenario files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;
use xpufleet_model::{
    AcceleratorEntry, Candidate, Catalog, CatalogFile, Entity, Envelope, Incomplete, Licence, Pool,
    Scenario, Site, SupplierMix, SupplyCap, TrainingJob,
};

use crate::diag::{Diagnostic, Diagnostics, SpanIndex};

/// The built-in catalog's text (`data/catalog.toml`).
pub const BUILTIN_CATALOG: &str = include_str!("../../../data/catalog.toml");
/// The built-in example scenario's text (`examples/capex-2025.toml`).
pub const EXAMPLE_SCENARIO: &str = include_str!("../../../examples/capex-2025.toml");
/// The origin name the built-in example is reported under.
pub const EXAMPLE_NAME: &str = "examples/capex-2025.toml";
/// The built-in example's what-if file.
pub const EXAMPLE_WHAT_IF: &str = include_str!("../../../examples/what-if-h20.toml");

/// The built-in catalog.
pub fn builtin_catalog() -> Catalog {
    parse_catalog(BUILTIN_CATALOG, "data/catalog.toml")
        .expect("the built-in catalog parses (checked by tests)")
}

/// Parses a complete catalog's text (the built-in one): every entry must give the required
/// fields, since there is nothing under it to override. Reports every syntax error, or every
/// type error (one per accelerator entry at most), or every incomplete entry.
pub fn parse_catalog(text: &str, origin: &str) -> Result<Catalog, Diagnostics> {
    let mut catalog = Catalog::default();
    overlay_catalog(&mut catalog, text, origin)?;
    Ok(catalog)
}

/// Parses a catalog file's text as written: its sources and entries (overrides or new parts),
/// reporting every syntax error, or every type error (one per accelerator entry at most).
pub fn parse_catalog_file(text: &str, origin: &str) -> Result<CatalogFile, Diagnostics> {
    parse_toml(
        text,
        origin,
        &[("accelerator", check_item::<AcceleratorEntry>)],
    )
}

/// Lays a catalog file's text over `base` (see `Catalog::apply_file`): an entry naming a listed
/// id replaces only the fields it gives; every entry with a new id that lacks required fields
/// is reported, with all it lacks, at the entry.
pub fn overlay_catalog(base: &mut Catalog, text: &str, origin: &str) -> Result<(), Diagnostics> {
    let file = parse_catalog_file(text, origin)?;
    let incomplete = base.apply_file(&file);
    let d = incomplete_entries(text, origin, "accelerator", &incomplete);
    if d.is_empty() {
        Ok(())
    } else {
        Err(d)
    }
}

/// Reads a catalog file and lays it over `base` (see `overlay_catalog`).
pub fn overlay_catalog_file(base: &mut Catalog, path: &Path) -> Result<(), Diagnostics> {
    let origin = path.display().to_string();
    let text = crate::diag::read_text(path)?;
    overlay_catalog(base, &text, &origin)
}

/// One located diagnostic per entry of `list` that adds a part without every required field,
/// naming all it lacks.
pub(crate) fn incomplete_entries(
    text: &str,
    origin: &str,
    list: &str,
    incomplete: &[Incomplete],
) -> Diagnostics {
    let index = SpanIndex::new(text);
    Diagnostics(
        incomplete
            .iter()
            .map(|inc| {
                Diagnostic::at_path(
                    origin,
                    text,
                    &index,
                    &format!("{list}[{}]", inc.index),
                    format!(
                        "accelerator {:?} is not in the catalog, so it adds a part, and lacks {}: \
                         expected {} for a new part (an entry whose id is listed overrides only \
                         the fields it gives)",
                        inc.id,
                        inc.missing.join(", "),
                        AcceleratorEntry::REQUIRED.join(", "),
                    ),
                )
            })
            .collect(),
    )
}

/// A scenario with the catalog it is read against and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    pub scenario: Scenario,
    /// Built-in catalog, then the user's catalog file, then the scenario's own accelerators.
    pub catalog: Catalog,
    /// File name, or `examples/capex-2025.toml` for the built-in example.
    pub origin: String,
    /// The file's text, kept for locating later diagnostics.
    pub text: String,
    /// Folder that relative paths in the scenario are read from; `None` for the built-in example.
    pub dir: Option<PathBuf>,
}

impl LoadedScenario {
    /// Reads a file that the scenario names (a what-if, a rule pack), relative to the scenario.
    /// For the built-in example, its bundled files are served from memory.
    pub fn read_relative(&self, rel: &str) -> Result<(String, String), Diagnostic> {
        match &self.dir {
            None if rel == "what-if-h20.toml" => Ok((
                "examples/what-if-h20.toml".into(),
                EXAMPLE_WHAT_IF.to_string(),
            )),
            None => Err(Diagnostic::new(
                &self.origin,
                format!("no bundled file {rel:?}"),
            )),
            Some(dir) => {
                let p = dir.join(rel);
                let origin = p.display().to_string();
                crate::diag::read_text(&p).map(|t| (origin, t))
            }
        }
    }
}

/// Parses a scenario's text (syntax and types only; see `validate` for cross-references).
/// Reports every syntax error; failing that, every type error (one per list entry at most, plus
/// the first among the top-level fields).
pub fn parse_scenario(text: &str, origin: &str) -> Result<Scenario, Diagnostics> {
    parse_toml(text, origin, SCENARIO_LISTS)
}

/// Checks that one list entry deserialises as `T`.
pub(crate) type ItemCheck = fn(Spanned<DeValue<'_>>) -> Result<(), toml::de::Error>;

pub(crate) fn check_item<T: DeserializeOwned>(
    v: Spanned<DeValue<'_>>,
) -> Result<(), toml::de::Error> {
    T::deserialize(toml::de::ValueDeserializer::from(v)).map(|_| ())
}

/// The scenario's arrays of tables and the type of their entries.
const SCENARIO_LISTS: &[(&str, ItemCheck)] = &[
    ("accelerator", check_item::<AcceleratorEntry>),
    ("entity", check_item::<Entity>),
    ("site", check_item::<Site>),
    ("pool", check_item::<Pool>),
    ("envelope", check_item::<Envelope>),
    ("supplier_mix", check_item::<SupplierMix>),
    ("candidate", check_item::<Candidate>),
    ("supply_cap", check_item::<SupplyCap>),
    ("licence", check_item::<Licence>),
    ("review", check_item::<xpufleet_model::Review>),
    ("job", check_item::<TrainingJob>),
    ("service", check_item::<xpufleet_model::Service>),
    ("risk", check_item::<xpufleet_model::Risk>),
    ("period", check_item::<xpufleet_model::Period>),
];

/// Parses `text` as a `T`. Serde stops at the first type error, so on failure each entry of each
/// list in `lists` is deserialised on its own, and the rest of the document with those lists
/// emptied, to find every entry that is wrong in one run.
pub(crate) fn parse_toml<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    lists: &[(&str, ItemCheck)],
) -> Result<T, Diagnostics> {
    let (doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        // Types are not checked on a document that did not parse: its recovered parts would give
        // misleading follow-on errors.
        return Err(Diagnostics(
            syntax.iter().map(|e| toml_diag(text, origin, e)).collect(),
        ));
    }
    let first = match T::deserialize(toml::de::Deserializer::from(doc.clone())) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let index = SpanIndex::new(text);
    let mut errors = Vec::new();
    let span = doc.span();
    let mut shell = doc.into_inner();
    for (key, check) in lists {
        let Some(v) = shell.get_mut(*key) else {
            continue;
        };
        let DeValue::Array(items) = v.get_mut() else {
            continue;
        };
        let taken = std::mem::replace(items, toml::de::DeArray::new());
        for item in taken.iter() {
            let item_span = item.span();
            if let Err(e) = check(item.clone()) {
                // An error without a span is reported at its entry rather than nowhere.
                errors.push((e, Some(item_span)));
            }
        }
    }
    if let Err(e) = T::deserialize(toml::de::Deserializer::from(Spanned::new(span, shell))) {
        errors.push((e, None));
    }
    if errors.is_empty() {
        errors.push((first, None));
    }
    let mut out = Diagnostics(
        errors
            .iter()
            .map(|(e, fallback)| typed_diag(text, origin, &index, e, fallback.clone()))
            .collect(),
    );
    out.sort();
    out.0.dedup();
    Err(out)
}

/// A located, explained diagnostic from a toml type error: the field path is found from the
/// error's position, and serde's type names are spelled out.
fn typed_diag(
    text: &str,
    origin: &str,
    index: &SpanIndex,
    e: &toml::de::Error,
    fallback: Option<std::ops::Range<usize>>,
) -> Diagnostic {
    let message = explain(e.message().trim());
    let mut d = Diagnostic::new(origin, message.clone());
    if let Some(span) = e.span().or(fallback) {
        d = d.at_offset(text, span.start);
        if let Some(path) = index.path_at(span.start) {
            // "missing field `x`" / "unknown field `x`" name a field of the value found.
            let named = ["missing field `", "unknown field `"]
                .iter()
                .find_map(|p| message.strip_prefix(p))
                .and_then(|rest| rest.split('`').next());
            let field = match (path, named) {
                ("", Some(f)) => f.to_string(),
                (p, Some(f)) => format!("{p}.{f}"),
                (p, None) => p.to_string(),
            };
            if !field.is_empty() {
                d = d.field(field);
            }
        }
    }
    d
}

/// Spells serde's primitive type names the way a scenario author thinks of them.
fn explain(msg: &str) -> String {
    const NAMES: &[(&str, &str)] = &[
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected u64", "expected a whole number of 0 or more"),
        ("expected i32", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
    ];
    let mut out = msg.to_string();
    for (from, to) in NAMES {
        if out.ends_with(from) {
            out = format!("{}{to}", &out[..out.len() - from.len()]);
        }
    }
    out
}

/// What is left of a scenario that failed its type checks: the entries that passed, so that the
/// cross-reference checks can run on them in the same run.
#[derive(Debug, Clone)]
pub struct PartialScenario {
    /// The scenario with only the list entries that parsed.
    pub loaded: LoadedScenario,
    /// List name ("pool") -> the index in the file of each entry kept, in order.
    pub kept: BTreeMap<&'static str, Vec<usize>>,
    /// List name -> the `id`s of the entries that did not parse (they exist, though broken, so
    /// references to them are not reported as unknown).
    pub failed_ids: BTreeMap<&'static str, Vec<String>>,
}

/// List name -> file index of each entry kept.
type KeptEntries = BTreeMap<&'static str, Vec<usize>>;
/// List name -> ids of the entries that did not parse.
type FailedIds = BTreeMap<&'static str, Vec<String>>;

/// Entries of one list that deserialise as `T`, with their indices, and the ids of the others.
fn typed_entries<T: DeserializeOwned>(
    doc: &DeTable<'_>,
    key: &'static str,
    kept: &mut BTreeMap<&'static str, Vec<usize>>,
    failed_ids: &mut BTreeMap<&'static str, Vec<String>>,
) -> Vec<T> {
    let mut out = Vec::new();
    let Some(DeValue::Array(items)) = doc.get(key).map(|v| v.get_ref()) else {
        return out;
    };
    for (i, item) in items.iter().enumerate() {
        match T::deserialize(toml::de::ValueDeserializer::from(item.clone())) {
            Ok(v) => {
                out.push(v);
                kept.entry(key).or_default().push(i);
            }
            Err(_) => {
                let id = item
                    .get_ref()
                    .as_table()
                    .and_then(|t| t.get("id"))
                    .and_then(|v| v.get_ref().as_str());
                if let Some(id) = id {
                    failed_ids.entry(key).or_default().push(id.to_string());
                }
            }
        }
    }
    out
}

/// The entries of a type-incorrect scenario that are right, if its top-level fields are.
fn partial_scenario(text: &str) -> Option<(Scenario, KeptEntries, FailedIds)> {
    let (doc, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        return None;
    }
    let span = doc.span();
    let doc = doc.into_inner();
    let mut shell = doc.clone();
    for (key, _) in SCENARIO_LISTS {
        if let Some(v) = shell.get_mut(*key) {
            if let DeValue::Array(items) = v.get_mut() {
                *items = toml::de::DeArray::new();
            }
        }
    }
    let mut s =
        Scenario::deserialize(toml::de::Deserializer::from(Spanned::new(span, shell))).ok()?;
    let (mut kept, mut failed) = (BTreeMap::new(), BTreeMap::new());
    s.accelerators = typed_entries(&doc, "accelerator", &mut kept, &mut failed);
    s.entities = typed_entries(&doc, "entity", &mut kept, &mut failed);
    s.sites = typed_entries(&doc, "site", &mut kept, &mut failed);
    s.pools = typed_entries(&doc, "pool", &mut kept, &mut failed);
    s.envelopes = typed_entries(&doc, "envelope", &mut kept, &mut failed);
    s.supplier_mix = typed_entries(&doc, "supplier_mix", &mut kept, &mut failed);
    s.candidates = typed_entries(&doc, "candidate", &mut kept, &mut failed);
    s.supply_caps = typed_entries(&doc, "supply_cap", &mut kept, &mut failed);
    s.licences = typed_entries(&doc, "licence", &mut kept, &mut failed);
    s.reviews = typed_entries(&doc, "review", &mut kept, &mut failed);
    s.jobs = typed_entries(&doc, "job", &mut kept, &mut failed);
    s.services = typed_entries(&doc, "service", &mut kept, &mut failed);
    s.risks = typed_entries(&doc, "risk", &mut kept, &mut failed);
    s.periods = typed_entries(&doc, "period", &mut kept, &mut failed);
    Some((s, kept, failed))
}

/// Like `load_scenario`, but when the scenario has type errors, also gives back what parsed of
/// it (see `PartialScenario`), if its top-level fields did.
pub fn load_scenario_partial(
    path: Option<&Path>,
    catalog_file: Option<&Path>,
) -> Result<LoadedScenario, (Diagnostics, Option<Box<PartialScenario>>)> {
    let (origin, text, dir) = match path {
        None => (EXAMPLE_NAME.to_string(), EXAMPLE_SCENARIO.to_string(), None),
        Some(p) => {
            let origin = p.display().to_string();
            let text = crate::diag::read_text(p).map_err(|d| (d.into(), None))?;
            let dir = p.parent().map(|d| d.to_path_buf()).unwrap_or_default();
            (origin, text, Some(dir))
        }
    };
    let mut catalog = builtin_catalog();
    if let Some(f) = catalog_file {
        overlay_catalog_file(&mut catalog, f).map_err(|d| (d, None))?;
    }
    scenario_from_text(origin, text, dir, catalog)
}

/// A scenario from its text, read against `catalog` (which its own accelerator entries then
/// override or extend); when it has type errors, or entries that add a part without its
/// required fields, also what parsed of it. `dir` is where its relative paths point.
pub fn scenario_from_text(
    origin: String,
    text: String,
    dir: Option<PathBuf>,
    mut catalog: Catalog,
) -> Result<LoadedScenario, (Diagnostics, Option<Box<PartialScenario>>)> {
    let (scenario, mut partial) = match parse_scenario(&text, &origin) {
        Ok(s) => (s, None),
        Err(d) => match partial_scenario(&text) {
            Some((s, kept, failed_ids)) => (s, Some((d, kept, failed_ids))),
            None => return Err((d, None)),
        },
    };
    let incomplete = catalog.apply(&scenario.accelerators);
    if !incomplete.is_empty() {
        // The entry indices are those of the entries that parsed; the file's are wanted.
        let kept_accels = partial
            .as_ref()
            .and_then(|(_, kept, _)| kept.get("accelerator").cloned());
        let located: Vec<Incomplete> = incomplete
            .into_iter()
            .map(|mut inc| {
                if let Some(k) = &kept_accels {
                    inc.index = k[inc.index];
                }
                inc
            })
            .collect();
        let d = incomplete_entries(&text, &origin, "accelerator", &located);
        // The incomplete entries exist, though broken: references to them are not reported
        // again as unknown accelerators.
        let ids = located.iter().map(|inc| inc.id.clone());
        match &mut partial {
            Some((diags, _, failed)) => {
                diags.extend(d);
                diags.sort();
                failed.entry("accelerator").or_default().extend(ids);
            }
            None => {
                let mut failed = FailedIds::new();
                failed.insert("accelerator", ids.collect());
                partial = Some((d, KeptEntries::new(), failed));
            }
        }
    }
    let loaded = LoadedScenario {
        scenario,
        catalog,
        origin,
        text,
        dir,
    };
    match partial {
        None => Ok(loaded),
        Some((d, kept, failed_ids)) => Err((
            d,
            Some(Box::new(PartialScenario {
                loaded,
                kept,
                failed_ids,
            })),
        )),
    }
}

/// Loads a scenario file, or the built-in example when `path` is `None`, against the built-in
/// catalog overridden by `catalog_file`.
pub fn load_scenario(
    path: Option<&Path>,
    catalog_file: Option<&Path>,
) -> Result<LoadedScenario, Diagnostics> {
    load_scenario_partial(path, catalog_file).map_err(|(d, _)| d)
}

/// A located diagnostic from a TOML syntax or type error.
pub(crate) fn toml_diag(text: &str, origin: &str, e: &toml::de::Error) -> Diagnostic {
    let msg = e.message().trim().to_string();
    let d = Diagnostic::new(origin, msg);
    match e.span() {
        Some(span) => d.at_offset(text, span.start),
        None => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_and_example_parse() {
        let c = builtin_catalog();
        assert!(c.get("h100-sxm").is_some());
        let s = load_scenario(None, None).unwrap();
        assert_eq!(s.scenario.name, "capex-2025");
        assert!(!s.scenario.pools.is_empty());
    }

    #[test]
    fn type_error_is_located() {
        let text = "name = \"x\"\ndate = 2025-01-01\ncompany = 3\n";
        let e = parse_scenario(text, "s.toml").unwrap_err();
        let d = &e.0[0];
        assert_eq!(d.line, Some(3), "{d}");
    }

    /// A reference figure: reported, estimate, unknown ("?") or unsupported ("-").
    #[derive(Debug, Clone, Copy)]
    enum R {
        V(f64),
        E(f64),
        U,
        N,
    }
    use R::{E, N, U, V};

    /// Figures copied from /work/shared/reference/accelerators.md (the project's digest of the
    /// sources K, AE, AC, HL, TS, SA, CN, DT, TH2), in its column order: dense BF16 TFLOPS,
    /// INT8 TOPS, FP8 TFLOPS, memory GB, memory TB/s, chip-to-chip GB/s, TDP W, logic die mm²;
    /// then launch year and the reported price range (USD low, high, source key) when there is
    /// one.
    type RefRow = (&'static str, [R; 8], i32, Option<(f64, f64, &'static str)>);

    #[rustfmt::skip]
    const REFERENCE: &[RefRow] = &[
        ("h100-sxm",      [V(989.5), V(1979.0), V(1979.0), V(80.0),  V(3.35),  V(900.0),  V(700.0),  V(814.0)],   2022, Some((25000.0, 30000.0, "TS"))),
        ("h800-sxm",      [V(989.5), V(1979.0), V(1979.0), V(80.0),  V(3.35),  V(400.0),  V(700.0),  V(814.0)],   2023, None),
        ("h200-sxm",      [V(989.5), V(1979.0), V(1979.0), V(141.0), V(4.8),   V(900.0),  V(700.0),  V(814.0)],   2024, Some((20000.0, 20000.0, "DT"))),
        ("h20",           [V(148.0), V(296.0),  V(296.0),  V(96.0),  V(4.0),   V(900.0),  V(400.0),  V(814.0)],   2024, Some((12000.0, 13000.0, "SA"))),
        ("a100-sxm-80gb", [V(312.0), V(624.0),  N,         V(80.0),  V(2.039), V(600.0),  V(400.0),  V(826.0)],   2020, None),
        ("a800-sxm",      [V(312.0), V(624.0),  N,         V(80.0),  V(2.0),   V(400.0),  V(400.0),  V(826.0)],   2022, None),
        // Die areas beyond the reference digest, each with its own source (issue 24 item 7):
        // the L20's AD102 (NVIDIA's Ada whitepaper), the 910C's two 910B dies (an estimate).
        ("l20",           [V(119.5), V(239.0),  V(239.0),  V(48.0),  V(0.864), V(64.0),   V(275.0),  V(608.5)],   2024, None),
        ("b200",          [V(2250.0),V(4500.0), V(4500.0), V(192.0), V(8.0),   V(1800.0), V(1000.0), E(1600.0)],  2024, Some((30000.0, 40000.0, "CN"))),
        ("ascend-910b",   [V(320.0), V(640.0),  N,         V(64.0),  V(1.6),   V(392.0),  V(400.0),  V(665.6)],   2023, None),
        ("ascend-910c",   [E(780.0), U,         U,         E(128.0), E(3.2),   E(784.0),  U,         E(1331.2)],  2025, Some((28600.0, 28600.0, "TH2"))),
        ("mlu370-x8",     [V(96.0),  V(256.0),  N,         V(48.0),  V(0.614), V(200.0),  V(250.0),  U],          2022, None),
        ("mlu590",        [U,        U,         U,         U,        U,        U,         U,         U],          2023, None),
    ];

    /// The source keys listed at the end of the reference, with their citations.
    const REFERENCE_SOURCES: &[(&str, &str)] = &[
        ("K", "github s-w-kelly/chip-export-controls src/data/chipData.js (per-figure sources inside)"),
        ("AE", "github airensurzyn/export-control-threshold-analysis (rules.py, README.md)"),
        ("AC", "github ArthurChiao/arthurchiao.github.io _posts/2023-10-25-gpu-data-sheets.md"),
        ("HL", "hardwareluxx.de (Ascend 910B die area and variants)"),
        ("TS", "techspot.com news 99839 (H100 price)"),
        ("SA", "reported H20 price $12-13k"),
        ("CN", "B200 price reported Oct 2024"),
        ("DT", "digitimes 2025-12-23 (H200 order)"),
        ("TH2", "tomshardware (Huawei 910C volume/revenue)"),
        ("ADA", "NVIDIA Ada GPU Architecture whitepaper (AD102: 608.5 mm2, 76.3B transistors; reported by VideoCardz/TechSpot 2022-09)"),
        ("TI", "TechInsights / tomshardware teardown reports (Ascend 910C: two 910B-class dies in one package)"),
    ];

    #[test]
    fn builtin_catalog_matches_the_reference() {
        use xpufleet_model::Confidence;
        const FIELDS: [&str; 8] = [
            "tflops_bf16",
            "int8_tops",
            "fp8_tflops",
            "memory_gb",
            "memory_tbps",
            "interconnect_gbps",
            "power_w",
            "die_mm2",
        ];
        let c = builtin_catalog();
        let keys: Vec<(&str, &str)> = c
            .sources
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut want = REFERENCE_SOURCES.to_vec();
        want.sort();
        assert_eq!(
            keys, want,
            "catalog [sources] differ from the reference's source keys"
        );
        let ids: Vec<&str> = c.ids().collect();
        let ref_ids: Vec<&str> = REFERENCE.iter().map(|r| r.0).collect();
        assert_eq!(ids, ref_ids);
        let mut wrong = Vec::new();
        for (id, figures, year, price) in REFERENCE {
            let a = c.get(id).unwrap();
            for (field, want) in FIELDS.iter().zip(figures) {
                let f = a.figure(field).unwrap();
                let ok = match *want {
                    V(v) => f.value == Some(v) && f.confidence == Confidence::Reported,
                    E(v) => f.value == Some(v) && f.confidence == Confidence::Estimate,
                    U => f.value.is_none() && f.confidence == Confidence::Unknown,
                    N => f.value.is_none() && f.confidence == Confidence::Unsupported,
                };
                if !ok {
                    wrong.push(format!("{id}.{field}: catalog {f:?}, reference {want:?}"));
                }
                // Every known figure cites a source key of the reference.
                if f.value.is_some()
                    && !f
                        .source
                        .as_deref()
                        .is_some_and(|k| c.sources.contains_key(k))
                {
                    wrong.push(format!(
                        "{id}.{field}: no known source key ({:?})",
                        f.source
                    ));
                }
            }
            if a.launch_year != Some(*year) {
                wrong.push(format!("{id}.launch_year: {:?} vs {year}", a.launch_year));
            }
            match (price, a.price_usd.value) {
                (None, None) => {}
                (Some((lo, hi, key)), Some(v)) => {
                    if v < *lo || v > *hi || a.price_usd.source.as_deref() != Some(*key) {
                        wrong.push(format!(
                            "{id}.price_usd: {v} [{:?}] outside {lo}-{hi} [{key}]",
                            a.price_usd.source
                        ));
                    }
                }
                (p, v) => wrong.push(format!("{id}.price_usd: catalog {v:?}, reference {p:?}")),
            }
        }
        // FP16 is not in the reference; the catalog takes it equal to BF16 (same tensor rate).
        for a in &c.accelerators {
            if a.tflops_fp16.value != a.tflops_bf16.value {
                wrong.push(format!("{}.tflops_fp16 differs from tflops_bf16", a.id));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
