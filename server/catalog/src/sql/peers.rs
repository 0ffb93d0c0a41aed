//! Peers, shares, what peers may see and imports' provenance (the `FederationRepo` impl;
//! subscriptions are in `subscriptions.rs`).

/// A model a peer may see in the public catalog: public, local (imported models are never
/// re-exported), not withdrawn, with at least one version.
pub(crate) const PUBLIC_TO_PEER: &str = "(m.visibility = 'public' AND m.withdrawn_at IS NULL \
     AND m.name NOT LIKE '%:%' AND EXISTS (SELECT 1 FROM versions v WHERE v.model_id = m.id))";

/// A model shared with the peer bound as `$1`.
pub(crate) const SHARED_WITH_PEER: &str = "(EXISTS (SELECT 1 FROM model_shares s WHERE \
     s.model_id = m.id AND s.peer_id = $1) AND m.withdrawn_at IS NULL AND m.name NOT LIKE '%:%' \
     AND EXISTS (SELECT 1 FROM versions v WHERE v.model_id = m.id))";

pub(crate) fn catalog_filter(catalog: crate::FederatedCatalog) -> String {
    match catalog {
        crate::FederatedCatalog::Public => PUBLIC_TO_PEER.to_owned(),
        crate::FederatedCatalog::Shared => SHARED_WITH_PEER.to_owned(),
    }
}

pub(crate) fn visible_filter() -> String {
    format!("({PUBLIC_TO_PEER} OR {SHARED_WITH_PEER})")
}

