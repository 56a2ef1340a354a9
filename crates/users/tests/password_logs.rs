//! No password ever appears in the logs, at any level. In its own test binary: the capture
//! is a thread-scoped subscriber, which must not share the process with other tests.

mod common;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use campus_proto::users::{ChangePasswordRequest, RegisterUserRequest};
use campus_testkit::spawn_campus;
use common::{Error, PASSWORD, as_user, code, login, public, school};
use tonic::Code;

/// Everything the subscriber writes.
#[derive(Debug, Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_password_appears_in_the_logs() -> Result<(), Error> {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // The test runtime is single-threaded, so the server's tasks log here too.
    let _guard = tracing::subscriber::set_default(subscriber);

    let campus = spawn_campus().await?;
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
    campus.shutdown().await?;

    let logs = String::from_utf8(captured.0.lock().map_err(|_| "poisoned")?.clone())?;
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
