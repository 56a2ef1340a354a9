//! Attendance: a class marked twice keeps one mark per student, also when the re-send races
//! the first; summaries match a hand-computed fixture; students cannot mark or read others,
//! and an instructor reads a student's marks only in the courses they teach.

mod common;

use campus_proto::progress::{
    AttendanceStatus, BatchMarkAttendanceRequest, CourseAttendanceFilter,
    CreateAttendanceSessionRequest, DateRange, GetAttendanceSummaryRequest, ListAttendanceRequest,
    ListAttendanceSessionsRequest, MarkAttendanceRequest, SessionAttendanceFilter,
    StudentAttendanceFilter, StudentMark, SummaryGroupBy, list_attendance_request::Filter,
};
use campus_proto::users::Role;
use campus_runtime::api::timestamp;
use campus_testkit::spawn_campus;
use common::{Class, Error, class, code, person, progress_as};
use tonic::Code;

async fn session(
    campus: &campus_testkit::TestCampus,
    class: &Class,
    date: &str,
    request_id: &str,
) -> Result<String, Error> {
    let session = progress_as(campus, &class.instructor.token)
        .await?
        .create_attendance_session(CreateAttendanceSessionRequest {
            request_id: request_id.to_owned(),
            course_id: class.course_id.clone(),
            title: format!("Class of {date}"),
            session_date: date.to_owned(),
            starts_at: Some(timestamp(1_700_000_000_000_000)),
            ends_at: None,
        })
        .await?
        .into_inner()
        .session
        .ok_or("no session")?;
    Ok(session.id)
}

fn marks(class: &Class, statuses: &[AttendanceStatus]) -> Vec<StudentMark> {
    class
        .students
        .iter()
        .zip(statuses.iter().cycle())
        .map(|(student, status)| StudentMark {
            student_id: student.id.clone(),
            status: *status as i32,
            note: String::new(),
        })
        .collect()
}

async fn course_marks(
    campus: &campus_testkit::TestCampus,
    class: &Class,
    session_id: &str,
) -> Result<usize, Error> {
    Ok(progress_as(campus, &class.instructor.token)
        .await?
        .list_attendance(ListAttendanceRequest {
            filter: Some(Filter::BySession(SessionAttendanceFilter {
                session_id: session_id.to_owned(),
            })),
            page_size: 200,
            ..ListAttendanceRequest::default()
        })
        .await?
        .into_inner()
        .marks
        .len())
}

#[tokio::test]
async fn a_class_of_40_marked_twice_and_concurrently_keeps_40_marks() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let class = class(&campus, "hill", 40, 1).await?;
    let session_id = session(&campus, &class, "2026-11-02", "s1").await?;
    let mut as_instructor = progress_as(&campus, &class.instructor.token).await?;
    let batch = BatchMarkAttendanceRequest {
        request_id: "b1".into(),
        session_id: session_id.clone(),
        marks: marks(&class, &[AttendanceStatus::Present]),
    };
    let first = as_instructor
        .batch_mark_attendance(batch.clone())
        .await?
        .into_inner();
    assert_eq!(first.marks.len(), 40);
    as_instructor.batch_mark_attendance(batch.clone()).await?;
    assert_eq!(course_marks(&campus, &class, &session_id).await?, 40);

    // Two re-sends at once (new request ids, other statuses) still leave one mark each.
    let mut resends = Vec::new();
    for n in 0..2 {
        let mut client = progress_as(&campus, &class.instructor.token).await?;
        let request = BatchMarkAttendanceRequest {
            request_id: format!("b-race-{n}"),
            session_id: session_id.clone(),
            marks: marks(&class, &[AttendanceStatus::Late]),
        };
        resends.push(tokio::spawn(async move {
            client.batch_mark_attendance(request).await
        }));
    }
    for resend in resends {
        resend.await??;
    }
    assert_eq!(course_marks(&campus, &class, &session_id).await?, 40);

    // A batch naming a student not enrolled changes nothing.
    let mut bad = marks(&class, &[AttendanceStatus::Absent]);
    bad.push(StudentMark {
        student_id: class.instructor.id.clone(),
        status: AttendanceStatus::Present as i32,
        note: String::new(),
    });
    let refused = as_instructor
        .batch_mark_attendance(BatchMarkAttendanceRequest {
            request_id: "b-bad".into(),
            session_id: session_id.clone(),
            marks: bad,
        })
        .await;
    assert_eq!(code(refused), Code::InvalidArgument);
    let still_late = as_instructor
        .list_attendance(ListAttendanceRequest {
            filter: Some(Filter::BySession(SessionAttendanceFilter {
                session_id: session_id.clone(),
            })),
            status: AttendanceStatus::Late as i32,
            page_size: 200,
            ..ListAttendanceRequest::default()
        })
        .await?
        .into_inner()
        .marks
        .len();
    assert_eq!(still_late, 40, "all or nothing");
    campus.shutdown().await
}

