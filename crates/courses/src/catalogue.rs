//! Courses and their lessons: create, read (through the cache), update with optimistic
//! concurrency, publish and archive, list; add, reorder, remove and list lessons. Every write
//! publishes its event in its transaction and invalidates what it changed.

use campus_proto::{
    courses::{
        AddLessonRequest, AddLessonResponse, Course, CourseStatus, CreateCourseRequest,
        CreateCourseResponse, ListCoursesRequest, ListCoursesResponse, ListLessonsRequest,
        ListLessonsResponse, ReorderLessonsRequest, ReorderLessonsResponse, UpdateCourseRequest,
        UpdateLessonRequest, UpdateLessonResponse,
    },
    events::{CourseCreated, CourseUpdated},
    users::{BatchGetUsersRequest, Role, users_service_client::UsersServiceClient},
};
use campus_runtime::{
    api::{decode_cursor, encode_cursor, next_page_token, page_after, page_size, timestamp},
    auth::Caller,
};
use campus_store::{Tx, idempotency::Request};

use crate::{
    Courses,
    domain::{
        MAX_CONTENT, MAX_DESCRIPTION, MAX_QUERY, can_edit, can_see, check_optional, check_text,
        check_title, status_code, status_of,
    },
    error::CoursesError,
    keys,
    messages::{course_message, course_row, lesson_message},
    store::{self, CourseFilter, CourseRow, LessonRow, now_micros},
};

/// The event describing a course after a change.
fn updated_event(course: &CourseRow) -> CourseUpdated {
    CourseUpdated {
        course_id: course.id.clone(),
        school_id: course.school_id.clone(),
        instructor_id: course.instructor_id.clone(),
        title: course.title.clone(),
        status: status_of(course) as i32,
        lesson_count: i32::try_from(course.lesson_count).unwrap_or(i32::MAX),
        version: course.version,
        updated_at: Some(timestamp(course.updated_at)),
    }
}

impl Courses {
    /// Begins a write transaction.
    pub(crate) async fn begin(&self) -> Result<Tx, CoursesError> {
        Ok(self.store.database.begin().await?)
    }

    /// Drops everything cached about `course`: GetCourse, and the lists of its school.
    pub(crate) async fn invalidate_course(&self, course: &CourseRow) {
        self.course_cache
            .invalidate(&keys::course(&course.id), &[])
            .await;
        self.my_courses_cache
            .invalidate_tag(&keys::school_lists(&course.school_id))
            .await;
    }

    /// Whether `user_id` is a user of `school_id` holding one of `roles`, asked of the users
    /// service with the caller's credentials.
    pub(crate) async fn user_in_school(
        &self,
        user_id: &str,
        school_id: &str,
        roles: &[Role],
    ) -> Result<bool, CoursesError> {
        let found = self
            .users
            .idempotent("BatchGetUsers", |channel| async move {
                UsersServiceClient::new(channel)
                    .batch_get_users(BatchGetUsersRequest {
                        user_ids: vec![user_id.to_owned()],
                    })
                    .await
            })
            .await?
            .into_inner()
            .users;
        Ok(found.iter().any(|user| {
            user.school_id == school_id
                && (roles.is_empty()
                    || roles
                        .iter()
                        .any(|role| user.roles.contains(&(*role as i32))))
        }))
    }

    /// The course, fresh from the database, if `caller` may see it.
    pub(crate) async fn visible_course(
        &self,
        caller: &Caller,
        course_id: &str,
    ) -> Result<CourseRow, CoursesError> {
        if course_id.is_empty() {
            return Err(CoursesError::invalid("course_id", "is required"));
        }
        match store::course(&self.store.database, course_id).await? {
            Some(course) if can_see(caller, &course) => Ok(course),
            Some(_) | None => Err(CoursesError::NotFound("course")),
        }
    }

    /// The course, if `caller` belongs to it: its instructor and school admins (and platform
    /// admins) always, learners while enrolled in it and it is not a draft. Anyone else finds
    /// nothing (NOT_FOUND), as for the course itself.
    pub(crate) async fn member_course(
        &self,
        caller: &Caller,
        course_id: &str,
    ) -> Result<CourseRow, CoursesError> {
        let course = self.visible_course(caller, course_id).await?;
        if can_edit(caller, &course)
            || store::is_enrolled(&self.store.database, &course.id, &caller.user_id).await?
        {
            Ok(course)
        } else {
            Err(CoursesError::NotFound("course"))
        }
    }

