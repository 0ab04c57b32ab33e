//! An independent checker: replays an event log (JSONL) with its own bookkeeping, not the
//! scheduler's, and re-verifies the run: time never goes back, capacity is never exceeded, a
//! gang starts and stops whole, nothing is placed on a pool the verdicts deny its tenant, and a
//! gang spans sites only when its job says it may.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::log::LogEvent;

/// The first violation found, with the 1-based log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event log line {line}: {what}")]
pub struct Violation {
    pub line: usize,
    pub what: String,
}

/// What a clean log contained.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Replayed {
    pub arrivals: u64,
    pub starts: u64,
    pub finishes: u64,
    pub preemptions: u64,
    pub failures: u64,
    pub repairs: u64,
    pub rejects: u64,
    /// Most accelerators in use at once.
    pub peak_in_use: u64,
}

struct Node {
    cap: u32,
    used: u32,
    down: u32,
}

/// Replays JSONL text.
pub fn replay(jsonl: &str) -> Result<Replayed, Violation> {
    let mut events = Vec::new();
    for (i, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: LogEvent = serde_json::from_str(line).map_err(|e| Violation {
            line: i + 1,
            what: format!("not an event: {e}"),
        })?;
        events.push((i + 1, e));
    }
    replay_events(events)
}

/// Replays parsed events, each with its line number.
pub fn replay_events(events: Vec<(usize, LogEvent)>) -> Result<Replayed, Violation> {
    let mut it = events.into_iter();
    let bad = |line: usize, what: String| Violation { line, what };
    let (line0, first) = it
        .next()
        .ok_or_else(|| bad(1, "empty log: expected a fleet line first".into()))?;
    let LogEvent::Fleet { pools, denied, .. } = first else {
        return Err(bad(line0, "the first line must be the fleet".into()));
    };
    let mut nodes: Vec<Vec<Node>> = pools
        .iter()
        .map(|p| {
            (0..p.nodes)
                .map(|_| Node {
                    cap: p.accels_per_node,
                    used: 0,
                    down: 0,
                })
                .collect()
        })
        .collect();
    let denied: BTreeSet<(u32, u32)> = denied.into_iter().collect();
    // job -> (smallest gang, largest gang, tenant, may span sites)
    let mut jobs: BTreeMap<u32, (u32, u32, u32, bool)> = BTreeMap::new();
    let mut running: BTreeMap<u32, Vec<[u32; 3]>> = BTreeMap::new();
    let mut finished: BTreeSet<u32> = BTreeSet::new();
    let mut out = Replayed::default();
    let mut in_use: u64 = 0;
    let mut last_t = 0u64;
    for (line, e) in it {
        let t = e
            .time()
            .ok_or_else(|| bad(line, "a second fleet line".into()))?
            .0;
        if t < last_t {
            return Err(bad(line, format!("time goes back from {last_t} to {t}")));
        }
        last_t = t;
        let release = |nodes: &mut Vec<Vec<Node>>, slots: &[[u32; 3]]| {
            let mut n = 0u64;
            for &[p, nd, c] in slots {
                nodes[p as usize][nd as usize].used -= c;
                n += u64::from(c);
            }
            n
        };
        match e {
            LogEvent::Fleet { .. } => unreachable!("time() is None for fleet"),
            LogEvent::Arrive {
                job,
                accels,
                tenant,
                may_span_sites,
                min_accels,
                ..
            } => {
                let min = min_accels.unwrap_or(accels).min(accels);
                if jobs
                    .insert(job, (min, accels, tenant, may_span_sites))
                    .is_some()
                {
                    return Err(bad(line, format!("job {job} arrives twice")));
                }
                out.arrivals += 1;
            }
            LogEvent::Reject { job, .. } => {
                if !jobs.contains_key(&job) || running.contains_key(&job) {
                    return Err(bad(line, format!("job {job} rejected while not waiting")));
                }
                out.rejects += 1;
            }
            LogEvent::Start {
                job,
                accel_type,
                slots,
                ..
            } => {
                let &(min, accels, tenant, may_span_sites) = jobs
                    .get(&job)
                    .ok_or_else(|| bad(line, format!("job {job} starts before it arrives")))?;
                if running.contains_key(&job) || finished.contains(&job) {
                    return Err(bad(line, format!("job {job} starts while running or done")));
                }
                let total: u64 = slots.iter().map(|s| u64::from(s[2])).sum();
                if total < u64::from(min) || total > u64::from(accels) {
                    let gang = if min == accels {
                        format!("{accels}")
                    } else {
                        format!("{min} to {accels}")
                    };
                    return Err(bad(
                        line,
                        format!("gang of job {job} is {gang} but {total} were placed"),
                    ));
                }
                let mut seen = BTreeSet::new();
                for &[p, nd, c] in &slots {
                    let pool = pools
                        .get(p as usize)
                        .ok_or_else(|| bad(line, format!("no pool {p}")))?;
                    if pool.accel_type != accel_type {
                        return Err(bad(
                            line,
                            format!(
                                "job {job} on {accel_type} uses pool {} of {}",
                                pool.id, pool.accel_type
                            ),
                        ));
                    }
                    if denied.contains(&(tenant, p)) {
                        return Err(bad(
                            line,
                            format!(
                                "job {job} placed on pool {} that tenant {tenant} is denied",
                                pool.id
                            ),
                        ));
                    }
                    let site0 = pools.get(slots[0][0] as usize).map(|p| &p.site);
                    if !may_span_sites && site0 != Some(&pool.site) {
                        return Err(bad(
                            line,
                            format!(
                                "job {job} may not span sites but uses pool {} at {}",
                                pool.id, pool.site
                            ),
                        ));
                    }
                    if !seen.insert((p, nd)) || c == 0 {
                        return Err(bad(line, format!("job {job}: repeated or empty slot")));
                    }
                    let n = nodes[p as usize]
                        .get_mut(nd as usize)
                        .ok_or_else(|| bad(line, format!("no node {nd} in pool {}", pool.id)))?;
                    if n.used + n.down + c > n.cap {
                        return Err(bad(
                            line,
                            format!(
                                "capacity exceeded on node {nd} of pool {}: {} used + {} down + {c} > {}",
                                pool.id, n.used, n.down, n.cap
                            ),
                        ));
                    }
                    n.used += c;
                }
                in_use += total;
                out.peak_in_use = out.peak_in_use.max(in_use);
                running.insert(job, slots);
                out.starts += 1;
            }
            LogEvent::Preempt { job, .. } | LogEvent::Finish { job, .. } => {
                let slots = running
                    .remove(&job)
                    .ok_or_else(|| bad(line, format!("job {job} stops but is not running")))?;
                in_use -= release(&mut nodes, &slots);
                if matches!(e, LogEvent::Finish { .. }) {
                    finished.insert(job);
                    out.finishes += 1;
                } else {
                    out.preemptions += 1;
                }
            }
            LogEvent::Fail {
                pool, node, job, ..
            } => {
                if let Some(j) = job {
                    let slots = running.remove(&j).ok_or_else(|| {
                        bad(line, format!("failure hits job {j} that is not running"))
                    })?;
                    if !slots.iter().any(|s| s[0] == pool && s[1] == node) {
                        return Err(bad(line, format!("failure on a node job {j} does not use")));
                    }
                    in_use -= release(&mut nodes, &slots);
                }
                let n = nodes
                    .get_mut(pool as usize)
                    .and_then(|p| p.get_mut(node as usize))
                    .ok_or_else(|| bad(line, format!("no node {node} in pool {pool}")))?;
                if n.used + n.down + 1 > n.cap {
                    return Err(bad(line, format!("node {node} of pool {pool} fails a busy accelerator without stopping its job")));
                }
                n.down += 1;
                out.failures += 1;
            }
            LogEvent::Capacity { pool, present, .. } => {
                let ns = nodes
                    .get_mut(pool as usize)
                    .ok_or_else(|| bad(line, format!("no pool {pool}")))?;
                for (nd, n) in ns.iter_mut().enumerate() {
                    if present {
                        n.down = 0;
                    } else if n.used > 0 {
                        return Err(bad(
                            line,
                            format!("pool {pool} leaves with jobs still on node {nd}"),
                        ));
                    } else {
                        n.down = n.cap;
                    }
                }
            }
            LogEvent::Repair { pool, node, .. } => {
                let n = nodes
                    .get_mut(pool as usize)
                    .and_then(|p| p.get_mut(node as usize))
                    .ok_or_else(|| bad(line, format!("no node {node} in pool {pool}")))?;
                if n.down == 0 {
                    return Err(bad(
                        line,
                        format!("repair of node {node} of pool {pool} with nothing down"),
                    ));
                }
                n.down -= 1;
                out.repairs += 1;
            }
        }
    }
    Ok(out)
}
