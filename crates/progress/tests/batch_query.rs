//! BatchGetProgress for 50 courses is one SQL statement, counted from the server's own sqlx
//! statement log inside the call.

mod common;

use std::time::Duration;

use campus_proto::{
    courses::{
        CreateCourseRequest, EnrollRequest, PublishCourseRequest,
        courses_service_client::CoursesServiceClient,
    },
    progress::{BatchGetProgressRequest, GetCourseProgressRequest},
};
use campus_testkit::{CampusOptions, TestCampus};
use common::{Error, class, progress_as};
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn batch_get_progress_for_50_courses_is_one_statement() -> Result<(), Error> {
    let campus = TestCampus::start(CampusOptions {
        log_filter: "info,sqlx::query=debug",
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    let class = class(&campus, "hill", 1, 0).await?;
    let learner = &class.students[0];
    let mut courses = CoursesServiceClient::new(campus.channel_as(&class.instructor.token).await?);
    let mut course_ids = vec![class.course_id.clone()];
    for n in 1..50 {
        let course = courses
            .create_course(CreateCourseRequest {
                school_id: class.school_id.clone(),
                title: format!("Course {n}"),
                ..CreateCourseRequest::default()
            })
            .await?
            .into_inner()
            .course
            .ok_or("no course")?;
        courses
            .publish_course(PublishCourseRequest {
                course_id: course.id.clone(),
                version: course.version,
            })
            .await?;
        courses
            .enroll(EnrollRequest {
                course_id: course.id.clone(),
                user_id: learner.id.clone(),
            })
            .await?;
        course_ids.push(course.id);
    }
    // Every enrolment has its progress record before the batch is counted.
    let mut as_learner = progress_as(&campus, &learner.token).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for course_id in &course_ids {
        while as_learner
            .get_course_progress(GetCourseProgressRequest {
                user_id: String::new(),
                course_id: course_id.clone(),
            })
            .await
            .is_err()
        {
            if tokio::time::Instant::now() > deadline {
                return Err(
                    format!("progress never learnt of the enrolment in {course_id}").into(),
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let (progress, statements) = campus
        .statements_of("BatchGetProgress", async {
            Ok(as_learner
                .batch_get_progress(BatchGetProgressRequest {
                    user_id: String::new(),
                    course_ids: course_ids.clone(),
                })
                .await?
                .into_inner()
                .progress)
        })
        .await?;
    assert_eq!(progress.len(), 50);
    assert_eq!(
        progress
            .iter()
            .map(|p| p.course_id.clone())
            .collect::<Vec<_>>(),
        course_ids,
        "in request order"
    );
    assert_eq!(
        statements.len(),
        1,
        "one statement for 50 courses: {statements:?}"
    );
    campus.shutdown().await
}
