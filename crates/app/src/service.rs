//! The application service: every computation the server offers is one function here, taking
//! typed input and returning typed output, so the API handlers and the web UI's forms call the
//! same code and can neither compute nor validate differently.
//!
//! A computation reads a scenario revision's text and a [`Context`]: the rule packs, catalog
//! overrides and fleet records stored when it was asked for. The store itself (transactions,
//! the audit trail) stays with the server, which hands this module what it read; nothing here
//! reads the clock, a file or a database.

use serde::{Deserialize, Serialize};
use xpufleet_io::{Diagnostic, Diagnostics, LoadedScenario};
use xpufleet_model::{Catalog, Date};
use xpufleet_report::ReportData;

use crate::records::{FleetRecords, RecordKind, RecordProblem};
use crate::{CheckOutput, Error, PlanOutput, Progress, RuleText, RunOptions, SimulateOptions};

/// The catalog overrides, rule packs and fleet records a computation reads, as stored: (id,
/// version, text) and, for the records overlaid onto scenarios, (kind, id, version, JSON).
/// It is part of what identifies a stored run, so its serialised form does not change: without
/// records the field is left out, so runs stored before records were overlaid keep their ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    catalog_overrides: Vec<(String, i64, String)>,
    rule_packs: Vec<(String, i64, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    records: Vec<(String, String, i64, String)>,
}

impl Context {
    /// The context of stored records given as (kind, id, body, version); rows of a kind that
    /// is not a record kind are refused, since a computation would otherwise ignore them.
    pub fn from_stored(
        rows: impl IntoIterator<Item = (String, String, String, i64)>,
    ) -> Result<Context, Error> {
        let mut c = Context::default();
        for (kind, id, body, version) in rows {
            let k: RecordKind = kind.parse().map_err(|e: String| {
                Error::Input(Diagnostic::new(&format!("{kind}/{id}"), e).into())
            })?;
            match k {
                RecordKind::RulePacks => c.rule_packs.push((id, version, body)),
                RecordKind::CatalogOverrides => c.catalog_overrides.push((id, version, body)),
                _ => c.records.push((kind, id, version, body)),
            }
        }
        Ok(c)
    }

    /// The stored records of `kind` as (id, body).
    pub fn records_of(&self, kind: RecordKind) -> impl Iterator<Item = (&str, &str)> {
        self.records
            .iter()
            .filter(move |(k, ..)| k == kind.as_str())
            .map(|(_, id, _, body)| (id.as_str(), body.as_str()))
    }

    /// The fleet records, parsed; the first bad one is refused, named `kind/id`.
    pub fn fleet_records(&self) -> Result<FleetRecords, Error> {
        let mut rows = Vec::with_capacity(self.records.len());
        for (k, i, _, b) in &self.records {
            let kind: RecordKind = k.parse().map_err(|e: String| {
                Error::Input(Diagnostic::new(&format!("{k}/{i}"), e).into())
            })?;
            rows.push((kind, i.as_str(), b.as_str()));
        }
        FleetRecords::from_stored(rows).map_err(|(name, p)| record_error(&name, p))
    }

    /// The built-in catalog with the stored overrides merged over it.
    pub fn catalog(&self) -> Result<Catalog, Error> {
        let mut c = xpufleet_io::builtin_catalog();
        for (id, _, text) in &self.catalog_overrides {
            // Each stored file is laid over the catalog so far, overriding field by field.
            xpufleet_io::validate::check_catalog_over(
                &mut c,
                text,
                &format!("catalog-overrides/{id}"),
            )?;
        }
        Ok(c)
    }

    /// The stored rule packs, named `rule-packs/<id>`.
    pub fn rules(&self) -> Vec<RuleText> {
        self.rule_packs
            .iter()
            .map(|(id, _, text)| (format!("rule-packs/{id}"), text.clone()))
            .collect()
    }

    /// A scenario's text read against `catalog()`, without the fleet records (what is stored
    /// as the revision).
    pub fn load(&self, text: &str) -> Result<LoadedScenario, Error> {
        Ok(crate::load_text("scenario", text, self.catalog()?)?)
    }

    /// The effective scenario of a revision's text, the fleet records laid over it
    /// (`crate::records` has the rules), and its TOML.
    pub fn load_effective(&self, text: &str) -> Result<(LoadedScenario, String), Error> {
        Ok(crate::load_effective(
            "scenario",
            text,
            &self.catalog()?,
            &self.fleet_records()?,
        )?)
    }
}

