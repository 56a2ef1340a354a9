//! Requests of `CoursesService`.

use campus_proto::courses::{
    AddLessonRequest, ArchiveCourseRequest, CreateCourseRequest, EnrollRequest, GetCourseRequest,
    ListCoursesForUserRequest, ListCoursesRequest, ListEnrollmentsRequest, ListLessonsRequest,
    PublishCourseRequest, RemoveLessonRequest, ReorderLessonsRequest, UnenrollRequest,
    UpdateCourseRequest, UpdateLessonRequest, courses_service_client::CoursesServiceClient,
    list_enrollments_request::Filter,
};
use campus_testkit::Error;
use tonic::{Response, Status};

use super::Cell;
use crate::{probe::Observed, world::Wire};

/// Calls `method` of the courses service for `cell`.
pub(crate) async fn call(method: &str, cell: &Cell<'_>) -> Result<Option<Observed>, Error> {
    let mut courses = CoursesServiceClient::new(cell.wire()?);
    let mut setup = CoursesServiceClient::new(cell.setup()?);
    let bundle = cell.subject.bundle;
    let course_id = bundle.course_id.clone();
    let learner_id = bundle.learner.id.clone();
    let probe = cell.probe;
    let observed = match method {
        "CreateCourse" => {
            let request = CreateCourseRequest {
                request_id: format!("row-{}", cell.unique()),
                school_id: bundle.school_id.clone(),
                title: format!("Course {}", cell.unique()),
                description: "Made by a row.".to_owned(),
                instructor_id: bundle.instructor.id.clone(),
            };
            let school_id = bundle.school_id.clone();
            probe.run(school_id, courses.create_course(request)).await?
        }
        "GetCourse" => {
            let request = GetCourseRequest {
                course_id: course_id.clone(),
            };
            probe.run(course_id, courses.get_course(request)).await?
        }
        "UpdateCourse" => {
            let request = UpdateCourseRequest {
                course_id: course_id.clone(),
                version: version_of(&mut setup, &course_id).await?,
                title: Some(format!("Course renamed {}", cell.unique())),
                ..UpdateCourseRequest::default()
            };
            probe.run(course_id, courses.update_course(request)).await?
        }
        "PublishCourse" => {
            let draft = cell
                .world
                .setup
                .course(&bundle.school_id, &bundle.instructor.id, false)
                .await?;
            let request = PublishCourseRequest {
                course_id: draft.clone(),
                version: version_of(&mut setup, &draft).await?,
            };
            probe.run(draft, courses.publish_course(request)).await?
        }
        "ArchiveCourse" => {
            let published = fresh_course(cell).await?;
            let request = ArchiveCourseRequest {
                course_id: published.clone(),
                version: version_of(&mut setup, &published).await?,
            };
            probe
                .run(published, courses.archive_course(request))
                .await?
        }
        "ListCourses" => {
            let request = ListCoursesRequest {
                school_id: bundle.school_id.clone(),
                page_size: 200,
                ..ListCoursesRequest::default()
            };
            probe.run(course_id, courses.list_courses(request)).await?
        }
        "AddLesson" => {
            let request = AddLessonRequest {
                request_id: format!("row-{}", cell.unique()),
                course_id: course_id.clone(),
                title: format!("Lesson {}", cell.unique()),
                content: "Added by a row.".to_owned(),
                position: None,
            };
            probe.run(course_id, courses.add_lesson(request)).await?
        }
        "ReorderLessons" => {
            let mut lesson_ids = lesson_ids_of(&mut setup, &course_id).await?;
            lesson_ids.reverse();
            let request = ReorderLessonsRequest {
                course_id,
                lesson_ids,
            };
            let lesson_id = bundle.lesson_id.clone();
            probe
                .run(lesson_id, courses.reorder_lessons(request))
                .await?
        }
        "UpdateLesson" => {
            let request = UpdateLessonRequest {
                course_id,
                lesson_id: bundle.lesson_id.clone(),
                title: Some(format!("Lesson renamed {}", cell.unique())),
                content: None,
            };
            let lesson_id = bundle.lesson_id.clone();
            probe.run(lesson_id, courses.update_lesson(request)).await?
        }
        "RemoveLesson" => {
            let lesson_id = cell.world.setup.lesson(&course_id).await?;
            let call = async move {
                courses
                    .remove_lesson(RemoveLessonRequest {
                        course_id: course_id.clone(),
                        lesson_id: lesson_id.clone(),
                    })
                    .await?;
                let left = lesson_ids_of(&mut setup, &course_id)
                    .await
                    .map_err(|error| Status::internal(error.to_string()))?;
                Ok::<_, Status>(Response::new(if left.contains(&lesson_id) {
                    "still there"
                } else {
                    "removed"
                }))
            };
            probe.run("removed", call).await?
        }
        "ListLessons" => {
            let request = ListLessonsRequest {
                course_id,
                page_size: 200,
                page_token: String::new(),
            };
            let lesson_id = bundle.lesson_id.clone();
            probe.run(lesson_id, courses.list_lessons(request)).await?
        }
        // A course of their own, so the world's enrolments stay as progress knows them.
        "Enroll" => {
            let fresh = fresh_course(cell).await?;
            let call = courses.enroll(enroll(&fresh, &learner_id));
            probe.run(learner_id, call).await?
        }
        "Unenroll" => {
            let fresh = fresh_course(cell).await?;
            setup.enroll(enroll(&fresh, &learner_id)).await?;
            let call = courses.unenroll(unenroll(&fresh, &learner_id));
            probe
                .run_shown("removed: true", call, |answer| {
                    format!("removed: {}", answer.removed)
                })
                .await?
        }
        "ListEnrollments" => {
            let request = ListEnrollmentsRequest {
                filter: Some(Filter::UserId(learner_id)),
                page_size: 200,
                page_token: String::new(),
            };
            probe
                .run(course_id, courses.list_enrollments(request))
                .await?
        }
        "ListCoursesForUser" => {
            let request = ListCoursesForUserRequest {
                user_id: learner_id,
                page_size: 200,
                page_token: String::new(),
            };
            probe
                .run(course_id, courses.list_courses_for_user(request))
                .await?
        }
        _ => return Ok(None),
    };
    Ok(Some(observed))
}

