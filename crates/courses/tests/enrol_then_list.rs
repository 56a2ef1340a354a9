//! Right after Enroll, "my courses" never shows a wrong page: a course whose enrolment
//! progress has not heard of yet is UNKNOWN (never KNOWN with 0 of 0 lessons), such a page is
//! not cached, and once progress knows, the page shows it.

mod common;

use std::time::Duration;

use campus_proto::{
    courses::{AddLessonRequest, EnrollRequest, ListCoursesForUserRequest, ProgressState},
    users::Role,
};
use campus_testkit::spawn_campus;
use common::{Error, courses_as, person, published_course, school};

/// Each course of the page as (known, total lessons progress reports, the course's lessons).
async fn page(
    client: &mut campus_proto::courses::courses_service_client::CoursesServiceClient<
        campus_testkit::AuthedChannel,
    >,
) -> Result<Vec<(bool, i32, i32)>, Error> {
    Ok(client
        .list_courses_for_user(ListCoursesForUserRequest::default())
        .await?
        .into_inner()
        .courses
        .into_iter()
        .map(|item| {
            (
                item.progress_state == ProgressState::Known as i32,
                item.progress.map_or(-1, |progress| progress.total_lessons),
                item.course.map_or(-1, |course| course.lesson_count),
            )
        })
        .collect())
}

#[tokio::test]
async fn my_courses_right_after_enroll_is_never_wrong_nor_stuck() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill").await?;
    let teacher = person(&campus, &hill, "teacher@hill.example", Role::Instructor).await?;
    let pupil = person(&campus, &hill, "pupil@hill.example", Role::Student).await?;
    let mut as_teacher = courses_as(&campus, &teacher.token).await?;
    let mut as_pupil = courses_as(&campus, &pupil.token).await?;
    const COURSES: usize = 20;
    for n in 0..COURSES {
        let course = published_course(&campus, &teacher, &format!("Course {n}")).await?;
        for lesson in 0..2 {
            as_teacher
                .add_lesson(AddLessonRequest {
                    course_id: course.id.clone(),
                    title: format!("Lesson {lesson}"),
                    ..AddLessonRequest::default()
                })
                .await?;
        }
        as_pupil
            .enroll(EnrollRequest {
                course_id: course.id.clone(),
                user_id: String::new(),
            })
            .await?;
        let shown = page(&mut as_pupil).await?;
        assert_eq!(shown.len(), n + 1);
        for (known, total, lessons) in shown {
            assert!(
                !known || total == lessons,
                "after enrolment {n}: KNOWN with {total} lessons of {lessons}"
            );
        }
    }
    // Progress catches up, and the page shows it: nothing wrong was cached.
    let all_known = |shown: &[(bool, i32, i32)]| {
        shown.len() == COURSES && shown.iter().all(|&(known, total, _)| known && total == 2)
    };
    let mut shown = Vec::new();
    for _ in 0..1500 {
        shown = page(&mut as_pupil).await?;
        if all_known(&shown) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(all_known(&shown), "{shown:?}");
    campus.shutdown().await
}
