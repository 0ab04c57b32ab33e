//! The difference between two plans (a base and a what-if): what is bought instead, compute
//! lost, money moved between envelopes and vendors, and which candidates changed eligibility.
//! Plans over periods are compared by (candidate, period): orders that move to another period
//! are listed as moves (bought earlier or later), and spend and capacity are compared per period.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xpufleet_model::{CandidateMode, Date};

use crate::{Excluded, ObjectiveReport, Plan, PlanLine};

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
    /// The period the orders fall in, for plans over periods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
}

/// Units of one candidate ordered in another period in the alternative than in the base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodMove {
    pub candidate: String,
    pub accelerator: String,
    pub units: u64,
    pub from_period: String,
    pub to_period: String,
    /// "earlier" or "later".
    pub direction: String,
}

/// One period's spend and capacity in both plans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodDiff {
    pub id: String,
    pub spend_usd_base: f64,
    pub spend_usd_alt: f64,
    pub delta_usd: f64,
    /// Effective PFLOPS present in the period.
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
    /// Plans over periods: orders that move between periods, in the base's period order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<PeriodMove>,
    /// Plans over periods: spend and capacity per period, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<PeriodDiff>,
}

impl PlanDiff {
    /// True when both plans buy exactly the same.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// The difference from `base` to `alt`. Lines are matched by candidate and period (a one-date
/// line has none).
pub fn diff(base: &Plan, alt: &Plan) -> PlanDiff {
    type Key<'a> = (&'a str, Option<&'a str>);

    fn key(l: &PlanLine) -> Key<'_> {
        (l.candidate.as_str(), l.period.as_deref())
    }
    let mut ids: Vec<Key> = base.lines.iter().map(key).collect();
    for l in &alt.lines {
        if !ids.contains(&key(l)) {
            ids.push(key(l));
        }
    }
    let mut lines = Vec::new();
    for id in ids {
        let b = base.lines.iter().find(|l| key(l) == id);
        let a = alt.lines.iter().find(|l| key(l) == id);
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
            candidate: id.0.to_string(),
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
            period: id.1.map(str::to_string),
        });
    }
    lines.sort_by(|x, y| {
        let dx = (x.spend_usd_alt - x.spend_usd_base).abs();
        let dy = (y.spend_usd_alt - y.spend_usd_base).abs();
        dy.total_cmp(&dx)
            .then_with(|| x.candidate.cmp(&y.candidate))
            .then_with(|| x.period.cmp(&y.period))
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

    // Over periods a candidate may be excluded from some periods in both plans; a change of the
    // periods (which its reasons name) is a change of exclusion.
    let over_periods = !base.periods.is_empty() || !alt.periods.is_empty();
    let same = |x: &Excluded, y: &Excluded| {
        x.candidate == y.candidate && (!over_periods || x.reason == y.reason)
    };
    let newly_excluded = alt
        .excluded
        .iter()
        .filter(|e| !base.excluded.iter().any(|b| same(b, e)))
        .cloned()
        .collect();
    let no_longer_excluded = base
        .excluded
        .iter()
        .filter(|b| !alt.excluded.iter().any(|e| e.candidate == b.candidate))
        .map(|b| b.candidate.clone())
        .collect();
    let (moves, periods) = period_changes(base, alt);
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
        moves,
        periods,
    }
}

/// The periods of both plans in order (the base's, then any only the alternative has, by
/// start), each candidate's orders that moved between them, and each period's spend and
/// capacity.
fn period_changes(base: &Plan, alt: &Plan) -> (Vec<PeriodMove>, Vec<PeriodDiff>) {
    let mut order: Vec<(Date, &str)> = base
        .periods
        .iter()
        .chain(&alt.periods)
        .map(|q| (q.start, q.id.as_str()))
        .collect();
    order.sort();
    order.dedup_by(|x, y| x.1 == y.1);
    let ids: Vec<&str> = order.iter().map(|x| x.1).collect();
    let at = |p: Option<&str>| p.and_then(|p| ids.iter().position(|&q| q == p));
    // Per candidate, units ordered in each period by each plan.
    let mut units: BTreeMap<&str, (String, Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for (plan, is_alt) in [(base, false), (alt, true)] {
        for l in &plan.lines {
            let Some(u) = at(l.period.as_deref()) else {
                continue;
            };
            let e = units.entry(l.candidate.as_str()).or_insert_with(|| {
                (
                    l.accelerator.clone(),
                    vec![0; ids.len()],
                    vec![0; ids.len()],
                )
            });
            let v = if is_alt { &mut e.2 } else { &mut e.1 };
            v[u] += l.units as i64;
        }
    }
    let mut moves = Vec::new();
    for (candidate, (accelerator, b, a)) in units {
        // Units the alternative no longer orders in a period go, earliest first, to the periods
        // where it orders more, nearest first: what moved, not what was added or dropped.
        let mut gone: Vec<(usize, i64)> = (0..ids.len())
            .filter(|&u| b[u] > a[u])
            .map(|u| (u, b[u] - a[u]))
            .collect();
        let mut came: Vec<(usize, i64)> = (0..ids.len())
            .filter(|&u| a[u] > b[u])
            .map(|u| (u, a[u] - b[u]))
            .collect();
        for g in gone.iter_mut() {
            came.sort_by_key(|c| (c.0.abs_diff(g.0), c.0));
            for c in came.iter_mut() {
                let n = g.1.min(c.1);
                if n == 0 {
                    continue;
                }
                g.1 -= n;
                c.1 -= n;
                moves.push(PeriodMove {
                    candidate: candidate.to_string(),
                    accelerator: accelerator.clone(),
                    units: n as u64,
                    from_period: ids[g.0].to_string(),
                    to_period: ids[c.0].to_string(),
                    direction: if c.0 < g.0 { "earlier" } else { "later" }.into(),
                });
            }
        }
    }
    moves.sort_by_key(|m| {
        (
            ids.iter().position(|&q| q == m.from_period),
            m.candidate.clone(),
        )
    });
    let periods = ids
        .iter()
        .map(|&id| {
            let find = |p: &Plan| p.periods.iter().find(|q| q.id == id).cloned();
            let (b, a) = (find(base), find(alt));
            let spend = |q: &Option<crate::PeriodPlan>| q.as_ref().map_or(0.0, |q| q.spend_usd);
            let pflops =
                |q: &Option<crate::PeriodPlan>| q.as_ref().map_or(0.0, |q| q.effective_pflops);
            PeriodDiff {
                id: id.to_string(),
                spend_usd_base: spend(&b),
                spend_usd_alt: spend(&a),
                delta_usd: spend(&a) - spend(&b),
                pflops_base: pflops(&b),
                pflops_alt: pflops(&a),
            }
        })
        .collect();
    (moves, periods)
}
