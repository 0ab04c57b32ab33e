//! Slurm inventories: `scontrol show node -o` (one node per line, `Key=Value` fields) and,
//! optionally, `slurm.conf` `NodeName=` lines (with hostlists such as `gpu[001-016]`).
//! Accelerators come from `Gres=gpu:TYPE:N`; TYPE is mapped like a Kubernetes product label
//! under the key `slurm:gres/gpu`. A Slurm cluster is one site unless `--site` says otherwise;
//! each node is its own scale-up domain (Slurm does not report NVLink domains).

use std::collections::BTreeMap;

use crate::inventory::{group, Inventory, NodeRecord, Skip};
use crate::map::Mapping;
use crate::{Error, Result};

/// The mapping key for a Slurm gres type.
pub const GRES_KEY: &str = "slurm:gres/gpu";

/// Where the Slurm cluster is.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// Site id of every node; default: `ClusterName` from `slurm.conf`.
    pub site: Option<String>,
    /// ISO 3166 country of the site (else the mapping's `[country]` entry).
    pub country: Option<String>,
}

/// Splits a `Key=Value Key=Value` line. Values may contain spaces (`OS=Linux 5.15.0 #1`,
/// `Reason=power cycle`): a word without `=` continues the previous value.
pub fn fields(line: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![];
    for word in line.split_whitespace() {
        match word.split_once('=') {
            Some((k, v))
                if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                out.push((k.to_string(), v.to_string()))
            }
            _ => match out.last_mut() {
                Some((_, v)) => {
                    v.push(' ');
                    v.push_str(word);
                }
                None => out.push((String::new(), word.to_string())),
            },
        }
    }
    out
}

/// The most names the hostlists of one import expand to, in all: a 68-byte hostlist such as
/// `a[0-999999]b[0-999999]c[0-999999]` names 10^18 nodes, and expanding it would exhaust memory
/// long before it was counted. The largest clusters have some 10^5 nodes.
pub const MAX_HOSTS: usize = 1_000_000;

/// Why a hostlist cannot be expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostlistError {
    /// Not a hostlist: unbalanced brackets, a range that is not `LO-HI` digits, `HI < LO`.
    Malformed,
    /// It names more hosts than the limit it was expanded under.
    TooMany { limit: usize },
}

impl HostlistError {
    /// What was expected, for a located error.
    pub fn expected(&self) -> String {
        match self {
            HostlistError::Malformed => "a Slurm hostlist such as gpu[001-016]".into(),
            HostlistError::TooMany { limit } => format!(
                "a Slurm hostlist naming at most {limit} more hosts ({MAX_HOSTS} in all per import)"
            ),
        }
    }
}

/// Expands a Slurm hostlist: `gpu[001-003,007],login1` → gpu001, gpu002, gpu003, gpu007, login1.
/// Zero padding follows the range's first bound. `None` on a malformed list or one naming more
/// than [`MAX_HOSTS`] hosts.
pub fn expand_hostlist(list: &str) -> Option<Vec<String>> {
    expand_hostlist_at_most(list, MAX_HOSTS).ok()
}

