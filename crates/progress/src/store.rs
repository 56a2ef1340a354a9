//! The progress service's SQL, written once for SQLite and PostgreSQL. Batch reads and
//! writes are one statement each (BatchGetProgress, the class's enrolment check, the marks'
//! upsert), and summaries are aggregated by the database.

use campus_store::{Database, MAX_PARAMETERS, Tx, on_pool, on_tx, placeholders, value_rows};

pub(crate) use campus_store::now_micros;

/// What progress knows of a course.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CourseFacts {
    pub(crate) course_id: String,
    pub(crate) school_id: String,
    pub(crate) instructor_id: String,
    pub(crate) lesson_count: i64,
}

/// A learner's progress record with the course's lesson count.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ProgressRow {
    pub(crate) user_id: String,
    pub(crate) course_id: String,
    pub(crate) school_id: String,
    pub(crate) enrolled: bool,
    pub(crate) completed_lessons: i64,
    pub(crate) last_activity_at: Option<i64>,
    pub(crate) lesson_count: Option<i64>,
}

/// A learner's state on a lesson.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct LessonRow {
    pub(crate) user_id: String,
    pub(crate) course_id: String,
    pub(crate) lesson_id: String,
    pub(crate) state: i64,
    pub(crate) started_at: i64,
    pub(crate) completed_at: Option<i64>,
}

/// A class session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SessionRow {
    pub(crate) id: String,
    pub(crate) school_id: String,
    pub(crate) course_id: String,
    pub(crate) title: String,
    pub(crate) session_date: String,
    pub(crate) starts_at: i64,
    pub(crate) ends_at: Option<i64>,
    pub(crate) created_by: String,
    pub(crate) created_at: i64,
}

/// A student's mark in a session.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct MarkRow {
    pub(crate) session_id: String,
    pub(crate) student_id: String,
    pub(crate) course_id: String,
    pub(crate) school_id: String,
    pub(crate) session_date: String,
    pub(crate) status: i64,
    pub(crate) note: String,
    pub(crate) marked_by: String,
    pub(crate) marked_at: i64,
}

/// Counts of one summary group.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SummaryRow {
    pub(crate) group_key: String,
    pub(crate) school_id: String,
    pub(crate) total: i64,
    pub(crate) present: i64,
    pub(crate) absent: i64,
    pub(crate) late: i64,
    pub(crate) excused: i64,
}

/// The lesson count is a subquery, one primary-key lookup a row: as a join, PostgreSQL's
/// planner hashed the whole `course_facts` table for a page of ten courses.
const PROGRESS_SELECT: &str = "SELECT p.user_id, p.course_id, p.school_id, p.enrolled, p.completed_lessons, \
     p.last_activity_at, \
     (SELECT f.lesson_count FROM course_facts f WHERE f.course_id = p.course_id) AS lesson_count \
     FROM course_progress p";
const LESSON_COLUMNS: &str = "user_id, course_id, lesson_id, state, started_at, completed_at";
const SESSION_COLUMNS: &str =
    "id, school_id, course_id, title, session_date, starts_at, ends_at, created_by, created_at";
const MARK_COLUMNS: &str = "session_id, student_id, course_id, school_id, session_date, status, note, marked_by, marked_at";

