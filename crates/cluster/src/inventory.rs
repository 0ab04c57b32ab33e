//! What an import finds: sites and pools in the scenario's own field names, and every node it
//! could not use with the reason. Nodes are grouped into pools by (site, accelerator, node
//! size, scale-up domain); a pool must be homogeneous, so node size is part of the key too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::map::Mapping;
use crate::{Error, Result};

/// One accelerator node as an importer read it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRecord {
    pub name: String,
    pub site: String,
    /// Free-text region (the region label, the Slurm cluster).
    pub region: String,
    /// Country the node's own labels give, if any.
    pub country: Option<String>,
    /// Catalog id.
    pub accelerator: String,
    /// Accelerators in the node.
    pub count: u32,
    /// The scale-up domain the node belongs to (nodes sharing it form one domain); `None`
    /// when the node is its own domain.
    pub domain: Option<String>,
}

/// A node or object an import could not use, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Skip {
    /// Node name (Kubernetes `metadata.name`, Slurm `NodeName`).
    pub node: String,
    /// `no-accelerator`, `unmapped-product`, `no-site`, `zero-accelerators`, ...
    pub reason: String,
    /// The label (or Slurm field) that was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Its value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A scenario field the cluster cannot know, to be filled before the fragment validates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Missing {
    /// `site` or `pool`.
    pub kind: &'static str,
    pub id: String,
    pub fields: Vec<String>,
}

/// An imported inventory: `{"site": [...], "pool": [...], "skipped": [...]}` plus what is
/// left to fill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inventory {
    pub site: Vec<Map<String, Value>>,
    pub pool: Vec<Map<String, Value>>,
    pub skipped: Vec<Skip>,
    pub missing: Vec<Missing>,
}

/// Site fields no cluster API reports.
const SITE_FACILITY: [&str; 6] = [
    "tenure",
    "owner",
    "operator",
    "power_mw",
    "pue",
    "electricity_per_kwh",
];

/// An identifier usable as a scenario id and a Kubernetes name: lower case, `[a-z0-9-]`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

pub(crate) fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::from(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::from(*b),
        toml::Value::Datetime(d) => Value::from(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

fn json_to_toml(v: &Value) -> Option<toml::Value> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64()?),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(a) => toml::Value::Array(a.iter().filter_map(json_to_toml).collect()),
        Value::Object(o) => toml::Value::Table(
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), json_to_toml(v)?)))
                .collect(),
        ),
    })
}

