//! Failed logins are throttled per account: after the limit even the right password is
//! refused (RESOURCE_EXHAUSTED with retry info) until the window passes.

mod common;

use std::time::Duration;

use campus_proto::users::Role;
use campus_testkit::{CampusOptions, TestCampus};
use common::{Error, PASSWORD, code, login, school, user};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_types::StatusExt as _;

async fn campus_with_window(window: &str, redis: bool) -> Result<TestCampus, Error> {
    let campus = TestCampus::start(CampusOptions {
        redis,
        args: vec!["--login-failure-window".into(), window.into()],
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    Ok(campus)
}

async fn twenty_failures_throttle_until_the_window_passes(campus: TestCampus) -> Result<(), Error> {
    let hill = school(&campus, "hill", false).await?;
    user(&campus, &hill, "ada@example.org", &[Role::Student]).await?;
    let mut codes = Vec::new();
    for _ in 0..20 {
        codes.push(code(
            login(&campus, &hill.id, "ada@example.org", "wrong password!").await,
        ));
    }
    assert_eq!(codes[..10], [Code::Unauthenticated; 10]);
    assert_eq!(codes[10..], [Code::ResourceExhausted; 10]);

    let refused = login(&campus, &hill.id, "ada@example.org", PASSWORD)
        .await
        .err()
        .ok_or("the right password got through while throttled")?;
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert_eq!(
        refused
            .get_details_error_info()
            .map(|info| (info.reason, info.domain)),
        Some(("LOGIN_THROTTLED".to_owned(), "campus".to_owned())),
        "the refusal says why, so a client backs off instead of retrying at once"
    );
    let retry = refused.get_details_retry_info().ok_or("no retry info")?;
    assert!(
        retry
            .retry_delay
            .is_some_and(|delay| delay <= Duration::from_secs(3))
    );

    // Another account is not affected.
    user(&campus, &hill, "bob@example.org", &[Role::Student]).await?;
    assert_eq!(
        code(login(&campus, &hill.id, "bob@example.org", PASSWORD).await),
        Code::Ok
    );

    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(
        code(login(&campus, &hill.id, "ada@example.org", PASSWORD).await),
        Code::Ok
    );
    campus.shutdown().await
}

#[tokio::test]
async fn twenty_wrong_passwords_throttle_the_account_in_process() -> Result<(), Error> {
    twenty_failures_throttle_until_the_window_passes(campus_with_window("3s", false).await?).await
}

#[tokio::test]
async fn twenty_wrong_passwords_throttle_the_account_through_redis() -> Result<(), Error> {
    twenty_failures_throttle_until_the_window_passes(campus_with_window("3s", true).await?).await
}
