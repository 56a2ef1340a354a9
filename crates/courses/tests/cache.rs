//! GetCourse and "my courses" are served from the cache, and every write invalidates what it
//! changed, in this server and in another one sharing Redis.

mod common;

use campus_proto::{
    courses::{EnrollRequest, GetCourseRequest, ListCoursesForUserRequest, UpdateCourseRequest},
    users::Role,
};
use campus_testkit::{CampusOptions, TestCampus, TestDatabase, TestRedis, spawn_campus};
use common::{Error, courses_as, person, published_course, school};
use tonic_health::pb::health_check_response::ServingStatus;

fn sample(metrics: &str, labels: &[&str]) -> f64 {
    campus_testkit::metric_sample(metrics, "campus_cache_requests_total", labels).unwrap_or(0.0)
}

#[tokio::test]
async fn reads_hit_the_cache_and_an_update_is_seen_at_once() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill").await?;
    let teacher = person(&campus, &hill, "teacher@hill.example", Role::Instructor).await?;
    let pupil = person(&campus, &hill, "pupil@hill.example", Role::Student).await?;
    let course = published_course(&campus, &teacher, "Biology").await?;
    let mut as_pupil = courses_as(&campus, &pupil.token).await?;
    as_pupil
        .enroll(EnrollRequest {
            course_id: course.id.clone(),
            user_id: String::new(),
        })
        .await?;

    for _ in 0..3 {
        let read = as_pupil
            .get_course(GetCourseRequest {
                course_id: course.id.clone(),
            })
            .await?
            .into_inner();
        assert_eq!(read.course.map(|c| c.title).as_deref(), Some("Biology"));
    }
    let metrics = campus.metrics().await?;
    assert_eq!(
        sample(
            &metrics,
            &[r#"cache="courses""#, r#"level="l1""#, r#"result="miss""#]
        ),
        1.0,
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            &[r#"cache="courses""#, r#"level="l1""#, r#"result="hit""#]
        ),
        2.0
    );

    let mine = as_pupil
        .list_courses_for_user(ListCoursesForUserRequest::default())
        .await?
        .into_inner();
    assert_eq!(
        mine.courses[0].course.as_ref().map(|c| c.title.as_str()),
        Some("Biology")
    );

    courses_as(&campus, &teacher.token)
        .await?
        .update_course(UpdateCourseRequest {
            course_id: course.id.clone(),
            version: course.version,
            title: Some("Biology 101".into()),
            ..UpdateCourseRequest::default()
        })
        .await?;
    let read = as_pupil
        .get_course(GetCourseRequest {
            course_id: course.id.clone(),
        })
        .await?
        .into_inner();
    assert_eq!(read.course.map(|c| c.title).as_deref(), Some("Biology 101"));
    let mine = as_pupil
        .list_courses_for_user(ListCoursesForUserRequest::default())
        .await?
        .into_inner();
    assert_eq!(
        mine.courses[0].course.as_ref().map(|c| c.title.as_str()),
        Some("Biology 101")
    );
    campus.shutdown().await
}

#[tokio::test]
async fn an_update_through_one_server_is_seen_by_another_sharing_redis() -> Result<(), Error> {
    let Some(redis) = TestRedis::from_env() else {
        eprintln!("CAMPUS_TEST_REDIS_URL unset: two servers sharing a cache need Redis");
        return Ok(());
    };
    let database = TestDatabase::preferred().await?;
    let start = || async {
        let campus = TestCampus::start(CampusOptions {
            database_url: Some(database.url().to_owned()),
            args: vec![
                "--redis-url".into(),
                redis.url().to_owned(),
                "--redis-prefix".into(),
                redis.prefix().to_owned(),
            ],
            ..CampusOptions::default()
        })
        .await?;
        campus.wait_for_status("", ServingStatus::Serving).await?;
        Ok::<_, Error>(campus)
    };
    let a = start().await?;
    let b = start().await?;
    let hill = school(&a, "hill").await?;
    let teacher = person(&a, &hill, "teacher@hill.example", Role::Instructor).await?;
    let course = published_course(&a, &teacher, "Physics").await?;
    let get = GetCourseRequest {
        course_id: course.id.clone(),
    };

    // Both servers cache the course.
    for server in [&a, &b] {
        let read = courses_as(server, &teacher.token)
            .await?
            .get_course(get.clone())
            .await?
            .into_inner();
        assert_eq!(read.course.map(|c| c.title).as_deref(), Some("Physics"));
    }
    courses_as(&a, &teacher.token)
        .await?
        .update_course(UpdateCourseRequest {
            course_id: course.id.clone(),
            version: course.version,
            title: Some("Physics II".into()),
            ..UpdateCourseRequest::default()
        })
        .await?;
    let mut seen = String::new();
    for _ in 0..100 {
        seen = courses_as(&b, &teacher.token)
            .await?
            .get_course(get.clone())
            .await?
            .into_inner()
            .course
            .map(|c| c.title)
            .unwrap_or_default();
        if seen == "Physics II" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(seen, "Physics II", "server B still serves the old title");
    a.shutdown().await?;
    b.shutdown().await?;
    redis.clean().await
}

#[tokio::test]
async fn a_cached_list_is_dropped_when_the_learner_enrols() -> Result<(), Error> {
    let campus = spawn_campus().await?;
    let hill = school(&campus, "hill").await?;
    let teacher = person(&campus, &hill, "teacher@hill.example", Role::Instructor).await?;
    let pupil = person(&campus, &hill, "pupil@hill.example", Role::Student).await?;
    let first = published_course(&campus, &teacher, "Art").await?;
    let second = published_course(&campus, &teacher, "Music").await?;
    let mut as_pupil = courses_as(&campus, &pupil.token).await?;
    as_pupil
        .enroll(EnrollRequest {
            course_id: first.id,
            user_id: String::new(),
        })
        .await?;
    assert_eq!(
        as_pupil
            .list_courses_for_user(ListCoursesForUserRequest::default())
            .await?
            .into_inner()
            .courses
            .len(),
        1
    );
    as_pupil
        .enroll(EnrollRequest {
            course_id: second.id,
            user_id: String::new(),
        })
        .await?;
    assert_eq!(
        as_pupil
            .list_courses_for_user(ListCoursesForUserRequest::default())
            .await?
            .into_inner()
            .courses
            .len(),
        2
    );
    campus.shutdown().await
}
