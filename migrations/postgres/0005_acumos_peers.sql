-- Peers an admin marked as legacy Acumos gateways: their revisions carry no sha256 and no
-- signed manifest, and are imported as unverified (an empty manifest in version_provenance).
ALTER TABLE peers ADD COLUMN legacy_acumos BOOLEAN NOT NULL DEFAULT FALSE;
