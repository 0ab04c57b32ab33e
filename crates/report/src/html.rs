//! The HTML report: one self-contained file (inline CSS and SVG, no fetches), readable from
//! `file://`, with a summary band that answers the scenario's questions at a glance.

use std::fmt::Write;

use xpufleet_comply::Outcome;

use crate::build::Standing;
use crate::chart::{self, BarSeries, Bars, LineSeries, Lines, Span, Timeline};
use crate::components::{self, pill, time_unit};
use crate::data::*;
use crate::format::{self, esc, int, pct, usd};
use crate::palette::{self, Palette, EXISTING, HEADROOM, PLANNED, UNVERIFIED};

/// Ids of every chart the report draws, in page order. A chart whose data is missing is still
/// there, as a `figure.chart.unavailable` that says why.
pub const CHART_IDS: [&str; 14] = [
    "chart-spend-envelope",
    "chart-spend-vendor",
    "chart-spend-site",
    "chart-compute-vendor",
    "chart-compute-country",
    "chart-power-site",
    "chart-verdicts",
    "chart-what-if",
    "chart-utilisation",
    "chart-timeline",
    "chart-jct",
    "chart-cost",
    "chart-energy",
    "chart-supplier-mix",
];

const STYLE: &str = include_str!("report.css");

/// Records script errors, failed loads and blocked fetches in the page itself, counts the
/// charts that laid out with a non-empty box, and records the smallest chart text as drawn
/// (`data-chart-text-px`, the charts' 12-unit text in CSS pixels) and how far the page
/// overflows its window sideways (`data-overflow-px`), so a headless browser's DOM dump can be
/// checked at any window size.
const HOOK: &str = r#"(function(){var errs=[];function rec(m){errs.push(String(m));var h=document.documentElement;h.setAttribute('data-errors',String(errs.length));var d=document.getElementById('page-errors');if(d){d.textContent=errs.join('\n');d.hidden=false;}}
window.addEventListener('error',function(e){rec('error: '+(e.message||(e.target&&e.target.outerHTML)||'unknown'));},true);
window.addEventListener('unhandledrejection',function(e){rec('unhandled rejection: '+e.reason);});
document.addEventListener('securitypolicyviolation',function(e){rec('blocked: '+e.violatedDirective+' '+e.blockedURI);});
window.addEventListener('load',function(){var h=document.documentElement;if(!h.hasAttribute('data-errors'))h.setAttribute('data-errors','0');var figs=document.querySelectorAll('figure.chart'),n=0;for(var i=0;i<figs.length;i++){var s=figs[i].querySelector('svg');if(!s)continue;var r=s.getBoundingClientRect(),b=s.getBBox();if(r.width>0&&r.height>0&&b.width>0&&b.height>0){n++;figs[i].setAttribute('data-rendered','1');}}h.setAttribute('data-charts',String(figs.length));h.setAttribute('data-charts-rendered',String(n));var px=1e9,svgs=document.querySelectorAll('figure.chart svg');for(var k=0;k<svgs.length;k++){var v=svgs[k].viewBox&&svgs[k].viewBox.baseVal;if(v&&v.width>0){px=Math.min(px,svgs[k].getBoundingClientRect().width/v.width*12);}}h.setAttribute('data-chart-text-px',String(Math.round(px*10)/10));h.setAttribute('data-overflow-px',String(h.scrollWidth-h.clientWidth));});})();"#;

/// Colours of outcomes, from permissive to strict (kept for callers; see `palette`).
pub fn outcome_color(o: Outcome) -> &'static str {
    palette::outcome(o)
}

struct Page<'a> {
    r: &'a ReportData,
    colors: Palette,
    out: String,
}

/// Renders the report as one HTML document.
pub fn render_html(r: &ReportData) -> String {
    let mut p = Page {
        r,
        colors: Palette::of_report(r),
        out: String::with_capacity(256 * 1024),
    };
    p.head();
    p.summary();
    p.toc();
    p.out.push_str("<main>");
    p.plan();
    p.out.push_str(&crate::serving::html(r.serving.as_ref()));
    p.compute();
    p.compliance();
    p.what_if();
    p.out.push_str(&crate::risk::html(r.risk.as_ref()));
    p.workload();
    p.cost();
    p.notes();
    p.out.push_str("</main>");
    p.footer();
    p.out
}

fn outcome_pill(o: Outcome) -> String {
    components::outcome_pill(o)
}

/// Colours of standings (kept for callers; see `palette`).
pub fn standing_color(st: Standing) -> &'static str {
    palette::standing(st)
}

fn standing_pill(st: Standing) -> String {
    pill(st.as_str(), standing_color(st))
}

