//! Attendance: class sessions, marks (one student, or a whole class in one transaction),
//! lists by session, student or course, and summaries aggregated in SQL.

use campus_proto::{
    events::AttendanceMarked,
    progress::{
        AttendanceMark, AttendanceStatus, AttendanceSummaryRow, BatchMarkAttendanceRequest,
        BatchMarkAttendanceResponse, CreateAttendanceSessionRequest,
        CreateAttendanceSessionResponse, GetAttendanceSummaryRequest, GetAttendanceSummaryResponse,
        ListAttendanceRequest, ListAttendanceResponse, ListAttendanceSessionsRequest,
        ListAttendanceSessionsResponse, StudentMark, SummaryGroupBy,
        list_attendance_request::Filter,
    },
    users::Role,
};
use campus_runtime::{
    api::{decode_cursor, encode_cursor, next_page_token, page_after, page_size, request_micros},
    auth::Caller,
    failure::Failure,
};
use campus_store::{Tx, idempotency::Request};

use crate::{
    Progress,
    domain::{MAX_BATCH_MARKS, MAX_NOTE, check_range, mark_status, parse_date, rate_bp},
    error::ProgressError,
    is_course_staff,
    messages::{mark_message, session_message},
    store::{self, Grouping, MarkRow, MarkScope, SessionRow, SummaryRow, now_micros},
};

fn summary_row(row: &SummaryRow, grouping: Grouping) -> AttendanceSummaryRow {
    let (course_id, school_id, date) = match grouping {
        Grouping::Course => (row.group_key.clone(), row.school_id.clone(), String::new()),
        Grouping::School => (String::new(), row.group_key.clone(), String::new()),
        Grouping::Day => (String::new(), String::new(), row.group_key.clone()),
    };
    AttendanceSummaryRow {
        course_id,
        school_id,
        date,
        total_marks: row.total,
        present_count: row.present,
        absent_count: row.absent,
        late_count: row.late,
        excused_count: row.excused,
        attendance_rate_bp: rate_bp(row.total, row.present, row.late, row.excused),
    }
}

impl Progress {
    /// The session and whether `caller` is staff of its course; NOT_FOUND outside the school.
    async fn session_for(
        &self,
        caller: &Caller,
        session_id: &str,
    ) -> Result<(SessionRow, bool), ProgressError> {
        if session_id.is_empty() {
            return Err(ProgressError::invalid("session_id", "is required"));
        }
        let session = match store::session(&self.store.database, session_id).await? {
            Some(session) if caller.can_access_school(&session.school_id) => session,
            Some(_) | None => return Err(ProgressError::NotFound("session")),
        };
        let course = self.course(caller, &session.course_id).await?;
        Ok((session, is_course_staff(caller, &course)))
    }

    pub(crate) async fn create_session(
        &self,
        caller: &Caller,
        body: CreateAttendanceSessionRequest,
    ) -> Result<CreateAttendanceSessionResponse, ProgressError> {
        let (starts_at, ends_at) = check_new_session(&body)?;
        let course = self.course(caller, &body.course_id).await?;
        if !is_course_staff(caller, &course) {
            return Err(ProgressError::PermissionDenied(
                "only the course's instructor or a school admin may create sessions",
            ));
        }
        let request = Request::new(
            format!("progress.CreateAttendanceSession:{}", course.course_id),
            &body.request_id,
            &body,
        );
        let session = SessionRow {
            id: uuid::Uuid::now_v7().to_string(),
            school_id: course.school_id.clone(),
            course_id: course.course_id.clone(),
            title: body.title.trim().to_owned(),
            session_date: body.session_date.clone(),
            starts_at,
            ends_at,
            created_by: caller.user_id.clone(),
            created_at: now_micros(),
        };
        let answer = CreateAttendanceSessionResponse {
            session: Some(session_message(&session)),
        };
        let written = self.store.idempotency.write(&request, |mut tx| async move {
            store::insert_session(&mut tx, &session).await?;
            Ok::<_, ProgressError>((tx, answer))
        });
        Ok(written.await?.response)
    }

