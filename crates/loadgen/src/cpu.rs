//! CPU time spent by the Campus server process and by PostgreSQL's processes while a
//! scenario is measured, read from `/proc` (Linux). On two shared cores, CPU per call is the
//! figure that decides throughput: every process's share comes out of the same two cores.

use std::time::Duration;

/// Which processes to account for.
#[derive(Debug, Clone, Default)]
pub struct CpuProbe {
    /// The Campus server's process id.
    pub server_pid: Option<u32>,
    /// Whether the server uses the PostgreSQL on this machine (its processes are counted).
    pub postgres: bool,
}

/// CPU time (user + system) of the probed processes at one instant.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSample {
    campus: Option<Duration>,
    postgres: Option<Duration>,
}

/// CPU time the probed processes spent between two samples.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct CpuUse {
    /// Campus server process, seconds.
    pub campus_seconds: Option<f64>,
    /// Every PostgreSQL process (backends and background workers), seconds.
    pub postgres_seconds: Option<f64>,
}

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`: 100 on every Linux architecture
/// Campus runs on).
const TICKS_PER_SECOND: u64 = 100;

impl CpuProbe {
    /// The probed processes' CPU time so far.
    #[must_use]
    pub fn sample(&self) -> CpuSample {
        CpuSample {
            campus: self.server_pid.and_then(process_cpu),
            postgres: self.postgres.then(postgres_cpu),
        }
    }
}

impl CpuSample {
    /// CPU spent from `self` to `later`.
    #[must_use]
    pub fn until(&self, later: &Self) -> CpuUse {
        let spent = |before: Option<Duration>, after: Option<Duration>| {
            Some(after?.saturating_sub(before?).as_secs_f64())
        };
        CpuUse {
            campus_seconds: spent(self.campus, later.campus),
            postgres_seconds: spent(self.postgres, later.postgres),
        }
    }
}

/// User + system time of one process (all its threads), from `/proc/<pid>/stat`.
fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, ticks) = stat_ticks(&stat)?;
    Some(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

/// Sum of user + system time of every process named `postgres`.
fn postgres_cpu() -> Duration {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    let ticks: u64 = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter_map(|stat| {
            stat_ticks(&stat).and_then(|(command, ticks)| (command == "postgres").then_some(ticks))
        })
        .sum();
    Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
}

/// The command name and utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line. The
/// name is in parentheses and may itself contain spaces or parentheses.
fn stat_ticks(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let command = stat.get(open + 1..close)?;
    let mut fields = stat.get(close + 2..)?.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((command, user + system))
}

#[cfg(test)]
mod tests {
    use super::{CpuProbe, stat_ticks};

    #[test]
    fn reads_user_and_system_ticks_after_a_name_with_spaces() {
        let stat = "4242 (tokio (rt) w) S 1 4242 4242 0 -1 4194560 1234 0 0 0 350 25 0 0 20 0 9";
        assert_eq!(stat_ticks(stat), Some(("tokio (rt) w", 375)));
    }

    #[test]
    fn this_process_has_spent_some_cpu() {
        let probe = CpuProbe {
            server_pid: Some(std::process::id()),
            postgres: false,
        };
        let before = probe.sample();
        let mut spin = 0_u64;
        while probe.sample().campus.unwrap_or_default() <= before.campus.unwrap_or_default() {
            spin = spin.wrapping_add(1);
        }
        let spent = before.until(&probe.sample());
        assert!(spent.campus_seconds.is_some_and(|s| s > 0.0), "{spin}");
        assert!(spent.postgres_seconds.is_none());
    }
}
