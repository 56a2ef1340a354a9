//! Test support for Campus, used only as a dev-dependency.
//!
//! # Layout
//! - [`database`]: a fresh database per test: SQLite in a temporary directory, or a new
//!   PostgreSQL database when `CAMPUS_TEST_DATABASE_URL` is set; dropped afterwards.
//! - [`redis`]: a fresh key prefix per test on `CAMPUS_TEST_REDIS_URL`, deleted afterwards.
//! - [`campus`]: the real server, the built `campus` binary as a child process on port 0.
//! - [`private_postgres`]: a PostgreSQL server of one test's own, to stop and start again.
//! - [`private_redis`]: a Redis server of one test's own, to stop.
//! - [`tls`]: a certificate authority of one test's own and the certificates it signs.

pub mod campus;
pub mod content;
pub mod database;
pub mod private_postgres;
pub mod private_redis;
pub mod redis;
pub mod tls;

pub use campus::{
    AuthedChannel, CampusOptions, PLATFORM_ADMIN_EMAIL, PLATFORM_ADMIN_PASSWORD, ServerTls,
    TestCampus, spawn_campus, spawn_replica,
};
pub use content::TestContent;
pub use database::TestDatabase;
pub use private_postgres::PrivatePostgres;
pub use private_redis::PrivateRedis;
pub use redis::TestRedis;
pub use tls::{CertFiles, TestCa};

/// The full names of the Campus services, as health and reflection know them.
pub const SERVICES: [&str; 6] = [
    "campus.users.v1.UsersService",
    "campus.courses.v1.CoursesService",
    "campus.courses.v1.MaterialsService",
    "campus.courses.v1.EventsService",
    "campus.progress.v1.ProgressService",
    "campus.finance.v1.FinanceService",
];

/// Errors in test set-up, with the step that failed.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The code of a call's error, or `Ok` if it succeeded: what most assertions compare.
pub fn code<T>(result: Result<T, tonic::Status>) -> tonic::Code {
    result.map_or_else(|status| status.code(), |_| tonic::Code::Ok)
}

/// The value of the first sample of metric `name` in Prometheus text whose line carries every
/// one of `labels`.
pub fn metric_sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(name))
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}