/// Groups accelerator nodes into sites and pools. `file` names the input for errors.
pub fn group(
    file: &str,
    nodes: &[NodeRecord],
    mut skipped: Vec<Skip>,
    mapping: &Mapping,
) -> Result<Inventory> {
    // Scale-up domains: the accelerators of all nodes that share a domain value.
    let mut domain_size: BTreeMap<&str, u64> = BTreeMap::new();
    for n in nodes {
        if let Some(d) = &n.domain {
            *domain_size.entry(d).or_default() += u64::from(n.count);
        }
    }
    // Sites, with the country their nodes agree on.
    struct SiteAcc {
        region: String,
        country: Option<(String, String)>,
    }
    let mut sites: BTreeMap<String, SiteAcc> = BTreeMap::new();
    type Key = (String, String, u32, u32);
    let mut groups: BTreeMap<Key, u32> = BTreeMap::new();
    for n in nodes {
        let scaleup = match &n.domain {
            Some(d) => {
                let size = domain_size[d.as_str()];
                u32::try_from(size).map_err(|_| {
                    Error::input(
                        file,
                        format!("node {}", n.name),
                        "a scale-up domain below 2^32 accelerators",
                        size.to_string(),
                    )
                })?
            }
            None => n.count,
        };
        if !scaleup.is_multiple_of(n.count) {
            return Err(Error::input(
                file,
                format!(
                    "node {} (scale-up domain {:?})",
                    n.name,
                    n.domain.as_deref().unwrap_or("")
                ),
                format!(
                    "nodes of one scale-up domain with the same accelerator count ({} here)",
                    n.count
                ),
                format!(
                    "a domain of {scaleup} accelerators, not a multiple of {}",
                    n.count
                ),
            ));
        }
        let acc = sites.entry(n.site.clone()).or_insert(SiteAcc {
            region: n.region.clone(),
            country: None,
        });
        if let Some(c) = &n.country {
            match &acc.country {
                Some((seen, by)) if seen != c => {
                    return Err(Error::input(
                        file,
                        format!("node {} (site {})", n.name, n.site),
                        format!("the country of site {} ({seen}, from node {by})", n.site),
                        c.clone(),
                    ))
                }
                Some(_) => {}
                None => acc.country = Some((c.clone(), n.name.clone())),
            }
        }
        *groups
            .entry((n.site.clone(), n.accelerator.clone(), n.count, scaleup))
            .or_default() += 1;
    }

    let mut missing = vec![];
    let mut site_out = vec![];
    for (id, acc) in &sites {
        let mut m = Map::new();
        m.insert("id".into(), Value::from(id.clone()));
        let country = acc
            .country
            .as_ref()
            .map(|(c, _)| c.clone())
            .or_else(|| mapping.countries.get(id).cloned());
        let mut lacking = vec![];
        match country {
            Some(c) => {
                m.insert("country".into(), Value::from(c));
            }
            None => lacking.push("country".to_string()),
        }
        if !acc.region.is_empty() {
            m.insert("region".into(), Value::from(acc.region.clone()));
        }
        if let Some(extra) = mapping.sites.get(id) {
            for (k, v) in extra {
                m.insert(k.clone(), toml_to_json(v));
            }
        }
        for f in SITE_FACILITY {
            if !m.contains_key(f) {
                lacking.push(f.to_string());
            }
        }
        if !lacking.is_empty() {
            missing.push(Missing {
                kind: "site",
                id: id.clone(),
                fields: lacking,
            });
        }
        site_out.push(m);
    }

    // Pool ids: site-accelerator, qualified by node size and domain only when one site has
    // several shapes of the same accelerator.
    let mut shapes: BTreeMap<(&str, &str), u32> = BTreeMap::new();
    for (site, accel, _, _) in groups.keys() {
        *shapes.entry((site, accel)).or_default() += 1;
    }
    let mut pool_out = vec![];
    let mut ids = BTreeSet::new();
    for ((site, accel, per_node, scaleup), n_nodes) in &groups {
        let mut id = slug(&format!("{site}-{accel}"));
        if shapes[&(site.as_str(), accel.as_str())] > 1 {
            id = format!("{id}-{per_node}x-d{scaleup}");
        }
        // Slugging can make two (site, accelerator) pairs one id: number the later ones.
        if ids.contains(&id) {
            let base = id.clone();
            let mut k = 2;
            while ids.contains(&id) {
                id = format!("{base}-{k}");
                k += 1;
            }
        }
        ids.insert(id.clone());
        let mut m = Map::new();
        m.insert("id".into(), Value::from(id.clone()));
        m.insert("site".into(), Value::from(site.clone()));
        m.insert("accelerator".into(), Value::from(accel.clone()));
        m.insert("nodes".into(), Value::from(*n_nodes));
        m.insert("accels_per_node".into(), Value::from(*per_node));
        m.insert("scaleup_domain".into(), Value::from(*scaleup));
        for (k, v) in &mapping.pool_defaults {
            m.insert(k.clone(), toml_to_json(v));
        }
        if !m.contains_key("acquisition") {
            missing.push(Missing {
                kind: "pool",
                id,
                fields: vec!["acquisition".into()],
            });
        }
        pool_out.push(m);
    }
    skipped.sort();
    Ok(Inventory {
        site: site_out,
        pool: pool_out,
        skipped,
        missing,
    })
}

/// Field order in the TOML fragment: the scenario's documented order, then the rest.
const SITE_ORDER: [&str; 10] = [
    "id",
    "name",
    "country",
    "region",
    "tenure",
    "owner",
    "operator",
    "power_mw",
    "pue",
    "electricity_per_kwh",
];
const POOL_ORDER: [&str; 9] = [
    "id",
    "site",
    "accelerator",
    "nodes",
    "accels_per_node",
    "scaleup_domain",
    "owner",
    "acquisition",
    "licences",
];

fn write_table(out: &mut String, header: &str, m: &Map<String, Value>, order: &[&str]) {
    let _ = writeln!(out, "[[{header}]]");
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort_by_key(|k| (order.iter().position(|o| o == k).unwrap_or(order.len()), *k));
    let mut nested = vec![];
    for k in keys {
        let Some(v) = json_to_toml(&m[k]) else {
            continue;
        };
        // Arrays of tables (a site's verifications) go after the plain fields, as their own
        // [[site.verification]] tables.
        if let toml::Value::Array(a) = &v {
            if !a.is_empty() && a.iter().all(|x| x.is_table()) {
                nested.push((k.clone(), a.clone()));
                continue;
            }
        }
        let _ = writeln!(out, "{k} = {v}");
    }
    for (k, items) in nested {
        for item in items {
            let _ = writeln!(out, "\n[[{header}.{k}]]");
            if let toml::Value::Table(t) = item {
                for (ik, iv) in t {
                    let _ = writeln!(out, "{ik} = {iv}");
                }
            }
        }
    }
}

