-- Ratings, comments, favourites and page views of models.

ALTER TABLE models ADD COLUMN views INTEGER NOT NULL DEFAULT 0;

-- One rating per user and model; rating again replaces it.
CREATE TABLE ratings (
    model_id BLOB NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    review TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (model_id, user_id)
);

CREATE TABLE comments (
    id BLOB PRIMARY KEY NOT NULL,
    model_id BLOB NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX comments_model ON comments (model_id, created_at);

CREATE TABLE favourites (
    model_id BLOB NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (model_id, user_id)
);
CREATE INDEX favourites_user ON favourites (user_id);
