//! Infrastructure failures, classified once and mapped to a `Status` once.
//!
//! A service's own errors (a missing course, a stale version) are its domain; everything
//! else that can go wrong under it — the database, Redis, a peer service, the clock — is a
//! [`Failure`]. `store` classifies database and Redis errors into one, [`Failure::peer`]
//! classifies a peer's answer, and `From<Failure> for Status` is the only place a failure
//! becomes what the client is told: the cause is logged there, once, and never sent.
//!
//! | kind | code | the client should |
//! |---|---|---|
//! | [`FailureKind::Unavailable`] | UNAVAILABLE | retry (the mesh does, for reads) |
//! | [`FailureKind::Conflict`] | ABORTED | retry the whole call: nothing was written |
//! | [`FailureKind::DeadlineExceeded`] | DEADLINE_EXCEEDED | retry with more time, if any |
//! | [`FailureKind::Cancelled`] | CANCELLED | nothing: the caller went away |
//! | [`FailureKind::Internal`] | INTERNAL | report it: a defect, not a condition |

use std::{borrow::Cow, error::Error as StdError, fmt, sync::Arc};

use tonic::{Code, Status};

/// What kind of failure it is, which decides the code the client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A backend or peer could not be reached, lost the connection or had no capacity.
    Unavailable,
    /// The database rolled the transaction back for a serialization failure or a deadlock.
    Conflict,
    /// The time the call had ran out while waiting on a backend or peer.
    DeadlineExceeded,
    /// The caller went away, so the work under it was abandoned.
    Cancelled,
    /// Anything else: a bug or a broken invariant.
    Internal,
}

/// An infrastructure failure: its kind, what failed (`the courses database`, `the users
/// service`) and the cause, kept for the log. Cheap to clone, so a cache can hand one
/// loader's failure to every caller that waited on it.
#[derive(Clone)]
pub struct Failure {
    kind: FailureKind,
    what: Cow<'static, str>,
    cause: Arc<dyn StdError + Send + Sync>,
}

impl Failure {
    /// A failure of `kind` in `what`, caused by `cause`.
    pub fn new(
        kind: FailureKind,
        what: impl Into<Cow<'static, str>>,
        cause: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            what: what.into(),
            cause: Arc::from(cause.into()),
        }
    }

    /// `what` could not be reached or had no capacity.
    pub fn unavailable(
        what: impl Into<Cow<'static, str>>,
        cause: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self::new(FailureKind::Unavailable, what, cause)
    }

    /// A broken invariant in `what`.
    pub fn internal(
        what: impl Into<Cow<'static, str>>,
        cause: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self::new(FailureKind::Internal, what, cause)
    }

    /// A peer service's answer, classified for the call being served: a peer that is down,
    /// overloaded or out of time leaves this call retryable; a peer that cancelled means
    /// the caller went away; any other code is this service asking the peer something it
    /// should not have, an internal error here. A call site for which a peer's code means
    /// something of its own (NOT_FOUND of a looked-up id) matches it before this.
    pub fn peer(peer: &'static str, status: Status) -> Self {
        let kind = match status.code() {
            Code::Unavailable | Code::ResourceExhausted => FailureKind::Unavailable,
            Code::DeadlineExceeded => FailureKind::DeadlineExceeded,
            Code::Cancelled => FailureKind::Cancelled,
            Code::Aborted => FailureKind::Conflict,
            Code::Ok
            | Code::Unknown
            | Code::InvalidArgument
            | Code::NotFound
            | Code::AlreadyExists
            | Code::PermissionDenied
            | Code::FailedPrecondition
            | Code::OutOfRange
            | Code::Unimplemented
            | Code::Internal
            | Code::DataLoss
            | Code::Unauthenticated => FailureKind::Internal,
        };
        Self::new(kind, format!("the {peer} service"), PeerStatus(status))
    }

    /// The kind, which decides the code.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// The cause, if it is a `T`: lets a caller recognise one error it handles itself (a
    /// unique violation that means a concurrent retry of the same write won the race).
    pub fn cause<T: StdError + 'static>(&self) -> Option<&T> {
        self.cause.downcast_ref()
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failure")
            .field("kind", &self.kind)
            .field("what", &self.what)
            .field("cause", &self.cause.to_string())
            .finish()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.cause)
    }
}

impl StdError for Failure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.cause)
    }
}

/// A peer's status as the cause of a failure, shown with its code for the log.
#[derive(Debug)]
struct PeerStatus(Status);

impl fmt::Display for PeerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "answered {:?}: {}", self.0.code(), self.0.message())
    }
}

impl StdError for PeerStatus {}

/// The one mapping of a failure to what the client is told; the cause is logged here and
/// never sent.
impl From<Failure> for Status {
    fn from(failure: Failure) -> Self {
        let Failure { kind, what, .. } = &failure;
        match kind {
            FailureKind::Unavailable => {
                tracing::warn!(error = %failure, "unavailable");
                Status::unavailable(format!("{what} is unavailable; retry"))
            }
            FailureKind::Conflict => {
                tracing::warn!(error = %failure, "conflicted and rolled back");
                Status::aborted(
                    "the write conflicted with a concurrent one and was not applied; retry",
                )
            }
            FailureKind::DeadlineExceeded => {
                tracing::warn!(error = %failure, "deadline exceeded");
                Status::deadline_exceeded(format!("{what} did not answer within the deadline"))
            }
            FailureKind::Cancelled => {
                tracing::debug!(error = %failure, "cancelled");
                Status::cancelled("the call was cancelled")
            }
            FailureKind::Internal => {
                tracing::error!(error = %failure, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_is_mapped_by_what_its_code_means_for_this_call() {
        let code = |status| Status::from(Failure::peer("users", status)).code();
        assert_eq!(code(Status::unavailable("down")), Code::Unavailable);
        assert_eq!(code(Status::resource_exhausted("busy")), Code::Unavailable);
        assert_eq!(
            code(Status::deadline_exceeded("slow")),
            Code::DeadlineExceeded
        );
        assert_eq!(code(Status::not_found("no user")), Code::Internal);
        assert_eq!(code(Status::invalid_argument("bad")), Code::Internal);
    }

    #[test]
    fn the_cause_is_never_sent() {
        let status = Status::from(Failure::unavailable(
            "the courses database",
            "connection refused by 10.0.0.7:5432",
        ));
        assert_eq!(status.code(), Code::Unavailable);
        assert!(
            !status.message().contains("10.0.0.7"),
            "{}",
            status.message()
        );
    }
}
