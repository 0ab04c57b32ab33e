//! xpufleet's application layer: every use case the CLI and the server share (load and
//! validate a scenario, check it, plan it with or without a what-if, compute its report), each
//! returning data that both serialise the same way. The CLI and the HTTP handlers parse their
//! input, call one function here and print or serve the answer; nothing here prints, reads the
//! clock or knows of HTTP.
//!
//! **Architecture invariant:** `app` reads files only where its caller gives a path; a scenario
//! given as text (an upload) reads nothing from disk.

use std::path::Path;

use serde::Serialize;
use xpufleet_comply::{CheckReport, PackInfo, RuleEngine, RuleSet, ScreeningList};
use xpufleet_io::whatif::LoadedWhatIf;
use xpufleet_io::{Diagnostic, Diagnostics, LoadedScenario};
use xpufleet_model::{Catalog, Date};
use xpufleet_perf::PerfModel;
use xpufleet_plan::{Plan, PlanDiff, PlanError, PlanOptions};

pub mod alerts;
pub mod build;
pub mod defaults;
pub mod horizon;
pub mod records;
pub mod risk;
pub mod run;
pub mod screening;
pub mod service;
pub mod simulate;
pub mod sweep;

pub use records::{load_effective, overlay, FleetRecords, RecordKind, VerificationRecord};
pub use run::{report, Progress, RunOptions};
pub use simulate::{simulate, SimulateOptions, SimulateOutput, Simulated, Source, TraceInput};

/// A rule pack's origin (file name or resource name) and text.
pub type RuleText = (String, String);

/// Why a use case gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is bad: every problem found, located.
    #[error("{0}")]
    Input(Diagnostics),
    /// The planner could not plan (no feasible plan, unusable options); `context` says which
    /// plan.
    /// (The plan's error is in the message, not a `source`: front ends print the chain, and
    /// it would appear twice.)
    #[error("{context}: {error}")]
    Plan { context: String, error: PlanError },
    /// An option's value is out of range or malformed; `field` names the option (snake_case:
    /// the CLI shows it as a flag, the API as a field).
    #[error("{field}: {message}")]
    Option { field: String, message: String },
    /// The simulation could not be set up or did not finish (it ran out of its event budget).
    #[error("{0}")]
    Simulation(String),
    /// A request the rules refuse whatever its input (a purge of records still within their
    /// retention period); the message cites the rule.
    #[error("{0}")]
    Refused(String),
}

impl From<Diagnostics> for Error {
    fn from(d: Diagnostics) -> Error {
        Error::Input(d)
    }
}

/// A scenario file (the built-in example when `path` is `None`) read against the built-in
/// catalog overridden by `catalog_file`, and validated as `xpufleet validate` validates it.
pub fn load_file(
    path: Option<&Path>,
    catalog_file: Option<&Path>,
) -> Result<LoadedScenario, Diagnostics> {
    xpufleet_io::validate::check_scenario(path, catalog_file)
}

/// A scenario from its text (named `origin` in diagnostics) read against `catalog`, and
/// validated like `load_file`. Files it names relative to itself cannot be read.
pub fn load_text(
    origin: &str,
    text: &str,
    catalog: Catalog,
) -> Result<LoadedScenario, Diagnostics> {
    match xpufleet_io::scenario::scenario_from_text(
        origin.to_string(),
        text.to_string(),
        None,
        catalog,
    ) {
        Ok(ls) => {
            let d = xpufleet_io::validate::validate(&ls);
            if d.is_empty() {
                Ok(ls)
            } else {
                Err(d)
            }
        }
        Err((mut d, partial)) => {
            if let Some(p) = partial {
                d.extend(xpufleet_io::validate::validate_partial(&p));
            }
            d.sort();
            Err(d)
        }
    }
}

/// The rule set of a scenario: the built-in packs, the scenario's `rule_packs`, then `extra`,
/// later ones overriding earlier ones by id.
pub fn rule_set(loaded: &LoadedScenario, extra: &[RuleText]) -> Result<RuleSet, Diagnostics> {
    let mut all = Vec::new();
    for rel in &loaded.scenario.rule_packs {
        all.push(loaded.read_relative(rel).map_err(Diagnostics::from)?);
    }
    all.extend(extra.iter().cloned());
    xpufleet_io::rules::rule_set(&all)
}

/// Reads rule-pack files named relative to `dir`, for a scenario read from a file; a scenario
/// given as text may not name files.
pub(crate) fn read_rule_files(
    names: &[String],
    dir: &Path,
    loaded: &LoadedScenario,
) -> Result<Vec<RuleText>, Error> {
    let mut out = Vec::new();
    for name in names {
        if loaded.dir.is_none() {
            return Err(Error::Input(
                Diagnostic::new(
                    &loaded.origin,
                    format!("rule pack {name:?} cannot be read: the scenario was not read from a folder"),
                )
                .into(),
            ));
        }
        out.push(xpufleet_io::rules::read_rule_file(&dir.join(name))?);
    }
    Ok(out)
}

