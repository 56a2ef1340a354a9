//! The TLS side of the gRPC listener: handshakes off the accept loop, ALPN `h2` and
//! `http/1.1` (browsers get HTTP/2; grpc-web still works over HTTP/1.1), optional client
//! certificates, and a certificate that is re-read when its files change.

use std::{
    path::PathBuf,
    sync::{Arc, RwLock},
    time::Duration,
};

use rustls::{
    server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier},
    sign::CertifiedKey,
};
use tokio::{net::TcpStream, sync::mpsc};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tokio_stream::{StreamExt as _, wrappers::ReceiverStream};

use crate::accept::Connections;

use super::{PemFile, SETTING_CERT, SETTING_CLIENT_CA, SETTING_KEY, TlsConfig, TlsError, provider};

/// How long a client has to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts TLS connections with the configured certificate, reloading it as it changes.
#[derive(Clone)]
pub struct TlsListener {
    acceptor: TlsAcceptor,
    certificate: Arc<ReloadingCertificate>,
    reload_interval: Duration,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener")
            .field("cert_file", &self.certificate.cert_file)
            .field("reload_interval", &self.reload_interval)
            .finish_non_exhaustive()
    }
}

impl TlsListener {
    /// The listener `config` describes: `None` when no certificate is set (cleartext).
    pub fn from_config(config: &TlsConfig) -> Result<Option<Self>, TlsError> {
        let (Some(cert_file), Some(key_file)) = (&config.cert_file, &config.key_file) else {
            return Ok(None);
        };
        let certificate = Arc::new(ReloadingCertificate::load(
            cert_file.clone(),
            key_file.clone(),
        )?);
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Unusable {
                setting: SETTING_CERT,
                path: cert_file.clone(),
                reason: error.to_string(),
            })?;
        let builder = match &config.client_ca_file {
            Some(ca_file) => {
                let ca = PemFile::read(SETTING_CLIENT_CA, ca_file)?;
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(ca.roots()?), provider())
                        .build()
                        .map_err(|error| ca.unusable(error))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut server = builder.with_cert_resolver(certificate.clone());
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Some(Self {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            certificate,
            reload_interval: config.reload_interval,
        }))
    }

    /// The TLS connections of `tcp`, as they finish their handshakes (a slow or failed
    /// handshake holds up no other). Accepting and reloading stop when the stream is dropped.
    pub fn incoming(
        self,
        tcp: Connections,
    ) -> impl tokio_stream::Stream<Item = Result<TlsStream<TcpStream>, std::io::Error>> + Send + 'static
    {
        let (sender, receiver) = mpsc::channel(64);
        tokio::spawn(accept(tcp, self.acceptor, sender.clone()));
        tokio::spawn(reload(self.certificate, self.reload_interval, sender));
        ReceiverStream::new(receiver)
    }
}

/// Accepts TCP connections and hands each to its own handshake task.
async fn accept(
    mut tcp: Connections,
    acceptor: TlsAcceptor,
    connections: mpsc::Sender<Result<TlsStream<TcpStream>, std::io::Error>>,
) {
    loop {
        let stream = tokio::select! {
            () = connections.closed() => return,
            next = tcp.next() => match next {
                Some(Ok(stream)) => stream,
                // Logged, and paused after where it matters, by the stream itself.
                Some(Err(_)) => continue,
                None => return,
            },
        };
        let acceptor = acceptor.clone();
        let connections = connections.clone();
        tokio::spawn(async move {
            let peer = stream.peer_addr().ok();
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = connections.send(Ok(tls)).await;
                }
                Ok(Err(error)) => tracing::debug!(?peer, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(?peer, "TLS handshake timed out"),
            }
        });
    }
}

/// Re-reads the certificate files every `interval` until the listener is dropped.
async fn reload(
    certificate: Arc<ReloadingCertificate>,
    interval: Duration,
    connections: mpsc::Sender<Result<TlsStream<TcpStream>, std::io::Error>>,
) {
    let certificate = &certificate;
    crate::periodic::every(interval, connections.closed(), move || async move {
        match certificate.reload_if_changed() {
            Ok(true) => tracing::info!(
                cert_file = %certificate.cert_file.display(),
                "TLS certificate changed on disk: new connections get the new one"
            ),
            Ok(false) => {}
            Err(error) => tracing::warn!(
                %error,
                "TLS certificate files changed but cannot be used; serving the previous one"
            ),
        }
    })
    .await;
}

/// The served certificate and the file contents it was made from.
#[derive(Debug)]
struct ReloadingCertificate {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<(Vec<u8>, Arc<CertifiedKey>)>,
}

impl ReloadingCertificate {
    fn load(cert_file: PathBuf, key_file: PathBuf) -> Result<Self, TlsError> {
        let (contents, key) = certified_key(&cert_file, &key_file)?;
        Ok(Self {
            cert_file,
            key_file,
            current: RwLock::new((contents, Arc::new(key))),
        })
    }

    /// Swaps in the files' certificate if they changed; whether they did.
    fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let (contents, key) = certified_key(&self.cert_file, &self.key_file)?;
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.0 == contents {
            return Ok(false);
        }
        *current = (contents, Arc::new(key));
        Ok(true)
    }
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(current.1.clone())
    }
}

/// The certificate chain and key of the two files, checked to belong together, with the
/// files' bytes (to notice a change).
fn certified_key(
    cert_file: &std::path::Path,
    key_file: &std::path::Path,
) -> Result<(Vec<u8>, CertifiedKey), TlsError> {
    let cert = PemFile::read(SETTING_CERT, cert_file)?;
    let key = PemFile::read(SETTING_KEY, key_file)?;
    let certified = CertifiedKey::from_der(cert.certificates()?, key.key()?, &provider())
        .map_err(|error| key.unusable(error))?;
    let mut contents = cert.bytes;
    contents.extend(key.bytes);
    Ok((contents, certified))
}
