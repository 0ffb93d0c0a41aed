-- Resumable uploads that S3 assembles itself: the id of the store's multipart upload and each
-- part's ETag in it (both NULL where the store keeps one object per part). A version registered
-- from an MLflow directory (0009) downloads as that directory only for the directory's owner.
ALTER TABLE uploads ADD COLUMN store_upload TEXT;
ALTER TABLE upload_parts ADD COLUMN store_etag TEXT;
