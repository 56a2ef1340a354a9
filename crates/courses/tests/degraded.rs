//! When the progress service is down or hangs, ListCoursesForUser still answers within the
//! caller's deadline, with progress marked unknown.

mod common;

use std::time::Duration;

use campus_proto::courses::{EnrollRequest, ListCoursesForUserRequest, ProgressState};
use campus_proto::users::Role;
use campus_testkit::{TestCampus, spawn_campus};
use common::{Error, courses_as, courses_server, person, published_course, school};

async fn answers_with_unknown_progress(
    main: &TestCampus,
    progress_addr: &str,
) -> Result<(), Error> {
    let hill = school(
        main,
        &format!("hill-{}", progress_addr.rsplit(':').next().unwrap_or("x")),
    )
    .await?;
    let teacher = person(
        main,
        &hill,
        &format!("teacher@{}.example", hill.slug),
        Role::Instructor,
    )
    .await?;
    let pupil = person(
        main,
        &hill,
        &format!("pupil@{}.example", hill.slug),
        Role::Student,
    )
    .await?;
    let course = published_course(main, &teacher, "Drama").await?;
    courses_as(main, &pupil.token)
        .await?
        .enroll(EnrollRequest {
            course_id: course.id,
            user_id: String::new(),
        })
        .await?;

    let courses = courses_server(main, progress_addr, &[]).await?;
    let mut request = tonic::Request::new(ListCoursesForUserRequest::default());
    // Progress is waited for at most CAMPUS_COURSES_PROGRESS_TIMEOUT (500 ms), far inside
    // this deadline: a page held for a progress service that never answers would end in
    // DEADLINE_EXCEEDED here instead.
    request.set_timeout(Duration::from_secs(10));
    let page = courses_as(&courses, &pupil.token)
        .await?
        .list_courses_for_user(request)
        .await?
        .into_inner();
    assert_eq!(page.courses.len(), 1);
    assert_eq!(
        page.courses[0].progress_state,
        ProgressState::Unknown as i32
    );
    assert!(page.courses[0].progress.is_none());
    assert_eq!(
        page.courses[0].instructor_display_name,
        format!("Display teacher")
    );
    courses.shutdown().await
}

#[tokio::test]
async fn a_stopped_progress_service_leaves_progress_unknown() -> Result<(), Error> {
    let main = spawn_campus().await?;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    answers_with_unknown_progress(&main, &format!("http://{closed}")).await?;
    main.shutdown().await
}

#[tokio::test]
async fn a_hanging_progress_service_leaves_progress_unknown_within_the_deadline()
-> Result<(), Error> {
    let main = spawn_campus().await?;
    // Accepts connections (in the kernel backlog) and never answers.
    let black_hole = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = black_hole.local_addr()?;
    answers_with_unknown_progress(&main, &format!("http://{addr}")).await?;
    drop(black_hole);
    main.shutdown().await
}
