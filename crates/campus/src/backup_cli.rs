//! `campus backup <file>`: a consistent copy of the embedded SQLite database, taken while the
//! server keeps serving. (PostgreSQL is backed up with `pg_dump`; see the README.)

use std::path::PathBuf;

use anyhow::Context as _;
use campus_store::{Database, DatabaseConfig};

/// Everything `campus backup` is configured with.
#[derive(Debug, Clone, clap::Args)]
pub struct BackupSettings {
    /// Where to write the copy; must not exist yet.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub database: DatabaseConfig,
}

/// Writes the copy.
pub async fn run(settings: &BackupSettings) -> anyhow::Result<()> {
    anyhow::ensure!(
        !settings.file.exists(),
        "{} exists already; choose a new file",
        settings.file.display()
    );
    let database = Database::connect_lazy(&settings.database)?;
    database
        .backup_to(&settings.file)
        .await
        .with_context(|| format!("backing up {:?}", settings.database.url))?;
    database.close().await;
    println!("backed up to {}", settings.file.display());
    Ok(())
}
