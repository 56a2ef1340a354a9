//! The finance service: a user's accounts, categories, income and expense, transfers,
//! budgets, balances and analytics (also live). Money is exact (int64 minor units and an
//! ISO-4217 currency), writes are idempotent by key, transfers are atomic, and
//! [`reconcile`] proves the ledger adds up.
//!
//! # Layout
//! - [`config`]: the analytics report cache (`CAMPUS_FINANCE_*`).
//! - `domain`: money, names, kinds, default categories, UTC days and months.
//! - `error`: [`FinanceError`] and its one mapping to `tonic::Status`.
//! - `store`: SQL (guarded balance increments, aggregates); `messages`: rows as messages.
//! - `accounts`: accounts, categories, budgets, balances; `ledger`: transactions, transfers,
//!   import; `analytics`: reports, their cache, and the live feed.
//! - `service`: the gRPC trait, delegating to the above.
//! - `fuzzing` (feature `fuzzing`): the request checks, for the fuzz targets.

mod accounts;
mod analytics;
pub mod config;
mod domain;
mod error;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod import;
mod ledger;
mod messages;
mod service;
mod store;

use std::time::Duration;

use campus_proto::finance::{AnalyticsReport, finance_service_server::FinanceServiceServer};
use campus_store::{Cache, Database, Migrations, Store};

pub use config::FinanceConfig;
pub use error::FinanceError;
pub use store::{BalanceMismatch, UnbalancedTransfer};

/// The finance service's tables.
pub const MIGRATIONS: Migrations = Migrations {
    name: "finance",
    sqlite: || sqlx::migrate!("migrations/sqlite"),
    postgres: || sqlx::migrate!("migrations/postgres"),
};

/// The finance service.
#[derive(Debug, Clone)]
pub struct Finance {
    store: Store,
    /// Analytics reports by owner and query.
    reports: Cache<AnalyticsReport>,
    report_ttl: Duration,
    /// Owners whose default categories exist (checked once per process).
    initialized: moka::future::Cache<String, ()>,
}

impl Finance {
    /// The service on `store`, configured by `config`.
    pub fn new(store: &Store, config: &FinanceConfig) -> Self {
        Self {
            reports: store
                .caches
                .cache("finance-reports", config.report_cache_size),
            report_ttl: config.report_ttl,
            initialized: moka::future::Cache::new(1_000_000),
            store: store.clone(),
        }
    }
}

/// The tonic service for the server builder, with the process's message size limit applied
/// both ways (tonic leaves outgoing messages unlimited).
pub fn service(finance: Finance, max_message_size: usize) -> FinanceServiceServer<Finance> {
    FinanceServiceServer::new(finance)
        .max_decoding_message_size(max_message_size)
        .max_encoding_message_size(max_message_size)
}

/// What `campus finance reconcile` found: every difference in the ledger.
#[derive(Debug, Default)]
pub struct Reconciliation {
    /// Accounts whose stored balance is not opening balance plus entries.
    pub balances: Vec<BalanceMismatch>,
    /// Transfers whose legs do not sum to zero or are not two.
    pub transfers: Vec<UnbalancedTransfer>,
}

impl Reconciliation {
    /// Whether the ledger adds up.
    pub fn is_clean(&self) -> bool {
        self.balances.is_empty() && self.transfers.is_empty()
    }
}

/// Checks every account's stored balance against its entries and every transfer's legs.
pub async fn reconcile(database: &Database) -> Result<Reconciliation, FinanceError> {
    Ok(Reconciliation {
        balances: store::balance_mismatches(database).await?,
        transfers: store::unbalanced_transfers(database).await?,
    })
}
