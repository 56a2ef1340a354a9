//! A PostgreSQL server of one test's own, on a port of its own, that the test can stop and
//! start again: outages cannot be rehearsed on the shared server other tests use.
//!
//! It runs the machine's PostgreSQL binaries (`/usr/lib/postgresql/<version>/bin`, Debian's
//! layout) on a fresh cluster in a temporary directory, as the `postgres` user when the test
//! runs as root (PostgreSQL refuses to run as root), with trust authentication on
//! 127.0.0.1 only. [`PrivatePostgres::start_tls`] starts one that accepts TLS connections
//! only, with a certificate the test made.

use std::{path::PathBuf, time::Duration};

use sqlx::{Connection as _, PgConnection};
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::{CertFiles, Error};

/// A private PostgreSQL server; stopped and removed on drop.
#[derive(Debug)]
pub struct PrivatePostgres {
    bin: PathBuf,
    directory: TempDir,
    port: u16,
    as_postgres: bool,
    /// TLS only, with `server.crt` and `server.key` in the data directory.
    tls: bool,
    server: Option<Child>,
}

impl PrivatePostgres {
    /// Creates a cluster and starts the server on a free port.
    pub async fn start() -> Result<Self, Error> {
        Self::start_with(None).await
    }

    /// Like [`PrivatePostgres::start`], but the server takes TLS connections only
    /// (`hostssl`; cleartext is rejected), serving `certificate`.
    pub async fn start_tls(certificate: &CertFiles) -> Result<Self, Error> {
        Self::start_with(Some(certificate)).await
    }

    async fn start_with(certificate: Option<&CertFiles>) -> Result<Self, Error> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|e| format!("no PostgreSQL server binaries under /usr/lib/postgresql: {e}"))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
            .filter(|bin| bin.join("postgres").exists())
            .max()
            .ok_or("no PostgreSQL server binaries under /usr/lib/postgresql")?;
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .await
            .is_ok_and(|output| output.stdout.trim_ascii() == b"0");
        let directory = tempfile::tempdir()?;
        if as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(directory.path()))
            .await?;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut postgres = Self {
            bin,
            directory,
            port,
            as_postgres,
            tls: certificate.is_some(),
            server: None,
        };
        let data = postgres.data();
        run(postgres.command("initdb").arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]))
        .await?;
        if let Some(certificate) = certificate {
            postgres.install_certificate(certificate).await?;
        }
        postgres.resume().await?;
        Ok(postgres)
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server at once (fast shutdown: open connections are terminated with SQLSTATE
    /// 57P01) and waits until it is down.
    pub async fn stop(&mut self) -> Result<(), Error> {
        let data = self.data();
        run(self
            .command("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(&data)
            .args(["-m", "fast", "-w"]))
        .await?;
        if let Some(mut server) = self.server.take() {
            server.wait().await?;
        }
        Ok(())
    }

    /// Starts the server again on the same port and data, and waits until it answers.
    pub async fn resume(&mut self) -> Result<(), Error> {
        let data = self.data();
        let server = self
            .command("postgres")
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.directory.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(if self.tls { &["-c", "ssl=on"][..] } else { &[] })
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        self.server = Some(server);
        let url = self.url();
        for _ in 0..300 {
            if PgConnection::connect(&url).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "the private PostgreSQL on port {} never answered",
            self.port
        )
        .into())
    }

    /// The certificate as `server.crt`/`server.key` (owned by the server's user, the key
    /// private, as PostgreSQL demands), and client authentication over TLS only.
    async fn install_certificate(&self, certificate: &CertFiles) -> Result<(), Error> {
        use std::os::unix::fs::PermissionsExt as _;
        let data = self.data();
        std::fs::copy(&certificate.cert, data.join("server.crt"))?;
        std::fs::copy(&certificate.key, data.join("server.key"))?;
        std::fs::set_permissions(
            data.join("server.key"),
            std::fs::Permissions::from_mode(0o600),
        )?;
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all all reject\n",
        )?;
        if self.as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(data.join("server.crt"))
                .arg(data.join("server.key"))
                .arg(data.join("pg_hba.conf")))
            .await?;
        }
        Ok(())
    }

    fn data(&self) -> PathBuf {
        self.directory.path().join("data")
    }

    /// A PostgreSQL program, run as the `postgres` user when this process is root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }
}

impl Drop for PrivatePostgres {
    /// Stops a running server (immediate shutdown), so nothing outlives the test; blocking,
    /// as drop cannot wait otherwise.
    fn drop(&mut self) {
        if self.server.is_some() {
            let stop = self.command("pg_ctl");
            let mut stop = stop.into_std();
            let _ = stop
                .arg("stop")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w"])
                .output();
        }
    }
}

/// Runs a set-up command to completion; its output on failure.
async fn run(command: &mut Command) -> Result<(), Error> {
    let output = command.output().await?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{:?} failed: {}{}",
        command.as_std().get_program(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
    .into())
}
