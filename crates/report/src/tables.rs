//! The report's tables as CSV files, one per table, for spreadsheets and scripts. Sections that
//! are not available write no file.

use std::collections::BTreeSet;

use crate::data::*;

/// Builds one CSV text. Rows are written in memory; this never touches a file.
struct Csv(csv::Writer<Vec<u8>>);

impl Csv {
    fn new(head: &[&str]) -> Csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(head).expect("writing to memory cannot fail");
        Csv(w)
    }

    fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        self.0
            .write_record(cells)
            .expect("writing to memory cannot fail");
    }

    fn finish(self) -> String {
        let bytes = self.0.into_inner().expect("writing to memory cannot fail");
        String::from_utf8(bytes).expect("all cells are UTF-8")
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn spend_csv(key: &str, rows: &[SpendRow]) -> String {
    let currencies: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.amounts.iter().map(|a| a.currency.as_str()))
        .collect();
    let mut head = vec![key, "total_usd"];
    head.extend(currencies.iter().copied());
    let mut c = Csv::new(&head);
    for r in rows {
        let mut cells = vec![r.key.clone(), r.total_usd.to_string()];
        for cur in &currencies {
            cells.push(
                r.amounts
                    .iter()
                    .find(|a| a.currency == *cur)
                    .map(|a| a.amount.to_string())
                    .unwrap_or_default(),
            );
        }
        c.row(cells);
    }
    c.finish()
}

fn compute_csv(key: &str, rows: &[ComputeRow]) -> String {
    let mut c = Csv::new(&[
        key,
        "accels_existing",
        "accels_planned",
        "pflops_existing",
        "pflops_planned",
        "pflops_total",
        "accels_unknown_peak",
    ]);
    for r in rows {
        c.row([
            r.key.clone(),
            r.accels_existing.to_string(),
            r.accels_planned.to_string(),
            r.pflops_existing.to_string(),
            r.pflops_planned.to_string(),
            r.pflops_total().to_string(),
            r.accels_unknown_peak.to_string(),
        ]);
    }
    c.finish()
}

/// Names of every CSV file the report can write, so a caller can remove ones left over from an
/// earlier report whose sections are now unavailable.
pub const CSV_NAMES: [&str; 18] = [
    "plan-lines.csv",
    "spend-envelope.csv",
    "spend-vendor.csv",
    "spend-site.csv",
    "supplier-mix.csv",
    "plan-constraints.csv",
    "plan-excluded.csv",
    "fleet-pools.csv",
    "compute-vendor.csv",
    "compute-country.csv",
    "site-power.csv",
    "compliance.csv",
    "unverified.csv",
    "what-if.csv",
    "jobs.csv",
    "utilisation.csv",
    "cost-energy.csv",
    "what-if-excluded.csv",
];

