//! Sign-up, login, the token every service accepts, refresh rotation (with reuse revoking the
//! whole login), logout and deactivation.

mod common;

use campus_proto::users::{
    DeactivateUserRequest, GetJwksRequest, GetUserRequest, LogoutRequest, RefreshTokenRequest,
    RegisterUserRequest, Role, UserStatus,
};
use campus_store::{Database, DatabaseConfig, on_pool};
use campus_testkit::spawn_campus;
use clap::Parser as _;
use common::{Error, PASSWORD, as_user, code, login, public, school, user};
use tonic::Code;

#[derive(Debug, clap::Parser)]
struct Flags {
    #[command(flatten)]
    database: DatabaseConfig,
}

/// How many outbox rows of `event_type` the server's database holds.
async fn events(database_url: &str, event_type: &str) -> Result<i64, Error> {
    let flags = Flags::try_parse_from(["test", "--database-url", database_url])?;
    let database = Database::connect_lazy(&flags.database)?;
    let count: i64 = on_pool!(&database, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE event_type = $1")
            .bind(event_type)
            .fetch_one(pool)
            .await
    })?;
    database.close().await;
    Ok(count)
}

#[tokio::test]
async fn register_login_refresh_reuse_and_logout() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill", true).await?;
    let registered = public(&campus)
        .await?
        .register_user(RegisterUserRequest {
            request_id: "signup-1".into(),
            school_id: hill.id.clone(),
            email: "Ada@Example.org".into(),
            password: PASSWORD.into(),
            display_name: "Ada".into(),
        })
        .await?
        .into_inner()
        .user
        .ok_or("no user")?;
    assert_eq!(registered.email, "ada@example.org");
    assert_eq!(registered.roles, vec![Role::Student as i32]);

    let session = login(&campus, &hill.id, "ada@example.org", PASSWORD).await?;
    let tokens = session.tokens.ok_or("no tokens")?;
    assert_eq!(tokens.token_type, "Bearer");
    let me = as_user(&campus, &tokens.access_token)
        .await?
        .get_user(GetUserRequest {
            user_id: registered.id.clone(),
        })
        .await?
        .into_inner()
        .user
        .ok_or("no user")?;
    assert_eq!(me.id, registered.id);

    // Rotation: the first refresh token gets a new pair, whose access token works.
    let mut users = public(&campus).await?;
    let rotated = users
        .refresh_token(RefreshTokenRequest {
            refresh_token: tokens.refresh_token.clone(),
        })
        .await?
        .into_inner()
        .tokens
        .ok_or("no tokens")?;
    assert_ne!(rotated.refresh_token, tokens.refresh_token);
    let again = as_user(&campus, &rotated.access_token)
        .await?
        .get_user(GetUserRequest {
            user_id: registered.id.clone(),
        })
        .await;
    assert_eq!(code(again), Code::Ok);

    // Reuse of the rotated token: refused, and the whole family with it.
    let reused = users
        .refresh_token(RefreshTokenRequest {
            refresh_token: tokens.refresh_token.clone(),
        })
        .await;
    assert_eq!(code(reused), Code::Unauthenticated);
    let after_reuse = users
        .refresh_token(RefreshTokenRequest {
            refresh_token: rotated.refresh_token.clone(),
        })
        .await;
    assert_eq!(
        code(after_reuse),
        Code::Unauthenticated,
        "reuse revokes the family"
    );

    // Logout revokes; logging out twice is fine.
    let fresh = login(&campus, &hill.id, "ada@example.org", PASSWORD)
        .await?
        .tokens
        .ok_or("no tokens")?;
    users
        .logout(LogoutRequest {
            refresh_token: fresh.refresh_token.clone(),
        })
        .await?;
    users
        .logout(LogoutRequest {
            refresh_token: fresh.refresh_token.clone(),
        })
        .await?;
    let after_logout = users
        .refresh_token(RefreshTokenRequest {
            refresh_token: fresh.refresh_token,
        })
        .await;
    assert_eq!(code(after_logout), Code::Unauthenticated);

    // Retrying the sign-up with its request id answers as the first time.
    let retried = users
        .register_user(RegisterUserRequest {
            request_id: "signup-1".into(),
            school_id: hill.id.clone(),
            email: "ada@example.org".into(),
            password: PASSWORD.into(),
            display_name: "Ada".into(),
        })
        .await?
        .into_inner()
        .user
        .ok_or("no user")?;
    assert_eq!(retried.id, registered.id);

    assert_eq!(
        events(campus.database_url(), "user.created").await?,
        2,
        "the admin and Ada"
    );
    assert!(events(campus.database_url(), "user.logged_in").await? >= 3);
    campus.shutdown().await
}

