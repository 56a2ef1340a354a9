//! What a benchmark run reports: a table on stdout, Markdown for `target/bench/report.md`,
//! and JSON for machines. Every figure sits next to its goal, met or not.

use std::fmt::Write as _;

use crate::latency::Percentiles;

/// The result of one scenario.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScenarioReport {
    /// Scenario name, as given on the command line.
    pub name: String,
    /// What the throughput counts (`calls/s`, `marks/s`, …).
    pub unit: String,
    /// Throughput in `unit`.
    pub throughput: f64,
    /// Calls per second, comparable with the baseline's.
    pub calls_per_second: f64,
    /// `calls_per_second` as a fraction of the baseline's; `None` for the baseline itself.
    pub ratio_to_baseline: Option<f64>,
    /// Latency figures.
    pub latency: Percentiles,
    /// Microseconds of CPU per call (per unit of `throughput`) spent by the Campus process.
    pub campus_cpu_us: Option<f64>,
    /// Microseconds of CPU per call spent by PostgreSQL's processes.
    pub postgres_cpu_us: Option<f64>,
    /// Failed calls by gRPC code.
    pub errors: std::collections::BTreeMap<String, u64>,
    /// Other figures of the scenario (cache hit rate, server memory, delivery latency, …).
    pub extra: Vec<(String, String)>,
    /// The goal this scenario is held to, in words, and whether this run met it.
    pub goal: Option<(String, bool)>,
}

/// A whole run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    /// When, RFC 3339.
    pub date: String,
    /// Where: CPU count, storage backends.
    pub environment: String,
    /// Load settings, in words.
    pub settings: String,
    /// Each scenario, baseline first.
    pub scenarios: Vec<ScenarioReport>,
}

fn ratio(report: &ScenarioReport) -> String {
    report
        .ratio_to_baseline
        .map_or_else(|| "1.00 (baseline)".to_owned(), |r| format!("{r:.2}"))
}

/// CPU per unit of throughput, Campus / PostgreSQL, in µs (`-` where not measured).
fn cpu(report: &ScenarioReport) -> String {
    let show = |us: Option<f64>| us.map_or_else(|| "-".to_owned(), |us| format!("{us:.0}"));
    format!(
        "{} / {}",
        show(report.campus_cpu_us),
        show(report.postgres_cpu_us)
    )
}

fn goal(report: &ScenarioReport) -> String {
    match &report.goal {
        None => String::new(),
        Some((goal, true)) => format!("met: {goal}"),
        Some((goal, false)) => format!("MISSED: {goal}"),
    }
}

impl RunReport {
    /// A fixed-width table for a terminal.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} — {}", self.environment, self.settings);
        let _ = writeln!(
            out,
            "{:<20} {:>12} {:>9} {:>14} {:>8} {:>8} {:>8} {:>9} {:>7} {:>15}",
            "scenario",
            "throughput",
            "unit",
            "vs baseline",
            "p50 ms",
            "p99 ms",
            "p99.9",
            "max ms",
            "errors",
            "CPU µs campus/pg"
        );
        for s in &self.scenarios {
            let errors: u64 = s.errors.values().sum();
            let _ = writeln!(
                out,
                "{:<20} {:>12.0} {:>9} {:>14} {:>8.3} {:>8.3} {:>8.3} {:>9.3} {:>7} {:>15}",
                s.name,
                s.throughput,
                s.unit,
                ratio(s),
                s.latency.p50_ms,
                s.latency.p99_ms,
                s.latency.p999_ms,
                s.latency.max_ms,
                errors,
                cpu(s)
            );
            for (key, value) in &s.extra {
                let _ = writeln!(out, "    {key}: {value}");
            }
            if s.goal.is_some() {
                let _ = writeln!(out, "    goal {}", goal(s));
            }
        }
        out
    }

    /// The Markdown report.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Campus benchmark report\n");
        let _ = writeln!(
            out,
            "- date: {}\n- environment: {}\n- settings: {}\n",
            self.date, self.environment, self.settings
        );
        let _ = writeln!(
            out,
            "| scenario | throughput | vs baseline | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | CPU µs per unit, Campus / PostgreSQL | other | goal |"
        );
        let _ = writeln!(
            out,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
        );
        for s in &self.scenarios {
            let errors: u64 = s.errors.values().sum();
            let extra = s
                .extra
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; ");
            let _ = writeln!(
                out,
                "| {} | {:.0} {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {} | {} | {} |",
                s.name,
                s.throughput,
                s.unit,
                ratio(s),
                s.latency.p50_ms,
                s.latency.p90_ms,
                s.latency.p99_ms,
                s.latency.p999_ms,
                s.latency.max_ms,
                errors,
                cpu(s),
                extra,
                goal(s)
            );
        }
        out
    }
}
