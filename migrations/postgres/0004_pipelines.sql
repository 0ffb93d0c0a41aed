-- Datasets (immutable versions stored as content-addressed blobs), pipelines, their runs
-- (a job queue claimed with a lease), and the lineage of versions pipelines produced.

CREATE TABLE datasets (
    id UUID PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    owner_id UUID NOT NULL REFERENCES users (id),
    description TEXT NOT NULL DEFAULT '',
    next_version BIGINT NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE dataset_versions (
    dataset_id UUID NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    size BIGINT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('csv')),
    schema JSONB NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (dataset_id, version),
    UNIQUE (dataset_id, sha256)
);
CREATE INDEX dataset_versions_sha256 ON dataset_versions (sha256);

CREATE TABLE pipelines (
    id UUID PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    owner_id UUID NOT NULL REFERENCES users (id),
    spec TEXT NOT NULL,
    -- The dataset whose new versions start a run (NULL: not triggered by a dataset).
    trigger_dataset TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX pipelines_trigger_dataset ON pipelines (trigger_dataset);

CREATE TABLE pipeline_runs (
    id UUID PRIMARY KEY,
    seq BIGINT NOT NULL,
    pipeline_id UUID NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    trigger TEXT NOT NULL,
    dataset_version BIGINT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempt BIGINT NOT NULL DEFAULT 0,
    not_before TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    steps JSONB NOT NULL DEFAULT '[]',
    outcome JSONB NOT NULL DEFAULT '{}',
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    UNIQUE (pipeline_id, seq)
);
CREATE INDEX pipeline_runs_due ON pipeline_runs (status, not_before);

CREATE TABLE version_lineage (
    model_id UUID NOT NULL,
    version BIGINT NOT NULL,
    run_id UUID NOT NULL,
    pipeline TEXT NOT NULL,
    dataset TEXT,
    dataset_version BIGINT,
    compared_with BIGINT,
    metrics JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_id, version),
    FOREIGN KEY (model_id, version) REFERENCES versions (model_id, version) ON DELETE CASCADE
);
