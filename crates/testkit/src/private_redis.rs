//! A Redis server of one test's own, on a port of its own, that the test can stop: an outage
//! cannot be rehearsed on the shared server other tests use. It runs the machine's
//! `redis-server` without persistence.

use std::time::Duration;

use tokio::process::{Child, Command};

use crate::Error;

/// A private Redis server; killed on drop.
#[derive(Debug)]
pub struct PrivateRedis {
    port: u16,
    server: Option<Child>,
}

impl PrivateRedis {
    /// Starts `redis-server` on a free port and waits until it answers.
    pub async fn start() -> Result<Self, Error> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let server = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting redis-server (Debian's redis-server package): {e}"))?;
        let redis = Self {
            port,
            server: Some(server),
        };
        let client = redis::Client::open(redis.url())?;
        for _ in 0..300 {
            if let Ok(mut connection) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut connection)
                    .await
                    .is_ok()
            {
                return Ok(redis);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!("the private Redis on port {port} never answered").into())
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server at once (connections are closed, new ones refused).
    pub async fn stop(&mut self) -> Result<(), Error> {
        if let Some(mut server) = self.server.take() {
            server.kill().await?;
        }
        Ok(())
    }
}
