//! Policy out: a [`Policy`] (pools, tenants, verdicts) rendered as Kueue objects
//! (`kueue.x-k8s.io/v1beta2`: ResourceFlavor, Topology, Cohort, ClusterQueue, LocalQueue), as
//! Volcano Queues (`scheduling.volcano.sh/v1beta1`) with node-group affinity, or as Slurm
//! partitions and `gres.conf`.
//!
//! Nodes are selected by two labels xpufleet asks the user to put on them
//! (`xpufleet.io/accelerator`, `xpufleet.io/site`; Volcano also `volcano.sh/nodegroup-name`):
//! vendor labels say what a node is, not which scenario pool it belongs to.
//!
//! **Invariant:** a tenant's queue covers a flavor (accelerator × site) only when the verdict
//! lets that tenant use every pool of the flavor; every exclusion carries a comment citing the
//! verdict behind it.
//!
//! **Invariant:** nothing a scenario says can add a line, a partition or an object. Every id
//! written (pools, sites, accelerators, tenants) must be in the id character set
//! (`xpufleet_model::id`), else the export is refused; two ids that would give one object name
//! are refused; free text (the scenario's name, verdict summaries, citations) reaches only
//! comments, through [`comment_text`], which leaves no line break in it. YAML values are
//! written by the serializer, which quotes what needs quoting.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Value};
use xpufleet_model::Catalog;

use crate::inventory::slug;
use crate::map::{normalise, Mapping};
use crate::policy::{Access, Policy, PoolInfo};
use crate::slurm::GRES_KEY;
use crate::{Error, Result};

pub const ACCEL_LABEL: &str = "xpufleet.io/accelerator";
pub const SITE_LABEL: &str = "xpufleet.io/site";
pub const DOMAIN_LABEL: &str = "xpufleet.io/scaleup-domain";
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
pub const NODEGROUP_LABEL: &str = "volcano.sh/nodegroup-name";
pub const KUEUE_API: &str = "kueue.x-k8s.io/v1beta2";
pub const VOLCANO_API: &str = "scheduling.volcano.sh/v1beta1";
/// The Topology every flavor with multi-node scale-up domains points at.
pub const TOPOLOGY_NAME: &str = "xpufleet-scaleup";

/// Export settings.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Kueue: give each flavor a `NoSchedule` taint on `xpufleet.io/accelerator` (and the
    /// matching toleration), so pods not admitted through Kueue stay off accelerator nodes.
    pub taints: bool,
}

/// One rendered file: its name inside the output folder and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub name: String,
    pub text: String,
}

/// Pools of one accelerator at one site: the unit Kueue flavors and Volcano node groups select.
#[derive(Debug, Clone)]
pub struct Flavor<'a> {
    pub name: String,
    pub accelerator: &'a str,
    pub site: &'a str,
    pub resource: String,
    pub pools: Vec<&'a PoolInfo>,
    /// Whether some pool in it has a scale-up domain larger than a node.
    pub multi_node_domains: bool,
    /// Devices of `resource` the flavor's pools advertise: accelerators × devices per
    /// accelerator (quotas and capabilities count devices, as pods request them).
    pub devices: u64,
}

impl Flavor<'_> {
    pub fn accelerators(&self) -> u64 {
        self.pools.iter().map(|p| p.accelerators()).sum()
    }
}

/// The vendor's Kubernetes resource name, when the mapping has no product rule for an id.
fn vendor_resource(vendor: &str) -> Option<&'static str> {
    match vendor.to_ascii_lowercase().as_str() {
        "nvidia" => Some("nvidia.com/gpu"),
        "huawei" => Some("huawei.com/Ascend910"),
        "cambricon" => Some("cambricon.com/mlu"),
        _ => None,
    }
}