#[tokio::test]
async fn summaries_match_a_hand_computed_fixture() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let class = class(&campus, "hill", 4, 1).await?;
    let mut as_instructor = progress_as(&campus, &class.instructor.token).await?;
    // Day 1: P, A, L, E. Day 2: P, P, A, A.
    let day1 = session(&campus, &class, "2026-11-02", "d1").await?;
    let day2 = session(&campus, &class, "2026-11-03", "d2").await?;
    use AttendanceStatus::{Absent as A, Excused as E, Late as L, Present as P};
    as_instructor
        .batch_mark_attendance(BatchMarkAttendanceRequest {
            request_id: "m1".into(),
            session_id: day1,
            marks: marks(&class, &[P, A, L, E]),
        })
        .await?;
    as_instructor
        .batch_mark_attendance(BatchMarkAttendanceRequest {
            request_id: "m2".into(),
            session_id: day2,
            marks: marks(&class, &[P, P, A, A]),
        })
        .await?;
    let range = Some(DateRange {
        start_date: "2026-11-01".into(),
        end_date: "2026-11-30".into(),
    });
    let summary = |group_by: SummaryGroupBy| GetAttendanceSummaryRequest {
        school_id: class.school_id.clone(),
        course_id: String::new(),
        date_range: range.clone(),
        group_by: group_by as i32,
    };
    let mut as_admin = progress_as(&campus, &class.admin.token).await?;
    let by_day = as_admin
        .get_attendance_summary(summary(SummaryGroupBy::Day))
        .await?
        .into_inner();
    let days: Vec<(String, i64, i64, i64, i64, i64, i32)> = by_day
        .rows
        .iter()
        .map(|r| {
            (
                r.date.clone(),
                r.total_marks,
                r.present_count,
                r.absent_count,
                r.late_count,
                r.excused_count,
                r.attendance_rate_bp,
            )
        })
        .collect();
    // Day 1: (P + L) / (4 - E) = 2/3 → 6666 bp. Day 2: 2/4 → 5000 bp.
    assert_eq!(
        days,
        [
            ("2026-11-02".into(), 4, 1, 1, 1, 1, 6666),
            ("2026-11-03".into(), 4, 2, 2, 0, 0, 5000)
        ]
    );
    // Overall: (3 P + 1 L) / (8 - 1 E) = 4/7 → 5714 bp.
    let total = by_day.total.ok_or("no total")?;
    assert_eq!((total.total_marks, total.attendance_rate_bp), (8, 5714));
    let by_course = as_admin
        .get_attendance_summary(summary(SummaryGroupBy::Course))
        .await?
        .into_inner();
    assert_eq!(by_course.rows.len(), 1);
    assert_eq!(
        (
            by_course.rows[0].course_id.clone(),
            by_course.rows[0].attendance_rate_bp
        ),
        (class.course_id.clone(), 5714)
    );
    let by_school = as_admin
        .get_attendance_summary(summary(SummaryGroupBy::School))
        .await?
        .into_inner();
    assert_eq!(
        (
            by_school.rows[0].school_id.clone(),
            by_school.rows[0].total_marks
        ),
        (class.school_id.clone(), 8)
    );
    // Outside the range nothing is counted.
    let empty = as_admin
        .get_attendance_summary(GetAttendanceSummaryRequest {
            date_range: Some(DateRange {
                start_date: "2026-12-01".into(),
                end_date: "2026-12-31".into(),
            }),
            ..summary(SummaryGroupBy::Day)
        })
        .await?
        .into_inner();
    assert!(empty.rows.is_empty());
    let bad_range = as_admin
        .get_attendance_summary(GetAttendanceSummaryRequest {
            date_range: Some(DateRange {
                start_date: "2026-12-31".into(),
                end_date: "2026-12-01".into(),
            }),
            ..summary(SummaryGroupBy::Day)
        })
        .await;
    assert_eq!(code(bad_range), Code::InvalidArgument);
    campus.shutdown().await
}

