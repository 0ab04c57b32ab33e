//! Discrete-event simulation of the fleet, driving the production scheduler in `sched`.

pub mod gen;
