//! Sweeps that scale out (`xpufleet sweep`): the grid of a spec (what-ifs × planning policies)
//! times a sample of the scenario's risks is one list of work items, point-major; shard `I` of
//! `N` evaluates the `I`-th contiguous slice of it, and `merge` puts the shards back together
//! into the result one unsharded run gives.
//!
//! **Invariant:** a sample is drawn from `(seed, sample index)` alone (`plan::risk::draw`) and a
//! point's plan from the scenario alone, so the merged result does not depend on how the work
//! was split: `merge` of shards `0..N` is the result of shard `0/1`, byte for byte once written.
//! Every point uses the same samples (common random numbers), so points compare on equal terms.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use xpufleet_io::sweep::{Point, SweepSpec};
use xpufleet_io::whatif::parse_what_if;
use xpufleet_io::{Diagnostic, Diagnostics, LoadedScenario};
use xpufleet_perf::PerfModel;
use xpufleet_plan::risk::{draws, Spread};
use xpufleet_plan::{Objective, PlanOptions};

use crate::{rule_set, Error};

/// The format tag of a shard file.
pub const SHARD_FORMAT: &str = "xpufleet-sweep-shard/1";
/// The format tag of a result file.
pub const RESULT_FORMAT: &str = "xpufleet-sweep-result/1";

/// A bought or leased line of a point's plan, as much as the sweep needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineRef {
    pub candidate: String,
    pub nodes: u64,
    pub effective_pflops: f64,
    pub spend_usd: f64,
}

/// A point of the grid and its plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointPlan {
    pub index: u64,
    #[serde(flatten)]
    pub point: Point,
    pub lines: Vec<LineRef>,
}

/// One evaluated work item: `[work index, effective PFLOPS, spend USD]`.
pub type Value = (u64, f64, f64);

/// What one shard computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardOutput {
    pub format: String,
    pub spec: SweepSpec,
    pub shard: u64,
    pub of: u64,
    /// Work items in the whole sweep: points × samples.
    pub total: u64,
    /// The points this shard touched, with their plans.
    pub points: Vec<PointPlan>,
    pub values: Vec<Value>,
}

/// A point's outcome across every sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    pub id: String,
    pub what_if: Option<String>,
    pub objective: Option<String>,
    pub lines: Vec<LineRef>,
    pub nominal_effective_pflops: f64,
    pub nominal_spend_usd: f64,
    pub effective_pflops: Spread,
    pub spend_usd: Spread,
    /// Lowest and highest effective PFLOPS over the samples.
    pub min_effective_pflops: f64,
    pub max_effective_pflops: f64,
}

/// `result.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    pub format: String,
    pub name: String,
    pub samples: u64,
    pub seed: u64,
    pub points: Vec<PointResult>,
}

/// Which work items shard `shard` of `of` evaluates: `[shard·T/of, (shard+1)·T/of)`.
pub fn slice(total: u64, shard: u64, of: u64) -> std::ops::Range<u64> {
    let at = |k: u64| (k as u128 * total as u128 / of as u128) as u64;
    at(shard)..at(shard + 1)
}

fn input(origin: &str, msg: String) -> Error {
    Error::Input(Diagnostic::new(origin, msg).into())
}

/// Evaluates shard `shard` of `of` of `spec` (read from `spec_origin`, whose folder `spec_dir`
/// relative paths start from).
pub fn run_shard(
    spec: &SweepSpec,
    spec_origin: &str,
    spec_dir: &Path,
    shard: u64,
    of: u64,
) -> Result<ShardOutput, Error> {
    if of == 0 || shard >= of {
        return Err(input(
            "--shard",
            format!("{shard}/{of}: expected I/N with 0 ≤ I < N"),
        ));
    }
    let loaded = match &spec.scenario {
        None => crate::load_file(None, None)?,
        Some(rel) => crate::load_file(Some(&spec_dir.join(rel)), None)?,
    };
    crate::risk::refuse_periods(&loaded, "sweep")?;
    let points = spec.points();
    let total = points.len() as u64 * spec.samples;
    let range = slice(total, shard, of);
    let mut out = ShardOutput {
        format: SHARD_FORMAT.into(),
        spec: spec.clone(),
        shard,
        of,
        total,
        points: Vec::new(),
        values: Vec::with_capacity((range.end - range.start) as usize),
    };
    if range.is_empty() {
        return Ok(out);
    }
    let first = range.start / spec.samples;
    let last = (range.end - 1) / spec.samples;
    for p in first..=last {
        let point = &points[p as usize];
        let (alt, lines) = plan_point(&loaded, point, spec_origin)?;
        let date = alt.scenario.date;
        let model = crate::risk::risk_model(&alt, &[], date)?;
        let lo = range.start.max(p * spec.samples) - p * spec.samples;
        let hi = range.end.min((p + 1) * spec.samples) - p * spec.samples;
        for (k, u) in (lo..hi).zip(draws(spec.seed, lo..hi, model.risks.len())) {
            let (pflops, spend) = model.outcome(&lines, &u);
            out.values.push((p * spec.samples + k, pflops, spend));
        }
        out.points.push(PointPlan {
            index: p,
            point: point.clone(),
            lines: lines
                .iter()
                .map(|l| LineRef {
                    candidate: l.candidate.clone(),
                    nodes: l.nodes,
                    effective_pflops: l.effective_pflops,
                    spend_usd: l.spend_usd,
                })
                .collect(),
        });
    }
    Ok(out)
}