/// The extended resource a pod requests for `accelerator`.
pub fn resource_for(mapping: &Mapping, catalog: &Catalog, accelerator: &str) -> Result<String> {
    for r in &mapping.resources {
        if mapping
            .accelerators_for_keys(&r.product_keys)
            .iter()
            .any(|a| a == accelerator)
        {
            return Ok(r.name.clone());
        }
    }
    catalog
        .get(accelerator)
        .and_then(|a| vendor_resource(&a.vendor))
        .map(str::to_string)
        .ok_or_else(|| {
            Error::Export(format!(
                "accelerator {accelerator:?}: no Kubernetes resource name: add a [[resource]] and a [[product]] rule for it in --map"
            ))
        })
}

/// The flavors of a policy's pools, by (accelerator, site), in name order.
pub fn flavors<'a>(
    policy: &'a Policy,
    mapping: &Mapping,
    catalog: &Catalog,
) -> Result<Vec<Flavor<'a>>> {
    let mut by: BTreeMap<(&str, &str), Vec<&PoolInfo>> = BTreeMap::new();
    for p in &policy.pools {
        by.entry((p.accelerator.as_str(), p.site.as_str()))
            .or_default()
            .push(p);
    }
    let mut out = vec![];
    for ((accelerator, site), pools) in by {
        let per = u64::from(mapping.devices_per(accelerator));
        out.push(Flavor {
            devices: pools.iter().map(|p| p.accelerators() * per).sum(),
            name: slug(&format!("{accelerator}-{site}")),
            accelerator,
            site,
            resource: resource_for(mapping, catalog, accelerator)?,
            multi_node_domains: pools.iter().any(|p| p.scaleup_domain > p.accels_per_node),
            pools,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    for w in out.windows(2) {
        if w[0].name == w[1].name {
            return Err(Error::Export(format!(
                "flavors {}@{} and {}@{} have the same name {:?}",
                w[0].accelerator, w[0].site, w[1].accelerator, w[1].site, w[0].name
            )));
        }
    }
    Ok(out)
}

/// The verdicts that keep `tenant` off `flavor`: empty when it may use every pool of it.
pub fn exclusions<'a>(policy: &'a Policy, flavor: &Flavor<'_>, tenant: &str) -> Vec<&'a Access> {
    flavor
        .pools
        .iter()
        .filter_map(|p| match policy.access(&p.id, tenant) {
            Some(a) if a.usable => None,
            Some(a) => Some(a),
            None => None,
        })
        .collect()
}

fn allowed(policy: &Policy, flavor: &Flavor<'_>, tenant: &str) -> bool {
    flavor.pools.iter().all(|p| policy.usable(&p.id, tenant))
}

/// Comment lines citing why `tenant` is kept off `flavor`.
fn exclusion_comment(
    out: &mut String,
    policy: &Policy,
    flavor: &Flavor<'_>,
    tenant: &str,
    what: &str,
) {
    let _ = writeln!(
        out,
        "# {what} {} ({} at {}):",
        flavor.name, flavor.accelerator, flavor.site
    );
    for a in exclusions(policy, flavor, tenant) {
        let _ = writeln!(out, "#   pool {}: {}", a.pool, one_line(&a.summary));
        for c in &a.citations {
            let _ = writeln!(out, "#     citation: {}", one_line(c));
        }
    }
}

fn one_line(s: &str) -> String {
    comment_text(s)
}

/// `s` made safe to write after `#` in a Slurm or YAML file: runs of whitespace (which include
/// `\n`, `\r`, NEL, U+2028 and U+2029, all line breaks to some parser) become one space, and
/// other control and invisible formatting characters (bidirectional overrides, zero-width
/// marks, a byte-order mark) are written as `\u{...}` escapes, so the comment shows what the
/// input held and cannot end early or read differently from what a parser sees.
pub fn comment_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.trim().chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        if c.is_control() || is_invisible_format(c) {
            let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// Unicode format characters (category Cf) that change how text displays without showing:
/// bidirectional controls, zero-width characters, the byte-order mark, ...
fn is_invisible_format(c: char) -> bool {
    matches!(u32::from(c),
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE0000..=0xE007F)
}

/// Refuses a policy whose pools, sites, accelerators or tenants have an id outside the id
/// character set: such an id would be written into a Slurm line or a Kubernetes label. Scenarios
/// that `xpufleet validate` accepts always pass; this guards callers that build a policy
/// themselves.
pub fn check_ids(policy: &Policy) -> Result<()> {
    let mut ids: Vec<(&str, &str)> = vec![];
    for p in &policy.pools {
        ids.extend([
            ("pool", p.id.as_str()),
            ("site", p.site.as_str()),
            ("accelerator", p.accelerator.as_str()),
        ]);
    }
    ids.extend(policy.tenants.iter().map(|t| ("tenant", t.as_str())));
    for (what, id) in ids {
        if let Some(problem) = xpufleet_model::id_problem(id) {
            return Err(Error::Export(format!(
                "{what} {id:?} is not allowed in an export: {problem}: expected {}",
                xpufleet_model::ID_RULE
            )));
        }
    }
    Ok(())
}

/// Refuses two ids that would be written as one name (`team.a` and `team-a` are both
/// `team-a`): the second object would replace the first, and one tenant would get the other's
/// queue.
fn unique_names<'a>(what: &str, ids: impl IntoIterator<Item = &'a str>) -> Result<()> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for id in ids {
        let name = slug(id);
        if let Some(first) = seen.insert(name.clone(), id) {
            if first != id {
                return Err(Error::Export(format!(
                    "{what}s {first:?} and {id:?} would both be named {name:?} in the export: \
                     rename one of them"
                )));
            }
        }
    }
    Ok(())
}

fn header(kind: &str, policy: &Policy) -> String {
    format!(
        "# {kind} exported by xpufleet from scenario \"{}\", verdicts as of {}.\n# Regenerate with `xpufleet export ...`; edits here are lost.\n",
        comment_text(&policy.scenario), policy.as_of
    )
}

fn push_doc(out: &mut String, comments: &str, v: &Value) -> Result<()> {
    if !out.is_empty() && !out.ends_with("---\n") {
        out.push_str("---\n");
    }
    out.push_str(comments);
    let y = serde_yaml_ng::to_string(v).map_err(|e| Error::Export(e.to_string()))?;
    out.push_str(&y);
    Ok(())
}

/// Equal shares of `total` for `n` tenants, the remainder to the first ones.
fn shares(total: u64, n: usize) -> Vec<u64> {
    let n64 = n as u64;
    (0..n64)
        .map(|i| total / n64 + u64::from(i < total % n64))
        .collect()
}

/// Each flavor's quota for each tenant allowed on it: the flavor's accelerators split equally
/// among them (the sum over a cohort is the real capacity; borrowing lends the idle part).
fn quotas(policy: &Policy, flavors: &[Flavor<'_>]) -> BTreeMap<(String, String), u64> {
    let mut q = BTreeMap::new();
    for f in flavors {
        let ts: Vec<&String> = policy
            .tenants
            .iter()
            .filter(|t| allowed(policy, f, t))
            .collect();
        if ts.is_empty() {
            continue;
        }
        for (t, share) in ts.iter().zip(shares(f.devices, ts.len())) {
            q.insert((f.name.clone(), (*t).clone()), share);
        }
    }
    q
}

/// Kueue: `resourceflavors.yaml` (and `topology.yaml` when a flavor has multi-node scale-up
/// domains), `cohort.yaml`, `clusterqueues.yaml`, `localqueues.yaml`.
pub fn kueue(
    policy: &Policy,
    mapping: &Mapping,
    catalog: &Catalog,
    opts: &ExportOptions,
) -> Result<Vec<File>> {
    check_ids(policy)?;
    unique_names("tenant", policy.tenants.iter().map(String::as_str))?;
    let fl = flavors(policy, mapping, catalog)?;
    let cohort = slug(&format!("xpufleet-{}", policy.scenario));
    let mut files = vec![];

    let mut text = header("Kueue ResourceFlavors", policy);
    let mut docs = String::new();
    for f in &fl {
        let mut spec = json!({
            "nodeLabels": { ACCEL_LABEL: f.accelerator, SITE_LABEL: f.site },
        });
        if opts.taints {
            spec["nodeTaints"] =
                json!([{ "key": ACCEL_LABEL, "value": f.accelerator, "effect": "NoSchedule" }]);
            spec["tolerations"] = json!([{ "key": ACCEL_LABEL, "operator": "Equal", "value": f.accelerator, "effect": "NoSchedule" }]);
        }
        if f.multi_node_domains {
            spec["topologyName"] = json!(TOPOLOGY_NAME);
        }
        let pools: Vec<String> = f
            .pools
            .iter()
            .map(|p| {
                format!(
                    "{} ({} x {}, domain {})",
                    p.id, p.nodes, p.accels_per_node, p.scaleup_domain
                )
            })
            .collect();
        let c = format!(
            "# pools: {}; {} accelerators\n",
            pools.join(", "),
            f.accelerators()
        );
        push_doc(
            &mut docs,
            &c,
            &json!({
                "apiVersion": KUEUE_API, "kind": "ResourceFlavor",
                "metadata": { "name": f.name },
                "spec": spec,
            }),
        )?;
    }
    text.push_str(&docs);
    files.push(File {
        name: "resourceflavors.yaml".into(),
        text,
    });

    if fl.iter().any(|f| f.multi_node_domains) {
        let mut text = header("Kueue Topology", policy);
        text.push_str(&format!(
            "# Label each node with {DOMAIN_LABEL}=<its NVLink/HCCS domain id>.\n"
        ));
        push_doc(
            &mut text,
            "",
            &json!({
                "apiVersion": KUEUE_API, "kind": "Topology",
                "metadata": { "name": TOPOLOGY_NAME },
                "spec": { "levels": [ { "nodeLabel": DOMAIN_LABEL }, { "nodeLabel": HOSTNAME_LABEL } ] },
            }),
        )?;
        files.push(File {
            name: "topology.yaml".into(),
            text,
        });
    }

    let mut text = header("Kueue Cohort", policy);
    push_doc(
        &mut text,
        "",
        &json!({
            "apiVersion": KUEUE_API, "kind": "Cohort", "metadata": { "name": cohort }, "spec": {},
        }),
    )?;
    files.push(File {
        name: "cohort.yaml".into(),
        text,
    });

    let q = quotas(policy, &fl);
    let mut text = header("Kueue ClusterQueues (one per tenant)", policy);
    let mut docs = String::new();
    for t in &policy.tenants {
        let mut comments = format!("# tenant {t}\n");
        let mut groups: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for f in &fl {
            match q.get(&(f.name.clone(), t.clone())) {
                Some(quota) => groups.entry(f.resource.as_str()).or_default().push(json!({
                    "name": f.name,
                    "resources": [ { "name": f.resource, "nominalQuota": quota } ],
                })),
                None => exclusion_comment(&mut comments, policy, f, t, "excluded flavor"),
            }
        }
        if groups.is_empty() {
            comments.push_str("# no flavor is usable by this tenant: its workloads stay pending\n");
        }
        if groups.len() > 16 || groups.values().any(|g| g.len() > 64) {
            return Err(Error::Export(format!(
                "tenant {t}: Kueue allows 16 resource groups of 64 flavors; this needs {} groups (largest {})",
                groups.len(),
                groups.values().map(Vec::len).max().unwrap_or(0)
            )));
        }
        let rgs: Vec<Value> = groups
            .into_iter()
            .map(|(r, flavors)| json!({ "coveredResources": [r], "flavors": flavors }))
            .collect();
        push_doc(
            &mut docs,
            &comments,
            &json!({
                "apiVersion": KUEUE_API, "kind": "ClusterQueue",
                "metadata": { "name": slug(t) },
                "spec": {
                    "cohortName": cohort,
                    "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": slug(t) } },
                    "queueingStrategy": "BestEffortFIFO",
                    "resourceGroups": rgs,
                },
            }),
        )?;
    }
    text.push_str(&docs);
    files.push(File {
        name: "clusterqueues.yaml".into(),
        text,
    });

    let mut text = header("Kueue LocalQueues (one per tenant namespace)", policy);
    let mut docs = String::new();
    for t in &policy.tenants {
        push_doc(
            &mut docs,
            "",
            &json!({
                "apiVersion": KUEUE_API, "kind": "LocalQueue",
                "metadata": { "name": slug(t), "namespace": slug(t) },
                "spec": { "clusterQueue": slug(t) },
            }),
        )?;
    }
    text.push_str(&docs);
    files.push(File {
        name: "localqueues.yaml".into(),
        text,
    });
    Ok(files)
}

