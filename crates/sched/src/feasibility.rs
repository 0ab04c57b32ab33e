//! Feasibility: which placements a job has in a fleet state (candidates), whether it can ever
//! run on this fleet ([`never_runnable`]), and why it waits when it has none.
//!
//! The checks run cheapest first: a type mask test, a free-count test per type, the cached
//! verdict per pool, and only then the node search inside a pool.

use std::cmp::Reverse;

use crate::fleet::{FleetState, Scratch, Slot, TypeIdx};
use crate::queue::Job;
use crate::reason::{denial_reason, Reason};

/// One placement a policy may choose for a job.
#[derive(Debug, Clone)]
pub(crate) struct Cand {
    pub ty: TypeIdx,
    pub slots: Vec<Slot>,
    pub nodes: u32,
    pub usd_per_hour: f64,
}

/// What the feasibility pass learned about a job with no placement now.
#[derive(Default)]
pub(crate) struct Miss {
    /// Some allowed type is in the fleet.
    pub any_type: bool,
    /// Most free accelerators in any one group the job may use.
    pub free: u64,
}

/// Why `job` can never run on this fleet (no allowed type, every allowed pool denied, or a gang
/// larger than any group it may use), or `None` if some empty fleet state would hold it.
///
/// A moldable job can run when any of its sizes can; when none can, the reason is its largest
/// gang's.
pub fn never_runnable(fleet: &FleetState, job: &Job) -> Option<Reason> {
    let reason = never_runnable_rigid(fleet, job)?;
    if (0..job.smaller.len()).any(|i| never_runnable_rigid(fleet, &job.at_smaller(i)).is_none()) {
        return None;
    }
    Some(reason)
}

fn never_runnable_rigid(fleet: &FleetState, job: &Job) -> Option<Reason> {
    let mut any_type = false;
    let mut first_denial = None;
    let mut largest = 0u64;
    for t in 0..fleet.types.len() {
        if !job.may_use(t as TypeIdx) {
            continue;
        }
        let mut by_site: Vec<u64> = vec![0; fleet.sites.len().max(1)];
        for &p in &fleet.pools_by_type[t] {
            any_type = true;
            match fleet.access.check(job.tenant, p) {
                Ok(()) => {
                    let s = &fleet.pools[p as usize].spec;
                    let site = if job.may_span_sites {
                        0
                    } else {
                        s.site as usize
                    };
                    by_site[site] += s.accels();
                }
                Err(d) => {
                    if first_denial.is_none() {
                        first_denial = Some(d);
                    }
                }
            }
        }
        largest = largest.max(by_site.into_iter().max().unwrap_or(0));
    }
    if !any_type {
        return Some(Reason::NoAllowedType);
    }
    if largest == 0 {
        return first_denial.map(|d| denial_reason(fleet, d));
    }
    if u64::from(job.accels) > largest {
        return Some(Reason::TooLarge {
            accels: job.accels,
            largest,
        });
    }
    None
}

