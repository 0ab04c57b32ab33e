//! `check` on the built-in example (every pool x tenant and every candidate, on one date), and
//! party screening against a synthetic list the size of the real Consolidated Screening List.
//! Run: `cargo bench -p xpufleet-comply --bench check`.

use criterion::{criterion_group, criterion_main, Criterion};
use xpufleet_comply::{RuleEngine, ScreeningEntry, ScreeningList};
use xpufleet_io::rules::builtin_rule_set;
use xpufleet_io::scenario::load_scenario;

/// A list of `n` synthetic entries with CSL-like names (none of the example's parties).
fn list(n: usize) -> ScreeningList {
    let words = [
        "Global",
        "Trading",
        "Tech",
        "Micro",
        "Electronics",
        "Star",
        "Ocean",
        "Dragon",
    ];
    ScreeningList {
        files: vec!["synthetic".into()],
        entries: (0..n)
            .map(|i| ScreeningEntry {
                id: format!("S{i}"),
                name: format!(
                    "{} {} {} Co., Ltd. {i}",
                    words[i % 8],
                    words[(i / 8) % 8],
                    words[(i / 64) % 8]
                ),
                alt_names: vec![format!("{} {i}", words[(i / 3) % 8])],
                addresses: vec![],
                source: "Entity List (EL) - Bureau of Industry and Security".into(),
                start_date: None,
                end_date: None,
                at: format!("synthetic:{i}"),
            })
            .collect(),
    }
}

fn bench(c: &mut Criterion) {
    let s = load_scenario(None, None).expect("the built-in example");
    let engine = RuleEngine::new(builtin_rule_set(), &s.scenario, &s.catalog);
    let date = "2025-08-01".parse().expect("a date");
    c.bench_function("check example 2025-08-01", |b| {
        b.iter(|| engine.check(date))
    });
    let big = list(15_000);
    c.bench_function("screen example parties, 15,000 entries", |b| {
        b.iter(|| engine.clone().with_screening(&big, 0.88))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