/// The scenario of a point (its what-if applied) and its plan's lines.
fn plan_point(
    loaded: &LoadedScenario,
    point: &Point,
    spec_origin: &str,
) -> Result<(LoadedScenario, Vec<xpufleet_plan::PlanLine>), Error> {
    let mut alt = loaded.clone();
    let mut extra = Vec::new();
    if let Some(rel) = &point.what_if {
        let (origin, text) = loaded.read_relative(rel).map_err(Diagnostics::from)?;
        let w = parse_what_if(&text, &origin)?;
        let (s, c) = w.apply(&loaded.scenario, &loaded.catalog)?;
        alt.scenario = s;
        alt.catalog = c;
        if !w.what_if.rule_packs.is_empty() {
            let dir = Path::new(&origin)
                .parent()
                .unwrap_or(Path::new(""))
                .to_path_buf();
            extra = crate::read_rule_files(&w.what_if.rule_packs, &dir, loaded)?;
        }
    }
    let objective = match &point.objective {
        None => None,
        Some(o) => Some(
            o.parse::<Objective>()
                .map_err(|e| input(spec_origin, format!("point {}: {e}", point.id)))?,
        ),
    };
    let rules = rule_set(&alt, &extra)?;
    let engine = xpufleet_comply::RuleEngine::new(rules, &alt.scenario, &alt.catalog);
    let opts = PlanOptions {
        objective,
        sensitivity: false,
        ..crate::plan_options()
    };
    let plan = xpufleet_plan::plan(
        &alt.scenario,
        &alt.catalog,
        &engine,
        &PerfModel::default(),
        &opts,
    )
    .map_err(|error| Error::Plan {
        context: format!("planning point {} of {spec_origin}", point.id),
        error,
    })?;
    Ok((alt, plan.lines))
}

