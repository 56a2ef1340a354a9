//! The server and the user a client command (`campus finance import`, `campus courses
//! upload`) calls as: one pair of flags and one way to connect, for every such command.

use anyhow::Context as _;
use campus_runtime::bearer::{Bearer, BearerChannel};

/// Where a client command connects and whose token it carries.
#[derive(Debug, Clone, clap::Args)]
pub struct Remote {
    /// The Campus server.
    #[arg(
        long,
        env = "CAMPUS_ADDR",
        value_name = "CAMPUS_ADDR",
        default_value = "http://127.0.0.1:50051"
    )]
    pub addr: String,
    /// The calling user's access token.
    #[arg(
        long,
        env = "CAMPUS_TOKEN",
        value_name = "CAMPUS_TOKEN",
        hide_env_values = true
    )]
    pub token: String,
}

impl Remote {
    /// A connected channel whose calls carry the token.
    pub async fn channel(&self) -> anyhow::Result<BearerChannel> {
        let channel = tonic::transport::Channel::from_shared(self.addr.clone())
            .with_context(|| format!("CAMPUS_ADDR: {:?} is not a URL", self.addr))?
            .connect()
            .await
            .with_context(|| format!("CAMPUS_ADDR: connecting to {}", self.addr))?;
        Ok(Bearer::new(&self.token)
            .context("CAMPUS_TOKEN is not a valid header value")?
            .on(channel))
    }
}
