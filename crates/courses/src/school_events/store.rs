//! The SQL of school events, written once for SQLite and PostgreSQL: events, answers, reminders
//! still to send and calendar feed generations. Every list is one statement on an index.

use campus_store::{Database, Tx, on_pool, on_tx, placeholders};

use super::checks::{Details, MAX_LENGTH};

/// Stored attendance statuses (the contract's `AttendanceStatus` numbers).
pub(crate) const GOING: i64 = 1;
pub(crate) const WAITLISTED: i64 = 2;
pub(crate) const NOT_GOING: i64 = 3;

/// Stored event statuses (the contract's `EventStatus` numbers).
pub(crate) const SCHEDULED: i64 = 1;
pub(crate) const CANCELLED: i64 = 2;

/// An event as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub(crate) id: String,
    pub(crate) school_id: String,
    pub(crate) course_id: String,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) starts_at: i64,
    pub(crate) ends_at: i64,
    pub(crate) time_zone: String,
    pub(crate) place: String,
    pub(crate) link: String,
    pub(crate) capacity: i64,
    pub(crate) status: i64,
    pub(crate) version: i64,
    pub(crate) going: i64,
    pub(crate) waitlisted: i64,
    pub(crate) created_by: String,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

/// A person's answer as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ResponseRow {
    pub(crate) event_id: String,
    pub(crate) user_id: String,
    pub(crate) status: i64,
    pub(crate) position: i64,
    pub(crate) responded_at: i64,
    /// Place on the waitlist (1 = next) when WAITLISTED, else 0; computed when read.
    pub(crate) place: i64,
}

const EVENT_COLUMNS: &str = "id, school_id, course_id, title, description, starts_at, ends_at, \
     time_zone, place, link, capacity, status, version, going, waitlisted, created_by, \
     created_at, updated_at";
/// Answers with each waitlisted person's place, counted in the same statement.
const RESPONSE_SELECT: &str = "SELECT r.event_id, r.user_id, r.status, r.position, \
     r.responded_at, CASE WHEN r.status = 2 THEN (SELECT COUNT(*) FROM event_responses w \
     WHERE w.event_id = r.event_id AND w.status = 2 AND w.position <= r.position) ELSE 0 END \
     AS place FROM event_responses r";

pub(crate) async fn insert_event(tx: &mut Tx, event: &EventRow) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO school_events (id, school_id, course_id, title, description, starts_at, \
             ends_at, time_zone, place, link, capacity, status, version, going, waitlisted, \
             answers, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, $16, \
             $17, $18)",
        )
        .bind(&event.id)
        .bind(&event.school_id)
        .bind(&event.course_id)
        .bind(&event.title)
        .bind(&event.description)
        .bind(event.starts_at)
        .bind(event.ends_at)
        .bind(&event.time_zone)
        .bind(&event.place)
        .bind(&event.link)
        .bind(event.capacity)
        .bind(event.status)
        .bind(event.version)
        .bind(event.going)
        .bind(event.waitlisted)
        .bind(&event.created_by)
        .bind(event.created_at)
        .bind(event.updated_at)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

pub(crate) async fn event(database: &Database, id: &str) -> Result<Option<EventRow>, sqlx::Error> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM school_events WHERE id = $1");
    on_pool!(database, pool => {
        sqlx::query_as::<_, EventRow>(&sql).bind(id).fetch_optional(pool).await
    })
}

/// An event as its write lock returns it, with the number its answer takes.
#[derive(Debug, Clone, sqlx::FromRow)]
struct LockedRow {
    #[sqlx(flatten)]
    event: EventRow,
    answers: i64,
}

/// Takes the event's write lock for the rest of `tx` (a row lock on PostgreSQL; SQLite's
/// transactions already write one at a time) and returns the event with the next number of
/// its answer sequence, which orders the waitlist, in one statement; `None` if there is no
/// such event.
pub(crate) async fn lock_event(
    tx: &mut Tx,
    id: &str,
) -> Result<Option<(EventRow, i64)>, sqlx::Error> {
    let sql = format!(
        "UPDATE school_events SET answers = answers + 1 WHERE id = $1 \
         RETURNING {EVENT_COLUMNS}, answers"
    );
    let locked = on_tx!(tx, conn => {
        sqlx::query_as::<_, LockedRow>(&sql).bind(id).fetch_optional(conn).await
    })?;
    Ok(locked.map(|row| (row.event, row.answers)))
}

