//! One training run end to end: work → throughput → failures → wall time → energy → cost.

use serde::Serialize;
use xpufleet_model::{Accelerator, Currency, FxRates, Money, Precision, Work};

use crate::{
    require, work_flops, MfuBreakdown, ParallelPlan, PerfError, PerfModel, Placement, Shape, Stack,
    WorkFlops,
};

/// What the compute costs.
#[derive(Debug, Clone, PartialEq)]
pub enum CostBasis {
    /// Rented: a price per accelerator-hour of wall time.
    Lease { rate_per_accel_hour: Money },
    /// Bought: a price per accelerator, amortised linearly over `life_years` of wall time.
    Capex {
        price_per_accel: Money,
        life_years: f64,
    },
}

/// The site the run is costed at.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteEnergy {
    /// Power usage effectiveness (facility power / IT power), ≥ 1.
    pub pue: f64,
    /// Electricity price per kWh; its currency is the run's local currency.
    pub electricity_per_kwh: Money,
}

/// Everything one estimate needs.
#[derive(Debug, Clone)]
pub struct EstimateInput<'a> {
    pub work: Work,
    pub precision: Precision,
    pub accel: &'a Accelerator,
    pub count: u64,
    pub placement: Placement,
    pub site: SiteEnergy,
    /// `None`: no price is known, and the estimate says so rather than guessing.
    pub cost: Option<CostBasis>,
    pub fx: &'a FxRates,
    /// Replaces the modelled MFU (for parts with no published MFU, or what-ifs).
    pub mfu_override: Option<f64>,
}

/// Cost of a run in the site's currency and in USD.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostEstimate {
    /// The site's currency (the electricity price's).
    pub currency: Currency,
    /// "lease" or "capex".
    pub basis: String,
    pub compute_local: f64,
    pub electricity_local: f64,
    pub total_local: f64,
    pub compute_usd: f64,
    pub electricity_usd: f64,
    pub total_usd: f64,
}

/// The range the run is expected to fall in: the point estimate scaled by the 10th and 90th
/// percentiles of the calibration corpus's held-out errors (leave one source out; not a fixed
/// ±x%): MFU by those of published rates, time by those of published totals, both wider when the
/// stack is unknown. With `--mfu` given there is no calibrated spread and the interval is the
/// point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Share of published runs such an interval is meant to cover (0.8).
    pub level: f64,
    pub mfu: [f64; 2],
    pub wall_hours: [f64; 2],
    pub chip_hours: [f64; 2],
}

/// The estimate of one run. Field names carry their units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub accel: String,
    pub count: u64,
    pub precision: Precision,
    pub scaleup_domain: u32,
    pub domains: u32,
    /// Training FLOPs (`flops_dense` + `flops_attention` + `flops_embedding`).
    pub flops: f64,
    pub flops_dense: f64,
    /// The output head's matmul, `6 · vocab · d_model · tokens`, when `--vocab` is given (then
    /// `flops_dense` is 6 · the non-embedding active parameters · tokens); else 0.
    pub flops_embedding: f64,
    pub flops_attention: f64,
    pub moe: bool,
    pub peak_tflops_per_chip: f64,
    /// The software stack assumed (`--stack`).
    pub stack: Stack,
    pub mfu: f64,
    /// The factors behind `mfu` (absent when `--mfu` replaced it).
    pub mfu_factors: Option<MfuBreakdown>,
    /// Parallel layout and memory per chip (absent for work given as FLOPs).
    pub layout: Option<ParallelPlan>,
    /// Fewest chips of this type the model fits on (absent for work given as FLOPs).
    pub min_chips: Option<u64>,
    /// peak × MFU per chip.
    pub tflops_effective: f64,
    /// Failure-free FLOP/s of the whole job (`PerfModel::rate`).
    pub rate_flops_per_s: f64,
    /// Failure-free time to solution T_s.
    pub ideal_hours: f64,
    /// Expected wall time T_w (Daly).
    pub wall_hours: f64,
    pub wall_days: f64,
    /// Accelerator-hours of wall time (count × wall_hours).
    pub chip_hours: f64,
    /// 80% interval on MFU, wall time and accelerator-hours.
    pub interval: Interval,
    pub ettr: f64,
    /// Useful FLOPs over peak FLOPs of the wall time: MFU × ETTR.
    pub goodput: f64,
    pub failure_rate_per_chip_hour: f64,
    pub mtbf_hours: Option<f64>,
    pub checkpoint_interval_minutes: Option<f64>,
    pub checkpoint_stall_s: f64,
    pub restart_s: f64,
    pub expected_interruptions: f64,
    pub power_w_per_chip: f64,
    pub pue: f64,
    /// Mean facility power while running, MW.
    pub facility_mw: f64,
    pub energy_mwh: f64,
    /// Total cost in USD (`None` when no price is known).
    pub cost_usd: Option<f64>,
    /// Total cost in the site's currency.
    pub cost_local: Option<f64>,
    pub currency: Currency,
    pub cost: Option<CostEstimate>,
}

