//! Errors of the finance service and their one mapping to gRPC statuses.

use campus_runtime::failure::Failure;
use tonic::Status;

/// Everything a finance call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum FinanceError {
    /// Fields of the request are invalid: (field, why) pairs.
    #[error("invalid request")]
    Invalid(Vec<(&'static str, String)>),
    /// The caller may not do this.
    #[error("{0}")]
    PermissionDenied(&'static str),
    /// No such account, category, transaction or transfer of the caller.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The state does not allow it (closed account, stale version, currency mismatch).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A duplicate name, or an idempotency key reused with another body.
    #[error("{0}")]
    AlreadyExists(&'static str),
    /// A balance or total would leave the int64 range.
    #[error("{0}")]
    OutOfRange(&'static str),
    /// An authorization helper refused the caller (`campus_runtime::auth` answers statuses).
    #[error("{}", .0.message())]
    Refused(#[from] Status),
    /// An infrastructure failure (database, Redis, a peer), classified where it happened
    /// and mapped to a status by `campus_runtime::failure`; details are logged, not sent.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl FinanceError {
    /// One invalid field.
    pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid(vec![(field, why.into())])
    }
}

/// A request id or idempotency key reused for another request.
impl From<campus_store::idempotency::KeyReused> for FinanceError {
    fn from(_: campus_store::idempotency::KeyReused) -> Self {
        Self::AlreadyExists(
            "the request id or idempotency key was already used for a different request",
        )
    }
}

/// Database errors, classified once by `campus_store`.
impl From<sqlx::Error> for FinanceError {
    fn from(error: sqlx::Error) -> Self {
        Self::Failure(campus_store::database_failure(error))
    }
}

impl From<FinanceError> for Status {
    fn from(error: FinanceError) -> Self {
        match error {
            FinanceError::Invalid(violations) => campus_runtime::api::invalid_argument(&violations),
            FinanceError::PermissionDenied(message) => Status::permission_denied(message),
            FinanceError::NotFound(what) => Status::not_found(format!("{what} not found")),
            FinanceError::FailedPrecondition(message) => Status::failed_precondition(message),
            FinanceError::AlreadyExists(message) => Status::already_exists(message),
            FinanceError::OutOfRange(message) => Status::out_of_range(message),
            FinanceError::Refused(status) => status,
            FinanceError::Failure(failure) => failure.into(),
        }
    }
}
