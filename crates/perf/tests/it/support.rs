//! The built-in catalog and small builders shared by the tests.

use xpufleet_model::{Accelerator, Catalog, FxRates, Money, Precision, Work};
use xpufleet_perf::{Estimate, EstimateInput, PerfModel, Placement, SiteEnergy, Stack};

/// The built-in catalog, parsed from the same file the binary embeds.
pub fn catalog() -> Catalog {
    toml::from_str(include_str!("../../../../data/catalog.toml")).expect("catalog parses")
}

pub fn accel(id: &str) -> Accelerator {
    catalog()
        .get(id)
        .unwrap_or_else(|| panic!("{id} in catalog"))
        .clone()
}

pub fn dense(params: f64, tokens: f64) -> Work {
    Work::Model {
        params,
        active_params: params,
        tokens,
        attention: None,
    }
}

/// Estimates `work` on `count` chips of `id` packed in 8-chip domains with the `stack` software,
/// no cost.
pub fn estimate(stack: Stack, id: &str, count: u64, precision: Precision, work: Work) -> Estimate {
    estimate_with(
        PerfModel::default().with_stack(stack),
        id,
        count,
        precision,
        work,
    )
}

/// [`estimate`] under `model` (its stack and layout request).
pub fn estimate_with(
    model: PerfModel,
    id: &str,
    count: u64,
    precision: Precision,
    work: Work,
) -> Estimate {
    let a = accel(id);
    let fx = FxRates::default();
    model
        .estimate(&EstimateInput {
            work,
            precision,
            accel: &a,
            count,
            placement: Placement::compact(count, 8),
            site: SiteEnergy {
                pue: 1.0,
                electricity_per_kwh: Money::new(0.08, "USD"),
            },
            cost: None,
            fx: &fx,
            mfu_override: None,
        })
        .expect("estimate")
}

/// |got/want − 1| ≤ tol, with a readable failure.
#[track_caller]
pub fn assert_within(what: &str, got: f64, want: f64, tol: f64) {
    let err = got / want - 1.0;
    assert!(
        err.abs() <= tol,
        "{what}: model {got:.4} vs published {want:.4} ({:+.1}%, tolerance ±{:.0}%)",
        err * 100.0,
        tol * 100.0
    );
}

/// Compares `got` with `tests/golden/NAME`, or writes it there when `UPDATE_GOLDEN=1`.
#[track_caller]
pub fn golden(name: &str, got: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("golden dir")).expect("mkdir golden");
        std::fs::write(&path, got).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!(
        got,
        want,
        "{} differs; UPDATE_GOLDEN=1 to accept",
        path.display()
    );
}
