-- MLflow tracking: experiments, runs with their params, metrics and tags, and logged models
-- (MLflow 3), which the MLflow client logs before it registers a version; and where each
-- version registered through MLflow came from (its run is the version's lineage). Times are
-- MLflow's: milliseconds since the epoch, as the client sends them.
CREATE TABLE mlflow_experiments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- NULL for the Default experiment (id 0), where every signed-in user may log runs.
    owner_id BLOB REFERENCES users (id),
    lifecycle_stage TEXT NOT NULL DEFAULT 'active',
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
INSERT INTO mlflow_experiments (id, name, owner_id, created_ms, updated_ms) VALUES (0, 'Default', NULL, 0, 0);

CREATE TABLE mlflow_runs (
    id TEXT PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES mlflow_experiments (id),
    owner_id BLOB NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER,
    lifecycle_stage TEXT NOT NULL DEFAULT 'active'
);
CREATE INDEX mlflow_runs_experiment ON mlflow_runs (experiment_id);

CREATE TABLE mlflow_run_params (
    run_id TEXT NOT NULL REFERENCES mlflow_runs (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE mlflow_run_tags (
    run_id TEXT NOT NULL REFERENCES mlflow_runs (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

-- Every logged value of a metric (its history). A NaN is value 0 with is_nan, so that the same
-- value logged again (MLflow 3 re-logs a run's metrics with each model) is one row, as in MLflow.
CREATE TABLE mlflow_run_metrics (
    run_id TEXT NOT NULL REFERENCES mlflow_runs (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value REAL NOT NULL,
    is_nan BOOLEAN NOT NULL DEFAULT FALSE,
    timestamp_ms INTEGER NOT NULL,
    step INTEGER NOT NULL,
    PRIMARY KEY (run_id, key, step, timestamp_ms, value, is_nan)
);

-- MLflow 2's record of each model a run logged (runs/log-model), in order: answered as the
-- run's mlflow.log-model.history tag, as MLflow shows it.
CREATE TABLE mlflow_run_model_history (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES mlflow_runs (id) ON DELETE CASCADE,
    model_json TEXT NOT NULL
);
CREATE INDEX mlflow_run_model_history_run ON mlflow_run_model_history (run_id);

CREATE TABLE mlflow_logged_models (
    id TEXT PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES mlflow_experiments (id),
    owner_id BLOB NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    model_type TEXT NOT NULL DEFAULT '',
    source_run_id TEXT REFERENCES mlflow_runs (id),
    status TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE INDEX mlflow_logged_models_experiment ON mlflow_logged_models (experiment_id);

CREATE TABLE mlflow_logged_model_tags (
    model_id TEXT NOT NULL REFERENCES mlflow_logged_models (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE mlflow_logged_model_params (
    model_id TEXT NOT NULL REFERENCES mlflow_logged_models (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

-- The logged models a run produced, at which step (MLflow 3's run outputs).
CREATE TABLE mlflow_run_outputs (
    run_id TEXT NOT NULL REFERENCES mlflow_runs (id) ON DELETE CASCADE,
    model_id TEXT NOT NULL REFERENCES mlflow_logged_models (id) ON DELETE CASCADE,
    step INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, model_id)
);

-- The MLflow source a version was registered from; goes with the version.
CREATE TABLE mlflow_version_sources (
    model_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    source TEXT NOT NULL,
    run_id TEXT,
    logged_model_id TEXT,
    -- MLflow's signature from the MLmodel file (JSON), kept as the client logged it.
    signature TEXT,
    -- The artifact directory it was read from (readable by whoever may see the version).
    directory TEXT,
    PRIMARY KEY (model_id, version),
    FOREIGN KEY (model_id, version) REFERENCES versions (model_id, version) ON DELETE CASCADE
);

-- A version's description (its release notes; MLflow's model-versions/update sets it).
ALTER TABLE versions ADD COLUMN description TEXT NOT NULL DEFAULT '';