/// A table; cells are HTML already escaped; columns listed in `num` are right-aligned numbers.
fn table(class: &str, head: &[&str], num: &[usize], rows: &[Vec<String>]) -> String {
    let mut s = format!("<div class=\"table-wrap\"><table class=\"{class}\"><thead><tr>");
    for (i, h) in head.iter().enumerate() {
        let c = if num.contains(&i) {
            " class=\"num\""
        } else {
            ""
        };
        let _ = write!(s, "<th{c}>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for row in rows {
        s.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let c = if num.contains(&i) {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(s, "<td{c}>{cell}</td>");
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table></div>");
    s
}

fn figure(id: &str, title: &str, note: &str, svg: &str) -> String {
    format!(
        "<figure class=\"chart\" id=\"{id}\"><figcaption>{}<small>{}</small></figcaption>{svg}</figure>",
        esc(title),
        esc(note)
    )
}

fn missing_figure(id: &str, title: &str, reason: &str) -> String {
    format!(
        "<figure class=\"chart unavailable\" id=\"{id}\"><figcaption>{}</figcaption>\
         <p class=\"na\">Not available: {}</p></figure>",
        esc(title),
        esc(reason)
    )
}

fn na(reason: &str) -> String {
    format!("<p class=\"na\">Not available: {}</p>", esc(reason))
}

fn pflops(v: f64) -> String {
    format::sig3(v)
}

impl Page<'_> {
    fn accel_name(&self, id: &str) -> String {
        self.r
            .labels
            .accelerators
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    fn site_name(&self, id: &str) -> String {
        match self.r.labels.sites.get(id) {
            Some(n) if !n.is_empty() => n.clone(),
            _ => id.to_string(),
        }
    }

    fn head(&mut self) {
        let m = &self.r.meta;
        let _ = write!(
            self.out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\
             <meta name=\"generator\" content=\"{gen}\">\
             <title>{name} · xpufleet report · as of {date}</title>\
             <script>{HOOK}</script><style>{STYLE}</style></head><body>\
             <pre id=\"page-errors\" hidden></pre>\
             <header class=\"top\"><div class=\"brand\">xpufleet report</div><h1>{name}</h1>\
             <p class=\"lede\">{desc}</p><dl class=\"meta\">\
             <div><dt>As of</dt><dd>{date}</dd></div>\
             <div><dt>Company</dt><dd>{company}</dd></div>\
             <div><dt>Scenario</dt><dd>{origin}</dd></div>\
             <div><dt>Policy</dt><dd>{policy}</dd></div>\
             <div><dt>Seed</dt><dd>{seed}</dd></div></dl></header>",
            gen = esc(&m.generator),
            name = esc(&m.scenario),
            date = m.as_of,
            desc = esc(&m.description),
            company = esc(&m.company),
            origin = esc(&m.origin),
            policy = esc(&m.policy),
            seed = m.seed,
        );
    }

    fn card(
        &mut self,
        id: &str,
        title: &str,
        accent: &str,
        big: &str,
        sub: &str,
        items: &[String],
    ) {
        let _ = write!(
            self.out,
            "<article class=\"card\" id=\"{id}\" style=\"border-top-color:{accent}\"><h3>{}</h3>\
             <div class=\"big\">{big}</div><div class=\"sub\">{sub}</div><ul>",
            esc(title)
        );
        for i in items {
            let _ = write!(self.out, "<li>{i}</li>");
        }
        self.out.push_str("</ul></article>");
    }

    fn summary(&mut self) {
        self.out
            .push_str("<section class=\"summary\" id=\"summary\" aria-label=\"Summary\">");
        // What to buy where.
        match self.r.plan.get() {
            Some(p) => {
                let mut lines: Vec<&PlanLine> = p.lines.iter().collect();
                lines.sort_by(|a, b| b.spend_usd.total_cmp(&a.spend_usd));
                let items: Vec<String> = lines
                    .iter()
                    .take(4)
                    .map(|l| {
                        format!(
                            "<b>{}</b> × {} at {} <span class=\"muted\">({}, {}, {})</span>",
                            int(l.accels),
                            esc(&self.accel_name(&l.accelerator)),
                            esc(&self.site_name(&l.site)),
                            esc(&l.mode),
                            usd(l.spend_usd),
                            esc(&l.purpose())
                        )
                    })
                    .collect();
                let more = if p.lines.len() > 4 {
                    format!(" · {} lines", p.lines.len())
                } else {
                    String::new()
                };
                let sub = format!(
                    "{} accelerators · {} effective PFLOPS{more}",
                    int(p.accels()),
                    pflops(p.effective_pflops)
                );
                let items = if items.is_empty() {
                    vec!["The plan buys nothing.".to_string()]
                } else {
                    items
                };
                self.card(
                    "card-buy",
                    "What to buy where",
                    PLANNED,
                    &esc(&usd(p.spend_usd())),
                    &esc(&sub),
                    &items,
                );
            }
            None => self.card(
                "card-buy",
                "What to buy where",
                PLANNED,
                "–",
                "plan not available",
                &[esc(self.r.plan.reason().unwrap_or(""))],
            ),
        }
        // What the rules forbid. Every use is counted once, under its strictest reason, so
        // the headline, the badges and the chart's bars add up to the same numbers.
        match self.r.compliance.get() {
            Some(c) => {
                let mut items: Vec<String> = Vec::new();
                let standings = c.standings();
                if !standings.is_empty() {
                    items.push(format!(
                        "<span class=\"standings\">{}</span>",
                        standings
                            .iter()
                            .rev()
                            .map(|(st, n)| format!(
                                "<span data-standing=\"{}\" data-n=\"{n}\">{} {n}</span>",
                                st.as_str(),
                                standing_pill(*st)
                            ))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ));
                }
                let mut worst: Vec<&ComplianceRow> = c.rows.iter().filter(|r| !r.usable).collect();
                worst.sort_by_key(|r| std::cmp::Reverse(Standing::of(r)));
                for r in worst.iter().take(3) {
                    items.push(format!(
                        "<b>{}</b> ({} at {}, {}): {}",
                        esc(&r.target),
                        esc(&self.accel_name(&r.accelerator)),
                        esc(&r.country),
                        esc(&r.user),
                        Standing::of(r).as_str()
                    ));
                }
                if worst.len() > 3 {
                    items.push(format!(
                        "and {} more in the table below",
                        int(worst.len() as u64 - 3)
                    ));
                }
                if !c.unverified.is_empty() {
                    items.push(format!(
                        "{} lacking owner or operator verification: {}",
                        if c.unverified.len() == 1 {
                            "pool"
                        } else {
                            "pools"
                        },
                        esc(&c
                            .unverified
                            .iter()
                            .map(|u| u.pool.as_str())
                            .collect::<Vec<_>>()
                            .join(", "))
                    ));
                }
                self.card(
                    "card-rules",
                    "What the rules forbid",
                    outcome_color(Outcome::Prohibited),
                    &format!(
                        "<span data-blocked=\"{0}\">{0}</span> <small>of {1}</small>",
                        c.blocked(),
                        c.rows.len()
                    ),
                    "uses not allowed as of the date, each counted once under its strictest \
                     reason (prohibited, licence required, red flag, or otherwise allowed but \
                     unverified)",
                    &items,
                );
            }
            None => self.card(
                "card-rules",
                "What the rules forbid",
                outcome_color(Outcome::Prohibited),
                "–",
                "compliance not available",
                &[esc(self.r.compliance.reason().unwrap_or(""))],
            ),
        }
        // How the fleet serves the workload.
        match self.r.workload.get() {
            Some(w) => {
                let st = &w.stats;
                let mut items = vec![
                    format!(
                        "mean JCT <b>{}</b>, p50 {}, p99 {}",
                        st.jct_mean_s.map_or("–".into(), format::duration),
                        st.jct_p50_s.map_or("–".into(), format::duration),
                        st.jct_p99_s.map_or("–".into(), format::duration)
                    ),
                    format!(
                        "mean queue wait {} · makespan {}",
                        st.queue_mean_s.map_or("–".into(), format::duration),
                        format::duration(st.makespan_s as f64)
                    ),
                ];
                if let Some(f) = &w.fleet_use {
                    items.insert(
                        0,
                        format!(
                            "planned fleet busy <b>{}</b>: {} of {} accelerator-hours over {}; \
                             the rest sat idle",
                            pct(f.utilisation),
                            format::short(f.accel_hours_used),
                            format::short(f.accel_hours_available),
                            format::duration(f.horizon_s as f64)
                        ),
                    );
                }
                let mut util: Vec<&UtilSeries> = w.utilisation.iter().collect();
                util.sort_by(|a, b| b.mean.total_cmp(&a.mean));
                if !util.is_empty() {
                    items.push(format!(
                        "busiest: {}",
                        util.iter()
                            .take(3)
                            .map(|u| format!(
                                "{} {}",
                                esc(&self.accel_name(&u.accelerator)),
                                pct(u.mean)
                            ))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                let rejected = w.jobs.iter().filter(|j| j.status == "rejected").count() as u64;
                let unfinished = st.jobs.saturating_sub(st.completed + rejected);
                if unfinished > 0 {
                    items.push(format!(
                        "{} not finished",
                        format::count(unfinished as usize, "job", "jobs")
                    ));
                }
                if rejected > 0 {
                    items.push(format!(
                        "{} rejected: {} never run on the planned fleet",
                        format::count(rejected as usize, "job", "jobs"),
                        if rejected == 1 { "it can" } else { "they can" }
                    ));
                }
                self.card(
                    "card-workload",
                    "How the fleet serves the workload",
                    "#2f9e44",
                    &format!(
                        "{} <small>of {} jobs done</small>",
                        int(st.completed),
                        int(st.jobs)
                    ),
                    &esc(&format!("policy {}", w.policy)),
                    &items,
                );
            }
            None => self.card(
                "card-workload",
                "How the fleet serves the workload",
                "#2f9e44",
                "–",
                "simulation not available",
                &[esc(self.r.workload.reason().unwrap_or(""))],
            ),
        }
        // What it costs.
        let mut items = Vec::new();
        if let Some(p) = self.r.plan.get() {
            for e in &p.envelopes {
                items.push(format!(
                    "{}: {} of {} ({})",
                    esc(&e.id),
                    esc(&format::money(e.spent, &e.currency)),
                    esc(&format::money(e.budget, &e.currency)),
                    pct(if e.budget > 0.0 {
                        e.spent / e.budget
                    } else {
                        0.0
                    })
                ));
            }
        }
        if let Some(w) = self.r.what_if.get() {
            items.push(format!(
                "what-if <b>{}</b>: {} effective PFLOPS",
                esc(&w.name),
                signed(w.what_if_effective_pflops - w.base_effective_pflops)
            ));
        }
        match self.r.cost_energy.get() {
            Some(c) => {
                items.insert(
                    0,
                    format!(
                        "{} chip-hours, {} MWh",
                        format::short(c.total_chip_hours),
                        format::sig3(c.total_energy_mwh)
                    ),
                );
                if let Some(idle) = &c.idle {
                    items.insert(
                        1,
                        format!(
                            "idle accelerators: <b>{}</b> for {} accelerator-hours no job used \
                             (capex amortised or lease)",
                            esc(&usd(idle.total_cost_usd)),
                            format::short(idle.total_accel_hours)
                        ),
                    );
                }
                self.card(
                    "card-cost",
                    "What it costs",
                    "#e8590c",
                    &esc(&usd(c.total_cost_usd)),
                    "to run the workload (capex amortised or lease, plus power)",
                    &items,
                );
            }
            None => {
                items.insert(
                    0,
                    format!(
                        "workload cost not available: {}",
                        esc(self.r.cost_energy.reason().unwrap_or(""))
                    ),
                );
                let big = self
                    .r
                    .plan
                    .get()
                    .map_or("–".to_string(), |p| esc(&usd(p.spend_usd())));
                self.card(
                    "card-cost",
                    "What it costs",
                    "#e8590c",
                    &big,
                    "planned spend",
                    &items,
                );
            }
        }
        self.out.push_str("</section>");
    }

    fn toc(&mut self) {
        let risk = if self.r.risk.is_some() {
            "<a href=\"#risk\">Risk</a>"
        } else {
            ""
        };
        let _ = write!(
            self.out,
            "<nav class=\"toc\"><a href=\"#plan\">Plan</a><a href=\"#compute\">Compute</a>\
             <a href=\"#compliance\">Rules</a><a href=\"#what-if\">What-if</a>{risk}\
             <a href=\"#workload\">Workload</a><a href=\"#cost\">Cost &amp; energy</a>\
             <a href=\"#notes\">Notes</a></nav>",
        );
    }

    fn section_open(&mut self, id: &str, num: u32, title: &str, explain: &str) {
        let _ = write!(
            self.out,
            "<section class=\"part\" id=\"{id}\"><h2><span class=\"num\">{num}</span>{}</h2>\
             <p class=\"explain\">{explain}</p>",
            esc(title)
        );
    }

    fn plan(&mut self) {
        self.section_open(
            "plan",
            1,
            "What to buy where",
            "The procurement plan: integer nodes of each allowed candidate, within the budget \
             envelopes, supplier mix, supply caps and site power. Leases are priced over the \
             plan's horizon.",
        );
        let Some(p) = self.r.plan.get() else {
            let why = self.r.plan.reason().unwrap_or("").to_string();
            self.out.push_str(&na(&why));
            self.out.push_str("<div class=\"grid2\">");
            for (id, t) in [
                ("chart-spend-envelope", "Budget and spend by envelope"),
                ("chart-supplier-mix", "Supplier mix"),
                ("chart-spend-vendor", "Spend by vendor"),
                ("chart-spend-site", "Spend by site"),
            ] {
                self.out.push_str(&missing_figure(id, t, &why));
            }
            self.out.push_str("</div></section>");
            return;
        };
        let range = match &p.effective_pflops_interval {
            Some(i) => format!(
                " ({:.0}% interval {}–{} {})",
                i.level * 100.0,
                pflops(i.pflops[0]),
                pflops(i.pflops[1]),
                if i.stack == "unknown" {
                    "with the training stack unknown".to_string()
                } else {
                    format!("with a {} training stack", esc(&i.stack))
                }
            ),
            None => String::new(),
        };
        let _ = write!(
            self.out,
            "<p class=\"headline\">Objective <b>{}</b> as of {}: {} lines, {} accelerators, \
             {} spent, <b>{} effective PFLOPS</b>{range} added.</p>",
            esc(&p.objective),
            p.as_of,
            p.lines.len(),
            int(p.accels()),
            usd(p.spend_usd()),
            pflops(p.effective_pflops)
        );
        self.out.push_str(&components::plan_lines_table(
            &p.lines,
            &self.r.labels,
            &self.colors,
        ));
        self.out
            .push_str("<h3>What changes within the horizon</h3>");
        self.out.push_str(&components::horizon_changes(
            &p.verdict_changes,
            p.as_of,
            p.horizon_end,
        ));
        // A plan over periods: its timeline, capacity by part in each period.
        if !p.periods.is_empty() {
            let colors = &self.colors;
            let svg = crate::periods::capacity_chart(&p.periods, &|a: &str, _| {
                colors.accelerator(a).to_string()
            });
            self.out.push_str(&figure(
                "chart-capacity-periods",
                "Capacity by part over the plan's periods",
                "effective PFLOPS",
                &svg,
            ));
            let served = crate::periods::served_table(&p.periods);
            if !served.is_empty() {
                self.out.push_str("<h3>Served demand by period</h3>");
                self.out.push_str(&served);
            }
        }

        self.out.push_str("<div class=\"grid2\">");
        // Envelopes: budget against spend, in USD so envelopes in different currencies compare.
        let cats: Vec<String> = p
            .envelopes
            .iter()
            .map(|e| format!("{} ({})", e.id, e.currency))
            .collect();
        let svg = chart::hbar(&Bars {
            width: chart::HALF,
            categories: cats,
            series: vec![
                BarSeries {
                    name: "budget".into(),
                    color: HEADROOM.into(),
                    values: p.envelopes.iter().map(|e| e.budget_usd).collect(),
                },
                BarSeries {
                    name: "planned spend".into(),
                    color: PLANNED.into(),
                    values: p.envelopes.iter().map(|e| e.spent_usd).collect(),
                },
            ],
            stacked: false,
            axis_label: "USD (converted at the scenario's FX rates)".into(),
            fmt: &usd,
            desc: "Budget and planned spend of each envelope in USD".into(),
        });
        self.out.push_str(&figure(
            "chart-spend-envelope",
            "Budget and spend by envelope",
            "USD",
            &svg,
        ));
        // Supplier mix: achieved share against the minimum.
        if p.supplier_shares.is_empty() {
            self.out.push_str(&missing_figure(
                "chart-supplier-mix",
                "Supplier mix",
                "the scenario sets no supplier-mix policy",
            ));
        } else {
            let cats: Vec<String> = p
                .supplier_shares
                .iter()
                .map(|s| format!("{} ({})", s.id, s.envelope))
                .collect();
            let pc = |v: f64| format!("{}%", format::fixed(v, 0));
            let svg = chart::hbar(&Bars {
                width: chart::HALF,
                categories: cats,
                series: vec![
                    BarSeries {
                        name: "required minimum".into(),
                        color: HEADROOM.into(),
                        values: p
                            .supplier_shares
                            .iter()
                            .map(|s| s.min_share * 100.0)
                            .collect(),
                    },
                    BarSeries {
                        name: "domestic share in plan".into(),
                        color: "#2f9e44".into(),
                        values: p
                            .supplier_shares
                            .iter()
                            .map(|s| s.share.unwrap_or(0.0) * 100.0)
                            .collect(),
                    },
                ],
                stacked: false,
                axis_label: "Share of the envelope to domestic vendors (%)".into(),
                fmt: &pc,
                desc: "Domestic supplier share reached by the plan against each policy's minimum"
                    .into(),
            });
            self.out.push_str(&figure(
                "chart-supplier-mix",
                "Supplier mix",
                "% of envelope",
                &svg,
            ));
        }
        let svg = spend_chart(&p.spend_by_vendor, "Planned spend by vendor in USD", |k| {
            k.to_string()
        });
        self.out.push_str(&figure(
            "chart-spend-vendor",
            "Spend by vendor",
            "USD",
            &svg,
        ));
        let svg = spend_chart(&p.spend_by_site, "Planned spend by site in USD", |k| {
            self.site_name(k)
        });
        self.out
            .push_str(&figure("chart-spend-site", "Spend by site", "USD", &svg));
        self.out.push_str("</div>");

        // Envelope and constraint tables.
        self.out
            .push_str("<div class=\"grid2\"><div><h3>Envelopes</h3>");
        let rows: Vec<Vec<String>> = p
            .envelopes
            .iter()
            .map(|e| {
                vec![
                    format!(
                        "{}<div class=\"muted\">{}</div>",
                        esc(&e.id),
                        esc(&e.description)
                    ),
                    esc(&format::money(e.budget, &e.currency)),
                    esc(&format::money(e.spent, &e.currency)),
                    esc(&usd(e.spent_usd)),
                    pct(if e.budget > 0.0 {
                        e.spent / e.budget
                    } else {
                        0.0
                    }),
                ]
            })
            .collect();
        self.out.push_str(&table(
            "envelopes",
            &["Envelope", "Budget", "Spent", "Spent (USD)", "Used"],
            &[1, 2, 3, 4],
            &rows,
        ));
        if !p.supplier_shares.is_empty() {
            let rows: Vec<Vec<String>> = p
                .supplier_shares
                .iter()
                .map(|s| {
                    let status = match s.share {
                        None => "<span class=\"muted\">nothing bought</span>".to_string(),
                        Some(x) if x + 1e-9 >= s.min_share => {
                            pill("met", outcome_color(Outcome::Allowed))
                        }
                        Some(_) => pill("not met", outcome_color(Outcome::Prohibited)),
                    };
                    vec![
                        esc(&s.id),
                        esc(&s.envelope),
                        esc(&s.domestic_country),
                        pct(s.min_share),
                        s.share.map_or("–".into(), pct),
                        status,
                    ]
                })
                .collect();
            self.out.push_str("<h3>Supplier mix</h3>");
            self.out.push_str(&table(
                "supplier-mix",
                &["Policy", "Envelope", "Domestic", "Minimum", "Plan", ""],
                &[3, 4],
                &rows,
            ));
        }
        self.out.push_str("</div><div><h3>Constraints</h3>");
        self.out
            .push_str(&components::constraints_table(&p.constraints));
        self.out.push_str("<h3>Excluded candidates</h3>");
        self.out.push_str(&components::excluded_table(&p.excluded));
        self.out.push_str("</div></div></section>");
    }

    fn compute(&mut self) {
        self.section_open(
            "compute",
            2,
            "Compute of the planned fleet",
            "Dense BF16 peak of the existing pools and of what the plan adds, by vendor and by \
             the country the chips sit in; and the power the pools draw (board power × PUE) \
             against each site's capacity.",
        );
        let Some(f) = self.r.fleet.get() else {
            let why = self.r.fleet.reason().unwrap_or("").to_string();
            self.out.push_str(&na(&why));
            self.out.push_str("<div class=\"grid2\">");
            for (id, t) in [
                ("chart-compute-vendor", "PFLOPS by vendor"),
                ("chart-compute-country", "PFLOPS by country"),
            ] {
                self.out.push_str(&missing_figure(id, t, &why));
            }
            self.out.push_str("</div>");
            self.out
                .push_str(&missing_figure("chart-power-site", "Power by site", &why));
            self.out.push_str("</section>");
            return;
        };
        let _ = write!(
            self.out,
            "<p class=\"headline\">{} accelerators in {} pools, <b>{} PFLOPS</b> dense BF16 peak.</p>",
            int(f.pools.iter().map(|p| p.accels).sum()),
            f.pools.len(),
            pflops(f.total_pflops())
        );
        self.out.push_str("<div class=\"grid2\">");
        for (id, title, rows) in [
            ("chart-compute-vendor", "PFLOPS by vendor", &f.by_vendor),
            ("chart-compute-country", "PFLOPS by country", &f.by_country),
        ] {
            let svg = components::compute_chart(rows, title, chart::HALF);
            self.out
                .push_str(&figure(id, title, "dense BF16 peak", &svg));
        }
        self.out.push_str("</div>");
        let svg = components::power_chart(&f.sites, &self.r.labels, chart::FULL);
        self.out.push_str(&figure(
            "chart-power-site",
            "Power by site",
            "a bar's full length is the site's capacity unless the pools exceed it",
            &svg,
        ));
        let rows: Vec<Vec<String>> = f
            .by_vendor
            .iter()
            .map(|r| {
                vec![
                    esc(&r.key),
                    int(r.accels_existing),
                    int(r.accels_planned),
                    pflops(r.pflops_existing),
                    pflops(r.pflops_planned),
                    pflops(r.pflops_total()),
                    if r.accels_unknown_peak > 0 {
                        format!("{} with unknown peak", int(r.accels_unknown_peak))
                    } else {
                        String::new()
                    },
                ]
            })
            .collect();
        self.out.push_str(&table(
            "compute-vendor",
            &[
                "Vendor",
                "Accels (existing)",
                "Accels (planned)",
                "PFLOPS (existing)",
                "PFLOPS (planned)",
                "PFLOPS (total)",
                "",
            ],
            &[1, 2, 3, 4, 5],
            &rows,
        ));
        self.out.push_str("</section>");
    }

    fn compliance(&mut self) {
        self.section_open(
            "compliance",
            3,
            "What the rules allow",
            "Every pool and candidate, checked for its intended use as of the report's date. \
             Rows that no engine may use come first. Decision support, not legal advice.",
        );
        let Some(c) = self.r.compliance.get() else {
            let why = self.r.compliance.reason().unwrap_or("").to_string();
            self.out.push_str(&na(&why));
            self.out
                .push_str(&missing_figure("chart-verdicts", "Verdicts", &why));
            self.out.push_str("</section>");
            return;
        };
        // Verdict counts, pools and candidates, by the same standings as the summary's badges.
        let svg = components::verdict_chart(&c.rows, chart::FULL);
        self.out.push_str(&figure(
            "chart-verdicts",
            "Verdicts",
            "each use once, by its strictest reason",
            &svg,
        ));
        let mut rows: Vec<&ComplianceRow> = c.rows.iter().collect();
        rows.sort_by(|a, b| {
            a.usable
                .cmp(&b.usable)
                .then_with(|| b.outcome.cmp(&a.outcome))
        });
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let mut verdict = outcome_pill(r.outcome);
                if !r.verified {
                    verdict.push(' ');
                    verdict.push_str(&pill("unverified", UNVERIFIED));
                }
                let mut why = esc(&r.reasons.join("; "));
                if let Some(w) = &r.would_change {
                    let _ = write!(why, "<div class=\"change\">→ {}</div>", esc(w));
                }
                vec![
                    format!(
                        "<code>{}</code><div class=\"muted\">{}</div>",
                        esc(&r.target),
                        esc(&r.target_kind)
                    ),
                    format!(
                        "{}<div class=\"muted\">{}</div>",
                        esc(&self.accel_name(&r.accelerator)),
                        esc(r.classification.as_deref().unwrap_or("not controlled"))
                    ),
                    format!(
                        "{} <span class=\"muted\">{}</span>",
                        esc(&self.site_name(&r.site)),
                        esc(&r.country)
                    ),
                    format!(
                        "{}<div class=\"muted\">{}</div>",
                        esc(&r.user),
                        esc(&r.use_kind)
                    ),
                    verdict,
                    r.rules
                        .iter()
                        .map(|x| format!("<code>{}</code>", esc(x)))
                        .collect::<Vec<_>>()
                        .join("<br>"),
                    esc(&r.citations.join("; ")),
                    why,
                ]
            })
            .collect();
        self.out.push_str(&table(
            "compliance",
            &[
                "Target",
                "Accelerator",
                "Site",
                "User · use",
                "Verdict",
                "Rules",
                "Citation",
                "Why, and what would change it",
            ],
            &[],
            &cells,
        ));
        self.out.push_str("<h3>Unverified pools</h3>");
        if c.unverified.is_empty() {
            self.out.push_str(
                "<p class=\"muted\">Every pool of controlled chips has owner and operator \
                 verification in force.</p>",
            );
        } else {
            let rows: Vec<Vec<String>> = c
                .unverified
                .iter()
                .map(|u| {
                    vec![
                        format!("<code>{}</code>", esc(&u.pool)),
                        esc(&self.accel_name(&u.accelerator)),
                        esc(&self.site_name(&u.site)),
                        int(u.accels),
                        esc(&u.missing.join("; ")),
                    ]
                })
                .collect();
            self.out.push_str(&table(
                "unverified",
                &["Pool", "Accelerator", "Site", "Accels", "Missing"],
                &[3],
                &rows,
            ));
        }
        self.out.push_str("</section>");
    }

    fn what_if(&mut self) {
        self.section_open(
            "what-if",
            4,
            "What-if",
            "The plan re-solved under a change (a rule taking effect, a price, a cap) against \
             the base plan: what is bought instead, compute lost, money moved.",
        );
        let Some(w) = self.r.what_if.get() else {
            let why = self.r.what_if.reason().unwrap_or("").to_string();
            self.out.push_str(&na(&why));
            self.out.push_str(&missing_figure(
                "chart-what-if",
                "Base plan against the what-if",
                &why,
            ));
            self.out.push_str("</section>");
            return;
        };
        let _ = write!(
            self.out,
            "<p class=\"headline\"><b>{}</b> (as of {}): {}. Effective compute {} → {} PFLOPS \
             (<b>{}</b>); spend {} → {}.</p>",
            esc(&w.name),
            w.as_of,
            esc(&w.description),
            pflops(w.base_effective_pflops),
            pflops(w.what_if_effective_pflops),
            signed(w.what_if_effective_pflops - w.base_effective_pflops),
            usd(w.base_spend_usd),
            usd(w.what_if_spend_usd)
        );
        let n = |v: f64| format::short(v);
        let svg = chart::hbar(&Bars {
            width: chart::FULL,
            categories: w
                .changes
                .iter()
                .map(|c| {
                    format!(
                        "{} · {} ({})",
                        self.accel_name(&c.accelerator),
                        self.site_name(&c.site),
                        c.mode
                    )
                })
                .collect(),
            series: vec![
                BarSeries {
                    name: "base plan".into(),
                    color: EXISTING.into(),
                    values: w.changes.iter().map(|c| c.base_accels as f64).collect(),
                },
                BarSeries {
                    name: format!("what-if: {}", w.name),
                    color: PLANNED.into(),
                    values: w.changes.iter().map(|c| c.what_if_accels as f64).collect(),
                },
            ],
            stacked: false,
            axis_label: "Accelerators (count)".into(),
            fmt: &n,
            desc: "Accelerators of each candidate in the base plan and in the what-if".into(),
        });
        self.out.push_str(&figure(
            "chart-what-if",
            "Base plan against the what-if",
            "accelerators per candidate",
            &svg,
        ));
        let rows: Vec<Vec<String>> = w
            .changes
            .iter()
            .map(|c| {
                vec![
                    format!("<code>{}</code>", esc(&c.candidate)),
                    int(c.base_accels),
                    int(c.what_if_accels),
                    signed_int(c.what_if_accels as i64 - c.base_accels as i64),
                    esc(&usd(c.base_spend_usd)),
                    esc(&usd(c.what_if_spend_usd)),
                    esc(&usd(c.what_if_spend_usd - c.base_spend_usd)),
                ]
            })
            .collect();
        self.out.push_str(&table(
            "what-if",
            &[
                "Candidate",
                "Accels (base)",
                "Accels (what-if)",
                "Change",
                "Spend (base)",
                "Spend (what-if)",
                "Money moved",
            ],
            &[1, 2, 3, 4, 5, 6],
            &rows,
        ));
        if !w.newly_excluded.is_empty() {
            self.out.push_str("<h3>Newly excluded</h3>");
            let rows = excluded_rows(&w.newly_excluded);
            self.out
                .push_str(&table("newly-excluded", &["Candidate", "Why"], &[], &rows));
        }
        self.out.push_str("</section>");
    }

    fn workload(&mut self) {
        self.section_open(
            "workload",
            5,
            "How the fleet serves the workload",
            "The scenario's training jobs simulated on the planned fleet: each job placed as a \
             gang, only where its tenant may use the pool and its data may go.",
        );
        let Some(w) = self.r.workload.get() else {
            let why = self.r.workload.reason().unwrap_or("").to_string();
            self.out.push_str(&na(&why));
            for (id, t) in [
                ("chart-utilisation", "Utilisation by accelerator type"),
                ("chart-timeline", "Jobs over time"),
                ("chart-jct", "JCT distribution"),
            ] {
                self.out.push_str(&missing_figure(id, t, &why));
            }
            self.out.push_str("</section>");
            return;
        };
        let st = &w.stats;
        let _ = write!(
            self.out,
            "<div class=\"kpis\">{}{}{}{}{}{}{}</div>",
            kpi(
                "planned fleet busy",
                &w.fleet_use
                    .as_ref()
                    .map_or("–".into(), |f| pct(f.utilisation))
            ),
            kpi(
                "jobs done",
                &format!("{} / {}", int(st.completed), int(st.jobs))
            ),
            kpi(
                "mean JCT",
                &st.jct_mean_s.map_or("–".into(), format::duration)
            ),
            kpi(
                "p99 JCT",
                &st.jct_p99_s.map_or("–".into(), format::duration)
            ),
            kpi(
                "mean queue wait",
                &st.queue_mean_s.map_or("–".into(), format::duration)
            ),
            kpi("makespan", &format::duration(st.makespan_s as f64)),
            kpi(
                "preemptions · failures hitting jobs",
                &format!("{} · {}", int(w.preemptions), int(w.job_failures))
            ),
        );
        let horizon = w.horizon_s.max(1) as f64;
        let (div, unit) = time_unit(horizon);
        let tfmt = |v: f64| format::sig3(v);
        let pc = |v: f64| format!("{}%", format::fixed(v, 0));
        // With no job ever started there is no time axis worth drawing (it would read 0 0 0 0).
        let ran = w.jobs.iter().any(|j| j.start_s.is_some());
        const NO_RUN: &str = "no job ran in the simulation";
        if ran {
            let svg = components::utilisation_chart(w, &self.r.labels, &self.colors);
            self.out.push_str(&figure(
                "chart-utilisation",
                "Utilisation by accelerator type",
                "% of each type's accelerators busy, one chart per type",
                &svg,
            ));
        } else {
            self.out.push_str(&missing_figure(
                "chart-utilisation",
                "Utilisation by accelerator type",
                NO_RUN,
            ));
        }
        // Timeline of jobs; too many rows would be unreadable, so large workloads show only the
        // distribution.
        const MAX_TIMELINE_ROWS: usize = 60;
        let mut used: Vec<String> = w
            .jobs
            .iter()
            .filter_map(|j| j.accelerator.clone())
            .collect();
        used.sort();
        used.dedup();
        if !ran {
            self.out
                .push_str(&missing_figure("chart-timeline", "Jobs over time", NO_RUN));
        } else if w.jobs.len() <= MAX_TIMELINE_ROWS {
            let rows: Vec<Span> = w
                .jobs
                .iter()
                .map(|j| Span {
                    label: j.id.clone(),
                    submit: j.submit_s as f64 / div,
                    start: j.start_s.map(|s| s as f64 / div),
                    end: j.end_s.map(|s| s as f64 / div),
                    color: j
                        .accelerator
                        .as_deref()
                        .map_or("#888888", |a| self.colors.accelerator(a))
                        .into(),
                    rejected: j.status == "rejected",
                    title: job_title(j, &self.accel_name(j.accelerator.as_deref().unwrap_or(""))),
                })
                .collect();
            let svg = chart::timeline(&Timeline {
                width: chart::FULL,
                rows,
                x_max: horizon / div,
                x_label: format!("Time since the first submission ({unit})"),
                x_fmt: &tfmt,
                legend: used
                    .iter()
                    .map(|a| (self.accel_name(a), self.colors.accelerator(a).to_string()))
                    .collect(),
                desc: "Each job's wait and run time, coloured by the accelerator type it ran on"
                    .into(),
            });
            self.out.push_str(&figure(
                "chart-timeline",
                "Jobs over time",
                "grey: waiting; colour: running, by accelerator type; red cross: rejected",
                &svg,
            ));
        } else {
            self.out.push_str(&missing_figure(
                "chart-timeline",
                "Jobs over time",
                &format!(
                    "{} jobs are too many to draw one row each (at most {MAX_TIMELINE_ROWS}); see the JCT distribution and jobs.csv",
                    w.jobs.len()
                ),
            ));
        }
        // JCT distribution as a CDF.
        let mut jcts: Vec<f64> = w
            .jobs
            .iter()
            .filter_map(|j| j.jct_s())
            .map(|s| s as f64)
            .collect();
        jcts.sort_by(f64::total_cmp);
        if jcts.is_empty() {
            self.out.push_str(&missing_figure(
                "chart-jct",
                "JCT distribution",
                "no job completed in the simulation",
            ));
        } else {
            let (jdiv, junit) = time_unit(*jcts.last().unwrap_or(&1.0));
            let n_jobs = w.jobs.len().max(1) as f64;
            let mut pts = vec![(0.0, 0.0)];
            for (i, v) in jcts.iter().enumerate() {
                pts.push((v / jdiv, 100.0 * (i + 1) as f64 / n_jobs));
            }
            let svg = chart::lines(&Lines {
                width: chart::FULL,
                series: vec![LineSeries {
                    name: format!("jobs finished within a JCT (of {} submitted)", w.jobs.len()),
                    color: PLANNED.into(),
                    points: pts,
                    step: true,
                }],
                x_label: format!("Job completion time, submit to finish ({junit})"),
                y_label: "Jobs (%)".into(),
                x_max: jcts.last().copied().unwrap_or(1.0) / jdiv * 1.05,
                y_max: Some(100.0),
                x_fmt: &tfmt,
                y_fmt: &pc,
                desc: "Cumulative distribution of job completion times".into(),
            });
            self.out.push_str(&figure(
                "chart-jct",
                "JCT distribution",
                "cumulative share of jobs",
                &svg,
            ));
        }
        let rows: Vec<Vec<String>> = w
            .jobs
            .iter()
            .take(MAX_JOB_ROWS)
            .map(|j| {
                vec![
                    format!(
                        "<code>{}</code><div class=\"muted\">{}</div>",
                        esc(&j.id),
                        esc(&j.name)
                    ),
                    esc(&j.tenant),
                    match &j.accelerator {
                        Some(a) => format!(
                            "{}{} <span class=\"muted\">{}</span>",
                            components::swatch(self.colors.accelerator(a)),
                            esc(&self.accel_name(a)),
                            esc(j.pool.as_deref().unwrap_or(""))
                        ),
                        None => "–".into(),
                    },
                    int(j.accels as u64),
                    format::duration(j.submit_s as f64),
                    j.queue_s()
                        .map_or("–".into(), |s| format::duration(s as f64)),
                    j.jct_s().map_or("–".into(), |s| format::duration(s as f64)),
                    int(u64::from(j.failures)),
                    format!(
                        "{}{}",
                        esc(&j.status),
                        j.reason.as_deref().map_or(String::new(), |r| format!(
                            "<div class=\"muted\">{}</div>",
                            esc(r)
                        ))
                    ),
                ]
            })
            .collect();
        self.out.push_str(&table(
            "jobs",
            &[
                "Job",
                "Tenant",
                "Ran on",
                "Accels",
                "Submitted",
                "Waited",
                "JCT",
                "Failures",
                "Status",
            ],
            &[3, 4, 5, 6, 7],
            &rows,
        ));
        if w.jobs.len() > MAX_JOB_ROWS {
            let _ = write!(
                self.out,
                "<p class=\"muted\">The first {MAX_JOB_ROWS} of {} jobs; all are in <code>jobs.csv</code> and <code>report.json</code>.</p>",
                int(w.jobs.len() as u64)
            );
        }
        self.out.push_str("</section>");
    }

    fn cost(&mut self) {
        self.section_open(
            "cost",
            6,
            "Cost and energy",
            "What running the simulated workload costs on each accelerator type: chip-hours, \
             energy at the wall (board power × utilisation × PUE plus host overhead) and money \
             (lease rate, or capex amortised over its life, plus electricity).",
        );
        let Some(c) = self.r.cost_energy.get() else {
            let why = self.r.cost_energy.reason().unwrap_or("").to_string();
            self.out.push_str(&na(&why));
            self.out.push_str("<div class=\"grid2\">");
            self.out.push_str(&missing_figure(
                "chart-cost",
                "Cost by accelerator type",
                &why,
            ));
            self.out.push_str(&missing_figure(
                "chart-energy",
                "Energy by accelerator type",
                &why,
            ));
            self.out.push_str("</div></section>");
            return;
        };
        let cats: Vec<String> = c
            .rows
            .iter()
            .map(|r| self.accel_name(&r.accelerator))
            .collect();
        self.out.push_str("<div class=\"grid2\">");
        let svg = chart::hbar(&Bars {
            width: chart::HALF,
            categories: cats.clone(),
            series: vec![BarSeries {
                name: "cost".into(),
                color: "#e8590c".into(),
                values: c.rows.iter().map(|r| r.cost_usd).collect(),
            }],
            stacked: false,
            axis_label: "Cost (USD)".into(),
            fmt: &usd,
            desc: "Cost of the workload by accelerator type in USD".into(),
        });
        self.out.push_str(&figure(
            "chart-cost",
            "Cost by accelerator type",
            "USD",
            &svg,
        ));
        let mwh = |v: f64| format::sig3(v);
        let svg = chart::hbar(&Bars {
            width: chart::HALF,
            categories: cats,
            series: vec![BarSeries {
                name: "energy".into(),
                color: "#f59f00".into(),
                values: c.rows.iter().map(|r| r.energy_mwh).collect(),
            }],
            stacked: false,
            axis_label: "Energy (MWh)".into(),
            fmt: &mwh,
            desc: "Energy of the workload by accelerator type in MWh".into(),
        });
        self.out.push_str(&figure(
            "chart-energy",
            "Energy by accelerator type",
            "MWh",
            &svg,
        ));
        self.out.push_str("</div>");
        let mut rows: Vec<Vec<String>> = c
            .rows
            .iter()
            .map(|r| {
                vec![
                    esc(&self.accel_name(&r.accelerator)),
                    format::short(r.chip_hours),
                    format::sig3(r.energy_mwh),
                    esc(&usd(r.cost_usd)),
                    if r.chip_hours > 0.0 {
                        format!("${}", format::fixed(r.cost_usd / r.chip_hours, 2))
                    } else {
                        "–".into()
                    },
                ]
            })
            .collect();
        rows.push(vec![
            "<b>Total</b>".into(),
            format!("<b>{}</b>", format::short(c.total_chip_hours)),
            format!("<b>{}</b>", format::sig3(c.total_energy_mwh)),
            format!("<b>{}</b>", esc(&usd(c.total_cost_usd))),
            String::new(),
        ]);
        self.out.push_str(&table(
            "cost",
            &[
                "Accelerator",
                "Chip-hours",
                "Energy (MWh)",
                "Cost (USD)",
                "USD per chip-hour",
            ],
            &[1, 2, 3, 4],
            &rows,
        ));
        self.out.push_str("<h3>Idle planned capacity</h3>");
        match &c.idle {
            Some(idle) => {
                let _ = write!(
                    self.out,
                    "<p>Over the same horizon the accelerators no job used cost <b>{}</b> \
                     ({} accelerator-hours; lease, or capex amortised over the pool's life; idle \
                     power not counted) beside <b>{}</b> for the jobs.</p>",
                    esc(&usd(idle.total_cost_usd)),
                    format::short(idle.total_accel_hours),
                    esc(&usd(c.total_cost_usd))
                );
                let mut rows: Vec<Vec<String>> = idle
                    .rows
                    .iter()
                    .map(|r| {
                        vec![
                            esc(&self.accel_name(&r.accelerator)),
                            format::short(r.chip_hours),
                            esc(&usd(r.cost_usd)),
                        ]
                    })
                    .collect();
                rows.push(vec![
                    "<b>Total</b>".into(),
                    format!("<b>{}</b>", format::short(idle.total_accel_hours)),
                    format!("<b>{}</b>", esc(&usd(idle.total_cost_usd))),
                ]);
                self.out.push_str(&table(
                    "idle",
                    &["Accelerator", "Idle accelerator-hours", "Cost (USD)"],
                    &[1, 2],
                    &rows,
                ));
            }
            None => self
                .out
                .push_str("<p class=\"muted\">The cost of idle capacity is not available.</p>"),
        }
        self.out.push_str("</section>");
    }

    fn notes(&mut self) {
        self.out.push_str(
            "<section class=\"part\" id=\"notes\"><h2><span class=\"num\">7</span>Notes</h2>",
        );
        if self.r.notes.is_empty() {
            self.out
                .push_str("<p class=\"muted\">Nothing was skipped.</p>");
        } else {
            self.out.push_str("<ul class=\"notes\">");
            for n in &self.r.notes {
                let _ = write!(self.out, "<li>{}</li>", esc(n));
            }
            self.out.push_str("</ul>");
        }
        self.out.push_str("</section>");
    }

    fn footer(&mut self) {
        let m = &self.r.meta;
        let _ = writeln!(
            self.out,
            "<footer>Generated by {} from {} as of {}, seed {}, policy {}. The same data is in \
             <code>report.json</code> and one CSV file per table. Export-control verdicts are \
             decision support, not legal advice.</footer></body></html>",
            esc(&m.generator),
            esc(&m.origin),
            m.as_of,
            m.seed,
            esc(&m.policy)
        );
    }
}

fn spend_chart(rows: &[SpendRow], desc: &str, label: impl Fn(&str) -> String) -> String {
    chart::hbar(&Bars {
        width: chart::HALF,
        categories: rows.iter().map(|r| label(&r.key)).collect(),
        series: vec![BarSeries {
            name: "planned spend".into(),
            color: PLANNED.into(),
            values: rows.iter().map(|r| r.total_usd).collect(),
        }],
        stacked: false,
        axis_label: "Planned spend (USD)".into(),
        fmt: &usd,
        desc: desc.into(),
    })
}

/// Rows of the jobs table in the page; the CSV and JSON hold every job.
const MAX_JOB_ROWS: usize = 200;

fn kpi(label: &str, value: &str) -> String {
    format!(
        "<div class=\"kpi\"><div class=\"v\">{}</div><div class=\"l\">{}</div></div>",
        esc(value),
        esc(label)
    )
}

fn job_title(j: &JobRow, accel: &str) -> String {
    let mut t = format!("{} · {} accels", j.id, j.accels);
    if !accel.is_empty() {
        let _ = write!(t, " of {accel}");
    }
    if let Some(q) = j.queue_s() {
        let _ = write!(t, " · waited {}", format::duration(q as f64));
    }
    if let Some(c) = j.jct_s() {
        let _ = write!(t, " · JCT {}", format::duration(c as f64));
    }
    if let Some(r) = &j.reason {
        let _ = write!(t, " · {r}");
    }
    t
}

fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", format::sig3(v))
    } else if v < 0.0 {
        format!("−{}", format::sig3(-v))
    } else {
        "±0".into()
    }
}

fn signed_int(v: i64) -> String {
    match v.cmp(&0) {
        std::cmp::Ordering::Greater => format!("+{}", int(v as u64)),
        std::cmp::Ordering::Less => format!("−{}", int(v.unsigned_abs())),
        std::cmp::Ordering::Equal => "0".into(),
    }
}

/// Table rows for excluded candidates: the candidate id and why.
fn excluded_rows(excluded: &[ExcludedRow]) -> Vec<Vec<String>> {
    excluded
        .iter()
        .map(|e| {
            vec![
                format!("<code>{}</code>", esc(&e.candidate)),
                esc(&e.reason),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::{chart_points, MAX_CHART_POINTS};

    #[test]
    fn long_utilisation_series_are_resampled_by_time_weighted_mean() {
        let short = [UtilPoint { t_s: 0, busy: 3 }, UtilPoint { t_s: 5, busy: 1 }];
        assert_eq!(chart_points(&short, 10), vec![(0.0, 3.0), (5.0, 1.0)]);
        // Alternating 0 and 10 every second for 10,000 s: each bin averages 5.
        let long: Vec<UtilPoint> = (0..10_000)
            .map(|t| UtilPoint {
                t_s: t,
                busy: if t % 2 == 0 { 10 } else { 0 },
            })
            .collect();
        let pts = chart_points(&long, 12_000);
        assert_eq!(pts.len(), MAX_CHART_POINTS);
        // 10 s bins: the first 1,000 bins hold the alternation, the rest are idle.
        assert!((pts[0].1 - 5.0).abs() < 1e-9, "{:?}", pts[0]);
        assert!((pts[500].1 - 5.0).abs() < 1e-9);
        assert_eq!(pts[1100].1, 0.0);
        // The mean over the horizon is kept.
        let mean: f64 = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
        assert!((mean - 5.0 * 10_000.0 / 12_000.0).abs() < 1e-6);
    }
}
