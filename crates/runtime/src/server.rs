//! The gRPC server every Campus service runs in: health, reflection, grpc-web with CORS, the
//! tower layers that protect it, the admin listener, and graceful shutdown.

use std::{convert::Infallible, future::Future, sync::Arc};

use prometheus::Registry;
use tokio::{net::TcpListener, sync::oneshot};
use tonic::{
    body::Body, server::NamedService, service::RoutesBuilder, transport::server::TcpIncoming,
};
use tonic_health::{ServingStatus, server::HealthReporter};
use tower::{ServiceBuilder, limit::GlobalConcurrencyLimitLayer, load_shed::LoadShedLayer};

use crate::{
    accept, admin,
    api::ExhaustedReason,
    auth::{AuthConfig, AuthLayer, keys::KeySet, revocation::Revocations},
    call_context::{CallContextLayer, CallLimits},
    config::ServerConfig,
    cors::{InvalidCors, OriginGuardLayer, OriginPolicy},
    header_limit::{self, HeaderLimitLayer},
    http_routes::{HttpHandler, HttpRoutes},
    in_process::InProcess,
    methods::MethodTable,
    metrics::{GrpcMetrics, MetricsLayer},
    stream_limits::StreamLimitLayer,
    tls::{TlsError, TlsListener},
    web::{Dashboard, DashboardLayer, MissingDashboard},
};

/// The health service, shared by the gRPC port and the admin port (where probes reach it
/// without TLS).
pub(crate) type HealthService =
    tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>;