/// Every table of the report as `(file name, CSV text)`, in a fixed order.
pub fn csv_files(r: &ReportData) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, text: String| out.push((name.to_string(), text));

    if let Some(p) = r.plan.get() {
        let mut c = Csv::new(&[
            "candidate",
            "accelerator",
            "vendor",
            "site",
            "country",
            "mode",
            "nodes",
            "accels",
            "chips",
            "spend",
            "currency",
            "spend_usd",
            "envelope",
            "effective_pflops",
            "power_mw",
            "use",
            "services",
        ]);
        for l in &p.lines {
            c.row([
                l.candidate.clone(),
                l.accelerator.clone(),
                l.vendor.clone(),
                l.site.clone(),
                l.country.clone(),
                l.mode.clone(),
                l.nodes.to_string(),
                l.accels.to_string(),
                l.chips.to_string(),
                l.spend.to_string(),
                l.currency.clone(),
                l.spend_usd.to_string(),
                l.envelope.clone(),
                opt(&l.effective_pflops),
                opt(&l.power_mw),
                l.line_use.clone(),
                l.services.join(" "),
            ]);
        }
        add("plan-lines.csv", c.finish());
        let mut c = Csv::new(&[
            "envelope",
            "description",
            "currency",
            "budget",
            "spent",
            "budget_usd",
            "spent_usd",
        ]);
        for e in &p.envelopes {
            c.row([
                e.id.clone(),
                e.description.clone(),
                e.currency.clone(),
                e.budget.to_string(),
                e.spent.to_string(),
                e.budget_usd.to_string(),
                e.spent_usd.to_string(),
            ]);
        }
        add("spend-envelope.csv", c.finish());
        add("spend-vendor.csv", spend_csv("vendor", &p.spend_by_vendor));
        add("spend-site.csv", spend_csv("site", &p.spend_by_site));
        let mut c = Csv::new(&[
            "policy",
            "envelope",
            "domestic_country",
            "min_share",
            "share",
        ]);
        for s in &p.supplier_shares {
            c.row([
                s.id.clone(),
                s.envelope.clone(),
                s.domestic_country.clone(),
                s.min_share.to_string(),
                opt(&s.share),
            ]);
        }
        add("supplier-mix.csv", c.finish());
        let mut c = Csv::new(&["constraint", "binding", "value", "detail"]);
        for k in &p.constraints {
            c.row([
                k.id.clone(),
                k.binding.to_string(),
                opt(&k.value),
                k.detail.clone(),
            ]);
        }
        add("plan-constraints.csv", c.finish());
        let mut c = Csv::new(&["candidate", "reason"]);
        for e in &p.excluded {
            c.row([&e.candidate, &e.reason]);
        }
        add("plan-excluded.csv", c.finish());
    }

    if let Some(f) = r.fleet.get() {
        let mut c = Csv::new(&[
            "pool",
            "origin",
            "accelerator",
            "vendor",
            "site",
            "country",
            "accels",
            "peak_pflops",
            "power_mw",
        ]);
        for p in &f.pools {
            c.row([
                p.id.clone(),
                p.origin.as_str().to_string(),
                p.accelerator.clone(),
                p.vendor.clone(),
                p.site.clone(),
                p.country.clone(),
                p.accels.to_string(),
                opt(&p.peak_pflops),
                opt(&p.power_mw),
            ]);
        }
        add("fleet-pools.csv", c.finish());
        add("compute-vendor.csv", compute_csv("vendor", &f.by_vendor));
        add("compute-country.csv", compute_csv("country", &f.by_country));
        let mut c = Csv::new(&[
            "site",
            "country",
            "capacity_mw",
            "existing_mw",
            "planned_mw",
        ]);
        for s in &f.sites {
            c.row([
                s.site.clone(),
                s.country.clone(),
                s.capacity_mw.to_string(),
                s.existing_mw.to_string(),
                s.planned_mw.to_string(),
            ]);
        }
        add("site-power.csv", c.finish());
    }

    if let Some(k) = r.compliance.get() {
        let mut c = Csv::new(&[
            "target",
            "target_kind",
            "accelerator",
            "site",
            "country",
            "classification",
            "user",
            "use",
            "outcome",
            "verified",
            "usable",
            "rules",
            "citations",
            "reasons",
            "would_change",
        ]);
        for x in &k.rows {
            c.row([
                x.target.clone(),
                x.target_kind.clone(),
                x.accelerator.clone(),
                x.site.clone(),
                x.country.clone(),
                opt(&x.classification),
                x.user.clone(),
                x.use_kind.clone(),
                x.outcome.as_str().to_string(),
                x.verified.to_string(),
                x.usable.to_string(),
                x.rules.join("; "),
                x.citations.join("; "),
                x.reasons.join("; "),
                opt(&x.would_change),
            ]);
        }
        add("compliance.csv", c.finish());
        let mut c = Csv::new(&["pool", "site", "accelerator", "accels", "missing"]);
        for u in &k.unverified {
            c.row([
                u.pool.clone(),
                u.site.clone(),
                u.accelerator.clone(),
                u.accels.to_string(),
                u.missing.join("; "),
            ]);
        }
        add("unverified.csv", c.finish());
    }

    if let Some(w) = r.what_if.get() {
        let mut c = Csv::new(&[
            "candidate",
            "accelerator",
            "site",
            "mode",
            "base_accels",
            "what_if_accels",
            "base_spend_usd",
            "what_if_spend_usd",
        ]);
        for x in &w.changes {
            c.row([
                x.candidate.clone(),
                x.accelerator.clone(),
                x.site.clone(),
                x.mode.clone(),
                x.base_accels.to_string(),
                x.what_if_accels.to_string(),
                x.base_spend_usd.to_string(),
                x.what_if_spend_usd.to_string(),
            ]);
        }
        add("what-if.csv", c.finish());
        let mut c = Csv::new(&["candidate", "reason"]);
        for e in &w.newly_excluded {
            c.row([&e.candidate, &e.reason]);
        }
        add("what-if-excluded.csv", c.finish());
    }

    if let Some(w) = r.workload.get() {
        let mut c = Csv::new(&[
            "job",
            "name",
            "tenant",
            "accels",
            "accelerator",
            "pool",
            "submit_s",
            "start_s",
            "end_s",
            "queue_s",
            "jct_s",
            "status",
            "reason",
            "failures",
        ]);
        for j in &w.jobs {
            c.row([
                j.id.clone(),
                j.name.clone(),
                j.tenant.clone(),
                j.accels.to_string(),
                opt(&j.accelerator),
                opt(&j.pool),
                j.submit_s.to_string(),
                opt(&j.start_s),
                opt(&j.end_s),
                opt(&j.queue_s()),
                opt(&j.jct_s()),
                j.status.clone(),
                opt(&j.reason),
                j.failures.to_string(),
            ]);
        }
        add("jobs.csv", c.finish());
        let mut c = Csv::new(&["accelerator", "capacity", "t_s", "busy", "busy_share"]);
        for u in &w.utilisation {
            for p in &u.points {
                let share = if u.capacity > 0 {
                    p.busy as f64 / u.capacity as f64
                } else {
                    0.0
                };
                c.row([
                    u.accelerator.clone(),
                    u.capacity.to_string(),
                    p.t_s.to_string(),
                    p.busy.to_string(),
                    share.to_string(),
                ]);
            }
        }
        add("utilisation.csv", c.finish());
    }

    if let Some(k) = r.cost_energy.get() {
        let mut c = Csv::new(&["accelerator", "chip_hours", "energy_mwh", "cost_usd"]);
        for x in &k.rows {
            c.row([
                x.accelerator.clone(),
                x.chip_hours.to_string(),
                x.energy_mwh.to_string(),
                x.cost_usd.to_string(),
            ]);
        }
        c.row([
            "total".to_string(),
            k.total_chip_hours.to_string(),
            k.total_energy_mwh.to_string(),
            k.total_cost_usd.to_string(),
        ]);
        add("cost-energy.csv", c.finish());
    }
    out
}