/// Stores what a course event says, unless a newer event was applied already.
pub(crate) async fn upsert_course_facts(
    tx: &mut Tx,
    facts: &CourseFacts,
    changed_at: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO course_facts (course_id, school_id, instructor_id, lesson_count, updated_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (course_id) DO UPDATE SET \
             school_id = excluded.school_id, instructor_id = excluded.instructor_id, \
             lesson_count = excluded.lesson_count, updated_at = excluded.updated_at \
             WHERE course_facts.updated_at <= excluded.updated_at",
        )
        .bind(&facts.course_id)
        .bind(&facts.school_id)
        .bind(&facts.instructor_id)
        .bind(facts.lesson_count)
        .bind(changed_at)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

pub(crate) async fn course_facts(
    database: &Database,
    course_id: &str,
) -> Result<Option<CourseFacts>, sqlx::Error> {
    on_pool!(database, pool => {
        sqlx::query_as::<_, CourseFacts>(
            "SELECT course_id, school_id, instructor_id, lesson_count FROM course_facts WHERE course_id = $1",
        )
        .bind(course_id)
        .fetch_optional(pool)
        .await
    })
}

/// Opens (`enrolled`) or archives a learner's progress record in a course, as an enrolment
/// event at `changed_at` says, unless a newer enrolment event was applied already. An
/// archived record keeps its progress, for history and a later re-enrolment.
pub(crate) async fn set_enrolled(
    tx: &mut Tx,
    user_id: &str,
    course_id: &str,
    school_id: &str,
    enrolled: bool,
    changed_at: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO course_progress (user_id, course_id, school_id, enrolled, completed_lessons, \
             opened_at, enrollment_changed_at) VALUES ($1, $2, $3, $4, 0, $5, $5) \
             ON CONFLICT (user_id, course_id) DO UPDATE SET enrolled = excluded.enrolled, \
             enrollment_changed_at = excluded.enrollment_changed_at \
             WHERE course_progress.enrollment_changed_at <= excluded.enrollment_changed_at",
        )
        .bind(user_id)
        .bind(course_id)
        .bind(school_id)
        .bind(enrolled)
        .bind(changed_at)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

pub(crate) async fn progress(
    database: &Database,
    user_id: &str,
    course_id: &str,
) -> Result<Option<ProgressRow>, sqlx::Error> {
    let sql = format!("{PROGRESS_SELECT} WHERE p.user_id = $1 AND p.course_id = $2");
    on_pool!(database, pool => {
        sqlx::query_as::<_, ProgressRow>(&sql).bind(user_id).bind(course_id).fetch_optional(pool).await
    })
}

pub(crate) async fn progress_in(
    tx: &mut Tx,
    user_id: &str,
    course_id: &str,
) -> Result<Option<ProgressRow>, sqlx::Error> {
    let sql = format!("{PROGRESS_SELECT} WHERE p.user_id = $1 AND p.course_id = $2");
    on_tx!(tx, conn => {
        sqlx::query_as::<_, ProgressRow>(&sql).bind(user_id).bind(course_id).fetch_optional(conn).await
    })
}

/// One learner's records in many courses, in one statement.
pub(crate) async fn batch_progress(
    database: &Database,
    user_id: &str,
    course_ids: &[String],
) -> Result<Vec<ProgressRow>, sqlx::Error> {
    if course_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{PROGRESS_SELECT} WHERE p.user_id = $1 AND p.course_id IN ({})",
        placeholders(2, course_ids.len())
    );
    on_pool!(database, pool => {
        let mut query = sqlx::query_as::<_, ProgressRow>(&sql).bind(user_id);
        for id in course_ids {
            query = query.bind(id);
        }
        query.fetch_all(pool).await
    })
}

pub(crate) async fn lesson_in(
    tx: &mut Tx,
    user_id: &str,
    course_id: &str,
    lesson_id: &str,
) -> Result<Option<LessonRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {LESSON_COLUMNS} FROM lesson_progress WHERE user_id = $1 AND course_id = $2 AND lesson_id = $3"
    );
    on_tx!(tx, conn => {
        sqlx::query_as::<_, LessonRow>(&sql).bind(user_id).bind(course_id).bind(lesson_id).fetch_optional(conn).await
    })
}

/// Stores a lesson's state and the course record's completed count and last activity.
pub(crate) async fn save_lesson(
    tx: &mut Tx,
    lesson: &LessonRow,
    newly_completed: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO lesson_progress (user_id, course_id, lesson_id, state, started_at, completed_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, course_id, lesson_id) DO UPDATE SET \
             state = excluded.state, completed_at = excluded.completed_at",
        )
        .bind(&lesson.user_id)
        .bind(&lesson.course_id)
        .bind(&lesson.lesson_id)
        .bind(lesson.state)
        .bind(lesson.started_at)
        .bind(lesson.completed_at)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE course_progress SET completed_lessons = completed_lessons + $1, last_activity_at = $2 \
             WHERE user_id = $3 AND course_id = $4",
        )
        .bind(i64::from(newly_completed))
        .bind(now)
        .bind(&lesson.user_id)
        .bind(&lesson.course_id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
    })
}