/// [`expand_hostlist`] that stops as soon as the list names more than `limit` hosts, so memory
/// stays bounded whatever the list says.
pub fn expand_hostlist_at_most(list: &str, limit: usize) -> Result<Vec<String>, HostlistError> {
    use HostlistError::{Malformed, TooMany};
    // Split on commas outside brackets.
    let mut parts = vec![];
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in list.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(Malformed);
        }
    }
    if depth != 0 {
        return Err(Malformed);
    }
    parts.push(&list[start..]);
    let mut out = vec![];
    let push = |out: &mut Vec<String>, name: String| {
        if out.len() >= limit {
            return Err(TooMany { limit });
        }
        out.push(name);
        Ok(())
    };
    for p in parts.into_iter().filter(|p| !p.is_empty()) {
        let Some(open) = p.find('[') else {
            push(&mut out, p.to_string())?;
            continue;
        };
        let close = p.find(']').ok_or(Malformed)?;
        let (prefix, ranges, suffix) = (&p[..open], &p[open + 1..close], &p[close + 1..]);
        let tails = expand_hostlist_at_most(suffix, limit)?;
        let tails = if tails.is_empty() {
            vec![String::new()]
        } else {
            tails
        };
        for r in ranges.split(',') {
            let (lo, hi) = r.split_once('-').unwrap_or((r, r));
            if lo.is_empty()
                || !lo.bytes().all(|b| b.is_ascii_digit())
                || !hi.bytes().all(|b| b.is_ascii_digit())
            {
                return Err(Malformed);
            }
            let (a, b): (u64, u64) = (
                lo.parse().map_err(|_| Malformed)?,
                hi.parse().map_err(|_| Malformed)?,
            );
            if b < a {
                return Err(Malformed);
            }
            for n in a..=b {
                for t in &tails {
                    push(
                        &mut out,
                        format!("{prefix}{n:0width$}{t}", width = lo.len()),
                    )?;
                }
            }
        }
    }
    Ok(out)
}

/// The GPUs of a `Gres=` value: (type, count), summed by type; `None` type when untyped.
/// `gpu:h100:8(S:0-1),nvme:1` → [(Some("h100"), 8)].
fn gpus(gres: &str) -> Result<Vec<(Option<String>, u32)>, String> {
    let mut by_type: BTreeMap<Option<String>, u32> = BTreeMap::new();
    if gres == "(null)" || gres.is_empty() {
        return Ok(vec![]);
    }
    // Commas also occur inside the socket list `(S:0,1)`: split outside parentheses.
    let mut items = vec![];
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in gres.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&gres[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&gres[start..]);
    for item in items {
        let item = item.split('(').next().unwrap_or("");
        let parts: Vec<&str> = item.split(':').collect();
        if parts.first() != Some(&"gpu") {
            continue;
        }
        let (ty, n) = match parts.as_slice() {
            [_, n] => (None, *n),
            [_, ty, n] => (Some(ty.to_string()), *n),
            _ => return Err(item.to_string()),
        };
        let n: u32 = n.parse().map_err(|_| item.to_string())?;
        let sum = by_type.entry(ty).or_default();
        // The same bound as a Kubernetes node's devices: 1e9 GPUs is a slip, not a node.
        *sum = sum
            .checked_add(n)
            .filter(|&t| t <= crate::k8s::MAX_DEVICES_PER_NODE)
            .ok_or_else(|| item.to_string())?;
    }
    Ok(by_type.into_iter().collect())
}

/// A node named twice in one file: it would be counted twice.
fn duplicate(file: &str, at: &str, name: &str, first_at: &str) -> Error {
    Error::input(
        file,
        format!("{at}: NodeName"),
        format!("each node once (it is also at {first_at})"),
        format!("{name:?} again"),
    )
}

/// One node's fields, from `scontrol show node -o` or a `slurm.conf` line.
struct RawNode {
    name: String,
    gres: String,
    at: String,
}

fn records(
    file: &str,
    raw: Vec<RawNode>,
    mapping: &Mapping,
    site: &str,
    country: Option<&str>,
) -> Result<(Vec<NodeRecord>, Vec<Skip>)> {
    let mut recs = vec![];
    let mut skipped = vec![];
    for n in raw {
        let g = gpus(&n.gres).map_err(|item| {
            Error::input(
                file,
                format!("{} Gres", n.at),
                "gpu:TYPE:COUNT or gpu:COUNT, at most 4096 GPUs a node",
                item,
            )
        })?;
        let skip = |reason: &str, value: Option<String>| Skip {
            node: n.name.clone(),
            reason: reason.into(),
            label: Some("Gres".into()),
            value,
        };
        match g.as_slice() {
            [] => skipped.push(skip("no-accelerator", None)),
            [(_, 0)] => skipped.push(skip("zero-accelerators", Some(n.gres.clone()))),
            [(None, _)] => skipped.push(skip("no-gres-type", Some(n.gres.clone()))),
            [(Some(ty), count)] => match mapping.product(GRES_KEY, ty) {
                None => skipped.push(skip("unmapped-product", Some(ty.clone()))),
                Some(a) => {
                    let per = mapping.devices_per(a);
                    if !count.is_multiple_of(per) {
                        return Err(Error::input(
                            file,
                            format!("{} Gres", n.at),
                            format!("a multiple of {per} devices ({per} make one {a})"),
                            n.gres.clone(),
                        ));
                    }
                    recs.push(NodeRecord {
                        name: n.name.clone(),
                        site: site.to_string(),
                        region: String::new(),
                        country: country.map(str::to_string),
                        accelerator: a.to_string(),
                        count: count / per,
                        domain: None,
                    })
                }
            },
            _ => skipped.push(skip("mixed-gpu-types", Some(n.gres.clone()))),
        }
    }
    Ok((recs, skipped))
}

