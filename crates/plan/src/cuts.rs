//! Mixed-integer rounding (MIR) cuts on single rows, which tighten the LP relaxation that
//! microlp's branch-and-bound starts from.
//!
//! For a row `Σ a_i x_i ≤ b` over integers `x_i ≥ 0` and any divisor `δ > 0`, with
//! `f = frac(b/δ)` and `f_i = frac(a_i/δ)`, the MIR inequality
//! `Σ (⌊a_i/δ⌋ + max(0, f_i − f)/(1 − f)) x_i ≤ ⌊b/δ⌋` holds at every integer point of the row
//! (Nemhauser and Wolsey, *Integer and Combinatorial Optimization*, II.1.7), whatever the signs
//! of the `a_i`. A site's power, a budget or a supply cap rarely divides into whole nodes, so
//! the relaxation fills every row to its last watt or dollar with fractional nodes; a cut with
//! `δ` the coefficient of a fractional item takes that slice away.

use crate::model::Row;

/// Divisors tried per row: the coefficients of the items the LP point uses most fractionally.
const DIVISORS_PER_ROW: usize = 12;

/// A cut must be violated by this much, relative to its coefficients' size, to be kept.
const MIN_EFFICACY: f64 = 1e-6;

/// The most violated MIR cut of each row at the LP point `x` (indexed like the rows'
/// coefficients), at most one a row. `ub` bounds each variable (for the tolerance only).
pub(crate) fn mir(rows: &[Row], x: &[f64], ub: &[f64]) -> Vec<Row> {
    let mut out = Vec::new();
    for row in rows {
        let frac_of = |v: f64| v - v.floor();
        // Candidate divisors: |a_i| of items at a fractional LP value, most fractional first,
        // then of items the LP uses at all.
        let mut used: Vec<(f64, f64)> = row
            .coefs
            .iter()
            .filter(|&&(i, a)| a != 0.0 && x[i] > 1e-9)
            .map(|&(i, a)| {
                let f = frac_of(x[i]);
                (f.min(1.0 - f), a.abs())
            })
            .collect();
        used.sort_by(|p, q| q.0.total_cmp(&p.0));
        let mut best: Option<(f64, Row)> = None;
        for &(_, d) in used.iter().take(DIVISORS_PER_ROW) {
            for delta in [d, d * 2.0, d / 2.0] {
                if let Some((eff, cut)) = one(row, delta, x, ub) {
                    if best.as_ref().is_none_or(|(e, _)| eff > *e) {
                        best = Some((eff, cut));
                    }
                }
            }
        }
        if let Some((_, cut)) = best {
            out.push(cut);
        }
    }
    out
}

/// The MIR cut of `row` with divisor `delta` and its efficacy (violation over the coefficients'
/// Euclidean norm) at `x`, when it is violated and numerically safe.
fn one(row: &Row, delta: f64, x: &[f64], ub: &[f64]) -> Option<(f64, Row)> {
    if !(delta.is_finite() && delta > 0.0) {
        return None;
    }
    let bd = row.rhs / delta;
    let f = bd - bd.floor();
    // A right-hand side that divides (almost) exactly gives no cut, or one floating point
    // could make invalid.
    if !(1e-6..=1.0 - 1e-6).contains(&f) || bd.abs() > 1e9 {
        return None;
    }
    let mut coefs = Vec::with_capacity(row.coefs.len());
    for &(i, a) in &row.coefs {
        let ad = a / delta;
        if ad.abs() > 1e6 {
            return None;
        }
        let fl = ad.floor();
        let fi = ad - fl;
        let c = fl + (fi - f).max(0.0) / (1.0 - f);
        if c != 0.0 {
            coefs.push((i, c));
        }
    }
    if coefs.is_empty() {
        return None;
    }
    // A hair of slack for floating point, relative to the largest activity the cut can see:
    // a cut must never remove an integer point the row allows.
    let big: f64 = coefs
        .iter()
        .map(|&(i, c)| c.abs() * ub[i].min(1e9))
        .fold(bd.abs(), f64::max)
        .max(1.0);
    let rhs = bd.floor() + 1e-9 * big;
    let lhs: f64 = coefs.iter().map(|&(i, c)| c * x[i]).sum();
    let norm = coefs.iter().map(|(_, c)| c * c).sum::<f64>().sqrt();
    let eff = (lhs - rhs) / norm;
    let cut = Row {
        group: None,
        coefs,
        rhs,
        negated: false,
    };
    (eff > MIN_EFFICACY).then_some((eff, cut))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Every cut keeps every integer point of its row (enumerated over small bounds), and a
        /// cut is kept only when the LP point breaks it.
        #[test]
        fn a_cut_keeps_every_integer_point_of_its_row(
            a in proptest::collection::vec(-3.0f64..9.0, 2..4),
            rhs in 1.0f64..30.0,
            x in proptest::collection::vec(0.0f64..4.0, 4),
        ) {
            let n = a.len();
            let row = Row {
                group: None,
                coefs: a.iter().copied().enumerate().collect(),
                rhs,
                negated: false,
            };
            let ub = vec![4.0; n];
            let cuts = mir(std::slice::from_ref(&row), &x[..n], &ub);
            for cut in &cuts {
                let at_x: f64 = cut.coefs.iter().map(|&(i, c)| c * x[i]).sum();
                prop_assert!(at_x > cut.rhs, "a kept cut must cut off the LP point");
                let mut p = vec![0u64; n];
                loop {
                    let lhs: f64 = a.iter().zip(&p).map(|(a, &v)| a * v as f64).sum();
                    if lhs <= rhs {
                        let c: f64 = cut.coefs.iter().map(|&(i, c)| c * p[i] as f64).sum();
                        prop_assert!(c <= cut.rhs + 1e-9, "{p:?} satisfies the row but not the cut {cut:?}");
                    }
                    let mut k = 0;
                    while k < n && p[k] == 4 { p[k] = 0; k += 1; }
                    if k == n { break; }
                    p[k] += 1;
                }
            }
        }
    }

    /// One knapsack row `5x + 7y ≤ 24` whose LP fills it with 4.8 of x: the cut takes the
    /// fraction away.
    #[test]
    fn a_fractional_knapsack_point_is_cut_off() {
        let row = Row {
            group: None,
            coefs: vec![(0, 5.0), (1, 7.0)],
            rhs: 24.0,
            negated: false,
        };
        let cuts = mir(&[row], &[4.8, 0.0], &[10.0, 10.0]);
        assert_eq!(cuts.len(), 1);
        let c = &cuts[0];
        let at: f64 = c.coefs.iter().map(|&(i, a)| a * [4.8, 0.0][i]).sum();
        assert!(at > c.rhs + 0.1, "{c:?}");
    }
}
