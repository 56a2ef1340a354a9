//! WatchAttendance: a watcher sees every mark as it is written, in order, on any replica; a
//! watcher that reconnects with its last token gets what it missed; other schools and
//! students are refused.

mod common;

use std::time::Duration;

use campus_proto::progress::{
    AttendanceStatus, BatchMarkAttendanceRequest, CreateAttendanceSessionRequest, StudentMark,
    WatchAttendanceRequest, WatchAttendanceResponse, watch_attendance_request::Scope,
};
use campus_runtime::api::timestamp;
use campus_testkit::{TestCampus, TestDatabase, TestRedis, spawn_campus, spawn_replica};
use common::{Class, Error, class, code, progress_as};
use tonic::{Code, Streaming};

async fn new_session(campus: &TestCampus, class: &Class) -> Result<String, Error> {
    Ok(progress_as(campus, &class.instructor.token)
        .await?
        .create_attendance_session(CreateAttendanceSessionRequest {
            request_id: uuid_like(),
            course_id: class.course_id.clone(),
            title: String::new(),
            session_date: "2026-11-02".into(),
            starts_at: Some(timestamp(1_700_000_000_000_000)),
            ends_at: None,
        })
        .await?
        .into_inner()
        .session
        .ok_or("no session")?
        .id)
}

fn uuid_like() -> String {
    format!("{:?}", std::time::SystemTime::now())
}

/// Marks each student in turn with `status`, one call per mark, in student order.
async fn mark_all(
    campus: &TestCampus,
    class: &Class,
    session_id: &str,
    status: AttendanceStatus,
) -> Result<(), Error> {
    let mut client = progress_as(campus, &class.instructor.token).await?;
    for student in &class.students {
        client
            .batch_mark_attendance(BatchMarkAttendanceRequest {
                request_id: uuid_like(),
                session_id: session_id.to_owned(),
                marks: vec![StudentMark {
                    student_id: student.id.clone(),
                    status: status as i32,
                    note: String::new(),
                }],
            })
            .await?;
    }
    Ok(())
}

async fn next(
    stream: &mut Streaming<WatchAttendanceResponse>,
) -> Result<WatchAttendanceResponse, Error> {
    Ok(
        tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await??
            .ok_or("the watch ended")?,
    )
}

async fn watch(
    campus: &TestCampus,
    class: &Class,
    resume_token: &str,
) -> Result<Streaming<WatchAttendanceResponse>, Error> {
    Ok(progress_as(campus, &class.instructor.token)
        .await?
        .watch_attendance(WatchAttendanceRequest {
            scope: Some(Scope::CourseId(class.course_id.clone())),
            resume_token: resume_token.to_owned(),
        })
        .await?
        .into_inner())
}

