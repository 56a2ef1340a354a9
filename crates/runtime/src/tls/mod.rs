//! TLS with rustls and its `ring` crypto provider (no cmake at build time, which `aws-lc-rs`
//! would need): the gRPC listener's certificate, re-read when its files
//! change ([`listener`]), and the trust and identity of peer calls over `https://` ([`peer`]).
//!
//! Every error names the setting to fix.

pub mod listener;
pub mod peer;

use std::path::{Path, PathBuf};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};

pub use listener::TlsListener;

/// The listener's certificate, optional mutual TLS, and how often the files are re-read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsConfig {
    /// PEM certificate chain served on `CAMPUS_LISTEN`; with the key, turns TLS on (HTTP/2
    /// and HTTP/1.1 by ALPN). Also the client certificate of `https://` peer calls.
    #[arg(
        long = "tls-cert-file",
        env = "CAMPUS_TLS_CERT_FILE",
        value_name = "CAMPUS_TLS_CERT_FILE",
        requires = "key_file"
    )]
    pub cert_file: Option<PathBuf>,

    /// PEM private key of the certificate (PKCS#8, PKCS#1 or SEC1).
    #[arg(
        long = "tls-key-file",
        env = "CAMPUS_TLS_KEY_FILE",
        value_name = "CAMPUS_TLS_KEY_FILE",
        requires = "cert_file"
    )]
    pub key_file: Option<PathBuf>,

    /// PEM CA bundle that client certificates must chain to: turns on mutual TLS, and a
    /// client without a certificate is refused during the handshake.
    #[arg(
        long = "tls-client-ca-file",
        env = "CAMPUS_TLS_CLIENT_CA_FILE",
        value_name = "CAMPUS_TLS_CLIENT_CA_FILE",
        requires = "cert_file"
    )]
    pub client_ca_file: Option<PathBuf>,

    /// How often the certificate and key files are checked for a new version (cert-manager
    /// replaces them in place); new connections get the new one, open ones keep theirs.
    #[arg(
        long = "tls-reload-interval",
        env = "CAMPUS_TLS_RELOAD_INTERVAL",
        value_name = "CAMPUS_TLS_RELOAD_INTERVAL",
        default_value = "10s",
        value_parser = parse_reload_interval
    )]
    pub reload_interval: std::time::Duration,
}

/// The one crypto provider of every TLS configuration Campus builds: ring, which builds
/// without cmake. It has no post-quantum key exchange (aws-lc-rs has), which
/// is why rustls marks it deprecated; the trade-off is written in the README's TLS section.
#[expect(
    deprecated,
    reason = "ring is chosen for its build; see the doc comment"
)]
pub fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}

/// A duration above zero (a zero interval would never tick).
fn parse_reload_interval(value: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(value) {
        Ok(interval) if !interval.is_zero() => Ok(interval),
        Ok(_) => Err("must be longer than zero".to_owned()),
        Err(error) => Err(error.to_string()),
    }
}

/// A TLS setting that cannot be used, naming the setting.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("{setting}: reading {path}: {reason}")]
    Read {
        /// The environment variable that names the file.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A file parsed but cannot be used (no certificate, key does not match, bad CA).
    #[error("{setting}: {path}: {reason}")]
    Unusable {
        /// The environment variable that names the file.
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
}

/// The certificates of a PEM file; at least one.
pub(crate) fn read_certificates(
    setting: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|error| TlsError::Read {
            setting,
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(TlsError::Unusable {
            setting,
            path: path.to_owned(),
            reason: "no PEM certificate in the file".to_owned(),
        });
    }
    Ok(certificates)
}

/// The private key of a PEM file.
pub(crate) fn read_key(
    setting: &'static str,
    path: &Path,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|error| TlsError::Read {
        setting,
        path: path.to_owned(),
        reason: error.to_string(),
    })
}

/// A root store of the CA certificates in a PEM file.
pub(crate) fn read_roots(
    setting: &'static str,
    path: &Path,
) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in read_certificates(setting, path)? {
        roots.add(certificate).map_err(|error| TlsError::Unusable {
            setting,
            path: path.to_owned(),
            reason: format!("not a CA certificate: {error}"),
        })?;
    }
    Ok(roots)
}

/// The TLS refusal in `error`'s chain, if any (a server certificate that is expired, for
/// another name or from an unknown CA), also where it travels inside an `io::Error` (sqlx),
/// or an `Arc` of one (redis): so a backend's connection error can say which setting to fix.
pub fn tls_failure<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    type Shared = std::sync::Arc<dyn std::error::Error + Send + Sync>;
    let in_io = |error: &'a (dyn std::error::Error + 'static)| {
        error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    };
    std::iter::successors(Some(error), |error| error.source()).find_map(|error| {
        error
            .downcast_ref::<rustls::Error>()
            .or_else(|| in_io(error))
            .or_else(|| {
                error
                    .downcast_ref::<Shared>()
                    .and_then(|shared| in_io(shared.as_ref()))
            })
    })
}
