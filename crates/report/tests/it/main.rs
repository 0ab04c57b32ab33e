//! Tests of the report crate: golden outputs from a fixed `ReportData`, and structural checks.

mod fixture;
mod golden;
mod risk;
mod truth;
