//! Clients for peer services: lazily connected channels whose calls carry the caller's trace
//! context, the caller's credentials (so the peer applies the same tenant checks), and no
//! more time than the call being served has left.

use std::{collections::HashSet, net::SocketAddr, time::Duration};

use http::Uri;
use tokio::time::Instant;

use tonic::{
    Code, Request, Status,
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, ClientTlsConfig, Endpoint, channel::Change},
};

use tracing::Instrument as _;

use crate::{
    call_context::current_deadline,
    config::PeersConfig,
    failure::Failure,
    in_process::{InProcess, PeerTransport},
    propagation,
    retry::Retries,
    tls::{TlsConfig, TlsError, peer::PeerTls},
};

/// A channel to a peer service, ready to wrap in that peer's generated client.
pub type PeerChannel = InterceptedService<PeerTransport, PeerInterceptor>;

/// A peer service: its name, the channel to it and the retry budget of the calls made to it.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The gRPC service, `campus.users.v1.UsersService`: the `rpc.service` of client spans.
    service: &'static str,
    channel: PeerChannel,
    retries: Retries,
}

impl Peer {
    /// The peer serving the gRPC `service`, reached over `channel`, retrying within `retries`
    /// (shared by every handle on the same peer service).
    pub fn new(service: &'static str, channel: PeerChannel, retries: Retries) -> Self {
        Self {
            service,
            channel,
            retries,
        }
    }

    /// The name failures are reported under: the package's service part (`users` of
    /// `campus.users.v1.UsersService`).
    fn name(&self) -> &'static str {
        self.service.split('.').nth(1).unwrap_or(self.service)
    }

    /// The channel, for a generated client.
    pub fn channel(&self) -> PeerChannel {
        self.channel.clone()
    }

    /// Runs an idempotent call (a read) of `method` on the peer, retried on UNAVAILABLE
    /// within the peer's budget and the deadline of the call being served (see
    /// [`crate::retry`]), in a client span that carries its outcome (OpenTelemetry's RPC
    /// conventions). A status the peer answers is classified by [`Failure::peer`]: the caller
    /// never forwards a peer's status as its own.
    pub async fn idempotent<T, F, Fut>(
        &self,
        method: &'static str,
        mut call: F,
    ) -> Result<T, Failure>
    where
        F: FnMut(PeerChannel) -> Fut,
        Fut: std::future::Future<Output = Result<T, Status>>,
    {
        let span = tracing::info_span!(
            "grpc.client",
            otel.name = format_args!("{}/{method}", self.service),
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            rpc.system = "grpc",
            rpc.service = self.service,
            rpc.method = method,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        let answer = self
            .retries
            .idempotent(|| call(self.channel.clone()))
            .instrument(span.clone())
            .await;
        let code = answer.as_ref().map_or_else(Status::code, |_| Code::Ok);
        crate::telemetry::record_outcome(&span, code, false);
        answer.map_err(|status| Failure::peer(self.name(), status))
    }
}

/// Adds trace context, the caller's `authorization` and the remaining deadline to every
/// outgoing call.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeerInterceptor;

impl Interceptor for PeerInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(deadline) = current_deadline() {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(Status::deadline_exceeded(
                    "the deadline of the call being served has passed",
                ));
            }
            // A shorter timeout the caller set on this request wins.
            let own = request
                .metadata()
                .get("grpc-timeout")
                .and_then(|value| value.to_str().ok())
                .and_then(crate::call_context::parse_grpc_timeout);
            request.set_timeout(own.map_or(remaining, |own| own.min(remaining)));
        }
        if !request.metadata().contains_key("authorization")
            && let Some(authorization) = crate::call_context::current_authorization()
            && let Ok(value) = tonic::metadata::MetadataValue::try_from(authorization.as_bytes())
        {
            request.metadata_mut().insert("authorization", value);
        }
        propagation::inject_current(request.metadata_mut());
        Ok(request)
    }
}

/// How often a peer's DNS name is resolved again, so new replicas get calls and gone ones
/// stop getting them.
const RERESOLVE_EVERY: Duration = Duration::from_secs(5);

/// An endpoint to `uri` with the peer connection settings; over `https://` with `tls`,
/// checking the certificate against `server_name` (the peer's host name, also when `uri`
/// holds one of its addresses).
fn endpoint(uri: Uri, tls: Option<&ClientTlsConfig>, server_name: &str) -> Endpoint {
    let https = uri.scheme_str() == Some("https");
    let endpoint = Endpoint::from(uri)
        .connect_timeout(Duration::from_secs(2))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10));
    match tls {
        Some(tls) if https => endpoint
            .tls_config(tls.clone().domain_name(server_name))
            .unwrap_or_else(|error| {
                // Only an http:// URI can refuse a TLS configuration, and this one is https.
                unreachable!("TLS on an https endpoint: {error}")
            }),
        _ => endpoint,
    }
}

