-- Caravan catalog, PostgreSQL.

CREATE TABLE users (
    id UUID PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    password_changed_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    scopes JSONB NOT NULL,
    expires_at TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE models (
    seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id UUID PRIMARY KEY,
    -- byte order, as in SQLite, so both backends list names alike
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    owner_id UUID NOT NULL REFERENCES users (id),
    description TEXT NOT NULL DEFAULT '',
    card TEXT NOT NULL DEFAULT '',
    tags JSONB NOT NULL DEFAULT '[]',
    license TEXT,
    visibility TEXT NOT NULL CHECK (visibility IN ('private', 'organization', 'public')),
    downloads BIGINT NOT NULL DEFAULT 0,
    next_version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    -- 'simple' (no stemming) matches SQLite's unicode61 tokenizer, so both backends find the
    -- same models; prefix queries (term:*) give search-as-you-type.
    search TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', name), 'A')
        || setweight(to_tsvector('simple', tags::text), 'A')
        || setweight(to_tsvector('simple', description), 'B')
        || setweight(to_tsvector('simple', card), 'C')
    ) STORED
);
CREATE INDEX models_search ON models USING GIN (search);
CREATE INDEX models_updated ON models (updated_at, seq);
CREATE INDEX models_downloads ON models (downloads, seq);
CREATE INDEX models_owner ON models (owner_id);

CREATE TABLE model_tags (
    model_id UUID NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (model_id, tag)
);
CREATE INDEX model_tags_tag ON model_tags (tag);

CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    pending BIGINT NOT NULL DEFAULT 0,
    deleting BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE versions (
    model_id UUID NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    size BIGINT NOT NULL,
    info JSONB NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_id, version),
    UNIQUE (model_id, sha256)
);
CREATE INDEX versions_sha256 ON versions (sha256);

CREATE TABLE aliases (
    model_id UUID NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    alias TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_id, alias),
    FOREIGN KEY (model_id, version) REFERENCES versions (model_id, version) ON DELETE CASCADE
);

CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    actor TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details JSONB NOT NULL DEFAULT '{}'
);
CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_is_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

CREATE TABLE instance_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
