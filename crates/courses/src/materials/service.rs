//! The tonic implementation of `campus.courses.v1.MaterialsService`: each method reads the
//! verified caller and delegates to the upload or download code.

use campus_proto::courses::{
    AppendUploadRequest, AppendUploadResponse, DeleteResourceRequest, DeleteResourceResponse,
    DownloadResourceRequest, DownloadResourceResponse, FinishUploadRequest, FinishUploadResponse,
    GetDownloadUrlRequest, GetDownloadUrlResponse, GetResourceStatsRequest,
    GetResourceStatsResponse, GetUploadRequest, GetUploadResponse, ListResourcesRequest,
    ListResourcesResponse, StartUploadRequest, StartUploadResponse, UploadResourceRequest,
    UploadResourceResponse, materials_service_server::MaterialsService,
};
use campus_runtime::auth::caller;
use futures::stream::BoxStream;
use tonic::{Request, Response, Status, Streaming};

use super::Materials;

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl MaterialsService for Materials {
    async fn upload_resource(
        &self,
        request: Request<Streaming<UploadResourceRequest>>,
    ) -> Reply<UploadResourceResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.upload_stream(&caller, request.into_inner()).await?,
        ))
    }

    async fn start_upload(
        &self,
        request: Request<StartUploadRequest>,
    ) -> Reply<StartUploadResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.start_upload(&caller, request.into_inner()).await?,
        ))
    }

    async fn append_upload(
        &self,
        request: Request<AppendUploadRequest>,
    ) -> Reply<AppendUploadResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.append_upload(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_upload(&self, request: Request<GetUploadRequest>) -> Reply<GetUploadResponse> {
        let caller = caller(&request)?;
        let upload = self
            .get_upload(&caller, &request.into_inner().upload_id)
            .await?;
        Ok(Response::new(GetUploadResponse {
            upload: Some(upload),
        }))
    }

    async fn finish_upload(
        &self,
        request: Request<FinishUploadRequest>,
    ) -> Reply<FinishUploadResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.finish_upload(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_resources(
        &self,
        request: Request<ListResourcesRequest>,
    ) -> Reply<ListResourcesResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.list_resources(&caller, request.into_inner()).await?,
        ))
    }

    async fn delete_resource(
        &self,
        request: Request<DeleteResourceRequest>,
    ) -> Reply<DeleteResourceResponse> {
        let caller = caller(&request)?;
        self.delete_resource(&caller, request.into_inner()).await?;
        Ok(Response::new(DeleteResourceResponse {}))
    }

    async fn download_resource(
        &self,
        request: Request<DownloadResourceRequest>,
    ) -> Reply<BoxStream<'static, Result<DownloadResourceResponse, Status>>> {
        let caller = caller(&request)?;
        let body = request.into_inner();
        Ok(Response::new(
            self.download(&caller, &body.resource_id, body.offset)
                .await?,
        ))
    }

    async fn get_download_url(
        &self,
        request: Request<GetDownloadUrlRequest>,
    ) -> Reply<GetDownloadUrlResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.download_url(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_resource_stats(
        &self,
        request: Request<GetResourceStatsRequest>,
    ) -> Reply<GetResourceStatsResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.resource_stats(&caller, request.into_inner()).await?,
        ))
    }
}