/// Watches on `reader`, writes through `writer`, checks order, then resumes after a gap.
async fn watcher_sees_marks_in_order_and_resumes(
    writer: &TestCampus,
    reader: &TestCampus,
    class: &Class,
) -> Result<(), Error> {
    let session_id = new_session(writer, class).await?;
    let mut stream = watch(reader, class, "").await?;
    mark_all(writer, class, &session_id, AttendanceStatus::Present).await?;
    let mut last_token = String::new();
    for student in &class.students {
        let message = next(&mut stream).await?;
        let mark = message.mark.ok_or("no mark")?;
        assert_eq!(
            (mark.student_id.as_str(), mark.status),
            (student.id.as_str(), AttendanceStatus::Present as i32)
        );
        last_token = message.resume_token;
    }
    drop(stream);

    // Marks written while disconnected arrive after resuming with the last token.
    mark_all(writer, class, &session_id, AttendanceStatus::Late).await?;
    let mut resumed = watch(reader, class, &last_token).await?;
    for student in &class.students {
        let mark = next(&mut resumed).await?.mark.ok_or("no mark")?;
        assert_eq!(
            (mark.student_id.as_str(), mark.status),
            (student.id.as_str(), AttendanceStatus::Late as i32)
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_watcher_sees_marks_in_order_and_resumes_in_process() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let class = class(&campus, "hill", 5, 1).await?;
    watcher_sees_marks_in_order_and_resumes(&campus, &campus, &class).await?;
    campus.shutdown().await
}

#[tokio::test]
async fn a_watcher_on_one_server_sees_marks_written_through_another() -> Result<(), Error> {
    let redis = TestRedis::start().await?;
    let database = TestDatabase::postgres_always().await?;
    let a = spawn_replica(database.url(), redis.url(), redis.prefix()).await?;
    let b = spawn_replica(database.url(), redis.url(), redis.prefix()).await?;
    let class = class(&a, "hill", 5, 1).await?;
    watcher_sees_marks_in_order_and_resumes(&a, &b, &class).await?;
    a.shutdown().await?;
    b.shutdown().await?;
    redis.clean().await
}

#[tokio::test]
async fn watching_another_school_or_as_a_student_is_refused() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = class(&campus, "hill", 1, 1).await?;
    let dale = class(&campus, "dale", 1, 1).await?;
    let mut as_dale_admin = progress_as(&campus, &dale.admin.token).await?;
    let school = as_dale_admin
        .watch_attendance(WatchAttendanceRequest {
            scope: Some(Scope::SchoolId(hill.school_id.clone())),
            resume_token: String::new(),
        })
        .await;
    assert_eq!(code(school), Code::PermissionDenied);
    let course = as_dale_admin
        .watch_attendance(WatchAttendanceRequest {
            scope: Some(Scope::CourseId(hill.course_id.clone())),
            resume_token: String::new(),
        })
        .await;
    assert_eq!(code(course), Code::NotFound);
    let student = progress_as(&campus, &hill.students[0].token)
        .await?
        .watch_attendance(WatchAttendanceRequest {
            scope: Some(Scope::CourseId(hill.course_id.clone())),
            resume_token: String::new(),
        })
        .await;
    assert_eq!(code(student), Code::PermissionDenied);
    let bad_token = progress_as(&campus, &hill.admin.token)
        .await?
        .watch_attendance(WatchAttendanceRequest {
            scope: Some(Scope::SchoolId(hill.school_id.clone())),
            resume_token: "nonsense".into(),
        })
        .await;
    assert_eq!(code(bad_token), Code::InvalidArgument);
    campus.shutdown().await
}

#[tokio::test]
async fn fifty_watchers_share_each_mark_in_order_and_one_resumes_midway() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let class = class(&campus, "fan", 6, 1).await?;
    let session_id = new_session(&campus, &class).await?;
    let mut watchers = Vec::new();
    for _ in 0..50 {
        watchers.push(watch(&campus, &class, "").await?);
    }
    // A watcher of the whole school sees the same marks through its own scope.
    let school_watcher = progress_as(&campus, &class.admin.token)
        .await?
        .watch_attendance(WatchAttendanceRequest {
            scope: Some(Scope::SchoolId(class.school_id.clone())),
            resume_token: String::new(),
        })
        .await?
        .into_inner();
    mark_all(&campus, &class, &session_id, AttendanceStatus::Present).await?;
    mark_all(&campus, &class, &session_id, AttendanceStatus::Absent).await?;

    let expected: Vec<(String, i32)> = [AttendanceStatus::Present, AttendanceStatus::Absent]
        .iter()
        .flat_map(|status| {
            class
                .students
                .iter()
                .map(move |student| (student.id.clone(), *status as i32))
        })
        .collect();
    let mut first_tokens: Option<Vec<String>> = None;
    watchers.push(school_watcher);
    for stream in &mut watchers {
        let mut seen = Vec::new();
        let mut tokens = Vec::new();
        for _ in 0..expected.len() {
            let message = next(stream).await?;
            let mark = message.mark.ok_or("no mark")?;
            seen.push((mark.student_id, mark.status));
            tokens.push(message.resume_token);
        }
        assert_eq!(seen, expected, "every watcher gets every mark, in order");
        match &first_tokens {
            None => first_tokens = Some(tokens),
            Some(first) => assert_eq!(&tokens, first, "one resume token per mark"),
        }
    }
    drop(watchers);

    let tokens = first_tokens.ok_or("no tokens")?;
    let half = class.students.len();
    let mut resumed = watch(&campus, &class, &tokens[half - 1]).await?;
    for (student_id, status) in &expected[half..] {
        let mark = next(&mut resumed).await?.mark.ok_or("no mark")?;
        assert_eq!((&mark.student_id, mark.status), (student_id, *status));
    }
    campus.shutdown().await
}
