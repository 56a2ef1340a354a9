-- Progress service tables (PostgreSQL). Ids are UUIDv7 text; times are unix epoch microseconds;
-- dates are `YYYY-MM-DD` text (sorts as dates).

-- What progress knows of each course, kept from course.created / course.updated events.
-- `updated_at` is the time of the event applied last: an older event arriving later (two
-- replicas consuming at once) does not overwrite a newer one.
CREATE TABLE course_facts (
    course_id     TEXT    PRIMARY KEY,
    school_id     TEXT    NOT NULL,
    instructor_id TEXT    NOT NULL,
    lesson_count  BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

-- A learner's progress in a course: opened by enrollment.created, archived (not deleted)
-- by enrollment.removed; `enrollment_changed_at` orders those events as `updated_at` does.
CREATE TABLE course_progress (
    user_id           TEXT    NOT NULL,
    course_id         TEXT    NOT NULL,
    school_id         TEXT    NOT NULL,
    enrolled          BOOLEAN NOT NULL,
    completed_lessons BIGINT  NOT NULL,
    last_activity_at  BIGINT,
    opened_at         BIGINT  NOT NULL,
    enrollment_changed_at BIGINT  NOT NULL,
    PRIMARY KEY (user_id, course_id)
);
-- Enrolment checks of a whole class (BatchMarkAttendance) go by course.
CREATE INDEX course_progress_by_course ON course_progress (course_id, user_id);

CREATE TABLE lesson_progress (
    user_id      TEXT    NOT NULL,
    course_id    TEXT    NOT NULL,
    lesson_id    TEXT    NOT NULL,
    state        BIGINT  NOT NULL,
    started_at   BIGINT  NOT NULL,
    completed_at BIGINT,
    PRIMARY KEY (user_id, course_id, lesson_id)
);

CREATE TABLE attendance_sessions (
    id           TEXT    PRIMARY KEY,
    school_id    TEXT    NOT NULL,
    course_id    TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    session_date TEXT    NOT NULL,
    starts_at    BIGINT  NOT NULL,
    ends_at      BIGINT,
    created_by   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL
);
-- ListAttendanceSessions: a course's sessions by start.
CREATE INDEX sessions_by_course ON attendance_sessions (course_id, starts_at, id);

-- One mark per student per session: re-marking replaces it.
CREATE TABLE attendance_marks (
    session_id   TEXT    NOT NULL REFERENCES attendance_sessions (id),
    student_id   TEXT    NOT NULL,
    course_id    TEXT    NOT NULL,
    school_id    TEXT    NOT NULL,
    session_date TEXT    NOT NULL,
    status       BIGINT  NOT NULL,
    note         TEXT    NOT NULL,
    marked_by    TEXT    NOT NULL,
    marked_at    BIGINT  NOT NULL,
    PRIMARY KEY (session_id, student_id)
);
-- ListAttendance by student or by course over dates, and summaries per school, course, day.
CREATE INDEX marks_by_student ON attendance_marks (student_id, session_date, session_id);
CREATE INDEX marks_by_course ON attendance_marks (course_id, session_date, session_id, student_id);
CREATE INDEX marks_by_school ON attendance_marks (school_id, session_date);
