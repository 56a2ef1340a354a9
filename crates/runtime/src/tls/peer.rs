//! How calls to `https://` peers trust the server (`CAMPUS_PEER_CA_FILE`, else the system's
//! CA certificates) and which certificate they present under mutual TLS (the process's own,
//! `CAMPUS_TLS_CERT_FILE`/`CAMPUS_TLS_KEY_FILE`, re-read when it changes as the listener's is).

use std::path::{Path, PathBuf};

use tokio::sync::watch;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use super::{PemFile, SETTING_CERT, SETTING_KEY, SETTING_PEER_CA, TlsConfig, TlsError};

/// The TLS settings of peer channels, with the files checked now rather than at the first
/// call. The server name checked is each peer's host name (set per channel).
pub fn client_tls(
    ca_file: Option<&Path>,
    identity: &TlsConfig,
) -> Result<ClientTlsConfig, TlsError> {
    let tls = match ca_file {
        Some(path) => {
            let ca = PemFile::read(SETTING_PEER_CA, path)?;
            ca.certificates()?;
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.bytes))
        }
        None => ClientTlsConfig::new().with_native_roots(),
    };
    Ok(match (&identity.cert_file, &identity.key_file) {
        (Some(cert_file), Some(key_file)) => {
            let cert = PemFile::read(SETTING_CERT, cert_file)?;
            let key = PemFile::read(SETTING_KEY, key_file)?;
            cert.certificates()?;
            key.key()?;
            tls.identity(Identity::from_pem(cert.bytes, key.bytes))
        }
        _ => tls,
    })
}

/// The TLS settings of peer channels, kept current: when the process's certificate or key
/// file changes (checked every `CAMPUS_TLS_RELOAD_INTERVAL`), new peer connections present the
/// new certificate, as new connections to the listener are served it.
#[derive(Debug, Clone)]
pub struct PeerTls(watch::Receiver<ClientTlsConfig>);

impl PeerTls {
    /// Reads the files now (an unusable one is an error naming its setting) and, with a
    /// certificate to present and a runtime to run on, watches them until every copy of this
    /// value is dropped.
    pub fn load(ca_file: Option<&Path>, identity: &TlsConfig) -> Result<Self, TlsError> {
        let (sender, receiver) = watch::channel(client_tls(ca_file, identity)?);
        if let (Some(cert_file), Some(key_file), Ok(runtime)) = (
            &identity.cert_file,
            &identity.key_file,
            tokio::runtime::Handle::try_current(),
        ) {
            let watched = Watched {
                ca_file: ca_file.map(Path::to_path_buf),
                identity: identity.clone(),
                contents: contents(cert_file, key_file),
            };
            runtime.spawn(reload(watched, sender));
        }
        Ok(Self(receiver))
    }

    /// The settings new peer connections use now.
    pub fn current(&self) -> ClientTlsConfig {
        self.0.borrow().clone()
    }

    /// Resolves when the settings change; `false` once they never will.
    pub async fn changed(&mut self) -> bool {
        self.0.changed().await.is_ok()
    }
}

/// The files a [`PeerTls`] watches and what they held last.
struct Watched {
    ca_file: Option<PathBuf>,
    identity: TlsConfig,
    contents: Option<(Vec<u8>, Vec<u8>)>,
}

/// The certificate and key files' bytes, `None` while either cannot be read.
fn contents(cert_file: &Path, key_file: &Path) -> Option<(Vec<u8>, Vec<u8>)> {
    Some((
        std::fs::read(cert_file).ok()?,
        std::fs::read(key_file).ok()?,
    ))
}

/// Re-reads the certificate and key every reload interval and publishes new settings when
/// they changed and are usable; a half-written or broken pair is logged and the previous
/// settings are kept.
async fn reload(mut watched: Watched, sender: watch::Sender<ClientTlsConfig>) {
    let (Some(cert_file), Some(key_file)) = (
        watched.identity.cert_file.clone(),
        watched.identity.key_file.clone(),
    ) else {
        return;
    };
    let mut ticks = tokio::time::interval(watched.identity.reload_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = sender.closed() => return,
            _ = ticks.tick() => {}
        }
        let now = contents(&cert_file, &key_file);
        if now.is_none() || now == watched.contents {
            continue;
        }
        match client_tls(watched.ca_file.as_deref(), &watched.identity) {
            Ok(tls) => {
                tracing::info!(cert_file = %cert_file.display(), "peer calls present the new certificate");
                watched.contents = now;
                sender.send_replace(tls);
            }
            Err(error) => {
                tracing::warn!(%error, "the new certificate is not usable yet; peer calls keep the previous one");
            }
        }
    }
}