impl Inventory {
    /// The fragment to paste into a scenario: `[[site]]` and `[[pool]]` tables, with comments
    /// naming each field the cluster could not supply and each skipped node.
    pub fn to_toml(&self, source: &str) -> String {
        // Comments hold what the input said (node names, label values, file names): through
        // `comment_text`, which leaves no line break, so no input can add a table.
        let c = crate::export::comment_text;
        let mut out = String::new();
        let _ = writeln!(out, "# Imported by xpufleet from {}.", c(source));
        let _ = writeln!(
            out,
            "# {} site(s), {} pool(s), {} node(s) skipped.",
            self.site.len(),
            self.pool.len(),
            self.skipped.len()
        );
        for m in &self.missing {
            let _ = writeln!(
                out,
                "# fill in: {} {}: {} (not known to the cluster; or give them in --map)",
                m.kind,
                c(&m.id),
                m.fields.join(", ")
            );
        }
        for s in &self.site {
            out.push('\n');
            write_table(&mut out, "site", s, &SITE_ORDER);
        }
        for p in &self.pool {
            out.push('\n');
            write_table(&mut out, "pool", p, &POOL_ORDER);
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(out, "\n# Skipped nodes:");
            for s in &self.skipped {
                let what = match (&s.label, &s.value) {
                    (Some(l), Some(v)) => format!(" ({l}={v})"),
                    (Some(l), None) => format!(" ({l})"),
                    _ => String::new(),
                };
                let line = format!("{}: {}{what}", s.node, s.reason);
                let _ = writeln!(out, "#   {}", c(&line));
            }
        }
        out
    }

    /// Skipped nodes counted by reason.
    pub fn skipped_by_reason(&self) -> BTreeMap<&str, u64> {
        let mut m = BTreeMap::new();
        for s in &self.skipped {
            *m.entry(s.reason.as_str()).or_default() += 1;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, site: &str, accel: &str, count: u32, domain: Option<&str>) -> NodeRecord {
        NodeRecord {
            name: name.into(),
            site: site.into(),
            region: "r".into(),
            country: None,
            accelerator: accel.into(),
            count,
            domain: domain.map(str::to_string),
        }
    }

    #[test]
    fn groups_by_site_accelerator_and_domain() {
        let nodes = vec![
            node("a", "z1", "h100-sxm", 8, None),
            node("b", "z1", "h100-sxm", 8, None),
            node("c", "z1", "b200", 4, Some("clq-1")),
            node("d", "z1", "b200", 4, Some("clq-1")),
            node("e", "z2", "h100-sxm", 8, None),
        ];
        let inv = group("f", &nodes, vec![], &Mapping::default()).unwrap();
        let pools: Vec<(String, u64, u64)> = inv
            .pool
            .iter()
            .map(|p| {
                (
                    p["id"].as_str().unwrap().to_string(),
                    p["nodes"].as_u64().unwrap(),
                    p["scaleup_domain"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            pools,
            vec![
                ("z1-b200".into(), 2, 8),
                ("z1-h100-sxm".into(), 2, 8),
                ("z2-h100-sxm".into(), 1, 8)
            ]
        );
        assert_eq!(inv.site.len(), 2);
        // No country and no facility figures: all listed as to fill.
        assert_eq!(inv.missing.iter().filter(|m| m.kind == "site").count(), 2);
    }

    #[test]
    fn a_domain_of_mixed_node_sizes_is_an_error() {
        let nodes = vec![
            node("a", "z1", "b200", 8, Some("x")),
            node("b", "z1", "b200", 4, Some("x")),
            node("c", "z1", "b200", 2, Some("x")),
        ];
        let e = group("f", &nodes, vec![], &Mapping::default()).unwrap_err();
        assert!(e.to_string().contains("node a"), "{e}");
    }

    #[test]
    fn disagreeing_countries_are_an_error() {
        let mut a = node("a", "z1", "h20", 8, None);
        a.country = Some("CN".into());
        let mut b = node("b", "z1", "h20", 8, None);
        b.country = Some("MY".into());
        let e = group("f", &[a, b], vec![], &Mapping::default()).unwrap_err();
        assert!(e.to_string().contains("node b"), "{e}");
    }
}
