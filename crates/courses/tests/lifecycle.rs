//! A course's life through the gRPC client: draft, publish, lessons, enrolment, my courses,
//! optimistic concurrency, archive; and who may do what.

mod common;

use campus_proto::{
    courses::{
        AddLessonRequest, ArchiveCourseRequest, CourseStatus, CreateCourseRequest, EnrollRequest,
        GetCourseRequest, ListCoursesForUserRequest, ListCoursesRequest, ListEnrollmentsRequest,
        ListLessonsRequest, ProgressState, PublishCourseRequest, RemoveLessonRequest,
        ReorderLessonsRequest, UnenrollRequest, UpdateCourseRequest,
        list_enrollments_request::Filter,
    },
    users::Role,
};
use campus_testkit::spawn_campus;
use common::{Error, code, courses_as, person, published_course, school};
use tonic::Code;

#[tokio::test]
async fn a_course_from_draft_to_archive() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill").await?;
    let teacher = person(&campus, &hill, "teacher@hill.example", Role::Instructor).await?;
    let pupil = person(&campus, &hill, "pupil@hill.example", Role::Student).await?;
    let mut as_teacher = courses_as(&campus, &teacher.token).await?;
    let mut as_pupil = courses_as(&campus, &pupil.token).await?;

    let draft = as_teacher
        .create_course(CreateCourseRequest {
            request_id: "create-algebra".into(),
            school_id: hill.id.clone(),
            title: "Algebra".into(),
            description: "Letters as numbers".into(),
            instructor_id: String::new(),
        })
        .await?
        .into_inner()
        .course
        .ok_or("no course")?;
    assert_eq!(draft.status, CourseStatus::Draft as i32);
    assert_eq!(draft.instructor_id, teacher.user.id);
    // A retried create answers with the same course.
    let retried = as_teacher
        .create_course(CreateCourseRequest {
            request_id: "create-algebra".into(),
            school_id: hill.id.clone(),
            title: "Algebra".into(),
            description: "Letters as numbers".into(),
            instructor_id: String::new(),
        })
        .await?
        .into_inner()
        .course
        .ok_or("no course")?;
    assert_eq!(retried.id, draft.id);

    // Students do not see drafts, nor can they enrol.
    assert_eq!(
        code(
            as_pupil
                .get_course(GetCourseRequest {
                    course_id: draft.id.clone()
                })
                .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            as_pupil
                .enroll(EnrollRequest {
                    course_id: draft.id.clone(),
                    user_id: String::new()
                })
                .await
        ),
        Code::NotFound
    );

    // Lessons: add two at the end, one at the front, reorder, remove.
    let mut lesson_ids = Vec::new();
    for (title, position) in [
        ("Variables", None),
        ("Equations", None),
        ("Why algebra", Some(1)),
    ] {
        let lesson = as_teacher
            .add_lesson(AddLessonRequest {
                request_id: String::new(),
                course_id: draft.id.clone(),
                title: title.into(),
                content: format!("{title} …"),
                position,
            })
            .await?
            .into_inner()
            .lesson
            .ok_or("no lesson")?;
        lesson_ids.push((title, lesson.id));
    }
    let titles = |lessons: Vec<campus_proto::courses::Lesson>| {
        lessons
            .into_iter()
            .map(|l| (l.position, l.title))
            .collect::<Vec<_>>()
    };
    let listed = as_teacher
        .list_lessons(ListLessonsRequest {
            course_id: draft.id.clone(),
            ..ListLessonsRequest::default()
        })
        .await?
        .into_inner()
        .lessons;
    assert_eq!(
        titles(listed),
        [
            (1, "Why algebra".to_owned()),
            (2, "Variables".to_owned()),
            (3, "Equations".to_owned())
        ]
    );
    let reordered = as_teacher
        .reorder_lessons(ReorderLessonsRequest {
            course_id: draft.id.clone(),
            lesson_ids: vec![
                lesson_ids[1].1.clone(),
                lesson_ids[0].1.clone(),
                lesson_ids[2].1.clone(),
            ],
        })
        .await?
        .into_inner()
        .lessons;
    assert_eq!(
        titles(reordered),
        [
            (1, "Equations".to_owned()),
            (2, "Variables".to_owned()),
            (3, "Why algebra".to_owned())
        ]
    );
    let partial = as_teacher
        .reorder_lessons(ReorderLessonsRequest {
            course_id: draft.id.clone(),
            lesson_ids: vec![lesson_ids[0].1.clone()],
        })
        .await;
    assert_eq!(code(partial), Code::InvalidArgument);
    as_teacher
        .remove_lesson(RemoveLessonRequest {
            course_id: draft.id.clone(),
            lesson_id: lesson_ids[1].1.clone(),
        })
        .await?;
    as_teacher
        .remove_lesson(RemoveLessonRequest {
            course_id: draft.id.clone(),
            lesson_id: lesson_ids[1].1.clone(),
        })
        .await?;
    let course = as_teacher
        .get_course(GetCourseRequest {
            course_id: draft.id.clone(),
        })
        .await?
        .into_inner()
        .course
        .ok_or("no course")?;
    assert_eq!(course.lesson_count, 2);
    assert_eq!(
        course.version, draft.version,
        "lesson changes do not bump the version"
    );

    // Update with the current version works; with a stale one it is refused.
    let renamed = as_teacher
        .update_course(UpdateCourseRequest {
            course_id: draft.id.clone(),
            version: course.version,
            title: Some("Algebra I".into()),
            ..UpdateCourseRequest::default()
        })
        .await?
        .into_inner()
        .course
        .ok_or("no course")?;
    assert_eq!(renamed.version, course.version + 1);
    let stale = as_teacher
        .update_course(UpdateCourseRequest {
            course_id: draft.id.clone(),
            version: course.version,
            title: Some("Algebra II".into()),
            ..UpdateCourseRequest::default()
        })
        .await;
    assert_eq!(code(stale), Code::FailedPrecondition);

    // Publish with version 0 ("do not check"; twice is fine), then the student sees it and
    // enrols (twice is one enrolment).
    let published = as_teacher
        .publish_course(PublishCourseRequest {
            course_id: draft.id.clone(),
            version: 0,
        })
        .await?
        .into_inner()
        .course
        .ok_or("no course")?;
    assert_eq!(published.status, CourseStatus::Published as i32);
    assert_eq!(published.version, renamed.version + 1);
    as_teacher
        .publish_course(PublishCourseRequest {
            course_id: draft.id.clone(),
            version: 0,
        })
        .await?;
    let first = as_pupil
        .enroll(EnrollRequest {
            course_id: draft.id.clone(),
            user_id: String::new(),
        })
        .await?
        .into_inner();
    let second = as_pupil
        .enroll(EnrollRequest {
            course_id: draft.id.clone(),
            user_id: String::new(),
        })
        .await?
        .into_inner();
    assert!(first.created && !second.created);
    assert_eq!(
        first.enrollment.map(|e| e.id),
        second.enrollment.map(|e| e.id)
    );

    let mine = as_pupil
        .list_courses_for_user(ListCoursesForUserRequest::default())
        .await?
        .into_inner()
        .courses;
    assert_eq!(mine.len(), 1);
    assert_eq!(
        mine[0].course.as_ref().map(|c| c.title.as_str()),
        Some("Algebra I")
    );
    assert_eq!(mine[0].instructor_display_name, "Display teacher");
    assert_ne!(mine[0].progress_state, ProgressState::Unspecified as i32);

    let enrolments = as_teacher
        .list_enrollments(ListEnrollmentsRequest {
            filter: Some(Filter::CourseId(draft.id.clone())),
            ..ListEnrollmentsRequest::default()
        })
        .await?
        .into_inner()
        .enrollments;
    assert_eq!(enrolments.len(), 1);
    let pupil_lists_course = as_pupil
        .list_enrollments(ListEnrollmentsRequest {
            filter: Some(Filter::CourseId(draft.id.clone())),
            ..ListEnrollmentsRequest::default()
        })
        .await;
    assert_eq!(code(pupil_lists_course), Code::PermissionDenied);

    // Unenrol (twice is fine); the list empties.
    assert!(
        as_pupil
            .unenroll(UnenrollRequest {
                course_id: draft.id.clone(),
                user_id: String::new()
            })
            .await?
            .into_inner()
            .removed
    );
    assert!(
        !as_pupil
            .unenroll(UnenrollRequest {
                course_id: draft.id.clone(),
                user_id: String::new()
            })
            .await?
            .into_inner()
            .removed
    );
    assert!(
        as_pupil
            .list_courses_for_user(ListCoursesForUserRequest::default())
            .await?
            .into_inner()
            .courses
            .is_empty()
    );

    // Archive (version 0: do not check): read-only and closed for enrolment.
    let archived = as_teacher
        .archive_course(ArchiveCourseRequest {
            course_id: draft.id.clone(),
            version: 0,
        })
        .await?
        .into_inner()
        .course
        .ok_or("no course")?;
    assert_eq!(archived.status, CourseStatus::Archived as i32);
    let closed = as_pupil
        .enroll(EnrollRequest {
            course_id: draft.id.clone(),
            user_id: String::new(),
        })
        .await;
    assert_eq!(code(closed), Code::FailedPrecondition);
    let frozen = as_teacher
        .add_lesson(AddLessonRequest {
            course_id: draft.id.clone(),
            title: "Late".into(),
            ..AddLessonRequest::default()
        })
        .await;
    assert_eq!(code(frozen), Code::FailedPrecondition);
    campus.shutdown().await
}

