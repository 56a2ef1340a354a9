//! All-in-one mode: the peer calls of ListCoursesForUser (instructor names from users,
//! progress from progress), served in process, still pass through the server stack the
//! network's calls pass through: they are counted in the server's metrics and answered.

mod common;

use campus_proto::{
    courses::{EnrollRequest, ListCoursesForUserRequest},
    users::Role,
};
use campus_testkit::spawn_campus;
use common::{Error, courses_as, person, published_course, school};

/// Calls of `method` the server has answered with `code`, from its `/metrics`.
fn handled(metrics: &str, method: &str, code: &str) -> f64 {
    campus_testkit::metric_sample(
        metrics,
        "grpc_server_handled_total",
        &[
            &format!("grpc_method=\"{method}\""),
            &format!("grpc_code=\"{code}\""),
        ],
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn in_process_peer_calls_pass_through_the_server_stack() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "inproc").await?;
    let teacher = person(&campus, &hill, "teacher@inproc.example", Role::Instructor).await?;
    let pupil = person(&campus, &hill, "pupil@inproc.example", Role::Student).await?;
    let course = published_course(&campus, &teacher, "Botany").await?;
    let mut as_pupil = courses_as(&campus, &pupil.token).await?;
    as_pupil
        .enroll(EnrollRequest {
            course_id: course.id.clone(),
            user_id: String::new(),
        })
        .await?;

    let before = campus.metrics().await?;
    let page = as_pupil
        .list_courses_for_user(ListCoursesForUserRequest::default())
        .await?
        .into_inner();
    assert_eq!(page.courses.len(), 1);
    assert_eq!(page.courses[0].instructor_display_name, "Display teacher");
    let after = campus.metrics().await?;
    for method in ["BatchGetUsers", "BatchGetProgress"] {
        assert!(
            handled(&after, method, "OK") > handled(&before, method, "OK"),
            "{method} was served through the stack's metrics layer"
        );
    }
    campus.shutdown().await
}
