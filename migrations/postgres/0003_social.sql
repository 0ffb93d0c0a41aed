-- Ratings, comments, favourites and page views of models.

ALTER TABLE models ADD COLUMN views BIGINT NOT NULL DEFAULT 0;

-- One rating per user and model; rating again replaces it.
CREATE TABLE ratings (
    model_id UUID NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    review TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_id, user_id)
);

CREATE TABLE comments (
    id UUID PRIMARY KEY,
    model_id UUID NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX comments_model ON comments (model_id, created_at);

CREATE TABLE favourites (
    model_id UUID NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model_id, user_id)
);
CREATE INDEX favourites_user ON favourites (user_id);
