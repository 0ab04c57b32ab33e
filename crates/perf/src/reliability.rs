//! Failures and checkpoints: job MTBF from a per-chip failure rate, Daly's optimal checkpoint
//! interval and Daly's expected wall time, and the effective training time ratio (ETTR).
//!
//! J. T. Daly, "A higher order estimate of the optimum checkpoint interval for restart dumps",
//! Future Generation Computer Systems 22 (2006).

use serde::Serialize;

use crate::PerfError;

/// The failure side of an estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reliability {
    /// Job mean time between interruptions M = 1/(n·λ), hours; `None` with no failures.
    pub mtbf_hours: Option<f64>,
    /// Daly's optimal compute time between checkpoints τ, hours; `None` with no failures.
    pub checkpoint_interval_hours: Option<f64>,
    /// Expected wall time over failure-free solve time, T_w / T_s (≥ 1).
    pub slowdown: f64,
    /// Effective training time ratio T_s / T_w, in (0, 1].
    pub ettr: f64,
    /// Expected interruptions over the run's wall time.
    pub expected_interruptions: f64,
}

/// Daly's higher-order optimum checkpoint interval, with `stall` δ and `mtbf` M in the same unit:
/// τ = √(2δM)·[1 + ⅓·√(δ/2M) + (1/9)·(δ/2M)] − δ for δ < 2M, else τ = M.
pub fn daly_interval(stall: f64, mtbf: f64) -> f64 {
    if stall >= 2.0 * mtbf {
        return mtbf;
    }
    let x = stall / (2.0 * mtbf);
    (2.0 * stall * mtbf).sqrt() * (1.0 + x.sqrt() / 3.0 + x / 9.0) - stall
}

/// Daly's expected wall time over solve time, T_w/T_s = M·e^(R/M)·(e^((τ+δ)/M) − 1)/τ, all in
/// one unit. With δ = 0 the checkpoint would be free and continuous; we take the limit τ → 0,
/// M·e^(R/M)·(1/M) = e^(R/M).
pub fn daly_slowdown(interval: f64, stall: f64, restart: f64, mtbf: f64) -> f64 {
    if interval <= 0.0 {
        return (restart / mtbf).exp();
    }
    // exp_m1 keeps precision when M is large next to τ + δ (small jobs, rare failures).
    mtbf * (restart / mtbf).exp() * ((interval + stall) / mtbf).exp_m1() / interval
}

/// Failures of a job on `n_chips` chips, each failing at `rate_per_chip_hour`, checkpointing
/// every Daly interval with stall `stall_s`, restarting in `restart_s`; `solve_hours` is the
/// failure-free compute time (for the expected interruption count only).
pub fn reliability(
    n_chips: u64,
    rate_per_chip_hour: f64,
    stall_s: f64,
    restart_s: f64,
    solve_hours: f64,
) -> Result<Reliability, PerfError> {
    for (name, v) in [
        ("failure_rate_per_chip_hour", rate_per_chip_hour),
        ("checkpoint_stall_s", stall_s),
        ("restart_s", restart_s),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(PerfError::Invalid(format!(
                "`{name}` must be a finite number ≥ 0; found {v}"
            )));
        }
    }
    if n_chips == 0 {
        return Err(PerfError::Invalid("a job needs at least one chip".into()));
    }
    let job_rate_per_hour = n_chips as f64 * rate_per_chip_hour;
    if job_rate_per_hour == 0.0 {
        // No failures: no checkpoint is needed to make progress, and none is taken.
        return Ok(Reliability {
            mtbf_hours: None,
            checkpoint_interval_hours: None,
            slowdown: 1.0,
            ettr: 1.0,
            expected_interruptions: 0.0,
        });
    }
    let mtbf_h = 1.0 / job_rate_per_hour;
    let stall_h = stall_s / 3600.0;
    let restart_h = restart_s / 3600.0;
    let tau_h = daly_interval(stall_h, mtbf_h);
    let slowdown = daly_slowdown(tau_h, stall_h, restart_h, mtbf_h);
    // Daly's expression is ≥ 1 analytically; guard the floating-point edge (tiny λ).
    let slowdown = if slowdown.is_finite() {
        slowdown.max(1.0)
    } else {
        f64::INFINITY
    };
    if !slowdown.is_finite() {
        return Err(PerfError::Invalid(format!(
            "the job never finishes: job MTBF {mtbf_h:.3} h is too short next to restart {restart_s} s and checkpoint stall {stall_s} s"
        )));
    }
    Ok(Reliability {
        mtbf_hours: Some(mtbf_h),
        checkpoint_interval_hours: Some(tau_h),
        slowdown,
        ettr: 1.0 / slowdown,
        expected_interruptions: solve_hours * slowdown / mtbf_h,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_md_check() {
        // training.md: M = 3.1 h, δ = 5 min, R = 15 min → ETTR ≈ 0.72.
        let m = 3.1;
        let r = reliability(1, 1.0 / m, 300.0, 900.0, 100.0).unwrap();
        assert!((r.ettr - 0.72).abs() < 0.01, "{}", r.ettr);
        // Daly's τ is a little above Young's √(2δM) − δ ... and below √(2δM).
        let young = (2.0 * (5.0 / 60.0) * m).sqrt();
        let tau = r.checkpoint_interval_hours.unwrap();
        assert!(tau < young && tau > young - 5.0 / 60.0, "{tau} vs {young}");
    }

    #[test]
    fn no_failures_no_slowdown() {
        let r = reliability(1000, 0.0, 60.0, 600.0, 10.0).unwrap();
        assert_eq!(r.ettr, 1.0);
        assert_eq!(r.mtbf_hours, None);
    }

    #[test]
    fn long_stall_checkpoints_every_mtbf() {
        assert_eq!(daly_interval(10.0, 1.0), 1.0);
    }

    #[test]
    fn rare_failures_approach_one() {
        let r = reliability(1, 1e-12, 60.0, 600.0, 10.0).unwrap();
        assert!(r.ettr > 0.999 && r.ettr <= 1.0, "{}", r.ettr);
    }

    #[test]
    fn hopeless_job_is_an_error() {
        let e = reliability(1_000_000, 1.0, 600.0, 3600.0, 1.0).unwrap_err();
        assert!(e.to_string().contains("never finishes"), "{e}");
    }
}