/// A new published course of the cell's bundle: same school, same instructor.
async fn fresh_course(cell: &Cell<'_>) -> Result<String, Error> {
    let bundle = cell.subject.bundle;
    cell.world
        .setup
        .course(&bundle.school_id, &bundle.instructor.id, true)
        .await
}

fn enroll(course_id: &str, user_id: &str) -> EnrollRequest {
    EnrollRequest {
        course_id: course_id.to_owned(),
        user_id: user_id.to_owned(),
    }
}

fn unenroll(course_id: &str, user_id: &str) -> UnenrollRequest {
    UnenrollRequest {
        course_id: course_id.to_owned(),
        user_id: user_id.to_owned(),
    }
}

/// The course's current version, as the platform admin reads it.
async fn version_of(setup: &mut CoursesServiceClient<Wire>, course_id: &str) -> Result<i64, Error> {
    Ok(setup
        .get_course(GetCourseRequest {
            course_id: course_id.to_owned(),
        })
        .await?
        .into_inner()
        .course
        .ok_or("no course")?
        .version)
}

/// The ids of the course's lessons in their order, as the platform admin reads them.
async fn lesson_ids_of(
    setup: &mut CoursesServiceClient<Wire>,
    course_id: &str,
) -> Result<Vec<String>, Error> {
    Ok(setup
        .list_lessons(ListLessonsRequest {
            course_id: course_id.to_owned(),
            page_size: 200,
            page_token: String::new(),
        })
        .await?
        .into_inner()
        .lessons
        .into_iter()
        .map(|lesson| lesson.id)
        .collect())
}
