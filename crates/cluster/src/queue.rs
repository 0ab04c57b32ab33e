//! Queues in: Kueue `Workload` and Volcano `PodGroup` lists (`kubectl get workloads -A -o
//! json`, `kubectl get podgroups -A -o json`) and Slurm's `squeue --json`, turned into
//! xpufleet trace jobs (`docs/traces.md`, the `jobs` format) that `simulate --trace` reads.
//!
//! **Invariant:** every object becomes a job or a counted skip, by reason; nothing is dropped
//! silently and nothing is guessed: an object with no run-time limit is skipped as
//! `no-duration` unless the caller gives a default duration.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use xpufleet_model::{SimTime, TraceJob};

use crate::map::Mapping;
use crate::slurm::GRES_KEY;
use crate::time::rfc3339_secs;
use crate::{Error, Result};

/// The longest run a queued job may ask for: 100 years, the simulator's own horizon. A negative,
/// zero or larger limit is a broken object, refused at its place rather than simulated.
pub const MAX_DURATION_S: f64 = 100.0 * 365.0 * 86_400.0;

/// `duration_s` of the object at `at`, or a located refusal when it is outside (0, 100 years].
fn checked_duration(file: &str, at: String, duration_s: f64) -> Result<f64> {
    if duration_s > 0.0 && duration_s <= MAX_DURATION_S {
        Ok(duration_s)
    } else {
        Err(Error::input(
            file,
            at,
            "a run-time limit above 0 s and at most 100 years",
            format!("{duration_s} s"),
        ))
    }
}

/// What a queue import needs beyond the file.
#[derive(Debug, Clone, Default)]
pub struct QueueOptions {
    /// Seconds a job runs when its object gives no limit (Kueue
    /// `maximumExecutionTimeSeconds`, Slurm `time_limit`); `None`: such objects are skipped.
    pub default_duration_s: Option<f64>,
}

/// An object that did not become a job.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct QueueSkip {
    /// `namespace/name` or the Slurm job id.
    pub object: String,
    pub reason: String,
}

/// The jobs, submit times rebased so the earliest is 0, and the skips.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueImport {
    /// `Workload`, `PodGroup` or `squeue`.
    pub source: String,
    pub jobs: Vec<TraceJob>,
    pub skipped: Vec<QueueSkip>,
    /// Unix seconds of submit time 0.
    pub epoch_s: Option<i64>,
}

impl QueueImport {
    pub fn skipped_by_reason(&self) -> BTreeMap<&str, u64> {
        let mut m = BTreeMap::new();
        for s in &self.skipped {
            *m.entry(s.reason.as_str()).or_default() += 1;
        }
        m
    }
}

/// A job before its submit time is rebased.
struct Pending {
    label: String,
    submit_unix: i64,
    accels: u32,
    duration_s: f64,
    allowed: Vec<String>,
    tenant: Option<String>,
    priority: i32,
}

fn finish(source: &str, pending: Vec<Pending>, mut skipped: Vec<QueueSkip>) -> QueueImport {
    let epoch = pending.iter().map(|p| p.submit_unix).min();
    let jobs = pending
        .into_iter()
        .enumerate()
        .map(|(i, p)| TraceJob {
            id: i as u64,
            label: p.label,
            submit: SimTime((p.submit_unix - epoch.unwrap_or(0)).max(0) as u64),
            accels: p.accels,
            work: p.duration_s,
            ref_type: (p.allowed.len() == 1).then(|| p.allowed[0].clone()),
            kind: None,
            allowed: p.allowed,
            tenant: p.tenant,
            priority: p.priority,
            deadline: None,
        })
        .collect();
    skipped.sort();
    QueueImport {
        source: source.into(),
        jobs,
        skipped,
        epoch_s: epoch,
    }
}

/// An integer, a decimal string, or Slurm's `{"set": true, "infinite": false, "number": N}`;
/// `None` for unset or infinite.
fn number(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) => {
            if o.get("set").and_then(Value::as_bool) == Some(false)
                || o.get("infinite").and_then(Value::as_bool) == Some(true)
            {
                return None;
            }
            o.get("number").and_then(Value::as_i64)
        }
        _ => None,
    }
}