    /// The course, through the cache, if `caller` may see it.
    pub(crate) async fn cached_course(
        &self,
        caller: &Caller,
        course_id: &str,
    ) -> Result<Course, CoursesError> {
        if course_id.is_empty() {
            return Err(CoursesError::invalid("course_id", "is required"));
        }
        let database = self.store.database.clone();
        let id = course_id.to_owned();
        let loaded = self
            .course_cache
            .get_or_load(
                &keys::course(course_id),
                &[],
                self.config.cache_ttl,
                || async move {
                    match store::course(&database, &id).await {
                        Ok(Some(course)) => Ok(course_message(&course)),
                        Ok(None) => Err(None),
                        Err(error) => Err(Some(campus_store::database_failure(error))),
                    }
                },
            )
            .await;
        match loaded {
            Ok(course) if can_see(caller, &course_row(&course)) => Ok(course),
            Ok(_) => Err(CoursesError::NotFound("course")),
            Err(error) => match error.as_ref() {
                None => Err(CoursesError::NotFound("course")),
                Some(failure) => Err(CoursesError::Failure(failure.clone())),
            },
        }
    }

    pub(crate) async fn create_course(
        &self,
        caller: &Caller,
        body: CreateCourseRequest,
    ) -> Result<CreateCourseResponse, CoursesError> {
        caller.require_role(&[Role::Instructor, Role::SchoolAdmin, Role::PlatformAdmin])?;
        let school_id = if body.school_id.is_empty() {
            caller
                .school_id
                .clone()
                .ok_or(CoursesError::invalid("school_id", "is required"))?
        } else {
            body.school_id.clone()
        };
        caller.require_school(&school_id)?;
        let (title, description) = check_title_and_text(
            &body.title,
            "description",
            &body.description,
            MAX_DESCRIPTION,
        )?;
        let instructor_id = if body.instructor_id.is_empty() {
            caller.user_id.clone()
        } else {
            body.instructor_id.clone()
        };
        if instructor_id != caller.user_id {
            caller.require_role(&[Role::SchoolAdmin, Role::PlatformAdmin])?;
            if !self
                .user_in_school(
                    &instructor_id,
                    &school_id,
                    &[Role::Instructor, Role::SchoolAdmin],
                )
                .await?
            {
                return Err(CoursesError::invalid(
                    "instructor_id",
                    "is not an instructor of this school",
                ));
            }
        }
        let request = Request::new(
            format!("courses.CreateCourse:{}", caller.user_id),
            &body.request_id,
            &body,
        );
        let now = now_micros();
        let course = CourseRow {
            id: uuid::Uuid::now_v7().to_string(),
            school_id,
            title,
            description,
            instructor_id,
            status: status_code(CourseStatus::Draft),
            lesson_count: 0,
            version: 1,
            created_at: now,
            updated_at: now,
            published_at: None,
            archived_at: None,
        };
        let answer = CreateCourseResponse {
            course: Some(course_message(&course)),
        };
        let written = self.store.idempotency.write(&request, |mut tx| async move {
            store::insert_course(&mut tx, &course).await?;
            tx.publish(
                &course.id,
                &course.school_id,
                &CourseCreated {
                    course_id: course.id.clone(),
                    school_id: course.school_id.clone(),
                    instructor_id: course.instructor_id.clone(),
                    title: course.title.clone(),
                    status: CourseStatus::Draft as i32,
                    lesson_count: 0,
                    version: course.version,
                    created_at: Some(timestamp(now)),
                },
            )
            .await?;
            Ok::<_, CoursesError>((tx, answer))
        });
        Ok(written.await?.response)
    }

    /// Applies `change` to the course if `caller` may edit it and `version` (if given) is
    /// current.
    async fn change_course(
        &self,
        caller: &Caller,
        course_id: &str,
        version: Option<i64>,
        change: impl FnOnce(&mut CourseRow) -> Result<bool, CoursesError>,
    ) -> Result<Course, CoursesError> {
        let mut course = self.visible_course(caller, course_id).await?;
        if !can_edit(caller, &course) {
            return Err(CoursesError::PermissionDenied(
                "only the course's instructor or a school admin may change it",
            ));
        }
        let stored_version = course.version;
        if !change(&mut course)? {
            return Ok(course_message(&course));
        }
        if version.is_some_and(|version| version != stored_version) {
            return Err(CoursesError::FailedPrecondition(
                "the course changed since you read it (stale version); reload and retry",
            ));
        }
        course.updated_at = now_micros();
        let mut tx = self.begin().await?;
        if !store::update_course(&mut tx, &course, stored_version).await? {
            return Err(CoursesError::FailedPrecondition(
                "the course changed since you read it (stale version); reload and retry",
            ));
        }
        course.version = stored_version + 1;
        tx.publish(&course.id, &course.school_id, &updated_event(&course))
            .await?;
        tx.commit().await?;
        self.invalidate_course(&course).await;
        Ok(course_message(&course))
    }

