//! `xpufleet fleet`.

use anyhow::Result;

use crate::common::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("`xpufleet fleet` is not built yet")
}
