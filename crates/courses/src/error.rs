//! Errors of the courses service and their one mapping to gRPC statuses.

use campus_runtime::failure::Failure;
use tonic::Status;

/// Everything a courses call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CoursesError {
    /// Fields of the request are invalid: (field, why) pairs.
    #[error("invalid request")]
    Invalid(Vec<(&'static str, String)>),
    /// The caller may not do this.
    #[error("{0}")]
    PermissionDenied(&'static str),
    /// No such course, lesson or user (for this caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The state does not allow it: a stale version, an archived course.
    #[error("{0}")]
    FailedPrecondition(&'static str),
    /// A request id was reused for another request.
    #[error("{0}")]
    AlreadyExists(&'static str),
    /// An authorization helper refused the caller (`campus_runtime::auth` answers statuses).
    #[error("{}", .0.message())]
    Refused(#[from] Status),
    /// An infrastructure failure (database, Redis, a peer), classified where it happened
    /// and mapped to a status by `campus_runtime::failure`; details are logged, not sent.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl CoursesError {
    /// One invalid field.
    pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid(vec![(field, why.into())])
    }
}

/// A request id reused for another request.
impl From<campus_store::idempotency::KeyReused> for CoursesError {
    fn from(_: campus_store::idempotency::KeyReused) -> Self {
        Self::AlreadyExists("request_id was already used for a different request")
    }
}

/// Database errors, classified once by `campus_store`.
impl From<sqlx::Error> for CoursesError {
    fn from(error: sqlx::Error) -> Self {
        Self::Failure(campus_store::database_failure(error))
    }
}

impl From<CoursesError> for Status {
    fn from(error: CoursesError) -> Self {
        match error {
            CoursesError::Invalid(violations) => campus_runtime::api::invalid_argument(&violations),
            CoursesError::PermissionDenied(message) => Status::permission_denied(message),
            CoursesError::NotFound(what) => Status::not_found(format!("{what} not found")),
            CoursesError::FailedPrecondition(message) => Status::failed_precondition(message),
            CoursesError::AlreadyExists(message) => Status::already_exists(message),
            CoursesError::Refused(status) => status,
            CoursesError::Failure(failure) => failure.into(),
        }
    }
}
