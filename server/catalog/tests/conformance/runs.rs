use std::collections::BTreeSet;

use caravan_catalog::{CatalogError, RunEnd, RunRecord, RunStatus};
use caravan_domain::Role;
use serde_json::json;
use uuid::Uuid;

use crate::{Harness, support::Clock};

/// No global limit on running runs.
const UNLIMITED: i64 = i64::MAX;

fn end(status: RunStatus, error: Option<&str>) -> RunEnd {
    RunEnd {
        status,
        steps: json!([{ "name": "train", "status": status.as_str() }]),
        outcome: json!({ "status": status.as_str() }),
        error: error.map(Into::into),
        retry_at: None,
    }
}

async fn claim_id(h: &Harness, t: Clock, now: i64, lease: i64) -> Option<Uuid> {
    h.c()
        .claim_run(t.at(now), t.at(lease), UNLIMITED)
        .await
        .unwrap()
        .map(|r| r.id)
}

pub async fn runs_are_numbered_per_pipeline_and_listed_newest_first(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.pipeline(&alice, "p", None).await;
    let q = h.pipeline(&alice, "q", Some("flows")).await;
    let p1 = h.c().enqueue_run(p.id, "manual", None).await.unwrap();
    let p2 = h.c().enqueue_run(p.id, "dataset", Some(3)).await.unwrap();
    let q1 = h.c().enqueue_run(q.id, "schedule", None).await.unwrap();

    assert_eq!((p1.seq, p2.seq, q1.seq), (1, 2, 1));
    assert_eq!(
        (
            p2.pipeline_id,
            p2.pipeline.as_str(),
            p2.trigger.as_str(),
            p2.dataset_version
        ),
        (p.id, "p", "dataset", Some(3))
    );
    assert_eq!((p1.trigger.as_str(), p1.dataset_version), ("manual", None));
    assert_eq!(q1.pipeline, "q");
    for run in [&p1, &p2, &q1] {
        assert_eq!(run.status, RunStatus::Queued);
        assert_eq!((run.attempt, run.cancel_requested), (0, false));
        assert_eq!(
            (run.steps.clone(), run.outcome.clone()),
            (json!([]), json!({}))
        );
        assert_eq!(run.not_before, run.created_at, "due at once");
        assert!(run.lease_until.is_none() && run.error.is_none());
        assert!(run.started_at.is_none() && run.finished_at.is_none());
    }

    assert_eq!(
        h.c().runs(p.id, 10).await.unwrap(),
        [p2.clone(), p1.clone()]
    );
    assert_eq!(h.c().runs(p.id, 1).await.unwrap(), [p2]);
    assert_eq!(h.c().runs(q.id, 10).await.unwrap(), [q1]);
    assert!(h.c().runs(Uuid::new_v4(), 10).await.unwrap().is_empty());
    assert_eq!(h.c().run(p1.id).await.unwrap(), Some(p1));
    assert_eq!(h.c().run(Uuid::new_v4()).await.unwrap(), None);

    let unknown = h.c().enqueue_run(Uuid::new_v4(), "manual", None).await;
    assert!(
        matches!(unknown, Err(CatalogError::NotFound(_))),
        "{unknown:?}"
    );
}

pub async fn runs_are_claimed_oldest_first_once_until_their_lease_expires(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.pipeline(&alice, "p", None).await;
    let q = h.pipeline(&alice, "q", None).await;
    // Queued in this order: the oldest run goes first, whatever its pipeline.
    let p1 = h.c().enqueue_run(p.id, "manual", None).await.unwrap();
    let q1 = h.c().enqueue_run(q.id, "manual", None).await.unwrap();
    let p2 = h.c().enqueue_run(p.id, "manual", None).await.unwrap();
    let t = Clock::start();

    assert_eq!(
        claim_id(h, t, -3600, -3000).await,
        None,
        "not due before queued"
    );
    let claimed = h
        .c()
        .claim_run(t.at(0), t.at(100), UNLIMITED)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, p1.id);
    assert_eq!(claimed.status, RunStatus::Running);
    assert_eq!(
        (claimed.attempt, claimed.lease_until, claimed.started_at),
        (1, Some(t.at(100)), Some(t.at(0)))
    );
    assert_eq!(h.c().run(p1.id).await.unwrap(), Some(claimed.clone()));
    assert_eq!(claim_id(h, t, 0, 100).await, Some(q1.id));
    assert_eq!(claim_id(h, t, 0, 100).await, Some(p2.id));
    assert_eq!(claim_id(h, t, 0, 100).await, None, "all leased");
    assert_eq!(
        claim_id(h, t, 100, 200).await,
        None,
        "a lease lasts to its end"
    );

    // q1 and p2 report progress; p1's worker died and its lease runs out.
    for id in [q1.id, p2.id] {
        assert!(h.c().save_run(id, 1, &json!([]), t.at(1000)).await.unwrap());
    }
    let reclaimed = h
        .c()
        .claim_run(t.at(101), t.at(400), UNLIMITED)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reclaimed.id, p1.id);
    assert_eq!(
        (
            reclaimed.status,
            reclaimed.attempt,
            reclaimed.lease_until,
            reclaimed.started_at
        ),
        (RunStatus::Running, 2, Some(t.at(400)), Some(t.at(0))),
        "the attempt is bumped; the start time stays"
    );
    assert_eq!(claim_id(h, t, 101, 400).await, None);
}

