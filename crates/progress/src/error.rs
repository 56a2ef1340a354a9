//! Errors of the progress service and their one mapping to gRPC statuses.

use campus_runtime::failure::Failure;
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
    /// An authorization helper refused the caller (`campus_runtime::auth` answers statuses).
    #[error("{}", .0.message())]
    Refused(#[from] Status),
    /// An infrastructure failure (database, Redis, a peer), classified where it happened
    /// and mapped to a status by `campus_runtime::failure`; details are logged, not sent.
    #[error(transparent)]
    Failure(#[from] Failure),
    /// The live feed of a watch could not start or resume.
    #[error(transparent)]
    Live(#[from] campus_store::events::live::LiveError),
}

impl ProgressError {
    /// One invalid field.
    pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid(vec![(field, why.into())])
    }
}

/// A request id reused for another request.
impl From<campus_store::idempotency::KeyReused> for ProgressError {
    fn from(_: campus_store::idempotency::KeyReused) -> Self {
        Self::AlreadyExists("request_id was already used for a different request")
    }
}

/// Database errors, classified once by `campus_store`.
impl From<sqlx::Error> for ProgressError {
    fn from(error: sqlx::Error) -> Self {
        Self::Failure(campus_store::database_failure(error))
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
            ProgressError::Refused(status) => status,
            ProgressError::Failure(failure) => failure.into(),
            ProgressError::Live(error) => error.into(),
        }
    }
}
