//! `campus users …`: operator commands of the users service, run against its database.

use anyhow::Context as _;
use campus_runtime::auth::AuthConfig;
use campus_store::{DatabaseConfig, RedisConfig, RetentionConfig, Store};
use campus_users::UsersConfig;
use prometheus::Registry;

use crate::Role;

/// `campus users` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum UsersCommand {
    /// Create a platform admin (who can then create schools). The password is read from
    /// `CAMPUS_ADMIN_PASSWORD` or, with `--password-stdin`, from standard input (as through
    /// `kubectl exec -i`), so it stays out of shell history and process lists.
    CreateAdmin {
        /// The admin's email (their login).
        #[arg(long)]
        email: String,
        /// The admin's display name.
        #[arg(long, default_value = "Platform admin")]
        display_name: String,
        /// The admin's password.
        #[arg(
            long = "password",
            env = "CAMPUS_ADMIN_PASSWORD",
            value_name = "CAMPUS_ADMIN_PASSWORD",
            hide_env_values = true,
            required_unless_present = "password_stdin"
        )]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
    },
    /// Add a new token signing key and retire the others; tokens they signed stay valid
    /// until they expire. Replicas pick the new key up within a minute.
    RotateKey,
}

/// Everything `campus users` is configured with.
#[derive(Debug, Clone, clap::Args)]
pub struct UsersSettings {
    #[command(subcommand)]
    #[allow(missing_docs)]
    pub command: UsersCommand,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub auth: AuthConfig,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub users: UsersConfig,
}

/// Runs a `campus users` command; prints what it created.
pub async fn run(settings: &UsersSettings) -> anyhow::Result<()> {
    let store = Store::connect_lazy(
        &settings.database,
        &RedisConfig {
            url: None,
            timeout: std::time::Duration::from_millis(250),
            prefix: String::new(),
            ca_file: None,
        },
        &RetentionConfig {
            outbox_retention: std::time::Duration::from_secs(24 * 60 * 60),
            retained: 0,
            idempotency_retention: std::time::Duration::from_secs(24 * 60 * 60),
        },
        &Registry::new(),
    )?;
    store
        .database
        .ping()
        .await
        .with_context(|| format!("connecting to {:?}", settings.database.url))?;
    store.database.migrate(&Role::Users.migrations()).await?;
    match &settings.command {
        UsersCommand::CreateAdmin {
            email,
            display_name,
            password,
            password_stdin,
        } => {
            let password = match password {
                Some(password) if !password_stdin => password.clone(),
                _ => password_from_stdin()?,
            };
            let id = campus_users::create_platform_admin(
                &store,
                &settings.users,
                &settings.auth,
                email,
                display_name,
                &password,
            )
            .await
            .map_err(|error| {
                anyhow::anyhow!("{}", tonic::Status::from(error).message().to_owned())
            })?;
            println!("created platform admin {email} ({id})");
        }
        UsersCommand::RotateKey => {
            let kid = campus_users::rotate_signing_key(&store.database).await?;
            println!("new signing key {kid}; the others are retired");
        }
    }
    store.database.close().await;
    Ok(())
}

/// The first line of standard input, without its line ending.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("--password-stdin: reading standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(
        !password.is_empty(),
        "--password-stdin: standard input held no password"
    );
    Ok(password)
}
