//! The real Campus server in process, on port 0, with the production `serve` path.

use std::{net::SocketAddr, time::Duration};

use campus::{Role, ServeSettings};
use campus_proto::users::{LoginRequest, users_service_client::UsersServiceClient};
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
    /// Use a Redis with a fresh prefix: `CAMPUS_TEST_REDIS_URL`, else a private server.
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

/// Email and password of the platform admin [`TestCampus::platform_admin_token`] creates.
pub const PLATFORM_ADMIN_EMAIL: &str = "admin@campus.test";
/// See [`PLATFORM_ADMIN_EMAIL`].
pub const PLATFORM_ADMIN_PASSWORD: &str = "admin password 1";

/// A channel that sends a bearer token on every call.
pub type AuthedChannel = tonic::service::interceptor::InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer …`.
#[derive(Debug, Clone)]
pub struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

#[derive(Debug, clap::Parser)]
struct UsersCli {
    #[command(flatten)]
    settings: campus::users_cli::UsersSettings,
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
    database_url: String,
    _database: Option<TestDatabase>,
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
        let redis = if options.redis {
            Some(TestRedis::start().await?)
        } else {
            None
        };
        let mut args = vec![
            "campus".to_owned(),
            options.role.name().to_owned(),
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
            database_url,
            _database: database,
        })
    }

    /// The database this server uses (`CAMPUS_DATABASE_URL`).
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// A channel whose calls carry `authorization: Bearer <token>`.
    pub async fn channel_as(&self, token: &str) -> Result<AuthedChannel, Error> {
        let value: tonic::metadata::MetadataValue<tonic::metadata::Ascii> =
            format!("Bearer {token}").parse()?;
        Ok(tonic::service::interceptor::InterceptedService::new(
            self.channel().await?,
            Bearer(value),
        ))
    }

    /// Creates a platform admin (once per server, as `campus users create-admin` does) and
    /// logs in; returns an access token.
    pub async fn platform_admin_token(&self) -> Result<String, Error> {
        let settings = UsersCli::try_parse_from([
            "campus",
            "--database-url",
            &self.database_url,
            "create-admin",
            "--email",
            PLATFORM_ADMIN_EMAIL,
            "--password",
            PLATFORM_ADMIN_PASSWORD,
        ])?
        .settings;
        // A second call for the same server finds the admin already there.
        if let Err(error) = campus::users_cli::run(&settings).await
            && !error.to_string().contains("already exists")
        {
            return Err(error.into());
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
        Ok(campus_runtime::admin::scrape(&self.admin_addr.to_string()).await?)
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
