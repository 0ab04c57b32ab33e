//! Fleet state as the scheduler sees it: pools of nodes with free-accelerator counts, indexed by
//! free count so that a placement never scans accelerators one by one.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::access::Access;

/// Index of an accelerator type in [`FleetState::types`].
pub type TypeIdx = u16;

/// Most accelerator types one fleet may hold (type sets are `u64` bit masks).
pub const MAX_TYPES: usize = 64;

/// An accelerator type present in the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccelType {
    /// Catalog id or the trace's own name ("h100-sxm", "v100").
    pub id: String,
}

/// What a pool is: fixed for a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolSpec {
    pub id: String,
    /// Index into [`FleetState::sites`].
    pub site: u32,
    pub accel_type: TypeIdx,
    pub nodes: u32,
    pub accels_per_node: u32,
    /// Accelerators in one scale-up domain; a multiple of `accels_per_node` (or equal to it).
    pub scaleup_domain: u32,
    /// Leased (remote use) rather than owned: decides the compliance question asked.
    pub leased: bool,
    /// What one accelerator-hour of this pool costs, USD (lease rate or amortised capex).
    pub price_usd_per_hour: f64,
}

impl PoolSpec {
    pub fn accels(&self) -> u64 {
        u64::from(self.nodes) * u64::from(self.accels_per_node)
    }
    /// Nodes in one scale-up domain (at least 1).
    pub fn nodes_per_domain(&self) -> u32 {
        (self.scaleup_domain / self.accels_per_node.max(1)).max(1)
    }
}

/// Part of a gang: `count` accelerators on node `node` of pool `pool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Slot {
    pub pool: u32,
    pub node: u32,
    pub count: u32,
}

/// Why applying a placement failed: the plan was stale or wrong. The simulator treats it as a
/// bug-catcher; nothing is changed when it is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error("pool {0} does not exist")]
    NoPool(u32),
    #[error("node {node} of pool {pool} does not exist")]
    NoNode { pool: u32, node: u32 },
    #[error("node {node} of pool {pool} has {free} free accelerators, {want} wanted")]
    NoRoom {
        pool: u32,
        node: u32,
        free: u32,
        want: u32,
    },
    #[error("releasing {count} on node {node} of pool {pool} would exceed its capacity")]
    OverRelease { pool: u32, node: u32, count: u32 },
    #[error("the tenant may not use pool {pool}: {why}")]
    Denied { pool: u32, why: String },
    #[error("a placement must hold at least one accelerator of one type")]
    Empty,
    /// The job may not span sites, and the placement does.
    #[error("the job may not span sites, but pools {first} and {other} are at different sites")]
    SpansSites { first: u32, other: u32 },
}

/// One pool's live state. `free[n] + down[n] + used[n] = capacity`, where used is implied.
#[derive(Debug, Clone)]
pub struct PoolState {
    pub spec: PoolSpec,
    free: Vec<u32>,
    down: Vec<u32>,
    /// `bucket[f]`: the nodes with exactly `f` free accelerators.
    bucket: Vec<Vec<u32>>,
    /// Position of each node in its bucket.
    pos: Vec<u32>,
    free_total: u64,
    down_total: u64,
    /// Free accelerators per scale-up domain (only kept when a domain spans nodes).
    domain_free: Vec<u64>,
}

impl PoolState {
    pub fn new(spec: PoolSpec) -> PoolState {
        let apn = spec.accels_per_node;
        let n = spec.nodes as usize;
        let mut bucket = vec![Vec::new(); apn as usize + 1];
        bucket[apn as usize] = (0..spec.nodes).collect();
        let npd = spec.nodes_per_domain();
        let domain_free = if npd > 1 {
            (0..spec.nodes.div_ceil(npd))
                .map(|d| {
                    let lo = d * npd;
                    let hi = (lo + npd).min(spec.nodes);
                    u64::from(hi - lo) * u64::from(apn)
                })
                .collect()
        } else {
            Vec::new()
        };
        PoolState {
            free: vec![apn; n],
            down: vec![0; n],
            bucket,
            pos: (0..spec.nodes).collect(),
            free_total: spec.accels(),
            down_total: 0,
            domain_free,
            spec,
        }
    }

