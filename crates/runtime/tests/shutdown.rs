//! Graceful shutdown: on SIGTERM health turns NOT_SERVING, a call already in flight
//! completes, and `serve` returns Ok (the binary then exits 0).

mod common;

use std::time::Duration;

use campus_proto::users::{
    GetSchoolRequest, get_school_request::Key, users_service_client::UsersServiceClient,
};
use campus_runtime::shutdown;
use common::{Error, GatedSchools, listeners, server_config, server_with};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

#[tokio::test]
async fn sigterm_reports_not_serving_and_lets_the_in_flight_call_finish() -> Result<(), Error> {
    let config = server_config(&["--shutdown-delay", "3s", "--shutdown-grace", "20s"])?;
    let gate = GatedSchools::default();
    let server = server_with(config, gate.clone()).await?;
    let (grpc, admin, addr) = listeners().await?;
    // The production signal future: it installs the SIGTERM handler when first polled.
    let serving = tokio::spawn(server.serve(grpc, admin, shutdown::signal()));

    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await?;
    let mut health = HealthClient::new(channel.clone());
    let status = health
        .check(HealthCheckRequest::default())
        .await?
        .into_inner();
    assert_eq!(status.status(), ServingStatus::Serving);

    let mut users = UsersServiceClient::new(channel);
    let in_flight = tokio::spawn(async move {
        users
            .get_school(GetSchoolRequest {
                key: Some(Key::SchoolId("school-1".into())),
            })
            .await
    });
    gate.entered().await;

    let sent = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()?;
    assert!(sent.success(), "kill -TERM failed");

    // During the shutdown delay the server still answers, and says it is going away.
    let mut saw_not_serving = false;
    for _ in 0..250 {
        let status = health
            .check(HealthCheckRequest::default())
            .await?
            .into_inner();
        if status.status() == ServingStatus::NotServing {
            saw_not_serving = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        saw_not_serving,
        "health never reported NOT_SERVING after SIGTERM"
    );
    let users_status = health
        .check(HealthCheckRequest {
            service: "campus.users.v1.UsersService".into(),
        })
        .await?
        .into_inner();
    assert_eq!(users_status.status(), ServingStatus::NotServing);

    // The call that was in flight when the signal came still gets its answer.
    gate.release();

    let answer = in_flight.await??.into_inner();
    assert_eq!(
        answer.school.map(|school| school.id).as_deref(),
        Some("school-1")
    );

    tokio::time::timeout(Duration::from_secs(10), serving).await???;
    Ok(())
}
