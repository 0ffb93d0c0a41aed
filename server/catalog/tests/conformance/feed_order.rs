//! PostgreSQL only: the federation change feed cannot skip a change committed out of the
//! order its `seq` was handed out in (SQLite has one writer, so its order is commit order).

use std::time::{Duration, Instant};

use caravan_catalog::{FederatedCatalog, ModelPatch, NewPeer};
use caravan_domain::{ModelName, Role, Visibility};
use sqlx::Connection;

use crate::Harness;

async fn waiting_on_a_lock(h: &Harness) -> bool {
    let mut conn = sqlx::PgConnection::connect(&h.url).await.unwrap();
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    n > 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_committed_after_a_later_one_is_still_in_the_feed() {
    let h = Harness::postgres().await;
    let admin = h.user("admin", Role::Admin).await;
    let peer = NewPeer {
        name: "org-a".into(),
        api_url: "https://org-a.example:9443".into(),
        subject: None,
        fingerprint: Some("aa".into()),
        signing_key: "a2V5".into(),
        legacy_acumos: false,
    };
    let peer = h.c().create_peer(peer, &admin).await.unwrap();
    let public = ModelPatch {
        visibility: Some(Visibility::Public),
        ..Default::default()
    };
    let first = h
        .publish_with(&admin, "first", &"1".repeat(64), public.clone())
        .await
        .model
        .id;
    let second = h
        .publish_with(&admin, "second", &"2".repeat(64), public)
        .await
        .model
        .id;
    let start = h
        .c()
        .changes_since(peer.id, FederatedCatalog::Public, 0)
        .await
        .unwrap()
        .cursor;

    // Writer A changes `first` and stays open; writer B changes `second` meanwhile.
    let mut a = sqlx::PgConnection::connect(&h.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut a).await.unwrap();
    sqlx::query("UPDATE models SET description = 'by a' WHERE id = $1")
        .bind(first)
        .execute(&mut a)
        .await
        .unwrap();
    let catalog = h.catalog.clone();
    let b = tokio::spawn(async move {
        let patch = ModelPatch {
            description: Some("by b".into()),
            ..Default::default()
        };
        let name = ModelName::parse("second").unwrap();
        catalog.update_model(&name, &patch, &admin).await.unwrap();
    });
    // B either commits first (what a feed keyed by insertion order allows) or waits for A.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !b.is_finished() && !waiting_on_a_lock(&h).await {
        assert!(Instant::now() < deadline, "B neither finished nor waited");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let meanwhile = h
        .c()
        .changes_since(peer.id, FederatedCatalog::Public, start)
        .await
        .unwrap();
    sqlx::query("COMMIT").execute(&mut a).await.unwrap();
    b.await.unwrap();
    let after = h
        .c()
        .changes_since(peer.id, FederatedCatalog::Public, meanwhile.cursor)
        .await
        .unwrap();

    let seen: std::collections::BTreeSet<_> = meanwhile
        .models
        .iter()
        .chain(&after.models)
        .map(|m| m.id)
        .collect();
    assert!(
        seen.contains(&first) && seen.contains(&second),
        "a peer following the cursor saw {seen:?}, not both {first} and {second}"
    );
}
