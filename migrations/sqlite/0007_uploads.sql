-- Resumable uploads: the declared file and the parts received so far. The parts' bytes live in
-- the object store (uploads/<id>/...), so any replica can take any part; a stale upload expires
-- and the sweeper deletes its parts and then its row.
CREATE TABLE uploads (
    id BLOB PRIMARY KEY NOT NULL,
    owner_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT,
    part_size INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    completing_until TEXT,
    version INTEGER,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX uploads_expiry ON uploads (expires_at);

CREATE TABLE upload_parts (
    upload_id BLOB NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (upload_id, n)
);