    pub(crate) async fn list_sessions(
        &self,
        caller: &Caller,
        body: ListAttendanceSessionsRequest,
    ) -> Result<ListAttendanceSessionsResponse, ProgressError> {
        let limit = page_size(body.page_size)?;
        let course = self.course(caller, &body.course_id).await?;
        if !is_course_staff(caller, &course) {
            let enrolled =
                store::progress(&self.store.database, &caller.user_id, &course.course_id).await?;
            if !enrolled.is_some_and(|record| record.enrolled) {
                return Err(ProgressError::PermissionDenied(
                    "only the course's staff and learners may list its sessions",
                ));
            }
        }
        let (from, to) = match body.date_range.as_ref() {
            Some(range) => check_range("date_range", Some(range))?,
            None => (String::new(), String::new()),
        };
        let after = if body.page_token.is_empty() {
            (i64::MIN, String::new())
        } else {
            let mut parts = decode_cursor(&body.page_token, 2)?.into_iter();
            let starts: i64 = parts
                .next()
                .and_then(|value| value.parse().ok())
                .ok_or_else(|| {
                    ProgressError::invalid("page_token", "is not a token this list returned")
                })?;
            (starts, parts.next().unwrap_or_default())
        };
        let mut rows = store::list_sessions(
            &self.store.database,
            &course.course_id,
            (&from, &to),
            (after.0, &after.1),
            limit + 1,
        )
        .await?;
        let next_page_token = next_page_token(&mut rows, limit, |last| {
            encode_cursor(&[&last.starts_at.to_string(), &last.id])
        });
        Ok(ListAttendanceSessionsResponse {
            sessions: rows.iter().map(session_message).collect(),
            next_page_token,
        })
    }

