//! Tokens every service must refuse: alg=none, HS256 signed with the public key, wrong
//! audience, wrong issuer, expired, not yet valid, unknown key, tampered payload, no subject,
//! valid for longer than `CAMPUS_JWT_MAX_TTL`; and the `Bearer` scheme in any case.

mod common;

use base64::Engine as _;
use campus_proto::users::{GetJwksRequest, GetUserRequest, Role};
use campus_runtime::auth::Claims;
use campus_store::{Database, DatabaseConfig, on_pool};
use campus_testkit::spawn_campus;
use clap::Parser as _;
use common::{Error, as_user, code, public, school, user};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tonic::Code;

#[derive(Debug, clap::Parser)]
struct Flags {
    #[command(flatten)]
    database: DatabaseConfig,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(0))
}

#[tokio::test]
async fn forged_and_invalid_tokens_are_unauthenticated() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill", false).await?;
    let (student, valid) = user(&campus, &hill, "sam@example.org", &[Role::Student]).await?;

    // The real signing key, as an attacker who stole it could not have; used to build
    // tokens that are well signed but wrong in one claim.
    let flags = Flags::try_parse_from(["test", "--database-url", campus.database_url()])?;
    let database = Database::connect_lazy(&flags.database)?;
    let (kid, der): (String, Vec<u8>) = on_pool!(&database, pool => {
        sqlx::query_as("SELECT kid, private_der FROM signing_keys WHERE retired_at IS NULL")
            .fetch_one(pool)
            .await
    })?;
    let key = EncodingKey::from_ed_der(&der);
    let claims = Claims {
        sub: student.id.clone(),
        sid: "a-session-never-revoked".into(),
        school: hill.id.clone(),
        roles: vec!["platform_admin".into()],
        iss: "campus".into(),
        aud: "campus".into(),
        exp: now() + 600,
        iat: now(),
        nbf: now() - 1,
    };
    let sign = |claims: &Claims, kid: &str| -> Result<String, Error> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        Ok(jsonwebtoken::encode(&header, claims, &key)?)
    };
    // Sanity: a correctly signed token with the right claims is accepted.
    assert_eq!(
        code(
            as_user(&campus, &sign(&claims, &kid)?)
                .await?
                .get_user(GetUserRequest {
                    user_id: student.id.clone()
                })
                .await
        ),
        Code::Ok
    );

    let mut forged = Vec::new();
    let payload = b64(serde_json::to_string(&claims)?.as_bytes());
    forged.push((
        "alg=none",
        format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#)),
    ));

    let jwks = public(&campus)
        .await?
        .get_jwks(GetJwksRequest {})
        .await?
        .into_inner();
    let public_key = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&jwks.keys[0].x)?;
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(kid.clone());
    forged.push((
        "HS256 keyed with the public key",
        jsonwebtoken::encode(&hs_header, &claims, &EncodingKey::from_secret(&public_key))?,
    ));
    forged.push((
        "wrong audience",
        sign(
            &Claims {
                aud: "other".into(),
                ..claims.clone()
            },
            &kid,
        )?,
    ));
    forged.push((
        "wrong issuer",
        sign(
            &Claims {
                iss: "evil".into(),
                ..claims.clone()
            },
            &kid,
        )?,
    ));
    forged.push((
        "expired",
        sign(
            &Claims {
                exp: now() - 3600,
                iat: now() - 7200,
                nbf: now() - 7200,
                ..claims.clone()
            },
            &kid,
        )?,
    ));
    forged.push((
        "not yet valid",
        sign(
            &Claims {
                nbf: now() + 3600,
                ..claims.clone()
            },
            &kid,
        )?,
    ));
    forged.push(("unknown kid", sign(&claims, "no-such-key")?));
    forged.push((
        "no subject",
        sign(
            &Claims {
                sub: String::new(),
                ..claims.clone()
            },
            &kid,
        )?,
    ));
    forged.push((
        "no session",
        sign(
            &Claims {
                sid: String::new(),
                ..claims.clone()
            },
            &kid,
        )?,
    ));
    forged.push((
        "valid for a hundred years",
        sign(
            &Claims {
                exp: now() + 100 * 365 * 86_400,
                ..claims.clone()
            },
            &kid,
        )?,
    ));
    forged.push((
        "issued at the earliest second an i64 holds",
        sign(
            &Claims {
                iat: i64::MIN,
                ..claims.clone()
            },
            &kid,
        )?,
    ));
    forged.push((
        "issued long ago, valid for longer than the maximum",
        sign(
            &Claims {
                iat: now() - 86_400,
                ..claims.clone()
            },
            &kid,
        )?,
    ));

    // The scheme is case-insensitive: `bearer` works as `Bearer` does.
    for scheme in ["bearer", "BEARER"] {
        let mut request = tonic::Request::new(GetUserRequest {
            user_id: student.id.clone(),
        });
        request
            .metadata_mut()
            .insert("authorization", format!("{scheme} {valid}").parse()?);
        let answer = public(&campus).await?.get_user(request).await;
        assert_eq!(code(answer), Code::Ok, "{scheme}");
    }

    // Tampered: a real token whose payload was edited to claim platform_admin.
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    let mut original: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&parts[1])?,
    )?;
    original["roles"] = serde_json::json!(["platform_admin"]);
    parts[1] = b64(serde_json::to_string(&original)?.as_bytes());
    forged.push(("tampered payload", parts.join(".")));
    forged.push(("garbage", "not.a.token".into()));

    for (what, token) in forged {
        let answer = as_user(&campus, &token)
            .await?
            .get_user(GetUserRequest {
                user_id: student.id.clone(),
            })
            .await;
        assert_eq!(code(answer), Code::Unauthenticated, "{what}");
    }
    database.close().await;
    campus.shutdown().await
}