/// A refused record as the service reports it: at its field when one is at fault, else at
/// the record (`kind/id`).
pub fn record_error(name: &str, p: RecordProblem) -> Error {
    match p.field {
        Some(field) => Error::Option {
            field,
            message: p.message,
        },
        None => Error::Input(Diagnostics::from(Diagnostic::new(name, p.message))),
    }
}

/// A record's body as given, checked against its kind; the text to store. Rule packs and
/// catalog overrides are TOML documents; the other kinds are JSON objects, checked by
/// `records::parse`.
pub fn check_record(kind: RecordKind, id: &str, text: &str) -> Result<String, Error> {
    check_record_id(id)?;
    let origin = format!("{kind}/{id}");
    match kind {
        RecordKind::RulePacks => {
            xpufleet_io::rules::parse_rule_pack(text, &origin)?;
            Ok(text.to_string())
        }
        RecordKind::CatalogOverrides => {
            xpufleet_io::validate::check_catalog(text, &origin)?;
            Ok(text.to_string())
        }
        _ => {
            // The API reads the JSON first to locate a syntax error by line and column.
            let v: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::Option {
                field: "body".into(),
                message: e.to_string(),
            })?;
            crate::records::parse(kind, id, &v).map_err(|p| record_error(&origin, p))?;
            Ok(v.to_string())
        }
    }
}

/// A record id: 1 to 200 characters, no '/', no control characters, no leading or trailing
/// space, and not "." or "..".
pub fn check_record_id(id: &str) -> Result<(), Error> {
    if id.is_empty()
        || id.len() > 200
        || id.chars().any(|c| c.is_control() || c == '/')
        || id.trim() != id
        || id == "."
        || id == ".."
    {
        return Err(Error::Option {
            field: "id".into(),
            message: "expected 1 to 200 characters, no '/', no control characters, no \
                      leading or trailing space, and not \".\" or \"..\""
                .into(),
        });
    }
    Ok(())
}

/// A what-if's text, parsed. A what-if's rule packs are files beside it on the CLI; the
/// service has no such files and would otherwise plan without them while the answer claims
/// the what-if, so it refuses them.
pub fn what_if(text: &str) -> Result<crate::WhatIfInput, Error> {
    let w = xpufleet_io::whatif::parse_what_if(text, "what-if")?;
    if !w.what_if.rule_packs.is_empty() {
        return Err(Error::Option {
            field: "rule_packs".into(),
            message: "a what-if's rule packs are not read by the server; store each as a \
                      rule-packs record (PUT /api/v1/rule-packs/{id}) and leave rule_packs out"
                .into(),
        });
    }
    Ok(crate::WhatIfInput {
        what_if: w,
        rule_packs: vec![],
    })
}

/// What to compute on a scenario revision.
#[derive(Debug, Clone)]
pub enum Computation {
    /// `xpufleet check`.
    Check { as_of: Option<Date> },
    /// `xpufleet plan [--what-if]`; the what-if as its TOML text.
    Plan {
        as_of: Option<Date>,
        what_if: Option<String>,
    },
    /// `xpufleet run`: check, plan, simulate and the report.
    Run(RunOptions),
    /// `xpufleet simulate`.
    Simulate(SimulateOptions),
}

/// A computation's answer.
#[derive(Debug)]
pub enum Computed {
    Check(Box<CheckOutput>),
    Plan(Box<PlanOutput>),
    Run(Box<ReportData>),
    Simulate(Box<crate::SimulateOutput>),
}

/// Computes `what` on the effective scenario of `scenario` (a revision's text) under `ctx`.
/// Blocking; `progress` hears the run's steps.
pub fn compute(
    ctx: &Context,
    scenario: &str,
    what: &Computation,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Computed, Error> {
    let (loaded, _) = ctx.load_effective(scenario)?;
    let rules = ctx.rules();
    Ok(match what {
        Computation::Check { as_of } => {
            Computed::Check(Box::new(crate::check(&loaded, &rules, *as_of)?))
        }
        Computation::Plan { as_of, what_if } => {
            let w = what_if.as_deref().map(self::what_if).transpose()?;
            let opts = xpufleet_plan::PlanOptions {
                date: *as_of,
                ..xpufleet_plan::PlanOptions::default()
            };
            Computed::Plan(Box::new(crate::plan(&loaded, &rules, &opts, w.as_ref())?))
        }
        Computation::Run(opts) => {
            Computed::Run(Box::new(crate::report(&loaded, &rules, opts, progress)?))
        }
        Computation::Simulate(opts) => {
            let out = crate::simulate(
                crate::Source::Scenario(&loaded, &rules),
                &loaded.catalog,
                opts,
                &mut |_, _| {},
            )?;
            Computed::Simulate(Box::new(out.output))
        }
    })
}