#[tokio::test]
async fn students_cannot_mark_or_read_others_and_lists_page() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let class = class(&campus, "hill", 3, 1).await?;
    let session_id = session(&campus, &class, "2026-11-02", "s1").await?;
    progress_as(&campus, &class.instructor.token)
        .await?
        .batch_mark_attendance(BatchMarkAttendanceRequest {
            request_id: "b".into(),
            session_id: session_id.clone(),
            marks: marks(&class, &[AttendanceStatus::Present]),
        })
        .await?;
    let mut as_student = progress_as(&campus, &class.students[0].token).await?;
    let mark = as_student
        .mark_attendance(MarkAttendanceRequest {
            request_id: String::new(),
            session_id: session_id.clone(),
            mark: Some(StudentMark {
                student_id: class.students[0].id.clone(),
                status: AttendanceStatus::Present as i32,
                note: String::new(),
            }),
        })
        .await;
    assert_eq!(code(mark), Code::PermissionDenied);
    let range = Some(DateRange {
        start_date: "2026-11-01".into(),
        end_date: "2026-11-30".into(),
    });
    let others = as_student
        .list_attendance(ListAttendanceRequest {
            filter: Some(Filter::ByStudent(StudentAttendanceFilter {
                student_id: class.students[1].id.clone(),
                date_range: range.clone(),
            })),
            ..ListAttendanceRequest::default()
        })
        .await;
    assert_eq!(code(others), Code::PermissionDenied);
    let own = as_student
        .list_attendance(ListAttendanceRequest {
            filter: Some(Filter::ByStudent(StudentAttendanceFilter {
                student_id: class.students[0].id.clone(),
                date_range: range.clone(),
            })),
            ..ListAttendanceRequest::default()
        })
        .await?
        .into_inner()
        .marks;
    assert_eq!(own.len(), 1);
    let sessions = as_student
        .list_attendance_sessions(ListAttendanceSessionsRequest {
            course_id: class.course_id.clone(),
            ..ListAttendanceSessionsRequest::default()
        })
        .await?
        .into_inner()
        .sessions;
    assert_eq!(
        sessions.len(),
        1,
        "enrolled students see the course's sessions"
    );

    // The course's marks page through in order.
    let mut as_instructor = progress_as(&campus, &class.instructor.token).await?;
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = as_instructor
            .list_attendance(ListAttendanceRequest {
                filter: Some(Filter::ByCourse(CourseAttendanceFilter {
                    course_id: class.course_id.clone(),
                    date_range: range.clone(),
                })),
                page_size: 2,
                page_token: token.clone(),
                ..ListAttendanceRequest::default()
            })
            .await?
            .into_inner();
        seen.extend(page.marks.into_iter().map(|m| m.student_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut expected: Vec<String> = class.students.iter().map(|s| s.id.clone()).collect();
    expected.sort();
    assert_eq!(seen, expected);
    campus.shutdown().await
}

#[tokio::test]
async fn an_instructor_reads_a_students_marks_only_in_courses_they_teach() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let class = class(&campus, "vale", 1, 1).await?;
    let session_id = session(&campus, &class, "2026-11-03", "s1").await?;
    progress_as(&campus, &class.instructor.token)
        .await?
        .batch_mark_attendance(BatchMarkAttendanceRequest {
            request_id: "b".into(),
            session_id,
            marks: marks(&class, &[AttendanceStatus::Late]),
        })
        .await?;
    let platform = campus.platform_admin_token().await?;
    let other = person(
        &campus,
        &platform,
        &class.school_id,
        "other-teacher@vale.example",
        Role::Instructor,
    )
    .await?;
    let by_student = |token: String| {
        let campus = &campus;
        let student_id = class.students[0].id.clone();
        async move {
            Ok::<_, Error>(
                progress_as(campus, &token)
                    .await?
                    .list_attendance(ListAttendanceRequest {
                        filter: Some(Filter::ByStudent(StudentAttendanceFilter {
                            student_id,
                            date_range: Some(DateRange {
                                start_date: "2026-11-01".into(),
                                end_date: "2026-11-30".into(),
                            }),
                        })),
                        ..ListAttendanceRequest::default()
                    })
                    .await?
                    .into_inner()
                    .marks
                    .len(),
            )
        }
    };
    assert_eq!(
        by_student(class.instructor.token.clone()).await?,
        1,
        "the course's own instructor"
    );
    assert_eq!(
        by_student(class.admin.token.clone()).await?,
        1,
        "the school's admin"
    );
    assert_eq!(
        by_student(other.token).await?,
        0,
        "an instructor of the school who does not teach the course sees none of its marks"
    );
    campus.shutdown().await
}

#[tokio::test]
async fn session_times_outside_the_years_1_to_9999_are_invalid() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let class = class(&campus, "dale", 1, 1).await?;
    let mut client = progress_as(&campus, &class.instructor.token).await?;
    let far = campus_runtime::api::Timestamp {
        seconds: i64::MAX,
        nanos: 0,
    };
    let before = campus_runtime::api::Timestamp {
        seconds: i64::MIN,
        nanos: 999_999_999,
    };
    for (starts_at, ends_at) in [(far, None), (timestamp(0), Some(before))] {
        let answer = client
            .create_attendance_session(CreateAttendanceSessionRequest {
                request_id: String::new(),
                course_id: class.course_id.clone(),
                title: "Out of time".into(),
                session_date: "2026-11-02".into(),
                starts_at: Some(starts_at),
                ends_at,
            })
            .await;
        assert_eq!(code(answer), Code::InvalidArgument);
    }
    let listed = client
        .list_attendance_sessions(ListAttendanceSessionsRequest {
            course_id: class.course_id.clone(),
            ..ListAttendanceSessionsRequest::default()
        })
        .await?
        .into_inner();
    assert!(listed.sessions.is_empty(), "nothing was written");
    campus.shutdown().await
}