pub(crate) async fn lessons_of(
    database: &Database,
    user_id: &str,
    course_id: &str,
) -> Result<Vec<LessonRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {LESSON_COLUMNS} FROM lesson_progress WHERE user_id = $1 AND course_id = $2 ORDER BY started_at, lesson_id"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, LessonRow>(&sql).bind(user_id).bind(course_id).fetch_all(pool).await
    })
}

pub(crate) async fn insert_session(tx: &mut Tx, session: &SessionRow) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO attendance_sessions (id, school_id, course_id, title, session_date, starts_at, ends_at, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&session.id)
        .bind(&session.school_id)
        .bind(&session.course_id)
        .bind(&session.title)
        .bind(&session.session_date)
        .bind(session.starts_at)
        .bind(session.ends_at)
        .bind(&session.created_by)
        .bind(session.created_at)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

pub(crate) async fn session(
    database: &Database,
    id: &str,
) -> Result<Option<SessionRow>, sqlx::Error> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM attendance_sessions WHERE id = $1");
    on_pool!(database, pool => {
        sqlx::query_as::<_, SessionRow>(&sql).bind(id).fetch_optional(pool).await
    })
}

/// One page of a course's sessions by start, within dates (empty = any), after a cursor.
pub(crate) async fn list_sessions(
    database: &Database,
    course_id: &str,
    dates: (&str, &str),
    after: (i64, &str),
    limit: u32,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM attendance_sessions WHERE course_id = $1 \
         AND ($2 = '' OR session_date >= $2) AND ($3 = '' OR session_date <= $3) \
         AND (starts_at > $4 OR (starts_at = $4 AND id > $5)) ORDER BY starts_at, id LIMIT $6"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, SessionRow>(&sql)
            .bind(course_id)
            .bind(dates.0)
            .bind(dates.1)
            .bind(after.0)
            .bind(after.1)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

/// Which of `student_ids` are enrolled in the course, in one statement.
pub(crate) async fn enrolled_students(
    tx: &mut Tx,
    course_id: &str,
    student_ids: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    if student_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT user_id FROM course_progress WHERE course_id = $1 AND enrolled = $2 AND user_id IN ({})",
        placeholders(3, student_ids.len())
    );
    on_tx!(tx, conn => {
        let mut query = sqlx::query_scalar::<_, String>(&sql).bind(course_id).bind(true);
        for id in student_ids {
            query = query.bind(id);
        }
        query.fetch_all(conn).await
    })
}

/// The session's current marks of these students, in one statement.
pub(crate) async fn marks_of(
    tx: &mut Tx,
    session_id: &str,
    student_ids: &[String],
) -> Result<Vec<MarkRow>, sqlx::Error> {
    if student_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {MARK_COLUMNS} FROM attendance_marks WHERE session_id = $1 AND student_id IN ({})",
        placeholders(2, student_ids.len())
    );
    on_tx!(tx, conn => {
        let mut query = sqlx::query_as::<_, MarkRow>(&sql).bind(session_id);
        for id in student_ids {
            query = query.bind(id);
        }
        query.fetch_all(conn).await
    })
}

