//! ListCoursesForUser: a user's enrolled courses with the instructor's name and the user's
//! progress. One query for the page (enrolments joined with courses), then one call to users
//! and one to progress, made concurrently; progress gets only what the caller's deadline
//! leaves (and at most `CAMPUS_COURSES_PROGRESS_TIMEOUT`), and without it the page is still
//! returned with progress marked unknown (and not cached).

use std::collections::HashMap;

use campus_proto::{
    courses::{ListCoursesForUserRequest, ListCoursesForUserResponse, ProgressState, UserCourse},
    progress::{
        BatchGetProgressRequest, CourseProgress, progress_service_client::ProgressServiceClient,
    },
    users::{BatchGetUsersRequest, users_service_client::UsersServiceClient},
};
use campus_runtime::{
    api::{encode_cursor, next_page_token, page_after, page_size, timestamp},
    auth::Caller,
    failure::Failure,
};

use crate::{
    Courses,
    domain::{is_staff, school_scope},
    error::CoursesError,
    keys,
    messages::course_message,
    read_your_writes::within_deadline,
    store::{self, EnrolledCourseRow},
};

/// Why a page was not cached.
#[derive(Debug)]
enum Uncached {
    /// Built without progress (or names): returned, but not worth caching.
    Degraded(ListCoursesForUserResponse),
    /// Could not be built: the database failed.
    Failed(Failure),
}

impl Courses {
    pub(crate) async fn list_courses_for_user(
        &self,
        caller: &Caller,
        body: ListCoursesForUserRequest,
    ) -> Result<ListCoursesForUserResponse, CoursesError> {
        let limit = page_size(body.page_size)?;
        let user_id = if body.user_id.is_empty() {
            caller.user_id.clone()
        } else {
            body.user_id.clone()
        };
        if user_id != caller.user_id && !is_staff(caller) {
            return Err(CoursesError::PermissionDenied(
                "students may list only their own courses",
            ));
        }
        let before = page_after(&body.page_token, 1)?.remove(0);
        let school = school_scope(caller);
        let key = format!("{user_id}|{school}|{limit}|{before}");
        let tags = [keys::user_lists(&user_id), keys::school_lists(&school)];
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        let loaded = self
            .my_courses_cache
            .get_or_load(&key, &tags, self.config.cache_ttl, || async {
                self.build_page(&user_id, &school, &before, limit).await
            })
            .await;
        match loaded {
            Ok(page) => Ok(page),
            Err(uncached) => match uncached.as_ref() {
                Uncached::Degraded(page) => Ok(page.clone()),
                Uncached::Failed(failure) => Err(CoursesError::Failure(failure.clone())),
            },
        }
    }

    async fn build_page(
        &self,
        user_id: &str,
        school: &str,
        before: &str,
        limit: u32,
    ) -> Result<ListCoursesForUserResponse, Uncached> {
        let mut rows =
            store::enrolled_courses(&self.store.database, user_id, school, before, limit + 1)
                .await
                .map_err(|error| Uncached::Failed(campus_store::database_failure(error)))?;
        let next_page_token = next_page_token(&mut rows, limit, |last| {
            encode_cursor(&[&last.enrollment_id])
        });
        if rows.is_empty() {
            return Ok(ListCoursesForUserResponse {
                courses: Vec::new(),
                next_page_token,
            });
        }
        let (names, progress) = tokio::join!(
            self.instructor_names(&rows),
            self.progress_of(user_id, &rows)
        );
        // A page is cached only when every part of it is known: a course progress has not
        // heard of yet (just enrolled) is shown as unknown and asked again next time.
        let complete = names.is_some()
            && progress.as_ref().is_some_and(|progress| {
                rows.iter().all(|row| progress.contains_key(&row.course.id))
            });
        let names = names.unwrap_or_default();
        let courses = rows
            .iter()
            .map(|row| {
                let progress = progress
                    .as_ref()
                    .and_then(|progress| progress.get(&row.course.id).cloned());
                UserCourse {
                    course: Some(course_message(&row.course)),
                    instructor_display_name: names
                        .get(&row.course.instructor_id)
                        .cloned()
                        .unwrap_or_default(),
                    enrolled_at: Some(timestamp(row.enrolled_at)),
                    progress_state: if progress.is_some() {
                        ProgressState::Known
                    } else {
                        ProgressState::Unknown
                    } as i32,
                    progress,
                }
            })
            .collect();
        let page = ListCoursesForUserResponse {
            courses,
            next_page_token,
        };
        if complete {
            Ok(page)
        } else {
            Err(Uncached::Degraded(page))
        }
    }

    /// Display names of the page's instructors, in one call; `None` if users did not answer.
    async fn instructor_names(
        &self,
        rows: &[EnrolledCourseRow],
    ) -> Option<HashMap<String, String>> {
        let mut ids: Vec<String> = rows
            .iter()
            .map(|row| row.course.instructor_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        let answer = self
            .users
            .idempotent("BatchGetUsers", |channel| {
                let request = BatchGetUsersRequest {
                    user_ids: ids.clone(),
                };
                async move {
                    UsersServiceClient::new(channel)
                        .batch_get_users(request)
                        .await
                }
            })
            .await;
        match answer {
            Ok(answer) => Some(
                answer
                    .into_inner()
                    .users
                    .into_iter()
                    .map(|user| (user.id, user.display_name))
                    .collect(),
            ),
            Err(failure) => {
                tracing::warn!(error = %failure, "instructor names unavailable");
                None
            }
        }
    }

    /// The user's progress in the page's courses, in one call within the budget; `None` if
    /// progress did not answer in time.
    async fn progress_of(
        &self,
        user_id: &str,
        rows: &[EnrolledCourseRow],
    ) -> Option<HashMap<String, CourseProgress>> {
        let budget = within_deadline(self.config.progress_timeout);
        let course_ids: Vec<String> = rows.iter().map(|row| row.course.id.clone()).collect();
        let ends = tokio::time::Instant::now() + budget;
        let answer = self.progress.idempotent("BatchGetProgress", |channel| {
            let mut request = tonic::Request::new(BatchGetProgressRequest {
                user_id: user_id.to_owned(),
                course_ids: course_ids.clone(),
            });
            request.set_timeout(ends.saturating_duration_since(tokio::time::Instant::now()));
            async move {
                ProgressServiceClient::new(channel)
                    .batch_get_progress(request)
                    .await
            }
        });
        match tokio::time::timeout(budget, answer).await {
            Ok(Ok(answer)) => Some(
                answer
                    .into_inner()
                    .progress
                    .into_iter()
                    .map(|progress| (progress.course_id.clone(), progress))
                    .collect(),
            ),
            Ok(Err(failure)) => {
                tracing::warn!(error = %failure, "progress unavailable; marked unknown");
                None
            }
            Err(_) => {
                tracing::warn!(
                    ?budget,
                    "progress did not answer within its budget; marked unknown"
                );
                None
            }
        }
    }
}
