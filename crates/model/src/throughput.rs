//! Measured throughput of each job kind on each accelerator type at each gang size: the table a
//! heterogeneity-aware scheduler ranks placements by.
//!
//! The table holds what Gavel calls the "null" entry of its throughput JSON: steps per second of
//! a job of kind `kind` using `gang` accelerators of type `accel`, running alone (not space-shared
//! with another job). A value of `0.0` is a measurement too: the job cannot run on that type
//! (Gavel uses it for out-of-memory combinations), and a scheduler must never place it there.
//! An absent entry means "not profiled", which is different from zero: the trace readers count
//! jobs whose (kind, gang) has no entry on any type and skip them unless asked to remap.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Steps per second for (job kind, accelerator type, gang size), job running alone.
///
/// Keys are plain strings so that tables read from Gavel (`"v100"`, `"ResNet-18 (batch size
/// 64)"`) and tables built for catalog accelerators (`"h100-sxm"`) share one type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThroughputTable {
    /// kind → accelerator type → gang size → steps per second.
    entries: BTreeMap<String, BTreeMap<String, BTreeMap<u32, f64>>>,
}

impl ThroughputTable {
    /// Records (or replaces) one measurement. Negative or non-finite rates are stored as zero:
    /// a rate the job cannot run at.
    pub fn insert(&mut self, kind: &str, accel: &str, gang: u32, steps_per_s: f64) {
        let rate = if steps_per_s.is_finite() && steps_per_s > 0.0 {
            steps_per_s
        } else {
            0.0
        };
        self.entries
            .entry(kind.to_string())
            .or_default()
            .entry(accel.to_string())
            .or_default()
            .insert(gang, rate);
    }

    /// Steps per second of `kind` on `gang` accelerators of type `accel`, if profiled.
    pub fn get(&self, kind: &str, accel: &str, gang: u32) -> Option<f64> {
        self.entries.get(kind)?.get(accel)?.get(&gang).copied()
    }

    /// Like [`get`](Self::get), but an unprofiled combination reads as zero (never runs there).
    pub fn rate_or_zero(&self, kind: &str, accel: &str, gang: u32) -> f64 {
        self.get(kind, accel, gang).unwrap_or(0.0)
    }

    /// The fastest accelerator type for (kind, gang) and its rate; ties go to the type whose id
    /// sorts first, so the answer is deterministic. `None` when no type runs it at a rate > 0.
    pub fn fastest(&self, kind: &str, gang: u32) -> Option<(&str, f64)> {
        let mut best: Option<(&str, f64)> = None;
        for (accel, gangs) in self.entries.get(kind)? {
            if let Some(&rate) = gangs.get(&gang) {
                let better = match best {
                    None => true,
                    Some((_, b)) => rate > b,
                };
                if rate > 0.0 && better {
                    best = Some((accel.as_str(), rate));
                }
            }
        }
        best
    }

    /// Is (kind, gang) profiled on at least one accelerator type?
    pub fn has(&self, kind: &str, gang: u32) -> bool {
        self.entries
            .get(kind)
            .is_some_and(|by_accel| by_accel.values().any(|g| g.contains_key(&gang)))
    }

    /// Is `kind` in the table at all?
    pub fn has_kind(&self, kind: &str) -> bool {
        self.entries.contains_key(kind)
    }

    /// Gang sizes profiled for `kind` on at least one accelerator type, ascending.
    pub fn gangs(&self, kind: &str) -> BTreeSet<u32> {
        self.entries
            .get(kind)
            .map(|by_accel| by_accel.values().flat_map(|g| g.keys().copied()).collect())
            .unwrap_or_default()
    }

    /// The largest profiled gang size for `kind` that is at most `gang`: the remapping the trace
    /// readers apply (on request) to jobs whose gang size was never profiled.
    pub fn gang_at_most(&self, kind: &str, gang: u32) -> Option<u32> {
        self.gangs(kind).range(..=gang).next_back().copied()
    }

    /// Job kinds, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Accelerator types that appear anywhere in the table, sorted.
    pub fn accel_types(&self) -> BTreeSet<&str> {
        self.entries
            .values()
            .flat_map(|by_accel| by_accel.keys().map(String::as_str))
            .collect()
    }

    /// Every entry as (kind, accel, gang, steps/s), in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, u32, f64)> {
        self.entries.iter().flat_map(|(kind, by_accel)| {
            by_accel.iter().flat_map(move |(accel, gangs)| {
                gangs
                    .iter()
                    .map(move |(&gang, &rate)| (kind.as_str(), accel.as_str(), gang, rate))
            })
        })
    }

    /// Number of (kind, accel, gang) entries.
    pub fn len(&self) -> usize {
        self.entries
            .values()
            .flat_map(|by_accel| by_accel.values())
            .map(BTreeMap::len)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> ThroughputTable {
        let mut t = ThroughputTable::default();
        t.insert("resnet", "v100", 1, 10.0);
        t.insert("resnet", "v100", 2, 18.0);
        t.insert("resnet", "v100", 8, 60.0);
        t.insert("resnet", "k80", 1, 3.0);
        t.insert("lm", "k80", 1, 0.0);
        t.insert("lm", "v100", 1, f64::NAN);
        t
    }

    #[test]
    fn lookups_distinguish_absent_from_zero() {
        let t = table();
        assert_eq!(t.get("resnet", "v100", 2), Some(18.0));
        assert_eq!(t.get("resnet", "k80", 2), None);
        assert_eq!(t.get("lm", "k80", 1), Some(0.0));
        assert_eq!(
            t.get("lm", "v100", 1),
            Some(0.0),
            "NaN is stored as cannot-run"
        );
        assert_eq!(t.rate_or_zero("resnet", "p100", 1), 0.0);
        assert!(t.has("resnet", 8) && !t.has("resnet", 4) && !t.has("cyclegan", 1));
        assert_eq!(t.len(), 6);
    }

    #[test]
    fn remap_gang_rounds_down_to_profiled() {
        let t = table();
        assert_eq!(t.gang_at_most("resnet", 4), Some(2));
        assert_eq!(t.gang_at_most("resnet", 64), Some(8));
        assert_eq!(t.gang_at_most("resnet", 0), None);
        assert_eq!(t.gang_at_most("nope", 4), None);
    }

    #[test]
    fn fastest_skips_zero_and_is_deterministic() {
        let t = table();
        assert_eq!(t.fastest("resnet", 1), Some(("v100", 10.0)));
        assert_eq!(t.fastest("lm", 1), None);
        assert_eq!(
            t.accel_types().into_iter().collect::<Vec<_>>(),
            ["k80", "v100"]
        );
    }
}
