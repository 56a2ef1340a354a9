//! `campus migrate`: applies every migration of every service, then exits; for deployments
//! that migrate in a Job before rolling out new replicas.

use anyhow::Context as _;
use campus_store::{Database, DatabaseConfig};

use crate::Role;

/// Everything `campus migrate` is configured with.
#[derive(Debug, Clone, clap::Args)]
pub struct MigrateSettings {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub database: DatabaseConfig,
}

/// Applies the migrations of every service to the configured database.
pub async fn migrate(settings: &MigrateSettings) -> anyhow::Result<()> {
    let database = Database::connect_lazy(&settings.database)?;
    database
        .ping()
        .await
        .with_context(|| format!("connecting to {:?}", settings.database.url))?;
    database.migrate(&Role::All.migrations()).await?;
    database.close().await;
    Ok(())
}