    pub fn free_total(&self) -> u64 {
        self.free_total
    }

    /// Becomes a copy of `src`, reusing this state's allocations (a planner's scratch copy).
    pub fn copy_from(&mut self, src: &PoolState) {
        if self.spec != src.spec {
            self.spec.clone_from(&src.spec);
        }
        self.free.clone_from(&src.free);
        self.down.clone_from(&src.down);
        self.bucket.clone_from(&src.bucket);
        self.pos.clone_from(&src.pos);
        self.free_total = src.free_total;
        self.down_total = src.down_total;
        self.domain_free.clone_from(&src.domain_free);
    }

    pub fn down_total(&self) -> u64 {
        self.down_total
    }
    /// Accelerators that are up (not failed).
    pub fn up_total(&self) -> u64 {
        self.spec.accels() - self.down_total
    }
    pub fn free_on(&self, node: u32) -> u32 {
        self.free[node as usize]
    }
    pub fn down_on(&self, node: u32) -> u32 {
        self.down[node as usize]
    }
    /// Largest free count on any node.
    pub fn max_node_free(&self) -> u32 {
        (0..self.bucket.len())
            .rev()
            .find(|&f| !self.bucket[f].is_empty())
            .unwrap_or(0) as u32
    }

    fn set_free(&mut self, node: u32, new: u32) {
        let n = node as usize;
        let old = self.free[n];
        if old == new {
            return;
        }
        // Swap-remove from the old bucket, fixing the moved node's position.
        let p = self.pos[n] as usize;
        let b = &mut self.bucket[old as usize];
        let last = *b.last().expect("node is in its bucket");
        b.swap_remove(p);
        if last != node {
            self.pos[last as usize] = p as u32;
        }
        let nb = &mut self.bucket[new as usize];
        self.pos[n] = nb.len() as u32;
        nb.push(node);
        self.free[n] = new;
        self.free_total = self.free_total + u64::from(new) - u64::from(old);
        if !self.domain_free.is_empty() {
            let d = (node / self.spec.nodes_per_domain()) as usize;
            self.domain_free[d] = self.domain_free[d] + u64::from(new) - u64::from(old);
        }
    }

    /// Takes `count` accelerators on `node`.
    pub fn take(&mut self, node: u32, count: u32) -> Result<(), ApplyError> {
        let pool = u32::MAX;
        let f = *self
            .free
            .get(node as usize)
            .ok_or(ApplyError::NoNode { pool, node })?;
        if f < count {
            return Err(ApplyError::NoRoom {
                pool,
                node,
                free: f,
                want: count,
            });
        }
        self.set_free(node, f - count);
        Ok(())
    }

    /// Gives back `count` accelerators on `node`.
    pub fn give(&mut self, node: u32, count: u32) -> Result<(), ApplyError> {
        let pool = u32::MAX;
        let n = node as usize;
        let f = *self.free.get(n).ok_or(ApplyError::NoNode { pool, node })?;
        if f + count + self.down[n] > self.spec.accels_per_node {
            return Err(ApplyError::OverRelease { pool, node, count });
        }
        self.set_free(node, f + count);
        Ok(())
    }

    /// Marks one free accelerator of `node` failed. The caller stops any job on it first.
    pub fn fail_one(&mut self, node: u32) -> Result<(), ApplyError> {
        self.take(node, 1)?;
        self.down[node as usize] += 1;
        self.down_total += 1;
        Ok(())
    }

    /// Returns one failed accelerator of `node` to service.
    pub fn repair_one(&mut self, node: u32) -> Result<(), ApplyError> {
        let n = node as usize;
        if self.down.get(n).copied().unwrap_or(0) == 0 {
            return Err(ApplyError::OverRelease {
                pool: u32::MAX,
                node,
                count: 1,
            });
        }
        self.down[n] -= 1;
        self.down_total -= 1;
        let f = self.free[n];
        self.set_free(node, f + 1);
        Ok(())
    }

