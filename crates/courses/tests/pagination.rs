//! Walking a 250-course catalogue 20 at a time sees every course exactly once, newest first,
//! also when filtered by title.

mod common;

use std::collections::HashSet;

use campus_proto::{
    courses::{CourseStatus, CreateCourseRequest, ListCoursesRequest},
    users::Role,
};
use campus_testkit::spawn_campus;
use common::{Error, courses_as, person, school};

#[tokio::test]
async fn pages_of_20_walk_250_courses_once_each() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill").await?;
    let admin = person(&campus, &hill, "admin@hill.example", Role::SchoolAdmin).await?;
    let mut courses = courses_as(&campus, &admin.token).await?;
    let mut created = Vec::new();
    for n in 0..250 {
        let course = courses
            .create_course(CreateCourseRequest {
                school_id: hill.id.clone(),
                title: if n % 10 == 0 {
                    format!("Chemistry {n}")
                } else {
                    format!("Course {n}")
                },
                ..CreateCourseRequest::default()
            })
            .await?
            .into_inner()
            .course
            .ok_or("no course")?;
        created.push(course.id);
    }

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = courses
            .list_courses(ListCoursesRequest {
                school_id: hill.id.clone(),
                status: CourseStatus::Draft as i32,
                page_size: 20,
                page_token: token.clone(),
                ..ListCoursesRequest::default()
            })
            .await?
            .into_inner();
        pages += 1;
        assert!(page.courses.len() <= 20);
        seen.extend(page.courses.into_iter().map(|course| course.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 13);
    assert_eq!(seen.len(), 250);
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        250,
        "no course twice"
    );
    created.reverse();
    assert_eq!(seen, created, "newest first");

    let chemistry = courses
        .list_courses(ListCoursesRequest {
            school_id: hill.id.clone(),
            title_query: "CHEMISTRY".into(),
            page_size: 200,
            ..ListCoursesRequest::default()
        })
        .await?
        .into_inner()
        .courses;
    assert_eq!(chemistry.len(), 25);
    let wildcard = courses
        .list_courses(ListCoursesRequest {
            school_id: hill.id.clone(),
            title_query: "%".into(),
            ..ListCoursesRequest::default()
        })
        .await?
        .into_inner()
        .courses;
    assert!(
        wildcard.is_empty(),
        "LIKE wildcards in the query are matched literally"
    );
    campus.shutdown().await
}
