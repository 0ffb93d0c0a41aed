//! Fresh databases for tests: a new SQLite file or a new PostgreSQL database per test, so tests
//! run in parallel without seeing each other's rows.

use sqlx::{Connection, PgConnection};

/// Where tests find PostgreSQL (`CARAVAN_TEST_POSTGRES_URL`, else the role `.ci/run` creates).
pub fn postgres_admin_url() -> String {
    std::env::var("CARAVAN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://caravan:caravan@127.0.0.1:5432/caravan".into())
}

/// A PostgreSQL database created for one test and dropped when this guard is dropped.
pub struct TestPostgres {
    pub url: String,
    name: String,
    admin_url: String,
}

impl TestPostgres {
    /// Creates a uniquely named database. Fails loudly when PostgreSQL is unreachable: a test
    /// that needs it must not pass without it.
    pub async fn create() -> Self {
        let admin_url = postgres_admin_url();
        let name = format!("caravan_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is required for this test ({admin_url}): {e}; run scripts/test.sh")
        });
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin_url);
        Self {
            url: format!("{base}/{name}"),
            name,
            admin_url,
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any runtime guarantee, so use a short-lived one on its own thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    if let Ok(mut conn) = PgConnection::connect(&admin_url).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = sqlx::query(&sql).execute(&mut conn).await;
                    }
                });
            }
        })
        .join();
    }
}
