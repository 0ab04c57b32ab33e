//! The calibration corpus (`data/calibration/runs.toml`): the fit the defaults come from, its
//! errors on sources held out of the fit and the 80% intervals' coverage, recomputed from the
//! corpus on every run so that neither the defaults nor the figures in
//! `docs/performance-model.md` can rot.

use std::sync::OnceLock;

use xpufleet_perf::calibration::{self, Cell, Corpus, Point, Report, Scope};
use xpufleet_perf::{params, CalibrationParams, PerfModel, Stack};

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

/// The report, computed once per test binary (the nested validation refits a few hundred times).
fn report() -> &'static Report {
    static REPORT: OnceLock<Report> = OnceLock::new();
    let c = CalibrationParams::default();
    REPORT.get_or_init(|| calibration::report(&points(), c.size_d_ref, c.size_d_half))
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn cell_line(name: &str, c: &Cell) -> String {
    format!(
        "{:<26} {:>4} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}\n",
        name,
        c.rows,
        pct(c.median_abs_error_known),
        pct(c.coverage_known),
        pct(c.coverage_known_by_source),
        pct(c.median_abs_error_unknown),
        pct(c.coverage_unknown),
        pct(c.coverage_unknown_by_source)
    )
}

/// The report as a text table, kept in `tests/golden/calibration.txt`.
fn render(r: &Report) -> String {
    let f = &r.fit;
    let i = &r.intervals;
    let mut s = format!(
        "runs {} papers {} scored {}\n\
         base {:.4}\nstack_typical {:.4}\nstack_legacy {:.4}\nstack_unknown {:.4}\n\
         size_d_half {:.2}\nmoe {:.4}\n\
         interval rate known    {:+.4} {:+.4}\ninterval total known   {:+.4} {:+.4}\n\
         interval rate unknown  {:+.4} {:+.4}\ninterval total unknown {:+.4} {:+.4}\n\
         in_sample_median_abs_error {}\n\n",
        r.runs,
        r.papers,
        r.scored,
        f.base,
        f.stack_typical,
        f.stack_legacy,
        f.stack_unknown,
        f.size_d_half,
        f.moe,
        i.rate_known[0],
        i.rate_known[1],
        i.total_known[0],
        i.total_known[1],
        i.rate_unknown[0],
        i.rate_unknown[1],
        i.total_unknown[0],
        i.total_unknown[1],
        pct(r.in_sample_median_abs_error),
    );
    s.push_str("held out by source         rows |err|kn  cov kn  by src |err|un  cov un  by src\n");
    s.push_str(&cell_line("all", &r.overall));
    for (fam, c) in &r.per_family {
        s.push_str(&cell_line(fam, c));
    }
    for (fam, stack, kind, c) in &r.per_group {
        s.push_str(&cell_line(&format!("{fam} {stack} {}", kind.as_str()), c));
    }
    s.push_str(
        "\nrun                    paper           stack   scope  published modelled  \
         time_err_kn  time_err_un  covered\n",
    );
    for p in &r.per_run {
        let time_err = |l: f64| format!("{:+.1}%", (l.exp() - 1.0) * 100.0);
        s.push_str(&format!(
            "{:<22} {:<15} {:<7} {:<6} {:>9.3} {:>8.3} {:>12} {:>12}  {}\n",
            p.id,
            p.paper,
            p.stack.as_str(),
            p.scope.as_str(),
            p.published,
            p.modelled,
            time_err(p.loso_log_error[0]),
            time_err(p.loso_log_error[1]),
            if !p.scored {
                "not scored".to_string()
            } else {
                format!(
                    "{}/{}",
                    if p.covered[0] { "yes" } else { "no" },
                    if p.covered[1] { "yes" } else { "no" }
                )
            }
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
        assert!(
            r.checked.len() > 20,
            "{}: no note on what was checked",
            r.id
        );
        assert!(!r.paper.is_empty(), "{}: no source group", r.id);
    }
}

#[test]
fn held_out_sources_meet_the_goals() {
    let r = report();
    golden("calibration.txt", &render(r));
    let o = &r.overall;
    // Issue #25 asks for ~10% median error with the stack known on sources the fit has not seen
    // and ~80% coverage whether or not the stack is known. What the corpus gives, held out by
    // source, with three fitted quantities (round 7): 8.3% known, 10.1% unknown; coverage
    // 71% / 77% of rows, 79% / 82% with each source weighing once (round 5, six quantities:
    // 8.7% / 9.7%, 69% / 77%, 78% / 82%). The bounds keep those from getting worse.
    assert!(o.median_abs_error_known <= 0.09, "{o:?}");
    assert!(o.median_abs_error_unknown <= 0.11, "{o:?}");
    assert!(
        o.median_abs_error_unknown >= o.median_abs_error_known,
        "knowing the stack should not hurt: {o:?}"
    );
    assert!((0.7..=0.9).contains(&o.coverage_known), "{o:?}");
    assert!((0.75..=0.92).contains(&o.coverage_unknown), "{o:?}");
    assert!((0.75..=0.9).contains(&o.coverage_known_by_source), "{o:?}");
    assert!(
        (0.75..=0.92).contains(&o.coverage_unknown_by_source),
        "{o:?}"
    );
    // The intervals are asymmetric: published totals run longer than MFU x ETTR says, so
    // their interval reaches further to the slow side (negative log error) than to the fast.
    for known in [true, false] {
        let [lo, hi] = r.intervals.get(Scope::Total, known);
        assert!(-lo > 2.0 * hi, "total interval {lo}..{hi}");
    }
    // Knowing the stack narrows the interval of each outcome kind (issue 25 item 1): the
    // unknown one adds the corpus's stack spread to the known-stack errors.
    for kind in [Scope::Rate, Scope::Total] {
        let [klo, khi] = r.intervals.get(kind, true);
        let [ulo, uhi] = r.intervals.get(kind, false);
        assert!(
            uhi - ulo > khi - klo,
            "{kind:?}: known {klo}..{khi}, unknown {ulo}..{uhi}"
        );
    }
}

#[test]
fn stage_and_prior_rows_are_not_scored() {
    let r = report();
    for p in &r.per_run {
        let want = p.scope != Scope::Stage
            && !p.id.starts_with("llama3-405b-8k")
            && p.id != "llama3-405b-16k";
        assert_eq!(p.scored, want, "{}", p.id);
    }
}

#[test]
fn defaults_are_the_fit() {
    // The shipped defaults are the fit on the corpus (rounded as in params.rs).
    let r = report();
    let c = CalibrationParams::default();
    let m = PerfModel::default();
    let close = |what: &str, got: f64, want: f64| {
        assert!(
            (got - want).abs() <= 5e-4 * want.abs().max(1.0),
            "{what}: params.rs has {want}, the corpus fits {got}"
        );
    };
    close("base", r.fit.base, params::FIT_BASE);
    for fam in ["hopper", "ampere", "ascend"] {
        let f = m.families.iter().find(|f| f.family == fam).unwrap();
        assert_eq!(f.base_mfu, params::FIT_BASE, "{fam}");
    }
    assert_eq!(c.stack(Stack::Best), 1.0);
    close("stack_typical", r.fit.stack_typical, c.stack_typical);
    close("stack_legacy", r.fit.stack_legacy, c.stack_legacy);
    close("stack_unknown", r.fit.stack_unknown, c.stack_unknown);
    // The width term is a prior, not fitted (issue 25 item 2): 136 activation bytes per 72
    // GEMM FLOPs per token and layer, at the catalog's H100 SXM balance of FLOPs to bytes.
    let h100 = accel("h100-sxm");
    let peak_tflops = h100.tflops_bf16.get().expect("H100 BF16 peak");
    let bw_tbps = h100.memory_tbps.get().expect("H100 memory bandwidth");
    close(
        "size_d_half prior",
        136.0 / 72.0 * peak_tflops / bw_tbps,
        c.size_d_half,
    );
    assert_eq!(r.fit.size_d_half, c.size_d_half);
    // Typical and legacy share one fitted ratio; the middle follows from it and the corpus's
    // sources per level (6 best, 10 below).
    assert_eq!(r.fit.stack_typical, r.fit.stack_legacy);
    close(
        "stack_unknown is derived",
        r.fit.stack_unknown,
        r.fit.stack_typical.powf(10.0 / 16.0),
    );
    close("moe", r.fit.moe, m.throughput.moe_efficiency);
    for (kind, total) in [(Scope::Rate, false), (Scope::Total, true)] {
        for stack in [Stack::Typical, Stack::Unknown] {
            let got = r.intervals.get(kind, stack.is_known());
            let want = c.interval_log(stack, total);
            close(&format!("{kind:?} {stack} lo"), got[0], want[0]);
            close(&format!("{kind:?} {stack} hi"), got[1], want[1]);
        }
    }
}

/// Percent with one decimal, as the docs print it ("100%" and "0%" without).
fn docs_pct(x: f64) -> String {
    match format!("{:.1}", x * 100.0).as_str() {
        "100.0" => "100%".into(),
        "0.0" | "-0.0" => "0%".into(),
        s => format!("{s}%"),
    }
}

/// The tables of `docs/performance-model.md` §6 that come from the corpus: the fitted
/// parameters, the intervals and the held-out figures per family × stack × outcome kind.
fn docs_tables(r: &Report) -> String {
    let f = &r.fit;
    let mut s = String::from("| parameter | value | how |\n|---|---|---|\n");
    s.push_str(&format!("| base | {:.4} | fitted |\n", f.base));
    s.push_str(&format!(
        "| stack typical = legacy (best = 1) | {:.4} | fitted, one ratio |\n",
        f.stack_typical
    ));
    s.push_str(&format!("| MoE factor | {:.4} | fitted |\n", f.moe));
    s.push_str(&format!(
        "| stack unknown (the middle) | {:.4} | derived: the levels over the sources |\n",
        f.stack_unknown
    ));
    s.push_str(&format!(
        "| `d_half` (width term) | {:.2} | prior |\n\n",
        f.size_d_half
    ));
    s.push_str("| interval on ln(published / modelled) | stack known | stack unknown |\n");
    s.push_str("|---|---|---|\n");
    for (name, kind, what) in [
        ("rate (MFU)", Scope::Rate, "MFU"),
        ("total (time)", Scope::Total, "time"),
    ] {
        let cell = |known: bool| {
            let [lo, hi] = r.intervals.get(kind, known);
            // A time interval is the reciprocal of the MFU one.
            let (a, b) = if kind == Scope::Total {
                ((-hi).exp(), (-lo).exp())
            } else {
                (lo.exp(), hi.exp())
            };
            format!("{lo:+.3} / {hi:+.3}: {what} × [{a:.2}, {b:.2}]").replace('-', "−")
        };
        s.push_str(&format!("| {name} | {} | {} |\n", cell(true), cell(false)));
    }
    s.push_str(
        "\n| rows | n | median \\|error\\|, stack known | 80% coverage, known (rows / sources) \
         | median \\|error\\|, unknown | 80% coverage, unknown (rows / sources) |\n\
         |---|---|---|---|---|---|\n",
    );
    let line = |name: &str, c: &Cell, bold: bool| {
        let b = |x: String| if bold { format!("**{x}**") } else { x };
        format!(
            "| {name} | {} | {} | {} / {} | {} | {} / {} |\n",
            c.rows,
            b(docs_pct(c.median_abs_error_known)),
            b(docs_pct(c.coverage_known)),
            b(docs_pct(c.coverage_known_by_source)),
            b(docs_pct(c.median_abs_error_unknown)),
            b(docs_pct(c.coverage_unknown)),
            b(docs_pct(c.coverage_unknown_by_source))
        )
    };
    s.push_str(&line("all", &r.overall, true));
    for (fam, c) in &r.per_family {
        s.push_str(&line(fam, c, false));
    }
    for (fam, stack, kind, c) in &r.per_group {
        s.push_str(&line(&format!("{fam} {stack} {}", kind.as_str()), c, false));
    }
    s
}

#[test]
fn docs_show_the_figures_the_test_computes() {
    // Issue 25 item 4: the tables in docs/performance-model.md between the two markers are
    // exactly what this test computes from the corpus (UPDATE_GOLDEN=1 rewrites them).
    const START: &str = "<!-- corpus tables: written by crates/perf/tests/it/corpus.rs -->\n";
    const END: &str = "<!-- end of corpus tables -->";
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/performance-model.md");
    let doc = std::fs::read_to_string(&path).expect("docs/performance-model.md");
    let (Some(a), Some(b)) = (doc.find(START), doc.find(END)) else {
        panic!("docs/performance-model.md lacks the corpus-table markers");
    };
    let want = docs_tables(report());
    let got = &doc[a + START.len()..b];
    if std::env::var_os("UPDATE_GOLDEN").is_some() && got != want {
        let new = format!("{}{START}{want}{}", &doc[..a], &doc[b..]);
        std::fs::write(&path, new).expect("write docs");
        return;
    }
    assert_eq!(
        got, want,
        "docs/performance-model.md's corpus tables differ from the corpus"
    );
}

proptest::proptest! {
    /// The fit is a median fit in log space, so it is equivariant: scaling every published
    /// figure by `c` scales the base by `c` and leaves the ratio, the MoE factor and the middle
    /// alone; scaling only the rows below the best stack (typical and legacy alike) scales the
    /// one ratio by `c`, and the middle follows it with the corpus's share of sources below the
    /// best (10 of 16). A fit that mixed up residuals, or gave the two levels their own ratios,
    /// fails one of these.
    #[test]
    fn fit_is_equivariant_in_the_published_figures(c in 0.5f64..1.5) {
        let c_ref = CalibrationParams::default();
        let (d_ref, d_half) = (c_ref.size_d_ref, c_ref.size_d_half);
        static POINTS: OnceLock<Vec<Point>> = OnceLock::new();
        let pts = POINTS.get_or_init(points);
        let f0 = calibration::fit(pts, d_ref, d_half);
        let scaled = |below_only: bool| -> Vec<Point> {
            pts.iter()
                .cloned()
                .map(|mut p| {
                    if !below_only || p.stack != Stack::Best {
                        p.published *= c;
                    }
                    p
                })
                .collect()
        };
        let rel = |a: f64, b: f64| (a / b - 1.0).abs() < 1e-9;
        let all = calibration::fit(&scaled(false), d_ref, d_half);
        proptest::prop_assert!(rel(all.base, f0.base * c), "{all:?} vs {f0:?}");
        proptest::prop_assert!(rel(all.stack_typical, f0.stack_typical));
        proptest::prop_assert!(rel(all.moe, f0.moe));
        proptest::prop_assert!(rel(all.stack_unknown, f0.stack_unknown));
        let below = calibration::fit(&scaled(true), d_ref, d_half);
        proptest::prop_assert!(rel(below.base, f0.base));
        proptest::prop_assert!(rel(below.moe, f0.moe));
        proptest::prop_assert!(rel(below.stack_typical, f0.stack_typical * c));
        proptest::prop_assert_eq!(below.stack_typical, below.stack_legacy);
        proptest::prop_assert!(rel(
            below.stack_unknown,
            f0.stack_unknown * c.powf(10.0 / 16.0)
        ));
    }
}

#[test]
fn a_corpus_row_of_unknown_stack_is_refused() {
    let mut run = corpus().run.remove(0);
    run.stack = Stack::Unknown;
    let err = calibration::point(&PerfModel::default(), &run, &accel(&run.accel))
        .expect_err("unknown stack refused");
    let msg = err.to_string();
    assert!(
        msg.contains(&run.id) && msg.contains("best, typical or legacy"),
        "{msg}"
    );
}