/// Feasibility: every placement of `job` in the current scratch state, at most one per type
/// (the best-fitting pool of that type, or a spread over pools of one site).
pub(crate) fn candidates(s: &Scratch<'_>, job: &Job, out: &mut Vec<Cand>, miss: &mut Miss) {
    out.clear();
    let fleet = s.fleet;
    let k = job.accels;
    let mut buf = Vec::new();
    for t in 0..fleet.types.len() {
        let t = t as TypeIdx;
        if !job.may_use(t) || fleet.pools_by_type[t as usize].is_empty() {
            continue;
        }
        miss.any_type = true;
        if s.free_by_type[t as usize] < u64::from(k) {
            // Cheap exit; the reason only needs the free count.
            miss.free = miss.free.max(s.free_by_type[t as usize]);
            continue;
        }
        let mut best: Option<Cand> = None;
        for &p in &fleet.pools_by_type[t as usize] {
            if fleet.access.check(job.tenant, p).is_err() {
                continue;
            }
            let pool = &s.pools[p as usize];
            if pool.free_total() < u64::from(k) || !pool.find(p, k, &mut buf) {
                continue;
            }
            let nodes = buf.len() as u32;
            // Fewest nodes, then the tightest pool (keep big pools whole), then pool order.
            let better = match &best {
                None => true,
                Some(b) => {
                    (nodes, pool.free_total())
                        < (b.nodes, s.pools[b.slots[0].pool as usize].free_total())
                }
            };
            if better {
                best = Some(Cand {
                    ty: t,
                    slots: buf.clone(),
                    nodes,
                    usd_per_hour: f64::from(k) * pool.spec.price_usd_per_hour,
                });
            }
        }
        if best.is_none() {
            // No single pool holds the gang: spread it over the pools of one site (or of all
            // sites when the job allows it), largest free first.
            let mut allowed_free_by_site: Vec<u64> = vec![0; fleet.sites.len().max(1)];
            for &p in &fleet.pools_by_type[t as usize] {
                if fleet.access.check(job.tenant, p).is_ok() {
                    let pool = &s.pools[p as usize];
                    let site = if job.may_span_sites {
                        0
                    } else {
                        pool.spec.site as usize
                    };
                    allowed_free_by_site[site] += pool.free_total();
                }
            }
            for (site, &free) in allowed_free_by_site.iter().enumerate() {
                miss.free = miss.free.max(free);
                if free < u64::from(k) {
                    continue;
                }
                let mut pools: Vec<u32> = fleet.pools_by_type[t as usize]
                    .iter()
                    .copied()
                    .filter(|&p| {
                        fleet.access.check(job.tenant, p).is_ok()
                            && (job.may_span_sites
                                || fleet.pools[p as usize].spec.site as usize == site)
                    })
                    .collect();
                pools.sort_by_key(|&p| (Reverse(s.pools[p as usize].free_total()), p));
                let mut rem = k;
                let mut slots = Vec::new();
                let mut usd = 0.0;
                for p in pools {
                    let pool = &s.pools[p as usize];
                    let take = rem.min(pool.free_total() as u32);
                    if take == 0 {
                        continue;
                    }
                    if pool.find(p, take, &mut buf) {
                        slots.extend_from_slice(&buf);
                        usd += f64::from(take) * pool.spec.price_usd_per_hour;
                        rem -= take;
                    }
                    if rem == 0 {
                        break;
                    }
                }
                if rem == 0 {
                    best = Some(Cand {
                        ty: t,
                        nodes: slots.len() as u32,
                        slots,
                        usd_per_hour: usd,
                    });
                    break;
                }
            }
        } else {
            miss.free = miss.free.max(s.free_by_type[t as usize]);
        }
        if let Some(c) = best {
            out.push(c);
        }
    }
}

/// The reason for a job with no candidate, from what the feasibility pass saw.
pub(crate) fn miss_reason(fleet: &FleetState, job: &Job, miss: &Miss) -> Reason {
    if let Some(r) = never_runnable(fleet, job) {
        return r;
    }
    if miss.free >= u64::from(job.accels) {
        Reason::Fragmented {
            accels: job.accels,
            free: miss.free,
        }
    } else {
        Reason::NoCapacity {
            accels: job.accels,
            free: miss.free,
        }
    }
}

/// Free accelerators of type `t` in pools the job's tenant may use.
pub(crate) fn allowed_free(s: &Scratch<'_>, job: &Job, t: TypeIdx) -> u64 {
    s.fleet.pools_by_type[t as usize]
        .iter()
        .filter(|&&p| s.fleet.access.check(job.tenant, p).is_ok())
        .map(|&p| s.pools[p as usize].free_total())
        .sum()
}

/// Are all of these slots free in the scratch state?
pub(crate) fn slots_free(s: &Scratch<'_>, slots: &[Slot]) -> bool {
    slots
        .iter()
        .all(|x| s.pools[x.pool as usize].free_on(x.node) >= x.count)
}
