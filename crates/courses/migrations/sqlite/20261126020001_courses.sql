-- Courses service tables (SQLite). Ids are UUIDv7 text (time-ordered, so "newest first"
-- is `ORDER BY id DESC`); times are unix epoch microseconds.

CREATE TABLE courses (
    id            TEXT    PRIMARY KEY,
    school_id     TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    -- Lower-cased title for case-insensitive search.
    title_search  TEXT    NOT NULL,
    description   TEXT    NOT NULL,
    instructor_id TEXT    NOT NULL,
    status        INTEGER NOT NULL,
    lesson_count  INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    published_at  INTEGER,
    archived_at   INTEGER
);
-- ListCourses: a school's courses newest first, optionally by status or instructor.
CREATE INDEX courses_by_school ON courses (school_id, id);
CREATE INDEX courses_by_school_status ON courses (school_id, status, id);
CREATE INDEX courses_by_school_instructor ON courses (school_id, instructor_id, id);

CREATE TABLE lessons (
    id         TEXT    PRIMARY KEY,
    course_id  TEXT    NOT NULL REFERENCES courses (id),
    title      TEXT    NOT NULL,
    content    TEXT    NOT NULL,
    position   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- ListLessons: a course's lessons in order.
CREATE INDEX lessons_by_course ON lessons (course_id, position);

CREATE TABLE enrollments (
    id          TEXT    PRIMARY KEY,
    course_id   TEXT    NOT NULL REFERENCES courses (id),
    user_id     TEXT    NOT NULL,
    school_id   TEXT    NOT NULL,
    enrolled_by TEXT    NOT NULL,
    enrolled_at INTEGER NOT NULL,
    -- One enrolment per user and course: enrolling twice finds the first.
    UNIQUE (course_id, user_id)
);
-- ListEnrollments by user and ListCoursesForUser (newest first); by course via the unique index.
CREATE INDEX enrollments_by_user ON enrollments (user_id, id);
CREATE INDEX enrollments_by_course ON enrollments (course_id, id);
