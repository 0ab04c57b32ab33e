//! Inline SVG charts: horizontal bars (grouped or stacked), step/line charts and a job
//! timeline, each with axes, units and a legend.
//!
//! Hand-written rather than drawn with plotters: the charts then take their fonts and colours
//! from the page's stylesheet, scale with the page (a `viewBox`, no fixed pixel size), carry
//! `<title>` tooltips, and their text is never measured by a font engine we do not ship. Every
//! coordinate is printed with one decimal so the output is byte-stable.

use std::fmt::Write;

use crate::format::esc;

/// Categorical colours; kept for callers, `palette::CATEGORICAL` is the one list.
pub const PALETTE: [&str; 10] = crate::palette::CATEGORICAL;

/// The `i`-th palette colour, cycling (`palette::categorical`). Accelerators take theirs from
/// `palette::Palette`, never from a chart's own order.
pub fn color(i: usize) -> &'static str {
    crate::palette::categorical(i)
}

/// Width of a chart that shares a row with another, in SVG units (about its on-screen pixels in
/// a 1400 px window, so 12-unit text reads as 12 px).
pub const HALF: f64 = 640.0;
/// Width of a chart that has a row to itself.
pub const FULL: f64 = 1300.0;
/// Rough advance of one character of the 12 px chart font, for layout only.
const CHAR_W: f64 = 6.6;

/// Tick step of 1, 2, 2.5 or 5 × 10^k giving about `target` ticks over `[0, max]`.
pub fn nice_step(max: f64, target: usize) -> f64 {
    if !max.is_finite() || max <= 0.0 {
        return 1.0;
    }
    let raw = max / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let n = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    n * mag
}

/// Ticks from 0 to the first multiple of the step at or above `max`.
pub fn ticks(max: f64, target: usize) -> Vec<f64> {
    let step = nice_step(max, target);
    let n = if max > 0.0 && max.is_finite() {
        (max / step - 1e-9).ceil().max(1.0) as usize
    } else {
        1
    };
    (0..=n).map(|i| i as f64 * step).collect()
}

/// Ticks over `[lo, hi]` from the nice-step multiple at or below `lo` to the one at or above
/// `hi`, for axes that need not start at 0 (a tornado chart's bars all sit far from it).
pub fn range_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi < lo {
        return ticks(hi.max(0.0), target);
    }
    let span = if hi > lo {
        hi - lo
    } else {
        lo.abs().max(1.0) * 0.1
    };
    let step = nice_step(span, target);
    let first = (lo / step + 1e-9).floor();
    let last = (hi / step - 1e-9).ceil().max(first + 1.0);
    (0..=(last - first) as usize)
        .map(|i| (first + i as f64) * step)
        .collect()
}

fn trunc(label: &str, max_chars: usize) -> String {
    if label.chars().count() <= max_chars {
        label.to_string()
    } else {
        let mut s: String = label.chars().take(max_chars - 1).collect();
        s.push('…');
        s
    }
}

/// One named, coloured series of a bar chart: a value per category.
#[derive(Debug, Clone)]
pub struct BarSeries {
    pub name: String,
    pub color: String,
    pub values: Vec<f64>,
}

/// Horizontal bars: categories down the side, values along the bottom axis.
pub struct Bars<'a> {
    /// `HALF` or `FULL`.
    pub width: f64,
    pub categories: Vec<String>,
    pub series: Vec<BarSeries>,
    /// Stack the series in one bar per category; otherwise one bar per series side by side.
    pub stacked: bool,
    /// Axis title with its unit ("Spend (USD)").
    pub axis_label: String,
    /// Formats ticks and value labels.
    pub fmt: &'a dyn Fn(f64) -> String,
    /// One sentence for screen readers.
    pub desc: String,
}

/// Legend items laid out left to right, wrapping; returns the SVG and the height used.
pub(crate) fn legend(items: &[(String, String)], x0: f64, y0: f64, max_x: f64) -> (String, f64) {
    let mut s = String::from("<g class=\"legend\">");
    let (mut x, mut y) = (x0, y0);
    for (name, col) in items {
        let w = 22.0 + name.chars().count() as f64 * CHAR_W + 14.0;
        if x + w > max_x && x > x0 {
            x = x0;
            y += 18.0;
        }
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{col}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            y - 10.0,
            x + 17.0,
            y,
            esc(name)
        );
        x += w;
    }
    s.push_str("</g>");
    (s, y - y0 + 18.0)
}

