//! The compliance verdict cache: may tenant T place work on pool P? Asked of the gate once per
//! (tenant, pool) before a run, because the gate is slow-ish and verdicts do not change within
//! a run (the date is fixed).

use serde::{Deserialize, Serialize};
use xpufleet_comply::{Gate, Outcome, UseKind, UseRequest};
use xpufleet_model::Date;

/// Why a tenant may not use a pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Denial {
    pub pool: u32,
    pub outcome: Outcome,
    /// False when owner/operator verification is missing or expired.
    pub verified: bool,
    /// The first deciding rule, if any.
    pub rule: Option<String>,
    /// The verdict's one-line summary.
    pub summary: String,
}

/// The denial of a (tenant, pool) pair the table does not hold.
static OUT_OF_TABLE: Denial = Denial {
    pool: u32::MAX,
    outcome: Outcome::Prohibited,
    verified: false,
    rule: None,
    summary: String::new(),
};

/// Tenant × pool verdicts.
#[derive(Debug, Clone, Default)]
pub struct Access {
    n_pools: usize,
    n_tenants: usize,
    /// `tenant * n_pools + pool` → 0 when allowed, else 1 + index into `denials`.
    cell: Vec<u32>,
    denials: Vec<Denial>,
}

/// What the cache needs to know of a pool to ask the gate about it.
#[derive(Debug, Clone)]
pub struct PoolQuery<'a> {
    pub id: &'a str,
    pub leased: bool,
}

impl Access {
    /// Every tenant may use every pool.
    pub fn allow_all(n_tenants: usize, n_pools: usize) -> Access {
        Access {
            n_pools,
            n_tenants,
            cell: vec![0; n_tenants * n_pools],
            denials: Vec::new(),
        }
    }

    /// Asks `gate` once per (tenant, pool). `workload_flops[t]` is the largest workload tenant
    /// `t` brings (some rules turn on training compute), so the cached verdict is the strictest
    /// one the tenant's jobs could meet.
    pub fn build(
        gate: &dyn Gate,
        tenants: &[String],
        pools: &[PoolQuery<'_>],
        date: Date,
        workload_flops: &[Option<f64>],
    ) -> Access {
        let mut a = Access::allow_all(tenants.len(), pools.len());
        for (t, user) in tenants.iter().enumerate() {
            for (p, pool) in pools.iter().enumerate() {
                let v = gate.verdict(&UseRequest {
                    user: user.clone(),
                    target: pool.id.to_string(),
                    kind: if pool.leased {
                        UseKind::Remote
                    } else {
                        UseKind::Own
                    },
                    workload_flops: workload_flops.get(t).copied().flatten(),
                    date,
                });
                if !v.usable() {
                    a.deny(
                        t as u32,
                        Denial {
                            pool: p as u32,
                            outcome: v.outcome,
                            verified: v.verified,
                            rule: v.rules.first().cloned(),
                            summary: v.summary(),
                        },
                    );
                }
            }
        }
        a
    }

    /// Records a denial (for tests and tables built by hand).
    pub fn deny(&mut self, tenant: u32, d: Denial) {
        let i = tenant as usize * self.n_pools + d.pool as usize;
        self.denials.push(d);
        self.cell[i] = self.denials.len() as u32;
    }

    pub fn n_tenants(&self) -> usize {
        self.n_tenants
    }

    /// `Ok` when the tenant may use the pool, else the denial. A tenant or pool outside the
    /// table is denied (fails closed): a verdict that was never asked is not an allowance.
    pub fn check(&self, tenant: u32, pool: u32) -> Result<(), &Denial> {
        if tenant as usize >= self.n_tenants || pool as usize >= self.n_pools {
            return Err(&OUT_OF_TABLE);
        }
        match self
            .cell
            .get(tenant as usize * self.n_pools + pool as usize)
        {
            Some(0) => Ok(()),
            Some(&i) => Err(&self.denials[i as usize - 1]),
            None => Err(&OUT_OF_TABLE),
        }
    }

    /// Every (tenant, pool) pair denied, in tenant then pool order.
    pub fn denied_pairs(&self) -> Vec<(u32, u32)> {
        let mut v = Vec::new();
        for (i, &c) in self.cell.iter().enumerate() {
            if c != 0 {
                v.push(((i / self.n_pools) as u32, (i % self.n_pools) as u32));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 17: indices outside the verdict table fail closed.
    #[test]
    fn issue_17_out_of_range_indices_are_denied() {
        let a = Access::allow_all(2, 3);
        assert!(a.check(1, 2).is_ok());
        assert!(a.check(2, 0).is_err());
        assert!(a.check(0, 3).is_err());
        assert!(a.check(u32::MAX, u32::MAX).is_err());
        assert!(Access::default().check(0, 0).is_err());
    }
}
