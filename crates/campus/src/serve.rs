//! `campus serve`: builds the server for a role, reports readiness once the database (and
//! Redis) answer and migrations ran, and serves until the shutdown signal.

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context as _;
use campus_courses::{CoursesConfig, EventsConfig, MaterialsConfig};
use campus_finance::FinanceConfig;
use campus_runtime::backoff::Backoff;
use campus_runtime::{
    auth::{AuthConfig, keys::KeySet, revocation::Revocations},
    client::Peers,
    config::{PeersConfig, ServerConfig},
    server::{Health, Server},
};
use campus_store::{
    Database, DatabaseConfig, Redis, RedisConfig, RetentionConfig, Store,
    content::{Content, ContentConfig},
};
use campus_users::UsersConfig;
use prometheus::Registry;
use tokio::net::TcpListener;

use crate::Role;

/// Everything `campus serve` is configured with.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeSettings {
    /// Which service to run; `all` runs every service in this one process.
    #[arg(value_enum, default_value_t = Role::All)]
    pub role: Role,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub server: ServerConfig,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub redis: RedisConfig,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub retention: RetentionConfig,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub peers: PeersConfig,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub auth: AuthConfig,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub users: UsersConfig,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub courses: CoursesConfig,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub content: ContentConfig,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub materials: MaterialsConfig,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub events: EventsConfig,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub finance: FinanceConfig,
}

/// Serves `settings.role` on the given listeners until `shutdown` completes and in-flight
/// calls have drained (or the grace period ran out).
pub async fn serve(
    settings: ServeSettings,
    listener: TcpListener,
    admin_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let role = settings.role;
    anyhow::ensure!(
        settings.users.access_ttl <= settings.auth.max_ttl,
        "CAMPUS_JWT_ACCESS_TTL ({}) is longer than CAMPUS_JWT_MAX_TTL ({}): every token issued \
         would be refused",
        humantime::format_duration(settings.users.access_ttl),
        humantime::format_duration(settings.auth.max_ttl)
    );
    anyhow::ensure!(
        settings.redis.url.is_some()
            || settings.retention.outbox_retention >= settings.auth.max_ttl,
        "CAMPUS_OUTBOX_RETENTION ({}) is shorter than CAMPUS_JWT_MAX_TTL ({}): without Redis the \
         outbox is where a restarted process re-reads the sessions revoked within a token's \
         lifetime",
        humantime::format_duration(settings.retention.outbox_retention),
        humantime::format_duration(settings.auth.max_ttl)
    );
    let local_addr = listener.local_addr().context("reading the bound address")?;
    let admin_addr = admin_listener
        .local_addr()
        .context("reading the bound admin address")?;
    if role == Role::Web {
        let server = dashboard_server(settings).await?;
        tracing::info!(role = role.name(), %local_addr, %admin_addr, "serving");
        return Ok(server.serve(listener, admin_listener, shutdown).await?);
    }
    let registry = Registry::new();
    let store = Store::connect_lazy(
        &settings.database,
        &settings.redis,
        &settings.retention,
        &registry,
    )?;
    let peers = Peers::resolve(&settings.peers, &settings.server.tls)?;
    for (peer, addr) in peers.addresses() {
        let here = Role::SERVICES
            .iter()
            .any(|service| service.name() == peer && role.serves(*service));
        if addr.is_none() && !here {
            tracing::warn!(
                peer,
                "no address set for a peer this process does not serve; calls to it will fail"
            );
        }
    }

    let max_message_size = settings.server.max_message_size;
    let revocations = Revocations::new(&registry)?;
    let mut server = Server::new(
        settings.server,
        registry.clone(),
        campus_proto::FILE_DESCRIPTOR_SET,
    )
    .await?;
    // Calls to a peer this process serves go through its own stack, not a socket.
    server.serve_peers_in_process(peers.own());
    // Every call but the public ones needs a token signed by the users service, of a session
    // not revoked; revocations are kept on the feed as long as a token can live.
    store
        .bus
        .keep_for(campus_store::revocations::FAMILY, settings.auth.max_ttl);
    server.require_auth(
        settings.auth.clone(),
        KeySet::new(peers.users()),
        Arc::clone(&revocations),
    );
    if role.serves(Role::Users) {
        let users = campus_users::Users::new(&store, &settings.users, &settings.auth)?;
        server.add_public_methods(campus_users::PUBLIC_METHODS);
        server
            .add_service(campus_users::service(users, max_message_size))
            .await;
    }
    // Consumers stop when this is dropped or set, after the server has drained.
    let (stop_consumers, consumers_stopped) = tokio::sync::watch::channel(());
    let until_stopped = move || {
        let mut stopped = consumers_stopped.clone();
        async move {
            let _ = stopped.changed().await;
        }
    };
    if role.serves(Role::Courses) {
        let courses = campus_courses::Courses::new(&store, &peers, &settings.courses);
        campus_courses::consumer(&store, &courses)
            .start(&store.bus, until_stopped())
            .await;
        let content = Content::open(&settings.content)?;
        let materials = campus_courses::materials::Materials::new(
            &courses,
            content,
            &settings.content,
            &settings.materials,
            &registry,
        )?;
        let events = campus_courses::school_events::SchoolEvents::new(
            &courses,
            &materials,
            &settings.events,
        );
        campus_courses::school_events::consumer(&store, &events)
            .start(&store.bus, until_stopped())
            .await;
        let (prefix, route) = events.http_route();
        server.add_http_route(prefix, route);
        let reminder = events.clone();
        let stop_reminders = until_stopped();
        tokio::spawn(async move { reminder.remind_until(stop_reminders).await });
        server
            .add_service(campus_courses::school_events::service(
                events,
                max_message_size,
            ))
            .await;
        server
            .add_service(campus_courses::service(courses, max_message_size))
            .await;
        let (prefix, route) = materials.http_route();
        server.add_http_route(prefix, route);
        let sweeper = materials.clone();
        let stop_sweep = until_stopped();
        tokio::spawn(async move { sweeper.sweep_until(stop_sweep).await });
        server
            .add_service(campus_courses::materials::service(
                materials,
                max_message_size,
            ))
            .await;
    }
    if role.serves(Role::Progress) {
        let progress = campus_progress::Progress::new(&store);
        campus_progress::consumer(&store)
            .start(&store.bus, until_stopped())
            .await;
        server
            .add_service(campus_progress::service(progress, max_message_size))
            .await;
    }
    if role.serves(Role::Finance) {
        let finance = campus_finance::Finance::new(&store, &settings.finance);
        server
            .add_service(campus_finance::service(finance, max_message_size))
            .await;
    }

    let (stop_relay, relay_stopped) = tokio::sync::oneshot::channel::<()>();
    let background = tokio::spawn(run_background(
        Background {
            store: store.clone(),
            role,
            revocations,
            max_ttl: settings.auth.max_ttl,
            health: server.health(),
        },
        until_stopped(),
        async {
            let _ = relay_stopped.await;
        },
    ));
    tracing::info!(
        role = role.name(),
        %local_addr,
        %admin_addr,
        database = ?settings.database.url,
        "serving"
    );
    let served = server.serve(listener, admin_listener, shutdown).await;
    // Calls have drained: let the relay finish its round and publish what they wrote.
    let _ = stop_relay.send(());
    if tokio::time::timeout(Duration::from_secs(5), background)
        .await
        .is_err()
    {
        tracing::warn!(
            "the outbox relay did not stop within 5 s; unsent events stay in the outbox"
        );
    }
    drop(stop_consumers);
    store.database.close().await;
    Ok(served?)
}