    /// Sets `marks` in `session` in one transaction: checks every student is enrolled, stores
    /// the marks, and publishes `attendance.marked` for each mark that changed.
    async fn set_marks(
        tx: &mut Tx,
        caller: &Caller,
        session: &SessionRow,
        marks: &[StudentMark],
    ) -> Result<Vec<MarkRow>, ProgressError> {
        check_marks(marks)?;
        let students: Vec<String> = marks.iter().map(|mark| mark.student_id.clone()).collect();
        let now = now_micros();
        let rows: Vec<MarkRow> = marks
            .iter()
            .map(|mark| MarkRow {
                session_id: session.id.clone(),
                student_id: mark.student_id.clone(),
                course_id: session.course_id.clone(),
                school_id: session.school_id.clone(),
                session_date: session.session_date.clone(),
                status: i64::from(mark.status),
                note: mark.note.clone(),
                marked_by: caller.user_id.clone(),
                marked_at: now,
            })
            .collect();
        let enrolled = store::enrolled_students(tx, &session.course_id, &students).await?;
        let not_enrolled: Vec<(&'static str, String)> = students
            .iter()
            .filter(|student| !enrolled.contains(student))
            .map(|student| {
                (
                    "marks.student_id",
                    format!("{student} is not enrolled in the course"),
                )
            })
            .collect();
        if !not_enrolled.is_empty() {
            return Err(ProgressError::Invalid(not_enrolled));
        }
        let previous = store::marks_of(tx, &session.id, &students).await?;
        store::upsert_marks(tx, &rows).await?;
        let events: Vec<(String, String, AttendanceMarked)> = rows
            .iter()
            .filter_map(|row| {
                let before = previous.iter().find(|old| old.student_id == row.student_id);
                let unchanged =
                    before.is_some_and(|old| old.status == row.status && old.note == row.note);
                (!unchanged).then(|| {
                    (
                        session.id.clone(),
                        session.school_id.clone(),
                        AttendanceMarked {
                            mark: Some(mark_message(row)),
                            previous_status: before
                                .map_or(AttendanceStatus::Unspecified as i32, |old| {
                                    i32::try_from(old.status).unwrap_or_default()
                                }),
                        },
                    )
                })
            })
            .collect();
        tx.publish_many(&events).await?;
        Ok(rows)
    }

    pub(crate) async fn mark(
        &self,
        caller: &Caller,
        session_id: &str,
        mark: Option<StudentMark>,
    ) -> Result<AttendanceMark, ProgressError> {
        let mark = mark.ok_or_else(|| ProgressError::invalid("mark", "is required"))?;
        let (session, staff) = self.session_for(caller, session_id).await?;
        if !staff {
            return Err(ProgressError::PermissionDenied(
                "only the course's instructor or a school admin may mark attendance",
            ));
        }
        let mut tx = self.store.database.begin().await?;
        let rows = Self::set_marks(&mut tx, caller, &session, &[mark]).await?;
        tx.commit().await?;
        rows.first().map(mark_message).ok_or_else(|| {
            Failure::internal("attendance", "a mark was written but not returned").into()
        })
    }

    pub(crate) async fn batch_mark(
        &self,
        caller: &Caller,
        body: BatchMarkAttendanceRequest,
    ) -> Result<BatchMarkAttendanceResponse, ProgressError> {
        if body.request_id.is_empty() {
            return Err(ProgressError::invalid("request_id", "is required"));
        }
        if body.marks.is_empty() || body.marks.len() > MAX_BATCH_MARKS {
            return Err(ProgressError::invalid(
                "marks",
                format!("must hold 1 to {MAX_BATCH_MARKS} marks"),
            ));
        }
        let (session, staff) = self.session_for(caller, &body.session_id).await?;
        if !staff {
            return Err(ProgressError::PermissionDenied(
                "only the course's instructor or a school admin may mark attendance",
            ));
        }
        let request = Request::new(
            format!("progress.BatchMarkAttendance:{}", session.id),
            &body.request_id,
            &body,
        );
        let marks = &body.marks;
        let session = &session;
        let written = self.store.idempotency.write(&request, |mut tx| async move {
            let rows = Self::set_marks(&mut tx, caller, session, marks).await?;
            let answer = BatchMarkAttendanceResponse {
                marks: rows.iter().map(mark_message).collect(),
            };
            Ok::<_, ProgressError>((tx, answer))
        });
        Ok(written.await?.response)
    }

    pub(crate) async fn list_attendance(
        &self,
        caller: &Caller,
        body: ListAttendanceRequest,
    ) -> Result<ListAttendanceResponse, ProgressError> {
        let limit = page_size(body.page_size)?;
        let status = match AttendanceStatus::try_from(body.status) {
            Ok(status) => i64::from(status as i32),
            Err(_) => {
                return Err(ProgressError::invalid(
                    "status",
                    "is not an attendance status",
                ));
            }
        };
        let after = page_after(&body.page_token, 3)?;
        let school = if caller.is_platform_admin() {
            String::new()
        } else {
            caller.school_id.clone().unwrap_or_default()
        };
        let scope_owned;
        let instructor;
        let scope = match body.filter {
            Some(Filter::BySession(filter)) => {
                let (session, staff) = self.session_for(caller, &filter.session_id).await?;
                if !staff {
                    return Err(ProgressError::PermissionDenied(
                        "only the course's instructor or a school admin may list a session's marks",
                    ));
                }
                scope_owned = (session.id, String::new(), String::new());
                MarkScope::Session(&scope_owned.0)
            }
            Some(Filter::ByStudent(filter)) => {
                if filter.student_id.is_empty() {
                    return Err(ProgressError::invalid(
                        "by_student.student_id",
                        "is required",
                    ));
                }
                // A learner reads their own marks, a school admin the school's; an instructor
                // only the marks of the courses they teach.
                let taught_by = if filter.student_id == caller.user_id
                    || caller.has_role(Role::SchoolAdmin)
                    || caller.is_platform_admin()
                {
                    String::new()
                } else if caller.has_role(Role::Instructor) {
                    caller.user_id.clone()
                } else {
                    return Err(ProgressError::PermissionDenied(
                        "students may read only their own attendance",
                    ));
                };
                let (from, to) = check_range("by_student.date_range", filter.date_range.as_ref())?;
                scope_owned = (filter.student_id, from, to);
                instructor = taught_by;
                MarkScope::Student {
                    student_id: &scope_owned.0,
                    school_id: &school,
                    taught_by: &instructor,
                    from: &scope_owned.1,
                    to: &scope_owned.2,
                }
            }
            Some(Filter::ByCourse(filter)) => {
                let course = self.course(caller, &filter.course_id).await?;
                if !is_course_staff(caller, &course) {
                    return Err(ProgressError::PermissionDenied(
                        "only the course's instructor or a school admin may list its marks",
                    ));
                }
                let (from, to) = check_range("by_course.date_range", filter.date_range.as_ref())?;
                scope_owned = (course.course_id, from, to);
                MarkScope::Course {
                    course_id: &scope_owned.0,
                    from: &scope_owned.1,
                    to: &scope_owned.2,
                }
            }
            None => {
                return Err(ProgressError::invalid(
                    "filter",
                    "by_session, by_student or by_course is required",
                ));
            }
        };
        let mut rows = store::list_marks(
            &self.store.database,
            &scope,
            status,
            (&after[0], &after[1], &after[2]),
            limit + 1,
        )
        .await?;
        let next_page_token = next_page_token(&mut rows, limit, |last| {
            encode_cursor(&[&last.session_date, &last.session_id, &last.student_id])
        });
        Ok(ListAttendanceResponse {
            marks: rows.iter().map(mark_message).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn summary(
        &self,
        caller: &Caller,
        body: GetAttendanceSummaryRequest,
    ) -> Result<GetAttendanceSummaryResponse, ProgressError> {
        let grouping = match SummaryGroupBy::try_from(body.group_by) {
            Ok(SummaryGroupBy::Course) => Grouping::Course,
            Ok(SummaryGroupBy::School) => Grouping::School,
            Ok(SummaryGroupBy::Day) => Grouping::Day,
            Ok(SummaryGroupBy::Unspecified) | Err(_) => {
                return Err(ProgressError::invalid(
                    "group_by",
                    "must be COURSE, SCHOOL or DAY",
                ));
            }
        };
        let (from, to) = check_range("date_range", body.date_range.as_ref())?;
        if body.school_id.is_empty() && !caller.is_platform_admin() {
            return Err(ProgressError::invalid("school_id", "is required"));
        }
        if !body.school_id.is_empty() {
            caller.require_school(&body.school_id)?;
        }
        if body.course_id.is_empty() {
            caller.require_role(&[Role::SchoolAdmin, Role::PlatformAdmin])?;
        } else {
            let course = self.course(caller, &body.course_id).await?;
            if !is_course_staff(caller, &course)
                || (!body.school_id.is_empty() && course.school_id != body.school_id)
            {
                return Err(ProgressError::PermissionDenied(
                    "only the course's instructor or a school admin may summarise it",
                ));
            }
        }
        let rows = store::summary(
            &self.store.database,
            grouping,
            &body.school_id,
            &body.course_id,
            &from,
            &to,
        )
        .await?;
        let mut total = SummaryRow {
            group_key: String::new(),
            school_id: String::new(),
            total: 0,
            present: 0,
            absent: 0,
            late: 0,
            excused: 0,
        };
        for row in &rows {
            total.total += row.total;
            total.present += row.present;
            total.absent += row.absent;
            total.late += row.late;
            total.excused += row.excused;
        }
        let mut total_row = summary_row(&total, Grouping::Day);
        total_row.date = String::new();
        Ok(GetAttendanceSummaryResponse {
            rows: rows.iter().map(|row| summary_row(row, grouping)).collect(),
            total: Some(total_row),
        })
    }
}

/// Checks what a new session says by itself: request id, date, title and times; its start
/// and end (unset, or after the start), in microseconds.
pub(crate) fn check_new_session(
    body: &CreateAttendanceSessionRequest,
) -> Result<(i64, Option<i64>), ProgressError> {
    let mut violations = Vec::new();
    if body.request_id.is_empty() {
        violations.push(("request_id", "is required".to_owned()));
    }
    if parse_date(&body.session_date).is_none() {
        violations.push(("session_date", "must be a date YYYY-MM-DD".to_owned()));
    }
    if body.title.chars().count() > 200 {
        violations.push(("title", "must be at most 200 characters".to_owned()));
    }
    let starts_at = match request_micros(body.starts_at.as_ref()) {
        Ok(Some(starts_at)) => Some(starts_at),
        Ok(None) => {
            violations.push(("starts_at", "is required".to_owned()));
            None
        }
        Err(why) => {
            violations.push(("starts_at", why));
            None
        }
    };
    let ends_at = request_micros(body.ends_at.as_ref())
        .map_err(|why| violations.push(("ends_at", why)))
        .ok()
        .flatten();
    if let (Some(start), Some(end)) = (starts_at, ends_at)
        && end <= start
    {
        violations.push(("ends_at", "must be after starts_at".to_owned()));
    }
    match starts_at.filter(|_| violations.is_empty()) {
        Some(starts_at) => Ok((starts_at, ends_at)),
        None => Err(ProgressError::Invalid(violations)),
    }
}

/// Checks marks by themselves: each names a student once, with a status and a short note.
pub(crate) fn check_marks(marks: &[StudentMark]) -> Result<(), ProgressError> {
    let mut violations = Vec::new();
    let mut seen = Vec::with_capacity(marks.len());
    for mark in marks {
        if mark.student_id.is_empty() {
            violations.push(("marks.student_id", "is required".to_owned()));
        } else if seen.contains(&&mark.student_id) {
            violations.push((
                "marks.student_id",
                format!("{} is marked twice", mark.student_id),
            ));
        }
        seen.push(&mark.student_id);
        if let Err(why) = mark_status(mark.status) {
            violations.push(("marks.status", why));
        }
        if mark.note.chars().count() > MAX_NOTE {
            violations.push((
                "marks.note",
                format!("must be at most {MAX_NOTE} characters"),
            ));
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ProgressError::Invalid(violations))
    }
}