impl PerfModel {
    /// With a vocabulary `V` (`self.vocab`), the work's parameters are taken to include an
    /// input embedding and an untied output head of `V · d_model` each (Llama, DeepSeek; the
    /// width given, else inferred): `6N` uses the non-embedding active parameters
    /// `N − 2·V·d_model`, and the output head's matmul, `2·V·d_model` FLOPs per token forward
    /// and twice that backward, is counted on its own (the input embedding is a lookup, no
    /// matmul). Sets `w` and returns the head's FLOPs (0 without a vocabulary).
    fn embeddings(&self, work: &Work, shape: &Shape, w: &mut WorkFlops) -> Result<f64, PerfError> {
        let Some(vocab) = self.vocab else {
            return Ok(0.0);
        };
        let (Work::Model { tokens, .. }, Some(active), Some(d_model)) =
            (work, shape.active_params, shape.d_model)
        else {
            return Err(PerfError::Invalid(
                "--vocab needs the model's parameters and tokens (--params, --tokens), not \
                 --flops"
                    .into(),
            ));
        };
        if vocab == 0 {
            return Err(PerfError::Invalid("--vocab must be at least 1".into()));
        }
        let table = f64::from(vocab) * d_model;
        let non_embedding = active - 2.0 * table;
        if non_embedding <= 0.0 {
            return Err(PerfError::Invalid(format!(
                "--vocab {vocab} × d_model {d_model} gives two embedding tables of {:.3e} \
                 parameters, not fewer than the {active:.3e} active parameters; check --vocab, \
                 --d-model and --params",
                2.0 * table
            )));
        }
        let head = 6.0 * table * tokens;
        w.dense = 6.0 * non_embedding * tokens;
        w.total = w.dense + w.attention + head;
        Ok(head)
    }

