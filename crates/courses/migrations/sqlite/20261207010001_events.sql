-- School events: announcements of a school or of one course, the answers of their audience
-- (going, waitlisted in order, not going), the reminders still to send, and each user's
-- calendar feed generation. Times are unix epoch microseconds.

CREATE TABLE school_events (
    id          TEXT    PRIMARY KEY,
    school_id   TEXT   NOT NULL,
    -- Empty for an event of the whole school.
    course_id   TEXT   NOT NULL,
    title       TEXT   NOT NULL,
    description TEXT   NOT NULL,
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    -- IANA name the event is shown in.
    time_zone   TEXT   NOT NULL,
    place       TEXT   NOT NULL,
    link        TEXT   NOT NULL,
    -- 0 = no limit.
    capacity    INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    going       INTEGER NOT NULL,
    waitlisted  INTEGER NOT NULL,
    -- Taken by every answer: orders the waitlist, and its update is the event's write lock.
    answers     INTEGER NOT NULL,
    created_by  TEXT   NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- ListUpcomingEvents: a school's events (and its courses') that have not ended, by start.
CREATE INDEX school_events_by_school_start ON school_events (school_id, starts_at, id);
CREATE INDEX school_events_by_course_start ON school_events (course_id, starts_at, id);

-- One answer per event and person; `position` orders the waitlist (0 unless WAITLISTED).
CREATE TABLE event_responses (
    event_id     TEXT   NOT NULL REFERENCES school_events (id),
    user_id      TEXT   NOT NULL,
    status       INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    responded_at INTEGER NOT NULL,
    PRIMARY KEY (event_id, user_id)
);
-- ListAttendees and the waitlist's head.
CREATE INDEX event_responses_by_status ON event_responses (event_id, status, position, user_id);
-- The feed: the events a user answered.
CREATE INDEX event_responses_by_user ON event_responses (user_id);

-- One reminder per event and GOING attendee: due at `due_at`, sent once `sent_at` is set (the
-- row stays, so leaving and coming back, or a moved start, does not remind anyone twice).
CREATE TABLE event_reminders (
    event_id TEXT   NOT NULL REFERENCES school_events (id),
    user_id  TEXT   NOT NULL,
    due_at   INTEGER NOT NULL,
    sent_at  INTEGER,
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX event_reminders_unsent ON event_reminders (due_at, event_id, user_id)
    WHERE sent_at IS NULL;

-- A user's calendar feed URLs name a generation; GetCalendarUrl with `reset` moves it on and
-- every earlier URL stops working.
CREATE TABLE calendar_feeds (
    user_id    TEXT   PRIMARY KEY,
    generation INTEGER NOT NULL
);
