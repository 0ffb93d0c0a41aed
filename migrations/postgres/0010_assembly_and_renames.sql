-- Resumable uploads that S3 assembles itself: the id of the store's multipart upload and each
-- part's ETag in it (both NULL where the store keeps one object per part). A version registered
-- from an MLflow directory (0009) downloads as that directory only for the directory's owner.
ALTER TABLE uploads ADD COLUMN store_upload TEXT;
ALTER TABLE upload_parts ADD COLUMN store_etag TEXT;

-- The names a model had before it was renamed: a new model may take one only if its owner is
-- the renamed model's, so that what still names the old name (a runner following an alias, a
-- pipeline, an MLflow models:/ URI) never reaches another user's model. Deleting the model
-- frees them.
CREATE TABLE model_former_names (
    name TEXT PRIMARY KEY NOT NULL,
    model_id UUID NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    renamed_at TIMESTAMPTZ NOT NULL
);