    /// The gang placement of `k` accelerators in this pool on the fewest nodes, inside one
    /// scale-up domain where the gang fits in one; `None` when the pool has no room.
    ///
    /// Best fit first (the node, or domain, with the least room that still holds the gang) so
    /// that large free blocks stay whole for large gangs.
    pub fn find(&self, pool_idx: u32, k: u32, out: &mut Vec<Slot>) -> bool {
        out.clear();
        if k == 0 || u64::from(k) > self.free_total {
            return false;
        }
        let apn = self.spec.accels_per_node;
        let slot = |node, count| Slot {
            pool: pool_idx,
            node,
            count,
        };
        if k <= apn {
            for f in k..=apn {
                if let Some(&n) = self.bucket[f as usize].last() {
                    out.push(slot(n, k));
                    return true;
                }
            }
        }
        let npd = self.spec.nodes_per_domain();
        if npd > 1 && u64::from(k) <= u64::from(self.spec.scaleup_domain) {
            // Smallest domain that holds the whole gang.
            let best = self
                .domain_free
                .iter()
                .enumerate()
                .filter(|(_, &f)| f >= u64::from(k))
                .min_by_key(|(d, &f)| (f, *d));
            if let Some((d, _)) = best {
                let lo = d as u32 * npd;
                let hi = (lo + npd).min(self.spec.nodes);
                let mut nodes: Vec<u32> = (lo..hi).filter(|&n| self.free[n as usize] > 0).collect();
                nodes.sort_by_key(|&n| (std::cmp::Reverse(self.free[n as usize]), n));
                let mut rem = k;
                for n in nodes {
                    let c = self.free[n as usize].min(rem);
                    out.push(slot(n, c));
                    rem -= c;
                    if rem == 0 {
                        return true;
                    }
                }
                unreachable!("domain free count covers the gang");
            }
        }
        // Fewest nodes: whole free blocks from the largest down; the last piece goes to the
        // tightest node that holds it.
        let mut rem = k;
        for f in (1..=apn).rev() {
            let b = &self.bucket[f as usize];
            for i in (0..b.len()).rev() {
                if rem == 0 {
                    return true;
                }
                let n = b[i];
                if f <= rem {
                    out.push(slot(n, f));
                    rem -= f;
                } else {
                    // Tightest untouched node with room for the remainder (buckets below `f`
                    // are untouched so far).
                    let tight = (rem..f).find_map(|g| self.bucket[g as usize].last().copied());
                    out.push(slot(tight.unwrap_or(n), rem));
                    return true;
                }
            }
        }
        rem == 0
    }
}

/// The whole fleet: types, sites, tenants, pools and the compliance verdict cache.
#[derive(Debug, Clone)]
pub struct FleetState {
    pub types: Vec<AccelType>,
    pub sites: Vec<String>,
    pub pools: Vec<PoolState>,
    pub access: Access,
    /// Pools of each type, in pool order.
    pub pools_by_type: Vec<Vec<u32>>,
}

impl FleetState {
    /// A fleet with every accelerator free. `access` must be sized for these pools.
    pub fn new(
        types: Vec<AccelType>,
        sites: Vec<String>,
        pools: Vec<PoolSpec>,
        access: Access,
    ) -> FleetState {
        assert!(
            types.len() <= MAX_TYPES,
            "at most {MAX_TYPES} accelerator types"
        );
        let mut pools_by_type = vec![Vec::new(); types.len()];
        for (i, p) in pools.iter().enumerate() {
            pools_by_type[p.accel_type as usize].push(i as u32);
        }
        FleetState {
            types,
            sites,
            pools: pools.into_iter().map(PoolState::new).collect(),
            access,
            pools_by_type,
        }
    }

    pub fn type_index(&self, id: &str) -> Option<TypeIdx> {
        self.types
            .iter()
            .position(|t| t.id == id)
            .map(|i| i as TypeIdx)
    }

    /// Accelerators of each type (up or down).
    pub fn capacity_by_type(&self) -> Vec<u64> {
        let mut v = vec![0; self.types.len()];
        for p in &self.pools {
            v[p.spec.accel_type as usize] += p.spec.accels();
        }
        v
    }