#[tokio::test]
async fn people_of_another_school_and_students_are_refused() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill").await?;
    let dale = school(&campus, "dale").await?;
    let teacher = person(&campus, &hill, "teacher@hill.example", Role::Instructor).await?;
    let other_teacher = person(&campus, &hill, "other@hill.example", Role::Instructor).await?;
    let pupil = person(&campus, &hill, "pupil@hill.example", Role::Student).await?;
    let outsider = person(&campus, &dale, "admin@dale.example", Role::SchoolAdmin).await?;
    let course = published_course(&campus, &teacher, "Geometry").await?;

    let mut as_outsider = courses_as(&campus, &outsider.token).await?;
    assert_eq!(
        code(
            as_outsider
                .get_course(GetCourseRequest {
                    course_id: course.id.clone()
                })
                .await
        ),
        Code::NotFound
    );
    let listed = as_outsider
        .list_courses(ListCoursesRequest {
            school_id: hill.id.clone(),
            ..ListCoursesRequest::default()
        })
        .await;
    assert_eq!(code(listed), Code::PermissionDenied);
    let enrolled = as_outsider
        .enroll(EnrollRequest {
            course_id: course.id.clone(),
            user_id: outsider.user.id.clone(),
        })
        .await;
    assert_eq!(code(enrolled), Code::NotFound);

    let edit = UpdateCourseRequest {
        course_id: course.id.clone(),
        version: course.version,
        title: Some("Mine".into()),
        ..UpdateCourseRequest::default()
    };
    assert_eq!(
        code(
            courses_as(&campus, &other_teacher.token)
                .await?
                .update_course(edit.clone())
                .await
        ),
        Code::PermissionDenied
    );
    assert_eq!(
        code(
            courses_as(&campus, &pupil.token)
                .await?
                .update_course(edit)
                .await
        ),
        Code::PermissionDenied
    );
    let create = courses_as(&campus, &pupil.token)
        .await?
        .create_course(CreateCourseRequest {
            title: "Mine".into(),
            ..CreateCourseRequest::default()
        })
        .await;
    assert_eq!(code(create), Code::PermissionDenied);
    // A student may not enrol someone else.
    let other = courses_as(&campus, &pupil.token)
        .await?
        .enroll(EnrollRequest {
            course_id: course.id.clone(),
            user_id: other_teacher.user.id.clone(),
        })
        .await;
    assert_eq!(code(other), Code::PermissionDenied);
    // The instructor may, and only people of the school.
    let mut as_teacher = courses_as(&campus, &teacher.token).await?;
    assert_eq!(
        code(
            as_teacher
                .enroll(EnrollRequest {
                    course_id: course.id.clone(),
                    user_id: pupil.user.id.clone()
                })
                .await
        ),
        Code::Ok
    );
    assert_eq!(
        code(
            as_teacher
                .enroll(EnrollRequest {
                    course_id: course.id.clone(),
                    user_id: outsider.user.id.clone()
                })
                .await
        ),
        Code::NotFound
    );
    campus.shutdown().await
}

