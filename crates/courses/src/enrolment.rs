//! Enrolments: enrol (idempotent), unenrol, and list by course or by user.

use campus_proto::{
    courses::{
        CourseStatus, EnrollResponse, ListEnrollmentsRequest, ListEnrollmentsResponse,
        list_enrollments_request::Filter,
    },
    events::{EnrollmentCreated, EnrollmentRemoved},
};
use campus_runtime::{
    api::{encode_cursor, next_page_token, page_after, page_size, timestamp},
    auth::Caller,
};

use crate::{
    Courses,
    domain::{can_edit, is_staff, school_scope, status_of},
    error::CoursesError,
    keys,
    messages::enrollment_message,
    store::{self, EnrollmentRow, now_micros},
};

impl Courses {
    pub(crate) async fn enroll(
        &self,
        caller: &Caller,
        course_id: &str,
        user_id: &str,
    ) -> Result<EnrollResponse, CoursesError> {
        let course = self.visible_course(caller, course_id).await?;
        if status_of(&course) != CourseStatus::Published {
            return Err(CoursesError::FailedPrecondition(
                "only a published course is open for enrolment",
            ));
        }
        let target = if user_id.is_empty() {
            caller.user_id.clone()
        } else {
            user_id.to_owned()
        };
        if target != caller.user_id {
            if !can_edit(caller, &course) {
                return Err(CoursesError::PermissionDenied(
                    "only the course's instructor or a school admin may enrol others",
                ));
            }
            if !self.user_in_school(&target, &course.school_id, &[]).await? {
                return Err(CoursesError::NotFound("user"));
            }
        }
        let now = now_micros();
        let new = EnrollmentRow {
            id: uuid::Uuid::now_v7().to_string(),
            course_id: course.id.clone(),
            user_id: target.clone(),
            school_id: course.school_id.clone(),
            enrolled_by: caller.user_id.clone(),
            enrolled_at: now,
        };
        let mut tx = self.begin().await?;
        let (enrollment, created) = store::enroll(&mut tx, &new).await?;
        if created {
            tx.publish(
                &enrollment.id,
                &enrollment.school_id,
                &EnrollmentCreated {
                    enrollment_id: enrollment.id.clone(),
                    course_id: enrollment.course_id.clone(),
                    user_id: enrollment.user_id.clone(),
                    school_id: enrollment.school_id.clone(),
                    enrolled_by: enrollment.enrolled_by.clone(),
                    enrolled_at: Some(timestamp(enrollment.enrolled_at)),
                },
            )
            .await?;
        }
        tx.commit().await?;
        if created {
            self.my_courses_cache
                .invalidate_tag(&keys::user_lists(&target))
                .await;
        }
        if !self.config.enroll_wait.is_zero() {
            self.until_progress_knows(&target, &course.id).await;
        }
        Ok(EnrollResponse {
            enrollment: Some(enrollment_message(&enrollment)),
            created,
        })
    }

    pub(crate) async fn unenroll(
        &self,
        caller: &Caller,
        course_id: &str,
        user_id: &str,
    ) -> Result<bool, CoursesError> {
        let course = self.visible_course(caller, course_id).await?;
        let target = if user_id.is_empty() {
            caller.user_id.clone()
        } else {
            user_id.to_owned()
        };
        if target != caller.user_id && !can_edit(caller, &course) {
            return Err(CoursesError::PermissionDenied(
                "only the course's instructor or a school admin may unenrol others",
            ));
        }
        let mut tx = self.begin().await?;
        let removed = store::unenroll(&mut tx, &course.id, &target).await?;
        if let Some(enrollment) = &removed {
            tx.publish(
                &enrollment.id,
                &enrollment.school_id,
                &EnrollmentRemoved {
                    enrollment_id: enrollment.id.clone(),
                    course_id: enrollment.course_id.clone(),
                    user_id: enrollment.user_id.clone(),
                    school_id: enrollment.school_id.clone(),
                    removed_by: caller.user_id.clone(),
                    removed_at: Some(timestamp(now_micros())),
                },
            )
            .await?;
        }
        tx.commit().await?;
        if removed.is_some() {
            self.my_courses_cache
                .invalidate_tag(&keys::user_lists(&target))
                .await;
        }
        Ok(removed.is_some())
    }

    pub(crate) async fn list_enrollments(
        &self,
        caller: &Caller,
        body: ListEnrollmentsRequest,
    ) -> Result<ListEnrollmentsResponse, CoursesError> {
        let limit = page_size(body.page_size)?;
        let before = page_after(&body.page_token, 1)?.remove(0);
        let (by_course, value, school) = match body.filter {
            Some(Filter::CourseId(course_id)) if !course_id.is_empty() => {
                let course = self.visible_course(caller, &course_id).await?;
                if !can_edit(caller, &course) {
                    return Err(CoursesError::PermissionDenied(
                        "only the course's instructor or a school admin may list its enrolments",
                    ));
                }
                (true, course.id, course.school_id)
            }
            Some(Filter::UserId(user_id)) if !user_id.is_empty() => {
                if user_id != caller.user_id && !is_staff(caller) {
                    return Err(CoursesError::PermissionDenied(
                        "students may list only their own enrolments",
                    ));
                }
                (false, user_id, school_scope(caller))
            }
            Some(Filter::CourseId(_) | Filter::UserId(_)) | None => {
                return Err(CoursesError::invalid(
                    "filter",
                    "course_id or user_id is required",
                ));
            }
        };
        let mut rows = store::list_enrollments(
            &self.store.database,
            by_course,
            &value,
            &school,
            &before,
            limit + 1,
        )
        .await?;
        let next_page_token = next_page_token(&mut rows, limit, |last| encode_cursor(&[&last.id]));
        Ok(ListEnrollmentsResponse {
            enrollments: rows.iter().map(enrollment_message).collect(),
            next_page_token,
        })
    }
}
