//! What a fleet's use cost: chip-hours, energy and money of the accelerator-seconds each pool
//! ran (from a simulation), by accelerator type. Energy is board power × the training
//! utilisation plus host overhead, × the site's PUE (as `estimate` counts it); money is the
//! lease rate, or the price amortised over the pool's life, plus electricity, in USD.

use std::collections::BTreeMap;

use xpufleet_model::{Acquisition, Catalog, Scenario};

use crate::params::EnergyParams;

/// Use of one accelerator type, summed over its pools.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageCost {
    pub accelerator: String,
    pub chip_hours: f64,
    pub energy_mwh: f64,
    pub cost_usd: f64,
}

/// The fleet's use, most expensive type first, and the pools left out with the reason.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FleetUsageCost {
    pub rows: Vec<UsageCost>,
    /// Pool id → why it could not be costed (unknown board power, no exchange rate).
    pub skipped: BTreeMap<String, String>,
}

/// Costs `chip_seconds[p]` accelerator-seconds on `sc.pools[p]`. Pools that ran nothing, or
/// whose site is unknown, are not counted; pools without a board power or an exchange rate are
/// listed in `skipped`, never costed at a stand-in figure.
pub fn usage_cost(
    sc: &Scenario,
    catalog: &Catalog,
    energy: &EnergyParams,
    chip_seconds: &[f64],
) -> FleetUsageCost {
    let mut by_accel: BTreeMap<String, UsageCost> = BTreeMap::new();
    let mut skipped: BTreeMap<String, String> = BTreeMap::new();
    for (p, pool) in sc.pools.iter().enumerate() {
        let chip_hours = chip_seconds.get(p).copied().unwrap_or(0.0) / 3600.0;
        if chip_hours <= 0.0 {
            continue;
        }
        let Some(site) = sc.site(&pool.site) else {
            continue;
        };
        let power_w = catalog.get(&pool.accelerator).and_then(|a| a.power_w.get());
        let Some(power_w) = power_w else {
            skipped.insert(
                pool.id.clone(),
                format!("{}: board power unknown", pool.accelerator),
            );
            continue;
        };
        let energy_mwh = chip_hours
            * power_w
            * (energy.board_utilisation + energy.host_overhead_frac)
            * site.pue
            / 1e6;
        let compute = match &pool.acquisition {
            Acquisition::Leased { rate, .. } => rate.scale(chip_hours),
            Acquisition::Bought {
                price, life_years, ..
            } => price.scale(chip_hours / (life_years.max(0.1) * 8760.0)),
        };
        let electricity = site.electricity_per_kwh.scale(energy_mwh * 1000.0);
        let usd = match (sc.fx.to_usd(&compute), sc.fx.to_usd(&electricity)) {
            (Ok(a), Ok(b)) => a + b,
            (Err(err), _) | (_, Err(err)) => {
                skipped.insert(pool.id.clone(), err.to_string());
                continue;
            }
        };
        let row = by_accel
            .entry(pool.accelerator.clone())
            .or_insert_with(|| UsageCost {
                accelerator: pool.accelerator.clone(),
                chip_hours: 0.0,
                energy_mwh: 0.0,
                cost_usd: 0.0,
            });
        row.chip_hours += chip_hours;
        row.energy_mwh += energy_mwh;
        row.cost_usd += usd;
    }
    let mut rows: Vec<UsageCost> = by_accel.into_values().collect();
    rows.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then_with(|| a.accelerator.cmp(&b.accelerator))
    });
    FleetUsageCost { rows, skipped }
}