/// `ClusterName` and the `NodeName=` lines of a `slurm.conf`, hostlists expanded.
fn conf_nodes(file: &str, text: &str) -> Result<(Option<String>, Vec<RawNode>)> {
    let mut cluster = None;
    let mut out = vec![];
    // Node name -> the line that defined it: a node defined twice would be counted twice.
    let mut at_of: BTreeMap<String, usize> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        let f = fields(line);
        let Some((k, v)) = f.first() else { continue };
        if k.eq_ignore_ascii_case("ClusterName") {
            cluster = Some(v.clone());
        }
        if !k.eq_ignore_ascii_case("NodeName") || v.eq_ignore_ascii_case("DEFAULT") {
            continue;
        }
        let names = expand_hostlist_at_most(v, MAX_HOSTS - out.len()).map_err(|e| {
            Error::input(file, format!("line {}: NodeName", i + 1), e.expected(), v)
        })?;
        let gres = f
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Gres"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        for name in names {
            if let Some(first) = at_of.insert(name.clone(), i + 1) {
                let (at, first_at) = (format!("line {}", i + 1), format!("line {first}"));
                return Err(duplicate(file, &at, &name, &first_at));
            }
            out.push(RawNode {
                name,
                gres: gres.clone(),
                at: format!("line {}", i + 1),
            });
        }
    }
    Ok((cluster, out))
}

/// The optional configuration files, each as (file name, text).
#[derive(Debug, Clone, Copy, Default)]
pub struct SlurmFiles<'a> {
    /// `slurm.conf`: `NodeName=` lines add nodes, or the `Gres` of nodes that lack it, and
    /// `ClusterName` is the default site.
    pub conf: Option<(&'a str, &'a str)>,
    /// `gres.conf`: `Name=gpu Type=T File=/dev/nvidia[0-7]` (or `Count=N`) lines give the type
    /// and count of nodes whose `Gres` has no type.
    pub gres: Option<(&'a str, &'a str)>,
    /// `topology.conf` of the topology/block plugin: `BlockName=B Nodes=...` lines make each
    /// block's nodes one scale-up domain (NVL72 racks).
    pub topology: Option<(&'a str, &'a str)>,
}