    pub fn total_accels(&self) -> u64 {
        self.pools.iter().map(|p| p.spec.accels()).sum()
    }

    pub fn free_total(&self) -> u64 {
        self.pools.iter().map(|p| p.free_total).sum()
    }

    /// Checks a placement for one tenant against the verdicts, the free counts and the job's
    /// site rule (one site unless `may_span_sites`), then takes it. On any error nothing is
    /// taken.
    pub fn allocate(
        &mut self,
        tenant: u32,
        may_span_sites: bool,
        slots: &[Slot],
    ) -> Result<(), ApplyError> {
        if slots.is_empty() {
            return Err(ApplyError::Empty);
        }
        let first = self
            .pools
            .get(slots[0].pool as usize)
            .ok_or(ApplyError::NoPool(slots[0].pool))?;
        let (t0, site0) = (first.spec.accel_type, first.spec.site);
        for s in slots {
            let p = self
                .pools
                .get(s.pool as usize)
                .ok_or(ApplyError::NoPool(s.pool))?;
            if p.spec.accel_type != t0 {
                return Err(ApplyError::Empty);
            }
            // Re-checked here, not only trusted from the planner: a job never spans sites
            // unless it says it may.
            if !may_span_sites && p.spec.site != site0 {
                return Err(ApplyError::SpansSites {
                    first: slots[0].pool,
                    other: s.pool,
                });
            }
            if let Err(d) = self.access.check(tenant, s.pool) {
                return Err(ApplyError::Denied {
                    pool: s.pool,
                    why: d.summary.clone(),
                });
            }
        }
        for (i, s) in slots.iter().enumerate() {
            if let Err(e) = self.pools[s.pool as usize].take(s.node, s.count) {
                for u in &slots[..i] {
                    let _ = self.pools[u.pool as usize].give(u.node, u.count);
                }
                return Err(with_pool(e, s.pool));
            }
        }
        Ok(())
    }

    /// Gives a placement back.
    pub fn release(&mut self, slots: &[Slot]) -> Result<(), ApplyError> {
        for (i, s) in slots.iter().enumerate() {
            let p = self
                .pools
                .get_mut(s.pool as usize)
                .ok_or(ApplyError::NoPool(s.pool))?;
            if let Err(e) = p.give(s.node, s.count) {
                for u in &slots[..i] {
                    let _ = self.pools[u.pool as usize].take(u.node, u.count);
                }
                return Err(with_pool(e, s.pool));
            }
        }
        Ok(())
    }
}

fn with_pool(e: ApplyError, pool: u32) -> ApplyError {
    match e {
        ApplyError::NoNode { node, .. } => ApplyError::NoNode { pool, node },
        ApplyError::NoRoom {
            node, free, want, ..
        } => ApplyError::NoRoom {
            pool,
            node,
            free,
            want,
        },
        ApplyError::OverRelease { node, count, .. } => {
            ApplyError::OverRelease { pool, node, count }
        }
        e => e,
    }
}

/// A copy-on-write view of the fleet that a policy places into while it plans: a pool is cloned
/// only when the plan first takes from it.
pub(crate) struct Scratch<'a> {
    pub fleet: &'a FleetState,
    pub pools: Vec<Cow<'a, PoolState>>,
    /// Free accelerators per type, kept in step with `pools`.
    pub free_by_type: Vec<u64>,
}

