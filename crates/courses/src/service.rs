//! The tonic implementation of `campus.courses.v1.CoursesService`: each method reads the
//! verified caller and delegates to the catalogue, enrolment or my-courses code.

use campus_proto::courses::{
    AddLessonRequest, AddLessonResponse, ArchiveCourseRequest, ArchiveCourseResponse,
    CreateCourseRequest, CreateCourseResponse, EnrollRequest, EnrollResponse, GetCourseRequest,
    GetCourseResponse, ListCoursesForUserRequest, ListCoursesForUserResponse, ListCoursesRequest,
    ListCoursesResponse, ListEnrollmentsRequest, ListEnrollmentsResponse, ListLessonsRequest,
    ListLessonsResponse, PublishCourseRequest, PublishCourseResponse, RemoveLessonRequest,
    RemoveLessonResponse, ReorderLessonsRequest, ReorderLessonsResponse, UnenrollRequest,
    UnenrollResponse, UpdateCourseRequest, UpdateCourseResponse, UpdateLessonRequest,
    UpdateLessonResponse, courses_service_server::CoursesService,
};
use campus_runtime::auth::caller;
use tonic::{Request, Response, Status};

use crate::Courses;

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl CoursesService for Courses {
    async fn create_course(
        &self,
        request: Request<CreateCourseRequest>,
    ) -> Reply<CreateCourseResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.create_course(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_course(&self, request: Request<GetCourseRequest>) -> Reply<GetCourseResponse> {
        let caller = caller(&request)?;
        let course = self
            .cached_course(&caller, &request.into_inner().course_id)
            .await?;
        Ok(Response::new(GetCourseResponse {
            course: Some(course),
        }))
    }

    async fn update_course(
        &self,
        request: Request<UpdateCourseRequest>,
    ) -> Reply<UpdateCourseResponse> {
        let caller = caller(&request)?;
        let course = self.update_course(&caller, request.into_inner()).await?;
        Ok(Response::new(UpdateCourseResponse {
            course: Some(course),
        }))
    }

    async fn publish_course(
        &self,
        request: Request<PublishCourseRequest>,
    ) -> Reply<PublishCourseResponse> {
        let caller = caller(&request)?;
        let body = request.into_inner();
        let course = self
            .publish_course(&caller, &body.course_id, body.version)
            .await?;
        Ok(Response::new(PublishCourseResponse {
            course: Some(course),
        }))
    }

    async fn archive_course(
        &self,
        request: Request<ArchiveCourseRequest>,
    ) -> Reply<ArchiveCourseResponse> {
        let caller = caller(&request)?;
        let body = request.into_inner();
        let course = self
            .archive_course(&caller, &body.course_id, body.version)
            .await?;
        Ok(Response::new(ArchiveCourseResponse {
            course: Some(course),
        }))
    }

    async fn list_courses(
        &self,
        request: Request<ListCoursesRequest>,
    ) -> Reply<ListCoursesResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.list_courses(&caller, request.into_inner()).await?,
        ))
    }

    async fn add_lesson(&self, request: Request<AddLessonRequest>) -> Reply<AddLessonResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.add_lesson(&caller, request.into_inner()).await?,
        ))
    }

    async fn reorder_lessons(
        &self,
        request: Request<ReorderLessonsRequest>,
    ) -> Reply<ReorderLessonsResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.reorder_lessons(&caller, request.into_inner()).await?,
        ))
    }

    async fn update_lesson(
        &self,
        request: Request<UpdateLessonRequest>,
    ) -> Reply<UpdateLessonResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.update_lesson(&caller, request.into_inner()).await?,
        ))
    }

    async fn remove_lesson(
        &self,
        request: Request<RemoveLessonRequest>,
    ) -> Reply<RemoveLessonResponse> {
        let caller = caller(&request)?;
        let body = request.into_inner();
        self.remove_lesson(&caller, &body.course_id, &body.lesson_id)
            .await?;
        Ok(Response::new(RemoveLessonResponse {}))
    }

    async fn list_lessons(
        &self,
        request: Request<ListLessonsRequest>,
    ) -> Reply<ListLessonsResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.list_lessons(&caller, request.into_inner()).await?,
        ))
    }

    async fn enroll(&self, request: Request<EnrollRequest>) -> Reply<EnrollResponse> {
        let caller = caller(&request)?;
        let body = request.into_inner();
        Ok(Response::new(
            self.enroll(&caller, &body.course_id, &body.user_id).await?,
        ))
    }

    async fn unenroll(&self, request: Request<UnenrollRequest>) -> Reply<UnenrollResponse> {
        let caller = caller(&request)?;
        let body = request.into_inner();
        let removed = self
            .unenroll(&caller, &body.course_id, &body.user_id)
            .await?;
        Ok(Response::new(UnenrollResponse { removed }))
    }

    async fn list_enrollments(
        &self,
        request: Request<ListEnrollmentsRequest>,
    ) -> Reply<ListEnrollmentsResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.list_enrollments(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_courses_for_user(
        &self,
        request: Request<ListCoursesForUserRequest>,
    ) -> Reply<ListCoursesForUserResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.list_courses_for_user(&caller, request.into_inner())
                .await?,
        ))
    }
}