/// Replaces a scheduled event's details and moves its version on, under its write lock.
pub(crate) async fn update_details(
    tx: &mut Tx,
    id: &str,
    details: &Details,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE school_events SET title = $2, description = $3, starts_at = $4, ends_at = $5, \
             time_zone = $6, place = $7, link = $8, capacity = $9, version = version + 1, \
             updated_at = $10 WHERE id = $1",
        )
        .bind(id)
        .bind(&details.title)
        .bind(&details.description)
        .bind(details.starts_at)
        .bind(details.ends_at)
        .bind(&details.time_zone)
        .bind(&details.place)
        .bind(&details.link)
        .bind(details.capacity)
        .bind(now)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

/// Marks an event cancelled and moves its version on, under its write lock.
pub(crate) async fn cancel(tx: &mut Tx, id: &str, now: i64) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE school_events SET status = $2, version = version + 1, updated_at = $3 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(CANCELLED)
        .bind(now)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

/// Stores an event's counts of GOING and WAITLISTED people.
pub(crate) async fn set_counts(
    tx: &mut Tx,
    id: &str,
    going: i64,
    waitlisted: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE school_events SET going = $2, waitlisted = $3 WHERE id = $1")
            .bind(id)
            .bind(going)
            .bind(waitlisted)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

/// A person's answer, inside the transaction holding the event's lock.
pub(crate) async fn response_in(
    tx: &mut Tx,
    event_id: &str,
    user_id: &str,
) -> Result<Option<ResponseRow>, sqlx::Error> {
    let sql = format!("{RESPONSE_SELECT} WHERE r.event_id = $1 AND r.user_id = $2");
    on_tx!(tx, conn => {
        sqlx::query_as::<_, ResponseRow>(&sql)
            .bind(event_id)
            .bind(user_id)
            .fetch_optional(conn)
            .await
    })
}

/// Stores a person's answer, replacing an earlier one.
pub(crate) async fn put_response(tx: &mut Tx, response: &ResponseRow) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO event_responses (event_id, user_id, status, position, responded_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id, user_id) DO UPDATE SET \
             status = excluded.status, position = excluded.position, \
             responded_at = excluded.responded_at",
        )
        .bind(&response.event_id)
        .bind(&response.user_id)
        .bind(response.status)
        .bind(response.position)
        .bind(response.responded_at)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

/// The first `count` people of the waitlist, in order.
pub(crate) async fn waitlist_head(
    tx: &mut Tx,
    event_id: &str,
    count: i64,
) -> Result<Vec<String>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_scalar::<_, String>(
            "SELECT user_id FROM event_responses WHERE event_id = $1 AND status = $2 \
             ORDER BY position, user_id LIMIT $3",
        )
        .bind(event_id)
        .bind(WAITLISTED)
        .bind(count)
        .fetch_all(conn)
        .await
    })
}

/// Moves a waitlisted person to GOING.
pub(crate) async fn promote(tx: &mut Tx, event_id: &str, user_id: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE event_responses SET status = $3, position = 0 \
             WHERE event_id = $1 AND user_id = $2",
        )
        .bind(event_id)
        .bind(user_id)
        .bind(GOING)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

/// The answers of `user_id` to `event_ids`.
pub(crate) async fn responses_of(
    database: &Database,
    user_id: &str,
    event_ids: &[&str],
) -> Result<Vec<ResponseRow>, sqlx::Error> {
    if event_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{RESPONSE_SELECT} WHERE r.user_id = $1 AND r.event_id IN ({})",
        placeholders(2, event_ids.len())
    );
    on_pool!(database, pool => {
        let mut query = sqlx::query_as::<_, ResponseRow>(&sql).bind(user_id);
        for id in event_ids {
            query = query.bind(*id);
        }
        query.fetch_all(pool).await
    })
}