/// Volcano: `queues.yaml`, one Queue per tenant with the capability of the pools it may use
/// and node-group affinity to those pools' node groups (anti-affinity to the rest).
pub fn volcano(policy: &Policy, mapping: &Mapping, catalog: &Catalog) -> Result<Vec<File>> {
    check_ids(policy)?;
    unique_names("tenant", policy.tenants.iter().map(String::as_str))?;
    let fl = flavors(policy, mapping, catalog)?;
    let resources: Vec<&str> = {
        let mut r: Vec<&str> = fl.iter().map(|f| f.resource.as_str()).collect();
        r.sort();
        r.dedup();
        r
    };
    let mut text = header("Volcano Queues (one per tenant)", policy);
    text.push_str(&format!(
        "# Node groups are flavors: label each node {NODEGROUP_LABEL}=<group> ({}).\n",
        fl.iter()
            .map(|f| format!("{}: {} at {}", f.name, f.accelerator, f.site))
            .collect::<Vec<_>>()
            .join("; ")
    ));
    let mut docs = String::new();
    for t in &policy.tenants {
        let mut comments = format!("# tenant {t}\n");
        let mut capability: BTreeMap<&str, u64> = resources.iter().map(|r| (*r, 0)).collect();
        let mut yes = vec![];
        let mut no = vec![];
        for f in &fl {
            if allowed(policy, f, t) {
                *capability.entry(f.resource.as_str()).or_default() += f.devices;
                yes.push(f.name.clone());
            } else {
                exclusion_comment(&mut comments, policy, f, t, "anti-affinity to node group");
                no.push(f.name.clone());
            }
        }
        let mut affinity = serde_json::Map::new();
        if !yes.is_empty() {
            affinity.insert(
                "nodeGroupAffinity".into(),
                json!({ "requiredDuringSchedulingIgnoredDuringExecution": yes }),
            );
        }
        if !no.is_empty() {
            affinity.insert(
                "nodeGroupAntiAffinity".into(),
                json!({ "requiredDuringSchedulingIgnoredDuringExecution": no }),
            );
        }
        push_doc(
            &mut docs,
            &comments,
            &json!({
                "apiVersion": VOLCANO_API, "kind": "Queue",
                "metadata": { "name": slug(t) },
                "spec": {
                    "weight": 1,
                    "reclaimable": true,
                    "capability": capability,
                    "affinity": affinity,
                },
            }),
        )?;
    }
    text.push_str(&docs);
    Ok(vec![File {
        name: "queues.yaml".into(),
        text,
    }])
}