/// The server of `campus serve web`: the dashboard's files and health, ready at once. No store,
/// peers or services: gRPC paths answer UNIMPLEMENTED here, the edge routes them to the services.
async fn dashboard_server(settings: ServeSettings) -> anyhow::Result<Server> {
    anyhow::ensure!(
        settings.server.web_dir.is_some(),
        "CAMPUS_WEB_DIR: `campus serve web` serves the dashboard, so it needs the dashboard's \
         directory (build it with `make web`)"
    );
    let server = Server::new(
        settings.server,
        Registry::new(),
        campus_proto::FILE_DESCRIPTOR_SET,
    )
    .await?;
    server.health().set_serving().await;
    Ok(server)
}

/// What runs beside the server: readiness, the revocation follower and the outbox relay.
struct Background {
    store: Store,
    role: Role,
    revocations: Arc<Revocations>,
    /// `CAMPUS_JWT_MAX_TTL`: how far back revocations matter.
    max_ttl: Duration,
    health: Health,
}

/// Readiness, then the outbox relay until `stop_relay` completes. SERVING is reported once
/// the dependencies answer and every revocation still retained has been read (without Redis,
/// after putting those younger than `max_ttl` back on the in-process feed from the outbox),
/// so a process that starts late never serves a session revoked before it started.
async fn run_background(
    background: Background,
    stop_follower: impl Future<Output = ()> + Send + 'static,
    stop_relay: impl Future<Output = ()> + Send,
) {
    let Background {
        store,
        role,
        revocations,
        max_ttl,
        health,
    } = background;
    tokio::pin!(stop_relay);
    tokio::select! {
        () = &mut stop_relay => return,
        () = dependencies_answer(store.database.clone(), store.redis.clone(), role) => {}
    }
    let relay = store.relay();
    match relay
        .restore_sent(campus_store::revocations::FAMILY, max_ttl)
        .await
    {
        Ok(0) => {}
        Ok(restored) => tracing::info!(restored, "revocations restored from the outbox"),
        Err(error) => tracing::error!(%error, "revocations could not be restored from the outbox"),
    }
    let (caught_up, mut caught_up_changes) = tokio::sync::watch::channel(false);
    tokio::spawn(campus_store::revocations::follow(
        store.bus.clone(),
        revocations,
        caught_up,
        stop_follower,
    ));
    tokio::select! {
        () = &mut stop_relay => return,
        _ = caught_up_changes.wait_for(|caught_up| *caught_up) => {}
    }
    health.set_serving().await;
    tracing::info!("ready: reporting SERVING");
    relay.run(stop_relay).await;
}

/// Waits for the database (and Redis) to answer and migrations to apply, retrying with
/// backoff. Until the server is ready every health name reports NOT_SERVING.
async fn dependencies_answer(database: Database, redis: Option<Redis>, role: Role) {
    let mut backoff = Backoff::reconnect();
    loop {
        match dependencies_ready(&database, redis.as_ref(), role).await {
            Ok(()) => return,
            Err(error) => {
                let pause = backoff.next_pause();
                tracing::warn!(error = format!("{error:#}"), retry_in = ?pause, "not ready yet");
                tokio::time::sleep(pause).await;
            }
        }
    }
}

/// One readiness check: database answers, migrations applied, Redis answers.
async fn dependencies_ready(
    database: &Database,
    redis: Option<&Redis>,
    role: Role,
) -> anyhow::Result<()> {
    database.ping().await?;
    database.migrate(&role.migrations()).await?;
    if let Some(redis) = redis {
        redis.ping().await?;
    }
    Ok(())
}
