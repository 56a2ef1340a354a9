//! Errors of the courses service and their one mapping to gRPC statuses.

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
    /// An authorization helper or a peer refused (already a status).
    #[error("{}", .0.message())]
    Status(#[from] Status),
    /// The database failed; details are logged, not sent.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Anything else internal; details are logged, not sent.
    #[error("internal: {0}")]
    Internal(String),
}

impl CoursesError {
    /// One invalid field.
    pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid(vec![(field, why.into())])
    }
}

impl From<campus_store::DatabaseError> for CoursesError {
    fn from(error: campus_store::DatabaseError) -> Self {
        Self::Internal(error.to_string())
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
            CoursesError::Status(status) => status,
            CoursesError::Database(error) => campus_store::database_status("courses", &error),
            CoursesError::Internal(error) => {
                tracing::error!(%error, "courses call failed");
                Status::internal("internal error")
            }
        }
    }
}
