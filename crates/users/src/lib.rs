//! The users service: schools, accounts, login and the keys that sign tokens.
//!
//! Its contract is `campus.users.v1.UsersService`. The service's own issue has not landed yet,
//! so every RPC answers UNIMPLEMENTED (the generated defaults); health, reflection, metrics
//! and shutdown already behave as they will.

use campus_proto::users::users_service_server::{UsersService, UsersServiceServer};

/// The users service; its RPCs take the generated UNIMPLEMENTED defaults for now.
#[derive(Debug, Clone, Default)]
pub struct Users;

impl UsersService for Users {}

/// The tonic service for the server builder, with the process's message size limit applied
/// both ways (tonic leaves outgoing messages unlimited).
pub fn service(max_message_size: usize) -> UsersServiceServer<Users> {
    UsersServiceServer::new(Users)
        .max_decoding_message_size(max_message_size)
        .max_encoding_message_size(max_message_size)
}
