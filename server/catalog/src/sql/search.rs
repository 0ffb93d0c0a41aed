//! `SearchRepo` over SQL: filters, full-text match and keyset pagination. The backend
//! supplies the full-text pieces (`FTS_JOIN`, `push_fts_match`, `push_fts_rank`, `fts_query`).

macro_rules! impl_search {
    ($catalog:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::SearchRepo for $catalog {
            #[tracing::instrument(level = "debug", skip_all)]
            async fn search_models(
                &self,
                q: &$crate::ModelQuery,
            ) -> $crate::Result<$crate::Page<$crate::ModelRecord>> {
                use $crate::{ModelSort, Viewer, sql::cursor::Cursor};

                let terms = q.text.as_deref().map($crate::sql::search_terms).unwrap_or_default();
                let ranked = !terms.is_empty();
                let sort = match q.sort {
                    ModelSort::Relevance if !ranked => ModelSort::Updated,
                    s => s,
                };
                let desc = q.descending.unwrap_or(!matches!(sort, ModelSort::Name));
                let limit = i64::from(q.limit.clamp(1, 500));
                let cursor = q.cursor.as_deref().map(Cursor::decode).transpose()?;
                let fts = Self::fts_query(&terms);

                let mut b = sqlx::QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM {}",
                    $crate::sql::MODEL_COLUMNS,
                    $crate::sql::MODEL_FROM
                ));
                if ranked {
                    b.push(Self::FTS_JOIN);
                }
                b.push(" WHERE 1 = 1");
                if ranked {
                    b.push(" AND ");
                    Self::push_fts_match(&mut b, fts.clone());
                }
                match q.viewer {
                    Viewer::Anonymous => {
                        b.push(" AND m.visibility = 'public'");
                    }
                    Viewer::User { admin: true, .. } => {}
                    Viewer::User { id, .. } => {
                        b.push(" AND (m.visibility <> 'private' OR m.owner_id = ");
                        b.push_bind(id).push(")");
                    }
                }
                if let Some(v) = q.visibility {
                    b.push(" AND m.visibility = ").push_bind(v.as_str());
                }
                if let Some(tag) = &q.tag {
                    b.push(" AND EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = m.id AND t.tag = ");
                    b.push_bind(tag.clone()).push(")");
                }
                let op = if desc { "<" } else { ">" };
                let mut offset = 0;
                match (sort, cursor) {
                    (_, None) => {}
                    (ModelSort::Name, Some(Cursor::Name(k, s))) => {
                        b.push(format!(" AND (m.name, m.seq) {op} ("));
                        b.push_bind(k).push(", ").push_bind(s).push(")");
                    }
                    (ModelSort::Updated, Some(Cursor::Updated(k, s))) => {
                        b.push(format!(" AND (m.updated_at, m.seq) {op} ("));
                        b.push_bind(k).push(", ").push_bind(s).push(")");
                    }
                    (ModelSort::Downloads, Some(Cursor::Downloads(k, s))) => {
                        b.push(format!(" AND (m.downloads, m.seq) {op} ("));
                        b.push_bind(k).push(", ").push_bind(s).push(")");
                    }
                    (ModelSort::Relevance, Some(Cursor::Offset(o))) if o >= 0 => offset = o,
                    _ => {
                        return Err($crate::CatalogError::InvalidInput(
                            "the cursor belongs to another sort order or query".into(),
                        ));
                    }
                }
                let dir = if desc { "DESC" } else { "ASC" };
                match sort {
                    ModelSort::Name => b.push(format!(" ORDER BY m.name {dir}, m.seq {dir}")),
                    ModelSort::Updated => b.push(format!(" ORDER BY m.updated_at {dir}, m.seq {dir}")),
                    ModelSort::Downloads => {
                        b.push(format!(" ORDER BY m.downloads {dir}, m.seq {dir}"))
                    }
                    ModelSort::Relevance => {
                        b.push(" ORDER BY ");
                        Self::push_fts_rank(&mut b, fts);
                        b.push(", m.seq DESC")
                    }
                };
                b.push(" LIMIT ").push_bind(limit + 1);
                b.push(" OFFSET ").push_bind(offset);

                let mut rows: Vec<$crate::sql::rows::ModelRow> =
                    b.build_query_as().fetch_all(self.reader()).await?;
                let more = rows.len() as i64 > limit;
                rows.truncate(limit as usize);
                let last_seq = rows.last().map(|r| r.seq);
                let items: Vec<$crate::ModelRecord> = $crate::sql::rows::convert(rows)?;
                let next_cursor = match (more, items.last(), last_seq) {
                    (true, Some(last), Some(seq)) => Some(match sort {
                        ModelSort::Name => Cursor::Name(last.name.to_string(), seq),
                        ModelSort::Updated => Cursor::Updated(last.updated_at, seq),
                        ModelSort::Downloads => Cursor::Downloads(last.downloads, seq),
                        ModelSort::Relevance => Cursor::Offset(offset + limit),
                    }),
                    _ => None,
                };
                Ok($crate::Page { items, next_cursor: next_cursor.map(|c| c.encode()) })
            }
        }
    };
}

pub(crate) use impl_search;