/// gres.conf: node (or `*` for every node) → (type, count) of its GPUs.
fn gres_conf(file: &str, text: &str) -> Result<BTreeMap<String, (String, u32)>> {
    let mut out: BTreeMap<String, (String, u32)> = BTreeMap::new();
    // Names expanded so far, bounded in all (see MAX_HOSTS).
    let mut expanded = 0usize;
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        let f = fields(line);
        let get = |k: &str| {
            f.iter()
                .find(|(x, _)| x.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.as_str())
        };
        if get("Name") != Some("gpu") {
            continue;
        }
        let at = format!("line {}", i + 1);
        let Some(ty) = get("Type") else { continue };
        let count = match (get("Count"), get("File")) {
            (Some(c), _) => c
                .parse::<u32>()
                .map_err(|_| Error::input(file, format!("{at}: Count"), "a whole number", c))?,
            (None, Some(files)) => {
                let devices =
                    expand_hostlist_at_most(files, MAX_HOSTS - expanded).map_err(|e| {
                        let expected = match e {
                            HostlistError::Malformed => {
                                "a device list such as /dev/nvidia[0-7]".into()
                            }
                            e => e.expected(),
                        };
                        Error::input(file, format!("{at}: File"), expected, files)
                    })?;
                expanded += devices.len();
                u32::try_from(devices.len()).unwrap_or(u32::MAX)
            }
            (None, None) => 1,
        };
        let nodes = match get("NodeName") {
            Some(h) => {
                let names = expand_hostlist_at_most(h, MAX_HOSTS - expanded)
                    .map_err(|e| Error::input(file, format!("{at}: NodeName"), e.expected(), h))?;
                expanded += names.len();
                names
            }
            None => vec!["*".to_string()],
        };
        for n in nodes {
            let e = out.entry(n).or_insert((ty.to_string(), 0));
            // Lines add up (File=/dev/nvidia[0-3] and [4-7]); the sum must fit.
            if e.0 != ty {
                return Err(Error::input(
                    file,
                    at.clone(),
                    format!("one GPU type per node ({})", e.0),
                    ty,
                ));
            }
            e.1 =
                e.1.checked_add(count)
                    .filter(|&t| t <= crate::k8s::MAX_DEVICES_PER_NODE)
                    .ok_or_else(|| {
                        Error::input(
                            file,
                            format!("{at}: Count"),
                            "a node's total of at most 4096 devices",
                            count.to_string(),
                        )
                    })?;
        }
    }
    Ok(out)
}

/// topology.conf (topology/block): node → block name.
fn blocks(file: &str, text: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    // Names expanded so far, bounded in all (see MAX_HOSTS).
    let mut expanded = 0usize;
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        let f = fields(line);
        let Some((k, block)) = f.first() else {
            continue;
        };
        if !k.eq_ignore_ascii_case("BlockName") {
            continue;
        }
        let Some((_, nodes)) = f.iter().find(|(k, _)| k.eq_ignore_ascii_case("Nodes")) else {
            continue;
        };
        let names = expand_hostlist_at_most(nodes, MAX_HOSTS - expanded).map_err(|e| {
            Error::input(file, format!("line {}: Nodes", i + 1), e.expected(), nodes)
        })?;
        expanded += names.len();
        for n in names {
            out.insert(n, format!("block={block}"));
        }
    }
    Ok(out)
}

