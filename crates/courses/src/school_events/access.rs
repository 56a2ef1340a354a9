//! Who an event is for and who may change it. A school event's audience is everyone of the
//! school; a course event's is the course's members (its instructor, school admins, enrolled
//! learners). School admins change every event of their school, a course's instructor the
//! events of that course. Anyone outside the audience finds nothing (NOT_FOUND).

use campus_proto::users::Role;
use campus_runtime::auth::Caller;

use super::{
    SchoolEvents,
    store::{self, EventRow},
};
use crate::{domain::can_edit, error::CoursesError, store::CourseRow};

/// Whether `caller` administers `school_id` (or the platform).
fn administers(caller: &Caller, school_id: &str) -> bool {
    caller.can_access_school(school_id)
        && (caller.has_role(Role::SchoolAdmin) || caller.is_platform_admin())
}

impl SchoolEvents {
    /// The course of an event of `course_id` in `school_id` (`None` for a school event), if
    /// `caller` is in the event's audience.
    pub(crate) async fn audience_course(
        &self,
        caller: &Caller,
        school_id: &str,
        course_id: &str,
    ) -> Result<Option<CourseRow>, CoursesError> {
        if course_id.is_empty() {
            return if caller.can_access_school(school_id) {
                Ok(None)
            } else {
                Err(CoursesError::NotFound("event"))
            };
        }
        match self.courses.member_course(caller, course_id).await {
            Ok(course) if course.school_id == school_id => Ok(Some(course)),
            Ok(_) | Err(CoursesError::NotFound(_)) => Err(CoursesError::NotFound("event")),
            Err(other) => Err(other),
        }
    }

    /// PERMISSION_DENIED unless `caller` may change events of `school_id` and `course`.
    pub(crate) fn check_may_change(
        caller: &Caller,
        school_id: &str,
        course: Option<&CourseRow>,
    ) -> Result<(), CoursesError> {
        let allowed = match course {
            None => administers(caller, school_id),
            Some(course) => can_edit(caller, course),
        };
        if allowed {
            Ok(())
        } else {
            Err(CoursesError::PermissionDenied(
                "only school admins, or a course's instructor for its events, may change events",
            ))
        }
    }

    /// The event, if `caller` is in its audience.
    pub(crate) async fn visible_event(
        &self,
        caller: &Caller,
        event_id: &str,
    ) -> Result<(EventRow, Option<CourseRow>), CoursesError> {
        if event_id.is_empty() {
            return Err(CoursesError::invalid("event_id", "is required"));
        }
        let event = store::event(&self.courses.store.database, event_id)
            .await?
            .ok_or(CoursesError::NotFound("event"))?;
        let course = self
            .audience_course(caller, &event.school_id, &event.course_id)
            .await?;
        Ok((event, course))
    }

    /// The event, if `caller` may change it (or list its attendees).
    pub(crate) async fn managed_event(
        &self,
        caller: &Caller,
        event_id: &str,
    ) -> Result<EventRow, CoursesError> {
        let (event, course) = self.visible_event(caller, event_id).await?;
        Self::check_may_change(caller, &event.school_id, course.as_ref())?;
        Ok(event)
    }
}