fn items<'a>(file: &str, doc: &'a Value, kind: &str) -> Result<&'a Vec<Value>> {
    match (doc.get("kind").and_then(Value::as_str), doc.get("items")) {
        (Some(k), Some(Value::Array(a))) if k == "List" || k == format!("{kind}List") => Ok(a),
        (k, _) => Err(Error::input(
            file,
            "kind",
            format!("a List of {kind} objects (kubectl get ... -A -o json)"),
            format!("{:?}", k.unwrap_or("")),
        )),
    }
}

fn parse(file: &str, text: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        Error::input(
            file,
            format!("line {} column {}", e.line(), e.column()),
            what,
            e.to_string(),
        )
    })
}

fn object_name(item: &Value) -> String {
    let ns = item
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = item
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    if ns.is_empty() {
        name.to_string()
    } else {
        format!("{ns}/{name}")
    }
}

/// The accelerator resource among `resources` (name → count) and the accelerators a job of
/// it may use, given the node selector. `Err(reason)` for a skip.
fn accel_request(
    mapping: &Mapping,
    resources: &BTreeMap<String, u64>,
    selector: Option<&serde_json::Map<String, Value>>,
) -> std::result::Result<(u64, Vec<String>), &'static str> {
    let found: Vec<(&crate::map::ResourceRule, u64)> = mapping
        .resources
        .iter()
        .filter_map(|r| resources.get(&r.name).filter(|n| **n > 0).map(|n| (r, *n)))
        .collect();
    let (r, n) = match found.as_slice() {
        [] => return Err("no-accelerator"),
        [one] => *one,
        _ => return Err("mixed-accelerators"),
    };
    let mut allowed = None;
    for key in &r.product_keys {
        if let Some(v) = selector.and_then(|s| s.get(key)).and_then(Value::as_str) {
            match mapping.product(key, v) {
                Some(a) => allowed = Some(vec![a.to_string()]),
                None => return Err("unmapped-product"),
            }
            break;
        }
    }
    let allowed = allowed.unwrap_or_else(|| mapping.accelerators_for_keys(&r.product_keys));
    devices_to_accels(mapping, n, allowed)
}

/// A request in devices as a gang of accelerators: divided by the devices each allowed
/// accelerator takes, when they agree and it divides; otherwise a skip reason.
fn devices_to_accels(
    mapping: &Mapping,
    devices: u64,
    allowed: Vec<String>,
) -> std::result::Result<(u64, Vec<String>), &'static str> {
    let mut per: Vec<u32> = allowed.iter().map(|a| mapping.devices_per(a)).collect();
    per.sort();
    per.dedup();
    match per.as_slice() {
        [] | [1] => Ok((devices, allowed)),
        [d] if devices.is_multiple_of(u64::from(*d)) => Ok((devices / u64::from(*d), allowed)),
        [_] => Err("partial-accelerator"),
        _ => Err("ambiguous-device-size"),
    }
}

/// Adds a container's (or a PodGroup's) resource counts; requests win over limits.
fn add_resources(into: &mut BTreeMap<String, u64>, res: Option<&Value>, times: u64) {
    let Some(res) = res else { return };
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for part in ["limits", "requests"] {
        if let Some(Value::Object(m)) = res.get(part) {
            for (k, v) in m {
                if let Some(n) = number(Some(v)).and_then(|n| u64::try_from(n).ok()) {
                    seen.insert(k.clone(), n);
                }
            }
        }
    }
    for (k, v) in seen {
        let e = into.entry(k).or_default();
        *e = e.saturating_add(v.saturating_mul(times));
    }
}

fn condition_true(item: &Value, ty: &str) -> bool {
    item.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some(ty)
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

fn created(file: &str, item: &Value, name: &str) -> Result<i64> {
    let ts = item
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str);
    ts.and_then(rfc3339_secs).ok_or_else(|| {
        Error::input(
            file,
            format!("{name}.metadata.creationTimestamp"),
            "an RFC 3339 time such as 2026-11-30T18:04:05Z",
            format!("{:?}", ts.unwrap_or("nothing")),
        )
    })
}

fn to_u32(n: u64) -> Option<u32> {
    u32::try_from(n).ok().filter(|n| *n > 0)
}

/// What one Kubernetes object asks for, read by its kind's reader.
struct Request<'v> {
    /// Resource name → count over the whole gang.
    resources: BTreeMap<String, u64>,
    selector: Option<&'v serde_json::Map<String, Value>>,
    /// The run-time limit, when the object gives one.
    limit_s: Option<f64>,
    priority: i64,
}

