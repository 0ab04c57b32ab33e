//! Tests of the planner: a hand-solved scenario, the built-in example, infeasible scenarios,
//! plan diffs, and property tests on generated scenarios. One binary keeps link time down.

mod diff;
mod example;
mod hand;
mod hard;
mod infeasible;
mod licence;
mod periods;
mod props;
mod risk;
mod robust;
mod serve_periods;
mod serving;
mod solvers;
mod support;
