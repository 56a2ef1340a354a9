//! The courses service's SQL, written once for SQLite and PostgreSQL. Every list is one
//! statement whatever its page size (no N+1), on an index shown in the migrations.

use campus_store::{Database, Tx, on_pool, on_tx, placeholders};

pub(crate) use campus_store::now_micros;

/// A course as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CourseRow {
    pub(crate) id: String,
    pub(crate) school_id: String,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) instructor_id: String,
    pub(crate) status: i64,
    pub(crate) lesson_count: i64,
    pub(crate) version: i64,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) published_at: Option<i64>,
    pub(crate) archived_at: Option<i64>,
}

/// A lesson as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct LessonRow {
    pub(crate) id: String,
    pub(crate) course_id: String,
    pub(crate) title: String,
    pub(crate) content: String,
    pub(crate) position: i64,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

/// An enrolment as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct EnrollmentRow {
    pub(crate) id: String,
    pub(crate) course_id: String,
    pub(crate) user_id: String,
    pub(crate) school_id: String,
    pub(crate) enrolled_by: String,
    pub(crate) enrolled_at: i64,
}

/// An enrolment with its course, for "my courses" (one join, not a query per course).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct EnrolledCourseRow {
    pub(crate) enrollment_id: String,
    pub(crate) enrolled_at: i64,
    #[sqlx(flatten)]
    pub(crate) course: CourseRow,
}

const COURSE_COLUMNS: &str = "id, school_id, title, description, instructor_id, status, lesson_count, \
                              version, created_at, updated_at, published_at, archived_at";
const LESSON_COLUMNS: &str = "id, course_id, title, content, position, created_at, updated_at";
const ENROLLMENT_COLUMNS: &str = "id, course_id, user_id, school_id, enrolled_by, enrolled_at";

pub(crate) async fn insert_course(tx: &mut Tx, course: &CourseRow) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO courses (id, school_id, title, title_search, description, instructor_id, \
             status, lesson_count, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&course.id)
        .bind(&course.school_id)
        .bind(&course.title)
        .bind(course.title.to_lowercase())
        .bind(&course.description)
        .bind(&course.instructor_id)
        .bind(course.status)
        .bind(course.lesson_count)
        .bind(course.version)
        .bind(course.created_at)
        .bind(course.updated_at)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

pub(crate) async fn course(
    database: &Database,
    id: &str,
) -> Result<Option<CourseRow>, sqlx::Error> {
    let sql = format!("SELECT {COURSE_COLUMNS} FROM courses WHERE id = $1");
    on_pool!(database, pool => {
        sqlx::query_as::<_, CourseRow>(&sql).bind(id).fetch_optional(pool).await
    })
}

/// The course, read inside a write transaction.
pub(crate) async fn course_in(tx: &mut Tx, id: &str) -> Result<Option<CourseRow>, sqlx::Error> {
    let sql = format!("SELECT {COURSE_COLUMNS} FROM courses WHERE id = $1");
    on_tx!(tx, conn => {
        sqlx::query_as::<_, CourseRow>(&sql).bind(id).fetch_optional(conn).await
    })
}

/// Filters of ListCourses; empty strings and 0 mean "any".
#[derive(Debug, Default)]
pub(crate) struct CourseFilter<'a> {
    pub(crate) school_id: &'a str,
    pub(crate) status: i64,
    pub(crate) instructor_id: &'a str,
    /// Lower-cased text the title must contain.
    pub(crate) title_contains: &'a str,
    /// Only ids below this one (the cursor); empty for the first page.
    pub(crate) before_id: &'a str,
}

/// One page of a school's courses, newest first.
pub(crate) async fn list_courses(
    database: &Database,
    filter: &CourseFilter<'_>,
    limit: u32,
) -> Result<Vec<CourseRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COURSE_COLUMNS} FROM courses \
         WHERE school_id = $1 AND ($2 = 0 OR status = $2) AND ($3 = '' OR instructor_id = $3) \
         AND ($4 = '' OR title_search LIKE $5 ESCAPE '\\') AND ($6 = '' OR id < $6) \
         ORDER BY id DESC LIMIT $7"
    );
    let escaped = filter
        .title_contains
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    on_pool!(database, pool => {
        sqlx::query_as::<_, CourseRow>(&sql)
            .bind(filter.school_id)
            .bind(filter.status)
            .bind(filter.instructor_id)
            .bind(filter.title_contains)
            .bind(&pattern)
            .bind(filter.before_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

/// Writes a course's editable fields if its version is still `expected_version`; bumps the
/// version. Returns whether it was written.
pub(crate) async fn update_course(
    tx: &mut Tx,
    course: &CourseRow,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE courses SET title = $1, title_search = $2, description = $3, instructor_id = $4, \
             status = $5, published_at = $6, archived_at = $7, updated_at = $8, version = version + 1 \
             WHERE id = $9 AND version = $10",
        )
        .bind(&course.title)
        .bind(course.title.to_lowercase())
        .bind(&course.description)
        .bind(&course.instructor_id)
        .bind(course.status)
        .bind(course.published_at)
        .bind(course.archived_at)
        .bind(course.updated_at)
        .bind(&course.id)
        .bind(expected_version)
        .execute(conn)
        .await
        .map(|done| done.rows_affected() == 1)
    })
}