/// A Slurm hostlist for `n` nodes named after a pool: `pool-[001-016]`.
fn hostlist(pool: &str, n: u32) -> String {
    let width = n.to_string().len().max(3);
    if n == 1 {
        format!("{pool}-{:0width$}", 1)
    } else {
        format!("{pool}-[{:0width$}-{n:0width$}]", 1)
    }
}

/// The gres type for an accelerator: the NVML-style name the mapping knows (what
/// `AutoDetect=nvml` reports), else the catalog id.
/// A type that is not an id (a mapping value with a line break or `:`) is refused: it is
/// written into `Gres=gpu:TYPE:N`.
fn gres_type(mapping: &Mapping, accelerator: &str) -> Result<String> {
    let ty = mapping
        .product_value(GRES_KEY, accelerator)
        .map(|v| normalise(v).replace('-', "_"))
        .unwrap_or_else(|| accelerator.to_string());
    match xpufleet_model::id_problem(&ty) {
        None => Ok(ty),
        Some(problem) => Err(Error::Export(format!(
            "gres type {ty:?} of accelerator {accelerator:?} (from the mapping's {GRES_KEY} \
             values) is not allowed in slurm.conf: {problem}: expected {}",
            xpufleet_model::ID_RULE
        ))),
    }
}

/// Slurm: `slurm-xpufleet.conf` (NodeName and PartitionName lines: one partition per pool,
/// `AllowAccounts` = the tenants the verdicts let use it) and `gres.conf`. Node names are
/// generated from pool ids (`pool-[001-016]`): rename them to your hosts.
pub fn slurm(policy: &Policy, mapping: &Mapping) -> Result<Vec<File>> {
    check_ids(policy)?;
    unique_names("pool", policy.pools.iter().map(|p| p.id.as_str()))?;
    let mut conf = header(
        "Slurm nodes and partitions (include from slurm.conf)",
        policy,
    );
    let mut gres = header("Slurm gres.conf", policy);
    conf.push_str("# Node names are generated from pool ids: rename them to your hosts.\n");
    for p in &policy.pools {
        let name = slug(&p.id);
        let hosts = hostlist(&name, p.nodes);
        let devices = u64::from(p.accels_per_node) * u64::from(mapping.devices_per(&p.accelerator));
        let ty = gres_type(mapping, &p.accelerator)?;
        let _ = writeln!(
            conf,
            "\n# pool {} ({} at {}, {}): {} nodes x {} accelerators ({devices} devices)",
            p.id,
            p.accelerator,
            p.site,
            comment_text(&p.country),
            p.nodes,
            p.accels_per_node
        );
        let _ = writeln!(
            conf,
            "NodeName={hosts} Gres=gpu:{ty}:{devices} Feature={},{}",
            slug(&p.accelerator),
            slug(&p.site)
        );
        let mut accounts = vec![];
        for t in &policy.tenants {
            match policy.access(&p.id, t) {
                Some(a) if a.usable => accounts.push(t.clone()),
                Some(a) => {
                    let _ = writeln!(
                        conf,
                        "#   account {t} not allowed: {}",
                        one_line(&a.summary)
                    );
                    for c in &a.citations {
                        let _ = writeln!(conf, "#     citation: {}", one_line(c));
                    }
                }
                None => {}
            }
        }
        if accounts.is_empty() {
            let _ = writeln!(
                conf,
                "# no account may use this pool: the partition is inactive"
            );
            let _ = writeln!(conf, "PartitionName={name} Nodes={hosts} State=INACTIVE");
        } else {
            let _ = writeln!(
                conf,
                "PartitionName={name} Nodes={hosts} AllowAccounts={} State=UP",
                accounts.join(",")
            );
        }
        let _ = writeln!(gres, "NodeName={hosts} Name=gpu Type={ty} Count={devices}");
    }
    Ok(vec![
        File {
            name: "slurm-xpufleet.conf".into(),
            text: conf,
        },
        File {
            name: "gres.conf".into(),
            text: gres,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_to_the_total() {
        assert_eq!(shares(10, 3), vec![4, 3, 3]);
        assert_eq!(shares(2, 3), vec![1, 1, 0]);
        assert_eq!(shares(4096, 1), vec![4096]);
    }

    #[test]
    fn hostlists_read_back() {
        let h = hostlist("my-h100", 16);
        assert_eq!(h, "my-h100-[001-016]");
        assert_eq!(crate::slurm::expand_hostlist(&h).unwrap().len(), 16);
        assert_eq!(hostlist("p", 1), "p-001");
    }
}