/// A kind of Kubernetes object that describes a gang job (Kueue `Workload`, Volcano
/// `PodGroup`): how to tell a finished one and how to read what it asks for.
struct ObjectKind {
    kind: &'static str,
    /// What the file should be, for messages.
    what: &'static str,
    finished: fn(&Value) -> bool,
    /// The request of an object that is not finished (file, object, its name, the mapping).
    read: for<'v> fn(&str, &'v Value, &str, &Mapping) -> Result<Request<'v>>,
}

/// The shared walk over a `kubectl get ... -A -o json` list: every object of `k.kind` becomes
/// a job (tenant = namespace) or a counted skip; any other kind is an error.
fn import_objects(
    file: &str,
    text: &str,
    k: &ObjectKind,
    mapping: &Mapping,
    opts: &QueueOptions,
) -> Result<QueueImport> {
    let doc = parse(file, text, k.what)?;
    let list = items(file, &doc, k.kind)?;
    let mut pending = vec![];
    let mut skipped = vec![];
    for item in list {
        let name = object_name(item);
        let kind = item.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind != k.kind {
            return Err(Error::input(
                file,
                format!("{name}.kind"),
                k.kind,
                format!("{kind:?}"),
            ));
        }
        let skip = |reason: &str| QueueSkip {
            object: name.clone(),
            reason: reason.into(),
        };
        if (k.finished)(item) {
            skipped.push(skip("finished"));
            continue;
        }
        let req = (k.read)(file, item, &name, mapping)?;
        let (accels, allowed) = match accel_request(mapping, &req.resources, req.selector) {
            Ok(x) => x,
            Err(reason) => {
                skipped.push(skip(reason));
                continue;
            }
        };
        let Some(accels) = to_u32(accels) else {
            skipped.push(skip("too-many-accelerators"));
            continue;
        };
        let Some(duration_s) = req.limit_s.or(opts.default_duration_s) else {
            skipped.push(skip("no-duration"));
            continue;
        };
        let duration_s = checked_duration(file, format!("{name}: run-time limit"), duration_s)?;
        pending.push(Pending {
            submit_unix: created(file, item, &name)?,
            label: name,
            accels,
            duration_s,
            allowed,
            tenant: item
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .map(str::to_string),
            priority: req.priority.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
        });
    }
    Ok(finish(k.kind, pending, skipped))
}

/// Kueue `Workload`s: gang size = Σ podSet count × accelerators per pod; tenant = namespace;
/// priority = `spec.priority`; duration = `spec.maximumExecutionTimeSeconds`. Finished
/// workloads are skipped as `finished`; admitted ones are jobs too (they hold capacity now).
pub fn import_workloads(
    file: &str,
    text: &str,
    mapping: &Mapping,
    opts: &QueueOptions,
) -> Result<QueueImport> {
    const WORKLOAD: ObjectKind = ObjectKind {
        kind: "Workload",
        what: "the JSON of `kubectl get workloads -A -o json`",
        finished: |item| condition_true(item, "Finished"),
        read: read_workload,
    };
    import_objects(file, text, &WORKLOAD, mapping, opts)
}

fn read_workload<'v>(
    file: &str,
    item: &'v Value,
    name: &str,
    _mapping: &Mapping,
) -> Result<Request<'v>> {
    let Some(pod_sets) = item.pointer("/spec/podSets").and_then(Value::as_array) else {
        return Err(Error::input(
            file,
            format!("{name}.spec.podSets"),
            "a list of pod sets",
            "nothing",
        ));
    };
    let mut resources = BTreeMap::new();
    let mut selector: Option<&serde_json::Map<String, Value>> = None;
    for (i, ps) in pod_sets.iter().enumerate() {
        let count = number(ps.get("count"))
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| {
                Error::input(
                    file,
                    format!("{name}.spec.podSets[{i}].count"),
                    "a whole number",
                    ps.get("count").map_or("nothing".into(), Value::to_string),
                )
            })?;
        let spec = ps.pointer("/template/spec");
        for c in spec
            .and_then(|s| s.get("containers"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            add_resources(&mut resources, c.get("resources"), count);
        }
        if let Some(Value::Object(sel)) = spec.and_then(|s| s.get("nodeSelector")) {
            selector.get_or_insert(sel);
        }
    }
    Ok(Request {
        resources,
        selector,
        limit_s: number(item.pointer("/spec/maximumExecutionTimeSeconds")).map(|s| s as f64),
        priority: number(item.pointer("/spec/priority")).unwrap_or(0),
    })
}

