//! `kubectl get nodes -o json`: a `List` (or `NodeList`) of `Node` objects as the API server
//! returns them. Accelerators come from `status.capacity` extended resources (`nvidia.com/gpu`,
//! `huawei.com/Ascend910`, `cambricon.com/mlu`, or any resource the mapping names); the
//! product from the vendor's labels (NVIDIA GPU Feature Discovery's `nvidia.com/gpu.product`,
//! Ascend's `accelerator-type` and `node.kubernetes.io/npu.chip.name`); sites from
//! `topology.kubernetes.io/zone` (else `region`) or `--site-label`.

use std::collections::BTreeMap;

use serde_json::Value;

/// The most accelerator devices one node may report.
pub const MAX_DEVICES_PER_NODE: u32 = 4096;

use crate::inventory::{group, Inventory, NodeRecord, Skip};
use crate::map::Mapping;
use crate::{Error, Result};

pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";

/// Which labels say where a node is.
#[derive(Debug, Clone, Default)]
pub struct NodeOptions {
    /// Label naming the site; default `topology.kubernetes.io/zone`, else `.../region`.
    pub site_label: Option<String>,
    /// Label holding an ISO 3166 country code.
    pub country_label: Option<String>,
}

/// A count: a JSON integer or a decimal string (Kubernetes quantities of extended resources are
/// whole numbers without suffix).
fn count(v: &Value) -> Option<u32> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64().and_then(|x| u32::try_from(x).ok()),
        _ => None,
    }
}

