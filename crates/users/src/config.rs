//! Flags of the users service, with environment fallbacks.

use std::{path::PathBuf, time::Duration};

/// Token lifetimes, the signing key, and login throttling.
#[derive(Debug, Clone, clap::Args)]
pub struct UsersConfig {
    /// Lifetime of access tokens; short, since they cannot be revoked.
    #[arg(
        long = "jwt-access-ttl",
        env = "CAMPUS_JWT_ACCESS_TTL",
        value_name = "CAMPUS_JWT_ACCESS_TTL",
        default_value = "15m",
        value_parser = humantime::parse_duration
    )]
    pub access_ttl: Duration,

    /// Lifetime of refresh tokens (each use rotates the token but keeps this expiry horizon).
    #[arg(
        long = "jwt-refresh-ttl",
        env = "CAMPUS_JWT_REFRESH_TTL",
        value_name = "CAMPUS_JWT_REFRESH_TTL",
        default_value = "30days",
        value_parser = humantime::parse_duration
    )]
    pub refresh_ttl: Duration,

    /// PEM file (PKCS#8) with the Ed25519 key that signs access tokens. Unset (and
    /// `CAMPUS_JWT_PRIVATE_KEY` unset): a key is generated and kept in the database.
    #[arg(
        long = "jwt-private-key-file",
        env = "CAMPUS_JWT_PRIVATE_KEY_FILE",
        value_name = "CAMPUS_JWT_PRIVATE_KEY_FILE"
    )]
    pub private_key_file: Option<PathBuf>,

    /// The signing key itself, PEM (PKCS#8), e.g. from a Kubernetes Secret.
    #[arg(
        long = "jwt-private-key",
        env = "CAMPUS_JWT_PRIVATE_KEY",
        value_name = "CAMPUS_JWT_PRIVATE_KEY",
        hide_env_values = true
    )]
    pub private_key: Option<String>,

    /// Failed logins of one account within the window before its logins are refused.
    #[arg(
        long = "login-max-failures",
        env = "CAMPUS_LOGIN_MAX_FAILURES",
        value_name = "CAMPUS_LOGIN_MAX_FAILURES",
        default_value_t = 10
    )]
    pub login_max_failures: u32,

    /// Failed logins from one client address within the window before its logins are refused.
    #[arg(
        long = "login-max-failures-per-address",
        env = "CAMPUS_LOGIN_MAX_FAILURES_PER_ADDRESS",
        value_name = "CAMPUS_LOGIN_MAX_FAILURES_PER_ADDRESS",
        default_value_t = 100
    )]
    pub login_max_failures_per_address: u32,

    /// The window failed logins are counted in; a throttled account may log in again after it.
    #[arg(
        long = "login-failure-window",
        env = "CAMPUS_LOGIN_FAILURE_WINDOW",
        value_name = "CAMPUS_LOGIN_FAILURE_WINDOW",
        default_value = "15m",
        value_parser = humantime::parse_duration
    )]
    pub login_failure_window: Duration,

    /// Password hashes computed at once (each takes 19 MiB), so a login flood cannot
    /// exhaust memory.
    #[arg(
        long = "password-hash-concurrency",
        env = "CAMPUS_PASSWORD_HASH_CONCURRENCY",
        value_name = "CAMPUS_PASSWORD_HASH_CONCURRENCY",
        default_value_t = 4
    )]
    pub password_hash_concurrency: usize,
}
