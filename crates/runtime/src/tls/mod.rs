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

/// The settings that name TLS files, as error messages name them.
pub(crate) const SETTING_CERT: &str = "CAMPUS_TLS_CERT_FILE";
/// See [`SETTING_CERT`].
pub(crate) const SETTING_KEY: &str = "CAMPUS_TLS_KEY_FILE";
/// See [`SETTING_CERT`].
pub(crate) const SETTING_CLIENT_CA: &str = "CAMPUS_TLS_CLIENT_CA_FILE";
/// See [`SETTING_CERT`].
pub(crate) const SETTING_PEER_CA: &str = "CAMPUS_PEER_CA_FILE";

/// A PEM file a setting names, read once: its bytes, and what they hold, with every error
/// naming the setting and the file.
pub(crate) struct PemFile<'a> {
    setting: &'static str,
    path: &'a Path,
    /// The file's contents.
    pub(crate) bytes: Vec<u8>,
}

impl<'a> PemFile<'a> {
    /// Reads the file `setting` names.
    pub(crate) fn read(setting: &'static str, path: &'a Path) -> Result<Self, TlsError> {
        let bytes = std::fs::read(path).map_err(|error| TlsError::Read {
            setting,
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
        Ok(Self {
            setting,
            path,
            bytes,
        })
    }

    /// The certificates in the file; at least one.
    pub(crate) fn certificates(&self) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let certificates = CertificateDer::pem_slice_iter(&self.bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| self.unreadable(error))?;
        if certificates.is_empty() {
            return Err(self.unusable("no PEM certificate in the file"));
        }
        Ok(certificates)
    }

    /// The private key in the file.
    pub(crate) fn key(&self) -> Result<PrivateKeyDer<'static>, TlsError> {
        PrivateKeyDer::from_pem_slice(&self.bytes).map_err(|error| self.unreadable(error))
    }

    /// A root store of the CA certificates in the file.
    pub(crate) fn roots(&self) -> Result<rustls::RootCertStore, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for certificate in self.certificates()? {
            roots
                .add(certificate)
                .map_err(|error| self.unusable(format!("not a CA certificate: {error}")))?;
        }
        Ok(roots)
    }

    /// The file parsed but cannot be used, for `reason`.
    pub(crate) fn unusable(&self, reason: impl std::fmt::Display) -> TlsError {
        TlsError::Unusable {
            setting: self.setting,
            path: self.path.to_owned(),
            reason: reason.to_string(),
        }
    }

    fn unreadable(&self, reason: impl std::fmt::Display) -> TlsError {
        TlsError::Read {
            setting: self.setting,
            path: self.path.to_owned(),
            reason: reason.to_string(),
        }
    }
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
