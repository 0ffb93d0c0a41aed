use caravan_catalog::{CatalogError, LineageRecord, NewPipeline, RunReport, Timestamp};
use caravan_domain::{ModelName, Role};
use serde_json::json;
use uuid::Uuid;

use crate::{
    Harness,
    support::{at, sha},
};

pub async fn pipelines_are_created_found_listed_and_replaced(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let bob = h.user("bob", Role::User).await;
    let spec = json!({ "name": "train-fraud", "train": { "epochs": 3 }, "tags": ["a", "b"] });
    let created = h
        .c()
        .create_pipeline(
            NewPipeline {
                name: "train-fraud".into(),
                owner_id: alice.user_id,
                spec: spec.clone(),
                trigger_dataset: Some("flows".into()),
            },
            &alice,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            created.name.as_str(),
            created.owner_id,
            created.owner.as_str()
        ),
        ("train-fraud", alice.user_id, "alice")
    );
    assert_eq!(created.spec, spec);
    assert_eq!(created.trigger_dataset.as_deref(), Some("flows"));
    assert_eq!(created.created_at, created.updated_at);
    let audit = h.last_audit().await;
    assert_eq!(
        (
            audit.action.as_str(),
            audit.target.as_str(),
            audit.actor.as_deref()
        ),
        ("pipeline.create", "pipeline:train-fraud", Some("alice"))
    );

    let alpha = h.pipeline(&bob, "alpha", None).await;
    let beta = h.pipeline(&bob, "beta", Some("flows")).await;
    let names = |pipelines: Vec<caravan_catalog::PipelineRecord>| {
        pipelines.into_iter().map(|p| p.name).collect::<Vec<_>>()
    };
    assert_eq!(
        names(h.c().pipelines().await.unwrap()),
        ["alpha", "beta", "train-fraud"]
    );
    assert_eq!(
        h.c().pipeline_by_name("train-fraud").await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(h.c().pipeline_by_id(alpha.id).await.unwrap(), Some(alpha));
    assert_eq!(h.c().pipeline_by_name("gamma").await.unwrap(), None);
    assert_eq!(h.c().pipeline_by_id(Uuid::new_v4()).await.unwrap(), None);
    assert_eq!(
        names(h.c().pipelines_triggered_by("flows").await.unwrap()),
        ["beta", "train-fraud"]
    );
    assert!(
        h.c()
            .pipelines_triggered_by("alerts")
            .await
            .unwrap()
            .is_empty()
    );

    let replacement = json!({ "name": "train-fraud", "train": { "epochs": 10 } });
    let replaced = h
        .c()
        .replace_pipeline(created.id, replacement.clone(), None, &alice)
        .await
        .unwrap();
    assert_eq!(replaced.spec, replacement);
    assert_eq!(replaced.trigger_dataset, None);
    assert_eq!(
        (replaced.id, replaced.name.as_str(), replaced.owner_id),
        (created.id, "train-fraud", alice.user_id)
    );
    assert_eq!(replaced.created_at, created.created_at);
    assert!(replaced.updated_at >= created.updated_at);
    assert_eq!(
        h.c().pipeline_by_id(created.id).await.unwrap(),
        Some(replaced)
    );
    let audit = h.last_audit().await;
    assert_eq!(audit.action, "pipeline.update");
    assert_eq!(audit.target, format!("pipeline:{}", created.id));
    assert_eq!(
        names(h.c().pipelines_triggered_by("flows").await.unwrap()),
        ["beta"]
    );
    let retriggered = h
        .c()
        .replace_pipeline(beta.id, beta.spec.clone(), Some("alerts".into()), &bob)
        .await
        .unwrap();
    assert_eq!(retriggered.trigger_dataset.as_deref(), Some("alerts"));
    assert_eq!(
        names(h.c().pipelines_triggered_by("alerts").await.unwrap()),
        ["beta"]
    );

    let logged = h.last_audit().await;
    assert!(matches!(
        h.c()
            .replace_pipeline(Uuid::new_v4(), json!({}), None, &alice)
            .await,
        Err(CatalogError::NotFound(_))
    ));
    assert_eq!(
        h.last_audit().await,
        logged,
        "a refused change is not logged"
    );
}

pub async fn a_taken_pipeline_name_or_an_unknown_owner_is_refused(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let bob = h.user("bob", Role::User).await;
    let first = h.pipeline(&alice, "nightly", None).await;
    let logged = h.last_audit().await;
    let again = h
        .c()
        .create_pipeline(
            NewPipeline {
                name: "nightly".into(),
                owner_id: bob.user_id,
                spec: json!({ "other": true }),
                trigger_dataset: Some("flows".into()),
            },
            &bob,
        )
        .await;
    assert!(again.is_err(), "{again:?}");
    assert_eq!(
        h.c().pipelines().await.unwrap(),
        [first],
        "the first one is untouched"
    );

    let nobody = h
        .c()
        .create_pipeline(
            NewPipeline {
                name: "orphan".into(),
                owner_id: Uuid::new_v4(),
                spec: json!({}),
                trigger_dataset: None,
            },
            &alice,
        )
        .await;
    assert!(
        matches!(nobody, Err(CatalogError::Referenced(_))),
        "{nobody:?}"
    );
    assert_eq!(h.c().pipeline_by_name("orphan").await.unwrap(), None);
    assert_eq!(h.last_audit().await, logged, "nothing refused is logged");
}

