-- Federation: peers, shares, the change feed peers read with ?since=, subscriptions and the
-- provenance of imported models.

ALTER TABLE models ADD COLUMN withdrawn_at TEXT;

-- Stable federation ids of a version (revision) and its ONNX file (artifact).
ALTER TABLE versions ADD COLUMN revision_id BLOB;
ALTER TABLE versions ADD COLUMN artifact_id BLOB;
UPDATE versions SET revision_id = randomblob(16), artifact_id = randomblob(16);
CREATE UNIQUE INDEX versions_revision_id ON versions (revision_id);
CREATE UNIQUE INDEX versions_artifact_id ON versions (artifact_id);

CREATE TABLE peers (
    id BLOB PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    api_url TEXT NOT NULL,
    subject TEXT,
    fingerprint TEXT,
    signing_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled', 'removed')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE model_shares (
    model_id BLOB NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    peer_id BLOB NOT NULL REFERENCES peers (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (model_id, peer_id)
);

-- Every change to what a peer could see of a model; `seq` is the cursor of ?since=.
CREATE TABLE federation_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id BLOB NOT NULL
);
CREATE INDEX federation_changes_model ON federation_changes (model_id, seq);
CREATE TRIGGER federation_model_update AFTER UPDATE OF description, card, tags, license, visibility,
    withdrawn_at ON models BEGIN
    INSERT INTO federation_changes (model_id) VALUES (new.id);
END;
CREATE TRIGGER federation_model_delete AFTER DELETE ON models BEGIN
    INSERT INTO federation_changes (model_id) VALUES (old.id);
END;
CREATE TRIGGER federation_version_insert AFTER INSERT ON versions BEGIN
    INSERT INTO federation_changes (model_id) VALUES (new.model_id);
END;
CREATE TRIGGER federation_version_delete AFTER DELETE ON versions BEGIN
    INSERT INTO federation_changes (model_id) VALUES (old.model_id);
END;
CREATE TRIGGER federation_share_insert AFTER INSERT ON model_shares BEGIN
    INSERT INTO federation_changes (model_id) VALUES (new.model_id);
END;
CREATE TRIGGER federation_share_delete AFTER DELETE ON model_shares BEGIN
    INSERT INTO federation_changes (model_id) VALUES (old.model_id);
END;

-- Models a peer has been shown: withdrawals are announced only to those peers.
CREATE TABLE federation_exports (
    peer_id BLOB NOT NULL REFERENCES peers (id),
    model_id BLOB NOT NULL,
    PRIMARY KEY (peer_id, model_id)
);

CREATE TABLE subscriptions (
    id BLOB PRIMARY KEY NOT NULL,
    peer_id BLOB NOT NULL REFERENCES peers (id),
    catalog_id TEXT NOT NULL,
    models TEXT NOT NULL DEFAULT '[]',
    interval_secs INTEGER NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('private', 'organization', 'public')),
    owner_id BLOB NOT NULL REFERENCES users (id),
    cursor INTEGER NOT NULL DEFAULT 0,
    next_run_at TEXT NOT NULL,
    claimed_until TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    last_success_at TEXT,
    last_error TEXT,
    last_error_at TEXT,
    imported INTEGER NOT NULL DEFAULT 0,
    withdrawn INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE provenance (
    model_id BLOB PRIMARY KEY NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    peer_id BLOB NOT NULL REFERENCES peers (id),
    remote_solution_id BLOB NOT NULL,
    remote_name TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    UNIQUE (peer_id, remote_solution_id)
);

CREATE TABLE version_provenance (
    model_id BLOB NOT NULL,
    version INTEGER NOT NULL,
    remote_revision_id BLOB NOT NULL,
    remote_artifact_id BLOB NOT NULL,
    manifest TEXT NOT NULL,
    signature TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (model_id, version),
    FOREIGN KEY (model_id, version) REFERENCES versions (model_id, version) ON DELETE CASCADE,
    UNIQUE (model_id, remote_revision_id)
);
