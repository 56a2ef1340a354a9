//! Login, token refresh (rotating, with reuse detection), logout, and the public token keys.

use campus_proto::{
    events::{SessionRevocationReason, UserLoggedIn},
    users::{
        GetJwksRequest, GetJwksResponse, LoginRequest, LoginResponse, LogoutRequest,
        LogoutResponse, RefreshTokenRequest, RefreshTokenResponse,
    },
};

use crate::{
    Users,
    accounts::ACTIVE,
    domain::Email,
    error::UsersError,
    messages::user_message,
    sessions::refresh_hash,
    store::{self, now_micros},
    timestamp,
};

impl Users {
    pub(crate) async fn login(
        &self,
        address: Option<String>,
        body: LoginRequest,
    ) -> Result<LoginResponse, UsersError> {
        let email = Email::parse(&body.email).map_err(|why| UsersError::invalid("email", why))?;
        if body.password.is_empty() {
            return Err(UsersError::invalid("password", "is required"));
        }
        let account = format!("{}|{}", body.school_id, email.as_str());
        self.throttle.check(&account, address.as_deref()).await?;
        let user =
            store::user_by_email(&self.store.database, &body.school_id, email.as_str()).await?;
        let matches = self
            .passwords
            .verify(
                &body.password,
                user.as_ref().map(|user| user.password_hash.as_str()),
            )
            .await?;
        let user = match user {
            Some(user) if matches && user.status == ACTIVE => user,
            Some(_) | None => {
                self.throttle
                    .record_failure(&account, address.as_deref())
                    .await;
                return Err(UsersError::Unauthenticated("wrong email or password"));
            }
        };
        self.throttle.clear(&account).await;
        let sessions = self.sessions();
        let signing = sessions.signing_key().await?;
        let mut tx = self.store.database.begin().await?;
        let tokens = sessions
            .issue(&mut tx, signing, &user, &uuid::Uuid::now_v7().to_string())
            .await?;
        tx.publish(
            &user.id,
            user.school_id.as_deref().unwrap_or(""),
            &UserLoggedIn {
                user_id: user.id.clone(),
                school_id: user.school_id.clone().unwrap_or_default(),
                logged_in_at: Some(timestamp(now_micros())),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(LoginResponse {
            tokens: Some(tokens),
            user: Some(user_message(&user)),
        })
    }

    pub(crate) async fn refresh_token(
        &self,
        body: RefreshTokenRequest,
    ) -> Result<RefreshTokenResponse, UsersError> {
        let token = body.refresh_token;
        if token.is_empty() {
            return Err(UsersError::invalid("refresh_token", "is required"));
        }
        let refused =
            UsersError::Unauthenticated("the refresh token is invalid, expired or revoked");
        let sessions = self.sessions();
        let signing = sessions.signing_key().await?;
        let now = now_micros();
        let mut tx = self.store.database.begin().await?;
        let Some(row) = store::refresh_by_hash(&mut tx, &refresh_hash(&token)).await? else {
            return Err(refused);
        };
        if row.revoked_at.is_some() || row.expires_at <= now {
            return Err(refused);
        }
        if row.used_at.is_some() || !store::use_refresh(&mut tx, &row.id, now).await? {
            // A rotated token came back: it was stolen or replayed. End the whole login.
            match store::user_by_id(&self.store.database, &row.user_id).await? {
                Some(user) => {
                    sessions
                        .revoke_session(
                            &mut tx,
                            &user,
                            &row.family_id,
                            SessionRevocationReason::RefreshTokenReused,
                        )
                        .await?;
                }
                None => store::revoke_family(&mut tx, &row.family_id, now).await?,
            }
            tx.commit().await?;
            tracing::warn!(family = %row.family_id, "refresh token reuse; revoked its family");
            return Err(refused);
        }
        let user = match store::user_by_id(&self.store.database, &row.user_id).await? {
            Some(user) if user.status == ACTIVE => user,
            Some(_) | None => return Err(refused),
        };
        let tokens = sessions
            .issue(&mut tx, signing, &user, &row.family_id)
            .await?;
        tx.commit().await?;
        Ok(RefreshTokenResponse {
            tokens: Some(tokens),
        })
    }

    pub(crate) async fn logout(&self, body: LogoutRequest) -> Result<LogoutResponse, UsersError> {
        let token = body.refresh_token;
        if token.is_empty() {
            return Err(UsersError::invalid("refresh_token", "is required"));
        }
        let mut tx = self.store.database.begin().await?;
        if let Some(row) = store::refresh_by_hash(&mut tx, &refresh_hash(&token)).await? {
            match store::user_by_id(&self.store.database, &row.user_id).await? {
                Some(user) => {
                    self.sessions()
                        .revoke_session(
                            &mut tx,
                            &user,
                            &row.family_id,
                            SessionRevocationReason::Logout,
                        )
                        .await?;
                }
                None => store::revoke_family(&mut tx, &row.family_id, now_micros()).await?,
            }
        }
        tx.commit().await?;
        Ok(LogoutResponse {})
    }

    pub(crate) async fn get_jwks(
        &self,
        _body: GetJwksRequest,
    ) -> Result<GetJwksResponse, UsersError> {
        let keys = self.keys.jwks().await?;
        Ok(GetJwksResponse {
            keys,
            max_age_seconds: 300,
        })
    }
}
