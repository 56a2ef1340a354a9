//! Shared set-up for the runtime's integration tests: configuration, listeners, and small
//! users-service implementations that exercise the server (the real users service lives in
//! its own crate; the runtime must not depend on it).

#![allow(dead_code, unreachable_pub)]

use std::{net::SocketAddr, sync::Arc, time::Duration};

use campus_proto::users::{
    GetSchoolRequest, GetSchoolResponse, School,
    get_school_request::Key,
    users_service_client::UsersServiceClient,
    users_service_server::{UsersService, UsersServiceServer},
};
use campus_runtime::{
    client::{Peer, PeerChannel},
    config::ServerConfig,
    retry::Retries,
    server::Server,
};
use clap::Parser as _;
use tokio::{net::TcpListener, sync::Notify};
use tonic::{Request, Response, Status};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, clap::Parser)]
struct Flags {
    #[command(flatten)]
    server: ServerConfig,
}

/// Server configuration from command-line style flags (defaults for the rest).
pub fn server_config(flags: &[&str]) -> Result<ServerConfig, Error> {
    let args = std::iter::once("test").chain(flags.iter().copied());
    Ok(Flags::try_parse_from(args)?.server)
}

/// Two listeners on port 0: gRPC and admin.
pub async fn listeners() -> Result<(TcpListener, TcpListener, SocketAddr), Error> {
    let grpc = TcpListener::bind("127.0.0.1:0").await?;
    let admin = TcpListener::bind("127.0.0.1:0").await?;
    let addr = grpc.local_addr()?;
    Ok((grpc, admin, addr))
}

/// A server with the runtime's layers and the given users implementation, SERVING.
pub async fn server_with<S: UsersService>(config: ServerConfig, users: S) -> Result<Server, Error> {
    let mut server = Server::new(
        config,
        prometheus::Registry::new(),
        campus_proto::FILE_DESCRIPTOR_SET,
    )
    .await?;
    server.add_service(UsersServiceServer::new(users)).await;
    server.health().set_serving().await;
    Ok(server)
}

fn school_id(request: Request<GetSchoolRequest>) -> String {
    match request.into_inner().key {
        Some(Key::SchoolId(id)) => id,
        Some(Key::Slug(slug)) => slug,
        None => String::new(),
    }
}

/// Answers GetSchool after a delay, to hold a call in flight.
#[derive(Debug, Clone)]
pub struct SlowSchools(pub Duration);

#[tonic::async_trait]
impl UsersService for SlowSchools {
    async fn get_school(
        &self,
        request: Request<GetSchoolRequest>,
    ) -> Result<Response<GetSchoolResponse>, Status> {
        tokio::time::sleep(self.0).await;
        Ok(Response::new(GetSchoolResponse {
            school: Some(School {
                id: school_id(request),
                ..School::default()
            }),
        }))
    }
}

/// Holds every GetSchool call until the test releases it, and tells the test when a call
/// has reached the handler: a test can hold a call in flight without guessing how long the
/// call takes to arrive on a busy machine.
#[derive(Debug, Clone, Default)]
pub struct GatedSchools {
    entered: Arc<Notify>,
    release: Arc<Notify>,
}

impl GatedSchools {
    /// Waits until a call has reached the handler.
    pub async fn entered(&self) {
        self.entered.notified().await;
    }

    /// Lets the held call (or the next one to arrive) answer.
    pub fn release(&self) {
        self.release.notify_one();
    }
}

#[tonic::async_trait]
impl UsersService for GatedSchools {
    async fn get_school(
        &self,
        request: Request<GetSchoolRequest>,
    ) -> Result<Response<GetSchoolResponse>, Status> {
        self.entered.notify_one();
        self.release.notified().await;
        Ok(Response::new(GetSchoolResponse {
            school: Some(School {
                id: school_id(request),
                ..School::default()
            }),
        }))
    }
}

/// Answers GetSchool by asking the users peer for the same school: a service calling
/// another through [`Peer`], as Campus's services do.
#[derive(Debug, Clone)]
pub struct ForwardingSchools(pub Peer);

impl ForwardingSchools {
    /// Forwards to the users service on `channel`.
    pub fn to(channel: PeerChannel) -> Self {
        Self(Peer::new(
            "campus.users.v1.UsersService",
            channel,
            Retries::default(),
        ))
    }
}

#[tonic::async_trait]
impl UsersService for ForwardingSchools {
    async fn get_school(
        &self,
        request: Request<GetSchoolRequest>,
    ) -> Result<Response<GetSchoolResponse>, Status> {
        let school_id = school_id(request);
        Ok(self
            .0
            .idempotent("GetSchool", |channel| {
                let key = Some(Key::SchoolId(school_id.clone()));
                async move {
                    UsersServiceClient::new(channel)
                        .get_school(GetSchoolRequest { key })
                        .await
                }
            })
            .await?)
    }
}

/// Answers GetSchool with the `grpc-timeout` it received as the school's name, so a test
/// can see the deadline a caller propagated.
#[derive(Debug, Clone)]
pub struct TimeoutEcho;

#[tonic::async_trait]
impl UsersService for TimeoutEcho {
    async fn get_school(
        &self,
        request: Request<GetSchoolRequest>,
    ) -> Result<Response<GetSchoolResponse>, Status> {
        let timeout = request
            .metadata()
            .get("grpc-timeout")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(Response::new(GetSchoolResponse {
            school: Some(School {
                name: timeout,
                ..School::default()
            }),
        }))
    }
}

/// A connected users client for `addr`.
pub async fn users_client(
    addr: SocketAddr,
) -> Result<UsersServiceClient<tonic::transport::Channel>, Error> {
    Ok(UsersServiceClient::connect(format!("http://{addr}")).await?)
}

/// A GetSchool request for `id`.
pub fn get_school(id: &str) -> GetSchoolRequest {
    GetSchoolRequest {
        key: Some(Key::SchoolId(id.to_owned())),
    }
}
