use caravan_catalog::{CatalogError, RunReport, Timestamp};
use caravan_domain::Role;
use uuid::Uuid;

use crate::{Harness, support::Clock};

pub async fn schedules_fire_in_time_order_and_only_when_due(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let a = h.pipeline(&alice, "a", None).await.id;
    let b = h.pipeline(&alice, "b", None).await.id;
    let c = h.pipeline(&alice, "c", None).await.id;
    let unscheduled = h.pipeline(&alice, "d", None).await.id;
    let t = Clock::start();
    h.c().set_schedule(a, Some(t.at(10))).await.unwrap();
    h.c().set_schedule(b, Some(t.at(5))).await.unwrap();
    h.c().set_schedule(c, Some(t.at(20))).await.unwrap();
    // Unknown pipelines have no schedule to set.
    h.c()
        .set_schedule(Uuid::new_v4(), Some(t.at(1)))
        .await
        .unwrap();

    let due = |seconds: i64| async move { h.c().due_schedules(t.at(seconds)).await.unwrap() };
    assert!(due(4).await.is_empty());
    assert_eq!(due(5).await, [(b, t.at(5))], "due at the very time");
    assert_eq!(due(15).await, [(b, t.at(5)), (a, t.at(10))]);
    assert_eq!(
        due(3600).await,
        [(b, t.at(5)), (a, t.at(10)), (c, t.at(20))]
    );
    assert!(!due(3600).await.iter().any(|(id, _)| *id == unscheduled));

    h.c().set_schedule(c, None).await.unwrap();
    h.c().set_schedule(b, Some(t.at(30))).await.unwrap();
    assert_eq!(due(3600).await, [(a, t.at(10)), (b, t.at(30))]);
}

