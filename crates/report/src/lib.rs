//! The xpufleet report: one data structure (`ReportData`) rendered as a self-contained HTML page
//! with inline SVG charts, as JSON and as one CSV file per table.
//!
//! **Architecture invariant:** rendering is pure. This crate turns `ReportData` into strings and
//! never opens a file or reads the clock; the CLI writes what it returns. The same `ReportData`
//! always renders to the same bytes.

pub mod build;
pub mod chart;
pub mod components;
pub mod data;
pub mod format;
pub mod html;
pub mod palette;
pub mod periods;
pub mod risk;
pub mod serving;
pub mod tables;

pub use build::{mean_utilisation, percentile, spend_by, Standing};
pub use data::*;
pub use html::{render_html, CHART_IDS};
pub use palette::Palette;
pub use tables::{csv_files, CSV_NAMES};

/// The report as pretty JSON, ending with a newline.
pub fn to_json(r: &ReportData) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("report data always serialises");
    s.push('\n');
    s
}

/// Every output file as `(file name, contents)`: `report.html`, `report.json`, then the CSVs.
pub fn render_all(r: &ReportData) -> Vec<(String, String)> {
    let mut files = vec![
        ("report.html".to_string(), render_html(r)),
        ("report.json".to_string(), to_json(r)),
    ];
    files.extend(csv_files(r));
    files
}
