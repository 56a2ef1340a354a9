//! Requests of `ProgressService`.

use std::time::Duration;

use campus_proto::progress::{
    AttendanceStatus, BatchGetProgressRequest, BatchMarkAttendanceRequest, DateRange,
    GetAttendanceSummaryRequest, GetCourseProgressRequest, LessonProgressState,
    ListAttendanceRequest, ListAttendanceSessionsRequest, MarkAttendanceRequest,
    RecordLessonProgressRequest, StudentAttendanceFilter, StudentMark, SummaryGroupBy,
    WatchAttendanceRequest, list_attendance_request::Filter,
    progress_service_client::ProgressServiceClient, watch_attendance_request::Scope,
};
use campus_testkit::Error;
use tonic::{Response, Status};

use super::Cell;
use crate::{
    probe::Observed,
    world::{RANGE_END, RANGE_START, session_request},
};

/// How long an allowed watch may take to deliver a mark, and how often the mark is written
/// again meanwhile (a watch subscribes as it answers; a mark written before can be missed).
const WATCH_DEADLINE: Duration = Duration::from_secs(30);
const REMARK_EVERY: Duration = Duration::from_millis(500);

/// Calls `method` of the progress service for `cell`.
pub(crate) async fn call(method: &str, cell: &Cell<'_>) -> Result<Option<Observed>, Error> {
    let mut progress = ProgressServiceClient::new(cell.wire()?);
    let bundle = cell.subject.bundle;
    let course_id = bundle.course_id.clone();
    let session_id = bundle.session_id.clone();
    let learner_id = bundle.learner.id.clone();
    let probe = cell.probe;
    let observed = match method {
        "RecordLessonProgress" => {
            let request = RecordLessonProgressRequest {
                request_id: format!("row-{}", cell.unique()),
                user_id: learner_id,
                course_id,
                lesson_id: bundle.lesson_id.clone(),
                state: LessonProgressState::Started as i32,
            };
            let lesson_id = bundle.lesson_id.clone();
            probe
                .run(lesson_id, progress.record_lesson_progress(request))
                .await?
        }
        "GetCourseProgress" => {
            let request = GetCourseProgressRequest {
                user_id: learner_id,
                course_id,
            };
            let lesson_id = bundle.lesson_id.clone();
            probe
                .run(lesson_id, progress.get_course_progress(request))
                .await?
        }
        "BatchGetProgress" => {
            let request = BatchGetProgressRequest {
                user_id: learner_id,
                course_ids: vec![course_id.clone()],
            };
            probe
                .run(course_id, progress.batch_get_progress(request))
                .await?
        }
        "CreateAttendanceSession" => {
            let request = session_request(&course_id, cell.unique());
            probe
                .run(course_id, progress.create_attendance_session(request))
                .await?
        }
        "ListAttendanceSessions" => {
            let request = ListAttendanceSessionsRequest {
                course_id,
                date_range: Some(range()),
                page_size: 200,
                page_token: String::new(),
            };
            probe
                .run(session_id, progress.list_attendance_sessions(request))
                .await?
        }
        "MarkAttendance" => {
            let request = MarkAttendanceRequest {
                request_id: format!("row-{}", cell.unique()),
                session_id: session_id.clone(),
                mark: Some(mark(&learner_id, AttendanceStatus::Present)),
            };
            probe
                .run(session_id, progress.mark_attendance(request))
                .await?
        }
        "BatchMarkAttendance" => {
            let request = BatchMarkAttendanceRequest {
                request_id: format!("row-{}", cell.unique()),
                session_id: session_id.clone(),
                marks: vec![mark(&learner_id, AttendanceStatus::Late)],
            };
            probe
                .run(session_id, progress.batch_mark_attendance(request))
                .await?
        }
        "ListAttendance" => {
            let request = ListAttendanceRequest {
                filter: Some(Filter::ByStudent(StudentAttendanceFilter {
                    student_id: learner_id,
                    date_range: Some(range()),
                })),
                page_size: 200,
                ..ListAttendanceRequest::default()
            };
            probe
                .run(session_id, progress.list_attendance(request))
                .await?
        }
        "GetAttendanceSummary" => {
            let request = GetAttendanceSummaryRequest {
                school_id: bundle.school_id.clone(),
                course_id: course_id.clone(),
                date_range: Some(range()),
                group_by: SummaryGroupBy::Course as i32,
            };
            probe
                .run(course_id, progress.get_attendance_summary(request))
                .await?
        }
        "WatchAttendance" => {
            let mut setup = ProgressServiceClient::new(cell.setup()?);
            let request_base = format!("watch-{}", cell.unique());
            let call = async move {
                let request = WatchAttendanceRequest {
                    scope: Some(Scope::CourseId(course_id)),
                    resume_token: String::new(),
                };
                let mut marks = progress.watch_attendance(request).await?.into_inner();
                let deadline = tokio::time::Instant::now() + WATCH_DEADLINE;
                let mut status = AttendanceStatus::Present;
                for attempt in 0_u32.. {
                    status = if status == AttendanceStatus::Present {
                        AttendanceStatus::Late
                    } else {
                        AttendanceStatus::Present
                    };
                    setup
                        .mark_attendance(MarkAttendanceRequest {
                            request_id: format!("{request_base}-{attempt}"),
                            session_id: session_id.clone(),
                            mark: Some(mark(&learner_id, status)),
                        })
                        .await?;
                    match tokio::time::timeout(REMARK_EVERY, marks.message()).await {
                        Ok(message) => {
                            let message = message?.ok_or_else(|| Status::aborted("watch ended"))?;
                            return Ok::<_, Status>(Response::new(format!("{message:?}")));
                        }
                        Err(_) if tokio::time::Instant::now() > deadline => {
                            return Err(Status::deadline_exceeded("no mark came"));
                        }
                        Err(_) => {}
                    }
                }
                Err(Status::deadline_exceeded("no mark came"))
            };
            probe.run(bundle.session_id.clone(), call).await?
        }
        _ => return Ok(None),
    };
    Ok(Some(observed))
}

/// The date range every list asks for, around the world's sessions.
fn range() -> DateRange {
    DateRange {
        start_date: RANGE_START.to_owned(),
        end_date: RANGE_END.to_owned(),
    }
}

fn mark(student_id: &str, status: AttendanceStatus) -> StudentMark {
    StudentMark {
        student_id: student_id.to_owned(),
        status: status as i32,
        note: String::new(),
    }
}
