-- Materials: files of courses and lessons. The bytes live in the content store
-- (CAMPUS_CONTENT_URL) under their SHA-256; these tables say what refers to them.

CREATE TABLE resources (
    id          TEXT    PRIMARY KEY,
    school_id   TEXT   NOT NULL,
    course_id   TEXT   NOT NULL REFERENCES courses (id),
    -- Empty for a resource of the whole course.
    lesson_id   TEXT   NOT NULL,
    title       TEXT   NOT NULL,
    media_type  TEXT   NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT   NOT NULL,
    version     INTEGER NOT NULL,
    uploaded_by TEXT   NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- ListResources: a course's resources oldest first (UUIDv7 ids are time-ordered).
CREATE INDEX resources_by_course ON resources (course_id, id);
-- Whether a blob is still referred to.
CREATE INDEX resources_by_sha256 ON resources (sha256);

-- Resumable uploads; a finished one names the resource it became.
CREATE TABLE resource_uploads (
    id          TEXT    PRIMARY KEY,
    school_id   TEXT   NOT NULL,
    course_id   TEXT   NOT NULL,
    lesson_id   TEXT   NOT NULL,
    -- The resource a new version is for; empty for a new resource.
    resource_id TEXT   NOT NULL,
    title       TEXT   NOT NULL,
    media_type  TEXT   NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT   NOT NULL,
    uploaded_by TEXT   NOT NULL,
    -- Bytes acknowledged so far.
    received    INTEGER NOT NULL,
    -- The resource it became; empty until finished.
    finished_as TEXT   NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
-- The sweep: uploads untouched for the grace period.
CREATE INDEX resource_uploads_by_updated ON resource_uploads (updated_at);

-- Stored blobs; orphaned_at is set when the last resource referring to one goes, and the
-- sweep removes the blob once that is older than the grace period.
CREATE TABLE content_blobs (
    sha256      TEXT    PRIMARY KEY,
    size        INTEGER NOT NULL,
    orphaned_at INTEGER
);
CREATE INDEX content_blobs_by_orphaned ON content_blobs (orphaned_at);

-- Downloads begun from the first byte and bytes sent, per resource.
CREATE TABLE resource_stats (
    resource_id  TEXT    PRIMARY KEY,
    course_id    TEXT   NOT NULL,
    downloads    INTEGER NOT NULL,
    bytes_served INTEGER NOT NULL
);
CREATE INDEX resource_stats_by_course ON resource_stats (course_id);
