//! The difference between two plans (a base and a what-if): what is bought instead, compute
//! lost, money moved between envelopes and vendors, and which candidates changed eligibility.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xpufleet_model::{CandidateMode, Date};

use crate::{Excluded, ObjectiveReport, Plan};

/// One candidate whose quantity changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineDiff {
    pub candidate: String,
    pub accelerator: String,
    pub vendor: String,
    pub site: String,
    pub mode: CandidateMode,
    /// "added", "dropped", "more" or "fewer".
    pub change: String,
    pub units_base: u64,
    pub units_alt: u64,
    pub spend_usd_base: f64,
    pub spend_usd_alt: f64,
    pub pflops_base: f64,
    pub pflops_alt: f64,
}

/// Spend of one envelope in both plans, in its currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopeDiff {
    pub id: String,
    pub currency: String,
    pub spent_base: f64,
    pub spent_alt: f64,
    pub delta: f64,
}

/// Spend with one vendor in both plans, USD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VendorDiff {
    pub vendor: String,
    pub vendor_country: String,
    pub spend_usd_base: f64,
    pub spend_usd_alt: f64,
    pub delta_usd: f64,
    pub units_base: u64,
    pub units_alt: u64,
}

/// What changes from `base` to `alt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanDiff {
    pub date_base: Date,
    pub date_alt: Date,
    pub objective_base: ObjectiveReport,
    pub objective_alt: ObjectiveReport,
    pub pflops_base: f64,
    pub pflops_alt: f64,
    /// Alt minus base: negative is compute lost.
    pub pflops_delta: f64,
    pub spend_usd_base: f64,
    pub spend_usd_alt: f64,
    pub spend_usd_delta: f64,
    /// Candidates whose quantity changed, largest USD change first.
    pub lines: Vec<LineDiff>,
    pub envelopes: Vec<EnvelopeDiff>,
    /// Vendors whose spend changed, largest change first: where the money moved.
    pub vendors: Vec<VendorDiff>,
    /// Excluded in the alternative but not in the base, with the alternative's reasons.
    pub newly_excluded: Vec<Excluded>,
    /// Excluded in the base but eligible in the alternative.
    pub no_longer_excluded: Vec<String>,
}

impl PlanDiff {
    /// True when both plans buy exactly the same.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// The difference from `base` to `alt`.
pub fn diff(base: &Plan, alt: &Plan) -> PlanDiff {
    let mut ids: Vec<&str> = base.lines.iter().map(|l| l.candidate.as_str()).collect();
    for l in &alt.lines {
        if !ids.contains(&l.candidate.as_str()) {
            ids.push(&l.candidate);
        }
    }
    let mut lines = Vec::new();
    for id in ids {
        let b = base.lines.iter().find(|l| l.candidate == id);
        let a = alt.lines.iter().find(|l| l.candidate == id);
        let any = a.or(b).expect("the id came from one of the plans");
        let ub = b.map_or(0, |l| l.units);
        let ua = a.map_or(0, |l| l.units);
        if ub == ua {
            continue;
        }
        let change = match (ub, ua) {
            (0, _) => "added",
            (_, 0) => "dropped",
            (b, a) if a > b => "more",
            _ => "fewer",
        };
        lines.push(LineDiff {
            candidate: id.to_string(),
            accelerator: any.accelerator.clone(),
            vendor: any.vendor.clone(),
            site: any.site.clone(),
            mode: any.mode,
            change: change.into(),
            units_base: ub,
            units_alt: ua,
            spend_usd_base: b.map_or(0.0, |l| l.spend_usd),
            spend_usd_alt: a.map_or(0.0, |l| l.spend_usd),
            pflops_base: b.map_or(0.0, |l| l.effective_pflops),
            pflops_alt: a.map_or(0.0, |l| l.effective_pflops),
        });
    }
    lines.sort_by(|x, y| {
        let dx = (x.spend_usd_alt - x.spend_usd_base).abs();
        let dy = (y.spend_usd_alt - y.spend_usd_base).abs();
        dy.total_cmp(&dx)
            .then_with(|| x.candidate.cmp(&y.candidate))
    });

    let mut envelopes: Vec<EnvelopeDiff> = Vec::new();
    for e in base.envelopes.iter().chain(&alt.envelopes) {
        if envelopes.iter().any(|x| x.id == e.id) {
            continue;
        }
        let sb = base
            .envelopes
            .iter()
            .find(|x| x.id == e.id)
            .map_or(0.0, |x| x.spent);
        let sa = alt
            .envelopes
            .iter()
            .find(|x| x.id == e.id)
            .map_or(0.0, |x| x.spent);
        envelopes.push(EnvelopeDiff {
            id: e.id.clone(),
            currency: e.currency.clone(),
            spent_base: sb,
            spent_alt: sa,
            delta: sa - sb,
        });
    }

    let mut vendors: BTreeMap<&str, VendorDiff> = BTreeMap::new();
    for (l, is_alt) in base
        .lines
        .iter()
        .map(|l| (l, false))
        .chain(alt.lines.iter().map(|l| (l, true)))
    {
        let v = vendors.entry(&l.vendor).or_insert_with(|| VendorDiff {
            vendor: l.vendor.clone(),
            vendor_country: l.vendor_country.clone(),
            spend_usd_base: 0.0,
            spend_usd_alt: 0.0,
            delta_usd: 0.0,
            units_base: 0,
            units_alt: 0,
        });
        if is_alt {
            v.spend_usd_alt += l.spend_usd;
            v.units_alt += l.units;
        } else {
            v.spend_usd_base += l.spend_usd;
            v.units_base += l.units;
        }
    }
    let mut vendors: Vec<VendorDiff> = vendors
        .into_values()
        .map(|mut v| {
            v.delta_usd = v.spend_usd_alt - v.spend_usd_base;
            v
        })
        .filter(|v| v.units_base != v.units_alt || v.delta_usd.abs() > 1e-6)
        .collect();
    vendors.sort_by(|x, y| {
        y.delta_usd
            .abs()
            .total_cmp(&x.delta_usd.abs())
            .then_with(|| x.vendor.cmp(&y.vendor))
    });

    let newly_excluded = alt
        .excluded
        .iter()
        .filter(|e| !base.excluded.iter().any(|b| b.candidate == e.candidate))
        .cloned()
        .collect();
    let no_longer_excluded = base
        .excluded
        .iter()
        .filter(|b| !alt.excluded.iter().any(|e| e.candidate == b.candidate))
        .map(|b| b.candidate.clone())
        .collect();
    PlanDiff {
        date_base: base.date,
        date_alt: alt.date,
        objective_base: base.objective.clone(),
        objective_alt: alt.objective.clone(),
        pflops_base: base.effective_pflops,
        pflops_alt: alt.effective_pflops,
        pflops_delta: alt.effective_pflops - base.effective_pflops,
        spend_usd_base: base.spend_usd,
        spend_usd_alt: alt.spend_usd,
        spend_usd_delta: alt.spend_usd - base.spend_usd,
        lines,
        envelopes,
        vendors,
        newly_excluded,
        no_longer_excluded,
    }
}
