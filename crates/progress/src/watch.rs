//! WatchAttendance: every new or changed mark of a school or a course, as written on any
//! replica, from the bus's live feed. Each message carries its resume token; a client that
//! falls behind its buffer is told to resume (RESOURCE_EXHAUSTED), one whose token is older
//! than the retained events to reload (FAILED_PRECONDITION).

use std::pin::Pin;

use campus_proto::{
    events::AttendanceMarked,
    progress::{WatchAttendanceRequest, WatchAttendanceResponse, watch_attendance_request::Scope},
    users::Role,
};
use campus_runtime::auth::Caller;
use campus_store::events::catalog::decode;
use futures::{Stream, StreamExt as _};
use tonic::Status;

use crate::{Progress, error::ProgressError, is_course_staff};

/// The stream WatchAttendance answers with.
pub(crate) type MarkStream =
    Pin<Box<dyn Stream<Item = Result<WatchAttendanceResponse, Status>> + Send>>;

/// The event family attendance marks are published in.
const FAMILY: &str = "attendance";

impl Progress {
    pub(crate) async fn watch(
        &self,
        caller: &Caller,
        body: WatchAttendanceRequest,
    ) -> Result<MarkStream, ProgressError> {
        let (school, course) = match body.scope {
            Some(Scope::SchoolId(school_id)) if !school_id.is_empty() => {
                caller.require_school(&school_id)?;
                caller.require_role(&[Role::SchoolAdmin, Role::PlatformAdmin])?;
                (Some(school_id), None)
            }
            Some(Scope::CourseId(course_id)) if !course_id.is_empty() => {
                let course = self.course(caller, &course_id).await?;
                if !is_course_staff(caller, &course) {
                    return Err(ProgressError::PermissionDenied(
                        "only the course's instructor or a school admin may watch it",
                    ));
                }
                (None, Some(course_id))
            }
            Some(Scope::SchoolId(_) | Scope::CourseId(_)) | None => {
                return Err(ProgressError::invalid(
                    "scope",
                    "school_id or course_id is required",
                ));
            }
        };
        let resume = (!body.resume_token.is_empty()).then_some(body.resume_token.as_str());
        let feed = self.store.bus.subscribe_live(FAMILY, resume).await?;
        let stream = feed.filter_map(move |item| {
            let answer = match item {
                Err(error) => Some(Err(Status::from(error))),
                Ok(event) => decode::<AttendanceMarked>(&event.envelope)
                    .and_then(|marked| marked.mark)
                    .filter(|mark| {
                        school
                            .as_ref()
                            .is_none_or(|school| &mark.school_id == school)
                            && course
                                .as_ref()
                                .is_none_or(|course| &mark.course_id == course)
                    })
                    .map(|mark| {
                        Ok(WatchAttendanceResponse {
                            mark: Some(mark),
                            resume_token: event.position.to_string(),
                        })
                    }),
            };
            std::future::ready(answer)
        });
        Ok(Box::pin(stream))
    }
}
