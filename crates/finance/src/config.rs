//! Flags of the finance service, with environment fallbacks.

use std::time::Duration;

/// Caching of analytics reports.
#[derive(Debug, Clone, clap::Args)]
pub struct FinanceConfig {
    /// How long an analytics report stays cached (every write of its owner drops it sooner).
    #[arg(
        long = "finance-report-ttl",
        env = "CAMPUS_FINANCE_REPORT_TTL",
        value_name = "CAMPUS_FINANCE_REPORT_TTL",
        default_value = "5m",
        value_parser = humantime::parse_duration
    )]
    pub report_ttl: Duration,

    /// Analytics reports kept in each process's memory, at most.
    #[arg(
        long = "finance-report-cache-size",
        env = "CAMPUS_FINANCE_REPORT_CACHE_SIZE",
        value_name = "CAMPUS_FINANCE_REPORT_CACHE_SIZE",
        default_value_t = 10_000
    )]
    pub report_cache_size: u64,
}
