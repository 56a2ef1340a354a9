//! The public keys that verify access tokens, fetched from the users service (`GetJwks`) and
//! refreshed when a token names a key not seen yet (at most once a second, so a flood of
//! forged `kid`s cannot turn into a flood of key fetches). While the users service cannot be
//! reached, an unknown key means "cannot verify now", not "invalid token": clients retry
//! instead of throwing their tokens away.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use campus_proto::users::{GetJwksRequest, Jwk, users_service_client::UsersServiceClient};
use jsonwebtoken::DecodingKey;
use tokio::sync::{Mutex, RwLock};

use crate::client::Peer;

/// Shortest time between two fetches of the key set.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// Where key sets come from.
#[async_trait::async_trait]
pub trait KeySource: Send + Sync + 'static {
    /// The current public keys.
    async fn fetch(&self) -> Result<Vec<Jwk>, tonic::Status>;
}

#[async_trait::async_trait]
impl KeySource for Peer {
    async fn fetch(&self) -> Result<Vec<Jwk>, tonic::Status> {
        let answer = self
            .idempotent(|channel| async move {
                UsersServiceClient::new(channel)
                    .get_jwks(GetJwksRequest {})
                    .await
            })
            .await?;
        Ok(answer.into_inner().keys)
    }
}

/// The users service could not be asked for the key a token names.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the token keys cannot be fetched from the users service")]
pub struct KeysUnavailable;

/// When the set was last fetched, and whether that fetch failed.
#[derive(Debug, Default)]
struct LastFetch {
    at: Option<Instant>,
    failed: bool,
}

/// Cached verification keys by `kid`.
#[derive(Clone)]
pub struct KeySet {
    keys: Arc<RwLock<HashMap<String, Arc<DecodingKey>>>>,
    last_fetch: Arc<Mutex<LastFetch>>,
    source: Arc<dyn KeySource>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet").finish_non_exhaustive()
    }
}

impl KeySet {
    /// An empty set that fetches from `source` on first use.
    pub fn new(source: impl KeySource) -> Self {
        Self {
            keys: Arc::default(),
            last_fetch: Arc::default(),
            source: Arc::new(source),
        }
    }

    /// The key with this `kid`, fetching the set again if it is unknown: `Ok(None)` when the
    /// users service answered without it, [`KeysUnavailable`] when it could not be asked.
    pub async fn get(&self, kid: &str) -> Result<Option<Arc<DecodingKey>>, KeysUnavailable> {
        if let Some(key) = self.keys.read().await.get(kid) {
            return Ok(Some(Arc::clone(key)));
        }
        let failed = self.refresh().await;
        match self.keys.read().await.get(kid) {
            Some(key) => Ok(Some(Arc::clone(key))),
            None if failed => Err(KeysUnavailable),
            None => Ok(None),
        }
    }

    /// Fetches the set again, unless it was fetched less than a second ago; whether the latest
    /// fetch failed.
    async fn refresh(&self) -> bool {
        let mut last_fetch = self.last_fetch.lock().await;
        if last_fetch
            .at
            .is_some_and(|at| at.elapsed() < MIN_REFRESH_INTERVAL)
        {
            return last_fetch.failed;
        }
        last_fetch.at = Some(Instant::now());
        last_fetch.failed = match self.source.fetch().await {
            Ok(jwks) => {
                let keys = jwks
                    .iter()
                    .filter(|jwk| jwk.kty == "OKP" && jwk.crv == "Ed25519" && jwk.alg == "EdDSA")
                    .filter_map(|jwk| {
                        DecodingKey::from_ed_components(&jwk.x)
                            .ok()
                            .map(|key| (jwk.kid.clone(), Arc::new(key)))
                    })
                    .collect();
                *self.keys.write().await = keys;
                false
            }
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "fetching token keys from the users service failed");
                true
            }
        };
        last_fetch.failed
    }
}
