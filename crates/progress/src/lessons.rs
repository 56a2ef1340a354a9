//! Lesson progress: record a lesson started or completed (forward only, idempotent), a
//! learner's progress in a course, and one learner's progress in many courses at once.

use campus_proto::{
    events::ProgressRecorded,
    progress::{
        BatchGetProgressRequest, BatchGetProgressResponse, GetCourseProgressRequest,
        GetCourseProgressResponse, LessonProgressState, RecordLessonProgressRequest,
        RecordLessonProgressResponse,
    },
};
use campus_runtime::{api::timestamp, auth::Caller};
use campus_store::idempotency::Request;

use crate::{
    Progress,
    domain::{MAX_BATCH_COURSES, lesson_state},
    error::ProgressError,
    is_course_staff,
    messages::{course_progress, lesson_progress},
    store::{self, LessonRow, now_micros},
};

const COMPLETED: i64 = LessonProgressState::Completed as i64;

impl Progress {
    /// The learner a request names (empty = the caller); acting for another learner needs
    /// staff rights on the course.
    async fn learner_for(
        &self,
        caller: &Caller,
        user_id: &str,
        course_id: &str,
    ) -> Result<String, ProgressError> {
        if user_id.is_empty() || user_id == caller.user_id {
            return Ok(caller.user_id.clone());
        }
        let course = self.course(caller, course_id).await?;
        if !is_course_staff(caller, &course) {
            return Err(ProgressError::PermissionDenied(
                "only the course's instructor or a school admin may act for another learner",
            ));
        }
        Ok(user_id.to_owned())
    }

    pub(crate) async fn record_lesson_progress(
        &self,
        caller: &Caller,
        body: RecordLessonProgressRequest,
    ) -> Result<RecordLessonProgressResponse, ProgressError> {
        let state = check_lesson_progress(&body)?;
        let learner = self
            .learner_for(caller, &body.user_id, &body.course_id)
            .await?;
        let request = Request::new(
            format!("progress.RecordLessonProgress:{learner}"),
            &body.request_id,
            &body,
        );
        let body = &body;
        let written = self.store.idempotency.write(&request, |mut tx| async move {
            let now = now_micros();
            let record = match store::progress_in(&mut tx, &learner, &body.course_id).await? {
                Some(record) if record.enrolled && caller.can_access_school(&record.school_id) => {
                    record
                }
                Some(_) | None => {
                    return Err(ProgressError::FailedPrecondition(
                        "the learner is not enrolled in this course".into(),
                    ));
                }
            };
            let previous =
                store::lesson_in(&mut tx, &learner, &body.course_id, &body.lesson_id).await?;
            let wanted = state as i64;
            // Progress only moves forward: a completed lesson stays completed.
            let (lesson, changed, newly_completed) = match previous {
                Some(lesson) if lesson.state >= wanted => (lesson, false, false),
                Some(lesson) => (
                    LessonRow {
                        state: COMPLETED,
                        completed_at: Some(now),
                        ..lesson
                    },
                    true,
                    true,
                ),
                None => (
                    LessonRow {
                        user_id: learner.clone(),
                        course_id: body.course_id.clone(),
                        lesson_id: body.lesson_id.clone(),
                        state: wanted,
                        started_at: now,
                        completed_at: (wanted == COMPLETED).then_some(now),
                    },
                    true,
                    wanted == COMPLETED,
                ),
            };
            let mut record = record;
            if changed {
                store::save_lesson(&mut tx, &lesson, newly_completed, now).await?;
                record.completed_lessons += i64::from(newly_completed);
                record.last_activity_at = Some(now);
            }
            let answer = RecordLessonProgressResponse {
                lesson_progress: Some(lesson_progress(&lesson)),
                course_progress: Some(course_progress(&record)),
            };
            if changed {
                tx.publish(
                    &format!("{learner}:{}", body.course_id),
                    &record.school_id,
                    &ProgressRecorded {
                        user_id: learner.clone(),
                        course_id: body.course_id.clone(),
                        lesson_id: body.lesson_id.clone(),
                        school_id: record.school_id.clone(),
                        state: i32::try_from(lesson.state).unwrap_or_default(),
                        course_progress: answer.course_progress.clone(),
                        recorded_at: Some(timestamp(now)),
                    },
                )
                .await?;
            }
            Ok::<_, ProgressError>((tx, answer))
        });
        Ok(written.await?.response)
    }

    pub(crate) async fn get_course_progress(
        &self,
        caller: &Caller,
        body: GetCourseProgressRequest,
    ) -> Result<GetCourseProgressResponse, ProgressError> {
        if body.course_id.is_empty() {
            return Err(ProgressError::invalid("course_id", "is required"));
        }
        let learner = self
            .learner_for(caller, &body.user_id, &body.course_id)
            .await?;
        let record = match store::progress(&self.store.database, &learner, &body.course_id).await? {
            Some(record) if caller.can_access_school(&record.school_id) => record,
            Some(_) | None => return Err(ProgressError::NotFound("progress")),
        };
        let lessons = store::lessons_of(&self.store.database, &learner, &body.course_id).await?;
        Ok(GetCourseProgressResponse {
            progress: Some(course_progress(&record)),
            lessons: lessons.iter().map(lesson_progress).collect(),
        })
    }

    pub(crate) async fn batch_get_progress(
        &self,
        caller: &Caller,
        body: BatchGetProgressRequest,
    ) -> Result<BatchGetProgressResponse, ProgressError> {
        if body.course_ids.is_empty() || body.course_ids.len() > MAX_BATCH_COURSES {
            return Err(ProgressError::invalid(
                "course_ids",
                format!("must hold 1 to {MAX_BATCH_COURSES} ids"),
            ));
        }
        let learner = if body.user_id.is_empty() {
            caller.user_id.clone()
        } else {
            body.user_id.clone()
        };
        let staff = caller.has_role(campus_proto::users::Role::Instructor)
            || caller.has_role(campus_proto::users::Role::SchoolAdmin)
            || caller.is_platform_admin();
        if learner != caller.user_id && !staff {
            return Err(ProgressError::PermissionDenied(
                "students may read only their own progress",
            ));
        }
        let mut ids = Vec::new();
        for id in body.course_ids {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let rows = store::batch_progress(&self.store.database, &learner, &ids).await?;
        // Only what progress knows: a record it has opened, of a course whose lessons it
        // knows. A course it has not heard of yet is left out, so the caller shows it as
        // unknown rather than as 0 of 0 lessons.
        let progress = ids
            .iter()
            .filter_map(|course_id| {
                rows.iter().find(|row| {
                    &row.course_id == course_id
                        && row.lesson_count.is_some()
                        && caller.can_access_school(&row.school_id)
                })
            })
            .map(course_progress)
            .collect();
        Ok(BatchGetProgressResponse { progress })
    }
}

/// Checks what a lesson progress record says by itself: request, course and lesson ids and a
/// known state; the state.
pub(crate) fn check_lesson_progress(
    body: &RecordLessonProgressRequest,
) -> Result<LessonProgressState, ProgressError> {
    let mut violations = Vec::new();
    if body.request_id.is_empty() {
        violations.push(("request_id", "is required".to_owned()));
    }
    if body.course_id.is_empty() {
        violations.push(("course_id", "is required".to_owned()));
    }
    if body.lesson_id.is_empty() {
        violations.push(("lesson_id", "is required".to_owned()));
    }
    let state = lesson_state(body.state)
        .map_err(|why| violations.push(("state", why)))
        .ok();
    match state.filter(|_| violations.is_empty()) {
        Some(state) => Ok(state),
        None => Err(ProgressError::Invalid(violations)),
    }
}
