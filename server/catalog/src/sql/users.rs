//! `UserRepo` over SQL.

macro_rules! impl_users {
    ($catalog:ty) => {
        #[async_trait::async_trait]
        impl $crate::UserRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn create_user(
                &self,
                user: $crate::NewUser,
                actor: Option<&$crate::Actor>,
            ) -> $crate::Result<$crate::UserRecord> {
                let now = $crate::Timestamp::now();
                let mut tx = self.begin_write().await?;
                let row: $crate::sql::rows::UserRow = sqlx::query_as(
                    "INSERT INTO users (id, username, password_hash, role, disabled, created_at, \
                     password_changed_at) VALUES ($1, $2, $3, $4, FALSE, $5, $5) RETURNING *",
                )
                .bind(uuid::Uuid::new_v4())
                .bind(&user.username)
                .bind(&user.password_hash)
                .bind(user.role.as_str())
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| match $crate::CatalogError::from(e) {
                    $crate::CatalogError::Duplicate(_) => $crate::CatalogError::conflict(
                        caravan_domain::ConflictKind::AlreadyExists,
                        format!("user {:?} already exists", user.username),
                    ),
                    other => other,
                })?;
                let audit = $crate::NewAudit {
                    actor: actor.map(|a| a.username.clone()),
                    action: "user.create".into(),
                    target: format!("user:{}", user.username),
                    details: serde_json::json!({ "role": user.role.as_str() }),
                };
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                row.try_into()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn user_by_name(&self, username: &str) -> $crate::Result<Option<$crate::UserRecord>> {
                let row: Option<$crate::sql::rows::UserRow> =
                    sqlx::query_as("SELECT * FROM users WHERE username = $1")
                        .bind(username)
                        .fetch_optional(self.reader())
                        .await?;
                row.map(TryInto::try_into).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn user_by_id(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::UserRecord>> {
                let row: Option<$crate::sql::rows::UserRow> =
                    sqlx::query_as("SELECT * FROM users WHERE id = $1")
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await?;
                row.map(TryInto::try_into).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn list_users(&self) -> $crate::Result<Vec<$crate::UserRecord>> {
                let rows: Vec<$crate::sql::rows::UserRow> =
                    sqlx::query_as("SELECT * FROM users ORDER BY username")
                        .fetch_all(self.reader())
                        .await?;
                $crate::sql::rows::convert(rows)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn count_users(&self) -> $crate::Result<i64> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
                    .fetch_one(self.reader())
                    .await?;
                Ok(n)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn set_user_disabled(
                &self,
                id: uuid::Uuid,
                disabled: bool,
                actor: &$crate::Actor,
            ) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let name: Option<(String,)> = sqlx::query_as(
                    "UPDATE users SET disabled = $1 WHERE id = $2 RETURNING username",
                )
                .bind(disabled)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let (name,) = name.ok_or_else(|| $crate::CatalogError::NotFound("user".into()))?;
                let action = if disabled { "user.disable" } else { "user.enable" };
                Self::append_audit(&mut tx, &$crate::NewAudit::new(actor, action, format!("user:{name}")))
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn set_password(
                &self,
                id: uuid::Uuid,
                password_hash: &str,
                actor: &$crate::Actor,
            ) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let name: Option<(String,)> = sqlx::query_as(
                    "UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3 \
                     RETURNING username",
                )
                .bind(password_hash)
                .bind($crate::Timestamp::now())
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                let (name,) = name.ok_or_else(|| $crate::CatalogError::NotFound("user".into()))?;
                let audit = $crate::NewAudit::new(actor, "user.password", format!("user:{name}"));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_users;
