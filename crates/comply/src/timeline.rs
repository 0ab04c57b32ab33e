//! When the rules change: the dates on which a rule takes effect, starts to require
//! compliance, or lapses, and how a use's verdict moves across them. `xpufleet run` re-plans
//! as of the next such date when a scenario names no what-if of its own; `plan` lists the
//! verdict changes of its lines within its horizon (`verdict_changes`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use xpufleet_model::Date;

use crate::engine::RuleEngine;
use crate::rules::RuleSet;
use crate::verdict::{Outcome, UseRequest, Verdict};

/// Every date in `(after, until]` on which a rule takes effect, starts to require compliance
/// or lapses (the day after its `effective_to`), with the ids of those rules, in date order.
pub fn rule_changes(rules: &RuleSet, after: Date, until: Date) -> Vec<(Date, Vec<String>)> {
    let mut by_date: BTreeMap<Date, BTreeSet<String>> = BTreeMap::new();
    for r in &rules.rules {
        let dates = [
            Some(r.rule.effective_from),
            r.rule.compliance_from,
            r.rule.effective_to.map(|d| d.plus_days(1)),
        ];
        for d in dates
            .into_iter()
            .flatten()
            .filter(|d| *d > after && *d <= until)
        {
            by_date.entry(d).or_default().insert(r.id.clone());
        }
    }
    by_date
        .into_iter()
        .map(|(d, ids)| (d, ids.into_iter().collect()))
        .collect()
}

/// The first date strictly after `as_of` on which a rule takes effect, starts to require
/// compliance or lapses, with the ids of those rules in order; `None` when nothing changes
/// after `as_of`.
pub fn next_rule_change(rules: &RuleSet, as_of: Date) -> Option<(Date, Vec<String>)> {
    rule_changes(
        rules,
        as_of,
        Date::from_ymd(9999, 12, 31).expect("a valid date"),
    )
    .into_iter()
    .next()
}

/// A use whose verdict moves on a date: its outcome, or whether engines may use it (a review
/// that starts or runs out moves only the latter).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerdictChange {
    /// Pool or candidate id.
    pub target: String,
    pub user: String,
    /// The first day of the new verdict.
    pub date: Date,
    pub from: Outcome,
    pub to: Outcome,
    /// Whether engines may use the target before and from `date`.
    pub usable_from: bool,
    pub usable_to: bool,
    /// The rules (or `review/ID`) behind the move: deciding rules that came or went, else the
    /// rules that change on the date.
    pub rules: Vec<String>,
}

impl VerdictChange {
    /// "stricter" when the use stops being usable or its outcome tightens, else "looser".
    pub fn direction(&self) -> &'static str {
        if (self.usable_from && !self.usable_to)
            || (self.usable_from == self.usable_to && self.to > self.from)
        {
            "stricter"
        } else {
            "looser"
        }
    }
}

/// Every date in `(after, until]` on which a verdict about `target` may move, with what moves
/// then: a rule change, a review of the target starting or running out (`review/ID`), a
/// licence (`licence/ID`) or a verification record (`verification/SITE`) starting or running
/// out, a recorded move of a pool's chips (`history/POOL`).
pub fn change_dates(
    engine: &RuleEngine,
    target: &str,
    after: Date,
    until: Date,
) -> BTreeMap<Date, Vec<String>> {
    let mut dates: BTreeMap<Date, Vec<String>> = rule_changes(engine.rules(), after, until)
        .into_iter()
        .collect();
    let s = engine.scenario();
    let mut add = |d: Date, what: String| {
        if d > after && d <= until {
            let at = dates.entry(d).or_default();
            if !at.contains(&what) {
                at.push(what);
            }
        }
    };
    for r in s.reviews.iter().filter(|r| r.target == target) {
        add(r.date, format!("review/{}", r.id));
        add(r.valid_until.plus_days(1), format!("review/{}", r.id));
    }
    for l in &s.licences {
        add(l.valid_from, format!("licence/{}", l.id));
        add(l.valid_until.plus_days(1), format!("licence/{}", l.id));
    }
    for site in &s.sites {
        for v in &site.verifications {
            add(v.date, format!("verification/{}", site.id));
            add(
                v.valid_until.plus_days(1),
                format!("verification/{}", site.id),
            );
        }
    }
    for p in &s.pools {
        for t in &p.history {
            add(t.date, format!("history/{}", p.id));
        }
    }
    dates
}

/// Judges each use of `uses` (dated as of the start) on every date of `change_dates` in
/// `(as_of, until]`, and lists each move of its verdict.
/// Each listed verdict is exactly what `evaluate` (and so `check --as-of`) gives on that date.
pub fn verdict_changes(
    engine: &RuleEngine,
    uses: &[UseRequest],
    until: Date,
) -> Vec<VerdictChange> {
    let mut out = vec![];
    for req in uses {
        let as_of = req.date;
        let dates = change_dates(engine, &req.target, as_of, until);
        let mut prev: Verdict = engine.evaluate(req).verdict;
        for (date, changing) in dates {
            let now = engine
                .evaluate(&UseRequest {
                    date,
                    ..req.clone()
                })
                .verdict;
            if now.outcome != prev.outcome || now.usable != prev.usable {
                let mut rules: Vec<String> = now
                    .rules
                    .iter()
                    .filter(|r| !prev.rules.contains(r))
                    .chain(prev.rules.iter().filter(|r| !now.rules.contains(r)))
                    .cloned()
                    .collect();
                if rules.is_empty() {
                    rules = changing.clone();
                }
                out.push(VerdictChange {
                    target: req.target.clone(),
                    user: req.user.clone(),
                    date,
                    from: prev.outcome,
                    to: now.outcome,
                    usable_from: prev.usable,
                    usable_to: now.usable,
                    rules,
                });
            }
            prev = now;
        }
    }
    out
}
