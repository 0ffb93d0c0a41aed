//! `ModelRepo` over SQL: publishing, metadata, deletion and downloads (versions and aliases
//! are `versions.rs`, search `search.rs`).

macro_rules! impl_models {
    ($catalog:ty, $db:ty) => {
        impl $catalog {
            /// The model row with its owner and newest version, inside a transaction.
            #[tracing::instrument(level = "debug", skip_all)]
            async fn model_in_tx(
                tx: &mut sqlx::Transaction<'static, $db>,
                id: uuid::Uuid,
            ) -> $crate::Result<$crate::ModelRecord> {
                let sql = format!(
                    "SELECT {} FROM {} WHERE m.id = $1",
                    $crate::sql::MODEL_COLUMNS,
                    $crate::sql::MODEL_FROM
                );
                let row: $crate::sql::rows::ModelRow =
                    sqlx::query_as(&sql).bind(id).fetch_one(&mut **tx).await?;
                row.try_into()
            }

            /// Locks a model by name and returns its id and owner.
            #[tracing::instrument(level = "debug", skip_all)]
            async fn lock_model(
                tx: &mut sqlx::Transaction<'static, $db>,
                name: &str,
            ) -> $crate::Result<(uuid::Uuid, uuid::Uuid)> {
                let sql = format!(
                    "SELECT id, owner_id FROM models WHERE name = $1{}",
                    Self::FOR_UPDATE
                );
                sqlx::query_as(&sql)
                    .bind(name)
                    .fetch_optional(&mut **tx)
                    .await?
                    .ok_or_else(|| $crate::CatalogError::NotFound(format!("model {name}")))
            }

            /// Refuses a new model the name a renamed model of another owner had (see
            /// `model_former_names`); a name some model has now is not checked here.
            async fn check_former_name(
                tx: &mut sqlx::Transaction<'static, $db>,
                name: &str,
                owner: uuid::Uuid,
            ) -> $crate::Result<()> {
                let holder: Option<(uuid::Uuid,)> = sqlx::query_as(
                    "SELECT m.owner_id FROM model_former_names f JOIN models m ON m.id = f.model_id \
                     WHERE f.name = $1 AND NOT EXISTS (SELECT 1 FROM models WHERE name = $1)",
                )
                .bind(name)
                .fetch_optional(&mut **tx)
                .await?;
                match holder {
                    Some((holder,)) if holder != owner => Err($crate::CatalogError::Forbidden(format!(
                        "the name {name} belonged to a model that was renamed since; only its owner may use it again"
                    ))),
                    _ => Ok(()),
                }
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn set_tags(
                tx: &mut sqlx::Transaction<'static, $db>,
                id: uuid::Uuid,
                tags: &[String],
            ) -> $crate::Result<()> {
                sqlx::query("DELETE FROM model_tags WHERE model_id = $1")
                    .bind(id)
                    .execute(&mut **tx)
                    .await?;
                for tag in tags {
                    sqlx::query(
                        "INSERT INTO model_tags (model_id, tag) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(id)
                    .bind(tag)
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn apply_patch(
                tx: &mut sqlx::Transaction<'static, $db>,
                id: uuid::Uuid,
                patch: &$crate::ModelPatch,
            ) -> $crate::Result<()> {
                sqlx::query(
                    "UPDATE models SET description = COALESCE($1, description), \
                     card = COALESCE($2, card), tags = COALESCE($3, tags), \
                     license = CASE WHEN $4 THEN $5 ELSE license END, \
                     visibility = COALESCE($6, visibility), updated_at = $7 WHERE id = $8",
                )
                .bind(patch.description.as_deref())
                .bind(patch.card.as_deref())
                .bind(patch.tags.as_ref().map(sqlx::types::Json))
                .bind(patch.license.is_some())
                .bind(patch.license.clone().flatten())
                .bind(patch.visibility.map(|v| v.as_str()))
                .bind($crate::Timestamp::now())
                .bind(id)
                .execute(&mut **tx)
                .await?;
                if let Some(tags) = &patch.tags {
                    Self::set_tags(tx, id, tags).await?;
                }
                Ok(())
            }

                        /// Records where an imported version came from, in the importing transaction; a
            /// model the peer offers again is no longer withdrawn.
            #[tracing::instrument(level = "debug", skip_all)]
            async fn record_import(
                tx: &mut sqlx::Transaction<'static, $db>,
                model_id: uuid::Uuid,
                version: i64,
                import: &$crate::ImportProvenance,
                now: $crate::Timestamp,
            ) -> $crate::Result<()> {
                sqlx::query(
                    "INSERT INTO provenance (model_id, peer_id, remote_solution_id, remote_name, \
                     fetched_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (model_id) DO UPDATE \
                     SET remote_name = excluded.remote_name, fetched_at = excluded.fetched_at",
                )
                .bind(model_id)
                .bind(import.peer_id)
                .bind(import.remote_solution_id)
                .bind(&import.remote_name)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                sqlx::query(
                    "INSERT INTO version_provenance (model_id, version, remote_revision_id, \
                     remote_artifact_id, manifest, signature, fetched_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                )
                .bind(model_id)
                .bind(version)
                .bind(import.remote_revision_id)
                .bind(import.remote_artifact_id)
                .bind(&import.manifest)
                .bind(&import.signature)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                if let Some(subscription) = import.subscription_id {
                    sqlx::query("UPDATE subscriptions SET imported = imported + 1 WHERE id = $1")
                        .bind(subscription)
                        .execute(&mut **tx)
                        .await?;
                }
                sqlx::query("UPDATE models SET withdrawn_at = NULL WHERE id = $1 AND withdrawn_at IS NOT NULL")
                    .bind(model_id)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn try_publish(
                &self,
                new: &$crate::NewVersion,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Published> {
                let now = $crate::Timestamp::now();
                let meta = &new.metadata;
                let tags = meta.tags.clone().unwrap_or_default();
                let mut tx = self.begin_write().await?;
                Self::check_former_name(&mut tx, new.model.as_str(), actor.user_id).await?;
                let inserted: Option<(uuid::Uuid,)> = sqlx::query_as(
                    "INSERT INTO models (id, name, owner_id, description, card, tags, license, \
                     visibility, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                     ON CONFLICT (name) DO NOTHING RETURNING id",
                )
                .bind(uuid::Uuid::new_v4())
                .bind(new.model.as_str())
                .bind(actor.user_id)
                .bind(meta.description.clone().unwrap_or_default())
                .bind(meta.card.clone().unwrap_or_default())
                .bind(sqlx::types::Json(&tags))
                .bind(meta.license.clone().flatten())
                .bind(meta.visibility.unwrap_or(caravan_domain::Visibility::Private).as_str())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let model_created = inserted.is_some();
                if let Some((id,)) = inserted {
                    Self::set_tags(&mut tx, id, &tags).await?;
                }
                let (model_id, owner_id) = Self::lock_model(&mut tx, new.model.as_str()).await?;
                if new.require_owner.is_some_and(|required| required != owner_id) {
                    return Err($crate::CatalogError::Forbidden(format!(
                        "model {} belongs to another user",
                        new.model
                    )));
                }
                let existing: Option<$crate::sql::rows::VersionRow> = sqlx::query_as(
                    "SELECT * FROM versions WHERE model_id = $1 AND sha256 = $2",
                )
                .bind(model_id)
                .bind(&new.sha256)
                .fetch_optional(&mut *tx)
                .await?;
                sqlx::query("UPDATE blobs SET pending = pending - 1 WHERE sha256 = $1 AND pending > 0")
                    .bind(&new.sha256)
                    .execute(&mut *tx)
                    .await?;
                                if let Some(existing) = existing {
                    if let Some(import) = &new.import {
                        Self::record_import(&mut tx, model_id, existing.version, import, now).await?;
                    }
                    let model = Self::model_in_tx(&mut tx, model_id).await?;
                    tx.commit().await?;
                    return Ok($crate::Published { model, version: existing.into(), created: false });
                }
                let (number,): (i64,) = sqlx::query_as(
                    "UPDATE models SET next_version = next_version + 1, updated_at = $1 \
                     WHERE id = $2 RETURNING next_version - 1",
                )
                .bind(now)
                .bind(model_id)
                .fetch_one(&mut *tx)
                .await?;
                let version: $crate::sql::rows::VersionRow = sqlx::query_as(
                                        "INSERT INTO versions (model_id, version, sha256, size, info, created_by, \
                     created_at, revision_id, artifact_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
                )
                .bind(model_id)
                .bind(number)
                .bind(&new.sha256)
                .bind(new.size)
                                .bind(sqlx::types::Json(&new.info))
                .bind(&actor.username)
                .bind(now)
                .bind(uuid::Uuid::new_v4())
                .bind(uuid::Uuid::new_v4())
                .fetch_one(&mut *tx)
                .await?;
                if let Some(import) = &new.import {
                    Self::record_import(&mut tx, model_id, number, import, now).await?;
                }
                if !model_created && !meta.is_empty() {
                    Self::apply_patch(&mut tx, model_id, meta).await?;
                }
                let target = format!("model:{}", new.model);
                if model_created {
                    Self::append_audit(&mut tx, &$crate::NewAudit::new(actor, "model.create", &target))
                        .await?;
                }
                let audit = $crate::NewAudit::new(actor, "version.create", &target).with(
                    serde_json::json!({ "version": number, "sha256": new.sha256, "size": new.size }),
                );
                Self::append_audit(&mut tx, &audit).await?;
                let model = Self::model_in_tx(&mut tx, model_id).await?;
                tx.commit().await?;
                Ok($crate::Published { model, version: version.into(), created: true })
            }
        }

        #[async_trait::async_trait]
        impl $crate::ModelRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn publish_version(
                &self,
                new: $crate::NewVersion,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::Published> {
                // A concurrent push of the same new model or bytes can lose a uniqueness race;
                // the retry then finds the winner's row.
                let mut attempt = 0;
                loop {
                    match self.try_publish(&new, actor).await {
                        Err($crate::CatalogError::Duplicate(_)) if attempt < 3 => attempt += 1,
                        other => return other,
                    }
                }
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn model_by_name(
                &self,
                name: &caravan_domain::ModelName,
            ) -> $crate::Result<Option<$crate::ModelRecord>> {
                let sql = format!(
                    "SELECT {} FROM {} WHERE m.name = $1",
                    $crate::sql::MODEL_COLUMNS,
                    $crate::sql::MODEL_FROM
                );
                let row: Option<$crate::sql::rows::ModelRow> =
                    sqlx::query_as(&sql).bind(name.as_str()).fetch_optional(self.reader()).await?;
                row.map(TryInto::try_into).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn model_by_id(
                &self,
                id: uuid::Uuid,
            ) -> $crate::Result<Option<$crate::ModelRecord>> {
                let sql = format!(
                    "SELECT {} FROM {} WHERE m.id = $1",
                    $crate::sql::MODEL_COLUMNS,
                    $crate::sql::MODEL_FROM
                );
                let row: Option<$crate::sql::rows::ModelRow> =
                    sqlx::query_as(&sql).bind(id).fetch_optional(self.reader()).await?;
                row.map(TryInto::try_into).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn create_model(
                &self,
                name: &caravan_domain::ModelName,
                patch: &$crate::ModelPatch,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::ModelRecord> {
                let mut tx = self.begin_write().await?;
                let now = $crate::Timestamp::now();
                let visibility = patch.visibility.unwrap_or(caravan_domain::Visibility::Private);
                Self::check_former_name(&mut tx, name.as_str(), actor.user_id).await?;
                let inserted: Option<(uuid::Uuid,)> = sqlx::query_as(
                    "INSERT INTO models (id, name, owner_id, tags, visibility, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (name) DO NOTHING RETURNING id",
                )
                .bind(uuid::Uuid::new_v4()).bind(name.as_str()).bind(actor.user_id)
                .bind(sqlx::types::Json(Vec::<String>::new())).bind(visibility.as_str()).bind(now)
                .fetch_optional(&mut *tx).await?;
                let Some((id,)) = inserted else {
                    return Err($crate::CatalogError::conflict(
                        caravan_domain::ConflictKind::AlreadyExists,
                        format!("model {name} already exists"),
                    ));
                };
                Self::apply_patch(&mut tx, id, patch).await?;
                let audit = $crate::NewAudit::new(actor, "model.create", format!("model:{name}"));
                Self::append_audit(&mut tx, &audit).await?;
                let model = Self::model_in_tx(&mut tx, id).await?;
                tx.commit().await?;
                Ok(model)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn update_model(
                &self,
                name: &caravan_domain::ModelName,
                patch: &$crate::ModelPatch,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::ModelRecord> {
                let mut tx = self.begin_write().await?;
                let (id, _) = Self::lock_model(&mut tx, name.as_str()).await?;
                Self::apply_patch(&mut tx, id, patch).await?;
                let details = serde_json::json!({
                    "description": patch.description.is_some(),
                    "card": patch.card.is_some(),
                    "tags": patch.tags,
                    "license": patch.license,
                    "visibility": patch.visibility,
                });
                let audit = $crate::NewAudit::new(actor, "model.update", format!("model:{name}"))
                    .with(details);
                Self::append_audit(&mut tx, &audit).await?;
                let model = Self::model_in_tx(&mut tx, id).await?;
                tx.commit().await?;
                Ok(model)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn rename_model(
                &self,
                name: &caravan_domain::ModelName,
                new_name: &caravan_domain::ModelName,
                actor: &$crate::Actor,
            ) -> $crate::Result<$crate::ModelRecord> {
                let mut tx = self.begin_write().await?;
                let (id, owner) = Self::lock_model(&mut tx, name.as_str()).await?;
                let taken: Option<(uuid::Uuid,)> = sqlx::query_as("SELECT id FROM models WHERE name = $1")
                    .bind(new_name.as_str()).fetch_optional(&mut *tx).await?;
                if taken.is_some() {
                    return Err($crate::CatalogError::conflict(
                        caravan_domain::ConflictKind::AlreadyExists,
                        format!("model {new_name} already exists"),
                    ));
                }
                Self::check_former_name(&mut tx, new_name.as_str(), owner).await?;
                let now = $crate::Timestamp::now();
                sqlx::query("UPDATE models SET name = $1, updated_at = $2 WHERE id = $3")
                    .bind(new_name.as_str()).bind(now).bind(id)
                    .execute(&mut *tx).await?;
                sqlx::query(
                    "INSERT INTO model_former_names (name, model_id, renamed_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET model_id = excluded.model_id, renamed_at = excluded.renamed_at",
                )
                .bind(name.as_str()).bind(id).bind(now)
                .execute(&mut *tx).await?;
                let audit = $crate::NewAudit::new(actor, "model.rename", format!("model:{new_name}"))
                    .with(serde_json::json!({"from": name.as_str()}));
                Self::append_audit(&mut tx, &audit).await?;
                let model = Self::model_in_tx(&mut tx, id).await?;
                tx.commit().await?;
                Ok(model)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn delete_model(
                &self,
                name: &caravan_domain::ModelName,
                actor: &$crate::Actor,
            ) -> $crate::Result<Vec<String>> {
                let mut tx = self.begin_write().await?;
                let (id, _) = Self::lock_model(&mut tx, name.as_str()).await?;
                let shas: Vec<(String,)> =
                    sqlx::query_as("SELECT sha256 FROM versions WHERE model_id = $1")
                        .bind(id)
                        .fetch_all(&mut *tx)
                        .await?;
                sqlx::query("DELETE FROM models WHERE id = $1").bind(id).execute(&mut *tx).await?;
                let audit = $crate::NewAudit::new(actor, "model.delete", format!("model:{name}"))
                    .with(serde_json::json!({ "versions": shas.len() }));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(shas.into_iter().map(|(s,)| s).collect())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn record_download(&self, model_id: uuid::Uuid) -> $crate::Result<()> {
                sqlx::query("UPDATE models SET downloads = downloads + 1 WHERE id = $1")
                    .bind(model_id)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_models;
