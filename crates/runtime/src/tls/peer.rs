//! How calls to `https://` peers trust the server (`CAMPUS_PEER_CA_FILE`, else the system's
//! CA certificates) and which certificate they present under mutual TLS (the process's own,
//! `CAMPUS_TLS_CERT_FILE`/`CAMPUS_TLS_KEY_FILE`).

use std::path::Path;

use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use super::{TlsConfig, TlsError, read_certificates, read_key};

const SETTING_PEER_CA: &str = "CAMPUS_PEER_CA_FILE";

/// The TLS settings of peer channels, with the files checked now rather than at the first
/// call. The server name checked is each peer's host name (set per channel).
pub fn client_tls(
    ca_file: Option<&Path>,
    identity: &TlsConfig,
) -> Result<ClientTlsConfig, TlsError> {
    let tls = match ca_file {
        Some(path) => {
            read_certificates(SETTING_PEER_CA, path)?;
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(read(SETTING_PEER_CA, path)?))
        }
        None => ClientTlsConfig::new().with_native_roots(),
    };
    Ok(match (&identity.cert_file, &identity.key_file) {
        (Some(cert_file), Some(key_file)) => {
            read_certificates("CAMPUS_TLS_CERT_FILE", cert_file)?;
            read_key("CAMPUS_TLS_KEY_FILE", key_file)?;
            tls.identity(Identity::from_pem(
                read("CAMPUS_TLS_CERT_FILE", cert_file)?,
                read("CAMPUS_TLS_KEY_FILE", key_file)?,
            ))
        }
        _ => tls,
    })
}

fn read(setting: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        setting,
        path: path.to_owned(),
        reason: error.to_string(),
    })
}
