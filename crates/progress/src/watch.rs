//! WatchAttendance: every new or changed mark of a school or a course, as written on any
//! replica, from the bus's live feed. Each message carries its resume token; a client that
//! falls behind its buffer is told to resume (RESOURCE_EXHAUSTED), one whose token is older
//! than the retained events to reload (FAILED_PRECONDITION).
//!
//! Each event is decoded and its answer encoded once for every watcher of this process
//! ([`LiveEvent::shared`]) and sent as those bytes ([`WatchAttendanceRoute`]); each watcher
//! only checks where the mark belongs. Each watcher's backlog is bounded by the live feed's
//! buffer: past it, the watcher is told to resume and writers never wait.

use std::{future::Future, pin::Pin};

use campus_proto::{
    events::AttendanceMarked,
    progress::{WatchAttendanceRequest, WatchAttendanceResponse, watch_attendance_request::Scope},
    users::Role,
};
use campus_runtime::{
    auth::{Caller, caller},
    encoded::{Encoded, EncodedStream},
};
use campus_store::events::{catalog::decode, live::LiveEvent};
use futures::StreamExt as _;
use tonic::{Request, Response, Status, server::ServerStreamingService};

use crate::{Progress, error::ProgressError, is_course_staff};

/// The event family attendance marks are published in.
const FAMILY: &str = "attendance";

/// The full path of the method [`WatchAttendanceRoute`] answers.
pub(crate) const WATCH_ATTENDANCE: &str = "/campus.progress.v1.ProgressService/WatchAttendance";

/// What every watcher needs of one mark event: where the mark belongs, and the answer,
/// encoded once.
#[derive(Debug)]
struct SharedMark {
    school_id: String,
    course_id: String,
    answer: Encoded,
}

impl SharedMark {
    /// The mark of `event`, or `None` for an event that carries none.
    fn of(event: &LiveEvent) -> Option<Self> {
        let mark = decode::<AttendanceMarked>(&event.envelope)?.mark?;
        Some(Self {
            school_id: mark.school_id.clone(),
            course_id: mark.course_id.clone(),
            answer: Encoded::of(&WatchAttendanceResponse {
                mark: Some(mark),
                resume_token: event.position.to_string(),
            }),
        })
    }
}

/// WatchAttendance as Campus serves it: the shared encoded answers sent as they are.
#[derive(Debug, Clone)]
pub struct WatchAttendanceRoute(pub(crate) Progress);

impl ServerStreamingService<WatchAttendanceRequest> for WatchAttendanceRoute {
    type Response = Encoded;
    type ResponseStream = EncodedStream;
    type Future = Pin<Box<dyn Future<Output = Result<Response<EncodedStream>, Status>> + Send>>;

    fn call(&mut self, request: Request<WatchAttendanceRequest>) -> Self::Future {
        let progress = self.0.clone();
        Box::pin(async move {
            let caller = caller(&request)?;
            Ok(Response::new(
                progress.watch(&caller, request.into_inner()).await?,
            ))
        })
    }
}

impl Progress {
    pub(crate) async fn watch(
        &self,
        caller: &Caller,
        body: WatchAttendanceRequest,
    ) -> Result<EncodedStream, ProgressError> {
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
                Ok(event) => {
                    let shared = event.shared(SharedMark::of);
                    shared
                        .as_ref()
                        .as_ref()
                        .filter(|mark| {
                            school
                                .as_ref()
                                .is_none_or(|school| &mark.school_id == school)
                                && course
                                    .as_ref()
                                    .is_none_or(|course| &mark.course_id == course)
                        })
                        .map(|mark| Ok(mark.answer.clone()))
                }
            };
            std::future::ready(answer)
        });
        Ok(Box::pin(stream))
    }
}
