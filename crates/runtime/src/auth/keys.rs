//! The public keys that verify access tokens, fetched from the users service (`GetJwks`) and
//! refreshed when a token names a key not seen yet (at most once a second, so a flood of
//! forged `kid`s cannot turn into a flood of key fetches). While the users service cannot be
//! reached, an unknown key means "cannot verify now", not "invalid token": clients retry
//! instead of throwing their tokens away.

use std::{collections::HashMap, sync::Arc, time::Duration};

use campus_proto::users::{GetJwksRequest, Jwk, users_service_client::UsersServiceClient};
use jsonwebtoken::DecodingKey;
use tokio::{
    sync::{Mutex, RwLock},
    time::Instant,
};

use crate::{client::Peer, failure::Failure};

/// Shortest time between two fetches of the key set.
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// Longest a fetch of the key set may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(2);

/// Where key sets come from.
#[async_trait::async_trait]
pub trait KeySource: Send + Sync + 'static {
    /// The current public keys.
    async fn fetch(&self) -> Result<Vec<Jwk>, Failure>;
}

#[async_trait::async_trait]
impl KeySource for Peer {
    async fn fetch(&self) -> Result<Vec<Jwk>, Failure> {
        let answer = self
            .idempotent("GetJwks", |channel| async move {
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
    /// users service answered without it, [`KeysUnavailable`] when it could not be asked (for
    /// up to a second after a failed fetch, even if it has come back since).
    pub async fn get(&self, kid: &str) -> Result<Option<Arc<DecodingKey>>, KeysUnavailable> {
        if let Some(key) = self.keys.read().await.get(kid) {
            return Ok(Some(Arc::clone(key)));
        }
        // A task of its own: the fetch gets its own time limit, never the deadline of the call
        // that needed the key, and finishes (and is recorded) even if that call goes away.
        let set = self.clone();
        let failed = tokio::spawn(async move { set.refresh().await })
            .await
            .unwrap_or(true);
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
        let failed = match tokio::time::timeout(FETCH_TIMEOUT, self.source.fetch()).await {
            Ok(Ok(jwks)) => {
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
            Ok(Err(failure)) => {
                tracing::warn!(error = %failure, "fetching token keys from the users service failed");
                true
            }
            Err(_) => {
                tracing::warn!(timeout = ?FETCH_TIMEOUT, "fetching token keys from the users service timed out");
                true
            }
        };
        *last_fetch = LastFetch {
            at: Some(Instant::now()),
            failed,
        };
        failed
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicBool, Ordering},
        },
        time::Duration,
    };

    use campus_proto::users::Jwk;

    use super::{KeySet, KeySource, MIN_REFRESH_INTERVAL};
    use crate::failure::Failure;

    /// A users service that answers one key (after `delay`) while `up`, and UNAVAILABLE otherwise.
    struct Users {
        up: Arc<AtomicBool>,
        delay: Duration,
    }

    #[async_trait::async_trait]
    impl KeySource for Users {
        async fn fetch(&self) -> Result<Vec<Jwk>, Failure> {
            tokio::time::sleep(self.delay).await;
            if !self.up.load(Ordering::SeqCst) {
                return Err(Failure::unavailable("the users service", "users is down"));
            }
            Ok(vec![Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                alg: "EdDSA".into(),
                kid: "k1".into(),
                x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
                ..Jwk::default()
            }])
        }
    }

    fn key_set(up: bool, delay: Duration) -> (KeySet, Arc<AtomicBool>) {
        let up = Arc::new(AtomicBool::new(up));
        let set = KeySet::new(Users {
            up: Arc::clone(&up),
            delay,
        });
        (set, up)
    }

    #[tokio::test]
    async fn an_unknown_key_is_unavailable_while_users_is_down_and_found_once_it_is_back() {
        let (set, up) = key_set(false, Duration::ZERO);
        assert!(set.get("k1").await.is_err());
        up.store(true, Ordering::SeqCst);
        tokio::time::sleep(MIN_REFRESH_INTERVAL + Duration::from_millis(50)).await;
        assert!(set.get("k1").await.is_ok_and(|key| key.is_some()));
    }

    #[tokio::test]
    async fn a_key_users_does_not_have_is_unknown_not_unavailable() {
        let (set, _) = key_set(true, Duration::ZERO);
        assert!(set.get("forged").await.is_ok_and(|key| key.is_none()));
        // Within the refresh interval: no new fetch, and still a plain unknown key.
        assert!(set.get("forged").await.is_ok_and(|key| key.is_none()));
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_does_not_cut_the_fetch_short() {
        let (set, _) = key_set(true, Duration::from_millis(100));
        let impatient = tokio::time::timeout(Duration::from_millis(1), set.get("k1")).await;
        assert!(impatient.is_err(), "the fetch takes 100 ms");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(set.get("k1").await.is_ok_and(|key| key.is_some()));
    }
}