macro_rules! impl_peers {
    ($catalog:ty) => {
        impl $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn peer_where(&self, clause: &str, value: &str) -> $crate::Result<Option<$crate::PeerRecord>> {
                let sql = format!("SELECT * FROM peers WHERE {clause} = $1");
                let row: Option<$crate::sql::rows::PeerRow> =
                    sqlx::query_as(&sql).bind(value).fetch_optional(self.reader()).await?;
                row.map(TryInto::try_into).transpose()
            }

            /// Models matching `filter`, which may refer to the peer as `$1` and, with
            /// `model_id`, to that model as `$2` (unused parameters are not bound: PostgreSQL
            /// refuses them).
            #[tracing::instrument(level = "debug", skip_all)]
            async fn models_where(
                &self,
                filter: &str,
                peer_id: uuid::Uuid,
                model_id: Option<uuid::Uuid>,
                extra: &str,
            ) -> $crate::Result<Vec<$crate::ModelRecord>> {
                let by_id = if model_id.is_some() { " AND m.id = $2" } else { "" };
                let sql = format!(
                    "SELECT {} FROM {} WHERE {filter}{by_id}{extra} ORDER BY m.seq",
                    $crate::sql::MODEL_COLUMNS,
                    $crate::sql::MODEL_FROM
                );
                let mut query = sqlx::query_as::<_, $crate::sql::rows::ModelRow>(&sql);
                if filter.contains("$1") || model_id.is_some() {
                    query = query.bind(peer_id);
                }
                if let Some(id) = model_id {
                    query = query.bind(id);
                }
                $crate::sql::rows::convert(query.fetch_all(self.reader()).await?)
            }
        }

        #[async_trait::async_trait]
        impl $crate::FederationRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn create_peer(&self, peer: $crate::NewPeer, actor: &$crate::Actor) -> $crate::Result<$crate::PeerRecord> {
                let now = $crate::Timestamp::now();
                let mut tx = self.begin_write().await?;
                let row: $crate::sql::rows::PeerRow = sqlx::query_as(
                    "INSERT INTO peers (id, name, api_url, subject, fingerprint, signing_key, legacy_acumos, \
                     status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $8) RETURNING *",
                )
                .bind(uuid::Uuid::new_v4())
                .bind(&peer.name)
                .bind(&peer.api_url)
                .bind(&peer.subject)
                .bind(&peer.fingerprint)
                .bind(&peer.signing_key)
                .bind(peer.legacy_acumos)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| match $crate::CatalogError::from(e) {
                    $crate::CatalogError::Duplicate(_) => $crate::CatalogError::conflict(
                        caravan_domain::ConflictKind::AlreadyExists,
                        format!("peer {:?} already exists", peer.name),
                    ),
                    other => other,
                })?;
                let audit = $crate::NewAudit::new(actor, "peer.create", format!("peer:{}", peer.name))
                    .with(serde_json::json!({ "api_url": peer.api_url, "subject": peer.subject, "fingerprint": peer.fingerprint, "legacy_acumos": peer.legacy_acumos }));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                row.try_into()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn peers(&self) -> $crate::Result<Vec<$crate::PeerRecord>> {
                let rows: Vec<$crate::sql::rows::PeerRow> =
                    sqlx::query_as("SELECT * FROM peers ORDER BY name").fetch_all(self.reader()).await?;
                $crate::sql::rows::convert(rows)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn peer_by_name(&self, name: &str) -> $crate::Result<Option<$crate::PeerRecord>> {
                self.peer_where("name", name).await
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn peer_by_id(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::PeerRecord>> {
                let row: Option<$crate::sql::rows::PeerRow> =
                    sqlx::query_as("SELECT * FROM peers WHERE id = $1").bind(id).fetch_optional(self.reader()).await?;
                row.map(TryInto::try_into).transpose()
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn peer_by_identity(&self, fingerprint: &str, subject: &str) -> $crate::Result<Option<$crate::PeerRecord>> {
                let rows: Vec<$crate::sql::rows::PeerRow> = sqlx::query_as(
                    "SELECT * FROM peers WHERE status = 'active' \
                     AND (fingerprint IS NULL OR fingerprint = $1) AND (subject IS NULL OR subject = $2) LIMIT 2",
                )
                .bind(fingerprint)
                .bind(subject)
                .fetch_all(self.reader())
                .await?;
                match <[_; 1]>::try_from(rows) {
                    Ok([row]) => Ok(Some(row.try_into()?)),
                    Err(_) => Ok(None),
                }
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn set_peer_status(&self, id: uuid::Uuid, status: $crate::PeerStatus, actor: &$crate::Actor) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let name: Option<(String,)> =
                    sqlx::query_as("UPDATE peers SET status = $1, updated_at = $2 WHERE id = $3 RETURNING name")
                        .bind(status.as_str())
                        .bind($crate::Timestamp::now())
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let (name,) = name.ok_or_else(|| $crate::CatalogError::NotFound("peer".into()))?;
                let audit = $crate::NewAudit::new(actor, &format!("peer.{status}"), format!("peer:{name}"));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn share_model(&self, model_id: uuid::Uuid, peer_id: uuid::Uuid, actor: &$crate::Actor) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let name = Self::model_name_in_tx(&mut tx, model_id).await?;
                sqlx::query("INSERT INTO model_shares (model_id, peer_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(model_id)
                    .bind(peer_id)
                    .bind($crate::Timestamp::now())
                    .execute(&mut *tx)
                    .await?;
                let audit = $crate::NewAudit::new(actor, "model.share", format!("model:{name}"))
                    .with(serde_json::json!({ "peer_id": peer_id }));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn unshare_model(&self, model_id: uuid::Uuid, peer_id: uuid::Uuid, actor: &$crate::Actor) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                let name = Self::model_name_in_tx(&mut tx, model_id).await?;
                let removed = sqlx::query("DELETE FROM model_shares WHERE model_id = $1 AND peer_id = $2")
                    .bind(model_id)
                    .bind(peer_id)
                    .execute(&mut *tx)
                    .await?;
                if removed.rows_affected() == 0 {
                    return Err($crate::CatalogError::NotFound("share".into()));
                }
                let audit = $crate::NewAudit::new(actor, "model.unshare", format!("model:{name}"))
                    .with(serde_json::json!({ "peer_id": peer_id }));
                Self::append_audit(&mut tx, &audit).await?;
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn model_shares(&self, model_id: uuid::Uuid) -> $crate::Result<Vec<$crate::PeerRecord>> {
                let rows: Vec<$crate::sql::rows::PeerRow> = sqlx::query_as(
                    "SELECT p.* FROM peers p JOIN model_shares s ON s.peer_id = p.id WHERE s.model_id = $1 ORDER BY p.name",
                )
                .bind(model_id)
                .fetch_all(self.reader())
                .await?;
                $crate::sql::rows::convert(rows)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn federated_models(&self, peer_id: uuid::Uuid, catalog: $crate::FederatedCatalog) -> $crate::Result<Vec<$crate::ModelRecord>> {
                self.models_where(&$crate::sql::peers::catalog_filter(catalog), peer_id, None, "").await
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn federated_model(&self, peer_id: uuid::Uuid, model_id: uuid::Uuid) -> $crate::Result<Option<$crate::ModelRecord>> {
                let filter = $crate::sql::peers::visible_filter();
                Ok(self.models_where(&filter, peer_id, Some(model_id), "").await?.pop())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn record_exports(&self, peer_id: uuid::Uuid, model_ids: &[uuid::Uuid]) -> $crate::Result<()> {
                let mut tx = self.begin_write().await?;
                for id in model_ids {
                    sqlx::query("INSERT INTO federation_exports (peer_id, model_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(peer_id)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn changes_since(&self, peer_id: uuid::Uuid, catalog: $crate::FederatedCatalog, cursor: i64) -> $crate::Result<$crate::ChangeSet> {
                let (latest,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM federation_changes")
                    .fetch_one(self.reader())
                    .await?;
                let latest = latest.unwrap_or(0).max(cursor);
                let changed = format!(
                    " AND m.id IN (SELECT model_id FROM federation_changes WHERE seq > {cursor} AND seq <= {latest})"
                );
                let filter = $crate::sql::peers::catalog_filter(catalog);
                let models = self.models_where(&filter, peer_id, None, &changed).await?;
                let sql = format!(
                    "SELECT e.model_id FROM federation_exports e WHERE e.peer_id = $1 AND e.model_id IN \
                     (SELECT model_id FROM federation_changes WHERE seq > {cursor} AND seq <= {latest}) \
                     AND NOT EXISTS (SELECT 1 FROM models m WHERE m.id = e.model_id AND {})",
                    $crate::sql::peers::visible_filter()
                );
                let withdrawn: Vec<(uuid::Uuid,)> = sqlx::query_as(&sql).bind(peer_id).fetch_all(self.reader()).await?;
                Ok($crate::ChangeSet { models, withdrawn: withdrawn.into_iter().map(|(id,)| id).collect(), cursor: latest })
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn version_by_artifact(&self, artifact_id: uuid::Uuid) -> $crate::Result<Option<(uuid::Uuid, i64)>> {
                Ok(sqlx::query_as("SELECT model_id, version FROM versions WHERE artifact_id = $1")
                    .bind(artifact_id)
                    .fetch_optional(self.reader())
                    .await?)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn provenance(&self, model_id: uuid::Uuid) -> $crate::Result<Option<$crate::ProvenanceRecord>> {
                let row: Option<$crate::sql::rows::ProvenanceRow> = sqlx::query_as(
                    "SELECT pr.peer_id, p.name AS peer_name, pr.remote_solution_id, pr.remote_name, pr.fetched_at \
                     FROM provenance pr JOIN peers p ON p.id = pr.peer_id WHERE pr.model_id = $1",
                )
                .bind(model_id)
                .fetch_optional(self.reader())
                .await?;
                let Some(row) = row else { return Ok(None) };
                let mut record: $crate::ProvenanceRecord = row.into();
                let unverified: Vec<(i64,)> = sqlx::query_as(
                    "SELECT version FROM version_provenance WHERE model_id = $1 AND manifest = '' ORDER BY version",
                )
                .bind(model_id)
                .fetch_all(self.reader())
                .await?;
                record.unverified_versions = unverified.into_iter().map(|(v,)| v).collect();
                Ok(Some(record))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn imported_revision(&self, peer_id: uuid::Uuid, remote_revision_id: uuid::Uuid) -> $crate::Result<Option<(uuid::Uuid, i64)>> {
                Ok(sqlx::query_as(
                    "SELECT vp.model_id, vp.version FROM version_provenance vp JOIN provenance pr \
                     ON pr.model_id = vp.model_id WHERE pr.peer_id = $1 AND vp.remote_revision_id = $2",
                )
                .bind(peer_id)
                .bind(remote_revision_id)
                .fetch_optional(self.reader())
                .await?)
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn imported_model(&self, peer_id: uuid::Uuid, remote_solution_id: uuid::Uuid) -> $crate::Result<Option<uuid::Uuid>> {
                let row: Option<(uuid::Uuid,)> =
                    sqlx::query_as("SELECT model_id FROM provenance WHERE peer_id = $1 AND remote_solution_id = $2")
                        .bind(peer_id)
                        .bind(remote_solution_id)
                        .fetch_optional(self.reader())
                        .await?;
                Ok(row.map(|(id,)| id))
            }

            #[tracing::instrument(level = "debug", skip_all)]
            async fn withdraw_model(&self, model_id: uuid::Uuid, actor: &$crate::Actor) -> $crate::Result<bool> {
                let mut tx = self.begin_write().await?;
                let name: Option<(String,)> = sqlx::query_as(
                    "UPDATE models SET withdrawn_at = $1 WHERE id = $2 AND withdrawn_at IS NULL RETURNING name",
                )
                .bind($crate::Timestamp::now())
                .bind(model_id)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((name,)) = name else { return Ok(false) };
                Self::append_audit(&mut tx, &$crate::NewAudit::new(actor, "model.withdraw", format!("model:{name}"))).await?;
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}

pub(crate) use impl_peers;
