//! How calls to `https://` peers trust the server (`CAMPUS_PEER_CA_FILE`, else the system's
//! CA certificates) and which certificate they present under mutual TLS (the process's own,
//! `CAMPUS_TLS_CERT_FILE`/`CAMPUS_TLS_KEY_FILE`).

use std::path::Path;

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