#[tokio::test]
async fn invalid_input_is_refused_with_field_violations() -> Result<(), Error> {
    use tonic_types::StatusExt as _;
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill").await?;
    let teacher = person(&campus, &hill, "teacher@hill.example", Role::Instructor).await?;
    let mut as_teacher = courses_as(&campus, &teacher.token).await?;
    let empty_title = as_teacher
        .create_course(CreateCourseRequest {
            school_id: hill.id.clone(),
            title: "   ".into(),
            ..CreateCourseRequest::default()
        })
        .await
        .err()
        .ok_or("accepted an empty title")?;
    assert_eq!(empty_title.code(), Code::InvalidArgument);
    assert_eq!(
        empty_title.get_details_bad_request().map(|b| b
            .field_violations
            .into_iter()
            .map(|v| v.field)
            .collect::<Vec<_>>()),
        Some(vec!["title".to_owned()])
    );
    let too_big = as_teacher
        .list_courses(ListCoursesRequest {
            school_id: hill.id.clone(),
            page_size: 201,
            ..ListCoursesRequest::default()
        })
        .await;
    assert_eq!(code(too_big), Code::InvalidArgument);
    let unknown_status = as_teacher
        .list_courses(ListCoursesRequest {
            school_id: hill.id.clone(),
            status: 9,
            ..ListCoursesRequest::default()
        })
        .await;
    assert_eq!(code(unknown_status), Code::InvalidArgument);
    let bad_token = as_teacher
        .list_courses(ListCoursesRequest {
            school_id: hill.id.clone(),
            page_token: "nope".into(),
            ..ListCoursesRequest::default()
        })
        .await;
    assert_eq!(code(bad_token), Code::InvalidArgument);
    campus.shutdown().await
}
