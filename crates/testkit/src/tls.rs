//! Certificates made in the test: a CA of its own and the certificates it signs (for host
//! names and addresses, valid or expired), written as PEM files next to each other.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

use crate::Error;

/// A certificate and its key as files, and the certificate's DER (to recognise it on the
/// wire).
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The PEM certificate.
    pub cert: PathBuf,
    /// The PEM private key (PKCS#8).
    pub key: PathBuf,
    /// The certificate in DER.
    pub der: Vec<u8>,
}

/// A certificate authority of one test, with its files in a temporary directory.
#[derive(Debug)]
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    dir: tempfile::TempDir,
    name: String,
}

impl TestCa {
    /// A new CA named `name`; its certificate is written to [`TestCa::ca_file`].
    pub fn new(name: &str) -> Result<Self, Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join(format!("{name}-ca.pem")), issuer.pem())?;
        Ok(Self {
            issuer,
            dir,
            name: name.to_owned(),
        })
    }

    /// The CA certificate's PEM file: what clients trust.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join(format!("{}-ca.pem", self.name))
    }

    /// The directory the files are written to.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A certificate for `hosts` (names, or IP addresses), valid now, for servers and clients,
    /// written as `<file>.pem` and `<file>-key.pem`.
    pub fn issue(&self, file: &str, hosts: &[&str]) -> Result<CertFiles, Error> {
        self.issue_with(file, hosts, |_| {})
    }

    /// Like [`TestCa::issue`], but expired since 2021.
    pub fn issue_expired(&self, file: &str, hosts: &[&str]) -> Result<CertFiles, Error> {
        self.issue_with(file, hosts, |params| {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        })
    }

    fn issue_with(
        &self,
        file: &str,
        hosts: &[&str],
        adjust: impl FnOnce(&mut CertificateParams),
    ) -> Result<CertFiles, Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, file);
        for host in hosts {
            params.subject_alt_names.push(match host.parse() {
                Ok(address) => SanType::IpAddress(address),
                Err(_) => SanType::DnsName((*host).try_into()?),
            });
        }
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        adjust(&mut params);
        let key = KeyPair::generate()?;
        let certificate = params.signed_by(&key, &self.issuer)?;
        let files = CertFiles {
            cert: self.dir.path().join(format!("{file}.pem")),
            key: self.dir.path().join(format!("{file}-key.pem")),
            der: certificate.der().to_vec(),
        };
        std::fs::write(&files.cert, certificate.pem())?;
        std::fs::write(&files.key, key.serialize_pem())?;
        Ok(files)
    }
}
