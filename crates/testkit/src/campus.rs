//! The real Campus server in process, on port 0, with the production `serve` path.

use std::{net::SocketAddr, time::Duration};

use campus::{Role, ServeSettings};
use clap::Parser as _;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{Error, TestDatabase, TestRedis};

/// What to start.
#[derive(Debug)]
pub struct CampusOptions {
    /// The services to run.
    pub role: Role,
    /// `CAMPUS_DATABASE_URL`; `None` creates a fresh database (PostgreSQL when configured).
    pub database_url: Option<String>,
    /// Use the test Redis with a fresh prefix, when `CAMPUS_TEST_REDIS_URL` is set.
    pub redis: bool,
    /// More flags, as on the command line (`--cors-origins`, `--shutdown-delay`, …).
    pub args: Vec<String>,
}

impl Default for CampusOptions {
    fn default() -> Self {
        Self {
            role: Role::All,
            database_url: None,
            redis: false,
            args: Vec::new(),
        }
    }
}

#[derive(Debug, clap::Parser)]
struct Settings {
    #[command(flatten)]
    settings: ServeSettings,
}

/// A running server; [`TestCampus::shutdown`] stops it and returns how `serve` ended.
#[derive(Debug)]
pub struct TestCampus {
    /// The gRPC address.
    pub addr: SocketAddr,
    /// The admin (`/metrics`) address.
    pub admin_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), String>>,
    redis: Option<TestRedis>,
    _database: Option<TestDatabase>,
}

/// Starts every service on a fresh database and waits until it reports SERVING.
pub async fn spawn_campus() -> Result<TestCampus, Error> {
    let campus = TestCampus::start(CampusOptions::default()).await?;
    campus.wait_for_status("", ServingStatus::Serving).await?;
    Ok(campus)
}

impl TestCampus {
    /// Starts a server as `options` say, without waiting for readiness.
    pub async fn start(options: CampusOptions) -> Result<Self, Error> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let admin_listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let admin_addr = admin_listener.local_addr()?;
        let (database, database_url) = match options.database_url {
            Some(url) => (None, url),
            None => {
                let database = TestDatabase::preferred().await?;
                let url = database.url().to_owned();
                (Some(database), url)
            }
        };
        let redis = options.redis.then(TestRedis::from_env).flatten();
        let mut args = vec![
            "campus".to_owned(),
            options.role.name().to_owned(),
            "--database-url".to_owned(),
            database_url,
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
        args.extend(options.args);
        let settings = Settings::try_parse_from(args)?.settings;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            campus::serve(settings, listener, admin_listener, async {
                let _ = stopped.await;
            })
            .await
            .map_err(|error| format!("{error:#}"))
        });
        Ok(Self {
            addr,
            admin_addr,
            stop: Some(stop),
            task,
            redis,
            _database: database,
        })
    }

    /// `http://127.0.0.1:<port>`, for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A connected channel to the server.
    pub async fn channel(&self) -> Result<Channel, Error> {
        Ok(Channel::from_shared(self.url())?.connect().await?)
    }

    /// The status health reports for `service` (`""` for the whole server).
    pub async fn health(&self, service: &str) -> Result<ServingStatus, Error> {
        let mut client = HealthClient::new(self.channel().await?);
        let response = client
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await?;
        Ok(response.into_inner().status())
    }

    /// Waits up to 30 s for `service` to report `status`.
    pub async fn wait_for_status(&self, service: &str, status: ServingStatus) -> Result<(), Error> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if self.health(service).await.ok() == Some(status) {
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
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(self.admin_addr).await?;
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: campus\r\nConnection: close\r\n\r\n")
            .await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        let (head, body) = response
            .split_once("\r\n\r\n")
            .ok_or("no HTTP body in the /metrics answer")?;
        if !head.starts_with("HTTP/1.1 200") {
            return Err(format!("/metrics answered {head}").into());
        }
        Ok(body.to_owned())
    }

    /// Signals shutdown and waits for `serve` to return; its error, if any, becomes ours.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await??;
        if let Some(redis) = &self.redis {
            redis.clean().await?;
        }
        Ok(())
    }
}
