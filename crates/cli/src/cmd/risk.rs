//! The risk part of `xpufleet plan --samples N`: the base plan's spread across samples, the
//! robust plan, what it gives up and protects, and which risks drive the spread.

use xpufleet_app::risk::{RiskOutput, SideOutput};
use xpufleet_model::Money;

use crate::common::{say, table};

fn usd(v: f64) -> String {
    Money::new(v, "USD").to_string()
}

fn row(name: &str, s: &SideOutput) -> Vec<String> {
    let p = &s.effective_pflops;
    let m = &s.spend_usd;
    vec![
        name.to_string(),
        format!("{:.1}", s.nominal_effective_pflops),
        format!("{:.1}", p.p10),
        format!("{:.1}", p.p50),
        format!("{:.1}", p.p90),
        format!("{:.1}", p.mean),
        format!("{:.1}", s.measure_value),
        usd(m.p50),
        usd(m.mean),
    ]
}

pub fn print_risk(r: &RiskOutput) {
    say!(
        "Risk: {} samples (seed {}) of {} risks; robust plan maximises {} of effective PFLOPS, solved on the first {} samples",
        r.samples,
        r.seed,
        r.risks.len(),
        r.measure,
        r.solved_on
    );
    let mut t = table();
    t.set_header(vec![
        "plan",
        "nominal PFLOPS",
        "p10",
        "p50",
        "p90",
        "mean",
        &format!("{}", r.measure),
        "spend p50",
        "spend mean",
    ]);
    t.add_row(row("base", &r.base));
    t.add_row(row("robust", &r.robust.outcome));
    println!("{}", crate::common::fit(&mut t));
    let d = &r.tradeoff;
    say!(
        "  robust vs base: expected PFLOPS {:+.1}, p10 {:+.1}, {} {:+.1}, nominal {:+.1}, expected spend {}{}",
        d.expected_pflops,
        d.p10_pflops,
        r.measure,
        d.measure,
        d.nominal_pflops,
        if d.expected_spend_usd < 0.0 { "-" } else { "+" },
        usd(d.expected_spend_usd.abs())
    );
    if !r.robust.proven {
        say!("  (robust plan: the best found, not proven optimal for the measure)");
    }
    let mut t = table();
    t.set_header(vec![
        "robust plan",
        "mode",
        "nodes",
        "units",
        "spend USD",
        "eff. PFLOPS",
    ]);
    for l in &r.robust.lines {
        t.add_row(vec![
            l.candidate.clone(),
            l.mode.to_string(),
            l.nodes.to_string(),
            l.units.to_string(),
            usd(l.spend_usd),
            format!("{:.1}", l.effective_pflops),
        ]);
    }
    println!("{}", crate::common::fit(&mut t));
    let mut t = table();
    t.set_header(vec![
        "risk (base plan, one at a time)",
        "kind",
        "PFLOPS low",
        "PFLOPS high",
        "spend low",
        "spend high",
    ]);
    for s in &r.drivers {
        t.add_row(vec![
            s.risk.clone(),
            s.kind.to_string(),
            format!("{:.1}", s.pflops_low),
            format!("{:.1}", s.pflops_high),
            usd(s.spend_usd_low),
            usd(s.spend_usd_high),
        ]);
    }
    println!("{}", crate::common::fit(&mut t));
}
