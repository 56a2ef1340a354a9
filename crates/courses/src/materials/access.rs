//! Who may read and who may change a course's materials: its instructor and school admins
//! (and platform admins) always; learners while enrolled in it once it is published. Anyone
//! else finds nothing (NOT_FOUND), as for the course itself.

use campus_proto::courses::CourseStatus;
use campus_runtime::auth::Caller;

use super::{
    Materials,
    store::{self, ResourceRow},
};
use crate::{
    domain::{can_edit, status_of},
    error::CoursesError,
    store::CourseRow,
};

impl Materials {
    /// The course, if `caller` may see its materials.
    pub(crate) async fn readable_course(
        &self,
        caller: &Caller,
        course_id: &str,
    ) -> Result<CourseRow, CoursesError> {
        self.courses.member_course(caller, course_id).await
    }

    /// The course, if `caller` may change its materials: PERMISSION_DENIED for its learners,
    /// FAILED_PRECONDITION once archived.
    pub(crate) async fn editable_course(
        &self,
        caller: &Caller,
        course_id: &str,
    ) -> Result<CourseRow, CoursesError> {
        let course = self.readable_course(caller, course_id).await?;
        if !can_edit(caller, &course) {
            return Err(CoursesError::PermissionDenied(
                "only the course's instructor or a school admin may change its materials",
            ));
        }
        if status_of(&course) == CourseStatus::Archived {
            return Err(CoursesError::FailedPrecondition(
                "the course is archived and read-only",
            ));
        }
        Ok(course)
    }

    /// The resource and its course, if `caller` may see it.
    pub(crate) async fn readable_resource(
        &self,
        caller: &Caller,
        resource_id: &str,
    ) -> Result<(ResourceRow, CourseRow), CoursesError> {
        if resource_id.is_empty() {
            return Err(CoursesError::invalid("resource_id", "is required"));
        }
        let resource = store::resource(&self.courses.store.database, resource_id)
            .await?
            .ok_or(CoursesError::NotFound("resource"))?;
        match self.readable_course(caller, &resource.course_id).await {
            Ok(course) => Ok((resource, course)),
            Err(CoursesError::NotFound(_)) => Err(CoursesError::NotFound("resource")),
            Err(other) => Err(other),
        }
    }
}