    pub(crate) async fn update_course(
        &self,
        caller: &Caller,
        body: UpdateCourseRequest,
    ) -> Result<Course, CoursesError> {
        let (title, description) = check_changes(
            Vec::new(),
            body.title.as_deref(),
            "description",
            body.description.as_deref(),
            MAX_DESCRIPTION,
        )?;
        if let Some(instructor) = body.instructor_id.as_deref() {
            caller.require_role(&[Role::SchoolAdmin, Role::PlatformAdmin])?;
            let course = self.visible_course(caller, &body.course_id).await?;
            if !self
                .user_in_school(
                    instructor,
                    &course.school_id,
                    &[Role::Instructor, Role::SchoolAdmin],
                )
                .await?
            {
                return Err(CoursesError::invalid(
                    "instructor_id",
                    "is not an instructor of this school",
                ));
            }
        }
        self.change_course(caller, &body.course_id, Some(body.version), |course| {
            if status_of(course) == CourseStatus::Archived {
                return Err(CoursesError::FailedPrecondition(
                    "an archived course is read-only",
                ));
            }
            if let Some(title) = title {
                course.title = title;
            }
            if let Some(description) = description {
                course.description = description;
            }
            if let Some(instructor) = body.instructor_id {
                course.instructor_id = instructor;
            }
            Ok(true)
        })
        .await
    }

    pub(crate) async fn publish_course(
        &self,
        caller: &Caller,
        course_id: &str,
        version: i64,
    ) -> Result<Course, CoursesError> {
        // The contract's "0 = do not check".
        let version = (version != 0).then_some(version);
        self.change_course(caller, course_id, version, |course| {
            match status_of(course) {
                CourseStatus::Published => Ok(false),
                CourseStatus::Archived => Err(CoursesError::FailedPrecondition(
                    "an archived course cannot be published",
                )),
                CourseStatus::Draft | CourseStatus::Unspecified => {
                    course.status = status_code(CourseStatus::Published);
                    course.published_at = Some(now_micros());
                    Ok(true)
                }
            }
        })
        .await
    }

    pub(crate) async fn archive_course(
        &self,
        caller: &Caller,
        course_id: &str,
        version: i64,
    ) -> Result<Course, CoursesError> {
        // The contract's "0 = do not check".
        let version = (version != 0).then_some(version);
        self.change_course(caller, course_id, version, |course| {
            match status_of(course) {
                CourseStatus::Archived => Ok(false),
                CourseStatus::Draft | CourseStatus::Published | CourseStatus::Unspecified => {
                    course.status = status_code(CourseStatus::Archived);
                    course.archived_at = Some(now_micros());
                    Ok(true)
                }
            }
        })
        .await
    }

    pub(crate) async fn list_courses(
        &self,
        caller: &Caller,
        body: ListCoursesRequest,
    ) -> Result<ListCoursesResponse, CoursesError> {
        let limit = page_size(body.page_size)?;
        let school_id = if body.school_id.is_empty() {
            caller
                .school_id
                .clone()
                .ok_or(CoursesError::invalid("school_id", "is required"))?
        } else {
            body.school_id.clone()
        };
        caller.require_school(&school_id)?;
        let status = CourseStatus::try_from(body.status)
            .map_err(|_| CoursesError::invalid("status", "is not a course status"))?;
        let staff = caller.has_role(Role::Instructor)
            || caller.has_role(Role::SchoolAdmin)
            || caller.is_platform_admin();
        let status = match (status, staff) {
            (CourseStatus::Unspecified, false) => CourseStatus::Published,
            (CourseStatus::Published, false) => CourseStatus::Published,
            (CourseStatus::Draft | CourseStatus::Archived, false) => {
                return Err(CoursesError::PermissionDenied(
                    "students see published courses only",
                ));
            }
            (status, true) => status,
        };
        if body.title_query.chars().count() > MAX_QUERY {
            return Err(CoursesError::invalid(
                "title_query",
                format!("must be at most {MAX_QUERY} characters"),
            ));
        }
        let before = page_after(&body.page_token, 1)?.remove(0);
        let query = body.title_query.trim().to_lowercase();
        let filter = CourseFilter {
            school_id: &school_id,
            status: if status == CourseStatus::Unspecified {
                0
            } else {
                status_code(status)
            },
            instructor_id: &body.instructor_id,
            title_contains: &query,
            before_id: &before,
        };
        let mut rows = store::list_courses(&self.store.database, &filter, limit + 1).await?;
        let next_page_token = next_page_token(&mut rows, limit, |last| encode_cursor(&[&last.id]));
        // Instructors see other instructors' drafts only if they administer the school.
        let courses = rows
            .iter()
            .filter(|course| can_see(caller, course))
            .map(course_message)
            .collect();
        Ok(ListCoursesResponse {
            courses,
            next_page_token,
        })
    }

