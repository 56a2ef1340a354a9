//! The finance service: accounts, transactions, transfers and analytics.
//!
//! Its contract is `campus.finance.v1.FinanceService`. The service's own issue has not landed yet,
//! so every RPC answers UNIMPLEMENTED (the generated defaults); health, reflection, metrics
//! and shutdown already behave as they will.

use campus_proto::finance::finance_service_server::{FinanceService, FinanceServiceServer};

/// The finance service; its RPCs take the generated UNIMPLEMENTED defaults for now.
#[derive(Debug, Clone, Default)]
pub struct Finance;

impl FinanceService for Finance {}

/// The tonic service for the server builder, with the process's message size limit applied
/// both ways (tonic leaves outgoing messages unlimited).
pub fn service(max_message_size: usize) -> FinanceServiceServer<Finance> {
    FinanceServiceServer::new(Finance)
        .max_decoding_message_size(max_message_size)
        .max_encoding_message_size(max_message_size)
}
