//! Test support for Campus, used only as a dev-dependency.
//!
//! # Layout
//! - [`database`]: a fresh database per test: SQLite in a temporary directory, or a new
//!   PostgreSQL database when `CAMPUS_TEST_DATABASE_URL` is set; dropped afterwards.
//! - [`redis`]: a fresh key prefix per test on `CAMPUS_TEST_REDIS_URL`, deleted afterwards.
//! - [`campus`]: the real server, in process, on port 0.

pub mod campus;
pub mod database;
pub mod redis;

pub use campus::{
    AuthedChannel, CampusOptions, PLATFORM_ADMIN_EMAIL, PLATFORM_ADMIN_PASSWORD, TestCampus,
    spawn_campus,
};
pub use database::TestDatabase;
pub use redis::TestRedis;

/// Errors in test set-up, with the step that failed.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
