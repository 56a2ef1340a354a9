//! UpdateLesson: the course's staff change a lesson's title or content in place; the field
//! left unset keeps its value; bad input, other schools, learners and unknown lessons are
//! refused with their codes.

mod common;

use campus_proto::{
    courses::{
        AddLessonRequest, ArchiveCourseRequest, GetCourseRequest, ListLessonsRequest,
        UpdateLessonRequest,
    },
    users::Role,
};
use campus_testkit::spawn_campus;
use common::{Error, code, courses_as, person, published_course, school};
use tonic::Code;

#[tokio::test]
async fn staff_edit_a_lesson_in_place_and_others_are_refused() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill").await?;
    let vale = school(&campus, "vale").await?;
    let teacher = person(&campus, &hill, "teacher@hill.example", Role::Instructor).await?;
    let pupil = person(&campus, &hill, "pupil@hill.example", Role::Student).await?;
    let stranger = person(&campus, &vale, "teacher@vale.example", Role::Instructor).await?;
    let course = published_course(&campus, &teacher, "Algebra").await?;
    let mut as_teacher = courses_as(&campus, &teacher.token).await?;
    for title in ["Expressions", "Equations"] {
        as_teacher
            .add_lesson(AddLessonRequest {
                request_id: format!("add-{title}"),
                course_id: course.id.clone(),
                title: title.into(),
                content: format!("{title}: notes"),
                position: None,
            })
            .await?;
    }
    let lessons = as_teacher
        .list_lessons(ListLessonsRequest {
            course_id: course.id.clone(),
            ..ListLessonsRequest::default()
        })
        .await?
        .into_inner()
        .lessons;
    let first = lessons.first().ok_or("no lesson")?;

    let edit = |title: Option<&str>, content: Option<&str>| UpdateLessonRequest {
        course_id: course.id.clone(),
        lesson_id: first.id.clone(),
        title: title.map(str::to_owned),
        content: content.map(str::to_owned),
    };
    let renamed = as_teacher
        .update_lesson(edit(Some("Algebraic expressions"), None))
        .await?
        .into_inner()
        .lesson
        .ok_or("no lesson")?;
    assert_eq!(renamed.title, "Algebraic expressions");
    assert_eq!(
        renamed.content, "Expressions: notes",
        "unset content is kept"
    );
    assert_eq!(renamed.position, 1, "the position is kept");
    let rewritten = as_teacher
        .update_lesson(edit(None, Some("New notes")))
        .await?
        .into_inner()
        .lesson
        .ok_or("no lesson")?;
    assert_eq!(
        (rewritten.title.as_str(), rewritten.content.as_str()),
        ("Algebraic expressions", "New notes")
    );
    let listed = as_teacher
        .list_lessons(ListLessonsRequest {
            course_id: course.id.clone(),
            ..ListLessonsRequest::default()
        })
        .await?
        .into_inner()
        .lessons;
    assert_eq!(
        listed.iter().map(|l| l.title.as_str()).collect::<Vec<_>>(),
        ["Algebraic expressions", "Equations"],
        "the list shows the change at once"
    );

    assert_eq!(
        code(as_teacher.update_lesson(edit(Some("  "), None)).await),
        Code::InvalidArgument
    );
    assert_eq!(
        code(
            as_teacher
                .update_lesson(UpdateLessonRequest {
                    lesson_id: "no-such-lesson".into(),
                    ..edit(Some("Title"), None)
                })
                .await
        ),
        Code::NotFound
    );
    let mut as_pupil = courses_as(&campus, &pupil.token).await?;
    assert_eq!(
        code(as_pupil.update_lesson(edit(Some("Mine"), None)).await),
        Code::PermissionDenied
    );
    let mut as_stranger = courses_as(&campus, &stranger.token).await?;
    assert_eq!(
        code(as_stranger.update_lesson(edit(Some("Theirs"), None)).await),
        Code::NotFound,
        "another school's course is not there for them"
    );

    let version = as_teacher
        .get_course(GetCourseRequest {
            course_id: course.id.clone(),
        })
        .await?
        .into_inner()
        .course
        .ok_or("no course")?
        .version;
    as_teacher
        .archive_course(ArchiveCourseRequest {
            course_id: course.id.clone(),
            version,
        })
        .await?;
    assert_eq!(
        code(as_teacher.update_lesson(edit(Some("Too late"), None)).await),
        Code::FailedPrecondition
    );
    campus.shutdown().await
}
