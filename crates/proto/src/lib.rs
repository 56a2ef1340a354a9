//! The Campus contracts as Rust: prost messages, tonic clients and servers for the four services
//! (`campus.users.v1`, `campus.courses.v1`, `campus.progress.v1`, `campus.finance.v1`), the
//! event payloads (`campus.events.v1`), and [`FILE_DESCRIPTOR_SET`] for gRPC reflection.
//!
//! Everything here is generated at build time from `proto/`; edit the `.proto` files, not this.

pub mod codec;

/// Generated code follows protobuf naming, not our lints.
#[allow(
    unreachable_pub,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic,
    clippy::wildcard_enum_match_arm
)]
pub mod campus {
    /// Schools, accounts, login and token keys.
    pub mod users {
        /// Version 1 of the users contract.
        pub mod v1 {
            tonic::include_proto!("campus.users.v1");
        }
    }
    /// Course catalogue, lessons and enrolment.
    pub mod courses {
        /// Version 1 of the courses contract.
        pub mod v1 {
            tonic::include_proto!("campus.courses.v1");
        }
    }
    /// Lesson progress and attendance.
    pub mod progress {
        /// Version 1 of the progress contract.
        pub mod v1 {
            tonic::include_proto!("campus.progress.v1");
        }
    }
    /// Accounts, transactions, transfers and analytics.
    pub mod finance {
        /// Version 1 of the finance contract.
        pub mod v1 {
            tonic::include_proto!("campus.finance.v1");
        }
    }
    /// Event envelope and payloads carried by the outbox and the bus.
    pub mod events {
        /// Version 1 of the event payloads.
        pub mod v1 {
            tonic::include_proto!("campus.events.v1");
        }
    }
}

pub use campus::{
    courses::v1 as courses, events::v1 as events, finance::v1 as finance, progress::v1 as progress,
    users::v1 as users,
};

/// Encoded `FileDescriptorSet` of every Campus proto and its imports, for tonic-reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/campus_descriptor.bin"));
