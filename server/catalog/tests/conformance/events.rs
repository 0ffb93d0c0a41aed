use std::collections::BTreeSet;

use caravan_catalog::{Actor, CatalogError, HookRecord, OutboxRecord};
use caravan_domain::Role;
use serde_json::json;
use uuid::Uuid;

use crate::{Harness, support::Clock};

async fn hook(h: &Harness, actor: &Actor, name: &str, events: &[&str]) -> HookRecord {
    let events: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    h.c()
        .create_hook(
            &format!("https://{name}.example/hook"),
            &events,
            &format!("secret-{name}"),
            actor,
        )
        .await
        .unwrap()
}

fn ids(records: &[OutboxRecord]) -> Vec<i64> {
    let mut ids: Vec<_> = records.iter().map(|r| r.id).collect();
    ids.sort();
    ids
}

pub async fn hooks_are_created_listed_and_deleted_once(h: &Harness) {
    let admin = h.user("admin", Role::Admin).await;
    let events = vec!["model.published".to_string(), "run.finished".to_string()];
    let first = h
        .c()
        .create_hook("https://ci.example/hook", &events, "s3cret", &admin)
        .await
        .unwrap();
    assert_eq!(
        (
            first.url.as_str(),
            first.events.as_slice(),
            first.secret.as_str(),
            first.created_by.as_str()
        ),
        ("https://ci.example/hook", &events[..], "s3cret", "admin")
    );
    let audit = h.last_audit().await;
    assert_eq!(
        (audit.action.as_str(), audit.actor.as_deref()),
        ("webhook.create", Some("admin"))
    );
    assert_eq!(audit.target, format!("webhook:{}", first.id));
    assert_eq!(audit.details["url"], "https://ci.example/hook");
    assert_eq!(audit.details["events"], json!(events));

    let second = hook(h, &admin, "all", &["*"]).await;
    assert_eq!(
        h.c().hooks().await.unwrap(),
        [first.clone(), second.clone()]
    );

    h.c().delete_hook(first.id, &admin).await.unwrap();
    let audit = h.last_audit().await;
    assert_eq!(audit.action, "webhook.delete");
    assert_eq!(audit.target, format!("webhook:{}", first.id));
    assert_eq!(h.c().hooks().await.unwrap(), [second]);
    for id in [first.id, Uuid::new_v4()] {
        assert!(matches!(
            h.c().delete_hook(id, &admin).await,
            Err(CatalogError::NotFound(_))
        ));
    }
    assert_eq!(
        h.last_audit().await,
        audit,
        "a refused removal is not logged"
    );
}

pub async fn events_are_queued_for_every_hook_that_wants_their_type(h: &Harness) {
    let admin = h.user("admin", Role::Admin).await;
    assert_eq!(
        h.c()
            .enqueue_event("model.published", &json!({}))
            .await
            .unwrap(),
        0,
        "no hooks, no deliveries"
    );
    let a = hook(h, &admin, "a", &["model.published", "run.finished"]).await;
    let b = hook(h, &admin, "b", &["*"]).await;
    let c = hook(h, &admin, "c", &["run.finished"]).await;

    let published = json!({ "type": "model.published", "model": "fraud", "version": 2 });
    let finished = json!({ "type": "run.finished", "run": { "status": "succeeded" } });
    let other = json!({ "type": "user.created" });
    let enqueue = |event_type: &'static str, event: serde_json::Value| async move {
        h.c().enqueue_event(event_type, &event).await.unwrap()
    };
    assert_eq!(enqueue("model.published", published.clone()).await, 2);
    assert_eq!(enqueue("run.finished", finished.clone()).await, 3);
    assert_eq!(enqueue("user.created", other.clone()).await, 1);

    let deliveries =
        |hook: Uuid, limit: i64| async move { h.c().hook_deliveries(hook, limit).await.unwrap() };
    let to_a = deliveries(a.id, 10).await;
    assert_eq!(
        to_a.iter().map(|d| d.event.clone()).collect::<Vec<_>>(),
        [finished.clone(), published.clone()],
        "newest first"
    );
    assert!(to_a[0].id > to_a[1].id);
    for delivery in &to_a {
        assert_eq!(
            (
                delivery.hook_id,
                delivery.url.as_str(),
                delivery.secret.as_str()
            ),
            (a.id, a.url.as_str(), a.secret.as_str())
        );
        assert_eq!(delivery.attempts, 0);
        assert!(delivery.delivered_at.is_none() && delivery.failed_at.is_none());
        assert!(delivery.last_error.is_none());
    }
    let to_b: Vec<_> = deliveries(b.id, 10)
        .await
        .into_iter()
        .map(|d| d.event)
        .collect();
    assert_eq!(to_b, [other.clone(), finished.clone(), published]);
    assert_eq!(deliveries(b.id, 2).await.len(), 2);
    let to_c: Vec<_> = deliveries(c.id, 10)
        .await
        .into_iter()
        .map(|d| d.event)
        .collect();
    assert_eq!(to_c, [finished]);
    assert!(deliveries(Uuid::new_v4(), 10).await.is_empty());
}

