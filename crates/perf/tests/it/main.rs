//! Integration tests of the performance model: calibration against published runs and
//! properties that must hold for any input.

mod calibration;
mod corpus;
mod layers;
mod parallel;
mod properties;
mod serving;
mod support;
