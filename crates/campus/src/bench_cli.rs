//! `campus bench`: starts a Campus server (all services, as `campus serve` does) and a bare
//! tonic baseline server as child processes, seeds each scenario's data, applies the load, and
//! reports every scenario next to the baseline measured in the same run.

use std::{net::SocketAddr, path::PathBuf, process::Stdio, time::Duration};

use anyhow::Context as _;
use campus_loadgen::{
    cpu::CpuProbe,
    load::LoadSettings,
    report::{RunReport, ScenarioReport},
    scenarios::{self, Target},
};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::process::{Child, Command};

/// Everything `campus bench` is configured with.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchSettings {
    /// Scenarios to run (default: all). The baseline always runs first.
    #[arg(value_name = "SCENARIO")]
    pub scenarios: Vec<String>,
    /// Measured time per scenario.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Unmeasured warm-up before each scenario.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Calls in flight (closed loop).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// HTTP/2 connections the load is spread over.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Calls per second (open loop, latency from the intended send time); unset = closed loop.
    #[arg(long)]
    pub rate: Option<u64>,
    /// WatchAttendance subscribers in the `watch` scenario.
    #[arg(long, default_value_t = 1000)]
    pub subscribers: usize,
    /// Downloads in flight in the `download-http` and `download-grpc` scenarios.
    #[arg(long, default_value_t = 1000)]
    pub downloads: usize,
    /// Write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the report as Markdown here.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// CPUs the benchmarked server runs on (`taskset -c` list, e.g. `0`), so the load
    /// generator can be kept off them (`taskset -c 1 campus bench --server-cpus 0 …`);
    /// unset = wherever the scheduler puts it.
    #[arg(long, value_name = "CPU_LIST")]
    pub server_cpus: Option<String>,
    /// Database of the benchmarked server; unset = a new SQLite file.
    #[arg(
        long = "bench-database-url",
        env = "CAMPUS_BENCH_DATABASE_URL",
        value_name = "CAMPUS_BENCH_DATABASE_URL"
    )]
    pub database_url: Option<String>,
    /// Redis of the benchmarked server; unset = in process.
    #[arg(
        long = "bench-redis-url",
        env = "CAMPUS_BENCH_REDIS_URL",
        value_name = "CAMPUS_BENCH_REDIS_URL"
    )]
    pub redis_url: Option<String>,
}

/// A free port on loopback.
fn free_addr() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// Starts a child `campus` process (with `env` set, on `cpus` when given, through
/// util-linux's `taskset`) that is killed when dropped.
fn spawn(args: &[String], env: &[(&str, &str)], cpus: Option<&str>) -> anyhow::Result<Child> {
    let campus = std::env::current_exe().context("finding the campus binary")?;
    let mut command = match cpus {
        Some(cpus) => {
            let mut taskset = Command::new("taskset");
            taskset.arg("-c").arg(cpus).arg(campus);
            taskset
        }
        None => Command::new(campus),
    };
    command
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        // As the image ships it (Dockerfile): large blocks (argon2's 19 MiB) go back to the OS.
        .env("MALLOC_MMAP_THRESHOLD_", "1048576")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting a server process")
}