    /// The course if `caller` may change its lessons (not archived).
    async fn editable_course(
        &self,
        caller: &Caller,
        course_id: &str,
    ) -> Result<CourseRow, CoursesError> {
        let course = self.visible_course(caller, course_id).await?;
        if !can_edit(caller, &course) {
            return Err(CoursesError::PermissionDenied(
                "only the course's instructor or a school admin may change its lessons",
            ));
        }
        if status_of(&course) == CourseStatus::Archived {
            return Err(CoursesError::FailedPrecondition(
                "an archived course is read-only",
            ));
        }
        Ok(course)
    }

    pub(crate) async fn add_lesson(
        &self,
        caller: &Caller,
        body: AddLessonRequest,
    ) -> Result<AddLessonResponse, CoursesError> {
        let (title, content) =
            check_title_and_text(&body.title, "content", &body.content, MAX_CONTENT)?;
        let course = self.editable_course(caller, &body.course_id).await?;
        let request = Request::new(
            format!("courses.AddLesson:{}", course.id),
            &body.request_id,
            &body,
        );
        let course_id = course.id.clone();
        let written = self.store.idempotency.write(&request, |mut tx| async move {
            let mut course = store::course_in(&mut tx, &course_id)
                .await?
                .ok_or(CoursesError::NotFound("course"))?;
            let position = match body.position {
                None => course.lesson_count + 1,
                Some(position)
                    if position >= 1 && i64::from(position) <= course.lesson_count + 1 =>
                {
                    i64::from(position)
                }
                Some(_) => {
                    return Err(CoursesError::invalid(
                        "position",
                        format!("must be between 1 and {}", course.lesson_count + 1),
                    ));
                }
            };
            let now = now_micros();
            let lesson = LessonRow {
                id: uuid::Uuid::now_v7().to_string(),
                course_id: course.id.clone(),
                title,
                content,
                position,
                created_at: now,
                updated_at: now,
            };
            store::insert_lesson(&mut tx, &lesson).await?;
            store::add_lesson_count(&mut tx, &course.id, 1, now).await?;
            course.lesson_count += 1;
            course.updated_at = now;
            tx.publish(&course.id, &course.school_id, &updated_event(&course))
                .await?;
            let answer = AddLessonResponse {
                lesson: Some(lesson_message(&lesson)),
            };
            Ok::<_, CoursesError>((tx, answer))
        });
        let answer = written.await?.response;
        self.invalidate_course(&course).await;
        Ok(answer)
    }

    pub(crate) async fn reorder_lessons(
        &self,
        caller: &Caller,
        body: ReorderLessonsRequest,
    ) -> Result<ReorderLessonsResponse, CoursesError> {
        let course = self.editable_course(caller, &body.course_id).await?;
        let mut tx = self.begin().await?;
        let mut current = store::lesson_ids_in(&mut tx, &course.id).await?;
        let mut requested = body.lesson_ids.clone();
        current.sort();
        requested.sort();
        if current != requested {
            return Err(CoursesError::invalid(
                "lesson_ids",
                "must list every lesson of the course exactly once",
            ));
        }
        let now = now_micros();
        store::reorder_lessons(&mut tx, &course.id, &body.lesson_ids, now).await?;
        let lessons = store::lessons_in(&mut tx, &course.id).await?;
        tx.publish(&course.id, &course.school_id, &updated_event(&course))
            .await?;
        tx.commit().await?;
        self.invalidate_course(&course).await;
        Ok(ReorderLessonsResponse {
            lessons: lessons.iter().map(lesson_message).collect(),
        })
    }

    pub(crate) async fn update_lesson(
        &self,
        caller: &Caller,
        body: UpdateLessonRequest,
    ) -> Result<UpdateLessonResponse, CoursesError> {
        let (title, content) = check_lesson_changes(&body)?;
        let course = self.editable_course(caller, &body.course_id).await?;
        let mut tx = self.begin().await?;
        let now = now_micros();
        let lesson = store::update_lesson(
            &mut tx,
            &course.id,
            &body.lesson_id,
            title.as_deref(),
            content.as_deref(),
            now,
        )
        .await?
        .ok_or(CoursesError::NotFound("lesson"))?;
        let course = lessons_changed(&mut tx, &course.id, now).await?;
        tx.commit().await?;
        self.invalidate_course(&course).await;
        Ok(UpdateLessonResponse {
            lesson: Some(lesson_message(&lesson)),
        })
    }