/// Puts shards (each with the file it came from) back together: every shard `0..N` of one spec
/// exactly once, every work item exactly once, every point planned alike by every shard.
pub fn merge(shards: &[(String, ShardOutput)]) -> Result<SweepResult, Error> {
    let Some((origin0, first)) = shards.first() else {
        return Err(input(
            "sweep merge",
            "no shard files (shard-I-of-N.json) found".into(),
        ));
    };
    let mut seen: BTreeMap<u64, &str> = BTreeMap::new();
    for (origin, s) in shards {
        if s.format != SHARD_FORMAT {
            return Err(input(
                origin,
                format!("format {:?}: expected {SHARD_FORMAT:?}", s.format),
            ));
        }
        if s.spec != first.spec || s.of != first.of || s.total != first.total {
            return Err(input(
                origin,
                format!(
                    "a shard of another sweep than {origin0} (its spec or shard count differs)"
                ),
            ));
        }
        if let Some(o) = seen.insert(s.shard, origin) {
            return Err(input(
                origin,
                format!("shard {}/{} is also in {o}", s.shard, s.of),
            ));
        }
    }
    let missing: Vec<String> = (0..first.of)
        .filter(|k| !seen.contains_key(k))
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(input(
            origin0,
            format!("shards missing of {}: {}", first.of, missing.join(", ")),
        ));
    }
    let spec = &first.spec;
    let points = spec.points();
    let n = spec.samples as usize;
    let mut pflops = vec![f64::NAN; first.total as usize];
    let mut spend = vec![f64::NAN; first.total as usize];
    let mut plans: Vec<Option<&Vec<LineRef>>> = vec![None; points.len()];
    for (origin, s) in shards {
        let range = slice(s.total, s.shard, s.of);
        for &(k, p, m) in &s.values {
            if !range.contains(&k) || !pflops[k as usize].is_nan() {
                return Err(input(
                    origin,
                    format!(
                        "work item {k} is outside shard {}/{} or repeated",
                        s.shard, s.of
                    ),
                ));
            }
            pflops[k as usize] = p;
            spend[k as usize] = m;
        }
        if s.values.len() as u64 != range.end - range.start {
            return Err(input(
                origin,
                format!(
                    "{} work items: expected {}",
                    s.values.len(),
                    range.end - range.start
                ),
            ));
        }
        for pp in &s.points {
            let i = pp.index as usize;
            if i >= points.len() || pp.point != points[i] {
                return Err(input(
                    origin,
                    format!("point {} is not in the spec", pp.point.id),
                ));
            }
            match plans[i] {
                None => plans[i] = Some(&pp.lines),
                Some(l) if *l == pp.lines => {}
                Some(_) => {
                    return Err(input(
                        origin,
                        format!(
                            "shards disagree on the plan of point {} (a solver time limit?)",
                            pp.point.id
                        ),
                    ))
                }
            }
        }
    }
    let mut out = Vec::with_capacity(points.len());
    for (i, point) in points.iter().enumerate() {
        let lines = plans[i]
            .ok_or_else(|| input(origin0, format!("no shard planned point {}", point.id)))?
            .clone();
        let p = &pflops[i * n..(i + 1) * n];
        let m = &spend[i * n..(i + 1) * n];
        check_values(shards, point, &lines, i * n, p, m)?;
        out.push(PointResult {
            id: point.id.clone(),
            what_if: point.what_if.clone(),
            objective: point.objective.clone(),
            nominal_effective_pflops: lines.iter().map(|l| l.effective_pflops).sum(),
            nominal_spend_usd: lines.iter().map(|l| l.spend_usd).sum(),
            lines,
            effective_pflops: Spread::of(p),
            spend_usd: Spread::of(m),
            min_effective_pflops: p.iter().copied().fold(f64::INFINITY, f64::min),
            max_effective_pflops: p.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        });
    }
    Ok(SweepResult {
        format: RESULT_FORMAT.into(),
        name: spec.name.clone(),
        samples: spec.samples,
        seed: spec.seed,
        points: out,
    })
}

/// Refuses values no evaluation can produce, so that an edited shard file cannot pass for a
/// computed one: every figure finite and non-negative, and no sample above its plan's nominal
/// effective PFLOPS (risks only take compute away: rules remove lines, deliveries are fractions
/// of at most one, prices and exchange rates move spend alone).
fn check_values(
    shards: &[(String, ShardOutput)],
    point: &Point,
    lines: &[LineRef],
    first: usize,
    pflops: &[f64],
    spend: &[f64],
) -> Result<(), Error> {
    let origin_of = |k: usize| {
        shards
            .iter()
            .find(|(_, s)| slice(s.total, s.shard, s.of).contains(&(k as u64)))
            .map_or("sweep merge", |(o, _)| o.as_str())
    };
    let bad = |x: f64| !x.is_finite() || x < 0.0;
    if let Some(l) = lines
        .iter()
        .find(|l| bad(l.effective_pflops) || bad(l.spend_usd))
    {
        return Err(input(
            origin_of(first),
            format!(
                "point {}: line {} has effective PFLOPS {} and spend USD {}: expected finite, \
                 non-negative figures",
                point.id, l.candidate, l.effective_pflops, l.spend_usd
            ),
        ));
    }
    let nominal: f64 = lines.iter().map(|l| l.effective_pflops).sum();
    let ceiling = nominal * (1.0 + 1e-9) + 1e-9;
    for (j, (&p, &m)) in pflops.iter().zip(spend).enumerate() {
        let k = first + j;
        if bad(p) || bad(m) || p > ceiling {
            return Err(input(
                origin_of(k),
                format!(
                    "work item {k} (point {}): effective PFLOPS {p} and spend USD {m}: expected \
                     finite, non-negative figures, PFLOPS at most the plan's nominal {nominal:.1}",
                    point.id
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_the_work_once() {
        for total in [0u64, 1, 7, 100, 1001] {
            for of in [1u64, 2, 3, 7, 64] {
                let mut next = 0;
                for k in 0..of {
                    let r = slice(total, k, of);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, total);
            }
        }
    }
}