/// Inserts or replaces marks, many rows per statement.
pub(crate) async fn upsert_marks(tx: &mut Tx, marks: &[MarkRow]) -> Result<(), sqlx::Error> {
    for chunk in marks.chunks(MAX_PARAMETERS / 9) {
        let sql = format!(
            "INSERT INTO attendance_marks ({MARK_COLUMNS}) VALUES {} \
             ON CONFLICT (session_id, student_id) DO UPDATE SET status = excluded.status, \
             note = excluded.note, marked_by = excluded.marked_by, marked_at = excluded.marked_at",
            value_rows(chunk.len(), 9)
        );
        let sql = tx.many_parameters(&sql);
        on_tx!(tx, conn => {
            let mut query = sqlx::query(&sql);
            for mark in chunk {
                query = query
                    .bind(&mark.session_id)
                    .bind(&mark.student_id)
                    .bind(&mark.course_id)
                    .bind(&mark.school_id)
                    .bind(&mark.session_date)
                    .bind(mark.status)
                    .bind(&mark.note)
                    .bind(&mark.marked_by)
                    .bind(mark.marked_at);
            }
            query.execute(conn).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Which marks ListAttendance selects.
#[derive(Debug)]
pub(crate) enum MarkScope<'a> {
    /// One session.
    Session(&'a str),
    /// One student over dates, within a school (`""` = any school), in the courses of one
    /// instructor (`""` = any course).
    Student {
        student_id: &'a str,
        school_id: &'a str,
        taught_by: &'a str,
        from: &'a str,
        to: &'a str,
    },
    /// One course over dates.
    Course {
        course_id: &'a str,
        from: &'a str,
        to: &'a str,
    },
}

/// One page of marks ordered by (date, session, student) after the cursor, with a status
/// filter (0 = any).
pub(crate) async fn list_marks(
    database: &Database,
    scope: &MarkScope<'_>,
    status: i64,
    after: (&str, &str, &str),
    limit: u32,
) -> Result<Vec<MarkRow>, sqlx::Error> {
    let (condition, first, second, third, fourth, fifth) = match scope {
        MarkScope::Session(session_id) => (
            "session_id = $1 AND $2 = $2 AND $3 = $3 AND $4 = $4 AND $10 = $10",
            *session_id,
            "",
            "",
            "",
            "",
        ),
        MarkScope::Student {
            student_id,
            school_id,
            taught_by,
            from,
            to,
        } => (
            "student_id = $1 AND ($2 = '' OR school_id = $2) AND session_date >= $3 AND session_date <= $4 \
             AND ($10 = '' OR course_id IN (SELECT course_id FROM course_facts WHERE instructor_id = $10))",
            *student_id,
            *school_id,
            *from,
            *to,
            *taught_by,
        ),
        MarkScope::Course {
            course_id,
            from,
            to,
        } => (
            "course_id = $1 AND $2 = $2 AND session_date >= $3 AND session_date <= $4 AND $10 = $10",
            *course_id,
            "",
            *from,
            *to,
            "",
        ),
    };
    let sql = format!(
        "SELECT {MARK_COLUMNS} FROM attendance_marks WHERE {condition} AND ($5 = 0 OR status = $5) \
         AND (session_date > $6 OR (session_date = $6 AND (session_id > $7 OR (session_id = $7 AND student_id > $8)))) \
         ORDER BY session_date, session_id, student_id LIMIT $9"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, MarkRow>(&sql)
            .bind(first)
            .bind(second)
            .bind(third)
            .bind(fourth)
            .bind(status)
            .bind(after.0)
            .bind(after.1)
            .bind(after.2)
            .bind(i64::from(limit))
            .bind(fifth)
            .fetch_all(pool)
            .await
    })
}

/// How summary rows are grouped.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Grouping {
    Course,
    School,
    Day,
}

/// Attendance counts over dates, grouped in SQL; `school_id` and `course_id` `""` = any.
pub(crate) async fn summary(
    database: &Database,
    grouping: Grouping,
    school_id: &str,
    course_id: &str,
    from: &str,
    to: &str,
) -> Result<Vec<SummaryRow>, sqlx::Error> {
    let (key, school, group) = match grouping {
        Grouping::Course => ("course_id", "school_id", "course_id, school_id"),
        Grouping::School => ("school_id", "school_id", "school_id"),
        Grouping::Day => ("session_date", "''", "session_date"),
    };
    let sql = format!(
        "SELECT {key} AS group_key, {school} AS school_id, COUNT(*) AS total, \
         SUM(CASE WHEN status = 1 THEN 1 ELSE 0 END) AS present, \
         SUM(CASE WHEN status = 2 THEN 1 ELSE 0 END) AS absent, \
         SUM(CASE WHEN status = 3 THEN 1 ELSE 0 END) AS late, \
         SUM(CASE WHEN status = 4 THEN 1 ELSE 0 END) AS excused \
         FROM attendance_marks WHERE ($1 = '' OR school_id = $1) AND ($2 = '' OR course_id = $2) \
         AND session_date >= $3 AND session_date <= $4 GROUP BY {group} ORDER BY {key}"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, SummaryRow>(&sql)
            .bind(school_id)
            .bind(course_id)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
    })
}
