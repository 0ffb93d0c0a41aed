-- Datasets (immutable versions stored as content-addressed blobs), pipelines, their runs
-- (a job queue claimed with a lease), and the lineage of versions pipelines produced.

CREATE TABLE datasets (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    owner_id BLOB NOT NULL REFERENCES users (id),
    description TEXT NOT NULL DEFAULT '',
    next_version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE dataset_versions (
    dataset_id BLOB NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    sha256 TEXT NOT NULL REFERENCES blobs (sha256),
    size INTEGER NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('csv', 'parquet')),
    schema TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (dataset_id, version),
    UNIQUE (dataset_id, sha256)
);
CREATE INDEX dataset_versions_sha256 ON dataset_versions (sha256);

CREATE TABLE pipelines (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    owner_id BLOB NOT NULL REFERENCES users (id),
    spec TEXT NOT NULL,
    -- The dataset whose new versions start a run (NULL: not triggered by a dataset).
    trigger_dataset TEXT,
    -- When the cron trigger fires next (NULL: no schedule).
    next_scheduled_at TEXT,
    -- Secrets of the incoming webhook trigger: the newest first; the one before stays valid
    -- until the next rotation.
    webhook_secrets TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX pipelines_trigger_dataset ON pipelines (trigger_dataset);
CREATE INDEX pipelines_schedule ON pipelines (next_scheduled_at);

-- Signatures of accepted incoming webhooks, so a replayed request is refused.
CREATE TABLE webhook_deliveries (
    pipeline_id BLOB NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    signature TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (pipeline_id, signature)
);

CREATE TABLE pipeline_runs (
    id BLOB PRIMARY KEY NOT NULL,
    seq INTEGER NOT NULL,
    pipeline_id BLOB NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    trigger TEXT NOT NULL,
    dataset_version INTEGER,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempt INTEGER NOT NULL DEFAULT 0,
    not_before TEXT NOT NULL,
    lease_until TEXT,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    steps TEXT NOT NULL DEFAULT '[]',
    outcome TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    UNIQUE (pipeline_id, seq)
);
CREATE INDEX pipeline_runs_due ON pipeline_runs (status, not_before);

CREATE TABLE version_lineage (
    model_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    run_id BLOB NOT NULL,
    pipeline TEXT NOT NULL,
    dataset TEXT,
    dataset_version INTEGER,
    compared_with INTEGER,
    metrics TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    PRIMARY KEY (model_id, version),
    FOREIGN KEY (model_id, version) REFERENCES versions (model_id, version) ON DELETE CASCADE
);

-- Outgoing events: where to send them, and an outbox they are delivered from (with retries),
-- so nothing is lost while a receiver is down.
CREATE TABLE event_hooks (
    id BLOB PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE event_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hook_id BLOB NOT NULL REFERENCES event_hooks (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    delivered_at TEXT,
    failed_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX event_outbox_due ON event_outbox (delivered_at, failed_at, next_attempt_at);

-- What an external trainer (a webhook trainer) reported for a run's train step.
CREATE TABLE run_reports (
    run_id BLOB PRIMARY KEY NOT NULL REFERENCES pipeline_runs (id) ON DELETE CASCADE,
    succeeded BOOLEAN NOT NULL,
    version INTEGER,
    error TEXT,
    reported_by TEXT NOT NULL,
    reported_at TEXT NOT NULL
);
