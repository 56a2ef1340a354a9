//! The `campus` binary as an operator runs it: `--help` names every variable, bad
//! configuration exits non-zero naming the variable, and SIGTERM exits 0.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use campus_testkit::{Error, TestDatabase};

const CAMPUS: &str = env!("CARGO_BIN_EXE_campus");

/// Runs `campus` with `args` and extra environment, returning (exit code, stderr).
fn run(args: &[&str], env: &[(&str, &str)]) -> Result<(Option<i32>, String), Error> {
    let output = Command::new(CAMPUS)
        .args(args)
        .env_remove("CAMPUS_DATABASE_URL")
        .envs(env.iter().copied())
        .output()?;
    Ok((
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

#[test]
fn help_lists_every_flag_with_its_environment_variable() -> Result<(), Error> {
    let output = Command::new(CAMPUS).args(["serve", "--help"]).output()?;
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for variable in [
        "CAMPUS_LISTEN",
        "CAMPUS_ADMIN_LISTEN",
        "CAMPUS_DATABASE_URL",
        "CAMPUS_REDIS_URL",
        "CAMPUS_USERS_ADDR",
        "CAMPUS_COURSES_ADDR",
        "CAMPUS_PROGRESS_ADDR",
        "CAMPUS_FINANCE_ADDR",
        "CAMPUS_SHUTDOWN_GRACE",
        "CAMPUS_CORS_ORIGINS",
        "CAMPUS_LOG_FORMAT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_SERVICE_NAME",
    ] {
        assert!(
            help.contains(&format!("[env: {variable}")),
            "{variable} missing from --help"
        );
    }
    Ok(())
}

#[test]
fn unparsable_listen_address_names_the_variable() -> Result<(), Error> {
    let (code, stderr) = run(&["serve"], &[("CAMPUS_LISTEN", "not-an-address")])?;
    assert_ne!(code, Some(0));
    assert!(stderr.contains("CAMPUS_LISTEN"), "{stderr}");
    Ok(())
}

#[test]
fn unknown_database_scheme_names_the_variable() -> Result<(), Error> {
    let (code, stderr) = run(
        &["migrate"],
        &[("CAMPUS_DATABASE_URL", "mysql://root@127.0.0.1/campus")],
    )?;
    assert_ne!(code, Some(0));
    assert!(stderr.contains("CAMPUS_DATABASE_URL"), "{stderr}");
    assert!(stderr.contains("unknown scheme"), "{stderr}");
    Ok(())
}

#[test]
fn migrate_applies_and_reapplies() -> Result<(), Error> {
    let database = TestDatabase::sqlite()?;
    for _ in 0..2 {
        let (code, stderr) = run(&["migrate", "--database-url", database.url()], &[])?;
        assert_eq!(code, Some(0), "{stderr}");
    }
    Ok(())
}

/// A free port on loopback (bound, read, released).
fn free_port() -> Result<u16, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[tokio::test]
async fn sigterm_makes_the_process_exit_zero() -> Result<(), Error> {
    let database = TestDatabase::sqlite()?;
    let (port, admin_port) = (free_port()?, free_port()?);
    let mut child = tokio::process::Command::new(CAMPUS)
        .args(["serve", "--database-url", database.url()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin_port}")])
        .args(["--shutdown-delay", "200ms"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;

    let url = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(channel) = tonic::transport::Channel::from_shared(url.clone())?
            .connect()
            .await
        {
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
            if let Ok(answer) = health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                && answer.into_inner().status
                    == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
            {
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "campus never became ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let pid = child.id().ok_or("campus exited early")?;
    let sent = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await??;
    assert_eq!(status.code(), Some(0));
    Ok(())
}

#[test]
fn json_log_format_prints_one_json_object_per_line() -> Result<(), Error> {
    let database = TestDatabase::sqlite()?;
    let output = Command::new(CAMPUS)
        .args(["migrate", "--database-url", database.url()])
        .env("CAMPUS_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .output()?;
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(!lines.is_empty(), "no log lines");
    for line in &lines {
        assert!(
            line.starts_with('{') && line.ends_with('}'),
            "not JSON: {line}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|line| line.contains(r#""message":"migrations applied""#)),
        "{stdout}"
    );
    Ok(())
}

#[test]
fn bad_rust_log_names_the_variable() -> Result<(), Error> {
    let database = TestDatabase::sqlite()?;
    let (code, stderr) = run(
        &["migrate", "--database-url", database.url()],
        &[("RUST_LOG", "campus=notalevel")],
    )?;
    assert_ne!(code, Some(0));
    assert!(stderr.contains("RUST_LOG"), "{stderr}");
    Ok(())
}

#[tokio::test]
async fn finance_reconcile_passes_a_clean_ledger_and_fails_a_tampered_one() -> Result<(), Error> {
    let database = TestDatabase::sqlite()?;
    // Reconcile reads only: on a database without the schema it says so and creates nothing.
    let (code, stderr) = run(
        &["finance", "--database-url", database.url(), "reconcile"],
        &[],
    )?;
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("schema is behind") && stderr.contains("campus migrate"),
        "{stderr}"
    );
    let flags = <DatabaseFlags as clap::Parser>::try_parse_from([
        "test",
        "--database-url",
        database.url(),
    ])?;
    let pool = campus_store::Database::connect_lazy(&flags.database)?;
    let tables: i64 = campus_store::on_pool!(&pool, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
            .fetch_one(pool)
            .await
    })?;
    assert_eq!(tables, 0, "reconcile created tables");
    let (code, stderr) = run(&["migrate", "--database-url", database.url()], &[])?;
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = run(
        &["finance", "--database-url", database.url(), "reconcile"],
        &[],
    )?;
    assert_eq!(code, Some(0), "{stderr}");

    // An account whose stored balance no entry explains.
    campus_store::on_pool!(&pool, pool => {
        sqlx::query(
            "INSERT INTO accounts (id, owner_id, name, kind, currency, opening_balance_minor, balance_minor, \
             status, created_at, updated_at) VALUES ('acct-1', 'u1', 'Cash', 1, 'EUR', 0, 500, 1, 0, 0)",
        )
        .execute(pool)
        .await
        .map(|_| ())
    })?;
    pool.close().await;
    let output = Command::new(CAMPUS)
        .args(["finance", "--database-url", database.url(), "reconcile"])
        .output()?;
    assert_ne!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("acct-1") && stdout.contains("500"),
        "{stdout}"
    );
    Ok(())
}

#[derive(Debug, clap::Parser)]
struct DatabaseFlags {
    #[command(flatten)]
    database: campus_store::DatabaseConfig,
}

/// `campus bench ARGS` on the embedded stores, writing its JSON report: the report.
fn bench_report(args: &[&str]) -> Result<String, Error> {
    let dir = tempfile_dir()?;
    let json = dir.join("report.json");
    let output = Command::new(CAMPUS)
        .arg("bench")
        .args(args)
        .args(["--warmup", "0s", "--json"])
        .arg(&json)
        .env_remove("CAMPUS_BENCH_DATABASE_URL")
        .env_remove("CAMPUS_BENCH_REDIS_URL")
        .output()?;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = std::fs::read_to_string(&json)?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(report)
}

#[test]
fn bench_baseline_smoke_test_completes_without_errors() -> Result<(), Error> {
    let report = bench_report(&["baseline", "--duration", "2s", "--concurrency", "8"])?;
    assert!(report.contains(r#""name": "baseline""#), "{report}");
    assert!(
        report.contains(r#""errors": {}"#),
        "the baseline answered every call: {report}"
    );
    Ok(())
}

#[test]
fn bench_materials_smoke_test_moves_whole_files_without_errors() -> Result<(), Error> {
    let report = bench_report(&[
        "download-http",
        "download-grpc",
        "range-seek",
        "upload",
        "--downloads",
        "4",
        "--duration",
        "1s",
        "--concurrency",
        "2",
    ])?;
    let report: serde_json::Value = serde_json::from_str(&report)?;
    let scenarios = report["scenarios"].as_array().ok_or("no scenarios")?;
    for name in ["download-http", "download-grpc", "range-seek", "upload"] {
        let scenario = scenarios
            .iter()
            .find(|s| s["name"] == name)
            .ok_or_else(|| format!("{name} missing: {report}"))?;
        // Every download was whole and every seek returned the bytes at its offset: a short
        // or wrong body counts as an error.
        assert_eq!(scenario["errors"], serde_json::json!({}), "{scenario}");
    }
    let http = scenarios
        .iter()
        .find(|s| s["name"] == "download-http")
        .ok_or("no download-http")?;
    let extra = http["extra"].to_string();
    assert!(
        extra.contains("vs disk read") && extra.contains("server RSS peak"),
        "{extra}"
    );
    Ok(())
}

#[test]
fn bench_upcoming_events_smoke_test_lists_without_errors() -> Result<(), Error> {
    let report = bench_report(&["upcoming-events", "--duration", "1s", "--concurrency", "2"])?;
    let report: serde_json::Value = serde_json::from_str(&report)?;
    let scenario = report["scenarios"]
        .as_array()
        .and_then(|scenarios| scenarios.iter().find(|s| s["name"] == "upcoming-events"))
        .ok_or_else(|| format!("upcoming-events missing: {report}"))?;
    assert_eq!(scenario["errors"], serde_json::json!({}), "{scenario}");
    assert!(
        scenario["throughput"]
            .as_f64()
            .is_some_and(|calls| calls > 0.0),
        "{scenario}"
    );
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!(
        "campus-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[test]
fn backup_copies_the_sqlite_database_to_a_new_file() -> Result<(), Error> {
    let database = TestDatabase::sqlite()?;
    let (code, stderr) = run(&["migrate", "--database-url", database.url()], &[])?;
    assert_eq!(code, Some(0), "{stderr}");
    let dir = tempfile_dir()?;
    let copy = dir.join("campus-backup.db");
    let copy_arg = copy.to_string_lossy().into_owned();
    let (code, stderr) = run(
        &["backup", "--database-url", database.url(), &copy_arg],
        &[],
    )?;
    assert_eq!(code, Some(0), "{stderr}");
    // The copy is a Campus database: migrating it again finds everything applied.
    let restored = format!("sqlite://{}", copy.display());
    let (code, stderr) = run(&["migrate", "--database-url", &restored], &[])?;
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _) = run(
        &["backup", "--database-url", database.url(), &copy_arg],
        &[],
    )?;
    assert_ne!(code, Some(0), "an existing file is not overwritten");
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// Runs `campus users create-admin` with `extra` arguments and `stdin`; (exit code, output).
fn create_admin(
    database: &str,
    extra: &[&str],
    stdin: &str,
) -> Result<(Option<i32>, String), Error> {
    use std::io::Write as _;
    let mut child = Command::new(CAMPUS)
        .args(["users", "--database-url", database, "create-admin"])
        .args(["--email", "root@campus.test"])
        .args(extra)
        .env_remove("CAMPUS_ADMIN_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(stdin.as_bytes())?;
    let output = child.wait_with_output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((output.status.code(), text))
}

#[test]
fn create_admin_reads_the_password_from_stdin_or_names_what_is_missing() -> Result<(), Error> {
    let database = TestDatabase::sqlite()?;
    let (code, output) = create_admin(database.url(), &[], "")?;
    assert_eq!(code, Some(2), "{output}");
    assert!(output.contains("--password"), "{output}");

    let (code, output) = create_admin(database.url(), &["--password-stdin"], "\n")?;
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("held no password"), "{output}");

    let (code, output) = create_admin(
        database.url(),
        &["--password-stdin"],
        "a long admin passphrase\n",
    )?;
    assert_eq!(code, Some(0), "{output}");
    assert!(
        output.contains("created platform admin root@campus.test"),
        "{output}"
    );
    Ok(())
}
