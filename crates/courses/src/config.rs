//! Flags of the courses service, with environment fallbacks.

use std::time::Duration;

/// Caching and the budget of the progress fan-out.
#[derive(Debug, Clone, clap::Args)]
pub struct CoursesConfig {
    /// How long a course or a "my courses" page stays cached (writes invalidate sooner).
    #[arg(
        long = "courses-cache-ttl",
        env = "CAMPUS_COURSES_CACHE_TTL",
        value_name = "CAMPUS_COURSES_CACHE_TTL",
        default_value = "5m",
        value_parser = humantime::parse_duration
    )]
    pub cache_ttl: Duration,

    /// Longest wait for the progress service in ListCoursesForUser (never more than the
    /// caller's deadline allows); after it, progress is marked unknown.
    #[arg(
        long = "courses-progress-timeout",
        env = "CAMPUS_COURSES_PROGRESS_TIMEOUT",
        value_name = "CAMPUS_COURSES_PROGRESS_TIMEOUT",
        default_value = "500ms",
        value_parser = humantime::parse_duration
    )]
    pub progress_timeout: Duration,

    /// Longest Enroll waits for progress to hear of the new enrolment (never more than the
    /// caller's deadline allows), so the learner can record lesson 1 at once; 0 = do not wait.
    #[arg(
        long = "courses-enroll-wait",
        env = "CAMPUS_COURSES_ENROLL_WAIT",
        value_name = "CAMPUS_COURSES_ENROLL_WAIT",
        default_value = "2s",
        value_parser = humantime::parse_duration
    )]
    pub enroll_wait: Duration,
}

/// Download URLs and the sweep of abandoned uploads and unreferenced files.
#[derive(Debug, Clone, clap::Args)]
pub struct MaterialsConfig {
    /// Keys of download URLs, `ID=SECRET[,ID=SECRET...]` (secrets of 32 bytes or more): the
    /// first signs, all verify, so a new key goes first and the previous one stays until the
    /// URLs it signed have expired. Every replica needs the same list. Unset: a key of this
    /// process alone, so URLs only work on the replica that made them.
    #[arg(
        long = "content-signing-key",
        env = "CAMPUS_CONTENT_SIGNING_KEY",
        value_name = "CAMPUS_CONTENT_SIGNING_KEY",
        hide_env_values = true
    )]
    pub signing_key: Option<String>,

    /// A file holding the key list (a mounted Secret), read at start.
    #[arg(
        long = "content-signing-key-file",
        env = "CAMPUS_CONTENT_SIGNING_KEY_FILE",
        value_name = "CAMPUS_CONTENT_SIGNING_KEY_FILE",
        conflicts_with = "signing_key"
    )]
    pub signing_key_file: Option<std::path::PathBuf>,

    /// How long a download URL works.
    #[arg(
        long = "content-url-ttl",
        env = "CAMPUS_CONTENT_URL_TTL",
        value_name = "CAMPUS_CONTENT_URL_TTL",
        default_value = "10m",
        value_parser = humantime::parse_duration
    )]
    pub url_ttl: Duration,

    /// How often each replica looks for abandoned uploads and files nothing refers to.
    #[arg(
        long = "content-sweep-interval",
        env = "CAMPUS_CONTENT_SWEEP_INTERVAL",
        value_name = "CAMPUS_CONTENT_SWEEP_INTERVAL",
        default_value = "10m",
        value_parser = humantime::parse_duration
    )]
    pub sweep_interval: Duration,
}

/// Reminders and calendar feeds of school events.
#[derive(Debug, Clone, clap::Args)]
pub struct EventsConfig {
    /// How long before an event's start its GOING attendees are reminded (`event.reminder`).
    #[arg(
        long = "event-reminder-lead",
        env = "CAMPUS_EVENT_REMINDER_LEAD",
        value_name = "CAMPUS_EVENT_REMINDER_LEAD",
        default_value = "24h",
        value_parser = humantime::parse_duration
    )]
    pub reminder_lead: Duration,

    /// How often each replica looks for due reminders: a reminder is late by at most this.
    #[arg(
        long = "event-reminder-interval",
        env = "CAMPUS_EVENT_REMINDER_INTERVAL",
        value_name = "CAMPUS_EVENT_REMINDER_INTERVAL",
        default_value = "30s",
        value_parser = humantime::parse_duration
    )]
    pub reminder_interval: Duration,

    /// How long a calendar feed URL works (calendar apps keep polling it); GetCalendarUrl
    /// with `reset` ends every earlier URL of the caller sooner.
    #[arg(
        long = "event-feed-ttl",
        env = "CAMPUS_EVENT_FEED_TTL",
        value_name = "CAMPUS_EVENT_FEED_TTL",
        default_value = "365days",
        value_parser = humantime::parse_duration
    )]
    pub feed_ttl: Duration,
}
