//! The real Campus server: the built `campus` binary, run as a child process on port 0.
//!
//! Tests link only this kit and the contracts, not the services: a change to one service
//! relinks the `campus` binary once instead of every test binary of the workspace.

use std::{
    fs::File,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use campus_proto::users::{LoginRequest, users_service_client::UsersServiceClient};
use campus_runtime::bearer::{Bearer, BearerChannel};
use tempfile::TempDir;
use tokio::process::{Child, Command};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{CertFiles, Error, TestCa, TestDatabase, TestRedis};

/// What to start.
#[derive(Debug)]
pub struct CampusOptions {
    /// The services to run: `all`, `users`, `courses`, `progress` or `finance`.
    pub role: &'static str,
    /// `CAMPUS_DATABASE_URL`; `None` creates a fresh database (PostgreSQL when configured).
    pub database_url: Option<String>,
    /// Use a Redis with a fresh prefix: `CAMPUS_TEST_REDIS_URL`, else a private server.
    pub redis: bool,
    /// More flags, as on the command line (`--cors-origins`, `--shutdown-delay`, …).
    pub args: Vec<String>,
    /// `RUST_LOG` of the server; its log is kept in a file ([`TestCampus::log`]).
    pub log_filter: &'static str,
    /// Serve TLS with this certificate (for `localhost`); the test's clients trust its CA.
    pub tls: Option<ServerTls>,
    /// Start the process with at most this many open files (`prlimit --nofile`).
    pub max_open_files: Option<u64>,
    /// More environment variables of the process (the `AWS_*` settings of an S3 store).
    pub env: Vec<(String, String)>,
}

/// The certificate a test server serves and the CA its clients trust.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The CA certificate clients trust.
    pub ca_file: PathBuf,
    /// The server's certificate, issued for `localhost`.
    pub server: CertFiles,
    /// The certificate the test's clients present (mutual TLS), if any.
    pub client: Option<CertFiles>,
}

impl ServerTls {
    /// A certificate for `localhost` and 127.0.0.1 issued by `ca`.
    pub fn issued_by(ca: &TestCa, file: &str) -> Result<Self, Error> {
        Ok(Self {
            ca_file: ca.ca_file(),
            server: ca.issue(file, &["localhost", "127.0.0.1"])?,
            client: None,
        })
    }
}

impl Default for CampusOptions {
    fn default() -> Self {
        Self {
            role: "all",
            database_url: None,
            redis: false,
            args: Vec::new(),
            log_filter: "info",
            tls: None,
            max_open_files: None,
            env: Vec::new(),
        }
    }
}

/// The `campus` binary next to the running test's own directory (`target/<profile>/`), or
/// `CAMPUS_TEST_BINARY`. `cargo test --workspace` builds it with the tests; a test run of one
/// crate alone needs `cargo build --bin campus` first.
pub fn campus_binary() -> Result<PathBuf, Error> {
    if let Some(path) = std::env::var_os("CAMPUS_TEST_BINARY") {
        return Ok(path.into());
    }
    let test_binary = std::env::current_exe()?;
    // The test binary is target/<profile>/deps/<name>; the campus binary target/<profile>/campus.
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .ok_or("the test binary is not under target/<profile>/deps")?;
    let binary = profile_dir.join("campus");
    if !binary.exists() {
        return Err(format!(
            "{} does not exist: run `cargo build --bin campus` (or set CAMPUS_TEST_BINARY)",
            binary.display()
        )
        .into());
    }
    Ok(binary)
}

/// Email and password of the platform admin [`TestCampus::platform_admin_token`] creates.
pub const PLATFORM_ADMIN_EMAIL: &str = "admin@campus.test";
/// See [`PLATFORM_ADMIN_EMAIL`].
pub const PLATFORM_ADMIN_PASSWORD: &str = "admin password 1";

/// A channel that sends a bearer token on every call.
pub type AuthedChannel = BearerChannel;

