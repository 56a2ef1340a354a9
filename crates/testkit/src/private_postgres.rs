//! A PostgreSQL server of one test's own, on a port of its own, that the test can stop and
//! start again: outages cannot be rehearsed on the shared server other tests use.
//!
//! It runs the machine's PostgreSQL binaries (`/usr/lib/postgresql/<version>/bin`, Debian's
//! layout) on a fresh cluster in a temporary directory, as the `postgres` user when the test
//! runs as root (PostgreSQL refuses to run as root), with trust authentication on
//! 127.0.0.1 only.

use std::{path::PathBuf, time::Duration};

use sqlx::{Connection as _, PgConnection};
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::Error;

/// A private PostgreSQL server; stopped and removed on drop.
#[derive(Debug)]
pub struct PrivatePostgres {
    bin: PathBuf,
    directory: TempDir,
    port: u16,
    as_postgres: bool,
    server: Option<Child>,
}

impl PrivatePostgres {
    /// Creates a cluster and starts the server on a free port.
    pub async fn start() -> Result<Self, Error> {
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
        postgres.resume().await?;
        Ok(postgres)
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
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