pub async fn firing_a_schedule_moves_it_once_and_queues_one_run(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let a = h.pipeline(&alice, "a", None).await.id;
    let t = Clock::start();
    h.c().set_schedule(a, Some(t.at(0))).await.unwrap();

    assert!(
        h.c()
            .fire_schedule(a, t.at(0), Some(t.at(60)), "schedule")
            .await
            .unwrap()
    );
    assert!(
        !h.c()
            .fire_schedule(a, t.at(0), Some(t.at(60)), "schedule")
            .await
            .unwrap(),
        "another replica already moved it"
    );
    assert!(h.c().due_schedules(t.at(59)).await.unwrap().is_empty());
    assert_eq!(
        h.c().due_schedules(t.at(60)).await.unwrap(),
        [(a, t.at(60))]
    );
    assert!(
        !h.c()
            .fire_schedule(a, t.at(30), Some(t.at(90)), "schedule")
            .await
            .unwrap(),
        "not the time it is set to"
    );
    assert!(
        h.c()
            .fire_schedule(a, t.at(60), None, "schedule")
            .await
            .unwrap()
    );
    assert!(h.c().due_schedules(t.at(100_000)).await.unwrap().is_empty());
    assert!(
        !h.c()
            .fire_schedule(a, t.at(60), Some(t.at(120)), "schedule")
            .await
            .unwrap(),
        "a cleared schedule does not advance"
    );
    assert!(
        !h.c()
            .fire_schedule(Uuid::new_v4(), t.at(0), None, "schedule")
            .await
            .unwrap()
    );

    // Replicas racing for the same firing: exactly one wins it.
    h.c().set_schedule(a, Some(t.at(120))).await.unwrap();
    let racers: Vec<_> = (0..6)
        .map(|_| {
            let catalog = h.catalog.clone();
            tokio::spawn(async move {
                catalog
                    .fire_schedule(a, t.at(120), Some(t.at(180)), "schedule")
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        won += usize::from(racer.await.unwrap());
    }
    assert_eq!(won, 1);
    assert_eq!(
        h.c().due_schedules(t.at(1000)).await.unwrap(),
        [(a, t.at(180))]
    );
    // Every firing above queued into one run: while it waits, it covers the later firings.
    let runs = h.c().runs(a, 10).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        (runs[0].trigger.as_str(), runs[0].status),
        ("schedule", caravan_catalog::RunStatus::Queued)
    );
    // Once it is taken, the next firing queues another.
    let claimed = h.c().claim_run(t.at(200), t.at(300), 10).await.unwrap();
    assert_eq!(claimed.map(|r| r.id), Some(runs[0].id));
    assert!(
        h.c()
            .fire_schedule(a, t.at(180), Some(t.at(240)), "schedule 2")
            .await
            .unwrap()
    );
    let runs = h.c().runs(a, 10).await.unwrap();
    assert_eq!(
        runs.iter()
            .map(|r| (r.seq, r.trigger.as_str()))
            .collect::<Vec<_>>(),
        [(2, "schedule 2"), (1, "schedule")]
    );
}

pub async fn webhook_secrets_are_replaced_in_order_and_logged(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.pipeline(&alice, "p", None).await.id;
    let q = h.pipeline(&alice, "q", None).await.id;
    assert!(h.c().webhook_secrets(p).await.unwrap().is_empty());

    let rotated = vec!["whsec_new".to_string(), "whsec_old".to_string()];
    h.c()
        .set_webhook_secrets(p, &rotated, &alice)
        .await
        .unwrap();
    assert_eq!(h.c().webhook_secrets(p).await.unwrap(), rotated);
    assert!(h.c().webhook_secrets(q).await.unwrap().is_empty());
    let audit = h.last_audit().await;
    assert_eq!(
        (audit.action.as_str(), audit.actor.as_deref()),
        ("pipeline.webhook.rotate", Some("alice"))
    );
    assert_eq!(audit.target, format!("pipeline:{p}"));

    let again = vec!["whsec_newer".to_string(), "whsec_new".to_string()];
    h.c().set_webhook_secrets(p, &again, &alice).await.unwrap();
    assert_eq!(h.c().webhook_secrets(p).await.unwrap(), again);
    h.c().set_webhook_secrets(p, &[], &alice).await.unwrap();
    assert!(h.c().webhook_secrets(p).await.unwrap().is_empty());
    let audited = h.audit(100).await.len();
    let unknown = h
        .c()
        .set_webhook_secrets(Uuid::new_v4(), &again, &alice)
        .await;
    assert!(
        matches!(unknown, Err(CatalogError::NotFound(_))),
        "{unknown:?}"
    );
    assert_eq!(h.audit(100).await.len(), audited, "nothing audited");
    assert!(
        h.c()
            .webhook_secrets(Uuid::new_v4())
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn replayed_webhook_deliveries_are_refused_until_pruned(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.pipeline(&alice, "p", None).await.id;
    let q = h.pipeline(&alice, "q", None).await.id;
    let t = Clock::start();
    let record = |pipeline: Uuid, signature: &'static str, at: Timestamp| async move {
        h.c()
            .record_delivery(pipeline, signature, at)
            .await
            .unwrap()
    };

    assert!(record(p, "sig-a", t.at(-3600)).await);
    assert!(!record(p, "sig-a", t.at(0)).await, "a replay");
    assert!(
        record(q, "sig-a", t.at(-3600)).await,
        "signatures are per pipeline"
    );
    assert!(record(p, "sig-b", t.at(-60)).await);

    h.c().prune_deliveries(t.at(-60)).await.unwrap();
    assert!(
        record(p, "sig-a", t.at(0)).await,
        "forgotten once older than the cut-off"
    );
    assert!(record(q, "sig-a", t.at(0)).await);
    assert!(
        !record(p, "sig-b", t.at(0)).await,
        "received at the cut-off: kept"
    );

    h.c().prune_deliveries(t.at(1)).await.unwrap();
    assert!(record(p, "sig-b", t.at(2)).await);

    let unknown = h
        .c()
        .record_delivery(Uuid::new_v4(), "sig-c", t.at(0))
        .await;
    assert!(
        matches!(unknown, Err(CatalogError::Referenced(_))),
        "{unknown:?}"
    );
}

pub async fn a_run_keeps_its_first_external_report(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.pipeline(&alice, "p", None).await.id;
    let run = h.c().enqueue_run(p, "webhook", None).await.unwrap().id;
    let other = h.c().enqueue_run(p, "webhook", None).await.unwrap().id;
    assert_eq!(h.c().run_report(run).await.unwrap(), None);

    let t = Clock::start();
    let succeeded = RunReport {
        succeeded: true,
        version: Some(4),
        error: None,
        reported_by: "trainer-1".into(),
        reported_at: t.at(0),
    };
    assert!(h.c().report_run(run, &succeeded).await.unwrap());
    assert_eq!(
        h.c().run_report(run).await.unwrap(),
        Some(succeeded.clone())
    );

    let late = RunReport {
        succeeded: false,
        version: None,
        error: Some("out of memory".into()),
        reported_by: "trainer-2".into(),
        reported_at: t.at(5),
    };
    assert!(
        !h.c().report_run(run, &late).await.unwrap(),
        "already reported"
    );
    assert_eq!(h.c().run_report(run).await.unwrap(), Some(succeeded));
    assert!(h.c().report_run(other, &late).await.unwrap());
    assert_eq!(h.c().run_report(other).await.unwrap(), Some(late.clone()));

    let unknown = h.c().report_run(Uuid::new_v4(), &late).await;
    assert!(
        matches!(unknown, Err(CatalogError::Referenced(_))),
        "{unknown:?}"
    );
    assert_eq!(h.c().run_report(Uuid::new_v4()).await.unwrap(), None);
}
