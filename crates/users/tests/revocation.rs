//! A session ended early (logout, a reused refresh token, deactivation, a password change)
//! is refused by every replica sharing Redis, by one started after the revocation, by the
//! all-in-one mode after a restart, and, once the feed returns, by a replica that lost Redis
//! meanwhile.

mod common;

use std::time::{Duration, Instant};

use campus_proto::{
    finance::{ListAccountsRequest, finance_service_client::FinanceServiceClient},
    users::{
        ChangePasswordRequest, DeactivateUserRequest, GetUserRequest, LogoutRequest,
        RefreshTokenRequest, Role, School, TokenPair, User,
    },
};
use campus_testkit::{
    CampusOptions, PrivateRedis, TestCampus, TestDatabase, TestRedis, metric_sample, spawn_replica,
};
use common::{Error, PASSWORD, as_user, login, public, school, user};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// What the server answers for a revoked session.
const ENDED: &str = "this session has ended";

/// A learner of `school` and the tokens of one login.
async fn learner(
    campus: &TestCampus,
    school: &School,
    email: &str,
) -> Result<(User, TokenPair), Error> {
    let (learner, _) = user(campus, school, email, &[Role::Student]).await?;
    let tokens = login(campus, &school.id, email, PASSWORD)
        .await?
        .tokens
        .ok_or("login returned no tokens")?;
    Ok((learner, tokens))
}

/// What `token` gets from the users service (GetUser of `user_id`) and from the finance
/// service on `server`: both codes, and the message of a refusal.
async fn answers(
    server: &TestCampus,
    token: &str,
    user_id: &str,
) -> Result<(Code, Code, String), Error> {
    let users = as_user(server, token)
        .await?
        .get_user(GetUserRequest {
            user_id: user_id.to_owned(),
        })
        .await;
    let finance = FinanceServiceClient::new(server.channel_as(token).await?)
        .list_accounts(ListAccountsRequest::default())
        .await;
    let message = match (&users, &finance) {
        (Err(status), _) | (_, Err(status)) => status.message().to_owned(),
        (Ok(_), Ok(_)) => String::new(),
    };
    Ok((
        campus_testkit::code(users),
        campus_testkit::code(finance),
        message,
    ))
}

/// Asserts both services on `server` serve `token` now.
async fn assert_served(server: &TestCampus, token: &str, user_id: &str) -> Result<(), Error> {
    let (users, finance, message) = answers(server, token, user_id).await?;
    assert_eq!((users, finance), (Code::Ok, Code::Ok), "{message}");
    Ok(())
}

/// Asserts both services on `server` refuse `token` as a revoked session now.
async fn assert_refused(server: &TestCampus, token: &str, user_id: &str) -> Result<(), Error> {
    let (users, finance, message) = answers(server, token, user_id).await?;
    assert_eq!(
        (users, finance),
        (Code::Unauthenticated, Code::Unauthenticated),
        "{message}"
    );
    assert!(message.contains(ENDED), "{message}");
    Ok(())
}

