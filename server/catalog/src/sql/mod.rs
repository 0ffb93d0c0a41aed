//! SQL shared by both backends. The engines agree on most of it (`$N` parameters, `RETURNING`,
//! `ON CONFLICT`, row values), so each shared method is written once, in a macro that a backend
//! instantiates for its own pool type. What differs is supplied by the backend as associated
//! items of its catalog type:
//!
//! - `async fn begin_write(&self) -> Result<Transaction<'static, DB>>`
//! - `fn writer(&self) -> &Pool<DB>` and `fn reader(&self) -> &Pool<DB>`
//! - `const FOR_UPDATE: &str` (row lock suffix; empty where transactions already serialize)
//! - `const FTS_JOIN`, `FTS_MATCH`, `FTS_RANK` and `fn fts_query(&[String]) -> String`

pub(crate) mod cursor;
pub(crate) mod rows;

mod audit;
mod blobs;
pub(crate) mod datasets;
pub(crate) mod events;
pub(crate) mod logged_models;
pub(crate) mod logins;
mod models;
pub(crate) mod peers;
pub(crate) mod pipelines;
mod properties;
mod search;
pub(crate) mod social;
pub(crate) mod subscriptions;
mod tokens;
pub(crate) mod tracking;
mod triggers;
pub(crate) mod uploads;
mod users;
mod versions;

pub(crate) use audit::impl_audit;
pub(crate) use blobs::impl_blobs;
pub(crate) use datasets::impl_datasets;
pub(crate) use events::impl_events;
pub(crate) use logged_models::impl_logged_models;
pub(crate) use logins::impl_login_attempts;
pub(crate) use models::impl_models;
pub(crate) use peers::impl_peers;
pub(crate) use pipelines::impl_pipelines;
pub(crate) use properties::impl_properties;
pub(crate) use search::impl_search;
pub(crate) use social::impl_social;
pub(crate) use subscriptions::impl_subscriptions;
pub(crate) use tokens::impl_tokens;
pub(crate) use tracking::impl_tracking;
pub(crate) use triggers::impl_triggers;
pub(crate) use uploads::impl_uploads;
pub(crate) use users::impl_users;
pub(crate) use versions::impl_versions;

/// Columns of a model row with its owner's name and newest version, for `rows::ModelRow`.
pub(crate) const MODEL_COLUMNS: &str = "m.seq, m.id, m.name, m.owner_id, u.username AS owner, \
     m.description, m.card, m.tags, m.license, m.visibility, m.downloads, m.created_at, \
     m.updated_at, m.withdrawn_at, \
     (SELECT MAX(v.version) FROM versions v WHERE v.model_id = m.id) AS latest_version";

/// The `FROM` clause matching [`MODEL_COLUMNS`].
pub(crate) const MODEL_FROM: &str = "models m JOIN users u ON u.id = m.owner_id";

/// Splits a user's search text into lower-case words for the engines' query syntaxes
/// (punctuation never reaches them, so no input can be a syntax error).
pub(crate) fn search_terms(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .take(16)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn search_terms_drop_punctuation_and_operators() {
        assert_eq!(
            super::search_terms("Cloud-Forensics \"OR\" * NEAR(x"),
            ["cloud", "forensics", "or", "near", "x"]
        );
        assert!(super::search_terms("  ::  ").is_empty());
    }
}