    /// Estimates one run.
    pub fn estimate(&self, input: &EstimateInput) -> Result<Estimate, PerfError> {
        let mut w = work_flops(&input.work)?;
        let accel = input.accel;
        let n = input.count;
        let peak = self.peak_flops(accel, input.precision)?;
        let shape = Shape::of(&input.work)?;
        let flops_embedding = self.embeddings(&input.work, &shape, &mut w)?;
        let (mfu, factors) = match input.mfu_override {
            Some(m) => {
                if !(m.is_finite() && m > 0.0 && m <= 1.0) {
                    return Err(PerfError::Invalid(format!(
                        "MFU must be in (0, 1]; found {m}"
                    )));
                }
                input.placement_checked(n)?;
                (m, None)
            }
            None => {
                let d = self.mfu_detail(accel, input.precision, n, &input.placement, &shape)?;
                (d.mfu, Some(d))
            }
        };
        let layout = match &factors {
            Some(f) => f.layout,
            None => self.parallel_plan(accel, input.precision, n, &input.placement, &shape, mfu)?,
        };
        let min_chips = self.min_chips(accel, input.placement.scaleup_domain, &shape)?;
        if let Some(p) = &layout {
            if !p.memory.fits() {
                return Err(memory_shortfall(accel, n, p, min_chips));
            }
        }
        let rate = n as f64 * peak * mfu;
        let ideal_hours = w.total / rate / 3600.0;
        let rel = self.job_reliability(n, ideal_hours)?;
        let wall_hours = ideal_hours * rel.slowdown;
        let chip_hours = wall_hours * n as f64;
        let interval = match factors {
            Some(_) => {
                let c = &self.calibration;
                // MFU takes the rate rows' interval; wall time and accelerator-hours the
                // totals', which also carry downtime beyond the modelled ETTR. Both are wider
                // when the stack is unknown. Time is inverse to the published-over-modelled ratio.
                // Each is widened to contain the point: published totals run longer than MFU ×
                // ETTR says (downtime the failure model does not see), so their interval can lie
                // wholly on the slow side, and a range that excludes its own estimate reads as a
                // contradiction; widening only raises the coverage.
                let [lo, hi] = c.interval_log(self.stack, false);
                let [lo, hi] = [lo.min(0.0), hi.max(0.0)];
                let [tlo, thi] = c.interval_log(self.stack, true);
                let [tlo, thi] = [tlo.min(0.0), thi.max(0.0)];
                Interval {
                    level: c.interval_level,
                    mfu: [(mfu * lo.exp()).min(1.0), (mfu * hi.exp()).min(1.0)],
                    wall_hours: [wall_hours * (-thi).exp(), wall_hours * (-tlo).exp()],
                    chip_hours: [chip_hours * (-thi).exp(), chip_hours * (-tlo).exp()],
                }
            }
            None => Interval {
                level: self.calibration.interval_level,
                mfu: [mfu, mfu],
                wall_hours: [wall_hours, wall_hours],
                chip_hours: [chip_hours, chip_hours],
            },
        };

        let site = &input.site;
        if !(site.pue.is_finite() && site.pue >= 1.0) {
            return Err(PerfError::Invalid(format!(
                "PUE must be a number ≥ 1; found {}",
                site.pue
            )));
        }
        let power_w = require(accel, "power_w")?;
        let e = &self.energy;
        let it_w = n as f64 * power_w * (e.board_utilisation + e.host_overhead_frac);
        let facility_mw = it_w * site.pue / 1e6;
        let energy_mwh = facility_mw * wall_hours;

        let currency = site.electricity_per_kwh.currency.clone();
        let cost = match &input.cost {
            None => None,
            Some(basis) => Some(cost(
                basis,
                &site.electricity_per_kwh,
                energy_mwh,
                chip_hours,
                wall_hours,
                n,
                input.fx,
            )?),
        };
        Ok(Estimate {
            accel: accel.id.clone(),
            count: n,
            precision: input.precision,
            scaleup_domain: input.placement.scaleup_domain,
            domains: input.placement.domains,
            flops: w.total,
            flops_dense: w.dense,
            flops_embedding,
            flops_attention: w.attention,
            moe: w.moe,
            peak_tflops_per_chip: peak / 1e12,
            stack: self.stack,
            mfu,
            mfu_factors: factors,
            layout,
            min_chips,
            tflops_effective: peak * mfu / 1e12,
            rate_flops_per_s: rate,
            ideal_hours,
            wall_hours,
            wall_days: wall_hours / 24.0,
            chip_hours,
            interval,
            ettr: rel.ettr,
            goodput: mfu * rel.ettr,
            failure_rate_per_chip_hour: self.reliability.failure_rate_per_chip_hour,
            mtbf_hours: rel.mtbf_hours,
            checkpoint_interval_minutes: rel.checkpoint_interval_hours.map(|h| h * 60.0),
            checkpoint_stall_s: self.reliability.checkpoint_stall_s,
            restart_s: self.reliability.restart_s,
            expected_interruptions: rel.expected_interruptions,
            power_w_per_chip: power_w,
            pue: site.pue,
            facility_mw,
            energy_mwh,
            cost_usd: cost.as_ref().map(|c| c.total_usd),
            cost_local: cost.as_ref().map(|c| c.total_local),
            currency,
            cost,
        })
    }
}

