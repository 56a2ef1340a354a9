//! The progress service: lesson progress and attendance, live.
//!
//! Its contract is `campus.progress.v1.ProgressService`. The service's own issue has not landed yet,
//! so every RPC answers UNIMPLEMENTED (the generated defaults); health, reflection, metrics
//! and shutdown already behave as they will.

use campus_proto::progress::progress_service_server::{ProgressService, ProgressServiceServer};

/// The progress service; its RPCs take the generated UNIMPLEMENTED defaults for now.
#[derive(Debug, Clone, Default)]
pub struct Progress;

impl ProgressService for Progress {}

/// The tonic service for the server builder, with the process's message size limit applied
/// both ways (tonic leaves outgoing messages unlimited).
pub fn service(max_message_size: usize) -> ProgressServiceServer<Progress> {
    ProgressServiceServer::new(Progress)
        .max_decoding_message_size(max_message_size)
        .max_encoding_message_size(max_message_size)
}