pub async fn deliveries_are_leased_retried_and_given_up(h: &Harness) {
    let admin = h.user("admin", Role::Admin).await;
    let a = hook(h, &admin, "a", &["*"]).await;
    for n in 1..=3 {
        h.c()
            .enqueue_event("tick", &json!({ "n": n }))
            .await
            .unwrap();
    }
    let t = Clock::start();
    let all = h.c().hook_deliveries(a.id, 10).await.unwrap();
    let (e1, e2, e3) = (all[2].id, all[1].id, all[0].id);

    let claim = |now: i64, lease: i64, limit: i64| async move {
        h.c()
            .claim_outbox(t.at(now), t.at(lease), limit)
            .await
            .unwrap()
    };
    assert!(
        claim(-3600, -3000, 10).await.is_empty(),
        "not due before queued"
    );
    let first = claim(0, 60, 2).await;
    assert_eq!(ids(&first), [e1, e2], "the oldest first, up to the limit");
    assert!(first.iter().all(|d| d.attempts == 1 && d.url == a.url));
    assert_eq!(ids(&claim(0, 60, 10).await), [e3]);
    assert!(claim(59, 120, 10).await.is_empty(), "all leased");

    h.c().outbox_delivered(e1).await.unwrap();
    h.c()
        .outbox_failed(e2, "HTTP 500", Some(t.at(300)))
        .await
        .unwrap();
    // e3's worker died: its lease runs out; e2 waits for its retry time.
    let expired = claim(61, 120, 10).await;
    assert_eq!(ids(&expired), [e3]);
    assert_eq!(expired[0].attempts, 2);
    let retried = claim(300, 400, 10).await;
    assert_eq!(ids(&retried), [e2, e3]);
    let attempts: Vec<_> = retried.iter().map(|d| (d.id, d.attempts)).collect();
    assert!(attempts.contains(&(e2, 2)) && attempts.contains(&(e3, 3)));
    let e2_row = retried.iter().find(|d| d.id == e2).unwrap();
    assert_eq!(e2_row.last_error.as_deref(), Some("HTTP 500"));

    h.c().outbox_delivered(e2).await.unwrap();
    h.c().outbox_failed(e3, "gone", None).await.unwrap();
    assert!(
        claim(100_000, 100_060, 10).await.is_empty(),
        "delivered and given-up deliveries are done"
    );

    let states: Vec<_> = h
        .c()
        .hook_deliveries(a.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| {
            (
                d.id,
                d.attempts,
                d.delivered_at.is_some(),
                d.failed_at.is_some(),
                d.last_error,
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (e3, 3, false, true, Some("gone".into())),
            (e2, 2, true, false, None),
            (e1, 1, true, false, None),
        ],
        "delivery clears the last error"
    );
}

pub async fn concurrent_outbox_claims_hand_out_each_delivery_once(h: &Harness) {
    let admin = h.user("admin", Role::Admin).await;
    let a = hook(h, &admin, "a", &["*"]).await;
    for n in 0..12 {
        h.c()
            .enqueue_event("tick", &json!({ "n": n }))
            .await
            .unwrap();
    }
    let t = Clock::start();
    let queued: BTreeSet<_> = h
        .c()
        .hook_deliveries(a.id, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    let claimers: Vec<_> = (0..6)
        .map(|_| {
            let catalog = h.catalog.clone();
            tokio::spawn(async move { catalog.claim_outbox(t.at(0), t.at(60), 3).await.unwrap() })
        })
        .collect();
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap().into_iter().map(|d| d.id));
    }
    // Whatever a busy claimer skipped is still there for the next one.
    let rest = h.c().claim_outbox(t.at(0), t.at(60), 100).await.unwrap();
    claimed.extend(rest.into_iter().map(|d| d.id));
    let unique: BTreeSet<_> = claimed.iter().copied().collect();
    assert_eq!(unique.len(), claimed.len(), "no delivery handed out twice");
    assert_eq!(unique, queued);
}

pub async fn deleting_a_hook_drops_its_pending_deliveries(h: &Harness) {
    let admin = h.user("admin", Role::Admin).await;
    let a = hook(h, &admin, "a", &["*"]).await;
    let b = hook(h, &admin, "b", &["*"]).await;
    assert_eq!(
        h.c()
            .enqueue_event("model.published", &json!({ "model": "fraud" }))
            .await
            .unwrap(),
        2
    );
    h.c().delete_hook(a.id, &admin).await.unwrap();
    assert!(h.c().hook_deliveries(a.id, 10).await.unwrap().is_empty());
    let t = Clock::start();
    let claimed = h.c().claim_outbox(t.at(0), t.at(60), 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|d| d.hook_id).collect::<Vec<_>>(),
        [b.id]
    );
    assert_eq!(
        h.c()
            .enqueue_event("model.published", &json!({}))
            .await
            .unwrap(),
        1,
        "only the remaining hook"
    );
}
