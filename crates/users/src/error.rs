//! Errors of the users service and their one mapping to gRPC statuses.

use std::time::Duration;

use campus_runtime::{api::ExhaustedReason, failure::Failure};
use tonic::Status;

/// Everything a users call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// Fields of the request are invalid: (field, why) pairs.
    #[error("invalid request")]
    Invalid(Vec<(&'static str, String)>),
    /// Wrong credentials or an unusable refresh token.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The caller may not do this.
    #[error("{0}")]
    PermissionDenied(&'static str),
    /// No such school or user (for this caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A school slug or an email in a school is taken, or a request id was reused.
    #[error("{0}")]
    AlreadyExists(&'static str),
    /// Too many failed logins; try again after the delay.
    #[error("too many failed logins")]
    Throttled(Duration),
    /// An authorization helper refused the caller (`campus_runtime::auth` answers statuses).
    #[error("{}", .0.message())]
    Refused(#[from] Status),
    /// An infrastructure failure (database, Redis, a peer), classified where it happened
    /// and mapped to a status by `campus_runtime::failure`; details are logged, not sent.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl UsersError {
    /// One invalid field.
    pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid(vec![(field, why.into())])
    }

    /// A broken invariant in signing, hashing or key handling: logged where it is mapped,
    /// answered INTERNAL.
    pub(crate) fn internal(what: &'static str, cause: impl ToString) -> Self {
        Self::Failure(Failure::internal(what, cause.to_string()))
    }
}

/// A request id reused for another request.
impl From<campus_store::idempotency::KeyReused> for UsersError {
    fn from(_: campus_store::idempotency::KeyReused) -> Self {
        Self::AlreadyExists("request_id was already used for a different request")
    }
}

/// Database errors, classified once by `campus_store`.
impl From<sqlx::Error> for UsersError {
    fn from(error: sqlx::Error) -> Self {
        Self::Failure(campus_store::database_failure(error))
    }
}

impl From<UsersError> for Status {
    fn from(error: UsersError) -> Self {
        match error {
            UsersError::Invalid(violations) => campus_runtime::api::invalid_argument(&violations),
            UsersError::Unauthenticated(message) => Status::unauthenticated(message),
            UsersError::PermissionDenied(message) => Status::permission_denied(message),
            UsersError::NotFound(what) => Status::not_found(format!("{what} not found")),
            UsersError::AlreadyExists(message) => Status::already_exists(message),
            UsersError::Throttled(retry_after) => campus_runtime::api::resource_exhausted(
                ExhaustedReason::LoginThrottled,
                format!(
                    "too many failed logins; try again in {} s",
                    retry_after.as_secs().max(1)
                ),
                retry_after,
            ),
            UsersError::Refused(status) => status,
            UsersError::Failure(failure) => failure.into(),
        }
    }
}