pub async fn deleting_a_pipeline_removes_its_runs_reports_schedule_and_deliveries(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let doomed = h.pipeline(&alice, "doomed", Some("flows")).await;
    let kept = h.pipeline(&alice, "kept", Some("flows")).await;
    let run = h.c().enqueue_run(doomed.id, "manual", None).await.unwrap();
    let kept_run = h.c().enqueue_run(kept.id, "manual", None).await.unwrap();
    let report = RunReport {
        succeeded: true,
        version: Some(1),
        error: None,
        reported_by: "trainer".into(),
        reported_at: Timestamp::now(),
    };
    for (pipeline, run) in [(doomed.id, run.id), (kept.id, kept_run.id)] {
        assert!(h.c().report_run(run, &report).await.unwrap());
        assert!(
            h.c()
                .record_delivery(pipeline, "sig", Timestamp::now())
                .await
                .unwrap()
        );
        h.c().set_schedule(pipeline, Some(at(-10))).await.unwrap();
        h.c()
            .set_webhook_secrets(pipeline, &["whsec".into()], &alice)
            .await
            .unwrap();
    }

    h.c().delete_pipeline(doomed.id, &alice).await.unwrap();
    let audit = h.last_audit().await;
    assert_eq!(
        (audit.action.as_str(), audit.target.as_str()),
        ("pipeline.delete", "pipeline:doomed")
    );
    assert_eq!(h.c().pipeline_by_id(doomed.id).await.unwrap(), None);
    assert_eq!(h.c().run(run.id).await.unwrap(), None);
    assert!(h.c().runs(doomed.id, 10).await.unwrap().is_empty());
    assert_eq!(h.c().run_report(run.id).await.unwrap(), None);
    assert!(h.c().webhook_secrets(doomed.id).await.unwrap().is_empty());
    assert_eq!(h.c().webhook_secrets(kept.id).await.unwrap(), ["whsec"]);
    let due: Vec<_> = h
        .c()
        .due_schedules(at(0))
        .await
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(due, [kept.id]);
    assert_eq!(
        h.c()
            .pipelines_triggered_by("flows")
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        [kept.id]
    );

    // The other pipeline keeps its own.
    assert_eq!(h.c().run_report(kept_run.id).await.unwrap(), Some(report));
    assert!(
        !h.c()
            .record_delivery(kept.id, "sig", Timestamp::now())
            .await
            .unwrap(),
        "kept's delivery is still remembered"
    );

    assert!(matches!(
        h.c().delete_pipeline(doomed.id, &alice).await,
        Err(CatalogError::NotFound(_))
    ));
    assert_eq!(h.last_audit().await, audit);
    // The name is free again.
    let reborn = h.pipeline(&alice, "doomed", None).await;
    assert_ne!(reborn.id, doomed.id);
}

fn lineage(model_id: Uuid, version: i64, run_id: Uuid, pipeline: &str) -> LineageRecord {
    LineageRecord {
        model_id,
        version,
        run_id,
        pipeline: pipeline.into(),
        dataset: Some("flows".into()),
        dataset_version: Some(3),
        compared_with: None,
        metrics: json!({ "auc": 0.91, "rows": 1200 }),
        created_at: Timestamp::now(),
    }
}

pub async fn lineage_is_kept_once_per_version_and_goes_with_it(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let model = h.publish(&alice, "fraud", &sha(1)).await.model.id;
    h.publish(&alice, "fraud", &sha(2)).await;
    let pipeline = h.pipeline(&alice, "train", None).await;
    let run = h
        .c()
        .enqueue_run(pipeline.id, "manual", None)
        .await
        .unwrap();

    let first = lineage(model, 1, run.id, "train");
    h.c().record_lineage(first.clone()).await.unwrap();
    assert_eq!(h.c().lineage(model, 1).await.unwrap(), Some(first.clone()));
    assert_eq!(h.c().lineage(model, 2).await.unwrap(), None);
    assert_eq!(h.c().lineage(Uuid::new_v4(), 1).await.unwrap(), None);

    // Recording again updates the comparison and metrics only: the origin stays.
    let mut second = lineage(model, 1, Uuid::new_v4(), "other");
    second.dataset = None;
    second.dataset_version = None;
    second.compared_with = Some(2);
    second.metrics = json!({ "auc": 0.95 });
    second.created_at = at(60);
    h.c().record_lineage(second.clone()).await.unwrap();
    let kept = h.c().lineage(model, 1).await.unwrap().unwrap();
    assert_eq!(
        kept,
        LineageRecord {
            compared_with: Some(2),
            metrics: second.metrics,
            ..first
        }
    );

    // Only versions that exist have lineage.
    for (model_id, version) in [(model, 9), (Uuid::new_v4(), 1)] {
        let refused = h
            .c()
            .record_lineage(lineage(model_id, version, run.id, "train"))
            .await;
        assert!(
            matches!(refused, Err(CatalogError::Referenced(_))),
            "{refused:?}"
        );
    }

    h.c()
        .record_lineage(lineage(model, 2, run.id, "train"))
        .await
        .unwrap();
    h.c().delete_version(model, 1, &alice).await.unwrap();
    assert_eq!(h.c().lineage(model, 1).await.unwrap(), None);
    assert!(h.c().lineage(model, 2).await.unwrap().is_some());
    // It names its run without depending on it: deleting the pipeline keeps it.
    h.c().delete_pipeline(pipeline.id, &alice).await.unwrap();
    assert!(h.c().lineage(model, 2).await.unwrap().is_some());
    h.c()
        .delete_model(&ModelName::parse("fraud").unwrap(), &alice)
        .await
        .unwrap();
    assert_eq!(h.c().lineage(model, 2).await.unwrap(), None);
}