    pub(crate) async fn remove_lesson(
        &self,
        caller: &Caller,
        course_id: &str,
        lesson_id: &str,
    ) -> Result<(), CoursesError> {
        if lesson_id.is_empty() {
            return Err(CoursesError::invalid("lesson_id", "is required"));
        }
        let course = self.editable_course(caller, course_id).await?;
        let mut tx = self.begin().await?;
        if store::remove_lesson(&mut tx, &course.id, lesson_id).await? {
            let now = now_micros();
            store::add_lesson_count(&mut tx, &course.id, -1, now).await?;
            let course = lessons_changed(&mut tx, &course.id, now).await?;
            tx.commit().await?;
            self.invalidate_course(&course).await;
        }
        Ok(())
    }

    pub(crate) async fn list_lessons(
        &self,
        caller: &Caller,
        body: ListLessonsRequest,
    ) -> Result<ListLessonsResponse, CoursesError> {
        let limit = page_size(body.page_size)?;
        let course = self.cached_course(caller, &body.course_id).await?;
        let after: i64 = if body.page_token.is_empty() {
            0
        } else {
            decode_cursor(&body.page_token, 1)?
                .remove(0)
                .parse()
                .map_err(|_| {
                    CoursesError::invalid("page_token", "is not a token this list returned")
                })?
        };
        let mut rows =
            store::list_lessons(&self.store.database, &course.id, after, limit + 1).await?;
        let next_page_token = next_page_token(&mut rows, limit, |last| {
            encode_cursor(&[&last.position.to_string()])
        });
        Ok(ListLessonsResponse {
            lessons: rows.iter().map(lesson_message).collect(),
            next_page_token,
        })
    }
}

/// After a change to a course's lessons in `tx`: the course as changed at `now`, its
/// `course.updated` event published in the same transaction.
async fn lessons_changed(
    tx: &mut Tx,
    course_id: &str,
    now: i64,
) -> Result<CourseRow, CoursesError> {
    let mut course = store::course_in(tx, course_id)
        .await?
        .ok_or(CoursesError::NotFound("course"))?;
    course.updated_at = now;
    tx.publish(&course.id, &course.school_id, &updated_event(&course))
        .await?;
    Ok(course)
}

/// Checks an UpdateLesson request: the lesson named, and its changed title and content.
pub(crate) fn check_lesson_changes(
    body: &UpdateLessonRequest,
) -> Result<(Option<String>, Option<String>), CoursesError> {
    let mut violations = Vec::new();
    if body.lesson_id.is_empty() {
        violations.push(("lesson_id", "is required".to_owned()));
    }
    check_changes(
        violations,
        body.title.as_deref(),
        "content",
        body.content.as_deref(),
        MAX_CONTENT,
    )
}

/// Checks the title and the free text (`text_field`, at most `max` characters) an update
/// changes, as on creation; an absent one stays as it is. `violations` already found come
/// first in the answer.
pub(crate) fn check_changes(
    mut violations: Vec<(&'static str, String)>,
    title: Option<&str>,
    text_field: &'static str,
    text: Option<&str>,
    max: usize,
) -> Result<(Option<String>, Option<String>), CoursesError> {
    let title = check_optional(title, "title", check_title, &mut violations);
    let text = check_optional(
        text,
        text_field,
        |text| check_text(text, max),
        &mut violations,
    );
    if violations.is_empty() {
        Ok((title, text))
    } else {
        Err(CoursesError::Invalid(violations))
    }
}

/// Checks a title and a free text of at most `max` characters named `text_field` (a course's
/// description, a lesson's content): both, the title trimmed.
pub(crate) fn check_title_and_text(
    title: &str,
    text_field: &'static str,
    text: &str,
    max: usize,
) -> Result<(String, String), CoursesError> {
    let mut violations = Vec::new();
    let title = check_title(title)
        .map_err(|why| violations.push(("title", why)))
        .ok();
    let text = check_text(text, max)
        .map_err(|why| violations.push((text_field, why)))
        .ok();
    match (title, text) {
        (Some(title), Some(text)) => Ok((title, text)),
        _ => Err(CoursesError::Invalid(violations)),
    }
}