pub async fn saving_progress_extends_the_lease_until_the_run_is_cancelled(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.pipeline(&alice, "p", None).await;
    let run = h.c().enqueue_run(p.id, "manual", None).await.unwrap();
    let steps = json!([{ "name": "fetch", "status": "succeeded" }, { "name": "train" }]);

    let soon = Clock::start().at(600);
    assert!(
        !h.c().save_run(run.id, 0, &steps, soon).await.unwrap(),
        "a queued run is not running"
    );
    assert_eq!(h.c().run(run.id).await.unwrap(), Some(run.clone()));
    assert!(
        !h.c()
            .save_run(Uuid::new_v4(), 1, &steps, soon)
            .await
            .unwrap()
    );

    let t = Clock::start();
    assert_eq!(claim_id(h, t, 0, 60).await, Some(run.id));
    let lease = t.at(600);
    assert!(h.c().save_run(run.id, 1, &steps, lease).await.unwrap());
    let saved = h.c().run(run.id).await.unwrap().unwrap();
    assert_eq!(
        (saved.steps.clone(), saved.lease_until, saved.status),
        (steps.clone(), Some(lease), RunStatus::Running)
    );
    assert_eq!(
        claim_id(h, t, 120, 240).await,
        None,
        "the lease was extended"
    );

    let cancelling = h.c().cancel_run(run.id, &alice).await.unwrap().unwrap();
    assert_eq!(
        (
            cancelling.status,
            cancelling.cancel_requested,
            cancelling.finished_at
        ),
        (RunStatus::Running, true, None),
        "a running run is asked to stop"
    );
    let audit = h.last_audit().await;
    assert_eq!(
        (audit.action.as_str(), audit.actor.as_deref()),
        ("pipeline.run.cancel", Some("alice"))
    );
    assert_eq!(audit.target, format!("run:{}", run.id));
    assert!(
        !h.c().save_run(run.id, 1, &steps, t.at(700)).await.unwrap(),
        "the worker learns of the cancellation"
    );

    h.c()
        .end_run(run.id, 1, end(RunStatus::Cancelled, Some("cancelled")))
        .await
        .unwrap();
    let ended = h.c().run(run.id).await.unwrap().unwrap();
    assert_eq!(ended.status, RunStatus::Cancelled);
    assert!(ended.finished_at.is_some() && ended.lease_until.is_none());
    assert!(!h.c().save_run(run.id, 1, &steps, t.at(800)).await.unwrap());
    assert_eq!(claim_id(h, t, 10_000, 10_060).await, None);
}

