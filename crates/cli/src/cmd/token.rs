//! `xpufleet token create`: a new API token for `xpufleet serve`. The token is printed once, as
//! the last line; the database keeps only its SHA-256 digest.

use anyhow::{anyhow, Context, Result};
use xpufleet_store::{token, DatabaseUrl, Store};

use crate::common::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Create a token and print it.
    Create {
        /// admin, compliance, planner or viewer.
        #[arg(long, value_name = "ROLE")]
        role: String,
        /// Who or what holds it (recorded with the changes it makes).
        #[arg(long, value_name = "NAME")]
        name: String,
        /// The server's database.
        #[arg(long, default_value = super::serve::DEFAULT_DATABASE, value_name = "URL")]
        database: String,
    },
}

pub fn run(_ctx: &Ctx, args: Args) -> Result<()> {
    let Action::Create {
        role,
        name,
        database,
    } = args.action;
    let name = xpufleet_store::tokens::check_new_token(&name, &role)
        .map_err(|(field, why)| anyhow!("--{field}: {why}"))?
        .to_string();
    let url = DatabaseUrl(database);
    let tok = token::generate().map_err(|e| anyhow!(e))?;
    super::serve::runtime()?.block_on(async {
        let store = Store::open(&url)
            .await
            .with_context(|| format!("opening the database {url}"))?;
        // Audited as made on this machine by the account that ran the command.
        let by = std::env::var("USER")
            .map(|u| format!("local:{u}"))
            .unwrap_or_else(|_| "local".into());
        store
            .issue_token(&token::hash(&tok), &name, &role, &by)
            .await?;
        store.close().await;
        anyhow::Ok(())
    })?;
    println!("token for {name} ({role}); it is shown only once:");
    println!("{tok}");
    Ok(())
}
