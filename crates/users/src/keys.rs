//! The Ed25519 keys that sign access tokens and the public key set (JWKS) verifiers fetch.
//!
//! A key given in configuration (`CAMPUS_JWT_PRIVATE_KEY[_FILE]`) is used as is. Otherwise
//! keys live in the database: one is generated on first use, `campus users rotate-key`
//! adds a new one and retires the others, and a retired key stays published until every
//! token it signed has expired. Replicas re-read the keys every minute.

use std::time::{Duration, Instant};

use base64::Engine as _;
use campus_proto::users::Jwk;
use campus_store::{Database, on_pool};
use ed25519_dalek::{
    SigningKey,
    pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _},
};
use jsonwebtoken::EncodingKey;
use rand::RngCore as _;
use sha2::Digest as _;
use tokio::sync::RwLock;

use crate::{config::UsersConfig, error::UsersError, store::now_micros, timestamp};

/// How long keys read from the database are trusted before being read again.
const RELOAD_AFTER: Duration = Duration::from_secs(60);

/// One signing key.
#[derive(Clone)]
struct Key {
    kid: String,
    encoding: EncodingKey,
    /// The public key, base64url (the JWK `x`).
    x: String,
    created_at: i64,
    retired_at: Option<i64>,
}

impl Key {
    fn from_signing_key(
        signing: &SigningKey,
        created_at: i64,
        retired_at: Option<i64>,
    ) -> Result<(Self, Vec<u8>), UsersError> {
        let der = signing
            .to_pkcs8_der()
            .map_err(|e| UsersError::internal("the signing keys", e))?
            .as_bytes()
            .to_vec();
        let public = signing.verifying_key().to_bytes();
        let kid = hex::encode(&sha2::Sha256::digest(public)[..8]);
        let key = Self {
            kid,
            encoding: EncodingKey::from_ed_der(&der),
            x: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public),
            created_at,
            retired_at,
        };
        Ok((key, der))
    }

    fn jwk(&self) -> Jwk {
        Jwk {
            kid: self.kid.clone(),
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            alg: "EdDSA".into(),
            x: self.x.clone(),
            created_at: Some(timestamp(self.created_at)),
            retired_at: self.retired_at.map(timestamp),
        }
    }
}

/// The signing keys of the users service.
pub(crate) struct SigningKeys {
    database: Database,
    configured: Option<Key>,
    access_ttl: Duration,
    /// Database keys, newest first, and when they were read.
    loaded: RwLock<Option<(Instant, Vec<Key>)>>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys")
            .field("configured", &self.configured.as_ref().map(|key| &key.kid))
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// Keys from configuration, or from `database`. A configured key that does not parse is
    /// an error naming its variable.
    pub(crate) fn new(database: Database, config: &UsersConfig) -> Result<Self, UsersError> {
        let pem = match (&config.private_key, &config.private_key_file) {
            (Some(pem), _) => Some((pem.clone(), "CAMPUS_JWT_PRIVATE_KEY")),
            (None, Some(path)) => Some((
                std::fs::read_to_string(path).map_err(|e| {
                    UsersError::internal(
                        "the signing keys",
                        format!("CAMPUS_JWT_PRIVATE_KEY_FILE: {}: {e}", path.display()),
                    )
                })?,
                "CAMPUS_JWT_PRIVATE_KEY_FILE",
            )),
            (None, None) => None,
        };
        let configured = match pem {
            Some((pem, variable)) => {
                let signing = SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
                    UsersError::internal(
                        "the signing keys",
                        format!("{variable}: not an Ed25519 PKCS#8 PEM key: {e}"),
                    )
                })?;
                Some(Key::from_signing_key(&signing, now_micros(), None)?.0)
            }
            None => None,
        };
        Ok(Self {
            database,
            configured,
            access_ttl: config.access_ttl,
            loaded: RwLock::new(None),
        })
    }

    /// The key new tokens are signed with: `(kid, key)`.
    pub(crate) async fn current(&self) -> Result<(String, EncodingKey), UsersError> {
        if let Some(key) = &self.configured {
            return Ok((key.kid.clone(), key.encoding.clone()));
        }
        let keys = self.database_keys().await?;
        if let Some(key) = keys.iter().find(|key| key.retired_at.is_none()) {
            return Ok((key.kid.clone(), key.encoding.clone()));
        }
        let key = generate(&self.database, false).await?;
        *self.loaded.write().await = None;
        Ok((key.kid, key.encoding))
    }

    /// The public keys that verify tokens still valid: current keys and keys retired less
    /// than an access token lifetime ago.
    pub(crate) async fn jwks(&self) -> Result<Vec<Jwk>, UsersError> {
        if let Some(key) = &self.configured {
            return Ok(vec![key.jwk()]);
        }
        let mut keys = self.database_keys().await?;
        if keys.iter().all(|key| key.retired_at.is_some()) {
            self.current().await?;
            keys = self.database_keys().await?;
        }
        let horizon = now_micros()
            - i64::try_from((self.access_ttl + Duration::from_secs(60)).as_micros())
                .unwrap_or(i64::MAX / 2);
        Ok(keys
            .iter()
            .filter(|key| key.retired_at.is_none_or(|retired| retired > horizon))
            .map(Key::jwk)
            .collect())
    }

    async fn database_keys(&self) -> Result<Vec<Key>, UsersError> {
        if let Some((at, keys)) = self.loaded.read().await.as_ref()
            && at.elapsed() < RELOAD_AFTER
        {
            return Ok(keys.clone());
        }
        let rows: Vec<(String, Vec<u8>, i64, Option<i64>)> = on_pool!(&self.database, pool => {
            sqlx::query_as(
                "SELECT kid, private_der, created_at, retired_at FROM signing_keys \
                 ORDER BY created_at DESC",
            )
            .fetch_all(pool)
            .await
        })?;
        let mut keys = Vec::with_capacity(rows.len());
        for (kid, der, created_at, retired_at) in rows {
            let signing = SigningKey::from_pkcs8_der(&der).map_err(|e| {
                UsersError::internal(
                    "the signing keys",
                    format!("signing key {kid} does not parse: {e}"),
                )
            })?;
            keys.push(Key::from_signing_key(&signing, created_at, retired_at)?.0);
        }
        *self.loaded.write().await = Some((Instant::now(), keys.clone()));
        Ok(keys)
    }
}

/// Generates a key and stores it; with `retire_others`, the other keys are retired (they
/// stay published until their tokens expire). Returns the new key.
async fn generate(database: &Database, retire_others: bool) -> Result<Key, UsersError> {
    let mut seed = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let signing = SigningKey::from_bytes(&seed);
    let now = now_micros();
    let (key, der) = Key::from_signing_key(&signing, now, None)?;
    let mut tx = database.begin().await?;
    campus_store::on_tx!(&mut tx, conn => {
        if retire_others {
            sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
                .bind(now)
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query(
            "INSERT INTO signing_keys (kid, private_der, public_x, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&key.kid)
        .bind(&der)
        .bind(&key.x)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    })?;
    tx.commit().await?;
    tracing::info!(kid = %key.kid, "generated a token signing key");
    Ok(key)
}

/// Adds a new signing key and retires the others (`campus users rotate-key`); returns its kid.
pub(crate) async fn rotate(database: &Database) -> Result<String, UsersError> {
    Ok(generate(database, true).await?.kid)
}