/// Volcano `PodGroup`s: gang size = `spec.minResources[accelerator resource]` (the gang's
/// total); tenant = namespace. Volcano records no run-time limit, so the duration is the
/// default given. `Completed` groups are skipped as `finished`.
pub fn import_podgroups(
    file: &str,
    text: &str,
    mapping: &Mapping,
    opts: &QueueOptions,
) -> Result<QueueImport> {
    const PODGROUP: ObjectKind = ObjectKind {
        kind: "PodGroup",
        what: "the JSON of `kubectl get podgroups -A -o json`",
        finished: |item| item.pointer("/status/phase").and_then(Value::as_str) == Some("Completed"),
        read: read_podgroup,
    };
    import_objects(file, text, &PODGROUP, mapping, opts)
}

fn read_podgroup<'v>(
    file: &str,
    item: &'v Value,
    name: &str,
    mapping: &Mapping,
) -> Result<Request<'v>> {
    let mut resources = BTreeMap::new();
    if let Some(Value::Object(m)) = item.pointer("/spec/minResources") {
        for (k, v) in m {
            // `requests.nvidia.com/gpu` and `nvidia.com/gpu` both occur in the wild; only
            // accelerator counts are read (memory is "4000Gi", not a count).
            let key = k.strip_prefix("requests.").unwrap_or(k);
            if mapping.resource(key).is_none() {
                continue;
            }
            let n = number(Some(v))
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| {
                    Error::input(
                        file,
                        format!("{name}.spec.minResources[{k:?}]"),
                        "a whole number",
                        v.to_string(),
                    )
                })?;
            resources.insert(key.to_string(), n);
        }
    }
    Ok(Request {
        resources,
        selector: None,
        limit_s: None,
        priority: 0,
    })
}