/// A page of the people GOING then WAITLISTED, after the cursor (status, position, user).
pub(crate) async fn attendees(
    database: &Database,
    event_id: &str,
    after: (i64, i64, &str),
    limit: u32,
) -> Result<Vec<ResponseRow>, sqlx::Error> {
    let sql = format!(
        "{RESPONSE_SELECT} WHERE r.event_id = $1 AND r.status IN ($2, $3) \
         AND (r.status, r.position, r.user_id) > ($4, $5, $6) \
         ORDER BY r.status, r.position, r.user_id LIMIT $7"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, ResponseRow>(&sql)
            .bind(event_id)
            .bind(GOING)
            .bind(WAITLISTED)
            .bind(after.0)
            .bind(after.1)
            .bind(after.2)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

/// Whose upcoming events a list shows.
#[derive(Debug)]
pub(crate) struct Audience<'a> {
    pub(crate) school_id: &'a str,
    pub(crate) user_id: &'a str,
    /// School admins see every event of the school; others those of the school and of their
    /// courses (taught or enrolled in).
    pub(crate) every_course: bool,
}

/// A page of the events of `audience` that end after `now`, by start then id after `after`.
/// No event lasts longer than [`MAX_LENGTH`], so the index scan starts there rather than at
/// the school's first event ever.
pub(crate) async fn upcoming(
    database: &Database,
    audience: &Audience<'_>,
    now: i64,
    after: (i64, &str),
    limit: u32,
) -> Result<Vec<EventRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM school_events WHERE school_id = $1 AND ends_at > $2 \
         AND starts_at > $8 AND (starts_at, id) > ($3, $4) AND ($5 OR course_id = '' \
         OR course_id IN (SELECT course_id FROM enrollments WHERE user_id = $6) \
         OR course_id IN (SELECT id FROM courses WHERE school_id = $1 AND instructor_id = $6)) \
         ORDER BY starts_at, id LIMIT $7"
    );
    on_pool!(database, pool => {
        sqlx::query_as::<_, EventRow>(&sql)
            .bind(audience.school_id)
            .bind(now)
            .bind(after.0)
            .bind(after.1)
            .bind(audience.every_course)
            .bind(audience.user_id)
            .bind(i64::from(limit))
            .bind(now - MAX_LENGTH)
            .fetch_all(pool)
            .await
    })
}

/// An event in a user's feed, with their answer (GOING or WAITLISTED).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct FeedRow {
    #[sqlx(flatten)]
    pub(crate) event: EventRow,
    pub(crate) answer: i64,
}

/// The latest `limit` events a user is GOING to or waitlisted for that end after `since`, by
/// start: the calendar feed (cancelled ones included, so calendars show them as cancelled).
pub(crate) async fn answered_events(
    database: &Database,
    user_id: &str,
    since: i64,
    limit: i64,
) -> Result<Vec<FeedRow>, sqlx::Error> {
    let columns = EVENT_COLUMNS
        .split(", ")
        .map(|column| format!("e.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns}, r.status AS answer FROM event_responses r \
         JOIN school_events e ON e.id = r.event_id \
         WHERE r.user_id = $1 AND r.status IN ($2, $3) AND e.ends_at > $4 \
         ORDER BY e.starts_at DESC, e.id DESC LIMIT $5"
    );
    let mut rows = on_pool!(database, pool => {
        sqlx::query_as::<_, FeedRow>(&sql)
            .bind(user_id)
            .bind(GOING)
            .bind(WAITLISTED)
            .bind(since)
            .bind(limit)
            .fetch_all(pool)
            .await
    })?;
    rows.reverse();
    Ok(rows)
}

/// The scheduled events of `course_id` that have not ended which `user_id` is going to or
/// waiting for.
pub(crate) async fn answered_course_events(
    tx: &mut Tx,
    course_id: &str,
    user_id: &str,
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query_scalar::<_, String>(
            "SELECT e.id FROM school_events e JOIN event_responses r ON r.event_id = e.id \
             WHERE e.course_id = $1 AND r.user_id = $2 AND r.status IN ($3, $4) \
             AND e.status = $5 AND e.ends_at > $6 ORDER BY e.id",
        )
        .bind(course_id)
        .bind(user_id)
        .bind(GOING)
        .bind(WAITLISTED)
        .bind(SCHEDULED)
        .bind(now)
        .fetch_all(conn)
        .await
    })
}