/// Waits until a server's health check answers SERVING.
async fn wait_serving(url: &str) -> anyhow::Result<()> {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(channel) = tonic::transport::Channel::from_shared(url.to_owned())?
            .connect()
            .await
            && let Ok(answer) = HealthClient::new(channel)
                .check(HealthCheckRequest::default())
                .await
            && answer.into_inner().status() == ServingStatus::Serving
        {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{url} never became ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a scenario met its goal, and the goal in words.
fn goal(report: &ScenarioReport, subscribers: usize) -> Option<(String, bool)> {
    let ratio = report.ratio_to_baseline.unwrap_or(0.0);
    let extra = |key: &str| {
        report
            .extra
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let number = |text: String| {
        text.split_whitespace()
            .next()
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    match report.name.as_str() {
        "get-course" => Some((
            "≥ 80 % of baseline, p99 ≤ 2 ms at 64 in flight".into(),
            ratio >= 0.80 && report.latency.p99_ms <= 2.0,
        )),
        "my-courses" => Some((
            "≥ 45 % of baseline, p99 ≤ 5 ms".into(),
            ratio >= 0.45 && report.latency.p99_ms <= 5.0,
        )),
        "get-course-cold" => Some((
            "≤ 60 µs Campus CPU per call".into(),
            report.campus_cpu_us.is_some_and(|cpu| cpu <= 60.0),
        )),
        "my-courses-cold" => Some((
            "≤ 150 µs Campus CPU and ≤ 300 µs PostgreSQL CPU per call, p99 ≤ 30 ms".into(),
            report.campus_cpu_us.is_some_and(|cpu| cpu <= 150.0)
                && report.postgres_cpu_us.is_some_and(|cpu| cpu <= 300.0)
                && report.latency.p99_ms <= 30.0,
        )),
        "import" => Some((
            "≥ 20,000 rows/s into PostgreSQL".into(),
            report.throughput >= 20_000.0,
        )),
        "batch-mark" => Some((
            "≥ 20,000 marks/s into PostgreSQL".into(),
            report.throughput >= 20_000.0,
        )),
        "zipf" => Some((
            "cache hit rate ≥ 97 %".into(),
            number(extra("cache hit rate")) >= 97.0,
        )),
        "download-http" | "download-grpc" => Some((
            "server RSS ≤ 100 MiB with 1,000 downloads of 10 MiB in flight".into(),
            number(extra("in flight")) >= 1000.0 && number(extra("server RSS peak")) <= 100.0,
        )),
        "watch" => {
            let rss = number(extra("server RSS"));
            let p99 = extra("delivery p50/p99")
                .split('/')
                .nth(1)
                .map(|p| number(p.trim().to_owned()))
                .unwrap_or(f64::NAN);
            Some((
                format!(
                    "10,000 subscribers ≤ 150 MiB server RSS, delivery p99 ≤ 50 ms (this run: {subscribers} subscribers)"
                ),
                subscribers >= 10_000 && rss <= 150.0 && p99 <= 50.0,
            ))
        }
        _ => None,
    }
}

/// How the benchmarked server is configured for a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// As deployed: caches on.
    Cached,
    /// Every cache TTL 0, so each call takes the database path (the `-cold` scenarios).
    Cold,
}

/// The benchmarked Campus server (`campus serve`, every service), a child process.
struct Server {
    process: Child,
    mode: Mode,
    url: String,
    metrics: String,
}

impl Server {
    /// Starts a server on new ports over the run's database and Redis prefix, and waits
    /// until it serves. Servers of one run follow each other, never overlap.
    async fn start(
        settings: &BenchSettings,
        database_url: &str,
        scratch: &std::path::Path,
        run_id: &str,
        mode: Mode,
    ) -> anyhow::Result<Self> {
        let (listen, admin) = (free_addr()?, free_addr()?);
        let mut serve = vec![
            "serve".to_owned(),
            "--listen".into(),
            listen.to_string(),
            "--admin-listen".into(),
            admin.to_string(),
            "--database-url".into(),
            database_url.to_owned(),
            "--shutdown-delay".into(),
            "0s".into(),
            "--content-url".into(),
            format!("file://{}", scratch.join("content").display()),
        ];
        if let Some(redis) = &settings.redis_url {
            serve.extend([
                "--redis-url".into(),
                redis.clone(),
                "--redis-prefix".into(),
                format!("bench-{run_id}:"),
            ]);
        }
        let env: &[(&str, &str)] = match mode {
            Mode::Cached => &[],
            Mode::Cold => &[("CAMPUS_COURSES_CACHE_TTL", "0s")],
        };
        let process = spawn(&serve, env, settings.server_cpus.as_deref())?;
        let url = format!("http://{listen}");
        wait_serving(&url).await?;
        Ok(Self {
            process,
            mode,
            url,
            metrics: format!("http://{admin}/metrics"),
        })
    }
}

/// Runs the benchmark and prints (and writes) its report.
pub async fn run(settings: &BenchSettings) -> anyhow::Result<()> {
    let run_id = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    let scratch = tempfile_dir()?;
    let database_url = settings
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", scratch.join("bench.db").display()));
    let baseline = free_addr()?;
    let mut server =
        Server::start(settings, &database_url, &scratch, &run_id, Mode::Cached).await?;
    let _baseline = spawn(
        &[
            "bench-baseline".into(),
            "--listen".into(),
            baseline.to_string(),
        ],
        &[],
        settings.server_cpus.as_deref(),
    )?;
    let baseline_url = format!("http://{baseline}");
    wait_serving(&baseline_url).await?;

    let admin_email = format!("bench-admin-{run_id}@campus.test");
    let admin_password = "benchmark admin password";
    let users = <crate::users_cli::UsersSettings as clap::FromArgMatches>::from_arg_matches(
        &<UsersArgs as clap::CommandFactory>::command().try_get_matches_from([
            "users",
            "--database-url",
            &database_url,
            "create-admin",
            "--email",
            &admin_email,
            "--password",
            admin_password,
        ])?,
    )?;
    crate::users_cli::run(&users).await?;
    let admin_token = {
        use campus_proto::users::{LoginRequest, users_service_client::UsersServiceClient};
        let channel = tonic::transport::Channel::from_shared(server.url.clone())?
            .connect()
            .await?;
        UsersServiceClient::new(channel)
            .login(LoginRequest {
                school_id: String::new(),
                email: admin_email,
                password: admin_password.into(),
            })
            .await?
            .into_inner()
            .tokens
            .context("login returned no tokens")?
            .access_token
    };
    let mut target = Target {
        campus: server.url.clone(),
        baseline: baseline_url,
        metrics: Some(server.metrics.clone()),
        server_pid: server.process.id(),
        admin_token,
        run_id: run_id.clone(),
        connections: settings.connections,
        subscribers: settings.subscribers,
        downloads: settings.downloads,
        scratch: scratch.clone(),
    };
    let mut load = LoadSettings {
        duration: settings.duration,
        warmup: settings.warmup,
        concurrency: settings.concurrency,
        rate: settings.rate,
        cpu: CpuProbe::default(),
    };
    let mut names: Vec<String> = if settings.scenarios.is_empty() {
        scenarios::ALL
            .iter()
            .map(|name| (*name).to_owned())
            .collect()
    } else {
        settings.scenarios.clone()
    };
    names.retain(|name| name != "baseline");
    names.insert(0, "baseline".into());

    let mut reports: Vec<ScenarioReport> = Vec::new();
    let mut baseline_rate = None;
    for name in &names {
        let mode = if scenarios::is_cold(name) {
            Mode::Cold
        } else {
            Mode::Cached
        };
        if mode != server.mode {
            drop(server);
            server = Server::start(settings, &database_url, &scratch, &run_id, mode).await?;
            target.campus.clone_from(&server.url);
            target.metrics = Some(server.metrics.clone());
            target.server_pid = server.process.id();
        }
        load.cpu = CpuProbe {
            server_pid: (name != "baseline").then_some(target.server_pid).flatten(),
            postgres: name != "baseline" && database_url.starts_with("postgres"),
        };
        let bar = ProgressBar::new(1000);
        bar.set_style(
            ProgressStyle::with_template("{msg:>20} [{bar:40}] {percent:>3}%")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(name.clone());
        let ticker = bar.clone();
        let outcome = scenarios::run_scenario(name, &target, &load, move |fraction| {
            ticker.set_position((fraction * 1000.0) as u64);
        })
        .await
        .map_err(|error| anyhow::anyhow!("scenario {name}: {error}"))?;
        bar.finish_and_clear();
        let calls = outcome.measurement.throughput();
        let units = outcome
            .measured_units
            .unwrap_or(outcome.measurement.ok as f64 * outcome.per_call);
        let per_unit =
            |seconds: Option<f64>| seconds.filter(|_| units > 0.0).map(|s| s * 1e6 / units);
        if name == "baseline" {
            baseline_rate = Some(calls);
        }
        let mut report = ScenarioReport {
            name: name.clone(),
            unit: outcome.unit.to_owned(),
            throughput: units / outcome.measurement.elapsed.as_secs_f64().max(0.001),
            calls_per_second: calls,
            ratio_to_baseline: (name != "baseline").then(|| {
                baseline_rate.map_or(0.0, |base| if base > 0.0 { calls / base } else { 0.0 })
            }),
            latency: outcome.measurement.latencies.percentiles(),
            campus_cpu_us: per_unit(outcome.measurement.cpu.campus_seconds),
            postgres_cpu_us: per_unit(outcome.measurement.cpu.postgres_seconds),
            errors: outcome.measurement.errors.clone(),
            extra: outcome.extra,
            goal: None,
        };
        report.goal = goal(&report, settings.subscribers);
        reports.push(report);
    }
    let environment = format!(
        "{} CPUs; server storage: {}{}",
        std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get),
        if database_url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        if settings.redis_url.is_some() {
            " + Redis"
        } else {
            ", in-process cache and bus"
        },
    );
    let report = RunReport {
        date: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        environment,
        settings: format!(
            "{} measured after {} warm-up, {}, {} connections",
            humantime::format_duration(settings.duration),
            humantime::format_duration(settings.warmup),
            settings.rate.map_or_else(
                || format!("{} in flight (closed loop)", settings.concurrency),
                |rate| format!("{rate} calls/s (open loop)")
            ),
            settings.connections
        ),
        scenarios: reports,
    };
    print!("{}", report.table());
    if let Some(path) = &settings.json {
        write(path, &serde_json::to_string_pretty(&report)?)?;
    }
    if let Some(path) = &settings.markdown {
        write(path, &report.markdown())?;
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// The `campus users` arguments, to create the benchmark's admin in process.
#[derive(Debug, clap::Parser)]
#[command(name = "users")]
struct UsersArgs {
    #[command(flatten)]
    settings: crate::users_cli::UsersSettings,
}

fn write(path: &PathBuf, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// A new scratch directory for the benchmark's SQLite file.
fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("campus-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `campus bench-baseline`: the bare tonic server the benchmark compares against.
#[derive(Debug, Clone, clap::Args)]
pub struct BaselineSettings {
    /// Address to listen on.
    #[arg(long)]
    pub listen: SocketAddr,
}

/// Serves the baseline until Ctrl-C or SIGTERM.
pub async fn serve_baseline(settings: &BaselineSettings) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(settings.listen).await?;
    campus_loadgen::baseline::serve(listener, campus_runtime::shutdown::signal()).await?;
    Ok(())
}
