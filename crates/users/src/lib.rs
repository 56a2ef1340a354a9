//! The users service: schools (the tenants), user accounts, login sessions, and the keys that
//! sign the access tokens every other service trusts.
//!
//! # Layout
//! - [`config`]: token lifetimes, the signing key, login throttling (`CAMPUS_JWT_*`, `CAMPUS_LOGIN_*`).
//! - `domain`: valid emails, passwords, names, slugs; roles as stored; cursors.
//! - `error`: [`UsersError`] and its one mapping to `tonic::Status`.
//! - `messages`: stored rows as API messages.
//! - `password`: argon2id hashing, bounded.
//! - `keys`: Ed25519 signing keys and the JWKS.
//! - `sessions`: issuing access and refresh tokens.
//! - `throttle`: failed-login limits per account and address.
//! - `schools`, `accounts`, `login`: the handlers, one module per aggregate.
//! - `store`: SQL; `service`: the gRPC trait, delegating to the above.
//! - `fuzzing` (feature `fuzzing`): the request checks, for the fuzz targets.

mod accounts;
pub mod config;
mod domain;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod keys;
mod login;
mod messages;
mod password;
mod schools;
mod service;
mod sessions;
mod store;
mod throttle;

use std::sync::Arc;

use campus_proto::users::{Role, users_service_server::UsersServiceServer};
use campus_runtime::auth::AuthConfig;
use campus_store::{Database, Migrations, Store};

pub use config::UsersConfig;

/// What a gRPC handler answers.
type Reply<T> = Result<tonic::Response<T>, tonic::Status>;
pub use error::UsersError;

use crate::{keys::SigningKeys, password::Passwords, sessions::Sessions, throttle::LoginThrottle};

/// The users service's tables.
pub const MIGRATIONS: Migrations = Migrations {
    name: "users",
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};

/// Methods anyone may call without a token: login and sign-up pages, token refresh, and the
/// public keys.
pub const PUBLIC_METHODS: &[&str] = &[
    "/campus.users.v1.UsersService/GetSchool",
    "/campus.users.v1.UsersService/RegisterUser",
    "/campus.users.v1.UsersService/Login",
    "/campus.users.v1.UsersService/RefreshToken",
    "/campus.users.v1.UsersService/Logout",
    "/campus.users.v1.UsersService/GetJwks",
];

/// The users service.
#[derive(Debug, Clone)]
pub struct Users {
    store: Store,
    keys: Arc<SigningKeys>,
    passwords: Passwords,
    throttle: LoginThrottle,
    config: UsersConfig,
    auth: AuthConfig,
}

impl Users {
    /// The service on `store`, signing tokens as `auth` says.
    pub fn new(store: &Store, config: &UsersConfig, auth: &AuthConfig) -> Result<Self, UsersError> {
        Ok(Self {
            keys: Arc::new(SigningKeys::new(store.database.clone(), config)?),
            passwords: Passwords::new(config.password_hash_concurrency),
            throttle: LoginThrottle::new(store.redis.clone(), config),
            store: store.clone(),
            config: config.clone(),
            auth: auth.clone(),
        })
    }

    fn sessions(&self) -> Sessions<'_> {
        Sessions {
            keys: &self.keys,
            auth: &self.auth,
            access_ttl: self.config.access_ttl,
            refresh_ttl: self.config.refresh_ttl,
        }
    }
}

/// The tonic service for the server builder, with the process's message size limit applied
/// both ways (tonic leaves outgoing messages unlimited).
pub fn service(users: Users, max_message_size: usize) -> UsersServiceServer<Users> {
    UsersServiceServer::new(users)
        .max_decoding_message_size(max_message_size)
        .max_encoding_message_size(max_message_size)
}

/// Creates a platform admin (for a fresh install, from `campus users create-admin`);
/// returns the new user's id.
pub async fn create_platform_admin(
    store: &Store,
    config: &UsersConfig,
    auth: &AuthConfig,
    email: &str,
    display_name: &str,
    password: &str,
) -> Result<String, UsersError> {
    let users = Users::new(store, config, auth)?;
    let user = users
        .add_user(
            "users.CreateAdmin".to_owned(),
            "",
            accounts::NewUser {
                school_id: None,
                email,
                display_name,
                password,
                roles: vec![Role::PlatformAdmin],
            },
        )
        .await?;
    Ok(user.id)
}

/// Adds a new token signing key and retires the others (`campus users rotate-key`).
pub async fn rotate_signing_key(database: &Database) -> Result<String, UsersError> {
    keys::rotate(database).await
}

use campus_runtime::api::timestamp;
