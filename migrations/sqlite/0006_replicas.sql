-- Login attempts counted in fixed windows per key (a username from a client address, a
-- username, a client address), here rather than in memory so that every replica sharing the
-- database counts the same attempts. Rows of windows long ended are pruned.
CREATE TABLE login_attempts (
    key TEXT PRIMARY KEY,
    attempts BIGINT NOT NULL,
    window_start TEXT NOT NULL
);
