//! `SocialRepo` over SQL: ratings, comments, favourites and view counts.

/// Row shapes of this module (they map one to one onto the records).
#[derive(sqlx::FromRow)]
pub(crate) struct RatingRow {
    model_id: uuid::Uuid,
    user_id: uuid::Uuid,
    username: String,
    stars: i32,
    review: String,
    created_at: crate::Timestamp,
    updated_at: crate::Timestamp,
}

impl From<RatingRow> for crate::RatingRecord {
    fn from(r: RatingRow) -> Self {
        crate::RatingRecord {
            model_id: r.model_id,
            user_id: r.user_id,
            username: r.username,
            stars: r.stars,
            review: r.review,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CommentRow {
    id: uuid::Uuid,
    model_id: uuid::Uuid,
    user_id: uuid::Uuid,
    username: String,
    body: String,
    created_at: crate::Timestamp,
}

impl From<CommentRow> for crate::CommentRecord {
    fn from(r: CommentRow) -> Self {
        crate::CommentRecord {
            id: r.id,
            model_id: r.model_id,
            user_id: r.user_id,
            username: r.username,
            body: r.body,
            created_at: r.created_at,
        }
    }
}

pub(crate) const RATING_SELECT: &str = "SELECT r.model_id, r.user_id, u.username, r.stars, \
     r.review, r.created_at, r.updated_at FROM ratings r JOIN users u ON u.id = r.user_id";
pub(crate) const COMMENT_SELECT: &str = "SELECT c.id, c.model_id, c.user_id, u.username, \
     c.body, c.created_at FROM comments c JOIN users u ON u.id = c.user_id";

macro_rules! impl_social {
    ($catalog:ty) => {
        #[async_trait::async_trait]
        impl $crate::SocialRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn rate_model(
                &self,
                model_id: uuid::Uuid,
                user_id: uuid::Uuid,
                stars: i32,
                review: &str,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::RatingRecord> {
                let mut tx = self.begin_write().await?;
                let now = $crate::Timestamp::now();
                sqlx::query(
                    "INSERT INTO ratings (model_id, user_id, stars, review, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (model_id, user_id) \
                     DO UPDATE SET stars = excluded.stars, review = excluded.review, \
                     updated_at = excluded.updated_at",
                )
                .bind(model_id)
                .bind(user_id)
                .bind(stars)
                .bind(review)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let row: $crate::sql::social::RatingRow = sqlx::query_as(&format!(
                    "{} WHERE r.model_id = $1 AND r.user_id = $2",
                    $crate::sql::social::RATING_SELECT
                ))
                .bind(model_id)
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
                let audit = $crate::NewAudit::new(actor, "model.rate", format!("model:{model_id}"))
                    .with(serde_json::json!({ "stars": stars }));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn delete_rating(
                &self,
                model_id: uuid::Uuid,
                user_id: uuid::Uuid,
                actor: &$crate::Actor,
            ) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("DELETE FROM ratings WHERE model_id = $1 AND user_id = $2")
                    .bind(model_id)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err($crate::CatalogError::NotFound("rating".into()));
                }
                let audit =
                    $crate::NewAudit::new(actor, "model.unrate", format!("model:{model_id}"));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn ratings(
                &self,
                model_id: uuid::Uuid,
                limit: i64,
            ) -> $crate::Result<Vec<$crate::RatingRecord>> {
                let rows: Vec<$crate::sql::social::RatingRow> = sqlx::query_as(&format!(
                    "{} WHERE r.model_id = $1 ORDER BY r.updated_at DESC, r.user_id LIMIT $2",
                    $crate::sql::social::RATING_SELECT
                ))
                .bind(model_id)
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn rating_by(
                &self,
                model_id: uuid::Uuid,
                user_id: uuid::Uuid,
            ) -> $crate::Result<Option<$crate::RatingRecord>> {
                let row: Option<$crate::sql::social::RatingRow> = sqlx::query_as(&format!(
                    "{} WHERE r.model_id = $1 AND r.user_id = $2",
                    $crate::sql::social::RATING_SELECT
                ))
                .bind(model_id)
                .bind(user_id)
                .fetch_optional(self.reader())
                .await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn add_comment(
                &self,
                model_id: uuid::Uuid,
                user_id: uuid::Uuid,
                body: &str,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::CommentRecord> {
                let mut tx = self.begin_write().await?;
                let id = uuid::Uuid::new_v4();
                sqlx::query(
                    "INSERT INTO comments (id, model_id, user_id, body, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(model_id)
                .bind(user_id)
                .bind(body)
                .bind($crate::Timestamp::now())
                .execute(&mut *tx)
                .await?;
                let row: $crate::sql::social::CommentRow = sqlx::query_as(&format!(
                    "{} WHERE c.id = $1",
                    $crate::sql::social::COMMENT_SELECT
                ))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
                let audit =
                    $crate::NewAudit::new(actor, "model.comment", format!("model:{model_id}"))
                        .with(serde_json::json!({ "comment": id }));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn comments(
                &self,
                model_id: uuid::Uuid,
                limit: i64,
            ) -> $crate::Result<Vec<$crate::CommentRecord>> {
                let rows: Vec<$crate::sql::social::CommentRow> = sqlx::query_as(&format!(
                    "{} WHERE c.model_id = $1 ORDER BY c.created_at, c.id LIMIT $2",
                    $crate::sql::social::COMMENT_SELECT
                ))
                .bind(model_id)
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn comment(
                &self,
                id: uuid::Uuid,
            ) -> $crate::Result<Option<$crate::CommentRecord>> {
                let row: Option<$crate::sql::social::CommentRow> = sqlx::query_as(&format!(
                    "{} WHERE c.id = $1",
                    $crate::sql::social::COMMENT_SELECT
                ))
                .bind(id)
                .fetch_optional(self.reader())
                .await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn delete_comment(
                &self,
                id: uuid::Uuid,
                actor: &$crate::Actor,
            ) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let model: Option<(uuid::Uuid,)> =
                    sqlx::query_as("DELETE FROM comments WHERE id = $1 RETURNING model_id")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let (model_id,) =
                    model.ok_or_else(|| $crate::CatalogError::NotFound("comment".into()))?;
                let audit =
                    $crate::NewAudit::new(actor, "model.uncomment", format!("model:{model_id}"))
                        .with(serde_json::json!({ "comment": id }));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn set_favourite(
                &self,
                model_id: uuid::Uuid,
                user_id: uuid::Uuid,
                favourite: bool,
            ) -> $crate::Result<()> {
                let query = if favourite {
                    "INSERT INTO favourites (model_id, user_id, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (model_id, user_id) DO NOTHING"
                } else {
                    "DELETE FROM favourites WHERE model_id = $1 AND user_id = $2 AND $3 = $3"
                };
                sqlx::query(query)
                    .bind(model_id)
                    .bind(user_id)
                    .bind($crate::Timestamp::now())
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn record_view(&self, model_id: uuid::Uuid) -> $crate::Result<()> {
                sqlx::query("UPDATE models SET views = views + 1 WHERE id = $1")
                    .bind(model_id)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn social_summary(
                &self,
                model_id: uuid::Uuid,
                viewer: Option<uuid::Uuid>,
            ) -> $crate::Result<$crate::SocialSummary> {
                let (ratings, stars_total, favourites, views, comments, favourite): (
                    i64,
                    i64,
                    i64,
                    i64,
                    i64,
                    i64,
                ) = sqlx::query_as(
                    "SELECT \
                     (SELECT COUNT(*) FROM ratings WHERE model_id = $1), \
                     (SELECT COALESCE(SUM(stars), 0) FROM ratings WHERE model_id = $1), \
                     (SELECT COUNT(*) FROM favourites WHERE model_id = $1), \
                     (SELECT COALESCE((SELECT views FROM models WHERE id = $1), 0)), \
                     (SELECT COUNT(*) FROM comments WHERE model_id = $1), \
                     (SELECT COUNT(*) FROM favourites WHERE model_id = $1 AND user_id = $2)",
                )
                .bind(model_id)
                .bind(viewer)
                .fetch_one(self.reader())
                .await?;
                Ok($crate::SocialSummary {
                    ratings,
                    stars_total,
                    favourites,
                    views,
                    comments,
                    favourite: favourite > 0,
                })
            }
        }
    };
}

pub(crate) use impl_social;