/// Reads `scontrol show node -o` output (`file`, `text`) and the optional configuration files
/// (see [`SlurmFiles`]). The scontrol output may be empty when `slurm.conf` names the nodes.
pub fn import_nodes(
    file: &str,
    text: &str,
    files: SlurmFiles<'_>,
    mapping: &Mapping,
    opts: &SlurmOptions,
) -> Result<Inventory> {
    let mut raw: Vec<RawNode> = vec![];
    // Node name -> its record in `raw`: a node listed twice would be counted twice.
    let mut index_of: BTreeMap<String, usize> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let f = fields(line);
        let at = format!("line {}", i + 1);
        match f.first() {
            Some((k, v)) if k == "NodeName" && !v.is_empty() => {
                if let Some(&first) = index_of.get(v) {
                    let first_at: &RawNode = &raw[first];
                    return Err(duplicate(file, &at, v, &first_at.at));
                }
                index_of.insert(v.clone(), raw.len());
                let gres = f
                    .iter()
                    .find(|(k, _)| k == "Gres")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                raw.push(RawNode {
                    name: v.clone(),
                    gres,
                    at,
                });
            }
            _ => {
                return Err(Error::input(
                    file,
                    at,
                    "a `scontrol show node -o` record starting NodeName=",
                    line.chars().take(60).collect::<String>(),
                ))
            }
        }
    }
    let mut cluster = None;
    if let Some((cfile, ctext)) = files.conf {
        let (name, nodes) = conf_nodes(cfile, ctext)?;
        cluster = name;
        let index: BTreeMap<String, usize> = raw
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.clone(), i))
            .collect();
        for n in nodes {
            match index.get(&n.name) {
                Some(&i) if raw[i].gres.is_empty() || raw[i].gres == "(null)" => {
                    raw[i].gres = n.gres
                }
                Some(_) => {}
                None => raw.push(n),
            }
        }
    }
    if let Some((gfile, gtext)) = files.gres {
        let g = gres_conf(gfile, gtext)?;
        for r in &mut raw {
            let untyped = matches!(gpus(&r.gres).as_deref(), Ok([]) | Ok([(None, _)]));
            if let Some((ty, n)) = g.get(&r.name).or_else(|| g.get("*")).filter(|_| untyped) {
                r.gres = format!("gpu:{ty}:{n}");
            }
        }
    }
    let block_of = match files.topology {
        Some((tfile, ttext)) => blocks(tfile, ttext)?,
        None => BTreeMap::new(),
    };
    if raw.is_empty() {
        return Err(Error::input(file, "line 1", "at least one node", "none"));
    }
    let site = opts.site.clone().or(cluster).ok_or_else(|| {
        Error::input(
            file,
            "site",
            "a site id: --site ID, or ClusterName in the slurm.conf given",
            "neither",
        )
    })?;
    // The site becomes a scenario id and reaches exports: refuse what is not an id.
    if let Some(problem) = xpufleet_model::id_problem(&site) {
        let (origin, at) = match (&opts.site, files.conf) {
            (Some(_), _) => ("--site".to_string(), "the site id".to_string()),
            (None, Some((cfile, _))) => (cfile.to_string(), "ClusterName".to_string()),
            (None, None) => (file.to_string(), "site".to_string()),
        };
        return Err(Error::input(
            &origin,
            at,
            format!("a site id: {}", xpufleet_model::ID_RULE),
            format!("{site:?} ({problem})"),
        ));
    }
    let (mut recs, skipped) = records(file, raw, mapping, &site, opts.country.as_deref())?;
    for r in &mut recs {
        r.domain = block_of.get(&r.name).cloned();
    }
    group(file, &recs, skipped, mapping)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostlists_expand_with_padding() {
        assert_eq!(
            expand_hostlist("gpu[001-003,010],login1").unwrap(),
            vec!["gpu001", "gpu002", "gpu003", "gpu010", "login1"]
        );
        assert_eq!(
            expand_hostlist("r[1-2]n[1-2]").unwrap(),
            vec!["r1n1", "r1n2", "r2n1", "r2n2"]
        );
        assert!(expand_hostlist("gpu[3-1]").is_none());
        assert!(expand_hostlist("gpu[1-2").is_none());
    }

    #[test]
    fn gres_values() {
        assert_eq!(
            gpus("gpu:h100:8(S:0-1)").unwrap(),
            vec![(Some("h100".into()), 8)]
        );
        assert_eq!(
            gpus("gpu:h100:4(S:0,1),gpu:h100:4(S:1),nvme:2").unwrap(),
            vec![(Some("h100".into()), 8)]
        );
        assert_eq!(gpus("gpu:8").unwrap(), vec![(None, 8)]);
        assert_eq!(gpus("(null)").unwrap(), vec![]);
        assert!(gpus("gpu:h100:eight").is_err());
        // Issue 27 item 6: a count no node has is refused, alone or summed.
        assert_eq!(
            gpus("gpu:h100:4096").unwrap(),
            vec![(Some("h100".into()), 4096)]
        );
        assert!(gpus("gpu:h100:1000000000").is_err());
        assert!(gpus("gpu:h100:4000,gpu:h100:4000").is_err());
    }

    #[test]
    fn values_with_spaces_stay_whole() {
        let f = fields(
            "NodeName=g1 OS=Linux 5.15.0-91 #101 Gres=gpu:h20:8 Reason=fan swap [root@2026]",
        );
        assert_eq!(f[1], ("OS".into(), "Linux 5.15.0-91 #101".into()));
        assert_eq!(f[2], ("Gres".into(), "gpu:h20:8".into()));
        assert_eq!(f[3].1, "fan swap [root@2026]");
    }
}