/// A running server process; [`TestCampus::shutdown`] stops it as Kubernetes does (SIGTERM)
/// and returns how it exited. Dropped without shutdown, the process is killed.
#[derive(Debug)]
pub struct TestCampus {
    /// The gRPC address.
    pub addr: SocketAddr,
    /// The admin (`/metrics`) address.
    pub admin_addr: SocketAddr,
    child: Child,
    log_path: PathBuf,
    _log_dir: TempDir,
    redis: Option<TestRedis>,
    database_url: String,
    _database: Option<TestDatabase>,
    /// How the test's clients speak TLS to the server, when it does.
    tls: Option<ServerTls>,
}

/// The JSON entries of a server log, skipping lines that are not JSON (stderr).
fn log_entries(log: &str) -> impl Iterator<Item = serde_json::Value> + '_ {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
}

/// Starts one replica of every service on the database at `database_url`, sharing the Redis
/// at `redis_url` (keys under `redis_prefix`) with the other replicas, and waits until it
/// reports SERVING: two of these are a mesh in miniature.
pub async fn spawn_replica(
    database_url: &str,
    redis_url: &str,
    redis_prefix: &str,
) -> Result<TestCampus, Error> {
    let campus = TestCampus::start(CampusOptions {
        database_url: Some(database_url.to_owned()),
        args: vec![
            "--redis-url".into(),
            redis_url.to_owned(),
            "--redis-prefix".into(),
            redis_prefix.to_owned(),
        ],
        ..CampusOptions::default()
    })
    .await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    Ok(campus)
}

/// Starts every service on a fresh database and waits until it reports SERVING.
pub async fn spawn_campus() -> Result<TestCampus, Error> {
    let campus = TestCampus::start(CampusOptions::default()).await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    Ok(campus)
}