/// The refusal of a layout that does not fit, naming the shortfall.
fn memory_shortfall(accel: &Accelerator, n: u64, p: &ParallelPlan, min: Option<u64>) -> PerfError {
    let m = &p.memory;
    let l = &p.layout;
    let at_least = match min {
        Some(k) => format!("the model fits on at least {k} × {}", accel.id),
        None => format!("it does not fit on any number of {}", accel.id),
    };
    PerfError::Invalid(format!(
        "does not fit in memory: {n} × {} with tp = {}, pp = {}, dp = {}, ZeRO-{}{} needs {:.1} GB per chip (weights {:.1}, gradients {:.1}, optimizer {:.1}, activations {:.1}) but {:.1} GB are usable, {:.1} GB short; {at_least} (or choose another --tp/--pp/--zero)",
        accel.id,
        l.tp,
        l.pp,
        l.dp,
        l.zero,
        if l.full_recompute { ", full recompute" } else { "" },
        m.total_gb,
        m.weights_gb,
        m.gradients_gb,
        m.optimizer_gb,
        m.activations_gb,
        m.usable_gb.unwrap_or(f64::INFINITY),
        m.total_gb - m.usable_gb.unwrap_or(f64::INFINITY),
    ))
}

impl EstimateInput<'_> {
    fn placement_checked(&self, n: u64) -> Result<(), PerfError> {
        if n == 0 {
            return Err(PerfError::Invalid("a job needs at least one chip".into()));
        }
        self.placement.check(n)
    }
}

fn cost(
    basis: &CostBasis,
    electricity_per_kwh: &Money,
    energy_mwh: f64,
    chip_hours: f64,
    wall_hours: f64,
    n: u64,
    fx: &FxRates,
) -> Result<CostEstimate, PerfError> {
    let local = electricity_per_kwh.currency.clone();
    let (compute, name) = match basis {
        CostBasis::Lease {
            rate_per_accel_hour,
        } => {
            finite_nonneg("lease rate", rate_per_accel_hour.amount)?;
            (rate_per_accel_hour.scale(chip_hours), "lease")
        }
        CostBasis::Capex {
            price_per_accel,
            life_years,
        } => {
            finite_nonneg("price", price_per_accel.amount)?;
            if !(life_years.is_finite() && *life_years > 0.0) {
                return Err(PerfError::Invalid(format!(
                    "amortisation life must be > 0 years; found {life_years}"
                )));
            }
            // Straight-line: the run uses wall_hours of each chip's life_years × 8,760 hours.
            let share = wall_hours / (life_years * 8760.0);
            (price_per_accel.scale(n as f64 * share), "capex")
        }
    };
    finite_nonneg("electricity price", electricity_per_kwh.amount)?;
    let electricity = electricity_per_kwh.scale(energy_mwh * 1000.0);
    let fx_err = |e: xpufleet_model::MoneyError| {
        PerfError::Invalid(format!(
            "{e}; add it to the scenario's [fx] table (USD per unit)"
        ))
    };
    let compute_local = fx.convert(&compute, &local).map_err(fx_err)?.amount;
    let compute_usd = fx.to_usd(&compute).map_err(fx_err)?;
    let electricity_usd = fx.to_usd(&electricity).map_err(fx_err)?;
    Ok(CostEstimate {
        currency: local,
        basis: name.into(),
        compute_local,
        electricity_local: electricity.amount,
        total_local: compute_local + electricity.amount,
        compute_usd,
        electricity_usd,
        total_usd: compute_usd + electricity_usd,
    })
}

fn finite_nonneg(name: &str, v: f64) -> Result<(), PerfError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(PerfError::Invalid(format!(
            "{name} must be a finite amount ≥ 0; found {v}"
        )))
    }
}