/// Adds `delta` to a course's lesson count (lesson changes do not bump the version).
pub(crate) async fn add_lesson_count(
    tx: &mut Tx,
    course_id: &str,
    delta: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE courses SET lesson_count = lesson_count + $1, updated_at = $2 WHERE id = $3")
            .bind(delta)
            .bind(now)
            .bind(course_id)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

/// Inserts a lesson at `position`, moving the lessons at and after it down one.
pub(crate) async fn insert_lesson(tx: &mut Tx, lesson: &LessonRow) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE lessons SET position = position + 1 WHERE course_id = $1 AND position >= $2")
            .bind(&lesson.course_id)
            .bind(lesson.position)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO lessons (id, course_id, title, content, position, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&lesson.id)
        .bind(&lesson.course_id)
        .bind(&lesson.title)
        .bind(&lesson.content)
        .bind(lesson.position)
        .bind(lesson.created_at)
        .bind(lesson.updated_at)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    })
}

/// Every lesson id of a course, in order.
pub(crate) async fn lesson_ids_in(
    tx: &mut Tx,
    course_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT id FROM lessons WHERE course_id = $1 ORDER BY position")
            .bind(course_id)
            .fetch_all(conn)
            .await
    })
}

/// Sets every lesson's position from `ordered_ids` in one statement.
pub(crate) async fn reorder_lessons(
    tx: &mut Tx,
    course_id: &str,
    ordered_ids: &[String],
    now: i64,
) -> Result<(), sqlx::Error> {
    if ordered_ids.is_empty() {
        return Ok(());
    }
    let cases: String = (0..ordered_ids.len())
        .map(|n| format!("WHEN ${} THEN {}", n + 3, n + 1))
        .collect::<Vec<_>>()
        .join(" ");
    let sql = format!(
        "UPDATE lessons SET position = CASE id {cases} END, updated_at = $2 WHERE course_id = $1 AND id IN ({})",
        placeholders(3, ordered_ids.len())
    );
    on_tx!(tx, conn => {
        let mut query = sqlx::query(&sql).bind(course_id).bind(now);
        for id in ordered_ids {
            query = query.bind(id);
        }
        query.execute(conn).await.map(|_| ())
    })
}

/// Sets a lesson's title and content where given; returns it as changed, or `None` when the
/// course has no such lesson.
pub(crate) async fn update_lesson(
    tx: &mut Tx,
    course_id: &str,
    lesson_id: &str,
    title: Option<&str>,
    content: Option<&str>,
    now: i64,
) -> Result<Option<LessonRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE lessons SET title = COALESCE($3, title), content = COALESCE($4, content), \
         updated_at = $5 WHERE id = $1 AND course_id = $2 RETURNING {LESSON_COLUMNS}"
    );
    on_tx!(tx, conn => {
        sqlx::query_as::<_, LessonRow>(&sql)
            .bind(lesson_id)
            .bind(course_id)
            .bind(title)
            .bind(content)
            .bind(now)
            .fetch_optional(conn)
            .await
    })
}

