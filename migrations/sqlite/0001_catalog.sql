-- Caravan catalog, SQLite. Timestamps are fixed-width RFC 3339 text (UTC, microseconds),
-- UUIDs are 16-byte blobs, JSON is text.

CREATE TABLE users (
    id BLOB PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL,
    password_changed_at TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id BLOB PRIMARY KEY NOT NULL,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- `seq` is the rowid the full-text index points at (an implicit rowid may change on VACUUM).
CREATE TABLE models (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    owner_id BLOB NOT NULL REFERENCES users (id),
    description TEXT NOT NULL DEFAULT '',
    card TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    license TEXT,
    visibility TEXT NOT NULL CHECK (visibility IN ('private', 'organization', 'public')),
    downloads INTEGER NOT NULL DEFAULT 0,
    next_version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX models_updated ON models (updated_at, seq);
CREATE INDEX models_downloads ON models (downloads, seq);
CREATE INDEX models_owner ON models (owner_id);

CREATE TABLE model_tags (
    model_id BLOB NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (model_id, tag)
);
CREATE INDEX model_tags_tag ON model_tags (tag);

CREATE VIRTUAL TABLE models_fts USING fts5 (
    name, description, card, tags,
    content = 'models', content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER models_fts_insert AFTER INSERT ON models BEGIN
    INSERT INTO models_fts (rowid, name, description, card, tags)
    VALUES (new.seq, new.name, new.description, new.card, new.tags);
END;
CREATE TRIGGER models_fts_delete AFTER DELETE ON models BEGIN
    INSERT INTO models_fts (models_fts, rowid, name, description, card, tags)
    VALUES ('delete', old.seq, old.name, old.description, old.card, old.tags);
END;
CREATE TRIGGER models_fts_update AFTER UPDATE OF name, description, card, tags ON models BEGIN
    INSERT INTO models_fts (models_fts, rowid, name, description, card, tags)
    VALUES ('delete', old.seq, old.name, old.description, old.card, old.tags);
    INSERT INTO models_fts (rowid, name, description, card, tags)
    VALUES (new.seq, new.name, new.description, new.card, new.tags);
END;

-- Content-addressed blobs: `pending` counts pushes that reserved the blob and have not yet
-- committed a version; `deleting` marks a sweep in progress.
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY NOT NULL,
    size INTEGER NOT NULL,
    pending INTEGER NOT NULL DEFAULT 0,
    deleting BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TEXT NOT NULL
);

CREATE TABLE versions (
    model_id BLOB NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    size INTEGER NOT NULL,
    info TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (model_id, version),
    UNIQUE (model_id, sha256)
);
CREATE INDEX versions_sha256 ON versions (sha256);

CREATE TABLE aliases (
    model_id BLOB NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (model_id, alias),
    FOREIGN KEY (model_id, version) REFERENCES versions (model_id, version) ON DELETE CASCADE
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}'
);
CREATE TRIGGER audit_log_is_append_only_update BEFORE UPDATE ON audit_log BEGIN
    SELECT RAISE (ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log BEGIN
    SELECT RAISE (ABORT, 'audit_log is append-only');
END;

CREATE TABLE instance_settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