pub async fn ending_a_run_records_its_outcome_or_queues_a_retry(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.pipeline(&alice, "p", None).await;
    let run = h.c().enqueue_run(p.id, "manual", None).await.unwrap();
    let t = Clock::start();
    let first = h
        .c()
        .claim_run(t.at(0), t.at(60), UNLIMITED)
        .await
        .unwrap()
        .unwrap();

    let retry_at = t.at(300);
    let retry = RunEnd {
        retry_at: Some(retry_at),
        ..end(RunStatus::Queued, Some("registry unreachable"))
    };
    h.c().end_run(run.id, 1, retry.clone()).await.unwrap();
    let queued = h.c().run(run.id).await.unwrap().unwrap();
    assert_eq!(
        (
            queued.status,
            queued.not_before,
            queued.lease_until,
            queued.finished_at
        ),
        (RunStatus::Queued, retry_at, None, None)
    );
    assert_eq!(queued.error.as_deref(), Some("registry unreachable"));
    assert_eq!(
        (queued.steps.clone(), queued.outcome.clone()),
        (retry.steps, retry.outcome)
    );
    assert_eq!(
        claim_id(h, t, 299, 360).await,
        None,
        "not before its retry time"
    );
    let second = h
        .c()
        .claim_run(t.at(300), t.at(400), UNLIMITED)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((second.id, second.attempt), (run.id, 2));
    assert_eq!(second.started_at, first.started_at);

    let success = RunEnd {
        outcome: json!({ "version": 3, "promoted": true }),
        ..end(RunStatus::Succeeded, None)
    };
    h.c().end_run(run.id, 2, success.clone()).await.unwrap();
    let done = h.c().run(run.id).await.unwrap().unwrap();
    assert_eq!(
        (done.status, done.error.clone(), done.lease_until),
        (RunStatus::Succeeded, None, None)
    );
    assert_eq!(
        (done.steps.clone(), done.outcome.clone()),
        (success.steps, success.outcome)
    );
    assert!(done.finished_at.is_some());
    assert_eq!(done.not_before, retry_at, "no retry time keeps the old one");
    assert_eq!(
        claim_id(h, t, 10_000, 10_060).await,
        None,
        "finished runs are never claimed"
    );

    let failing = h.c().enqueue_run(p.id, "manual", None).await.unwrap();
    assert_eq!(claim_id(h, t, 60, 120).await, Some(failing.id));
    h.c()
        .end_run(failing.id, 1, end(RunStatus::Failed, Some("boom")))
        .await
        .unwrap();
    let failed = h.c().run(failing.id).await.unwrap().unwrap();
    assert_eq!(
        (failed.status, failed.error.as_deref()),
        (RunStatus::Failed, Some("boom"))
    );
    assert!(failed.finished_at.is_some());
    assert_eq!(claim_id(h, t, 10_000, 10_060).await, None);
    let listed: Vec<RunStatus> = h
        .c()
        .runs(p.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(listed, [RunStatus::Failed, RunStatus::Succeeded]);
}

pub async fn cancelling_stops_a_queued_run_at_once_and_leaves_finished_ones(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.pipeline(&alice, "p", None).await;
    let finished = h.c().enqueue_run(p.id, "manual", None).await.unwrap();
    let t = Clock::start();
    assert_eq!(claim_id(h, t, 0, 60).await, Some(finished.id));
    h.c()
        .end_run(finished.id, 1, end(RunStatus::Succeeded, None))
        .await
        .unwrap();
    let finished = h.c().run(finished.id).await.unwrap().unwrap();
    let queued = h.c().enqueue_run(p.id, "manual", None).await.unwrap();

    let cancelled = h.c().cancel_run(queued.id, &alice).await.unwrap().unwrap();
    assert_eq!(
        (cancelled.status, cancelled.cancel_requested),
        (RunStatus::Cancelled, true)
    );
    assert!(cancelled.finished_at.is_some());
    assert_eq!(h.last_audit().await.target, format!("run:{}", queued.id));
    assert_eq!(
        claim_id(h, t, 60, 120).await,
        None,
        "a cancelled run is not claimed"
    );

    let audited = h.audit(100).await.len();
    let untouched = h
        .c()
        .cancel_run(finished.id, &alice)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched, finished, "a finished run stays as it ended");
    assert_eq!(
        h.c().cancel_run(Uuid::new_v4(), &alice).await.unwrap(),
        None
    );
    assert_eq!(
        h.audit(100).await.len(),
        audited,
        "a cancellation that changed nothing is not audited"
    );
}

pub async fn concurrent_enqueues_number_a_pipelines_runs_one_after_the_other(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.pipeline(&alice, "p", None).await;
    let enqueues: Vec<_> = (0..8)
        .map(|_| {
            let catalog = h.catalog.clone();
            tokio::spawn(async move { catalog.enqueue_run(p.id, "manual", None).await })
        })
        .collect();
    let mut numbers = BTreeSet::new();
    for enqueue in enqueues {
        numbers.insert(enqueue.await.unwrap().expect("every enqueue succeeds").seq);
    }
    assert_eq!(numbers, (1..=8).collect());
}

