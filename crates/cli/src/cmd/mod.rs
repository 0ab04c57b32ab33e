//! One module per subcommand: its arguments and what it does.

#[cfg(feature = "serve")]
pub mod audit;
pub mod catalog;
pub mod check;
pub mod classify;
pub mod estimate;
pub mod estimate_serving;
pub mod export;
pub mod fleet;
pub mod import;
pub mod plan;
pub mod risk;
pub mod run;
#[cfg(feature = "serve")]
pub mod serve;
pub mod simulate;
pub mod sweep;
#[cfg(feature = "serve")]
pub mod token;
pub mod validate;
