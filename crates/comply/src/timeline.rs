//! When the rules change: the first date after a given one on which a rule takes effect, starts
//! to require compliance, or lapses. `xpufleet run` re-plans as of that date when a scenario
//! names no what-if of its own.

use std::collections::{BTreeMap, BTreeSet};

use xpufleet_model::Date;

use crate::rules::RuleSet;

/// The first date strictly after `as_of` on which a rule takes effect, starts to require
/// compliance or lapses (the day after its `effective_to`), with the ids of those rules in
/// order; `None` when nothing changes after `as_of`.
pub fn next_rule_change(rules: &RuleSet, as_of: Date) -> Option<(Date, Vec<String>)> {
    let mut by_date: BTreeMap<Date, BTreeSet<String>> = BTreeMap::new();
    for r in &rules.rules {
        let dates = [
            Some(r.rule.effective_from),
            r.rule.compliance_from,
            r.rule.effective_to.map(|d| d.plus_days(1)),
        ];
        for d in dates.into_iter().flatten().filter(|d| *d > as_of) {
            by_date.entry(d).or_default().insert(r.id.clone());
        }
    }
    by_date
        .into_iter()
        .next()
        .map(|(d, ids)| (d, ids.into_iter().collect()))
}
