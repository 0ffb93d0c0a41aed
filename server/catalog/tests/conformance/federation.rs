use caravan_catalog::{
    Actor, CatalogError, FederatedCatalog, ImportProvenance, ModelPatch, NewPeer, NewSubscription,
    PeerStatus, SyncOutcome, Timestamp,
};
use caravan_domain::{Role, Visibility};
use uuid::Uuid;

use crate::{
    Harness,
    support::{new_version, sha},
};

fn peer(name: &str, fingerprint: Option<&str>, subject: Option<&str>) -> NewPeer {
    NewPeer {
        name: name.into(),
        api_url: format!("https://{name}.example:9443"),
        subject: subject.map(Into::into),
        fingerprint: fingerprint.map(Into::into),
        signing_key: "a2V5".into(),
        legacy_acumos: false,
    }
}

fn at(seconds_from_now: i64) -> Timestamp {
    Timestamp::from_datetime(chrono::Utc::now() + chrono::Duration::seconds(seconds_from_now))
}

pub async fn peers_are_found_by_their_certificate_and_can_be_disabled(h: &Harness) {
    let admin = h.user("admin", Role::Admin).await;
    let a = h
        .c()
        .create_peer(peer("org-a", Some("aa"), None), &admin)
        .await
        .unwrap();
    let b = h
        .c()
        .create_peer(peer("org-b", None, Some("CN=org-b")), &admin)
        .await
        .unwrap();
    let c = h
        .c()
        .create_peer(peer("org-c", Some("cc"), Some("CN=org-c")), &admin)
        .await
        .unwrap();
    assert_eq!(a.status, PeerStatus::Active);
    let names: Vec<_> = h
        .c()
        .peers()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["org-a", "org-b", "org-c"]);
    assert_eq!(h.c().peer_by_name("org-b").await.unwrap(), Some(b.clone()));
    assert_eq!(h.c().peer_by_id(c.id).await.unwrap(), Some(c.clone()));

    let found = |fp: &'static str, subject: &'static str| async move {
        h.c()
            .peer_by_identity(fp, subject)
            .await
            .unwrap()
            .map(|p| p.name)
    };
    assert_eq!(found("aa", "CN=anything").await.as_deref(), Some("org-a"));
    assert_eq!(found("zz", "CN=org-b").await.as_deref(), Some("org-b"));
    assert_eq!(found("cc", "CN=org-c").await.as_deref(), Some("org-c"));
    assert_eq!(
        found("cc", "CN=mallory").await,
        None,
        "both pins must match"
    );
    assert_eq!(found("zz", "CN=nobody").await, None);

    h.c()
        .set_peer_status(a.id, PeerStatus::Disabled, &admin)
        .await
        .unwrap();
    assert_eq!(found("aa", "CN=x").await, None, "a disabled peer is nobody");
    let again = h
        .c()
        .create_peer(peer("org-a", Some("dd"), None), &admin)
        .await;
    assert!(matches!(again, Err(CatalogError::Conflict { message: m, .. }) if m.contains("org-a")));
    let audit = h.c().list_audit(1, None).await.unwrap();
    assert_eq!(audit[0].action, "peer.disabled");
}

async fn publish(h: &Harness, actor: &Actor, name: &str, n: u32, visibility: Visibility) -> Uuid {
    let patch = ModelPatch {
        visibility: Some(visibility),
        ..Default::default()
    };
    h.publish_with(actor, name, &sha(n), patch).await.model.id
}

fn import(peer_id: Uuid, n: u128) -> ImportProvenance {
    ImportProvenance {
        peer_id,
        remote_solution_id: Uuid::from_u128(n),
        remote_name: "remote".into(),
        remote_revision_id: Uuid::from_u128(n + 1000),
        remote_artifact_id: Uuid::from_u128(n + 2000),
        manifest: "bWFuaWZlc3Q".into(),
        signature: "c2ln".into(),
        subscription_id: None,
    }
}

