//! Right after Enroll, "my courses" never shows a wrong page: a course whose enrolment
//! progress has not heard of yet is UNKNOWN (never KNOWN with 0 of 0 lessons), such a page is
//! not cached, and once progress knows, the page shows it. And a learner who enrols can use
//! the course at once: record lesson 1 and see it in "my courses", a hundred times in a row,
//! in one process and across two replicas on PostgreSQL and Redis.

mod common;

use std::time::Duration;

use campus_proto::{
    courses::{AddLessonRequest, Course, EnrollRequest, ListCoursesForUserRequest, ProgressState},
    progress::{
        LessonProgressState, RecordLessonProgressRequest,
        progress_service_client::ProgressServiceClient,
    },
    users::Role,
};
use campus_testkit::{
    CampusOptions, TestCampus, TestDatabase, TestRedis, spawn_campus, spawn_replica,
};
use common::{Error, Person, courses_as, person, published_course, school};
use tonic_health::pb::health_check_response::ServingStatus;

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

/// `count` published courses of one lesson each, taught by `teacher`; with their lesson ids.
async fn courses_of_one_lesson(
    campus: &TestCampus,
    teacher: &Person,
    count: usize,
) -> Result<Vec<(Course, String)>, Error> {
    let mut as_teacher = courses_as(campus, &teacher.token).await?;
    let mut courses = Vec::with_capacity(count);
    for n in 0..count {
        let course = published_course(campus, teacher, &format!("Course {n}")).await?;
        let lesson = as_teacher
            .add_lesson(AddLessonRequest {
                course_id: course.id.clone(),
                title: "Lesson 1".into(),
                ..AddLessonRequest::default()
            })
            .await?
            .into_inner()
            .lesson
            .ok_or("no lesson")?;
        courses.push((course, lesson.id));
    }
    Ok(courses)
}

/// Enrols through `enrol_on`, records lesson 1 at once through `record_on`, then lists "my
/// courses" through `enrol_on`: no error, and the course shows 1 of 1 lessons done.
async fn enrol_and_use_at_once(
    enrol_on: &TestCampus,
    record_on: &TestCampus,
    pupil: &Person,
    course: &Course,
    lesson_id: &str,
) -> Result<(), Error> {
    courses_as(enrol_on, &pupil.token)
        .await?
        .enroll(EnrollRequest {
            course_id: course.id.clone(),
            user_id: String::new(),
        })
        .await?;
    ProgressServiceClient::new(record_on.channel_as(&pupil.token).await?)
        .record_lesson_progress(RecordLessonProgressRequest {
            request_id: uuid::Uuid::now_v7().to_string(),
            user_id: String::new(),
            course_id: course.id.clone(),
            lesson_id: lesson_id.to_owned(),
            state: LessonProgressState::Completed as i32,
        })
        .await
        .map_err(|status| {
            format!(
                "recording lesson 1 of {} right after Enroll: {status:?}",
                course.title
            )
        })?;
    let page = courses_as(enrol_on, &pupil.token)
        .await?
        .list_courses_for_user(ListCoursesForUserRequest {
            page_size: 200,
            ..ListCoursesForUserRequest::default()
        })
        .await?
        .into_inner();
    let item = page
        .courses
        .iter()
        .find(|item| item.course.as_ref().is_some_and(|c| c.id == course.id))
        .ok_or("the new course is not in my courses")?;
    assert_eq!(
        (
            item.progress_state,
            item.progress
                .as_ref()
                .map(|p| (p.completed_lessons, p.total_lessons))
        ),
        (ProgressState::Known as i32, Some((1, 1))),
        "{}",
        course.title
    );
    Ok(())
}

const TIMES: usize = 100;

#[tokio::test]
async fn a_learner_uses_a_course_at_once_after_enrolling() -> Result<(), Error> {
    // All in one process on the embedded SQLite, events through the in-process bus.
    let database = TestDatabase::sqlite()?;
    let campus = TestCampus::start(CampusOptions {
        database_url: Some(database.url().to_owned()),
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    let vale = school(&campus, "vale").await?;
    let teacher = person(&campus, &vale, "teacher@vale.example", Role::Instructor).await?;
    let pupil = person(&campus, &vale, "pupil@vale.example", Role::Student).await?;
    for (course, lesson_id) in courses_of_one_lesson(&campus, &teacher, TIMES).await? {
        enrol_and_use_at_once(&campus, &campus, &pupil, &course, &lesson_id).await?;
    }
    campus.shutdown().await
}

#[tokio::test]
async fn a_learner_uses_a_course_at_once_across_two_replicas() -> Result<(), Error> {
    let database = TestDatabase::postgres_always().await?;
    let redis = TestRedis::start().await?;
    let a = spawn_replica(database.url(), redis.url(), redis.prefix()).await?;
    let b = spawn_replica(database.url(), redis.url(), redis.prefix()).await?;
    let vale = school(&a, "vale").await?;
    let teacher = person(&a, &vale, "teacher@vale.example", Role::Instructor).await?;
    let pupil = person(&a, &vale, "pupil@vale.example", Role::Student).await?;
    for (n, (course, lesson_id)) in courses_of_one_lesson(&a, &teacher, TIMES)
        .await?
        .into_iter()
        .enumerate()
    {
        let (enrol_on, record_on) = if n % 2 == 0 { (&a, &b) } else { (&b, &a) };
        enrol_and_use_at_once(enrol_on, record_on, &pupil, &course, &lesson_id).await?;
    }
    a.shutdown().await?;
    b.shutdown().await?;
    redis.clean().await
}
