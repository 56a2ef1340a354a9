//! Access tokens come from anyone. Any `authorization` header is either a verified caller
//! with a subject and a session, or UNAUTHENTICATED; never a panic. Inputs starting with an
//! odd byte are the claims (any JSON) of a token signed with the service's real key, so the
//! checks after the signature (subject, session, lifetime, issuer, audience, times) are
//! reached as well as the parsing before it. In those claims a time (`exp`, `iat`, `nbf`)
//! within a million seconds of zero counts from now, so valid lifetimes are easy to reach.

#![no_main]

use std::{convert::Infallible, sync::OnceLock, time::Duration};

use base64::Engine as _;
use campus_proto::users::Jwk;
use campus_runtime::{
    auth::{
        AuthConfig, AuthLayer, Caller,
        keys::{KeySet, KeySource},
        revocation::Revocations,
    },
    failure::Failure,
};
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tonic::body::Body;
use tower::{Layer as _, ServiceExt as _};

const KID: &str = "fuzz-key";

/// The users service's key set, answered from memory.
struct StaticKeys(Jwk);

#[async_trait::async_trait]
impl KeySource for StaticKeys {
    async fn fetch(&self) -> Result<Vec<Jwk>, Failure> {
        Ok(vec![self.0.clone()])
    }
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    layer: AuthLayer,
    key: EncodingKey,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|error| panic!("a runtime: {error}"));
        let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let der = signing
            .to_pkcs8_der()
            .unwrap_or_else(|error| panic!("the key's DER: {error}"));
        let jwk = Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            alg: "EdDSA".into(),
            kid: KID.into(),
            x: base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(signing.verifying_key().to_bytes()),
            ..Jwk::default()
        };
        let config = AuthConfig {
            issuer: "campus".into(),
            audience: "campus".into(),
            max_ttl: Duration::from_secs(3600),
        };
        let revocations = Revocations::new(&prometheus::Registry::new())
            .unwrap_or_else(|error| panic!("the deny list: {error}"));
        let layer = runtime.block_on(async {
            AuthLayer::new(
                &config,
                KeySet::new(StaticKeys(jwk)),
                revocations,
                Vec::<String>::new(),
            )
        });
        Fixture {
            runtime,
            layer,
            key: EncodingKey::from_ed_der(der.as_bytes()),
        }
    })
}

/// The `authorization` value an input stands for.
fn authorization(data: &[u8], key: &EncodingKey) -> Option<http::HeaderValue> {
    let (&mode, rest) = data.split_first()?;
    if mode % 2 == 0 {
        return http::HeaderValue::from_bytes(rest).ok();
    }
    let mut claims: serde_json::Value = serde_json::from_slice(rest).ok()?;
    if let Some(object) = claims.as_object_mut() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
            });
        for name in ["exp", "iat", "nbf"] {
            if let Some(offset) = object.get(name).and_then(serde_json::Value::as_i64)
                && offset.unsigned_abs() < 1_000_000
            {
                object.insert(name.to_owned(), (now + offset).into());
            }
        }
    }
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(KID.into());
    let token = jsonwebtoken::encode(&header, &claims, key).ok()?;
    http::HeaderValue::from_str(&format!("Bearer {token}")).ok()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let Some(value) = authorization(data, &fixture.key) else {
        return;
    };
    let Ok(request) = http::Request::post("/campus.users.v1.UsersService/GetUser")
        .header(http::header::AUTHORIZATION, value)
        .body(())
    else {
        return;
    };
    let handler = tower::service_fn(|request: http::Request<()>| async move {
        let caller = request.extensions().get::<Caller>();
        assert!(
            caller.is_some_and(|caller| !caller.user_id.is_empty()),
            "a call let through without a caller: {caller:?}"
        );
        Ok::<_, Infallible>(http::Response::new(Body::empty()))
    });
    let service = fixture.layer.layer(handler);
    let Ok(response) = fixture.runtime.block_on(service.oneshot(request));
    if let Some(code) = response.headers().get("grpc-status") {
        assert_eq!(code, "16", "refused as UNAUTHENTICATED, nothing else");
    }
});
