//! A Redis server of one test's own, on a port of its own, that the test can stop: an outage
//! cannot be rehearsed on the shared server other tests use. It runs the machine's
//! `redis-server` without persistence; [`PrivateRedis::start_tls`] one that speaks TLS only.

use std::{ffi::OsString, path::Path, time::Duration};

use tokio::process::{Child, Command};

use crate::{CertFiles, Error};

/// A private Redis server; killed on drop.
#[derive(Debug)]
pub struct PrivateRedis {
    port: u16,
    /// Whether it speaks TLS only (on `port`).
    tls: bool,
    /// The arguments of `redis-server`, to start it again on the same port.
    args: Vec<OsString>,
    server: Option<Child>,
}

impl PrivateRedis {
    /// Starts `redis-server` on a free port and waits until it answers.
    pub async fn start() -> Result<Self, Error> {
        Self::start_with(None).await
    }

    /// Starts a `redis-server` that speaks TLS only, serving `certificate` (Debian's Redis 7
    /// is built with TLS); clients trust `ca_file`. Its URL is `rediss://localhost:<port>`.
    pub async fn start_tls(certificate: &CertFiles, ca_file: &Path) -> Result<Self, Error> {
        Self::start_with(Some((certificate, ca_file))).await
    }

    async fn start_with(tls: Option<(&CertFiles, &Path)>) -> Result<Self, Error> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut args: Vec<OsString> = vec!["--bind".into(), "127.0.0.1".into()];
        match tls {
            Some((certificate, ca_file)) => {
                args.extend([
                    "--port".into(),
                    "0".into(),
                    "--tls-port".into(),
                    port.to_string().into(),
                    "--tls-cert-file".into(),
                    certificate.cert.clone().into(),
                    "--tls-key-file".into(),
                    certificate.key.clone().into(),
                    "--tls-ca-cert-file".into(),
                    ca_file.into(),
                    "--tls-auth-clients".into(),
                    "no".into(),
                ]);
            }
            None => args.extend(["--port".into(), port.to_string().into()]),
        }
        args.extend(["--save", "", "--appendonly", "no"].map(OsString::from));
        let mut redis = Self {
            port,
            tls: tls.is_some(),
            args,
            server: None,
        };
        redis.resume().await?;
        Ok(redis)
    }

    /// Starts the server again on its port after [`PrivateRedis::stop`], empty (it keeps
    /// nothing on disk), and waits until it answers.
    pub async fn resume(&mut self) -> Result<(), Error> {
        let server = Command::new("redis-server")
            .args(&self.args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting redis-server (Debian's redis-server package): {e}"))?;
        self.server = Some(server);
        let client = redis::Client::open(self.url())?;
        for _ in 0..300 {
            // Under TLS, listening is enough: tests also serve certificates no client accepts.
            let answers = if self.tls {
                tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                    .await
                    .is_ok()
            } else if let Ok(mut connection) = client.get_multiplexed_async_connection().await {
                redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
                    .is_ok()
            } else {
                false
            };
            if answers {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!("the private Redis on port {} never answered", self.port).into())
    }

    /// `redis://127.0.0.1:<port>`, or `rediss://localhost:<port>` under TLS.
    pub fn url(&self) -> String {
        if self.tls {
            format!("rediss://localhost:{}", self.port)
        } else {
            format!("redis://127.0.0.1:{}", self.port)
        }
    }

    /// Stops the server at once (connections are closed, new ones refused).
    pub async fn stop(&mut self) -> Result<(), Error> {
        if let Some(mut server) = self.server.take() {
            server.kill().await?;
        }
        Ok(())
    }
}
