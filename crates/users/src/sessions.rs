//! Access and refresh tokens: the signed JWT a caller presents to every service, and the
//! opaque refresh token (stored only as its SHA-256) that gets a new pair.

use std::time::Duration;

use base64::Engine as _;
use campus_proto::{
    events::{SessionRevocationReason, SessionsRevoked},
    users::TokenPair,
};
use campus_runtime::auth::{AuthConfig, Claims, role_name};
use campus_store::Tx;
use jsonwebtoken::EncodingKey;
use rand::RngCore as _;
use sha2::Digest as _;

use crate::{
    domain::roles_from_bits,
    error::UsersError,
    keys::SigningKeys,
    store::{self, UserRow, now_micros},
    timestamp,
};

/// What signing and storing tokens needs.
#[derive(Debug)]
pub(crate) struct Sessions<'a> {
    pub(crate) keys: &'a SigningKeys,
    pub(crate) auth: &'a AuthConfig,
    pub(crate) access_ttl: Duration,
    pub(crate) refresh_ttl: Duration,
}

/// Room for clocks that disagree and the verifiers' leeway: a revocation is remembered, and
/// a session counted as possibly live, this much longer than its tokens' lifetime.
const CLOCK_MARGIN: Duration = Duration::from_secs(60);

/// The stored form of a refresh token.
pub(crate) fn refresh_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX / 2)
}

impl Sessions<'_> {
    /// The key to sign with; fetch it before beginning the transaction (generating the
    /// first key writes, and SQLite has one writer).
    pub(crate) async fn signing_key(&self) -> Result<(String, EncodingKey), UsersError> {
        self.keys.current().await
    }

    /// Signs an access token for `user` with `signing` and stores a new refresh token in
    /// `family_id`.
    pub(crate) async fn issue(
        &self,
        tx: &mut Tx,
        signing: (String, EncodingKey),
        user: &UserRow,
        family_id: &str,
    ) -> Result<TokenPair, UsersError> {
        let now = now_micros();
        let now_secs = now / 1_000_000;
        let access_expires = now_secs + i64::try_from(self.access_ttl.as_secs()).unwrap_or(900);
        let claims = Claims {
            sub: user.id.clone(),
            sid: family_id.to_owned(),
            school: user.school_id.clone().unwrap_or_default(),
            roles: roles_from_bits(user.roles)
                .into_iter()
                .map(|role| role_name(role).to_owned())
                .collect(),
            iss: self.auth.issuer.clone(),
            aud: self.auth.audience.clone(),
            exp: access_expires,
            iat: now_secs,
            nbf: now_secs,
        };
        let (kid, key) = signing;
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(kid);
        let access_token = jsonwebtoken::encode(&header, &claims, &key).map_err(|e| {
            UsersError::internal(
                "access token signing",
                format!("signing an access token: {e}"),
            )
        })?;

        let mut secret = [0_u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let refresh_token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        let refresh_expires = now + micros(self.refresh_ttl);
        store::insert_refresh(
            tx,
            &uuid::Uuid::now_v7().to_string(),
            family_id,
            &user.id,
            &refresh_hash(&refresh_token),
            now,
            refresh_expires,
        )
        .await?;
        Ok(TokenPair {
            access_token,
            access_token_expires_at: Some(timestamp(access_expires * 1_000_000)),
            refresh_token,
            refresh_token_expires_at: Some(timestamp(refresh_expires)),
            token_type: "Bearer".into(),
        })
    }

    /// Ends `family_id` (one login) early: its refresh tokens stop working, and every
    /// service refuses its access tokens once it reads the `session.revoked` published here.
    pub(crate) async fn revoke_session(
        &self,
        tx: &mut Tx,
        user: &UserRow,
        family_id: &str,
        reason: SessionRevocationReason,
    ) -> Result<(), UsersError> {
        let now = now_micros();
        store::revoke_family(tx, family_id, now).await?;
        self.publish_revoked(tx, user, vec![family_id.to_owned()], reason, now)
            .await
    }

    /// Ends every login of `user` early (deactivation, a password change), as
    /// [`Sessions::revoke_session`] does for one.
    pub(crate) async fn revoke_user_sessions(
        &self,
        tx: &mut Tx,
        user: &UserRow,
        reason: SessionRevocationReason,
    ) -> Result<(), UsersError> {
        let now = now_micros();
        // A login whose last token was issued longer ago than a token lives has no valid
        // access token left: no need to name it.
        let since = now - micros(self.access_ttl + CLOCK_MARGIN);
        let families = store::sessions_since(tx, &user.id, since).await?;
        store::revoke_user_tokens(tx, &user.id, now).await?;
        if families.is_empty() {
            return Ok(());
        }
        self.publish_revoked(tx, user, families, reason, now).await
    }

    async fn publish_revoked(
        &self,
        tx: &mut Tx,
        user: &UserRow,
        session_ids: Vec<String>,
        reason: SessionRevocationReason,
        now: i64,
    ) -> Result<(), UsersError> {
        let school_id = user.school_id.clone().unwrap_or_default();
        tx.publish(
            &user.id,
            &school_id,
            &SessionsRevoked {
                user_id: user.id.clone(),
                school_id: school_id.clone(),
                session_ids,
                reason: reason as i32,
                revoked_at: Some(timestamp(now)),
                expires_at: Some(timestamp(now + micros(self.access_ttl + CLOCK_MARGIN))),
            },
        )
        .await?;
        Ok(())
    }
}
