//! The public keys that verify access tokens, fetched from the users service (`GetJwks`) and
//! refreshed when a token names a key not seen yet (at most once a second, so a flood of
//! forged `kid`s cannot turn into a flood of key fetches).

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use campus_proto::users::{GetJwksRequest, Jwk, users_service_client::UsersServiceClient};
use jsonwebtoken::DecodingKey;
use tokio::sync::{Mutex, RwLock};

use crate::client::PeerChannel;

/// Shortest time between two fetches of the key set.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// Where key sets come from.
#[async_trait::async_trait]
pub trait KeySource: Send + Sync + 'static {
    /// The current public keys.
    async fn fetch(&self) -> Result<Vec<Jwk>, tonic::Status>;
}

#[async_trait::async_trait]
impl KeySource for PeerChannel {
    async fn fetch(&self) -> Result<Vec<Jwk>, tonic::Status> {
        let mut users = UsersServiceClient::new(self.clone());
        Ok(users.get_jwks(GetJwksRequest {}).await?.into_inner().keys)
    }
}

/// Cached verification keys by `kid`.
#[derive(Clone)]
pub struct KeySet {
    keys: Arc<RwLock<HashMap<String, Arc<DecodingKey>>>>,
    last_fetch: Arc<Mutex<Option<Instant>>>,
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

    /// The key with this `kid`, fetching the set again if it is unknown.
    pub async fn get(&self, kid: &str) -> Option<Arc<DecodingKey>> {
        if let Some(key) = self.keys.read().await.get(kid) {
            return Some(Arc::clone(key));
        }
        self.refresh().await;
        self.keys.read().await.get(kid).cloned()
    }

    /// Fetches the set again, unless it was fetched less than a second ago.
    async fn refresh(&self) {
        let mut last_fetch = self.last_fetch.lock().await;
        if last_fetch.is_some_and(|at| at.elapsed() < MIN_REFRESH_INTERVAL) {
            return;
        }
        *last_fetch = Some(Instant::now());
        match self.source.fetch().await {
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
            }
            Err(status) => {
                tracing::warn!(code = ?status.code(), message = status.message(), "fetching token keys from the users service failed");
            }
        }
    }
}
