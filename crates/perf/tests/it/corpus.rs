//! The calibration corpus (`data/calibration/runs.toml`): the fit the defaults come from, its
//! leave-one-out errors and the 80% interval's coverage, recomputed from the corpus on every run
//! so that neither the defaults nor the figures in `docs/performance-model.md` can rot.

use xpufleet_perf::calibration::{self, Corpus, Point, Report};
use xpufleet_perf::{CalibrationParams, PerfModel};

use crate::support::*;

pub fn corpus() -> Corpus {
    toml::from_str(include_str!("../../../../data/calibration/runs.toml")).expect("corpus parses")
}

pub fn points() -> Vec<Point> {
    let model = PerfModel::default();
    corpus()
        .run
        .iter()
        .map(|r| calibration::point(&model, r, &accel(&r.accel)).expect(&r.id))
        .collect()
}

fn report() -> Report {
    calibration::report(&points(), CalibrationParams::default().size_d_ref)
}

/// The report as a text table, kept in `tests/golden/calibration.txt`.
fn render(r: &Report) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "runs {}\nstack_best {:.5}\nstack_typical {:.5}\nstack_legacy {:.5}\nsize_d_half {:.2}\n\
         in_sample_median_abs_error {:.4}\nloo_median_abs_error {:.4}\n\
         interval_log_lo {:.5}\ninterval_log_hi {:.5}\ninterval_coverage {:.4}\n\n",
        r.runs,
        r.fit.stack_best,
        r.fit.stack_typical,
        r.fit.stack_legacy,
        r.fit.size_d_half,
        r.in_sample_median_abs_error,
        r.loo_median_abs_error,
        r.interval_log[0],
        r.interval_log[1],
        r.interval_coverage
    ));
    s.push_str("run                     stack    published  modelled  est/pub_time-1  covered\n");
    for p in &r.per_run {
        s.push_str(&format!(
            "{:<23} {:<8} {:>9.3} {:>9.3} {:>+12.1}% {:>8}\n",
            p.id,
            p.stack.as_str(),
            p.published,
            p.modelled,
            (p.loo_log_error.exp() - 1.0) * 100.0,
            if p.covered { "yes" } else { "no" }
        ));
    }
    s
}

#[test]
fn corpus_is_large_and_sourced() {
    let c = corpus();
    assert!(c.run.len() >= 25, "{} runs", c.run.len());
    let mut ids = std::collections::BTreeSet::new();
    for r in &c.run {
        assert!(ids.insert(r.id.clone()), "duplicate id {}", r.id);
        assert!(r.source.len() > 20, "{}: no source", r.id);
        assert!(
            !r.includes.is_empty(),
            "{}: no note on what it includes",
            r.id
        );
    }
}

#[test]
fn leave_one_out_meets_the_goals() {
    let r = report();
    golden("calibration.txt", &render(&r));
    // Issue #14's goals, recomputed from the corpus.
    assert!(
        r.loo_median_abs_error <= 0.15,
        "leave-one-out median abs error {:.3}",
        r.loo_median_abs_error
    );
    assert!(
        r.interval_coverage >= 0.75,
        "interval coverage {:.3}",
        r.interval_coverage
    );
}

#[test]
fn defaults_are_the_fit() {
    // The shipped defaults are the fit on the corpus (rounded as in params.rs).
    let r = report();
    let c = CalibrationParams::default();
    let close = |what: &str, got: f64, want: f64| {
        assert!(
            (got - want).abs() <= 5e-4 * want.abs().max(1.0),
            "{what}: params.rs has {want}, the corpus fits {got}"
        );
    };
    close("stack_best", r.fit.stack_best, c.stack_best);
    close("stack_typical", r.fit.stack_typical, c.stack_typical);
    close("stack_legacy", r.fit.stack_legacy, c.stack_legacy);
    close("size_d_half", r.fit.size_d_half, c.size_d_half);
    close("interval_log_lo", r.interval_log[0], c.interval_log_lo);
    close("interval_log_hi", r.interval_log[1], c.interval_log_hi);
}
