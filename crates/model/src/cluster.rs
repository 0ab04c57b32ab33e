//! A cluster as a trace or a workload generator describes it: groups of identical nodes, by
//! site and accelerator type. The simulator turns each group into a pool.
//!
//! This is lighter than a scenario's [`Pool`](crate::Pool): a trace knows how many nodes of which
//! accelerator it had, not what they cost or who owns them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Identical nodes of one accelerator type at one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeGroup {
    /// Site id; traces from a single cluster use `"site-0"`.
    pub site: String,
    /// Accelerator type: a catalog id (`"h100-sxm"`) or the trace's own name (`"V100M32"`).
    pub accel: String,
    pub nodes: u32,
    pub accels_per_node: u32,
    /// Accelerators in one scale-up domain (NVLink/HCCS): `accels_per_node` for an ordinary
    /// node, more for a supernode. Always a multiple of `accels_per_node`.
    pub scaleup_domain: u32,
}

impl NodeGroup {
    pub fn accels(&self) -> u64 {
        u64::from(self.nodes) * u64::from(self.accels_per_node)
    }
}

/// A cluster: node groups in a stable order (site, then accelerator, then node size).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSpec {
    pub groups: Vec<NodeGroup>,
}

impl ClusterSpec {
    /// Adds `nodes` nodes, merging into an existing group with the same site, type, node size
    /// and scale-up domain.
    pub fn add(&mut self, site: &str, accel: &str, nodes: u32, accels_per_node: u32, scaleup: u32) {
        if let Some(g) = self.groups.iter_mut().find(|g| {
            g.site == site
                && g.accel == accel
                && g.accels_per_node == accels_per_node
                && g.scaleup_domain == scaleup
        }) {
            g.nodes += nodes;
            return;
        }
        self.groups.push(NodeGroup {
            site: site.to_string(),
            accel: accel.to_string(),
            nodes,
            accels_per_node,
            scaleup_domain: scaleup,
        });
        self.groups.sort_by(|a, b| {
            (&a.site, &a.accel, a.accels_per_node, a.scaleup_domain).cmp(&(
                &b.site,
                &b.accel,
                b.accels_per_node,
                b.scaleup_domain,
            ))
        });
    }

    /// Total accelerators.
    pub fn total_accels(&self) -> u64 {
        self.groups.iter().map(NodeGroup::accels).sum()
    }

    /// Accelerators per type, summed over sites.
    pub fn by_type(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for g in &self.groups {
            *out.entry(g.accel.clone()).or_insert(0) += g.accels();
        }
        out
    }

    /// Accelerators per site and type.
    pub fn by_site(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for g in &self.groups {
            *out.entry(g.site.clone())
                .or_default()
                .entry(g.accel.clone())
                .or_insert(0) += g.accels();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_merges_identical_groups_and_sorts() {
        let mut c = ClusterSpec::default();
        c.add("b", "h20", 2, 8, 8);
        c.add("a", "v100", 3, 4, 4);
        c.add("b", "h20", 1, 8, 8);
        assert_eq!(c.groups.len(), 2);
        assert_eq!(c.groups[0].site, "a");
        assert_eq!(c.groups[1].nodes, 3);
        assert_eq!(c.total_accels(), 12 + 24);
        assert_eq!(c.by_type()["h20"], 24);
        assert_eq!(c.by_site()["a"]["v100"], 12);
    }
}
