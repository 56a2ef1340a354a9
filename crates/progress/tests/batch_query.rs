//! BatchGetProgress for 50 courses is one SQL statement. Statements are counted from sqlx's
//! own log through a process-wide subscriber, so this test has its binary to itself.

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use campus_proto::{
    courses::{
        CreateCourseRequest, EnrollRequest, PublishCourseRequest,
        courses_service_client::CoursesServiceClient,
    },
    progress::{BatchGetProgressRequest, GetCourseProgressRequest},
};
use campus_testkit::spawn_campus;
use common::{Error, class, progress_as};
use tracing::field::{Field, Visit};
use tracing_subscriber::{Layer, layer::SubscriberExt as _};

/// Statements on the progress records.
#[derive(Debug, Clone, Default)]
struct Statements(Arc<Mutex<Vec<String>>>);

struct Text(String);

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" || field.name() == "db.statement" {
            self.0.push_str(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" || field.name() == "db.statement" {
            self.0.push_str(&format!("{value:?}"));
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for Statements {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut text = Text(String::new());
        event.record(&mut text);
        if text.0.contains("course_progress")
            && let Ok(mut statements) = self.0.lock()
        {
            statements.push(text.0);
        }
    }
}

#[tokio::test]
async fn batch_get_progress_for_50_courses_is_one_statement() -> Result<(), Error> {
    let statements = Statements::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(
            statements
                .clone()
                .with_filter(tracing_subscriber::filter::LevelFilter::TRACE),
        ),
    )?;
    let campus = spawn_campus().await?;
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
    // Wait for the enrolment events to reach progress, so the batch finds 50 records and no
    // consumer writes a record while the batch's statements are counted.
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

    statements.0.lock().map_err(|_| "poisoned")?.clear();
    let progress = progress_as(&campus, &learner.token)
        .await?
        .batch_get_progress(BatchGetProgressRequest {
            user_id: String::new(),
            course_ids: course_ids.clone(),
        })
        .await?
        .into_inner()
        .progress;
    let counted = statements.0.lock().map_err(|_| "poisoned")?.len();
    assert_eq!(progress.len(), 50);
    assert_eq!(
        progress
            .iter()
            .map(|p| p.course_id.clone())
            .collect::<Vec<_>>(),
        course_ids,
        "in request order"
    );
    assert_eq!(counted, 1, "one statement for 50 courses");
    campus.shutdown().await
}
