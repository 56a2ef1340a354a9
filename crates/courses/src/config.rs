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
