//! Idempotent peer calls are retried on UNAVAILABLE: a progress replica that refuses one call
//! (as one going away in a rolling update does) costs a retry, not the student's progress.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use campus_proto::{
    courses::{EnrollRequest, ListCoursesForUserRequest, ProgressState},
    progress::{
        BatchGetProgressRequest, BatchGetProgressResponse,
        progress_service_client::ProgressServiceClient,
        progress_service_server::{ProgressService, ProgressServiceServer},
    },
    users::Role,
};
use campus_testkit::spawn_campus;
use common::{Error, courses_as, courses_server, person, published_course, school};
use tonic::{Request, Response, Status};

/// A progress replica that answers its first BatchGetProgress with UNAVAILABLE, then passes
/// calls on to the real progress service over `real`.
struct FlakyProgress {
    real: tonic::transport::Channel,
    calls: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl ProgressService for FlakyProgress {
    async fn batch_get_progress(
        &self,
        request: Request<BatchGetProgressRequest>,
    ) -> Result<Response<BatchGetProgressResponse>, Status> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(Status::unavailable("this replica is going away"));
        }
        let mut forwarded = Request::new(request.get_ref().clone());
        if let Some(authorization) = request.metadata().get("authorization") {
            forwarded
                .metadata_mut()
                .insert("authorization", authorization.clone());
        }
        ProgressServiceClient::new(self.real.clone())
            .batch_get_progress(forwarded)
            .await
    }
}

#[tokio::test]
async fn a_progress_call_refused_once_is_retried() -> Result<(), Error> {
    let main = spawn_campus().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let flaky_addr = listener.local_addr()?;
    let calls = Arc::new(AtomicUsize::new(0));
    let flaky = FlakyProgress {
        real: main.channel().await?,
        calls: Arc::clone(&calls),
    };
    let flaky_server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ProgressServiceServer::new(flaky))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let meadow = school(&main, "meadow").await?;
    let teacher = person(&main, &meadow, "teacher@meadow.example", Role::Instructor).await?;
    let pupil = person(&main, &meadow, "pupil@meadow.example", Role::Student).await?;
    let course = published_course(&main, &teacher, "Botany").await?;
    courses_as(&main, &pupil.token)
        .await?
        .enroll(EnrollRequest {
            course_id: course.id.clone(),
            user_id: String::new(),
        })
        .await?;
    // Progress hears of the enrolment through an event; until then it reports the course as
    // unknown, which is not what this test is about.
    let mut progress = ProgressServiceClient::new(main.channel_as(&pupil.token).await?);
    let mut known = false;
    for _ in 0..1500 {
        let answer = progress
            .batch_get_progress(BatchGetProgressRequest {
                user_id: String::new(),
                course_ids: vec![course.id.clone()],
            })
            .await?;
        if !answer.into_inner().progress.is_empty() {
            known = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(known, "progress never heard of the enrolment");

    // The whole budget for progress, retry included; the default (500 ms) is tight for a busy
    // test machine.
    let flaky_url = format!("http://{flaky_addr}");
    let courses = courses_server(&main, &flaky_url, &["--courses-progress-timeout", "5s"]).await?;
    let mut request = tonic::Request::new(ListCoursesForUserRequest::default());
    request.set_timeout(Duration::from_secs(5));
    let page = courses_as(&courses, &pupil.token)
        .await?
        .list_courses_for_user(request)
        .await?
        .into_inner();
    assert_eq!(page.courses.len(), 1);
    assert_eq!(
        page.courses[0].progress_state,
        ProgressState::Known as i32,
        "the refused call was not retried"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one refusal, one retry");

    courses.shutdown().await?;
    flaky_server.abort();
    main.shutdown().await
}
