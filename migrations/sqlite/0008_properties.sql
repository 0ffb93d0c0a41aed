-- Key/value properties of models and of versions (MLflow's registry tags, and Caravan's own):
-- keys up to 250 characters, values up to 5,000, as MLflow allows. A version's go with it.
CREATE TABLE model_properties (
    model_id BLOB NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE version_properties (
    model_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (model_id, version, key),
    FOREIGN KEY (model_id, version) REFERENCES versions (model_id, version) ON DELETE CASCADE
);