/// Schedules (or moves) a person's reminder, unless it was sent already.
pub(crate) async fn put_reminder(
    tx: &mut Tx,
    event_id: &str,
    user_id: &str,
    due_at: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO event_reminders (event_id, user_id, due_at) VALUES ($1, $2, $3) \
             ON CONFLICT (event_id, user_id) DO UPDATE SET due_at = excluded.due_at \
             WHERE event_reminders.sent_at IS NULL",
        )
        .bind(event_id)
        .bind(user_id)
        .bind(due_at)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

/// Drops a person's reminder, if not sent yet.
pub(crate) async fn drop_reminder(
    tx: &mut Tx,
    event_id: &str,
    user_id: &str,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "DELETE FROM event_reminders WHERE event_id = $1 AND user_id = $2 \
             AND sent_at IS NULL",
        )
            .bind(event_id)
            .bind(user_id)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

/// Drops every unsent reminder of an event.
pub(crate) async fn drop_reminders(tx: &mut Tx, event_id: &str) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM event_reminders WHERE event_id = $1 AND sent_at IS NULL")
            .bind(event_id)
            .execute(conn)
            .await
            .map(|_| ())
    })
}

/// Moves every unsent reminder of an event to `due_at` (its start moved).
pub(crate) async fn move_reminders(
    tx: &mut Tx,
    event_id: &str,
    due_at: i64,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE event_reminders SET due_at = $2 WHERE event_id = $1 AND sent_at IS NULL",
        )
        .bind(event_id)
        .bind(due_at)
        .execute(conn)
        .await
        .map(|_| ())
    })
}

/// Up to `limit` reminders due at `now`, oldest first.
pub(crate) async fn due_reminders(
    database: &Database,
    now: i64,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    on_pool!(database, pool => {
        sqlx::query_as::<_, (String, String)>(
            "SELECT event_id, user_id FROM event_reminders WHERE sent_at IS NULL \
             AND due_at <= $1 ORDER BY due_at, event_id, user_id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(pool)
        .await
    })
}

/// Takes a due reminder for `tx` by marking it sent: false if another replica took it first,
/// or it was moved later or dropped meanwhile (a replica that loses waits for the winner's
/// commit, then finds the row sent).
pub(crate) async fn claim_reminder(
    tx: &mut Tx,
    event_id: &str,
    user_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE event_reminders SET sent_at = $3 WHERE event_id = $1 AND user_id = $2 \
             AND sent_at IS NULL AND due_at <= $3",
        )
        .bind(event_id)
        .bind(user_id)
        .bind(now)
        .execute(conn)
        .await
        .map(|done| done.rows_affected() == 1)
    })
}

/// The event, read inside a transaction.
pub(crate) async fn event_in(tx: &mut Tx, id: &str) -> Result<Option<EventRow>, sqlx::Error> {
    let sql = format!("SELECT {EVENT_COLUMNS} FROM school_events WHERE id = $1");
    on_tx!(tx, conn => {
        sqlx::query_as::<_, EventRow>(&sql).bind(id).fetch_optional(conn).await
    })
}

/// The generation a user's feed URLs must name (0 until first reset).
pub(crate) async fn feed_generation(
    database: &Database,
    user_id: &str,
) -> Result<i64, sqlx::Error> {
    on_pool!(database, pool => {
        sqlx::query_scalar::<_, i64>("SELECT generation FROM calendar_feeds WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(pool)
            .await
            .map(Option::unwrap_or_default)
    })
}

/// Moves a user's feed generation on, ending every URL of the earlier one; returns the new one.
pub(crate) async fn next_feed_generation(
    database: &Database,
    user_id: &str,
) -> Result<i64, sqlx::Error> {
    on_pool!(database, pool => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO calendar_feeds (user_id, generation) VALUES ($1, 1) \
             ON CONFLICT (user_id) DO UPDATE SET generation = calendar_feeds.generation + 1 \
             RETURNING generation",
        )
        .bind(user_id)
        .fetch_one(pool)
        .await
    })
}
