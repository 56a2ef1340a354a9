//! Load generation and benchmark scenarios for Campus, reported against a bare-tonic
//! baseline measured in the same run (machines here are noisy; ratios travel, absolutes don't).
//!
//! # Layout
//! - [`load`]: closed-loop (N in flight over M connections) and open-loop (fixed rate,
//!   latency from the intended send time, so a stalled server cannot hide its tail) runners.
//! - [`cpu`]: CPU time of the server and of PostgreSQL over the measured phase (`/proc`).
//! - [`latency`]: HDR latency histograms and the figures taken from them.
//! - [`baseline`]: the bare tonic server (one trivial unary method, nothing else).
//! - [`scenarios`]: what each named scenario seeds and calls.
//! - `materials`: the lesson-materials scenarios (downloads over HTTP and gRPC next to a
//!   disk read, seeks, uploads).
//! - `events`: the school-events scenarios (answers to one hot event and to many, the
//!   upcoming list).
//! - [`report`]: the table, the Markdown report and the JSON output.

pub mod baseline;
pub mod cpu;
mod events;
pub mod latency;
pub mod load;
mod materials;
pub mod report;
pub mod scenarios;

/// Errors of set-up (seeding, connecting); load errors are counted, not raised.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