/// Why the server could not be built or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// `CAMPUS_CORS_ORIGINS` or `CAMPUS_CORS_ALLOWED_HEADERS` holds a bad entry.
    #[error(transparent)]
    Cors(#[from] InvalidCors),
    /// `CAMPUS_WEB_DIR` holds no built dashboard.
    #[error(transparent)]
    Dashboard(#[from] MissingDashboard),
    /// A TLS setting names a file that cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The metrics could not be registered (a name registered twice).
    #[error("registering metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The reflection service could not read the descriptor sets.
    #[error("building reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The gRPC server stopped with an error.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The admin listener stopped with an error.
    #[error("admin listener: {0}")]
    Admin(#[from] std::io::Error),
    /// A server task panicked.
    #[error("server task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Readiness over `grpc.health.v1`, for the whole server (`""`) and each service name.
#[derive(Debug, Clone)]
pub struct Health {
    reporter: HealthReporter,
    services: Arc<std::sync::Mutex<Vec<&'static str>>>,
}

impl Health {
    /// Reports every service, then the whole server, as SERVING.
    pub async fn set_serving(&self) {
        for service in self.service_names() {
            self.reporter
                .set_service_status(service, ServingStatus::Serving)
                .await;
        }
        self.reporter
            .set_service_status("", ServingStatus::Serving)
            .await;
    }

    /// Reports the whole server, then every service, as NOT_SERVING. tonic-health has no
    /// switch for all names at once, so each is set in turn.
    pub async fn set_not_serving(&self) {
        self.reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
        for service in self.service_names() {
            self.reporter
                .set_service_status(service, ServingStatus::NotServing)
                .await;
        }
    }

    fn service_names(&self) -> Vec<&'static str> {
        // A std mutex: held only to copy a short list, never across an await.
        self.services
            .lock()
            .map(|names| names.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

/// Collects the services of one process, then serves them with the Campus layers.
#[derive(Debug)]
pub struct Server {
    config: ServerConfig,
    origins: OriginPolicy,
    dashboard: Option<Dashboard>,
    /// TLS on the gRPC port, when a certificate is configured.
    tls: Option<TlsListener>,
    routes: RoutesBuilder,
    health: Health,
    health_service: HealthService,
    metrics: GrpcMetrics,
    methods: MethodTable,
    registry: Registry,
    /// Token verification, when required; see [`Server::require_auth`].
    auth: Option<(AuthConfig, KeySet, Arc<Revocations>)>,
    /// Method paths or service prefixes callable without a token.
    public: Vec<String>,
    /// Where this process's peer calls to itself go; see [`Server::serve_peers_in_process`].
    own: Option<InProcess>,
    /// Plain HTTP routes of the services; see [`Server::add_http_route`].
    http_routes: HttpRoutes,
}

impl Server {
    /// A server with health and reflection (for `descriptor_set` and health itself), reporting
    /// NOT_SERVING until [`Health::set_serving`] is called. Metrics go into `registry`.
    pub async fn new(
        config: ServerConfig,
        registry: Registry,
        descriptor_set: &'static [u8],
    ) -> Result<Self, ServerError> {
        let origins =
            OriginPolicy::from_config(&config.cors_origins, &config.cors_allowed_headers)?;
        let reporter = HealthReporter::new();
        let health_service = HealthService::new(
            tonic_health::server::HealthService::from_health_reporter(reporter.clone()),
        );
        reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(descriptor_set)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        let methods = MethodTable::from_descriptor_sets(&[
            descriptor_set,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        ]);
        let metrics = GrpcMetrics::register(&registry, methods.clone())?;
        let dashboard = config
            .web_dir
            .as_deref()
            .map(|dir| Dashboard::new(dir, methods.clone()))
            .transpose()?;
        let tls = TlsListener::from_config(&config.tls)?;
        let mut routes = RoutesBuilder::default();
        routes.add_service(health_service.clone());
        routes.add_service(reflection);
        Ok(Self {
            config,
            origins,
            dashboard,
            tls,
            routes,
            health_service,
            health: Health {
                reporter,
                services: Arc::default(),
            },
            metrics,
            methods,
            registry,
            auth: None,
            public: vec![
                "/grpc.health.v1.Health/".to_owned(),
                "/grpc.reflection.v1.ServerReflection/".to_owned(),
            ],
            own: None,
            http_routes: HttpRoutes::default(),
        })
    }

    /// Requires a valid access token (verified with `keys`) on every call except health,
    /// reflection and the methods added with [`Server::add_public_methods`]; tokens of the
    /// sessions in `revocations` are refused.
    pub fn require_auth(
        &mut self,
        config: AuthConfig,
        keys: KeySet,
        revocations: Arc<Revocations>,
    ) {
        self.auth = Some((config, keys, revocations));
    }

    /// Methods (`/package.Service/Method`) callable without a token, such as login.
    pub fn add_public_methods(&mut self, paths: &[&str]) {
        self.public
            .extend(paths.iter().map(|&path| path.to_owned()));
    }

    /// Adds a service; its health name reports NOT_SERVING until the server is ready.
    pub async fn add_service<S>(&mut self, service: S)
    where
        S: tower::Service<http::Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.health
            .reporter
            .set_service_status(S::NAME, ServingStatus::NotServing)
            .await;
        if let Ok(mut names) = self.health.services.lock() {
            names.push(S::NAME);
        }
        self.routes.add_service(service);
    }

    /// Serves this process's peer calls to itself (all-in-one mode, [`crate::client::Peers::own`])
    /// through the same stack as calls from the network, once [`Server::serve`] assembles it.
    pub fn serve_peers_in_process(&mut self, own: InProcess) {
        self.own = Some(own);
    }

    /// Serves every request whose path starts with `prefix` with `handler`, before the
    /// dashboard and outside the gRPC stack: the handler authorizes its requests itself.
    pub fn add_http_route(&mut self, prefix: &'static str, handler: HttpHandler) {
        self.http_routes.add(prefix, handler);
    }

    /// The handle that flips readiness.
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// Serves gRPC on `listener` and `/metrics` on `admin_listener` until `shutdown`
    /// completes; then reports NOT_SERVING, waits `CAMPUS_SHUTDOWN_DELAY` so clients see
    /// it, stops accepting, and lets in-flight calls finish within `CAMPUS_SHUTDOWN_GRACE`.
    pub async fn serve(
        self,
        listener: TcpListener,
        admin_listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        let config = self.config;
        let stream_limits = StreamLimitLayer::new(
            config.max_open_streams,
            config.max_open_streams_per_user,
            self.methods.clone(),
        );
        let layers = ServiceBuilder::new()
            // The services' plain HTTP routes (signed downloads), which carry their own
            // credentials.
            .layer(self.http_routes)
            // The dashboard's pages and files: plain GETs outside every gRPC path.
            .layer(DashboardLayer::new(self.dashboard))
            // Refuse browsers from origins not allowed, before any other work.
            .layer(OriginGuardLayer::new(self.origins.clone()))
            // Answer CORS preflights and add CORS headers to grpc-web responses.
            .layer(self.origins.cors_layer())
            // Translate grpc-web (browsers, HTTP/1.1) to gRPC for every layer below.
            .layer(tonic_web::GrpcWebLayer::new())
            // Count and time every call, including the ones shed below.
            .layer(MetricsLayer::new(self.metrics))
            // Refuse a call whose headers are over the limit, alone, with a gRPC answer.
            .layer(HeaderLimitLayer::new(config.max_header_list_size))
            // Continue the caller's trace, enforce the call's deadline (DEADLINE_EXCEEDED) and
            // scope it for peer calls.
            .layer(CallContextLayer::new(CallLimits {
                request_timeout: config.request_timeout,
                stream_idle_timeout: config.stream_idle_timeout,
                methods: self.methods,
            }))
            // Answer RESOURCE_EXHAUSTED (reason OVERLOADED) at once when the limit below is
            // reached, not queue.
            .map_result(overloaded_answer)
            .layer(LoadShedLayer::new())
            // Bound the calls in flight across all connections of this process.
            .layer(GlobalConcurrencyLimitLayer::new(config.concurrency_limit))
            // Verify the caller last, after cheap refusals, right before the handler.
            .option_layer(self.auth.map(|(auth, keys, revocations)| {
                AuthLayer::new(&auth, keys, revocations, self.public.clone())
            }))
            // Bound the response streams held open, per process and per verified caller.
            .layer(stream_limits);

        let routes = self.routes.routes();
        if let Some(own) = &self.own {
            own.set(layers.clone().service(routes.clone()));
        }
        let router = tonic::transport::Server::builder()
            .accept_http1(true)
            .max_concurrent_streams(config.max_concurrent_streams)
            .http2_max_header_list_size(
                config
                    .max_header_list_size
                    .saturating_mul(header_limit::HTTP2_HEADROOM),
            )
            .http2_keepalive_interval(Some(config.http2_keepalive_interval))
            .http2_keepalive_timeout(Some(config.http2_keepalive_timeout))
            .layer(layers)
            .add_routes(routes);

        let (drain_tx, drain_rx) = oneshot::channel::<()>();
        let drained = async {
            let _ = drain_rx.await;
        };
        let incoming = accept::pausing(TcpIncoming::from(listener).with_nodelay(Some(true)));
        let mut grpc = match self.tls {
            Some(tls) => {
                tokio::spawn(router.serve_with_incoming_shutdown(tls.incoming(incoming), drained))
            }
            None => tokio::spawn(router.serve_with_incoming_shutdown(incoming, drained)),
        };
        let (admin_stop_tx, admin_stop_rx) = oneshot::channel::<()>();
        let admin = tokio::spawn(admin::serve(
            admin_listener,
            self.registry,
            self.health_service,
            async {
                let _ = admin_stop_rx.await;
            },
        ));

        tokio::select! {
            () = shutdown => {}
            result = &mut grpc => {
                let _ = admin_stop_tx.send(());
                result??;
                return Ok(());
            }
        }

        self.health.set_not_serving().await;
        tracing::info!(delay = ?config.shutdown_delay, "reporting NOT_SERVING before draining");
        tokio::time::sleep(config.shutdown_delay).await;
        let _ = drain_tx.send(());
        match tokio::time::timeout(config.shutdown_grace, grpc).await {
            Ok(result) => result??,
            Err(_) => tracing::warn!(
                grace = ?config.shutdown_grace,
                "shutdown grace period over with connections still open; exiting anyway"
            ),
        }
        let _ = admin_stop_tx.send(());
        admin.await??;
        tracing::info!("server stopped");
        Ok(())
    }
}

/// How long a shed client is asked to wait before trying again.
const OVERLOADED_RETRY_AFTER: std::time::Duration = std::time::Duration::from_millis(100);

/// A call shed at the concurrency limit, answered RESOURCE_EXHAUSTED with reason OVERLOADED
/// and a RetryInfo, so a client backs off (or tries another replica) instead of resuming.
fn overloaded_answer<B: Default>(
    result: Result<http::Response<B>, tower::BoxError>,
) -> Result<http::Response<B>, tower::BoxError> {
    match result {
        Err(error) if error.is::<tower::load_shed::error::Overloaded>() => {
            Ok(crate::api::resource_exhausted(
                ExhaustedReason::Overloaded,
                "this replica is at its concurrency limit; retry after a pause",
                OVERLOADED_RETRY_AFTER,
            )
            .into_http())
        }
        other => other,
    }
}
