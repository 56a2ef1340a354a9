//! `campus finance …`: operator commands of the finance service.

use anyhow::Context as _;
use campus_store::{Database, DatabaseConfig};

use crate::Role;

/// `campus finance` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum FinanceCommand {
    /// Check every account's stored balance against its ledger entries, and every transfer's
    /// two legs against zero. Prints each difference; exits non-zero if there is any.
    Reconcile,
}

/// Everything `campus finance` is configured with.
#[derive(Debug, Clone, clap::Args)]
pub struct FinanceSettings {
    #[command(subcommand)]
    #[allow(missing_docs)]
    pub command: FinanceCommand,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub database: DatabaseConfig,
}

/// Runs a `campus finance` command; `Ok(false)` means it found differences.
pub async fn run(settings: &FinanceSettings) -> anyhow::Result<bool> {
    let database = Database::connect_lazy(&settings.database)?;
    database
        .ping()
        .await
        .with_context(|| format!("connecting to {:?}", settings.database.url))?;
    database.migrate(&Role::Finance.migrations()).await?;
    let clean = match settings.command {
        FinanceCommand::Reconcile => {
            let found = campus_finance::reconcile(&database)
                .await
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            for mismatch in &found.balances {
                println!(
                    "account {}: stored balance {} but opening balance + entries = {}",
                    mismatch.account_id, mismatch.stored, mismatch.computed
                );
            }
            for transfer in &found.transfers {
                println!(
                    "transfer {}: {} legs summing to {}",
                    transfer.transfer_id, transfer.legs, transfer.legs_sum
                );
            }
            if found.is_clean() {
                println!(
                    "reconciled: every balance equals its entries and every transfer nets to zero"
                );
            }
            found.is_clean()
        }
    };
    database.close().await;
    Ok(clean)
}
