//! `xpufleet token create`: a new API token for `xpufleet serve`. The token is printed once, as
//! the last line; the database keeps only its SHA-256 digest.

use anyhow::{anyhow, Context, Result};
use xpufleet_store::audit::NewEntry;
use xpufleet_store::usecases::{self, UseCaseError};
use xpufleet_store::{db::digest, DatabaseUrl, Store};

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
    // Refused before the database is opened (and perhaps created); the use case checks again.
    xpufleet_store::tokens::check_new_token(&name, &role)
        .map_err(|(field, why)| anyhow!("--{field}: {why}"))?;
    let url = DatabaseUrl(database);
    let created = super::serve::runtime()?.block_on(async {
        let store = Store::open(&url)
            .await
            .with_context(|| format!("opening the database {url}"))?;
        // Audited as made on this machine by the account that ran the command; the same use
        // case as `POST /api/v1/tokens`, so the same checks (role, name, no unrevoked twin).
        let by = std::env::var("USER")
            .map(|u| format!("local:{u}"))
            .unwrap_or_else(|_| "local".into());
        let entry = NewEntry {
            actor: by,
            role: "admin".into(),
            action: "xpufleet token create".into(),
            resource: format!("/api/v1/tokens/{}", name.trim()),
            body_sha256: digest(""),
            ..NewEntry::default()
        };
        let created = usecases::create_token(&store, entry, &name, &role, |_| None).await;
        store.close().await;
        created.map_err(|e| match e {
            UseCaseError::Invalid { field, message } => anyhow!("--{field}: {message}"),
            e => anyhow!(e),
        })
    })?;
    let (name, role, tok) = (created.name, created.role, created.token);
    println!("token for {name} ({role}); it is shown only once:");
    println!("{tok}");
    Ok(())
}