/// Removes a lesson and closes the gap; returns whether it was there.
pub(crate) async fn remove_lesson(
    tx: &mut Tx,
    course_id: &str,
    lesson_id: &str,
) -> Result<bool, sqlx::Error> {
    on_tx!(tx, conn => {
        let position: Option<i64> = sqlx::query_scalar("SELECT position FROM lessons WHERE id = $1 AND course_id = $2")
            .bind(lesson_id)
            .bind(course_id)
            .fetch_optional(&mut *conn)
            .await?;
        match position {
            None => Ok(false),
            Some(position) => {
                sqlx::query("DELETE FROM lessons WHERE id = $1")
                    .bind(lesson_id)
                    .execute(&mut *conn)
                    .await?;
                // Its materials stay with the course.
                sqlx::query("UPDATE resources SET lesson_id = '' WHERE course_id = $1 AND lesson_id = $2")
                    .bind(course_id)
                    .bind(lesson_id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("UPDATE lessons SET position = position - 1 WHERE course_id = $1 AND position > $2")
                    .bind(course_id)
                    .bind(position)
                    .execute(&mut *conn)
                    .await
                    .map(|_| true)
            }
        }
    })
}

/// One page of a course's lessons in order, after position `after`.
pub(crate) async fn list_lessons(
    database: &Database,
    course_id: &str,
    after: i64,
    limit: u32,
) -> Result<Vec<LessonRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {LESSON_COLUMNS} FROM lessons WHERE course_id = $1 AND position > $2 ORDER BY position LIMIT $3"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, LessonRow>(&sql)
            .bind(course_id)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

/// Lessons by id within a course, for answering AddLesson and ReorderLessons.
pub(crate) async fn lessons_in(
    tx: &mut Tx,
    course_id: &str,
) -> Result<Vec<LessonRow>, sqlx::Error> {
    let sql =
        format!("SELECT {LESSON_COLUMNS} FROM lessons WHERE course_id = $1 ORDER BY position");
    on_tx!(tx, conn => {
        sqlx::query_as::<_, LessonRow>(&sql).bind(course_id).fetch_all(conn).await
    })
}

/// Inserts an enrolment unless the user already has one; returns the stored enrolment and
/// whether it is new.
pub(crate) async fn enroll(
    tx: &mut Tx,
    enrollment: &EnrollmentRow,
) -> Result<(EnrollmentRow, bool), sqlx::Error> {
    let select = format!(
        "SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE course_id = $1 AND user_id = $2"
    );
    on_tx!(tx, conn => {
        let inserted = sqlx::query(
            "INSERT INTO enrollments (id, course_id, user_id, school_id, enrolled_by, enrolled_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (course_id, user_id) DO NOTHING",
        )
        .bind(&enrollment.id)
        .bind(&enrollment.course_id)
        .bind(&enrollment.user_id)
        .bind(&enrollment.school_id)
        .bind(&enrollment.enrolled_by)
        .bind(enrollment.enrolled_at)
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1;
        let stored = sqlx::query_as::<_, EnrollmentRow>(&select)
            .bind(&enrollment.course_id)
            .bind(&enrollment.user_id)
            .fetch_one(&mut *conn)
            .await?;
        Ok((stored, inserted))
    })
}

/// Removes a user's enrolment; returns it if there was one.
pub(crate) async fn unenroll(
    tx: &mut Tx,
    course_id: &str,
    user_id: &str,
) -> Result<Option<EnrollmentRow>, sqlx::Error> {
    let select = format!(
        "SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE course_id = $1 AND user_id = $2"
    );
    on_tx!(tx, conn => {
        let existing = sqlx::query_as::<_, EnrollmentRow>(&select)
            .bind(course_id)
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
        if existing.is_some() {
            sqlx::query("DELETE FROM enrollments WHERE course_id = $1 AND user_id = $2")
                .bind(course_id)
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
        }
        Ok(existing)
    })
}

/// One page of enrolments by course or by user (`column`), newest first, in one school.
pub(crate) async fn list_enrollments(
    database: &Database,
    by_course: bool,
    value: &str,
    school_id: &str,
    before_id: &str,
    limit: u32,
) -> Result<Vec<EnrollmentRow>, sqlx::Error> {
    let column = if by_course { "course_id" } else { "user_id" };
    let sql = format!(
        "SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE {column} = $1 AND ($2 = '' OR school_id = $2) \
         AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, EnrollmentRow>(&sql)
            .bind(value)
            .bind(school_id)
            .bind(before_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

/// One page of a user's enrolments with their courses (one join), newest enrolment first.
pub(crate) async fn enrolled_courses(
    database: &Database,
    user_id: &str,
    school_id: &str,
    before_id: &str,
    limit: u32,
) -> Result<Vec<EnrolledCourseRow>, sqlx::Error> {
    let sql = "SELECT e.id AS enrollment_id, e.enrolled_at, c.id, c.school_id, c.title, c.description, \
               c.instructor_id, c.status, c.lesson_count, c.version, c.created_at, c.updated_at, \
               c.published_at, c.archived_at \
               FROM enrollments e JOIN courses c ON c.id = e.course_id \
               WHERE e.user_id = $1 AND ($2 = '' OR e.school_id = $2) AND ($3 = '' OR e.id < $3) \
               ORDER BY e.id DESC LIMIT $4";
    on_pool!(database, pool => {
        sqlx::query_as::<_, EnrolledCourseRow>(sql)
            .bind(user_id)
            .bind(school_id)
            .bind(before_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

/// Whether a user is enrolled in a course.
pub(crate) async fn is_enrolled(
    database: &Database,
    course_id: &str,
    user_id: &str,
) -> Result<bool, sqlx::Error> {
    on_pool!(database, pool => {
        sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM enrollments WHERE course_id = $1 AND user_id = $2",
        )
        .bind(course_id)
        .bind(user_id)
        .fetch_one(pool)
        .await
        .map(|count| count > 0)
    })
}
