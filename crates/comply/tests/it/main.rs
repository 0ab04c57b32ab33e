//! Integration tests of the rule engine against the shipped rule packs: one test per rule, each
//! named and documented with the primary text it follows, plus property tests of the engine's
//! invariants. One test binary (see `/work/shared/style.md`: link time on 2 cores).

mod drawdown;
mod engine;
mod fixture;
mod licence;
mod props;
mod review;
mod rules;
mod screening;
mod uses;
mod verify;
