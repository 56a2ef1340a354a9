//! Errors of the users service and their one mapping to gRPC statuses.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

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
    /// An authorization helper refused (already a status).
    #[error("{}", .0.message())]
    Status(#[from] Status),
    /// The database failed; details are logged, not sent.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Signing or hashing failed; details are logged, not sent.
    #[error("internal: {0}")]
    Internal(String),
}

impl UsersError {
    /// One invalid field.
    pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid(vec![(field, why.into())])
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
            UsersError::Throttled(retry_after) => {
                let details = ErrorDetails::with_retry_info(Some(retry_after));
                Status::with_error_details(
                    Code::ResourceExhausted,
                    format!(
                        "too many failed logins; try again in {} s",
                        retry_after.as_secs().max(1)
                    ),
                    details,
                )
            }
            UsersError::Status(status) => status,
            UsersError::Database(error) => campus_store::database_status("users", &error),
            UsersError::Internal(error) => {
                tracing::error!(%error, "users call failed");
                Status::internal("internal error")
            }
        }
    }
}
