//! Tests of the report crate: golden outputs from a fixed `ReportData`, and structural checks.

mod components;
mod fixture;
mod golden;
mod risk;
mod truth;