/// Reads the node list `text` (from `file`) into an inventory.
pub fn import_nodes(
    file: &str,
    text: &str,
    mapping: &Mapping,
    opts: &NodeOptions,
) -> Result<Inventory> {
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        Error::input(
            file,
            format!("line {} column {}", e.line(), e.column()),
            "the JSON of `kubectl get nodes -o json`",
            e.to_string(),
        )
    })?;
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    let items: Vec<&Value> = match (kind, doc.get("items")) {
        ("List" | "NodeList", Some(Value::Array(items))) => items.iter().collect(),
        ("Node", _) => vec![&doc],
        _ => {
            return Err(Error::input(
                file,
                "kind",
                "a List or NodeList with items (kubectl get nodes -o json) or one Node",
                format!("{kind:?}"),
            ))
        }
    };
    let mut records = vec![];
    let mut skipped = vec![];
    // A node listed twice would be counted twice: name -> its first item.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let item_kind = item.get("kind").and_then(Value::as_str).unwrap_or("Node");
        let name = item
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Error::input(
                    file,
                    format!("items[{i}].metadata.name"),
                    "a node name",
                    "nothing",
                )
            })?
            .to_string();
        if let Some(first) = seen.insert(name.clone(), i) {
            return Err(Error::input(
                file,
                format!("items[{i}].metadata.name"),
                format!("each node listed once (it is also items[{first}])"),
                format!("{name:?} again"),
            ));
        }
        if item_kind != "Node" {
            return Err(Error::input(
                file,
                format!("items[{i}] ({name}).kind"),
                "Node",
                item_kind,
            ));
        }
        let at = |f: &str| format!("items[{i}] (node {name}).{f}");
        let labels: BTreeMap<&str, &str> = match item.pointer("/metadata/labels") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| {
                    v.as_str().map(|s| (k.as_str(), s)).ok_or_else(|| {
                        Error::input(
                            file,
                            at(&format!("metadata.labels[{k:?}]")),
                            "a string",
                            v.to_string(),
                        )
                    })
                })
                .collect::<Result<_>>()?,
            Some(v) => {
                return Err(Error::input(
                    file,
                    at("metadata.labels"),
                    "an object",
                    v.to_string(),
                ))
            }
        };
        let capacity = item.pointer("/status/capacity").and_then(Value::as_object);
        // The node's accelerator resources that the mapping knows, with a non-zero count.
        let mut found = vec![];
        for r in &mapping.resources {
            let Some(v) = capacity.and_then(|c| c.get(&r.name)) else {
                continue;
            };
            // No node holds more than a few dozen devices; 4096 leaves room for any scale-up
            // domain while refusing a slip like 1e9.
            let cap = count(v)
                .filter(|&n| n <= MAX_DEVICES_PER_NODE)
                .ok_or_else(|| {
                    Error::input(
                        file,
                        at(&format!("status.capacity[{:?}]", r.name)),
                        "a whole number of devices, at most 4096 a node",
                        v.to_string(),
                    )
                })?;
            // GFD's count label is the physical count; the capacity is multiplied by
            // time-slicing replicas, so the label wins when present.
            let n = match r
                .count_label
                .as_deref()
                .and_then(|l| labels.get(l).map(|v| (l, v)))
            {
                Some((l, v)) => v
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|&n| n <= MAX_DEVICES_PER_NODE)
                    .ok_or_else(|| {
                        Error::input(
                            file,
                            at(&format!("metadata.labels[{l:?}]")),
                            "a whole number, at most 4096 a node",
                            format!("{v:?}"),
                        )
                    })?,
                None => cap,
            };
            found.push((r, n));
        }
        let Some(&(resource, n)) = found.first() else {
            skipped.push(Skip {
                node: name,
                reason: "no-accelerator".into(),
                label: None,
                value: None,
            });
            continue;
        };
        if found.len() > 1 {
            return Err(Error::input(
                file,
                at("status.capacity"),
                "one accelerator resource per node",
                found
                    .iter()
                    .map(|(r, _)| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
        if n == 0 {
            skipped.push(Skip {
                node: name,
                reason: "zero-accelerators".into(),
                label: Some(resource.name.clone()),
                value: Some("0".into()),
            });
            continue;
        }
        // The product: the first product label present that a rule maps. A label present but
        // unmapped is reported by name and value; a node with none of them says so.
        let mut accel = None;
        let mut seen = None;
        for key in &resource.product_keys {
            if let Some(v) = labels.get(key.as_str()) {
                if let Some(a) = mapping.product(key, v) {
                    accel = Some(a.to_string());
                    break;
                }
                seen.get_or_insert((key.clone(), v.to_string()));
            }
        }
        let Some(accelerator) = accel else {
            let (label, value, reason) = match seen {
                Some((l, v)) => (Some(l), Some(v), "unmapped-product"),
                None => (
                    Some(if resource.product_keys.is_empty() {
                        resource.name.clone()
                    } else {
                        resource.product_keys.join(" | ")
                    }),
                    None,
                    "no-product-label",
                ),
            };
            skipped.push(Skip {
                node: name,
                reason: reason.into(),
                label,
                value,
            });
            continue;
        };
        let (site_key, site) = match &opts.site_label {
            Some(l) => (l.clone(), labels.get(l.as_str()).copied()),
            None => match labels.get(ZONE_LABEL) {
                Some(z) => (ZONE_LABEL.to_string(), Some(*z)),
                None => (REGION_LABEL.to_string(), labels.get(REGION_LABEL).copied()),
            },
        };
        let Some(site) = site.filter(|s| !s.is_empty()) else {
            skipped.push(Skip {
                node: name,
                reason: "no-site-label".into(),
                label: Some(site_key),
                value: None,
            });
            continue;
        };
        // The site becomes a scenario id and reaches exports: refuse what is not an id.
        if let Some(problem) = xpufleet_model::id_problem(site) {
            return Err(Error::input(
                file,
                at(&format!("metadata.labels[{site_key:?}]")),
                format!("a site id: {}", xpufleet_model::ID_RULE),
                format!("{site:?} ({problem})"),
            ));
        }
        let country = match &opts.country_label {
            None => None,
            Some(l) => match labels.get(l.as_str()) {
                Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
                    Some(c.to_ascii_uppercase())
                }
                Some(c) => {
                    return Err(Error::input(
                        file,
                        at(&format!("metadata.labels[{l:?}]")),
                        "an ISO 3166 alpha-2 country code",
                        format!("{c:?}"),
                    ))
                }
                None => None,
            },
        };
        let domain = resource
            .domain_label
            .as_deref()
            .and_then(|l| labels.get(l))
            .filter(|v| !v.is_empty())
            .map(|v| format!("{}={v}", resource.name));
        // Devices to accelerators (an Ascend 910C is two devices).
        let per = mapping.devices_per(&accelerator);
        if !n.is_multiple_of(per) {
            return Err(Error::input(
                file,
                at(&format!("status.capacity[{:?}]", resource.name)),
                format!("a multiple of {per} devices ({per} make one {accelerator})"),
                n.to_string(),
            ));
        }
        records.push(NodeRecord {
            name,
            site: site.to_string(),
            region: labels.get(REGION_LABEL).copied().unwrap_or("").to_string(),
            country,
            accelerator,
            count: n / per,
            domain,
        });
    }
    group(file, &records, skipped, mapping)
}
