//! Errors of the progress service and their one mapping to gRPC statuses.

use tonic::Status;

/// Everything a progress call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ProgressError {
    /// Fields of the request are invalid: (field, why) pairs.
    #[error("invalid request")]
    Invalid(Vec<(&'static str, String)>),
    /// The caller may not do this.
    #[error("{0}")]
    PermissionDenied(&'static str),
    /// No such course, session or progress (for this caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The state does not allow it (not enrolled, resume token too old).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A request id was reused for another request.
    #[error("{0}")]
    AlreadyExists(&'static str),
    /// An authorization helper refused (already a status).
    #[error("{}", .0.message())]
    Status(#[from] Status),
    /// The database failed; details are logged, not sent.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Anything else internal; details are logged, not sent.
    #[error("internal: {0}")]
    Internal(String),
}

impl ProgressError {
    /// One invalid field.
    pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid(vec![(field, why.into())])
    }
}

impl From<campus_store::DatabaseError> for ProgressError {
    fn from(error: campus_store::DatabaseError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<ProgressError> for Status {
    fn from(error: ProgressError) -> Self {
        match error {
            ProgressError::Invalid(violations) => {
                campus_runtime::api::invalid_argument(&violations)
            }
            ProgressError::PermissionDenied(message) => Status::permission_denied(message),
            ProgressError::NotFound(what) => Status::not_found(format!("{what} not found")),
            ProgressError::FailedPrecondition(message) => Status::failed_precondition(message),
            ProgressError::AlreadyExists(message) => Status::already_exists(message),
            ProgressError::Status(status) => status,
            ProgressError::Database(error) => campus_store::database_status("progress", &error),
            ProgressError::Internal(error) => {
                tracing::error!(%error, "progress call failed");
                Status::internal("internal error")
            }
        }
    }
}
