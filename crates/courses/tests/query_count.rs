//! No N+1: ListCourses and ListCoursesForUser issue as many SQL statements for a page of 50
//! courses as for a page of 1. Statements are counted from sqlx's own statement log, through
//! a process-wide subscriber (SQLite runs statements on its own worker threads), so this test
//! has its binary to itself.

mod common;

use std::sync::{Arc, Mutex};

use campus_proto::{
    courses::{EnrollRequest, ListCoursesForUserRequest, ListCoursesRequest},
    users::Role,
};
use campus_testkit::{TestCampus, spawn_campus};
use common::{Error, Person, courses_as, person, published_course, school};
use tracing::field::{Field, Visit};
use tracing_subscriber::{Layer, layer::SubscriberExt as _};

/// Statements sqlx logged that touch the services' own tables (not the outbox relay's).
#[derive(Debug, Clone, Default)]
struct Statements(Arc<Mutex<Vec<String>>>);

struct StatementText(String);

impl Visit for StatementText {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "db.statement" || field.name() == "summary" {
            self.0.push_str(value);
            self.0.push(' ');
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "db.statement" || field.name() == "summary" {
            self.0.push_str(&format!("{value:?} "));
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
        let mut text = StatementText(String::new());
        event.record(&mut text);
        let statement = text.0.to_lowercase();
        let ours = ["courses", "enrollments", "lessons", " users"]
            .iter()
            .any(|table| statement.contains(table));
        let background = ["outbox", "processed_events", "signing_keys"]
            .iter()
            .any(|table| statement.contains(table));
        if ours
            && !background
            && let Ok(mut statements) = self.0.lock()
        {
            statements.push(statement);
        }
    }
}

impl Statements {
    fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut statements| std::mem::take(&mut *statements))
            .unwrap_or_default()
    }
}

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
    let statements = Statements::default();
    let subscriber = tracing_subscriber::registry().with(
        statements
            .clone()
            .with_filter(tracing_subscriber::filter::LevelFilter::TRACE),
    );
    tracing::subscriber::set_global_default(subscriber)?;

    let campus = spawn_campus().await?;
    let (one_learner, one_admin) = learner_with_courses(&campus, "one", 1).await?;
    let (many_learner, many_admin) = learner_with_courses(&campus, "many", 50).await?;

    // Let the relay and the consumers finish with the set-up's events, so only the calls
    // under test run statements while they are counted.
    let flags =
        <Flags as clap::Parser>::try_parse_from(["test", "--database-url", campus.database_url()])?;
    let database = campus_store::Database::connect_lazy(&flags.database)?;
    for _ in 0..500 {
        let unsent: i64 = campus_store::on_pool!(&database, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetch_one(pool).await
        })?;
        if unsent == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // One more relay round after the last event marks nothing new.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    database.close().await;

    let mut counts = Vec::new();
    for (learner, admin, expected) in [
        (&one_learner, &one_admin, 1),
        (&many_learner, &many_admin, 50),
    ] {
        statements.take();
        let listed = courses_as(&campus, &admin.token)
            .await?
            .list_courses(ListCoursesRequest {
                page_size: 200,
                ..ListCoursesRequest::default()
            })
            .await?
            .into_inner()
            .courses;
        assert_eq!(listed.len(), expected);
        let list_courses = statements.take();

        let mine = courses_as(&campus, &learner.token)
            .await?
            .list_courses_for_user(ListCoursesForUserRequest {
                page_size: 200,
                ..ListCoursesForUserRequest::default()
            })
            .await?
            .into_inner()
            .courses;
        assert_eq!(mine.len(), expected);
        assert!(
            mine.iter()
                .all(|item| item.instructor_display_name == "Display teacher")
        );
        let my_courses = statements.take();
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

#[derive(Debug, clap::Parser)]
struct Flags {
    #[command(flatten)]
    database: campus_store::DatabaseConfig,
}