pub(crate) fn svg_open(s: &mut String, w: f64, h: f64, desc: &str) {
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w:.0} {h:.0}\" role=\"img\" \
         preserveAspectRatio=\"xMinYMin meet\"><desc>{}</desc>",
        esc(desc)
    );
}

/// Renders horizontal bars.
pub fn hbar(b: &Bars) -> String {
    let width = b.width;
    let n_cat = b.categories.len().max(1);
    let n_ser = b.series.len().max(1);
    let longest = b
        .categories
        .iter()
        .map(|c| c.chars().count().min(34))
        .max()
        .unwrap_or(4);
    let x0 = (longest as f64 * CHAR_W + 16.0).clamp(70.0, 250.0);
    let x1 = width - 76.0;
    let (leg, leg_h) = if b.series.len() > 1 {
        let items: Vec<(String, String)> = b
            .series
            .iter()
            .map(|s| (s.name.clone(), s.color.clone()))
            .collect();
        legend(&items, x0, 16.0, width - 10.0)
    } else {
        (String::new(), 0.0)
    };
    let y0 = leg_h + 10.0;
    let grouped = !b.stacked && n_ser > 1;
    let bar_h = if grouped { 13.0 } else { 20.0 };
    let band = if grouped {
        10.0 + n_ser as f64 * (bar_h + 2.0)
    } else {
        30.0
    };
    let y1 = y0 + n_cat as f64 * band;
    let h = y1 + 46.0;

    let value_at = |c: usize, s: &BarSeries| s.values.get(c).copied().unwrap_or(0.0).max(0.0);
    let max = (0..b.categories.len())
        .map(|c| {
            if b.stacked {
                b.series
                    .iter()
                    .map(|s| value_at(c, s))
                    .fold(0.0, |a, v| a + v)
            } else {
                b.series.iter().map(|s| value_at(c, s)).fold(0.0, f64::max)
            }
        })
        .fold(0.0, f64::max);
    let ts = ticks(max, 5);
    let top = *ts.last().expect("ticks are never empty");
    let sx = |v: f64| x0 + (x1 - x0) * (v / top);

    let mut s = String::new();
    svg_open(&mut s, width, h, &b.desc);
    s.push_str(&leg);
    // Grid and tick labels.
    s.push_str("<g class=\"grid\">");
    for t in &ts {
        let x = sx(*t);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{y0:.1}\" x2=\"{x:.1}\" y2=\"{y1:.1}\"/>"
        );
    }
    s.push_str("</g><g class=\"tick\">");
    for t in &ts {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            sx(*t),
            y1 + 16.0,
            esc(&(b.fmt)(*t))
        );
    }
    let _ = write!(
        s,
        "</g><text class=\"axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        (x0 + x1) / 2.0,
        y1 + 38.0,
        esc(&b.axis_label)
    );
    let _ = write!(
        s,
        "<line class=\"axis\" x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{x0:.1}\" y2=\"{y1:.1}\"/>"
    );
    // Bars.
    for (c, cat) in b.categories.iter().enumerate() {
        let by = y0 + c as f64 * band;
        let _ = write!(
            s,
            "<text class=\"cat\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}<title>{}</title></text>",
            x0 - 8.0,
            by + band / 2.0 + 4.0,
            esc(&trunc(cat, 34)),
            esc(cat)
        );
        if b.stacked {
            let mut acc = 0.0;
            let y = by + (band - bar_h) / 2.0;
            for ser in &b.series {
                let v = value_at(c, ser);
                if v > 0.0 {
                    let _ = write!(
                        s,
                        "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar_h:.1}\" fill=\"{}\"><title>{} · {}: {}</title></rect>",
                        sx(acc),
                        (sx(acc + v) - sx(acc)).max(0.5),
                        ser.color,
                        esc(cat),
                        esc(&ser.name),
                        esc(&(b.fmt)(v))
                    );
                }
                acc += v;
            }
            let _ = write!(
                s,
                "<text class=\"val\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                sx(acc) + 5.0,
                y + bar_h / 2.0 + 4.0,
                esc(&(b.fmt)(acc))
            );
        } else {
            for (k, ser) in b.series.iter().enumerate() {
                let v = value_at(c, ser);
                let y = if grouped {
                    by + 5.0 + k as f64 * (bar_h + 2.0)
                } else {
                    by + (band - bar_h) / 2.0
                };
                let _ = write!(
                    s,
                    "<rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar_h:.1}\" fill=\"{}\"><title>{} · {}: {}</title></rect>\
                     <text class=\"val\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                    (sx(v) - x0).max(if v > 0.0 { 0.5 } else { 0.0 }),
                    ser.color,
                    esc(cat),
                    esc(&ser.name),
                    esc(&(b.fmt)(v)),
                    sx(v) + 5.0,
                    y + bar_h / 2.0 + 4.0,
                    esc(&(b.fmt)(v))
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// One line of a line chart.
#[derive(Debug, Clone)]
pub struct LineSeries {
    pub name: String,
    pub color: String,
    /// Sorted by x.
    pub points: Vec<(f64, f64)>,
    /// Hold each value until the next point (a step function), and to `x_max` after the last.
    pub step: bool,
}

/// Lines over a shared x axis starting at 0.
pub struct Lines<'a> {
    pub width: f64,
    pub series: Vec<LineSeries>,
    pub x_label: String,
    pub y_label: String,
    pub x_max: f64,
    /// Fixed top of the y axis (100 for percentages); otherwise from the data.
    pub y_max: Option<f64>,
    pub x_fmt: &'a dyn Fn(f64) -> String,
    pub y_fmt: &'a dyn Fn(f64) -> String,
    pub desc: String,
}

/// Renders a line (or step) chart with a 240-unit-high plot.
pub fn lines(l: &Lines) -> String {
    lines_sized(l, 240.0)
}

/// Renders a line (or step) chart whose plot area is `plot_h` units high (small multiples use
/// a short one).
pub fn lines_sized(l: &Lines, plot_h: f64) -> String {
    let width = l.width;
    let x0 = 64.0;
    let x1 = width - 20.0;
    let items: Vec<(String, String)> = l
        .series
        .iter()
        .map(|s| (s.name.clone(), s.color.clone()))
        .collect();
    let (leg, leg_h) = legend(&items, x0, 16.0, width - 10.0);
    let y0 = leg_h + 14.0;
    let y1 = y0 + plot_h;
    let h = y1 + 50.0;
    let data_max = l
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let y_ticks = match l.y_max {
        Some(m) => {
            let step = nice_step(m, 4);
            let n = (m / step).round() as usize;
            (0..=n).map(|i| i as f64 * step).collect()
        }
        None => ticks(data_max, 4),
    };
    let y_top = *y_ticks.last().expect("ticks are never empty");
    let x_ticks = ticks(l.x_max, 6);
    let x_top = l.x_max.max(f64::MIN_POSITIVE);
    let sx = |v: f64| x0 + (x1 - x0) * (v / x_top).min(1.0);
    let sy = |v: f64| y1 - (y1 - y0) * (v / y_top);

    let mut s = String::new();
    svg_open(&mut s, width, h, &l.desc);
    s.push_str(&leg);
    s.push_str("<g class=\"grid\">");
    for t in &y_ticks {
        let y = sy(*t);
        let _ = write!(
            s,
            "<line x1=\"{x0:.1}\" y1=\"{y:.1}\" x2=\"{x1:.1}\" y2=\"{y:.1}\"/>"
        );
    }
    s.push_str("</g><g class=\"tick\">");
    for t in &y_ticks {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            x0 - 6.0,
            sy(*t) + 4.0,
            esc(&(l.y_fmt)(*t))
        );
    }
    for t in x_ticks.iter().filter(|t| **t <= l.x_max * (1.0 + 1e-9)) {
        let x = sx(*t);
        let _ = write!(
            s,
            "<line class=\"tickmark\" x1=\"{x:.1}\" y1=\"{y1:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            y1 + 4.0,
            y1 + 17.0,
            esc(&(l.x_fmt)(*t))
        );
    }
    let _ = write!(
        s,
        "</g><line class=\"axis\" x1=\"{x0:.1}\" y1=\"{y1:.1}\" x2=\"{x1:.1}\" y2=\"{y1:.1}\"/>\
         <line class=\"axis\" x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{x0:.1}\" y2=\"{y1:.1}\"/>\
         <text class=\"axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
         <text class=\"axis-title\" transform=\"translate(14 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        (x0 + x1) / 2.0,
        y1 + 40.0,
        esc(&l.x_label),
        (y0 + y1) / 2.0,
        esc(&l.y_label)
    );
    for ser in &l.series {
        let Some(first) = ser.points.first() else {
            continue;
        };
        let mut d = format!("M{:.1} {:.1}", sx(first.0), sy(first.1));
        for p in &ser.points[1..] {
            if ser.step {
                let _ = write!(d, "H{:.1}V{:.1}", sx(p.0), sy(p.1));
            } else {
                let _ = write!(d, "L{:.1} {:.1}", sx(p.0), sy(p.1));
            }
        }
        if ser.step {
            let _ = write!(d, "H{x1:.1}");
        }
        let _ = write!(
            s,
            "<path class=\"series\" d=\"{d}\" stroke=\"{}\"><title>{}</title></path>",
            ser.color,
            esc(&ser.name)
        );
    }
    s.push_str("</svg>");
    s
}

/// Colour of a rejected job's mark.
pub const REJECTED: &str = crate::palette::REJECTED;

/// One job on a timeline: waiting from `submit` to `start`, running from `start` to `end`.
#[derive(Debug, Clone)]
pub struct Span {
    pub label: String,
    pub submit: f64,
    pub start: Option<f64>,
    /// `None` while still running (drawn to the end of the axis).
    pub end: Option<f64>,
    pub color: String,
    /// Tooltip.
    pub title: String,
    /// The job can never run: drawn as a cross at its submission, not as waiting.
    pub rejected: bool,
}

pub struct Timeline<'a> {
    pub width: f64,
    pub rows: Vec<Span>,
    pub x_max: f64,
    pub x_label: String,
    pub x_fmt: &'a dyn Fn(f64) -> String,
    /// Colour key of the running bars (accelerator types), plus the waiting style.
    pub legend: Vec<(String, String)>,
    pub desc: String,
}

/// Renders a Gantt-style timeline, one row per job.
pub fn timeline(t: &Timeline) -> String {
    let width = t.width;
    let longest = t
        .rows
        .iter()
        .map(|r| r.label.chars().count().min(30))
        .max()
        .unwrap_or(4);
    let x0 = (longest as f64 * CHAR_W + 16.0).clamp(70.0, 220.0);
    let x1 = width - 20.0;
    let mut items = t.legend.clone();
    items.push(("waiting".into(), "#d9dde3".into()));
    if t.rows.iter().any(|r| r.rejected) {
        items.push(("rejected".into(), REJECTED.into()));
    }
    let (leg, leg_h) = legend(&items, x0, 16.0, width - 10.0);
    let y0 = leg_h + 10.0;
    let band = 20.0;
    let y1 = y0 + t.rows.len().max(1) as f64 * band;
    let h = y1 + 46.0;
    let xt = ticks(t.x_max, 6);
    let top = t.x_max.max(f64::MIN_POSITIVE);
    let sx = |v: f64| x0 + (x1 - x0) * (v / top).clamp(0.0, 1.0);

    let mut s = String::new();
    svg_open(&mut s, width, h, &t.desc);
    s.push_str(&leg);
    s.push_str("<g class=\"grid\">");
    for v in xt.iter().filter(|v| **v <= t.x_max * (1.0 + 1e-9)) {
        let x = sx(*v);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{y0:.1}\" x2=\"{x:.1}\" y2=\"{y1:.1}\"/>"
        );
    }
    s.push_str("</g><g class=\"tick\">");
    for v in xt.iter().filter(|v| **v <= t.x_max * (1.0 + 1e-9)) {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            sx(*v),
            y1 + 16.0,
            esc(&(t.x_fmt)(*v))
        );
    }
    let _ = write!(
        s,
        "</g><text class=\"axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
         <line class=\"axis\" x1=\"{x0:.1}\" y1=\"{y1:.1}\" x2=\"{x1:.1}\" y2=\"{y1:.1}\"/>",
        (x0 + x1) / 2.0,
        y1 + 38.0,
        esc(&t.x_label)
    );
    for (i, r) in t.rows.iter().enumerate() {
        let y = y0 + i as f64 * band;
        let _ = write!(
            s,
            "<text class=\"cat\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            x0 - 8.0,
            y + band / 2.0 + 4.0,
            esc(&trunc(&r.label, 30))
        );
        if r.rejected {
            // A cross at submission and nothing after: it never waited for a place.
            let (x, yc) = (sx(r.submit), y + band / 2.0);
            let _ = write!(
                s,
                "<g class=\"rejected\" stroke=\"{REJECTED}\" stroke-width=\"2.5\"><title>{}</title>\
                 <line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>\
                 <line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/></g>",
                esc(&r.title),
                x - 5.0,
                yc - 5.0,
                x + 5.0,
                yc + 5.0,
                x - 5.0,
                yc + 5.0,
                x + 5.0,
                yc - 5.0
            );
            continue;
        }
        let wait_end = r.start.unwrap_or(t.x_max);
        let _ = write!(
            s,
            "<rect class=\"wait\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"12\"><title>{}</title></rect>",
            sx(r.submit),
            y + 4.0,
            (sx(wait_end) - sx(r.submit)).max(1.0),
            esc(&r.title)
        );
        if let Some(st) = r.start {
            let en = r.end.unwrap_or(t.x_max);
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"14\" rx=\"2\" fill=\"{}\"><title>{}</title></rect>",
                sx(st),
                y + 3.0,
                (sx(en) - sx(st)).max(1.5),
                r.color,
                esc(&r.title)
            );
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_cover_the_max() {
        assert_eq!(ticks(10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(7.3, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(ticks(0.0, 5), vec![0.0, 1.0]);
        let t = ticks(12.3e9, 5);
        assert!(*t.last().unwrap() >= 12.3e9);
        assert!(t.len() <= 8);
        assert_eq!(nice_step(100.0, 4), 25.0);
    }

    #[test]
    fn bars_have_axes_legend_and_a_rect_per_value() {
        let f = |v: f64| format!("{v}");
        let svg = hbar(&Bars {
            width: HALF,
            categories: vec!["a".into(), "b<".into()],
            series: vec![
                BarSeries {
                    name: "x".into(),
                    color: color(0).into(),
                    values: vec![1.0, 2.0],
                },
                BarSeries {
                    name: "y".into(),
                    color: color(1).into(),
                    values: vec![3.0, 0.0],
                },
            ],
            stacked: false,
            axis_label: "Things (units)".into(),
            fmt: &f,
            desc: "test".into(),
        });
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(
            svg.matches("<rect x=\"").count(),
            2 + 4,
            "2 legend swatches + 4 bars"
        );
        assert!(svg.contains("Things (units)"));
        assert!(svg.contains("b&lt;"), "labels are escaped");
        assert!(svg.contains("class=\"legend\""));
    }

    #[test]
    fn step_lines_run_to_the_end_of_the_axis() {
        let f = |v: f64| format!("{v}");
        let svg = lines(&Lines {
            width: 760.0,
            series: vec![LineSeries {
                name: "h100".into(),
                color: color(0).into(),
                points: vec![(0.0, 50.0), (5.0, 100.0)],
                step: true,
            }],
            x_label: "t (h)".into(),
            y_label: "busy (%)".into(),
            x_max: 10.0,
            y_max: Some(100.0),
            x_fmt: &f,
            y_fmt: &f,
            desc: "d".into(),
        });
        assert!(svg.contains("H740.0\""), "{svg}");
        assert!(svg.contains("busy (%)"));
    }
}
