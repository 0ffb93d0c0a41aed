//! `TokenRepo` over SQL.

macro_rules! impl_tokens {
    ($catalog:ty) => {
        #[async_trait::async_trait]
        impl $crate::TokenRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn create_token(
                &self,
                token: $crate::NewToken,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::TokenRecord> {
                let mut tx = self.begin_write().await?;
                let row: $crate::sql::rows::TokenRow = sqlx::query_as(
                    "INSERT INTO api_tokens (id, user_id, name, prefix, secret_sha256, scopes, \
                     expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
                )
                .bind(uuid::Uuid::new_v4())
                .bind(token.user_id)
                .bind(&token.name)
                .bind(&token.prefix)
                .bind(&token.secret_sha256)
                .bind(sqlx::types::Json(&token.scopes))
                .bind(token.expires_at)
                .bind($crate::Timestamp::now())
                .fetch_one(&mut *tx)
                .await?;
                let audit = $crate::NewAudit::new(actor, "token.create", format!("token:{}", token.name))
                    .with(serde_json::json!({ "scopes": token.scopes, "user_id": token.user_id }));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(row.into())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn token_by_secret(
                &self,
                secret_sha256: &str,
            ) -> $crate::Result<Option<$crate::TokenRecord>> {
                let row: Option<$crate::sql::rows::TokenRow> =
                    sqlx::query_as("SELECT * FROM api_tokens WHERE secret_sha256 = $1")
                        .bind(secret_sha256)
                        .fetch_optional(self.reader())
                        .await?;
                Ok(row.map(Into::into))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn list_tokens(&self, user_id: uuid::Uuid) -> $crate::Result<Vec<$crate::TokenRecord>> {
                let rows: Vec<$crate::sql::rows::TokenRow> = sqlx::query_as(
                    "SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id",
                )
                .bind(user_id)
                .fetch_all(self.reader())
                .await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn revoke_token(
                &self,
                user_id: uuid::Uuid,
                token_id: uuid::Uuid,
                actor: &$crate::Actor,
            ) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let name: Option<(String,)> = sqlx::query_as(
                    "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) \
                     WHERE id = $2 AND user_id = $3 RETURNING name",
                )
                .bind($crate::Timestamp::now())
                .bind(token_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
                let (name,) = name.ok_or_else(|| $crate::CatalogError::NotFound("token".into()))?;
                let audit = $crate::NewAudit::new(actor, "token.revoke", format!("token:{name}"))
                    .with(serde_json::json!({ "id": token_id }));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn touch_token(
                &self,
                token_id: uuid::Uuid,
                at: $crate::Timestamp,
            ) -> $crate::Result<()> {
                sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                    .bind(at)
                    .bind(token_id)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_tokens;
