//! The baseline: a bare tonic server with one trivial unary method (`grpc.health.v1.Health/
//! Check` answering SERVING) and nothing else: no auth, tracing, metrics, limits or database.
//! Every scenario's throughput is reported as a ratio to it, measured in the same run.

use std::future::Future;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};
use tonic_health::pb::{
    HealthCheckRequest, HealthCheckResponse,
    health_check_response::ServingStatus,
    health_server::{Health, HealthServer},
};

/// Answers every check with SERVING.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trivial;

#[tonic::async_trait]
impl Health for Trivial {
    async fn check(
        &self,
        _request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse {
            status: ServingStatus::Serving as i32,
        }))
    }

    type WatchStream = futures::stream::Empty<Result<HealthCheckResponse, Status>>;

    async fn watch(
        &self,
        _request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("the baseline only answers Check"))
    }
}

/// Serves the baseline on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_service(HealthServer::new(Trivial))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}
