-- Users service tables (SQLite). Ids are UUIDv7 text; times are unix epoch microseconds.

CREATE TABLE schools (
    id           TEXT    PRIMARY KEY,
    name         TEXT    NOT NULL,
    slug         TEXT    NOT NULL UNIQUE,
    self_sign_up INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
-- ListSchools walks schools by name.
CREATE INDEX schools_by_name ON schools (name, id);

-- `school_key` is the school id, or '' for platform admins, so (school_key, email) is
-- unique for everyone (a NULL school would not be). `roles` is a bit set: 1 << Role value.
CREATE TABLE users (
    id             TEXT    PRIMARY KEY,
    school_id      TEXT    REFERENCES schools (id),
    school_key     TEXT    NOT NULL,
    email          TEXT    NOT NULL,
    display_name   TEXT    NOT NULL,
    roles          INTEGER NOT NULL,
    status         INTEGER NOT NULL,
    password_hash  TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deactivated_at INTEGER,
    UNIQUE (school_key, email)
);
-- ListUsers walks one school's users by id.
CREATE INDEX users_by_school ON users (school_key, id);

-- Refresh tokens: only their SHA-256 is stored. A family is one login's chain of rotations.
CREATE TABLE refresh_tokens (
    id          TEXT    PRIMARY KEY,
    family_id   TEXT    NOT NULL,
    user_id     TEXT    NOT NULL REFERENCES users (id),
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

-- Ed25519 keys that sign access tokens (generated for installs without a configured key).
-- A retired key stays published until the tokens it signed have expired.
CREATE TABLE signing_keys (
    kid         TEXT    PRIMARY KEY,
    private_der BLOB    NOT NULL,
    public_x    TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER
);
