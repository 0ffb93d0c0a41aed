-- Resumable uploads: the declared file and the parts received so far. The parts' bytes live in
-- the object store (uploads/<id>/...), so any replica can take any part; a stale upload expires
-- and the sweeper deletes its parts and then its row.
CREATE TABLE uploads (
    id UUID PRIMARY KEY,
    owner_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT,
    part_size BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    completing_until TIMESTAMPTZ,
    version BIGINT,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX uploads_expiry ON uploads (expires_at);

CREATE TABLE upload_parts (
    upload_id UUID NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    n BIGINT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (upload_id, n)
);
