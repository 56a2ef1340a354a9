//! Lesson progress: the enrolment event opens the record (through the real bus), the percent
//! follows completed lessons, progress only moves forward, and "my courses" shows it.

mod common;

use std::time::Duration;

use campus_proto::{
    courses::{
        ListCoursesForUserRequest, ProgressState, courses_service_client::CoursesServiceClient,
    },
    progress::{
        BatchGetProgressRequest, GetCourseProgressRequest, LessonProgressState,
        RecordLessonProgressRequest,
    },
};
use campus_testkit::{CampusOptions, TestCampus, spawn_campus};
use common::{Error, class, code, progress_as};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

async fn percent_follows_completed_lessons(campus: TestCampus) -> Result<(), Error> {
    let class = class(&campus, "hill", 1, 3).await?;
    let student = &class.students[0];
    let mut progress = progress_as(&campus, &student.token).await?;
    let record =
        |lesson: usize, state: LessonProgressState, request_id: &str| RecordLessonProgressRequest {
            request_id: request_id.to_owned(),
            user_id: String::new(),
            course_id: class.course_id.clone(),
            lesson_id: class.lesson_ids[lesson].clone(),
            state: state as i32,
        };
    let start = progress
        .record_lesson_progress(record(0, LessonProgressState::Started, "r0"))
        .await?
        .into_inner();
    assert_eq!(
        start.course_progress.as_ref().map(|p| p.percent_complete),
        Some(0)
    );
    let mut percents = Vec::new();
    for lesson in 0..3 {
        let answer = progress
            .record_lesson_progress(record(
                lesson,
                LessonProgressState::Completed,
                &format!("c{lesson}"),
            ))
            .await?
            .into_inner();
        percents.push(
            answer
                .course_progress
                .map(|p| (p.completed_lessons, p.percent_complete)),
        );
    }
    assert_eq!(percents, [Some((1, 33)), Some((2, 66)), Some((3, 100))]);

    // Forward only; and a retried request answers as the first time.
    let back = progress
        .record_lesson_progress(record(0, LessonProgressState::Started, "r-late"))
        .await?
        .into_inner();
    assert_eq!(
        back.lesson_progress.map(|l| l.state),
        Some(LessonProgressState::Completed as i32)
    );
    let retried = progress
        .record_lesson_progress(record(0, LessonProgressState::Completed, "c0"))
        .await?
        .into_inner();
    assert_eq!(
        retried.course_progress.map(|p| p.completed_lessons),
        Some(1),
        "the first answer, stored"
    );
    let reused = progress
        .record_lesson_progress(record(1, LessonProgressState::Completed, "c0"))
        .await;
    assert_eq!(code(reused), Code::AlreadyExists);

    let detail = progress
        .get_course_progress(GetCourseProgressRequest {
            user_id: String::new(),
            course_id: class.course_id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(detail.progress.map(|p| p.percent_complete), Some(100));
    assert_eq!(detail.lessons.len(), 3);

    // BatchGetProgress answers every course progress knows; one it has never heard of is
    // left out (unknown), never 0 of 0 lessons.
    let batch = progress
        .batch_get_progress(BatchGetProgressRequest {
            user_id: String::new(),
            course_ids: vec![class.course_id.clone(), "unknown".into()],
        })
        .await?
        .into_inner()
        .progress;
    assert_eq!(
        batch
            .iter()
            .map(|p| (p.course_id.as_str(), p.percent_complete))
            .collect::<Vec<_>>(),
        [(class.course_id.as_str(), 100)]
    );

    // My courses shows it (its cached page was dropped by the progress.recorded event).
    let mut courses = CoursesServiceClient::new(campus.channel_as(&student.token).await?);
    let mut shown = None;
    for _ in 0..100 {
        let page = courses
            .list_courses_for_user(ListCoursesForUserRequest::default())
            .await?
            .into_inner();
        let item = page.courses.first().cloned().ok_or("no course")?;
        shown = Some((
            item.progress_state,
            item.progress.map(|p| p.percent_complete),
        ));
        if shown == Some((ProgressState::Known as i32, Some(100))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(shown, Some((ProgressState::Known as i32, Some(100))));
    campus.shutdown().await
}

#[tokio::test]
async fn percent_follows_completed_lessons_in_process() -> Result<(), Error> {
    percent_follows_completed_lessons(spawn_campus().await?).await
}

#[tokio::test]
async fn percent_follows_completed_lessons_through_redis_streams() -> Result<(), Error> {
    let campus = TestCampus::start(CampusOptions {
        redis: true,
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    percent_follows_completed_lessons(campus).await
}

#[tokio::test]
async fn only_enrolled_learners_record_progress_and_students_read_only_their_own()
-> Result<(), Error> {
    let campus = spawn_campus().await?;
    let class = class(&campus, "hill", 2, 1).await?;
    let mut as_first = progress_as(&campus, &class.students[0].token).await?;
    let other = as_first
        .get_course_progress(GetCourseProgressRequest {
            user_id: class.students[1].id.clone(),
            course_id: class.course_id.clone(),
        })
        .await;
    assert_eq!(code(other), Code::PermissionDenied);
    let for_other = as_first
        .record_lesson_progress(RecordLessonProgressRequest {
            request_id: "x".into(),
            user_id: class.students[1].id.clone(),
            course_id: class.course_id.clone(),
            lesson_id: class.lesson_ids[0].clone(),
            state: LessonProgressState::Completed as i32,
        })
        .await;
    assert_eq!(code(for_other), Code::PermissionDenied);
    let not_enrolled = progress_as(&campus, &class.admin.token)
        .await?
        .record_lesson_progress(RecordLessonProgressRequest {
            request_id: "y".into(),
            user_id: String::new(),
            course_id: class.course_id.clone(),
            lesson_id: class.lesson_ids[0].clone(),
            state: LessonProgressState::Completed as i32,
        })
        .await;
    assert_eq!(code(not_enrolled), Code::FailedPrecondition);
    let invalid = as_first
        .record_lesson_progress(RecordLessonProgressRequest {
            course_id: class.course_id.clone(),
            ..RecordLessonProgressRequest::default()
        })
        .await;
    assert_eq!(code(invalid), Code::InvalidArgument);
    campus.shutdown().await
}
