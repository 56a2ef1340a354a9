//! No password ever appears in the server's log, at any level.

mod common;

use campus_proto::users::{ChangePasswordRequest, RegisterUserRequest};
use campus_testkit::{CampusOptions, TestCampus};
use common::{Error, PASSWORD, as_user, code, login, public, school};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn no_password_appears_in_the_logs() -> Result<(), Error> {
    let campus = TestCampus::start(CampusOptions {
        log_filter: "trace",
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    let hill = school(&campus, "hill", true).await?;
    let secret = "correct horse battery staple";
    let wrong = "wrong horse battery staple";
    public(&campus)
        .await?
        .register_user(RegisterUserRequest {
            request_id: String::new(),
            school_id: hill.id.clone(),
            email: "ada@example.org".into(),
            password: secret.into(),
            display_name: "Ada".into(),
        })
        .await?;
    assert_eq!(
        code(login(&campus, &hill.id, "ada@example.org", wrong).await),
        Code::Unauthenticated
    );
    let token = login(&campus, &hill.id, "ada@example.org", secret)
        .await?
        .tokens
        .ok_or("no tokens")?
        .access_token;
    let new_secret = "a brand new passphrase";
    as_user(&campus, &token)
        .await?
        .change_password(ChangePasswordRequest {
            current_password: secret.into(),
            new_password: new_secret.into(),
        })
        .await?;
    assert_eq!(
        code(login(&campus, &hill.id, "ada@example.org", secret).await),
        Code::Unauthenticated
    );
    assert_eq!(
        code(login(&campus, &hill.id, "ada@example.org", new_secret).await),
        Code::Ok
    );
    let logs = campus.log()?;
    campus.shutdown().await?;

    assert!(
        logs.contains("serving"),
        "the capture saw the server's logs: {}",
        &logs[..logs.len().min(2000)]
    );
    for password in [
        secret,
        wrong,
        new_secret,
        PASSWORD,
        campus_testkit::PLATFORM_ADMIN_PASSWORD,
    ] {
        assert!(!logs.contains(password), "a password reached the logs");
    }
    Ok(())
}