/// A channel to a peer. A DNS name (a Kubernetes headless Service) is resolved now and every
/// 5 s, an IP address is taken as it is; each address gets its own connection and calls are
/// balanced across them by power of two choices on in-flight requests, so one long-lived
/// HTTP/2 connection does not pin every call to one replica. `https://` peers are reached over
/// TLS as `tls` says; when its certificate changes, every address's connection is made anew
/// with the new one.
pub fn peer_channel(uri: Uri, tls: Option<&PeerTls>) -> PeerChannel {
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_matches(|c| c == '[' || c == ']')
        .to_owned();
    if tokio::runtime::Handle::try_current().is_err() {
        let tls = tls.map(PeerTls::current);
        return InterceptedService::new(
            PeerTransport::Network(endpoint(uri, tls.as_ref(), &host).connect_lazy()),
            PeerInterceptor,
        );
    }
    let (channel, changes) = Channel::balance_channel::<SocketAddr>(64);
    tokio::spawn(follow_peer(uri, host, tls.cloned(), changes));
    InterceptedService::new(PeerTransport::Network(channel), PeerInterceptor)
}

/// The addresses `host` stands for now: itself when it is an IP address, else what DNS
/// answers (an error is logged and answers none).
async fn addresses_of(host: &str, port: u16) -> HashSet<SocketAddr> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return HashSet::from([SocketAddr::new(ip, port)]);
    }
    match tokio::net::lookup_host((host, port)).await {
        Ok(addresses) => addresses.collect(),
        Err(error) => {
            tracing::warn!(%error, host, "cannot resolve a peer; keeping its known addresses");
            HashSet::new()
        }
    }
}

/// Keeps the balanced channel's endpoints equal to the addresses `host` stands for, with the
/// current TLS settings; ends when the channel is dropped.
async fn follow_peer(
    uri: Uri,
    host: String,
    mut tls: Option<PeerTls>,
    changes: tokio::sync::mpsc::Sender<Change<SocketAddr, Endpoint>>,
) {
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let scheme = uri.scheme_str().unwrap_or("http").to_owned();
    let endpoint_of = |address: SocketAddr, tls: Option<&ClientTlsConfig>| {
        format!("{scheme}://{address}")
            .parse::<Uri>()
            .ok()
            .map(|address_uri| endpoint(address_uri, tls, &host))
    };
    let mut current: HashSet<SocketAddr> = HashSet::new();
    let mut tls_changed = false;
    loop {
        let settings = tls.as_ref().map(PeerTls::current);
        let resolved = addresses_of(&host, port).await;
        let found = changes_between(&current, &resolved);
        if !resolved.is_empty() {
            current = resolved;
        }
        // New addresses get a connection; after a new certificate, every address gets a new
        // one that presents it.
        let mut sends: Vec<Change<SocketAddr, Endpoint>> = Vec::new();
        let inserted: Vec<SocketAddr> = if tls_changed {
            current.iter().copied().collect()
        } else {
            found
                .iter()
                .filter_map(|change| match change {
                    Change::Insert(address, ()) => Some(*address),
                    Change::Remove(_) => None,
                })
                .collect()
        };
        for address in inserted {
            if let Some(endpoint) = endpoint_of(address, settings.as_ref()) {
                sends.push(Change::Insert(address, endpoint));
            }
        }
        for change in found {
            if let Change::Remove(address) = change {
                sends.push(Change::Remove(address));
            }
        }
        for change in sends {
            if changes.send(change).await.is_err() {
                return;
            }
        }
        tls_changed = tokio::select! {
            () = tokio::time::sleep(RERESOLVE_EVERY) => false,
            changed = async {
                // Settings that will never change again (no certificate to watch) wait forever.
                let changed = match tls.as_mut() {
                    Some(tls) => tls.changed().await,
                    None => false,
                };
                if !changed {
                    std::future::pending::<()>().await;
                }
                true
            } => changed,
        };
        if changes.is_closed() {
            return;
        }
    }
}

/// The changes that turn the `current` set of addresses into `resolved`. An empty answer
/// removes nothing: a failed lookup must not take every replica away.
fn changes_between(
    current: &HashSet<SocketAddr>,
    resolved: &HashSet<SocketAddr>,
) -> Vec<Change<SocketAddr, ()>> {
    if resolved.is_empty() {
        return Vec::new();
    }
    let mut changes: Vec<Change<SocketAddr, ()>> = resolved
        .difference(current)
        .map(|address| Change::Insert(*address, ()))
        .collect();
    changes.extend(
        current
            .difference(resolved)
            .map(|address| Change::Remove(*address)),
    );
    changes
}

