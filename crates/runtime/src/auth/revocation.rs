//! Revoked sessions: the deny list every verifier consults once a token's signature and
//! claims check out, so a logout or a deactivation ends a login before its access token
//! expires.
//!
//! The users service publishes `session.revoked` when a login ends early; every process
//! follows those events into its [`Revocations`] (see `campus_store::revocations`). Each
//! entry is kept until the last access token of its session has expired, so the list holds
//! only the sessions revoked within one token lifetime.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use prometheus::{IntGauge, Registry};

use super::unix_seconds;

/// How often expired entries are swept out, in seconds.
const SWEEP_EVERY: i64 = 60;

/// The sessions this process refuses, each with the Unix second after which none of its
/// tokens can be valid any more.
#[derive(Debug)]
pub struct Revocations {
    held: RwLock<Held>,
    /// `campus_revoked_sessions`: how many sessions the list holds.
    size: IntGauge,
}

#[derive(Debug, Default)]
struct Held {
    sessions: HashMap<String, i64>,
    swept_at: i64,
}

impl Revocations {
    /// An empty list whose size is reported in `registry`.
    pub fn new(registry: &Registry) -> Result<Arc<Self>, prometheus::Error> {
        let size = IntGauge::new(
            "campus_revoked_sessions",
            "Sessions this process refuses until their access tokens expire",
        )?;
        registry.register(Box::new(size.clone()))?;
        Ok(Arc::new(Self {
            held: RwLock::default(),
            size,
        }))
    }

    /// Refuses `sessions` until `until` (Unix seconds); an entry already held keeps the later
    /// of the two times. Entries past their time are swept out at most once a minute.
    pub fn revoke<'a>(&self, sessions: impl IntoIterator<Item = &'a str>, until: i64) {
        let now = unix_seconds();
        let Ok(mut held) = self.held.write() else {
            return;
        };
        for session in sessions {
            let kept = held.sessions.entry(session.to_owned()).or_insert(until);
            *kept = (*kept).max(until);
        }
        if now - held.swept_at >= SWEEP_EVERY {
            held.sessions.retain(|_, until| *until >= now);
            held.swept_at = now;
        }
        self.size
            .set(i64::try_from(held.sessions.len()).unwrap_or(i64::MAX));
    }

    /// Whether tokens of `session` are refused. A poisoned lock refuses: a panic while
    /// revoking must not turn into accepting.
    pub fn is_revoked(&self, session: &str) -> bool {
        self.held
            .read()
            .map_or(true, |held| held.sessions.contains_key(session))
    }

    /// How many sessions are held (expired ones may wait for the next sweep).
    pub fn len(&self) -> usize {
        self.held.read().map_or(0, |held| held.sessions.len())
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use prometheus::Registry;

    use super::{Revocations, unix_seconds};

    #[test]
    fn revoked_sessions_are_refused_until_swept_after_their_time() -> Result<(), prometheus::Error>
    {
        let revocations = Revocations::new(&Registry::new())?;
        let now = unix_seconds();
        revocations.revoke(["past"], now - 10);
        revocations.revoke(["live"], now + 600);
        assert!(revocations.is_revoked("live"));
        assert!(!revocations.is_revoked("other"));
        // The first call swept at once (never swept before); "past" went in before it.
        assert_eq!(revocations.len(), 1);
        revocations.revoke(["live"], now + 10);
        assert!(revocations.is_revoked("live"));
        Ok(())
    }
}