/// GPUs in a TRES string: `gres/gpu:h100=32` or `gres/gpu=32` (`tres_req_str`, comma list),
/// or `gres/gpu:h100:8` / `gres:gpu:8` (`tres_per_node`). Returns (type, count).
fn tres_gpus(s: &str, per: bool) -> Option<(Option<String>, u64)> {
    let mut untyped = None;
    for item in s.split(',') {
        let item = item.trim();
        let Some(rest) = item
            .strip_prefix("gres/gpu")
            .or_else(|| item.strip_prefix("gres:gpu"))
        else {
            continue;
        };
        let (ty, n) = if per {
            // ":h100:8" or ":8"
            let parts: Vec<&str> = rest.trim_start_matches(':').split(':').collect();
            match parts.as_slice() {
                [n] => (None, *n),
                [ty, n] => (Some(ty.to_string()), *n),
                _ => continue,
            }
        } else {
            // ":h100=32" or "=32"
            let Some((lhs, n)) = rest.split_once('=') else {
                continue;
            };
            (lhs.strip_prefix(':').map(str::to_string), n)
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match ty {
            Some(t) => return Some((Some(t), n)),
            None => untyped = Some((None, n)),
        }
    }
    untyped
}

/// Slurm `squeue --json` (data_parser v0.0.40 and later: numbers as
/// `{"set", "infinite", "number"}`, `job_state` a list): pending and running jobs become jobs,
/// the rest (completed, cancelled, failed, ...) are skipped as `finished`. Gang size from
/// `tres_per_node` × `node_count`, else `tres_req_str`; tenant = account; duration =
/// `time_limit` (minutes). Priorities above 2^31-1 are capped there.
pub fn import_squeue(
    file: &str,
    text: &str,
    mapping: &Mapping,
    opts: &QueueOptions,
) -> Result<QueueImport> {
    let doc = parse(file, text, "the JSON of `squeue --json`")?;
    let Some(list) = doc.get("jobs").and_then(Value::as_array) else {
        return Err(Error::input(
            file,
            "jobs",
            "an object with a \"jobs\" list (squeue --json)",
            "none",
        ));
    };
    let mut pending = vec![];
    let mut skipped = vec![];
    for (i, j) in list.iter().enumerate() {
        let id = number(j.get("job_id")).ok_or_else(|| {
            Error::input(
                file,
                format!("jobs[{i}].job_id"),
                "a job id",
                j.get("job_id").map_or("nothing".into(), Value::to_string),
            )
        })?;
        let name = id.to_string();
        let skip = |reason: &str| QueueSkip {
            object: name.clone(),
            reason: reason.into(),
        };
        let states: Vec<&str> = match j.get("job_state") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(s)) => vec![s.as_str()],
            _ => vec![],
        };
        if !states.iter().any(|s| {
            matches!(
                *s,
                "PENDING" | "RUNNING" | "CONFIGURING" | "SUSPENDED" | "REQUEUED"
            )
        }) {
            skipped.push(skip("finished"));
            continue;
        }
        let nodes = number(j.get("node_count")).unwrap_or(1).max(1) as u64;
        let per_node = j
            .get("tres_per_node")
            .and_then(Value::as_str)
            .and_then(|s| tres_gpus(s, true));
        let total = j
            .get("tres_req_str")
            .and_then(Value::as_str)
            .and_then(|s| tres_gpus(s, false));
        // A node holds at most `MAX_DEVICES_PER_NODE` devices, as a Kubernetes node's count
        // is bounded: 1e9 GPUs a node is a broken object, refused at its place.
        let per_node_max = u64::from(crate::k8s::MAX_DEVICES_PER_NODE);
        let absurd = |field: &str, n: u64, limit: u64| {
            Error::input(
                file,
                format!("jobs[{i}] (job {id}).{field}"),
                format!("at most {per_node_max} GPUs a node ({limit} on {nodes} node(s))"),
                format!("{n} GPUs"),
            )
        };
        let (ty, accels) = match (per_node, total) {
            (Some((_, n)), _) if n > per_node_max => {
                return Err(absurd("tres_per_node", n, per_node_max))
            }
            (None, Some((_, n))) if n > per_node_max.saturating_mul(nodes) => {
                return Err(absurd(
                    "tres_req_str",
                    n,
                    per_node_max.saturating_mul(nodes),
                ))
            }
            (Some((t, n)), _) => (t, n.saturating_mul(nodes)),
            (None, Some((t, n))) => (t, n),
            (None, None) => {
                skipped.push(skip("no-accelerator"));
                continue;
            }
        };
        let allowed = match ty {
            Some(t) => match mapping.product(GRES_KEY, &t) {
                Some(a) => vec![a.to_string()],
                None => {
                    skipped.push(skip("unmapped-product"));
                    continue;
                }
            },
            None => vec![],
        };
        let (accels, allowed) = match devices_to_accels(mapping, accels, allowed) {
            Ok(x) => x,
            Err(reason) => {
                skipped.push(skip(reason));
                continue;
            }
        };
        let Some(accels) = to_u32(accels) else {
            skipped.push(skip("no-accelerator"));
            continue;
        };
        let limit = number(j.get("time_limit")).map(|m| m as f64 * 60.0);
        let Some(duration_s) = limit.or(opts.default_duration_s) else {
            skipped.push(skip("no-duration"));
            continue;
        };
        let duration_s =
            checked_duration(file, format!("jobs[{i}] (job {id}).time_limit"), duration_s)?;
        let submit_unix = number(j.get("submit_time")).ok_or_else(|| {
            Error::input(
                file,
                format!("jobs[{i}] (job {id}).submit_time"),
                "Unix seconds",
                "nothing",
            )
        })?;
        let priority = number(j.get("priority")).unwrap_or(0);
        pending.push(Pending {
            label: name,
            submit_unix,
            accels,
            duration_s,
            allowed,
            tenant: j
                .get("account")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            priority: priority.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
        });
    }
    Ok(finish("squeue", pending, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tres_strings() {
        assert_eq!(
            tres_gpus("gres/gpu:h100:8", true),
            Some((Some("h100".into()), 8))
        );
        assert_eq!(tres_gpus("gres:gpu:4", true), Some((None, 4)));
        assert_eq!(
            tres_gpus(
                "cpu=64,mem=512G,node=4,billing=64,gres/gpu=32,gres/gpu:h100=32",
                false
            ),
            Some((Some("h100".into()), 32))
        );
        assert_eq!(
            tres_gpus("gres/gpu=32,gres/gpu:h100=32", false),
            Some((Some("h100".into()), 32))
        );
    }
}
