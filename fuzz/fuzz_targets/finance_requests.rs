//! The finance service's request checks on arbitrary decoded messages: CreateTransaction,
//! CreateTransfer, an analytics query and a chunk of imported rows. The first byte picks the
//! message, the rest is its protobuf encoding; what the checks accept must keep the ledger's
//! invariants (asserted in `campus_finance::fuzzing`).

#![no_main]

use campus_finance::fuzzing;
use campus_proto::finance::{
    CreateTransactionRequest, CreateTransferRequest, GetAnalyticsRequest, ImportTransactionsRequest,
};
use prost::Message as _;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(body) = CreateTransactionRequest::decode(bytes) {
                fuzzing::check_create_transaction(&body);
            }
        }
        1 => {
            if let Ok(body) = CreateTransferRequest::decode(bytes) {
                fuzzing::check_create_transfer(&body);
            }
        }
        2 => {
            if let Ok(body) = GetAnalyticsRequest::decode(bytes) {
                fuzzing::check_analytics_query(body.query.as_ref());
            }
        }
        _ => {
            if let Ok(body) = ImportTransactionsRequest::decode(bytes) {
                for row in &body.rows {
                    fuzzing::check_import_row(row);
                }
            }
        }
    }
});
