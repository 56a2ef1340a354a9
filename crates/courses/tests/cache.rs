//! GetCourse and "my courses" are served from the cache, and every write invalidates what it
//! changed, in this server and in another one sharing Redis.

mod common;

use campus_proto::{
    courses::{
        Course, EnrollRequest, GetCourseRequest, ListCoursesForUserRequest, UpdateCourseRequest,
    },
    users::Role,
};
use campus_testkit::{PrivateRedis, TestCampus, TestDatabase, spawn_campus, spawn_replica};
use common::{Error, Person, courses_as, person, published_course, school};

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

/// Two all-in-one servers on one database sharing the Redis at `redis_url`, and a published
/// course both have cached.
async fn two_servers_caching_a_course(
    database: &TestDatabase,
    redis_url: &str,
) -> Result<(TestCampus, TestCampus, Person, Course), Error> {
    let a = spawn_replica(database.url(), redis_url, "").await?;
    let b = spawn_replica(database.url(), redis_url, "").await?;
    let hill = school(&a, "hill").await?;
    let teacher = person(&a, &hill, "teacher@hill.example", Role::Instructor).await?;
    let course = published_course(&a, &teacher, "Physics").await?;
    for server in [&a, &b] {
        assert_eq!(title(server, &teacher, &course).await?, "Physics");
    }
    Ok((a, b, teacher, course))
}

async fn title(server: &TestCampus, reader: &Person, course: &Course) -> Result<String, Error> {
    Ok(courses_as(server, &reader.token)
        .await?
        .get_course(GetCourseRequest {
            course_id: course.id.clone(),
        })
        .await?
        .into_inner()
        .course
        .map(|c| c.title)
        .unwrap_or_default())
}

async fn rename(server: &TestCampus, teacher: &Person, course: &Course) -> Result<(), Error> {
    courses_as(server, &teacher.token)
        .await?
        .update_course(UpdateCourseRequest {
            course_id: course.id.clone(),
            version: course.version,
            title: Some("Physics II".into()),
            ..UpdateCourseRequest::default()
        })
        .await?;
    Ok(())
}

/// The title `server` shows once it shows the new one, or after 30 s of asking.
async fn title_once_renamed(
    server: &TestCampus,
    reader: &Person,
    course: &Course,
) -> Result<String, Error> {
    let mut seen = String::new();
    for _ in 0..1500 {
        seen = title(server, reader, course).await?;
        if seen == "Physics II" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok(seen)
}

#[tokio::test]
async fn an_update_through_one_server_is_seen_by_another_sharing_redis() -> Result<(), Error> {
    let redis = PrivateRedis::start().await?;
    let database = TestDatabase::postgres_always().await?;
    let (a, b, teacher, course) = two_servers_caching_a_course(&database, &redis.url()).await?;
    rename(&a, &teacher, &course).await?;
    assert_eq!(
        title_once_renamed(&b, &teacher, &course).await?,
        "Physics II",
        "server B still serves the old title"
    );
    a.shutdown().await?;
    b.shutdown().await
}

#[tokio::test]
async fn with_redis_down_another_servers_update_is_seen_within_seconds() -> Result<(), Error> {
    let mut redis = PrivateRedis::start().await?;
    let database = TestDatabase::postgres_always().await?;
    let (a, b, teacher, course) = two_servers_caching_a_course(&database, &redis.url()).await?;
    // No invalidation can travel now; B's cached course (TTL 5 min) must not outlive it.
    redis.stop().await?;
    rename(&a, &teacher, &course).await?;
    assert_eq!(
        title_once_renamed(&b, &teacher, &course).await?,
        "Physics II",
        "server B serves the old title until its TTL"
    );
    a.shutdown().await?;
    b.shutdown().await
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