pub async fn concurrent_claims_hand_out_each_run_once(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.pipeline(&alice, "p", None).await;
    let q = h.pipeline(&alice, "q", None).await;
    let mut queued = BTreeSet::new();
    for n in 0..10 {
        let pipeline = if n % 2 == 0 { p.id } else { q.id };
        let run = h.c().enqueue_run(pipeline, "manual", None).await.unwrap();
        queued.insert(run.id);
    }
    let t = Clock::start();
    let (now, lease) = (t.at(0), t.at(120));
    let claimers: Vec<_> = (0..14)
        .map(|_| {
            let catalog = h.catalog.clone();
            tokio::spawn(async move { catalog.claim_run(now, lease, UNLIMITED).await.unwrap() })
        })
        .collect();
    let mut claimed: Vec<RunRecord> = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap());
    }
    let ids: BTreeSet<_> = claimed.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), claimed.len(), "no run handed out twice");
    assert_eq!(ids, queued, "every run handed out");
    assert!(claimed.iter().all(|r| r.attempt == 1));
    assert_eq!(claim_id(h, t, 0, 120).await, None);
}

pub async fn a_global_limit_caps_live_leases_and_a_taken_over_run_fences_out_its_old_worker(
    h: &Harness,
) {
    let alice = h.user("alice", Role::User).await;
    let p = h.pipeline(&alice, "p", None).await;
    let first = h.c().enqueue_run(p.id, "manual", None).await.unwrap();
    let second = h.c().enqueue_run(p.id, "manual", None).await.unwrap();
    let t = Clock::start();

    let held = h
        .c()
        .claim_run(t.at(0), t.at(100), 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((held.id, held.attempt), (first.id, 1));
    assert!(
        h.c()
            .claim_run(t.at(1), t.at(100), 1)
            .await
            .unwrap()
            .is_none(),
        "one live lease fills a limit of one"
    );
    assert_eq!(
        h.c()
            .claim_run(t.at(1), t.at(100), 2)
            .await
            .unwrap()
            .map(|r| r.id),
        Some(second.id),
        "a limit of two takes the second"
    );
    assert!(
        h.c()
            .claim_run(t.at(1), t.at(100), 2)
            .await
            .unwrap()
            .is_none()
    );

    // Both leases run out (their workers stalled): the expired ones no longer count, and the
    // first is taken over as attempt 2.
    let taken = h
        .c()
        .claim_run(t.at(101), t.at(200), 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((taken.id, taken.attempt), (first.id, 2));
    assert!(
        h.c()
            .claim_run(t.at(101), t.at(200), 1)
            .await
            .unwrap()
            .is_none()
    );

    // The stalled worker of attempt 1 wakes up: its progress and its end are refused.
    let steps = json!([{ "name": "train", "status": "stale" }]);
    assert!(
        !h.c()
            .save_run(first.id, 1, &steps, t.at(500))
            .await
            .unwrap()
    );
    assert!(
        !h.c()
            .end_run(first.id, 1, end(RunStatus::Failed, Some("stale")))
            .await
            .unwrap()
    );
    let now = h.c().run(first.id).await.unwrap().unwrap();
    assert_eq!(
        (now.status, now.attempt, now.lease_until, now.error),
        (RunStatus::Running, 2, Some(t.at(200)), None),
        "the new worker's lease and state stand"
    );
    assert!(
        h.c()
            .save_run(first.id, 2, &steps, t.at(300))
            .await
            .unwrap()
    );
    assert!(
        h.c()
            .end_run(first.id, 2, end(RunStatus::Succeeded, None))
            .await
            .unwrap()
    );
}

pub async fn concurrent_claims_under_a_global_limit_never_exceed_it(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.pipeline(&alice, "p", None).await;
    for _ in 0..8 {
        h.c().enqueue_run(p.id, "manual", None).await.unwrap();
    }
    let t = Clock::start();
    let (now, lease) = (t.at(0), t.at(120));
    let claimers: Vec<_> = (0..12)
        .map(|_| {
            let catalog = h.catalog.clone();
            tokio::spawn(async move { catalog.claim_run(now, lease, 3).await.unwrap() })
        })
        .collect();
    let mut claimed = 0;
    for claimer in claimers {
        claimed += usize::from(claimer.await.unwrap().is_some());
    }
    assert_eq!(claimed, 3, "twelve claimers racing take exactly the limit");
}