impl TestCampus {
    /// Starts a server as `options` say and waits until it listens, not for readiness.
    pub async fn start(options: CampusOptions) -> Result<Self, Error> {
        let (database, database_url) = match options.database_url {
            Some(url) => (None, url),
            None => {
                let database = TestDatabase::preferred().await?;
                let url = database.url().to_owned();
                (Some(database), url)
            }
        };
        let redis = if options.redis {
            Some(TestRedis::start().await?)
        } else {
            None
        };
        let mut args = vec![
            "serve".to_owned(),
            options.role.to_owned(),
            "--listen".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--admin-listen".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--database-url".to_owned(),
            database_url.clone(),
            "--shutdown-delay".to_owned(),
            "100ms".to_owned(),
        ];
        if let Some(redis) = &redis {
            args.extend([
                "--redis-url".to_owned(),
                redis.url().to_owned(),
                "--redis-prefix".to_owned(),
                redis.prefix().to_owned(),
            ]);
        }
        if let Some(tls) = &options.tls {
            args.extend([
                "--tls-cert-file".to_owned(),
                tls.server.cert.display().to_string(),
                "--tls-key-file".to_owned(),
                tls.server.key.display().to_string(),
            ]);
        }
        let log_dir = tempfile::tempdir()?;
        // Files go to the test's own directory unless the test names a store.
        if !options.args.iter().any(|arg| arg == "--content-url") {
            args.extend([
                "--content-url".to_owned(),
                format!("file://{}", log_dir.path().join("content").display()),
            ]);
        }
        args.extend(options.args);
        let log_path = log_dir.path().join("campus.log");
        let log = File::create(&log_path)?;
        let mut command = match options.max_open_files {
            Some(limit) => {
                let mut prlimit = Command::new("prlimit");
                prlimit
                    .arg(format!("--nofile={limit}:{limit}"))
                    .arg("--")
                    .arg(campus_binary()?);
                prlimit
            }
            None => Command::new(campus_binary()?),
        };
        let child = command
            .args(&args)
            .env("RUST_LOG", options.log_filter)
            .env("CAMPUS_LOG_FORMAT", "json")
            .envs(options.env)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()?;
        let mut campus = Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            child,
            log_path,
            _log_dir: log_dir,
            redis,
            database_url,
            _database: database,
            tls: options.tls,
        };
        (campus.addr, campus.admin_addr) = campus.listening().await?;
        Ok(campus)
    }

    /// Waits up to 60 s for the server's `serving` line and reads its two addresses from it.
    async fn listening(&mut self) -> Result<(SocketAddr, SocketAddr), Error> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            for entry in log_entries(&self.log()?) {
                if entry["message"] == "serving"
                    && let (Some(addr), Some(admin_addr)) =
                        (entry["local_addr"].as_str(), entry["admin_addr"].as_str())
                {
                    return Ok((addr.parse()?, admin_addr.parse()?));
                }
            }
            if let Some(status) = self.child.try_wait()? {
                return Err(format!(
                    "campus exited with {status} before serving:\n{}",
                    self.log()?
                )
                .into());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("campus did not start within 60 s:\n{}", self.log()?).into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits up to 60 s until the server has logged `count` lines whose message is
    /// `message`: how a test waits for something the server does but does not answer.
    pub async fn wait_for_logged(&self, message: &str, count: usize) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let logged = log_entries(&self.log()?)
                .filter(|entry| entry["message"] == message)
                .count();
            if logged >= count {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("{message:?} logged {logged} times of {count}").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Everything the server has logged so far (JSON lines, then anything on stderr). A
    /// call's log lines are written before its answer is sent, so they are here once it came.
    pub fn log(&self) -> Result<String, Error> {
        Ok(std::fs::read_to_string(&self.log_path)?)
    }

    /// Runs `call` and returns the SQL statements the server ran inside its calls of gRPC
    /// method `method` (e.g. `ListCourses`) meanwhile, from sqlx's statement log: start the
    /// server with `log_filter` enabling `sqlx::query=debug`. Background work (relay, event
    /// consumers) runs outside any call and is not counted.
    pub async fn statements_of<T>(
        &self,
        method: &str,
        call: impl Future<Output = Result<T, Error>>,
    ) -> Result<(T, Vec<String>), Error> {
        let before = self.log()?.len();
        let answer = call.await?;
        let log = self.log()?;
        let statements = log_entries(log.get(before..).unwrap_or_default())
            .filter(|entry| entry["target"] == "sqlx::query")
            .filter(|entry| {
                entry["spans"].as_array().is_some_and(|spans| {
                    spans
                        .iter()
                        .any(|span| span["name"] == "grpc.server" && span["rpc.method"] == method)
                })
            })
            .map(|entry| {
                let summary = entry["summary"].as_str().unwrap_or_default();
                let statement = entry["db.statement"].as_str().unwrap_or_default();
                format!("{summary} {statement}")
            })
            .collect();
        Ok((answer, statements))
    }

    /// The server's process id (`prlimit` runs it in its own process, so the same).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The database this server uses (`CAMPUS_DATABASE_URL`).
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// A channel whose calls carry `authorization: Bearer <token>`.
    pub async fn channel_as(&self, token: &str) -> Result<AuthedChannel, Error> {
        Ok(Bearer::new(token)?.on(self.channel().await?))
    }

    /// Creates a platform admin (once per server, as `campus users create-admin` does) and
    /// logs in; returns an access token.
    pub async fn platform_admin_token(&self) -> Result<String, Error> {
        let created = Command::new(campus_binary()?)
            .args([
                "users",
                "--database-url",
                &self.database_url,
                "create-admin",
                "--email",
                PLATFORM_ADMIN_EMAIL,
            ])
            .env("CAMPUS_ADMIN_PASSWORD", PLATFORM_ADMIN_PASSWORD)
            .stdin(Stdio::null())
            .output()
            .await?;
        let stderr = String::from_utf8_lossy(&created.stderr);
        // A second call for the same server finds the admin already there.
        if !created.status.success() && !stderr.contains("already exists") {
            return Err(format!("campus users create-admin failed: {stderr}").into());
        }
        self.login("", PLATFORM_ADMIN_EMAIL, PLATFORM_ADMIN_PASSWORD)
            .await
    }

    /// Logs in and returns the access token.
    pub async fn login(
        &self,
        school_id: &str,
        email: &str,
        password: &str,
    ) -> Result<String, Error> {
        let mut users = UsersServiceClient::new(self.channel().await?);
        let response = users
            .login(LoginRequest {
                school_id: school_id.to_owned(),
                email: email.to_owned(),
                password: password.to_owned(),
            })
            .await?
            .into_inner();
        Ok(response
            .tokens
            .ok_or("login returned no tokens")?
            .access_token)
    }

    /// `http://127.0.0.1:<port>`, or `https://localhost:<port>` under TLS, for clients.
    pub fn url(&self) -> String {
        match self.tls {
            Some(_) => format!("https://localhost:{}", self.addr.port()),
            None => format!("http://{}", self.addr),
        }
    }

    /// A connected channel to the server (trusting the test's CA under TLS).
    pub async fn channel(&self) -> Result<Channel, Error> {
        let endpoint = Channel::from_shared(self.url())?;
        let endpoint = match &self.tls {
            Some(tls) => {
                let mut config = ClientTlsConfig::new()
                    .ca_certificate(Certificate::from_pem(std::fs::read(&tls.ca_file)?));
                if let Some(client) = &tls.client {
                    config = config.identity(Identity::from_pem(
                        std::fs::read(&client.cert)?,
                        std::fs::read(&client.key)?,
                    ));
                }
                endpoint.tls_config(config)?
            }
            None => endpoint,
        };
        Ok(endpoint.connect().await?)
    }

    /// The status health reports for `service` (`""` for the whole server) on the gRPC port.
    pub async fn health(&self, service: &str) -> Result<ServingStatus, Error> {
        health_of(self.channel().await?, service).await
    }

    /// The status health reports for `service` on the admin port, in cleartext whether or
    /// not the gRPC port speaks TLS: what the kubelet's probes ask.
    pub async fn admin_health(&self, service: &str) -> Result<ServingStatus, Error> {
        let admin = Channel::from_shared(format!("http://{}", self.admin_addr))?
            .connect()
            .await?;
        health_of(admin, service).await
    }

    /// Waits up to 30 s for `service` to report `status` on the admin port (as probes see it).
    pub async fn wait_for_status(&self, service: &str, status: ServingStatus) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if self.admin_health(service).await.ok() == Some(status) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("{service:?} never reported {status:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The admin listener's `/metrics` text.
    pub async fn metrics(&self) -> Result<String, Error> {
        Ok(campus_runtime::admin::scrape(&self.admin_addr.to_string()).await?)
    }

    /// Sends SIGTERM and waits up to 60 s for the process to exit; an exit other than
    /// success becomes an error carrying the server's log.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        let pid = self.child.id().ok_or("campus already exited")?;
        let signalled = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await?;
        if !signalled.success() {
            return Err(format!("kill -TERM {pid} failed: {signalled}").into());
        }
        let status = tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .map_err(|_| {
                format!(
                    "campus did not exit within 60 s of SIGTERM:\n{}",
                    self.log().unwrap_or_default()
                )
            })??;
        if !status.success() {
            return Err(format!("campus exited with {status}:\n{}", self.log()?).into());
        }
        if let Some(redis) = &self.redis {
            redis.clean().await?;
        }
        Ok(())
    }
}

/// The status `channel`'s health service reports for `service`.
async fn health_of(channel: Channel, service: &str) -> Result<ServingStatus, Error> {
    let response = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await?;
    Ok(response.into_inner().status())
}