pub async fn peers_see_public_and_shared_local_models_only(h: &Harness) {
    let admin = h.user("admin", Role::Admin).await;
    let a = h
        .c()
        .create_peer(peer("org-a", Some("aa"), None), &admin)
        .await
        .unwrap();
    let b = h
        .c()
        .create_peer(peer("org-b", Some("bb"), None), &admin)
        .await
        .unwrap();
    let public = publish(h, &admin, "open", 1, Visibility::Public).await;
    let private = publish(h, &admin, "secret", 2, Visibility::Private).await;
    let shared = publish(h, &admin, "for-a", 3, Visibility::Private).await;
    h.c().share_model(shared, a.id, &admin).await.unwrap();
    assert!(h.c().reserve_blob(&sha(4), 10).await.unwrap());
    let mut imported = new_version(
        "placeholder",
        &sha(4),
        ModelPatch {
            visibility: Some(Visibility::Public),
            ..Default::default()
        },
    );
    imported.model = caravan_domain::ModelName::imported("org-b", "remote").unwrap();
    imported.import = Some(import(b.id, 1));
    h.c().publish_version(imported, &admin).await.unwrap();

    let ids = |models: Vec<caravan_catalog::ModelRecord>| {
        models.into_iter().map(|m| m.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(h
            .c()
            .federated_models(a.id, FederatedCatalog::Public)
            .await
            .unwrap()),
        [public],
        "imports are not re-exported"
    );
    assert_eq!(
        ids(h
            .c()
            .federated_models(a.id, FederatedCatalog::Shared)
            .await
            .unwrap()),
        [shared]
    );
    assert!(
        h.c()
            .federated_models(b.id, FederatedCatalog::Shared)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(h.c().federated_model(a.id, shared).await.unwrap().is_some());
    assert!(h.c().federated_model(b.id, shared).await.unwrap().is_none());
    assert!(
        h.c()
            .federated_model(a.id, private)
            .await
            .unwrap()
            .is_none()
    );
    let shares: Vec<_> = h
        .c()
        .model_shares(shared)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(shares, ["org-a"]);
    h.c().unshare_model(shared, a.id, &admin).await.unwrap();
    assert!(matches!(
        h.c().unshare_model(shared, a.id, &admin).await,
        Err(CatalogError::NotFound(_))
    ));
    assert!(h.c().federated_model(a.id, shared).await.unwrap().is_none());

    let version = h.c().version(public, 1).await.unwrap().unwrap();
    assert_eq!(
        h.c()
            .version_by_artifact(version.artifact_id)
            .await
            .unwrap(),
        Some((public, 1))
    );
    assert_ne!(version.revision_id, version.artifact_id);
    assert_eq!(
        h.c().version_by_artifact(Uuid::new_v4()).await.unwrap(),
        None
    );
}

pub async fn the_change_feed_reports_updates_and_withdrawals_to_peers_that_saw_them(h: &Harness) {
    let admin = h.user("admin", Role::Admin).await;
    let a = h
        .c()
        .create_peer(peer("org-a", Some("aa"), None), &admin)
        .await
        .unwrap();
    let b = h
        .c()
        .create_peer(peer("org-b", Some("bb"), None), &admin)
        .await
        .unwrap();
    let open = publish(h, &admin, "open", 1, Visibility::Public).await;
    let first = h
        .c()
        .changes_since(a.id, FederatedCatalog::Public, 0)
        .await
        .unwrap();
    assert_eq!(
        first.models.iter().map(|m| m.id).collect::<Vec<_>>(),
        [open]
    );
    assert!(first.withdrawn.is_empty());
    h.c().record_exports(a.id, &[open]).await.unwrap();
    let none = h
        .c()
        .changes_since(a.id, FederatedCatalog::Public, first.cursor)
        .await
        .unwrap();
    assert!(none.models.is_empty() && none.withdrawn.is_empty());
    assert_eq!(none.cursor, first.cursor);

    // A new version is a change; so is a metadata edit.
    h.publish(&admin, "open", &sha(2)).await;
    let updated = h
        .c()
        .changes_since(a.id, FederatedCatalog::Public, first.cursor)
        .await
        .unwrap();
    assert_eq!(updated.models.len(), 1);
    assert!(updated.cursor > first.cursor);

    // Made private: withdrawn for the peer that was shown it, silent for the other.
    let name = caravan_domain::ModelName::parse("open").unwrap();
    let private = ModelPatch {
        visibility: Some(Visibility::Private),
        ..Default::default()
    };
    h.c().update_model(&name, &private, &admin).await.unwrap();
    let for_a = h
        .c()
        .changes_since(a.id, FederatedCatalog::Public, updated.cursor)
        .await
        .unwrap();
    assert_eq!(for_a.withdrawn, [open]);
    assert!(for_a.models.is_empty());
    let for_b = h
        .c()
        .changes_since(b.id, FederatedCatalog::Public, updated.cursor)
        .await
        .unwrap();
    assert!(for_b.withdrawn.is_empty(), "org-b never saw it");

    // Deleted models are withdrawn too.
    let gone = publish(h, &admin, "gone", 3, Visibility::Public).await;
    h.c().record_exports(a.id, &[gone]).await.unwrap();
    let before = h
        .c()
        .changes_since(a.id, FederatedCatalog::Public, 0)
        .await
        .unwrap()
        .cursor;
    h.c()
        .delete_model(&caravan_domain::ModelName::parse("gone").unwrap(), &admin)
        .await
        .unwrap();
    let deleted = h
        .c()
        .changes_since(a.id, FederatedCatalog::Public, before)
        .await
        .unwrap();
    assert_eq!(deleted.withdrawn, [gone]);
}

pub async fn subscriptions_are_claimed_once_and_record_their_outcome(h: &Harness) {
    let admin = h.user("admin", Role::Admin).await;
    let a = h
        .c()
        .create_peer(peer("org-a", Some("aa"), None), &admin)
        .await
        .unwrap();
    let new = NewSubscription {
        peer_id: a.id,
        catalog_id: "public".into(),
        models: vec!["fraud".into()],
        interval_secs: 60,
        visibility: Visibility::Organization,
        owner_id: admin.user_id,
    };
    let sub = h.c().create_subscription(new, &admin).await.unwrap();
    assert_eq!(
        (sub.peer_name.as_str(), sub.cursor, sub.models.as_slice()),
        ("org-a", 0, &["fraud".to_string()][..])
    );
    assert_eq!(h.c().subscriptions().await.unwrap(), vec![sub.clone()]);

    let claimed = h.c().claim_due_subscription(at(1), at(120)).await.unwrap();
    assert_eq!(claimed.map(|s| s.id), Some(sub.id));
    assert!(
        h.c()
            .claim_due_subscription(at(1), at(120))
            .await
            .unwrap()
            .is_none(),
        "leased"
    );
    // A renewed lease holds past the first one; an expired one is claimed again.
    assert!(h.c().renew_subscription(sub.id, at(240)).await.unwrap());
    assert!(
        h.c()
            .claim_due_subscription(at(180), at(300))
            .await
            .unwrap()
            .is_none(),
        "renewed"
    );
    let taken_over = h
        .c()
        .claim_due_subscription(at(241), at(360))
        .await
        .unwrap();
    assert_eq!(taken_over.map(|s| s.id), Some(sub.id), "expired");
    // An import counts at once, before its pass ends (a pass cut short still counted it).
    assert!(h.c().reserve_blob(&sha(7), 10).await.unwrap());
    let mut imported = new_version("placeholder", &sha(7), ModelPatch::default());
    imported.model = caravan_domain::ModelName::imported("org-a", "fraud").unwrap();
    imported.import = Some(ImportProvenance {
        subscription_id: Some(sub.id),
        ..import(a.id, 7)
    });
    h.c().publish_version(imported, &admin).await.unwrap();
    assert_eq!(
        h.c().subscription(sub.id).await.unwrap().unwrap().imported,
        1
    );

    let success = SyncOutcome::Success {
        cursor: 42,
        withdrawn: 1,
        next_run_at: at(60),
        refused: None,
    };
    h.c().finish_subscription(sub.id, success).await.unwrap();
    assert!(
        !h.c().renew_subscription(sub.id, at(600)).await.unwrap(),
        "a finished pass holds no lease to renew"
    );
    let after = h.c().subscription(sub.id).await.unwrap().unwrap();
    assert_eq!(
        (
            after.cursor,
            after.imported,
            after.withdrawn,
            after.failures
        ),
        (42, 1, 1, 0)
    );
    assert!(after.last_success_at.is_some());
    assert!(
        h.c()
            .claim_due_subscription(at(1), at(120))
            .await
            .unwrap()
            .is_none(),
        "not due yet"
    );

    h.c()
        .schedule_subscription(sub.id, Timestamp::now())
        .await
        .unwrap();
    assert!(
        h.c()
            .claim_due_subscription(at(1), at(120))
            .await
            .unwrap()
            .is_some()
    );
    let failure = SyncOutcome::Failure {
        error: "peer timed out".into(),
        next_run_at: at(-1),
    };
    h.c().finish_subscription(sub.id, failure).await.unwrap();
    let failed = h.c().subscription(sub.id).await.unwrap().unwrap();
    assert_eq!(
        (failed.failures, failed.last_error.as_deref()),
        (1, Some("peer timed out"))
    );
    assert_eq!(failed.cursor, 42, "a failure keeps the cursor");

    let refusing = SyncOutcome::Success {
        cursor: 43,
        withdrawn: 0,
        next_run_at: at(-1),
        refused: Some("1 refused: bad signature".into()),
    };
    h.c().finish_subscription(sub.id, refusing).await.unwrap();
    let refused = h.c().subscription(sub.id).await.unwrap().unwrap();
    assert_eq!(
        (
            refused.failures,
            refused.cursor,
            refused.last_error.as_deref()
        ),
        (0, 43, Some("1 refused: bad signature")),
        "a pass with refusals succeeds and keeps them as its last error"
    );
    let clean = SyncOutcome::Success {
        cursor: 44,
        withdrawn: 0,
        next_run_at: at(-1),
        refused: None,
    };
    h.c().finish_subscription(sub.id, clean).await.unwrap();
    let kept = h.c().subscription(sub.id).await.unwrap().unwrap();
    assert_eq!(
        kept.last_error, refused.last_error,
        "the last error stays until the next one"
    );
    assert_eq!(kept.last_error_at, refused.last_error_at);

    h.c()
        .set_peer_status(a.id, PeerStatus::Disabled, &admin)
        .await
        .unwrap();
    assert!(
        h.c()
            .claim_due_subscription(at(1), at(120))
            .await
            .unwrap()
            .is_none(),
        "disabled peers are not synced"
    );
    h.c().delete_subscription(sub.id, &admin).await.unwrap();
    assert!(h.c().subscription(sub.id).await.unwrap().is_none());
}

pub async fn imports_record_provenance_and_withdrawal(h: &Harness) {
    let admin = h.user("admin", Role::Admin).await;
    let b = h
        .c()
        .create_peer(peer("org-b", Some("bb"), None), &admin)
        .await
        .unwrap();
    let model = caravan_domain::ModelName::imported("org-b", "fraud").unwrap();
    let mut new = new_version("x", &sha(1), ModelPatch::default());
    new.model = model.clone();
    new.import = Some(import(b.id, 7));
    assert!(h.c().reserve_blob(&sha(1), 10).await.unwrap());
    let published = h.c().publish_version(new.clone(), &admin).await.unwrap();
    let id = published.model.id;
    let provenance = h.c().provenance(id).await.unwrap().unwrap();
    assert_eq!(
        (provenance.peer_name.as_str(), provenance.remote_solution_id),
        ("org-b", Uuid::from_u128(7))
    );
    assert_eq!(
        h.c()
            .imported_model(b.id, Uuid::from_u128(7))
            .await
            .unwrap(),
        Some(id)
    );
    assert_eq!(
        h.c()
            .imported_revision(b.id, Uuid::from_u128(1007))
            .await
            .unwrap(),
        Some((id, 1))
    );
    assert_eq!(
        h.c()
            .imported_revision(b.id, Uuid::from_u128(9))
            .await
            .unwrap(),
        None
    );

    assert!(h.c().withdraw_model(id, &admin).await.unwrap());
    assert!(
        !h.c().withdraw_model(id, &admin).await.unwrap(),
        "already withdrawn"
    );
    assert!(
        h.c()
            .model_by_name(&model)
            .await
            .unwrap()
            .unwrap()
            .withdrawn_at
            .is_some()
    );
    // The peer offers it again: imported again (same bytes, same version), no longer withdrawn.
    assert!(h.c().reserve_blob(&sha(1), 10).await.unwrap());
    let again = h.c().publish_version(new, &admin).await.unwrap();
    assert!(!again.created);
    assert!(again.model.withdrawn_at.is_none());
    assert!(h.c().provenance(Uuid::new_v4()).await.unwrap().is_none());
}
