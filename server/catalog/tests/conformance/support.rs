//! A fresh catalog per test, plus builders for the records tests need.

use std::sync::Arc;

use caravan_catalog::{
    Actor, AuditRecord, Catalog, ModelPatch, NewPipeline, NewUser, NewVersion, PipelineRecord,
    Published, Timestamp, postgres::PgCatalog, sqlite::SqliteCatalog, testing::TestPostgres,
};
use caravan_domain::{ModelInfo, ModelName, Role, Signature, TensorSpec, TensorType};

pub struct Harness {
    pub catalog: Arc<dyn Catalog>,
    /// A URL to reach the same database directly (for checks below the trait).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    _pg: Option<TestPostgres>,
}

impl Harness {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
        let catalog = Arc::new(SqliteCatalog::open(&url, 4).await.unwrap());
        Self {
            catalog,
            url,
            _dir: Some(dir),
            _pg: None,
        }
    }

    pub async fn postgres() -> Self {
        let pg = TestPostgres::create().await;
        let catalog = Arc::new(PgCatalog::open(&pg.url, 8).await.unwrap());
        Self {
            catalog,
            url: pg.url.clone(),
            _dir: None,
            _pg: Some(pg),
        }
    }

    pub fn c(&self) -> &dyn Catalog {
        self.catalog.as_ref()
    }

    /// Runs a statement on a separate connection, bypassing the catalog.
    pub async fn raw_execute(&self, sql: &str) -> Result<(), sqlx::Error> {
        use sqlx::Connection;
        if self.url.starts_with("sqlite") {
            let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
            sqlx::query(sql).execute(&mut conn).await.map(|_| ())
        } else {
            let mut conn = sqlx::PgConnection::connect(&self.url).await?;
            sqlx::query(sql).execute(&mut conn).await.map(|_| ())
        }
    }

    pub async fn user(&self, name: &str, role: Role) -> Actor {
        let user = self
            .c()
            .create_user(
                NewUser {
                    username: name.into(),
                    role,
                    password_hash: "x".into(),
                },
                None,
            )
            .await
            .unwrap();
        Actor {
            user_id: user.id,
            username: user.username,
        }
    }

    /// Reserves and publishes a version whose bytes hash to `sha`.
    pub async fn publish(&self, actor: &Actor, model: &str, sha: &str) -> Published {
        self.publish_with(actor, model, sha, ModelPatch::default())
            .await
    }

    pub async fn publish_with(
        &self,
        actor: &Actor,
        model: &str,
        sha: &str,
        metadata: ModelPatch,
    ) -> Published {
        assert!(self.c().reserve_blob(sha, 10).await.unwrap());
        self.c()
            .publish_version(new_version(model, sha, metadata), actor)
            .await
            .unwrap()
    }

    /// The newest `n` audit entries, newest first.
    pub async fn audit(&self, n: i64) -> Vec<AuditRecord> {
        self.c().list_audit(n, None).await.unwrap()
    }

    /// The newest audit entry.
    pub async fn last_audit(&self) -> AuditRecord {
        self.audit(1).await.remove(0)
    }

    /// Creates a pipeline owned by `actor` with a small spec naming it.
    pub async fn pipeline(
        &self,
        actor: &Actor,
        name: &str,
        trigger_dataset: Option<&str>,
    ) -> PipelineRecord {
        self.c()
            .create_pipeline(
                NewPipeline {
                    name: name.into(),
                    owner_id: actor.user_id,
                    spec: serde_json::json!({ "name": name, "steps": ["train"] }),
                    trigger_dataset: trigger_dataset.map(Into::into),
                },
                actor,
            )
            .await
            .unwrap()
    }
}

/// `seconds` from now (negative: in the past), with the precision both engines keep.
pub fn at(seconds: i64) -> Timestamp {
    Clock::start().at(seconds)
}

/// Instants at offsets from one start, so that the same offset always names the same time.
/// Rows the catalog stamps itself (a run's `not_before`, an event's first attempt) get the
/// real time, so a check starts its clock after writing them and passes times from it.
#[derive(Debug, Clone, Copy)]
pub struct Clock(chrono::DateTime<chrono::Utc>);

impl Clock {
    pub fn start() -> Self {
        Self(chrono::Utc::now())
    }

    pub fn at(self, seconds: i64) -> Timestamp {
        Timestamp::from_datetime(self.0 + chrono::Duration::seconds(seconds))
    }
}

pub fn new_version(model: &str, sha: &str, metadata: ModelPatch) -> NewVersion {
    NewVersion {
        model: ModelName::parse(model).unwrap(),
        metadata,
        sha256: sha.into(),
        size: 10,
        info: info(),
        require_owner: None,
        import: None,
    }
}

pub fn info() -> ModelInfo {
    let spec = |name: &str| TensorSpec {
        name: name.into(),
        datatype: TensorType::Fp32,
        shape: vec![-1, 4],
    };
    ModelInfo {
        signature: Signature {
            inputs: vec![spec("x")],
            outputs: vec![spec("y")],
        },
        ir_version: 8,
        producer_name: "test".into(),
        ..Default::default()
    }
}

/// A fake sha256 that differs per `n`.
pub fn sha(n: u32) -> String {
    format!("{n:064x}")
}
