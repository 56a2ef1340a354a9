//! The tower layer that verifies access tokens on every call that is not public.

use std::{
    collections::HashSet,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use jsonwebtoken::{Algorithm, Validation};
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use super::{
    AuthConfig, Claims,
    keys::{KeySet, KeysUnavailable},
    revocation::Revocations,
    unix_seconds,
};

/// Verifies tokens with a [`KeySet`]; calls to public methods pass untouched.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    verifier: Arc<Verifier>,
    public: Arc<HashSet<String>>,
}

#[derive(Debug)]
struct Verifier {
    keys: KeySet,
    validation: Validation,
    /// `CAMPUS_JWT_MAX_TTL` in seconds.
    max_ttl: i64,
    /// Sessions ended early, consulted on every call (cached tokens too).
    revocations: Arc<Revocations>,
    /// Tokens already verified, by their exact text: a client sends the same token on every
    /// call until it expires, and checking a signature costs more than the rest of a cached
    /// read. Entries are dropped after a minute; `exp` and `nbf` are checked on every hit.
    verified: moka::sync::Cache<String, Arc<Claims>>,
}

/// Why a token was refused. Clients see one generic message; the reason is logged at debug.
#[derive(Debug, thiserror::Error)]
enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("malformed token header: {0}")]
    Header(jsonwebtoken::errors::Error),
    #[error("algorithm {0:?} is not EdDSA")]
    Algorithm(Algorithm),
    #[error("no kid in the token header")]
    NoKid,
    #[error("unknown key {0}")]
    UnknownKey(String),
    #[error("cannot verify the token now: {0}")]
    KeysUnavailable(#[from] KeysUnavailable),
    #[error("invalid token: {0}")]
    Invalid(jsonwebtoken::errors::Error),
    #[error("the token names no subject")]
    NoSubject,
    #[error("the token is valid for {0} s, longer than CAMPUS_JWT_MAX_TTL")]
    TooLong(i64),
    #[error("the token names no session")]
    NoSession,
    #[error("session {0} was revoked")]
    Revoked(String),
}

impl Verifier {
    /// The claims of the call's token, refused if its session was revoked.
    async fn verify(&self, headers: &http::HeaderMap) -> Result<Arc<Claims>, TokenError> {
        let claims = self.verify_token(headers).await?;
        if self.revocations.is_revoked(&claims.sid) {
            return Err(TokenError::Revoked(claims.sid.clone()));
        }
        Ok(claims)
    }

    /// The claims of the call's token, checked in every way but revocation.
    async fn verify_token(&self, headers: &http::HeaderMap) -> Result<Arc<Claims>, TokenError> {
        // The scheme is case-insensitive (RFC 7235): `Bearer`, `bearer`, `BEARER`.
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim_start())
            .ok_or(TokenError::Missing)?;
        if let Some(claims) = self.verified.get(token) {
            let now = unix_seconds();
            let leeway = i64::try_from(self.validation.leeway).unwrap_or(0);
            if claims.exp > now - leeway && claims.nbf <= now + leeway {
                return Ok(claims);
            }
            self.verified.invalidate(token);
        }
        let header = jsonwebtoken::decode_header(token).map_err(TokenError::Header)?;
        // Pinned: never let the token choose (alg=none, HS256 with the public key, …).
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm(header.alg));
        }
        let kid = header.kid.ok_or(TokenError::NoKid)?;
        let key = self
            .keys
            .get(&kid)
            .await?
            .ok_or(TokenError::UnknownKey(kid))?;
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation)
            .map_err(TokenError::Invalid)?;
        if data.claims.sub.is_empty() {
            return Err(TokenError::NoSubject);
        }
        if data.claims.sid.is_empty() {
            return Err(TokenError::NoSession);
        }
        let leeway = i64::try_from(self.validation.leeway).unwrap_or(0);
        // Saturating: `iat` is whatever the signer wrote, down to i64::MIN.
        let valid_for = (data.claims.exp.saturating_sub(unix_seconds()))
            .max(data.claims.exp.saturating_sub(data.claims.iat));
        if valid_for > self.max_ttl.saturating_add(leeway) {
            return Err(TokenError::TooLong(valid_for));
        }
        let claims = Arc::new(data.claims);
        self.verified.insert(token.to_owned(), Arc::clone(&claims));
        Ok(claims)
    }
}

impl AuthLayer {
    /// Verifies against `keys` with the issuer and audience of `config`; `public` lists the
    /// full method paths (`/package.Service/Method`) or service prefixes
    /// (`/package.Service/`) that need no token. Tokens of sessions in `revocations` are
    /// refused.
    pub fn new(
        config: &AuthConfig,
        keys: KeySet,
        revocations: Arc<Revocations>,
        public: impl IntoIterator<Item = String>,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        let verified = moka::sync::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(std::time::Duration::from_secs(60))
            .build();
        Self {
            verifier: Arc::new(Verifier {
                keys,
                validation,
                max_ttl: i64::try_from(config.max_ttl.as_secs()).unwrap_or(i64::MAX),
                revocations,
                verified,
            }),
            public: Arc::new(public.into_iter().collect()),
        }
    }

    fn is_public(&self, path: &str) -> bool {
        self.public.contains(path)
            || path
                .rfind('/')
                .is_some_and(|slash| self.public.contains(&path[..=slash]))
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            layer: self.clone(),
        }
    }
}

/// See [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S, B> Service<http::Request<B>> for AuthService<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if self.layer.is_public(request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        // The clone that was polled ready serves this call; a fresh clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = Arc::clone(&self.layer.verifier);
        Box::pin(async move {
            match verifier.verify(request.headers()).await {
                Ok(claims) => {
                    request.extensions_mut().insert(claims.caller());
                    inner.call(request).await
                }
                Err(error) => {
                    tracing::debug!(%error, "refused a call without a valid access token");
                    let status = match error {
                        TokenError::Missing => {
                            Status::unauthenticated("this call needs an access token")
                        }
                        TokenError::Header(_)
                        | TokenError::Algorithm(_)
                        | TokenError::NoKid
                        | TokenError::UnknownKey(_)
                        | TokenError::Invalid(_)
                        | TokenError::NoSubject
                        | TokenError::NoSession
                        | TokenError::TooLong(_) => {
                            Status::unauthenticated("the access token is invalid or expired")
                        }
                        TokenError::Revoked(_) => Status::unauthenticated(
                            "this session has ended (signed out, password changed or account \
                             deactivated); sign in again",
                        ),
                        TokenError::KeysUnavailable(_) => Status::unavailable(
                            "the access token cannot be verified now (users service unreachable); retry",
                        ),
                    };
                    Ok(status.into_http())
                }
            }
        })
    }
}
