//! A database that goes away is UNAVAILABLE (retry), never INTERNAL: for writes, for reads
//! through the cache, and for a connection the database terminates under a call. Each test
//! runs a PostgreSQL server of its own, so it can be stopped.

use std::time::Duration;

use campus_proto::{
    courses::{GetCourseRequest, courses_service_client::CoursesServiceClient},
    finance::{
        AnalyticsQuery, DateRange, GetAnalyticsRequest,
        finance_service_client::FinanceServiceClient,
    },
    users::{CreateSchoolRequest, users_service_client::UsersServiceClient},
};
use campus_testkit::{CampusOptions, Error, PrivatePostgres, TestCampus, code};
use sqlx::{Connection as _, Executor as _, PgConnection};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// A campus on `postgres`, waiting at most a second for a database connection.
async fn campus_on(postgres: &PrivatePostgres) -> Result<TestCampus, Error> {
    let campus = TestCampus::start(CampusOptions {
        database_url: Some(postgres.url()),
        args: vec!["--database-acquire-timeout".into(), "1s".into()],
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    Ok(campus)
}

fn school(request_id: &str, slug: &str) -> CreateSchoolRequest {
    CreateSchoolRequest {
        request_id: request_id.to_owned(),
        name: format!("School {slug}"),
        slug: slug.to_owned(),
        self_sign_up_enabled: false,
    }
}

/// Asserts `status` is UNAVAILABLE and tells the client nothing of the cause.
fn assert_unavailable(what: &str, status: Option<tonic::Status>) {
    let Some(status) = status else {
        panic!("{what} succeeded during the outage");
    };
    assert_eq!(status.code(), Code::Unavailable, "{what}: {status:?}");
    for internal in ["127.0.0.1", "refused", "sqlx", "pool"] {
        assert!(
            !status.message().contains(internal),
            "{what} sends its cause: {}",
            status.message()
        );
    }
}

#[tokio::test]
async fn writes_and_cached_reads_during_an_outage_are_unavailable_and_nothing_is_lost()
-> Result<(), Error> {
    let mut postgres = PrivatePostgres::start().await?;
    let campus = campus_on(&postgres).await?;
    let token = campus.platform_admin_token().await?;
    let channel = campus.channel_as(&token).await?;
    let mut users = UsersServiceClient::new(channel.clone());
    users
        .create_school(school("01938f6e-0000-7000-8000-000000000001", "before"))
        .await?;

    postgres.stop().await?;
    let during = school("01938f6e-0000-7000-8000-000000000002", "during");
    assert_unavailable(
        "CreateSchool",
        users.create_school(during.clone()).await.err(),
    );
    assert_unavailable(
        "GetCourse (a cache miss)",
        CoursesServiceClient::new(channel.clone())
            .get_course(GetCourseRequest {
                course_id: "01938f6e-0000-7000-8000-00000000c0de".into(),
            })
            .await
            .err(),
    );
    assert_unavailable(
        "GetAnalytics (a cache miss)",
        FinanceServiceClient::new(channel.clone())
            .get_analytics(GetAnalyticsRequest {
                query: Some(AnalyticsQuery {
                    date_range: Some(DateRange {
                        start_date: "2026-01-01".into(),
                        end_date: "2026-01-31".into(),
                    }),
                    ..AnalyticsQuery::default()
                }),
            })
            .await
            .err(),
    );

    // Back up: the refused write, retried with its request id, is written once.
    postgres.resume().await?;
    let mut written = None;
    for _ in 0..300 {
        match users.create_school(during.clone()).await {
            Ok(answer) => {
                written = answer.into_inner().school;
                break;
            }
            Err(status) if status.code() == Code::Unavailable => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => return Err(status.into()),
        }
    }
    let written = written.ok_or("the write never succeeded after the database came back")?;
    let again = users
        .create_school(during)
        .await?
        .into_inner()
        .school
        .ok_or("no school")?;
    assert_eq!(
        written.id, again.id,
        "the retry is answered as the first write"
    );
    campus.shutdown().await
}

#[tokio::test]
async fn a_connection_the_database_terminates_under_a_call_is_unavailable() -> Result<(), Error> {
    let postgres = PrivatePostgres::start().await?;
    let campus = campus_on(&postgres).await?;
    let token = campus.platform_admin_token().await?;
    let mut users = UsersServiceClient::new(campus.channel_as(&token).await?);

    // Hold the schools table, so the write waits on its lock where it can be found.
    let mut locker = PgConnection::connect(&postgres.url()).await?;
    let mut lock = locker.begin().await?;
    lock.execute("LOCK TABLE schools IN ACCESS EXCLUSIVE MODE")
        .await?;
    let call = tokio::spawn({
        let mut users = users.clone();
        async move {
            users
                .create_school(school("01938f6e-0000-7000-8000-000000000003", "cut"))
                .await
        }
    });
    let mut admin = PgConnection::connect(&postgres.url()).await?;
    let mut terminated = false;
    for _ in 0..300 {
        let waiting: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
             AND pid <> pg_backend_pid() LIMIT 1",
        )
        .fetch_optional(&mut admin)
        .await?;
        if let Some(pid) = waiting {
            // As an administrator's pg_terminate_backend or a server shutdown does: 57P01.
            terminated = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .fetch_one(&mut admin)
                .await?;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(terminated, "the write never waited on the lock");
    assert_unavailable("CreateSchool on a terminated connection", call.await?.err());
    lock.rollback().await?;

    // The next call gets a fresh connection.
    assert_eq!(
        code(
            users
                .create_school(school("01938f6e-0000-7000-8000-000000000004", "after"))
                .await
        ),
        Code::Ok
    );
    campus.shutdown().await
}
