//! The tonic implementation of `campus.progress.v1.ProgressService`: each method reads the
//! verified caller and delegates to lessons, attendance or watch.

use campus_proto::progress::{
    BatchGetProgressRequest, BatchGetProgressResponse, BatchMarkAttendanceRequest,
    BatchMarkAttendanceResponse, CreateAttendanceSessionRequest, CreateAttendanceSessionResponse,
    GetAttendanceSummaryRequest, GetAttendanceSummaryResponse, GetCourseProgressRequest,
    GetCourseProgressResponse, ListAttendanceRequest, ListAttendanceResponse,
    ListAttendanceSessionsRequest, ListAttendanceSessionsResponse, MarkAttendanceRequest,
    MarkAttendanceResponse, RecordLessonProgressRequest, RecordLessonProgressResponse,
    WatchAttendanceRequest, WatchAttendanceResponse, progress_service_server::ProgressService,
};
use campus_runtime::auth::caller;
use tonic::{Request, Response, Status};

use crate::Progress;

/// WatchAttendance as the generated server would send it: decoded from the shared encoded
/// answers. Campus's server answers the method with [`crate::WatchAttendanceRoute`], which
/// sends those bytes as they are; this serves a `ProgressServiceServer` composed without it.
type MarkStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<WatchAttendanceResponse, Status>> + Send>>;

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl ProgressService for Progress {
    async fn record_lesson_progress(
        &self,
        request: Request<RecordLessonProgressRequest>,
    ) -> Reply<RecordLessonProgressResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.record_lesson_progress(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn get_course_progress(
        &self,
        request: Request<GetCourseProgressRequest>,
    ) -> Reply<GetCourseProgressResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.get_course_progress(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn batch_get_progress(
        &self,
        request: Request<BatchGetProgressRequest>,
    ) -> Reply<BatchGetProgressResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.batch_get_progress(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn create_attendance_session(
        &self,
        request: Request<CreateAttendanceSessionRequest>,
    ) -> Reply<CreateAttendanceSessionResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.create_session(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_attendance_sessions(
        &self,
        request: Request<ListAttendanceSessionsRequest>,
    ) -> Reply<ListAttendanceSessionsResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.list_sessions(&caller, request.into_inner()).await?,
        ))
    }

    async fn mark_attendance(
        &self,
        request: Request<MarkAttendanceRequest>,
    ) -> Reply<MarkAttendanceResponse> {
        let caller = caller(&request)?;
        let body = request.into_inner();
        let mark = self.mark(&caller, &body.session_id, body.mark).await?;
        Ok(Response::new(MarkAttendanceResponse { mark: Some(mark) }))
    }

    async fn batch_mark_attendance(
        &self,
        request: Request<BatchMarkAttendanceRequest>,
    ) -> Reply<BatchMarkAttendanceResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.batch_mark(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_attendance(
        &self,
        request: Request<ListAttendanceRequest>,
    ) -> Reply<ListAttendanceResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.list_attendance(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_attendance_summary(
        &self,
        request: Request<GetAttendanceSummaryRequest>,
    ) -> Reply<GetAttendanceSummaryResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.summary(&caller, request.into_inner()).await?,
        ))
    }

    async fn watch_attendance(
        &self,
        request: Request<WatchAttendanceRequest>,
    ) -> Reply<MarkStream> {
        let caller = caller(&request)?;
        let encoded = self.watch(&caller, request.into_inner()).await?;
        Ok(Response::new(Box::pin(futures::StreamExt::map(
            encoded,
            |answer| {
                answer.and_then(|encoded| {
                    <WatchAttendanceResponse as prost::Message>::decode(encoded.0)
                        .map_err(|_| Status::internal("an encoded mark did not decode"))
                })
            },
        ))))
    }
}
