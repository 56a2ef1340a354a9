//! The commands of the `campus` binary, as a library so tests run the production path in
//! process.
//!
//! # Layout
//! - [`serve`]: `campus serve [all|users|courses|progress|finance]`.
//! - [`migrate`]: `campus migrate`, the migrations alone.
//! - [`role`]: which services a process runs.
//! - [`backup_cli`]: `campus backup <file>`, an online copy of the SQLite database.
//! - [`bench_cli`]: `campus bench`, the benchmark against a bare-tonic baseline.
//! - [`courses_cli`]: `campus courses upload`, a file into a course with a progress bar.
//! - [`demo_cli`]: `campus demo`, a term of sample data through the API.
//! - [`finance_cli`]: `campus finance reconcile`.
//! - [`users_cli`]: `campus users create-admin | rotate-key`.
//! - [`remote`]: the server and token of client commands, and their channel.
//! - [`report`]: how a failed command is printed.

pub mod backup_cli;
pub mod bench_cli;
pub mod courses_cli;
pub mod demo_cli;
pub mod finance_cli;
pub mod migrate;
pub mod remote;
pub mod report;
pub mod role;
pub mod serve;
pub mod users_cli;

pub use role::Role;
pub use serve::{ServeSettings, serve};