/// How long until `server` refuses `token` as a revoked session (polled every 10 ms, for at
/// most `limit`, which is a bound for a stuck feed, not the latency goal).
async fn refused_after(
    server: &TestCampus,
    token: &str,
    user_id: &str,
    limit: Duration,
) -> Result<Duration, Error> {
    let started = Instant::now();
    loop {
        let (users, finance, message) = answers(server, token, user_id).await?;
        if users == Code::Unauthenticated && finance == Code::Unauthenticated {
            assert!(message.contains(ENDED), "{message}");
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            return Err(format!("the revoked session was still served after {limit:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn every_replica_refuses_a_revoked_session_and_so_does_one_started_later() -> Result<(), Error>
{
    let database = TestDatabase::preferred().await?;
    let redis = TestRedis::start().await?;
    let a = spawn_replica(database.url(), redis.url(), redis.prefix()).await?;
    let b = spawn_replica(database.url(), redis.url(), redis.prefix()).await?;
    let hill = school(&a, "hill", false).await?;
    let (_, admin) = user(&a, &hill, "head@hill.example", &[Role::SchoolAdmin]).await?;
    let (lou, lou_tokens) = learner(&a, &hill, "lou@hill.example").await?;
    let (ria, ria_tokens) = learner(&a, &hill, "ria@hill.example").await?;
    let (dee, dee_tokens) = learner(&a, &hill, "dee@hill.example").await?;
    let (pat, pat_tokens) = learner(&a, &hill, "pat@hill.example").await?;
    for server in [&a, &b] {
        for (person, tokens) in [
            (&lou, &lou_tokens),
            (&ria, &ria_tokens),
            (&dee, &dee_tokens),
            (&pat, &pat_tokens),
        ] {
            assert_served(server, &tokens.access_token, &person.id).await?;
        }
    }
    let mut delays = Vec::new();

    // Logout, on replica A; B refuses the access token too.
    public(&a)
        .await?
        .logout(LogoutRequest {
            refresh_token: lou_tokens.refresh_token.clone(),
        })
        .await?;
    delays.push(
        refused_after(
            &b,
            &lou_tokens.access_token,
            &lou.id,
            Duration::from_secs(15),
        )
        .await?,
    );
    assert_refused(&a, &lou_tokens.access_token, &lou.id).await?;

    // A rotated refresh token comes back: the whole login ends, both of its access tokens.
    let rotated = public(&a)
        .await?
        .refresh_token(RefreshTokenRequest {
            refresh_token: ria_tokens.refresh_token.clone(),
        })
        .await?
        .into_inner()
        .tokens
        .ok_or("no tokens")?;
    assert_served(&b, &rotated.access_token, &ria.id).await?;
    let reused = public(&a)
        .await?
        .refresh_token(RefreshTokenRequest {
            refresh_token: ria_tokens.refresh_token.clone(),
        })
        .await;
    assert_eq!(campus_testkit::code(reused), Code::Unauthenticated);
    delays.push(refused_after(&b, &rotated.access_token, &ria.id, Duration::from_secs(15)).await?);
    assert_refused(&b, &ria_tokens.access_token, &ria.id).await?;

    // Deactivation by the school's admin ends every login of the user.
    let dee_second = login(&a, &hill.id, "dee@hill.example", PASSWORD)
        .await?
        .tokens
        .ok_or("no tokens")?;
    as_user(&a, &admin)
        .await?
        .deactivate_user(DeactivateUserRequest {
            user_id: dee.id.clone(),
            reason: "left the school".into(),
        })
        .await?;
    delays.push(
        refused_after(
            &b,
            &dee_tokens.access_token,
            &dee.id,
            Duration::from_secs(15),
        )
        .await?,
    );
    assert_refused(&b, &dee_second.access_token, &dee.id).await?;

    // A password change ends every login too; the new password starts a new one.
    as_user(&a, &pat_tokens.access_token)
        .await?
        .change_password(ChangePasswordRequest {
            current_password: PASSWORD.into(),
            new_password: "another long password".into(),
        })
        .await?;
    delays.push(
        refused_after(
            &b,
            &pat_tokens.access_token,
            &pat.id,
            Duration::from_secs(15),
        )
        .await?,
    );
    let pat_again = login(&a, &hill.id, "pat@hill.example", "another long password")
        .await?
        .tokens
        .ok_or("no tokens")?;
    assert_served(&b, &pat_again.access_token, &pat.id).await?;
    eprintln!("revocation reached the other replica after {delays:?}");

    // Nobody else was signed out.
    assert_served(&b, &admin, &pat.id).await?;

    // A replica started after every revocation reports SERVING only once it has read them.
    let c = spawn_replica(database.url(), redis.url(), redis.prefix()).await?;
    assert_refused(&c, &lou_tokens.access_token, &lou.id).await?;
    assert_refused(&c, &rotated.access_token, &ria.id).await?;
    assert_refused(&c, &dee_second.access_token, &dee.id).await?;
    assert_refused(&c, &pat_tokens.access_token, &pat.id).await?;
    assert_served(&c, &pat_again.access_token, &pat.id).await?;
    assert_served(&c, &admin, &pat.id).await?;
    let held = metric_sample(&c.metrics().await?, "campus_revoked_sessions", &[])
        .ok_or("no campus_revoked_sessions")?;
    assert!(held >= 5.0, "{held} sessions held");

    for server in [a, b, c] {
        server.shutdown().await?;
    }
    Ok(())
}

#[tokio::test]
async fn the_all_in_one_mode_still_refuses_a_revoked_session_after_a_restart() -> Result<(), Error>
{
    let database = TestDatabase::sqlite()?;
    let start = || {
        TestCampus::start(CampusOptions {
            database_url: Some(database.url().to_owned()),
            ..CampusOptions::default()
        })
    };
    let first = start().await?;
    first.wait_for_status("", ServingStatus::Serving).await?;
    let hill = school(&first, "hill", false).await?;
    let (lou, tokens) = learner(&first, &hill, "lou@hill.example").await?;
    assert_served(&first, &tokens.access_token, &lou.id).await?;
    public(&first)
        .await?
        .logout(LogoutRequest {
            refresh_token: tokens.refresh_token.clone(),
        })
        .await?;
    refused_after(
        &first,
        &tokens.access_token,
        &lou.id,
        Duration::from_secs(15),
    )
    .await?;
    first.shutdown().await?;

    let second = start().await?;
    second.wait_for_status("", ServingStatus::Serving).await?;
    assert_refused(&second, &tokens.access_token, &lou.id).await?;
    let other = login(&second, &hill.id, "lou@hill.example", PASSWORD)
        .await?
        .tokens
        .ok_or("no tokens")?;
    assert_served(&second, &other.access_token, &lou.id).await?;
    second.shutdown().await
}

#[tokio::test]
async fn a_replica_that_lost_redis_serves_what_it_knew_and_catches_up_when_it_returns()
-> Result<(), Error> {
    let mut redis = PrivateRedis::start().await?;
    let database = TestDatabase::preferred().await?;
    let a = spawn_replica(database.url(), &redis.url(), "").await?;
    let b = spawn_replica(database.url(), &redis.url(), "").await?;
    let hill = school(&a, "hill", false).await?;
    let (lou, lou_tokens) = learner(&a, &hill, "lou@hill.example").await?;
    let (ria, ria_tokens) = learner(&a, &hill, "ria@hill.example").await?;
    public(&a)
        .await?
        .logout(LogoutRequest {
            refresh_token: lou_tokens.refresh_token.clone(),
        })
        .await?;
    refused_after(
        &b,
        &lou_tokens.access_token,
        &lou.id,
        Duration::from_secs(15),
    )
    .await?;

    redis.stop().await?;
    // The logout is written (the outbox keeps its event) but cannot travel.
    public(&a)
        .await?
        .logout(LogoutRequest {
            refresh_token: ria_tokens.refresh_token.clone(),
        })
        .await?;
    // B notices, counts and logs the outage of its revocation feed.
    let noticed = Instant::now();
    while metric_sample(
        &b.metrics().await?,
        "campus_live_feed_outages_total",
        &["family=\"session\""],
    )
    .is_none_or(|outages| outages < 1.0)
    {
        assert!(
            noticed.elapsed() < Duration::from_secs(60),
            "the outage was never counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(b.log()?.contains("live feed lost"));
    // Fail-open for the outage, by design: what B knew still holds, what it could not
    // learn does not yet.
    assert_refused(&b, &lou_tokens.access_token, &lou.id).await?;
    assert_served(&b, &ria_tokens.access_token, &ria.id).await?;

    redis.resume().await?;
    refused_after(
        &b,
        &ria_tokens.access_token,
        &ria.id,
        Duration::from_secs(60),
    )
    .await?;
    assert_refused(&b, &lou_tokens.access_token, &lou.id).await?;
    a.shutdown().await?;
    b.shutdown().await
}
