//! No N+1: ListCourses and ListCoursesForUser issue as many SQL statements for a page of 50
//! courses as for a page of 1; with a cache TTL of zero every call reads the database.
//! Statements are counted from the server's own sqlx statement log, only those run inside
//! the call under test.

mod common;

use campus_proto::{
    courses::{EnrollRequest, ListCoursesForUserRequest, ListCoursesRequest},
    users::Role,
};
use campus_testkit::{CampusOptions, TestCampus};
use common::{Error, Person, courses_as, person, published_course, school};
use tonic_health::pb::health_check_response::ServingStatus;

/// A learner enrolled in `count` published courses, and the school's admin.
async fn learner_with_courses(
    campus: &TestCampus,
    slug: &str,
    count: usize,
) -> Result<(Person, Person), Error> {
    let school = school(campus, slug).await?;
    let teacher = person(
        campus,
        &school,
        &format!("teacher@{slug}.example"),
        Role::Instructor,
    )
    .await?;
    let learner = person(
        campus,
        &school,
        &format!("learner@{slug}.example"),
        Role::Student,
    )
    .await?;
    let admin = person(
        campus,
        &school,
        &format!("admin@{slug}.example"),
        Role::SchoolAdmin,
    )
    .await?;
    let mut as_learner = courses_as(campus, &learner.token).await?;
    for n in 0..count {
        let course = published_course(campus, &teacher, &format!("Course {n}")).await?;
        as_learner
            .enroll(EnrollRequest {
                course_id: course.id,
                user_id: String::new(),
            })
            .await?;
    }
    Ok((learner, admin))
}

#[tokio::test]
async fn list_endpoints_issue_the_same_statements_for_1_and_50_courses() -> Result<(), Error> {
    let campus = TestCampus::start(CampusOptions {
        log_filter: "info,sqlx::query=debug",
        // Statements are counted with progress's answer in: on a busy machine the 500 ms
        // default can cut progress off, and a page without it runs fewer statements.
        args: vec!["--courses-progress-timeout".into(), "30s".into()],
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    let (one_learner, one_admin) = learner_with_courses(&campus, "one", 1).await?;
    let (many_learner, many_admin) = learner_with_courses(&campus, "many", 50).await?;

    let mut counts = Vec::new();
    for (learner, admin, expected) in [
        (&one_learner, &one_admin, 1),
        (&many_learner, &many_admin, 50),
    ] {
        let mut as_admin = courses_as(&campus, &admin.token).await?;
        let (listed, list_courses) = campus
            .statements_of("ListCourses", async {
                Ok(as_admin
                    .list_courses(ListCoursesRequest {
                        page_size: 200,
                        ..ListCoursesRequest::default()
                    })
                    .await?
                    .into_inner()
                    .courses)
            })
            .await?;
        assert_eq!(listed.len(), expected);

        let mut as_learner = courses_as(&campus, &learner.token).await?;
        let (mine, my_courses) = campus
            .statements_of("ListCoursesForUser", async {
                Ok(as_learner
                    .list_courses_for_user(ListCoursesForUserRequest {
                        page_size: 200,
                        ..ListCoursesForUserRequest::default()
                    })
                    .await?
                    .into_inner()
                    .courses)
            })
            .await?;
        assert_eq!(mine.len(), expected);
        assert!(
            mine.iter()
                .all(|item| item.instructor_display_name == "Display teacher")
        );
        counts.push((list_courses.len(), my_courses.len()));
        assert!(
            !list_courses.is_empty() && !my_courses.is_empty(),
            "the statement log was captured"
        );
    }
    eprintln!("statements (ListCourses, ListCoursesForUser) for 1 and 50 courses: {counts:?}");
    assert_eq!(
        counts[0], counts[1],
        "statements for 1 course vs 50 courses: {counts:?}"
    );
    campus.shutdown().await
}

#[tokio::test]
async fn a_cache_ttl_of_zero_reads_the_database_on_every_call() -> Result<(), Error> {
    let campus = TestCampus::start(CampusOptions {
        log_filter: "info,sqlx::query=debug",
        args: vec!["--courses-cache-ttl".into(), "0s".into()],
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    let (learner, _) = learner_with_courses(&campus, "uncached", 2).await?;
    let mut as_learner = courses_as(&campus, &learner.token).await?;
    for call in 1..=3 {
        let (mine, statements) = campus
            .statements_of("ListCoursesForUser", async {
                Ok(as_learner
                    .list_courses_for_user(ListCoursesForUserRequest::default())
                    .await?
                    .into_inner()
                    .courses)
            })
            .await?;
        assert_eq!(mine.len(), 2);
        assert!(
            statements
                .iter()
                .any(|statement| statement.contains("FROM enrollments")),
            "call {call} read the database: {statements:?}"
        );
    }
    campus.shutdown().await
}
