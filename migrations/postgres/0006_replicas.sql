-- Login attempts counted in fixed windows per key (a username from a client address, a
-- username, a client address), here rather than in memory so that every replica sharing the
-- database counts the same attempts. Rows of windows long ended are pruned.
CREATE TABLE login_attempts (
    key TEXT PRIMARY KEY,
    attempts BIGINT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL
);

-- The federation change feed's cursor is `seq`, and a peer asks for rows after the highest it
-- saw. Identity values are handed out when a row is inserted, not when its transaction
-- commits, so two writers could commit 11 before 10 and a reader that saw 11 would never see
-- 10. Writers of change rows therefore take one transaction-level advisory lock before they
-- insert: the next writer gets its number only after the previous one committed (or rolled
-- back), so `seq` order is commit order and a cursor can skip nothing. The lock is held from
-- the trigger to the end of the transaction that changed a model, version or share.
CREATE OR REPLACE FUNCTION federation_model_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('caravan.federation_changes'));
    INSERT INTO federation_changes (model_id) VALUES (COALESCE(NEW.id, OLD.id));
    RETURN NULL;
END;
$$;
CREATE OR REPLACE FUNCTION federation_child_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('caravan.federation_changes'));
    INSERT INTO federation_changes (model_id) VALUES (COALESCE(NEW.model_id, OLD.model_id));
    RETURN NULL;
END;
$$;
