//! Campus reaches TLS-only PostgreSQL (`sslmode=verify-full`) and Redis (`rediss://`), each
//! a private server of the test with a certificate the test made; a certificate that is
//! expired, for another host name or from an unknown CA is refused, and the readiness log
//! names the setting to fix while health stays NOT_SERVING.

use std::path::Path;

use campus_proto::users::{ListSchoolsRequest, users_service_client::UsersServiceClient};
use campus_testkit::{
    CampusOptions, Error, PrivatePostgres, PrivateRedis, TestCa, TestCampus, TestDatabase,
};
use tonic_health::pb::health_check_response::ServingStatus;

/// A URL of the private PostgreSQL, by host name, verifying its certificate
/// against `ca_file`.
fn verify_full(postgres: &PrivatePostgres, ca_file: &Path) -> Result<String, Error> {
    let port = postgres.port();
    Ok(format!(
        "postgres://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={}",
        ca_file.display()
    ))
}

/// Starts campus on `database_url` (with `args`), waits until it is ready, and has it write
/// (a platform admin) and read (the schools).
async fn serves(database_url: String, args: Vec<String>) -> Result<(), Error> {
    let campus = TestCampus::start(CampusOptions {
        database_url: Some(database_url),
        args,
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    let token = campus.platform_admin_token().await?;
    UsersServiceClient::new(campus.channel_as(&token).await?)
        .list_schools(ListSchoolsRequest::default())
        .await?;
    campus.shutdown().await
}

/// Starts campus on `database_url` (with `args`) and waits until its readiness log names
/// `setting` as refused; health must stay NOT_SERVING meanwhile.
async fn refused(database_url: String, args: &[String], setting: &str) -> Result<String, Error> {
    let campus = TestCampus::start(CampusOptions {
        database_url: Some(database_url),
        args: args.to_vec(),
        ..CampusOptions::default()
    })
    .await?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let line = loop {
        let log = campus.log()?;
        if let Some(line) = log
            .lines()
            .find(|line| line.contains("not ready yet") && line.contains(setting))
        {
            break line.to_owned();
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("no readiness error naming {setting}:\n{log}").into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(campus.admin_health("").await?, ServingStatus::NotServing);
    campus.shutdown().await?;
    Ok(line)
}

#[tokio::test]
async fn postgres_over_tls_with_verify_full() -> Result<(), Error> {
    let ca = TestCa::new("database")?;
    let good = ca.issue("postgres", &["localhost"])?;
    let postgres = PrivatePostgres::start_tls(&good).await?;
    let url = verify_full(&postgres, &ca.ca_file())?;

    // Migrations, writes and reads go through the TLS connection.
    serves(url.clone(), Vec::new()).await?;

    // Cleartext is refused by the server itself.
    let cleartext = url.replace("sslmode=verify-full", "sslmode=disable");
    assert!(
        sqlx::PgPool::connect(&cleartext).await.is_err(),
        "the TLS-only server took a cleartext connection"
    );

    // An unknown CA, a certificate for another host name, an expired certificate.
    let other = TestCa::new("other")?;
    let elsewhere =
        PrivatePostgres::start_tls(&ca.issue("elsewhere", &["db.elsewhere.example"])?).await?;
    let stale = PrivatePostgres::start_tls(&ca.issue_expired("expired", &["localhost"])?).await?;
    for (url, why) in [
        (verify_full(&postgres, &other.ca_file())?, "UnknownIssuer"),
        (
            verify_full(&elsewhere, &ca.ca_file())?,
            "not valid for name",
        ),
        (verify_full(&stale, &ca.ca_file())?, "xpired"),
    ] {
        let line = refused(url, &[], "CAMPUS_DATABASE_URL").await?;
        assert!(line.contains(why), "{why}: {line}");
    }
    Ok(())
}

#[tokio::test]
async fn redis_over_tls_with_its_ca() -> Result<(), Error> {
    let ca = TestCa::new("cache")?;
    let good = ca.issue("redis", &["localhost"])?;
    let redis = PrivateRedis::start_tls(&good, &ca.ca_file()).await?;
    let with_ca = |url: String, ca_file: &Path| {
        vec![
            "--redis-url".to_owned(),
            url,
            "--redis-ca-file".to_owned(),
            ca_file.display().to_string(),
        ]
    };

    // One database for every server of the test (a server's own would go with it).
    let test_database = TestDatabase::preferred().await?;
    let database = test_database.url().to_owned();
    // Readiness waits for Redis to answer PING over TLS.
    serves(database.clone(), with_ca(redis.url(), &ca.ca_file())).await?;

    let other = TestCa::new("other")?;
    let elsewhere = ca.issue("elsewhere", &["cache.elsewhere.example"])?;
    let elsewhere = PrivateRedis::start_tls(&elsewhere, &ca.ca_file()).await?;
    let expired = ca.issue_expired("expired", &["localhost"])?;
    let stale = PrivateRedis::start_tls(&expired, &ca.ca_file()).await?;
    for (args, why) in [
        (with_ca(redis.url(), &other.ca_file()), "UnknownIssuer"),
        (
            with_ca(elsewhere.url(), &ca.ca_file()),
            "not valid for name",
        ),
        (with_ca(stale.url(), &ca.ca_file()), "xpired"),
    ] {
        let line = refused(database.clone(), &args, "CAMPUS_REDIS_URL").await?;
        assert!(line.contains(why), "{why}: {line}");
    }
    Ok(())
}