#[tokio::test]
async fn a_deactivated_user_can_no_longer_log_in_or_refresh() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill", false).await?;
    let (student, _) = user(&campus, &hill, "sam@example.org", &[Role::Student]).await?;
    let session = login(&campus, &hill.id, "sam@example.org", PASSWORD)
        .await?
        .tokens
        .ok_or("no tokens")?;
    let (_, admin) = user(&campus, &hill, "head@example.org", &[Role::SchoolAdmin]).await?;

    let deactivated = as_user(&campus, &admin)
        .await?
        .deactivate_user(DeactivateUserRequest {
            user_id: student.id.clone(),
            reason: "left".into(),
        })
        .await?
        .into_inner()
        .user
        .ok_or("no user")?;
    assert_eq!(deactivated.status, UserStatus::Deactivated as i32);
    // Deactivating twice succeeds.
    as_user(&campus, &admin)
        .await?
        .deactivate_user(DeactivateUserRequest {
            user_id: student.id.clone(),
            reason: "left".into(),
        })
        .await?;

    assert_eq!(
        code(login(&campus, &hill.id, "sam@example.org", PASSWORD).await),
        Code::Unauthenticated
    );
    let refreshed = public(&campus)
        .await?
        .refresh_token(RefreshTokenRequest {
            refresh_token: session.refresh_token,
        })
        .await;
    assert_eq!(code(refreshed), Code::Unauthenticated);
    assert_eq!(events(campus.database_url(), "user.deactivated").await?, 1);
    campus.shutdown().await
}

#[tokio::test]
async fn self_sign_up_needs_a_school_that_allows_it() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let closed = school(&campus, "closed", false).await?;
    let refused = public(&campus)
        .await?
        .register_user(RegisterUserRequest {
            request_id: String::new(),
            school_id: closed.id,
            email: "eve@example.org".into(),
            password: PASSWORD.into(),
            display_name: "Eve".into(),
        })
        .await;
    assert_eq!(code(refused), Code::PermissionDenied);
    campus.shutdown().await
}

#[tokio::test]
async fn the_key_set_is_public_and_lists_ed25519_keys() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let jwks = public(&campus)
        .await?
        .get_jwks(GetJwksRequest {})
        .await?
        .into_inner();
    assert!(!jwks.keys.is_empty());
    for key in jwks.keys {
        assert_eq!(
            (key.kty.as_str(), key.crv.as_str(), key.alg.as_str()),
            ("OKP", "Ed25519", "EdDSA")
        );
        assert!(!key.kid.is_empty());
    }
    campus.shutdown().await
}

#[tokio::test]
async fn after_key_rotation_old_tokens_stay_valid_and_new_ones_use_the_new_key() -> Result<(), Error>
{
    use campus_testkit::{CampusOptions, TestCampus, TestDatabase};
    use tonic_health::pb::health_check_response::ServingStatus;

    let database = TestDatabase::preferred().await?;
    let start = || async {
        let campus = TestCampus::start(CampusOptions {
            database_url: Some(database.url().to_owned()),
            ..CampusOptions::default()
        })
        .await?;
        campus.wait_for_status("", ServingStatus::Serving).await?;
        Ok::<_, Error>(campus)
    };
    let before = start().await?;
    let old_token = before.platform_admin_token().await?;
    let old_kid = jsonwebtoken::decode_header(&old_token)?
        .kid
        .ok_or("no kid")?;
    before.shutdown().await?;

    let flags = Flags::try_parse_from(["test", "--database-url", database.url()])?;
    let store = Database::connect_lazy(&flags.database)?;
    let new_kid = campus_users::rotate_signing_key(&store).await?;
    store.close().await;
    assert_ne!(new_kid, old_kid);

    let after = start().await?;
    let new_token = after.platform_admin_token().await?;
    assert_eq!(
        jsonwebtoken::decode_header(&new_token)?.kid.as_deref(),
        Some(new_kid.as_str())
    );
    let kids: Vec<String> = public(&after)
        .await?
        .get_jwks(GetJwksRequest {})
        .await?
        .into_inner()
        .keys
        .into_iter()
        .map(|key| key.kid)
        .collect();
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "{kids:?}"
    );
    for token in [&old_token, &new_token] {
        let listed = as_user(&after, token)
            .await?
            .list_schools(campus_proto::users::ListSchoolsRequest::default())
            .await;
        assert_eq!(code(listed), Code::Ok);
    }
    after.shutdown().await
}
