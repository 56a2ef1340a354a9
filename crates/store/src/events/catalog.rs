//! The event types Campus publishes and the payload message each carries, in one place, so
//! producers and consumers cannot disagree on a name.

use campus_proto::events::{
    AttendanceMarked, CourseCreated, CourseUpdated, EnrollmentCreated, EnrollmentRemoved,
    EventReminder, ProgressRecorded, ResourceDeleted, ResourceUpdated, SchoolEventCancelled,
    SchoolEventUpdated, SessionsRevoked, TransactionRecorded, TransferRecorded, UserCreated,
    UserDeactivated, UserLoggedIn,
};

/// A payload message of `campus.events.v1` and the event type it is published as.
pub trait EventPayload: prost::Message + Default {
    /// The envelope's `event_type`, e.g. `enrollment.created`.
    const EVENT_TYPE: &'static str;
    /// The envelope's `payload_type`: the message's full protobuf name.
    const PAYLOAD_TYPE: &'static str;
}

macro_rules! event_payloads {
    ($($message:ident => $event_type:literal),* $(,)?) => {
        $(
            impl EventPayload for $message {
                const EVENT_TYPE: &'static str = $event_type;
                const PAYLOAD_TYPE: &'static str = concat!("campus.events.v1.", stringify!($message));
            }
        )*

        /// Every event type, for consumers that subscribe to all of them.
        pub const EVENT_TYPES: &[&str] = &[$($event_type),*];
    };
}

event_payloads! {
    UserCreated => "user.created",
    UserLoggedIn => "user.logged_in",
    UserDeactivated => "user.deactivated",
    SessionsRevoked => "session.revoked",
    CourseCreated => "course.created",
    CourseUpdated => "course.updated",
    EnrollmentCreated => "enrollment.created",
    EnrollmentRemoved => "enrollment.removed",
    ResourceUpdated => "resource.updated",
    ResourceDeleted => "resource.deleted",
    SchoolEventUpdated => "event.updated",
    SchoolEventCancelled => "event.cancelled",
    EventReminder => "event.reminder",
    AttendanceMarked => "attendance.marked",
    ProgressRecorded => "progress.recorded",
    TransactionRecorded => "transaction.recorded",
    TransferRecorded => "transfer.recorded",
}

/// Decodes an envelope's payload as `P`, checking the envelope says it is one.
pub fn decode<P: EventPayload>(envelope: &super::EventEnvelope) -> Option<P> {
    if envelope.payload_type != P::PAYLOAD_TYPE {
        return None;
    }
    P::decode(envelope.payload.as_slice()).ok()
}

#[cfg(test)]
mod tests {
    use super::{EVENT_TYPES, EventPayload};
    use campus_proto::events::EnrollmentCreated;

    #[test]
    fn payload_types_are_full_protobuf_names() {
        assert_eq!(
            EnrollmentCreated::PAYLOAD_TYPE,
            "campus.events.v1.EnrollmentCreated"
        );
        assert_eq!(EnrollmentCreated::EVENT_TYPE, "enrollment.created");
        assert_eq!(EVENT_TYPES.len(), 17);
    }
}
