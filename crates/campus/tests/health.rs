//! Readiness: every service reports SERVING once the database answered and migrations ran,
//! and NOT_SERVING while the database cannot be reached.

use campus_testkit::{CampusOptions, Error, SERVICES, TestCampus, spawn_campus};
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn every_service_reports_serving_after_start() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    assert_eq!(campus.health("").await?, ServingStatus::Serving);
    for service in SERVICES {
        assert_eq!(
            campus.health(service).await?,
            ServingStatus::Serving,
            "{service}"
        );
    }
    campus.shutdown().await
}

#[tokio::test]
async fn one_service_role_serves_only_that_service() -> Result<(), Error> {
    let campus = TestCampus::start(CampusOptions {
        role: "progress",
        ..CampusOptions::default()
    })
    .await?;
    campus
        .wait_for_status("campus.progress.v1.ProgressService", ServingStatus::Serving)
        .await?;
    // A name this process does not serve is unknown to its health service.
    assert!(campus.health("campus.users.v1.UsersService").await.is_err());
    campus.shutdown().await
}

#[tokio::test]
async fn unreachable_database_keeps_every_service_not_serving() -> Result<(), Error> {
    let campus = TestCampus::start(CampusOptions {
        database_url: Some("postgres://postgres@127.0.0.1:1/campus".into()),
        args: vec!["--database-acquire-timeout".into(), "200ms".into()],
        ..CampusOptions::default()
    })
    .await?;
    // The readiness loop has tried and failed more than once.
    campus.wait_for_logged("not ready yet", 2).await?;
    assert_eq!(campus.health("").await?, ServingStatus::NotServing);
    for service in SERVICES {
        assert_eq!(
            campus.health(service).await?,
            ServingStatus::NotServing,
            "{service}"
        );
    }
    campus.shutdown().await
}

#[tokio::test]
async fn configured_redis_is_checked_before_serving() -> Result<(), Error> {
    let unreachable = TestCampus::start(CampusOptions {
        args: vec!["--redis-url".into(), "redis://127.0.0.1:1".into()],
        ..CampusOptions::default()
    })
    .await?;
    unreachable.wait_for_logged("not ready yet", 2).await?;
    assert_eq!(unreachable.health("").await?, ServingStatus::NotServing);
    unreachable.shutdown().await?;

    // A reachable Redis lets it serve.
    let campus = TestCampus::start(CampusOptions {
        redis: true,
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    campus.shutdown().await
}