/// A rule pack that a check used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackRef {
    pub id: String,
    pub version: u32,
    pub title: String,
}

fn pack_refs(rules: &RuleSet) -> Vec<PackRef> {
    rules
        .packs
        .iter()
        .map(|p: &PackInfo| PackRef {
            id: p.id.clone(),
            version: p.version,
            title: p.title.clone(),
        })
        .collect()
}

/// `check`'s answer: every verdict, and the rule packs that gave them. This is the JSON of
/// `xpufleet check --json`.
#[derive(Debug, Serialize)]
pub struct CheckOutput {
    #[serde(flatten)]
    pub report: CheckReport,
    pub rule_packs: Vec<PackRef>,
}

/// A compliance verdict for every pool, intended use and candidate of a checked scenario as of
/// `as_of` (the scenario's date when `None`). Verdicts are answers: only bad rule packs fail.
pub fn check(
    loaded: &LoadedScenario,
    extra_rules: &[RuleText],
    as_of: Option<Date>,
) -> Result<CheckOutput, Error> {
    check_screened(loaded, extra_rules, as_of, None)
}

/// `check`, with every party also screened against `screening` (a list and the name-similarity
/// threshold at or above which a match is a hit), as `check --screening` does.
pub fn check_screened(
    loaded: &LoadedScenario,
    extra_rules: &[RuleText],
    as_of: Option<Date>,
    screening: Option<(&ScreeningList, f64)>,
) -> Result<CheckOutput, Error> {
    let rules = rule_set(loaded, extra_rules)?;
    let mut engine = RuleEngine::new(rules, &loaded.scenario, &loaded.catalog);
    if let Some((list, threshold)) = screening {
        engine = engine.with_screening(list, threshold);
    }
    let date = as_of.unwrap_or(loaded.scenario.date);
    Ok(CheckOutput {
        report: engine.check(date),
        rule_packs: pack_refs(engine.rules()),
    })
}

/// A what-if to re-plan under, with the rule packs it adds (already read).
#[derive(Debug, Clone)]
pub struct WhatIfInput {
    pub what_if: LoadedWhatIf,
    pub rule_packs: Vec<RuleText>,
}

/// The what-if part of `plan`'s answer.
#[derive(Debug, Serialize)]
pub struct WhatIfOutput {
    pub name: String,
    pub description: String,
    pub origin: String,
    pub changes: Vec<String>,
    pub plan: Plan,
    pub diff: PlanDiff,
}

/// `plan`'s answer; the JSON of `xpufleet plan --json`.
#[derive(Debug, Serialize)]
pub struct PlanOutput {
    #[serde(flatten)]
    pub plan: Plan,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what_if: Option<WhatIfOutput>,
    /// With `plan --samples N`: the base plan across samples of the scenario's risks, and the
    /// robust plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<risk::RiskOutput>,
    /// How each line's verdict moves on the rule changes inside the plan's horizon.
    pub verdict_changes: Vec<horizon::PlanVerdictChange>,
    /// The last day of the horizon those changes were looked for up to.
    pub horizon_end: Date,
    /// "as-of" or "strict" (`--horizon-rules`).
    pub horizon_rules: &'static str,
}

/// The procurement plan of a checked scenario under `opts`, and with a what-if, the plan
/// re-made under its changes (as of its date, else `opts.date`; with its objective unless
/// `opts` names one) and the difference.
pub fn plan(
    loaded: &LoadedScenario,
    extra_rules: &[RuleText],
    opts: &PlanOptions,
    what_if: Option<&WhatIfInput>,
) -> Result<PlanOutput, Error> {
    plan_with_risk(loaded, extra_rules, opts, what_if, None)
}

/// `plan`, and with `risk`, the base plan sampled across the scenario's risks and the robust
/// plan (`plan --samples N`; see `risk::risk`).
pub fn plan_with_risk(
    loaded: &LoadedScenario,
    extra_rules: &[RuleText],
    opts: &PlanOptions,
    what_if: Option<&WhatIfInput>,
    risk_opts: Option<&risk::RiskOptions>,
) -> Result<PlanOutput, Error> {
    plan_horizon(
        loaded,
        extra_rules,
        opts,
        what_if,
        risk_opts,
        horizon::HorizonRules::AsOf,
    )
}

/// The planner's default options with the built-in measured serving profiles, so that every
/// plan the application makes sizes services the way `estimate serving` does.
pub fn plan_options() -> PlanOptions {
    PlanOptions {
        serving_profiles: xpufleet_io::serving::builtin_serving_profiles().profiles,
        ..PlanOptions::default()
    }
}