impl<'a> Scratch<'a> {
    pub fn new(fleet: &'a FleetState) -> Scratch<'a> {
        let mut free_by_type = vec![0; fleet.types.len()];
        for p in &fleet.pools {
            free_by_type[p.spec.accel_type as usize] += p.free_total;
        }
        Scratch {
            fleet,
            pools: fleet.pools.iter().map(Cow::Borrowed).collect(),
            free_by_type,
        }
    }

    /// A scratch state that owns copies of every pool, made in `spare`'s allocations (pools
    /// given back by [`Scratch::into_spare`]).
    pub fn owned(fleet: &'a FleetState, mut spare: Vec<PoolState>) -> Scratch<'a> {
        let mut s = Scratch::new(fleet);
        spare.truncate(fleet.pools.len());
        for (i, src) in fleet.pools.iter().enumerate() {
            match spare.get_mut(i) {
                Some(p) => p.copy_from(src),
                None => spare.push(src.clone()),
            }
        }
        s.pools = spare.into_iter().map(Cow::Owned).collect();
        s
    }

    /// The pools this scratch state owns, for the next [`Scratch::owned`].
    pub fn into_spare(self) -> Vec<PoolState> {
        self.pools
            .into_iter()
            .filter_map(|p| match p {
                Cow::Owned(p) => Some(p),
                Cow::Borrowed(_) => None,
            })
            .collect()
    }

    pub fn take(&mut self, slots: &[Slot]) {
        for s in slots {
            let p = self.pools[s.pool as usize].to_mut();
            p.take(s.node, s.count).expect("planned from this state");
            self.free_by_type[p.spec.accel_type as usize] -= u64::from(s.count);
        }
    }

    pub fn give(&mut self, slots: &[Slot]) {
        for s in slots {
            let p = self.pools[s.pool as usize].to_mut();
            p.give(s.node, s.count).expect("a running job's slots");
            self.free_by_type[p.spec.accel_type as usize] += u64::from(s.count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn spec(nodes: u32, apn: u32, sd: u32) -> PoolSpec {
        PoolSpec {
            id: "p".into(),
            site: 0,
            accel_type: 0,
            nodes,
            accels_per_node: apn,
            scaleup_domain: sd,
            leased: false,
            price_usd_per_hour: 1.0,
        }
    }

    fn take_all(p: &mut PoolState, slots: &[Slot]) {
        for s in slots {
            p.take(s.node, s.count).unwrap();
        }
    }

    #[test]
    fn small_gangs_best_fit_on_one_node() {
        let mut p = PoolState::new(spec(4, 8, 8));
        let mut out = Vec::new();
        assert!(p.find(0, 3, &mut out));
        take_all(&mut p, &out.clone());
        let first = out[0].node;
        // A 5-gang fits exactly in the rest of the same node.
        assert!(p.find(0, 5, &mut out));
        assert_eq!(
            out,
            vec![Slot {
                pool: 0,
                node: first,
                count: 5
            }]
        );
        assert_eq!(p.free_total(), 32 - 3);
    }

    #[test]
    fn large_gangs_use_fewest_nodes() {
        let mut p = PoolState::new(spec(4, 8, 8));
        let mut out = Vec::new();
        p.find(0, 1, &mut out);
        take_all(&mut p, &out.clone());
        assert!(p.find(0, 20, &mut out));
        assert_eq!(out.len(), 3);
        assert_eq!(out.iter().map(|s| s.count).sum::<u32>(), 20);
        assert!(!p.find(0, 32, &mut out));
        assert!(p.find(0, 31, &mut out));
        assert_eq!(out.len(), 4);
    }

    #[test]
    fn supernode_gangs_stay_in_one_domain() {
        // Two domains of 4 nodes x 8.
        let mut p = PoolState::new(spec(8, 8, 32));
        let mut out = Vec::new();
        // Take 2 accelerators in domain 1 so that domain 1 is the tighter fit for a 24-gang.
        p.take(5, 2).unwrap();
        assert!(p.find(0, 24, &mut out));
        assert!(out.iter().all(|s| s.node >= 4), "{out:?}");
        assert_eq!(out.iter().map(|s| s.count).sum::<u32>(), 24);
    }

    #[test]
    fn failures_and_repairs_move_capacity() {
        let mut p = PoolState::new(spec(1, 4, 4));
        p.fail_one(0).unwrap();
        assert_eq!((p.free_total(), p.down_total()), (3, 1));
        let mut out = Vec::new();
        assert!(!p.find(0, 4, &mut out));
        assert!(p.give(0, 1).is_err(), "cannot free a failed accelerator");
        p.repair_one(0).unwrap();
        assert!(p.find(0, 4, &mut out));
    }
}