/// How this process reaches each peer service: the configured address, or, where none is
/// configured, this process itself (all-in-one mode serves every peer). Calls to itself go
/// through its own server stack ([`InProcess`]), so tracing, deadlines and auth behave as in
/// the mesh without a loopback socket.
#[derive(Debug, Clone)]
pub struct Peers {
    configured: PeersConfig,
    /// How `https://` peers are reached.
    tls: PeerTls,
    own: InProcess,
    /// One retry budget per peer service, whoever in the process calls it.
    retries: [Retries; 4],
}

impl Peers {
    /// The peers from configuration; the others are this process, served in process once
    /// the server installs its stack in [`Peers::own`]. `identity` is the certificate
    /// `https://` peer calls present under mutual TLS.
    pub fn resolve(config: &PeersConfig, identity: &TlsConfig) -> Result<Self, TlsError> {
        Ok(Self {
            configured: config.clone(),
            tls: PeerTls::load(config.ca_file.as_deref(), identity)?,
            own: InProcess::default(),
            retries: Default::default(),
        })
    }

    /// This process's stack, for the server to install ([`crate::server::Server::serve_peers_in_process`]).
    pub fn own(&self) -> InProcess {
        self.own.clone()
    }

    /// Each peer's configured address, `None` where it falls back to this process.
    pub fn addresses(&self) -> [(&'static str, Option<&Uri>); 4] {
        [
            ("users", self.configured.users.as_ref()),
            ("courses", self.configured.courses.as_ref()),
            ("progress", self.configured.progress.as_ref()),
            ("finance", self.configured.finance.as_ref()),
        ]
    }

    /// The users service.
    pub fn users(&self) -> Peer {
        self.peer(
            "campus.users.v1.UsersService",
            self.configured.users.as_ref(),
            0,
        )
    }

    /// The courses service.
    pub fn courses(&self) -> Peer {
        self.peer(
            "campus.courses.v1.CoursesService",
            self.configured.courses.as_ref(),
            1,
        )
    }

    /// The progress service.
    pub fn progress(&self) -> Peer {
        self.peer(
            "campus.progress.v1.ProgressService",
            self.configured.progress.as_ref(),
            2,
        )
    }

    /// The finance service.
    pub fn finance(&self) -> Peer {
        self.peer(
            "campus.finance.v1.FinanceService",
            self.configured.finance.as_ref(),
            3,
        )
    }

    fn peer(&self, service: &'static str, configured: Option<&Uri>, index: usize) -> Peer {
        let channel = match configured {
            Some(uri) => peer_channel(uri.clone(), Some(&self.tls)),
            None => {
                InterceptedService::new(PeerTransport::InProcess(self.own.clone()), PeerInterceptor)
            }
        };
        Peer::new(service, channel, self.retries[index].clone())
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::Peers;
    use crate::{config::PeersConfig, tls::TlsConfig};

    #[test]
    fn dns_changes_add_new_addresses_and_remove_gone_ones() {
        use std::collections::HashSet;

        use tonic::transport::channel::Change;

        let a: SocketAddr = ([10, 0, 0, 1], 50051).into();
        let b: SocketAddr = ([10, 0, 0, 2], 50051).into();
        let c: SocketAddr = ([10, 0, 0, 3], 50051).into();
        let current = HashSet::from([a, b]);
        let changes = super::changes_between(&current, &HashSet::from([b, c]));
        assert_eq!(changes.len(), 2);
        assert!(
            changes
                .iter()
                .any(|change| matches!(change, Change::Insert(address, ()) if *address == c))
        );
        assert!(
            changes
                .iter()
                .any(|change| matches!(change, Change::Remove(address) if *address == a))
        );
        assert!(
            super::changes_between(&current, &HashSet::new()).is_empty(),
            "a failed lookup keeps the replicas"
        );
    }

    #[tokio::test]
    async fn each_peer_is_named_after_its_package() -> Result<(), crate::tls::TlsError> {
        let peers = Peers::resolve(&PeersConfig::default(), &TlsConfig::default())?;
        let names = [
            peers.users().name(),
            peers.courses().name(),
            peers.progress().name(),
            peers.finance().name(),
        ];
        assert_eq!(names, ["users", "courses", "progress", "finance"]);
        Ok(())
    }

    #[tokio::test]
    async fn unset_peers_resolve_to_this_process() -> Result<(), crate::tls::TlsError> {
        let config = PeersConfig {
            progress: Some(http::Uri::from_static("http://progress:50051")),
            ..PeersConfig::default()
        };
        let peers = Peers::resolve(&config, &TlsConfig::default())?;
        assert!(format!("{:?}", peers.users().channel()).contains("InProcess"));
        assert!(format!("{:?}", peers.progress().channel()).contains("Network"));
        let addresses = peers.addresses();
        assert_eq!(
            addresses[2].1.map(ToString::to_string).as_deref(),
            Some("http://progress:50051/")
        );
        assert!(addresses[0].1.is_none());
        Ok(())
    }
}