/// `plan_with_risk`, judging candidates by `horizon_rules` (`plan --horizon-rules`).
pub fn plan_horizon(
    loaded: &LoadedScenario,
    extra_rules: &[RuleText],
    opts: &PlanOptions,
    what_if: Option<&WhatIfInput>,
    risk_opts: Option<&risk::RiskOptions>,
    horizon_rules: horizon::HorizonRules,
) -> Result<PlanOutput, Error> {
    let rules = rule_set(loaded, extra_rules)?;
    let engine = RuleEngine::new(rules, &loaded.scenario, &loaded.catalog);
    let perf = PerfModel::default();
    // Callers that do not bring serving profiles get the built-in ones.
    let filled;
    let opts = if opts.serving_profiles.is_empty() && !loaded.scenario.services.is_empty() {
        filled = PlanOptions {
            serving_profiles: plan_options().serving_profiles,
            ..opts.clone()
        };
        &filled
    } else {
        opts
    };
    let date = opts.date.unwrap_or(loaded.scenario.date);
    let until = horizon::horizon_end(&loaded.scenario, date);
    let strict = horizon::StrictGate {
        engine: &engine,
        until,
    };
    let gate: &dyn xpufleet_comply::Gate = match horizon_rules {
        horizon::HorizonRules::AsOf => &engine,
        horizon::HorizonRules::Strict => &strict,
    };
    let base = xpufleet_plan::plan(&loaded.scenario, &loaded.catalog, gate, &perf, opts).map_err(
        |error| Error::Plan {
            context: format!("planning {}", loaded.origin),
            error,
        },
    )?;
    let base = verified(base, &loaded.scenario, &loaded.catalog, gate);
    let verdict_changes = horizon::plan_verdict_changes(&engine, &base, until);
    let horizon_rules = match horizon_rules {
        horizon::HorizonRules::AsOf => "as-of",
        horizon::HorizonRules::Strict => "strict",
    };
    let risk = match risk_opts {
        Some(r) => Some(risk::risk(loaded, extra_rules, opts, &base, r)?),
        None => None,
    };
    let Some(w) = what_if else {
        return Ok(PlanOutput {
            plan: base,
            what_if: None,
            risk,
            verdict_changes,
            horizon_end: until,
            horizon_rules,
        });
    };
    let (alt_scenario, alt_catalog) = w.what_if.apply(&loaded.scenario, &loaded.catalog)?;
    let alt_loaded = LoadedScenario {
        scenario: alt_scenario,
        catalog: alt_catalog,
        ..loaded.clone()
    };
    let mut alt_extra = extra_rules.to_vec();
    alt_extra.extend(w.rule_packs.iter().cloned());
    let alt_rules = rule_set(&alt_loaded, &alt_extra)?;
    let alt_engine = RuleEngine::new(alt_rules, &alt_loaded.scenario, &alt_loaded.catalog);
    let alt_opts = PlanOptions {
        date: w.what_if.what_if.as_of.or(opts.date),
        objective: opts.objective.or_else(|| {
            w.what_if
                .what_if
                .objective
                .as_ref()
                .and_then(|o| o.parse().ok())
        }),
        ..opts.clone()
    };
    let alt = xpufleet_plan::plan(
        &alt_loaded.scenario,
        &alt_loaded.catalog,
        &alt_engine,
        &perf,
        &alt_opts,
    )
    .map_err(|error| Error::Plan {
        context: format!("re-planning under {}", w.what_if.origin),
        error,
    })?;
    let alt = verified(alt, &alt_loaded.scenario, &alt_loaded.catalog, &alt_engine);
    let diff = xpufleet_plan::diff(&base, &alt);
    Ok(PlanOutput {
        plan: base,
        what_if: Some(WhatIfOutput {
            name: w.what_if.what_if.name.clone(),
            description: w.what_if.what_if.description.clone(),
            origin: w.what_if.origin.clone(),
            changes: w.what_if.changes(),
            plan: alt,
            diff,
        }),
        risk,
        verdict_changes,
        horizon_end: until,
        horizon_rules,
    })
}

/// `plan` re-checked independently of the program that made it (`xpufleet_plan::verify_with_gate`:
/// every budget, mix, cap, power and demand row recomputed from the scenario, per period for a
/// plan over periods, and every line re-judged by `gate` on its dates). What the check finds is
/// a planner fault the user must see, so it is added to the plan's warnings, never dropped.
pub fn verified(
    mut plan: xpufleet_plan::Plan,
    scenario: &xpufleet_model::Scenario,
    catalog: &xpufleet_model::Catalog,
    gate: &dyn xpufleet_comply::Gate,
) -> xpufleet_plan::Plan {
    let broken = xpufleet_plan::verify_with_gate(&plan, scenario, catalog, gate);
    plan.warnings.extend(
        broken
            .into_iter()
            .map(|b| format!("the independent check of this plan fails: {b}")),
    );
    plan
}

/// Reads rule-pack files given on a command line (`--rules FILE`).
pub fn read_rule_paths(paths: &[std::path::PathBuf]) -> Result<Vec<RuleText>, Diagnostics> {
    paths
        .iter()
        .map(|p| xpufleet_io::rules::read_rule_file(p))
        .collect()
}
