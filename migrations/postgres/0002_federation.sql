-- Federation: peers, shares, the change feed peers read with ?since=, subscriptions and the
-- provenance of imported models.

ALTER TABLE models ADD COLUMN withdrawn_at TIMESTAMPTZ;

-- Stable federation ids of a version (revision) and its ONNX file (artifact).
ALTER TABLE versions ADD COLUMN revision_id UUID UNIQUE DEFAULT gen_random_uuid();
ALTER TABLE versions ADD COLUMN artifact_id UUID UNIQUE DEFAULT gen_random_uuid();

CREATE TABLE peers (
    id UUID PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    api_url TEXT NOT NULL,
    subject TEXT,
    fingerprint TEXT,
    signing_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled', 'removed')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE model_shares (
    model_id UUID NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    peer_id UUID NOT NULL REFERENCES peers (id),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_id, peer_id)
);

-- Every change to what a peer could see of a model; `seq` is the cursor of ?since=.
CREATE TABLE federation_changes (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_id UUID NOT NULL
);
CREATE INDEX federation_changes_model ON federation_changes (model_id, seq);
CREATE FUNCTION federation_model_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO federation_changes (model_id) VALUES (COALESCE(NEW.id, OLD.id));
    RETURN NULL;
END;
$$;
CREATE FUNCTION federation_child_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO federation_changes (model_id) VALUES (COALESCE(NEW.model_id, OLD.model_id));
    RETURN NULL;
END;
$$;
CREATE TRIGGER federation_model_update AFTER UPDATE OF description, card, tags, license, visibility,
    withdrawn_at ON models FOR EACH ROW EXECUTE FUNCTION federation_model_change();
CREATE TRIGGER federation_model_delete AFTER DELETE ON models
    FOR EACH ROW EXECUTE FUNCTION federation_model_change();
CREATE TRIGGER federation_version_change AFTER INSERT OR DELETE ON versions
    FOR EACH ROW EXECUTE FUNCTION federation_child_change();
CREATE TRIGGER federation_share_change AFTER INSERT OR DELETE ON model_shares
    FOR EACH ROW EXECUTE FUNCTION federation_child_change();

-- Models a peer has been shown: withdrawals are announced only to those peers.
CREATE TABLE federation_exports (
    peer_id UUID NOT NULL REFERENCES peers (id),
    model_id UUID NOT NULL,
    PRIMARY KEY (peer_id, model_id)
);

CREATE TABLE subscriptions (
    id UUID PRIMARY KEY,
    peer_id UUID NOT NULL REFERENCES peers (id),
    catalog_id TEXT NOT NULL,
    models JSONB NOT NULL DEFAULT '[]',
    interval_secs BIGINT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('private', 'organization', 'public')),
    owner_id UUID NOT NULL REFERENCES users (id),
    cursor BIGINT NOT NULL DEFAULT 0,
    next_run_at TIMESTAMPTZ NOT NULL,
    claimed_until TIMESTAMPTZ,
    failures BIGINT NOT NULL DEFAULT 0,
    last_success_at TIMESTAMPTZ,
    last_error TEXT,
    last_error_at TIMESTAMPTZ,
    imported BIGINT NOT NULL DEFAULT 0,
    withdrawn BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE provenance (
    model_id UUID PRIMARY KEY REFERENCES models (id) ON DELETE CASCADE,
    peer_id UUID NOT NULL REFERENCES peers (id),
    remote_solution_id UUID NOT NULL,
    remote_name TEXT NOT NULL,
    fetched_at TIMESTAMPTZ NOT NULL,
    UNIQUE (peer_id, remote_solution_id)
);

CREATE TABLE version_provenance (
    model_id UUID NOT NULL,
    version BIGINT NOT NULL,
    remote_revision_id UUID NOT NULL,
    remote_artifact_id UUID NOT NULL,
    manifest TEXT NOT NULL,
    signature TEXT NOT NULL,
    fetched_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_id, version),
    FOREIGN KEY (model_id, version) REFERENCES versions (model_id, version) ON DELETE CASCADE,
    UNIQUE (model_id, remote_revision_id)
);
