use std::collections::BTreeSet;

use caravan_catalog::{CatalogError, ModelPatch};
use caravan_domain::{ModelName, Role, Visibility};

use crate::{
    Harness,
    support::{info, new_version, sha},
};

fn name(n: &str) -> ModelName {
    ModelName::parse(n).unwrap()
}

pub async fn publishing_creates_the_model_and_numbers_its_versions(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let metadata = ModelPatch {
        description: Some("Detects attacks".into()),
        card: Some("# Card".into()),
        tags: Some(vec!["security".into(), "mlp".into()]),
        license: Some(Some("Apache-2.0".into())),
        visibility: Some(Visibility::Public),
    };
    let first = h.publish_with(&alice, "fraud", &sha(1), metadata).await;
    assert!(first.created);
    assert_eq!(first.version.version, 1);
    assert_eq!(first.version.info, info());
    assert_eq!(first.version.created_by, "alice");
    assert_eq!(first.model.owner, "alice");
    assert_eq!(first.model.description, "Detects attacks");
    assert_eq!(first.model.tags, ["security", "mlp"]);
    assert_eq!(first.model.license.as_deref(), Some("Apache-2.0"));
    assert_eq!(first.model.visibility, Visibility::Public);
    assert_eq!(first.model.latest_version, Some(1));

    // Metadata sent with a later version updates the model.
    let patch = ModelPatch {
        description: Some("v2".into()),
        ..Default::default()
    };
    let second = h.publish_with(&alice, "fraud", &sha(2), patch).await;
    assert!(second.created);
    assert_eq!(second.version.version, 2);
    assert_eq!(second.model.description, "v2");
    assert_eq!(second.model.card, "# Card");

    let model = h.c().model_by_name(&name("fraud")).await.unwrap().unwrap();
    assert_eq!(model.id, first.model.id);
    assert_eq!(
        h.c().model_by_id(model.id).await.unwrap(),
        Some(model.clone())
    );
    assert_eq!(h.c().model_by_id(uuid::Uuid::new_v4()).await.unwrap(), None);
    assert_eq!(model.latest_version, Some(2));
    let numbers: Vec<_> = h
        .c()
        .versions(model.id)
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(numbers, [2, 1]);
    let v1 = h.c().version(model.id, 1).await.unwrap().unwrap();
    assert_eq!(v1, first.version);
    assert!(h.c().version(model.id, 3).await.unwrap().is_none());
    assert!(h.c().model_by_name(&name("other")).await.unwrap().is_none());
    // The reservation was taken over by the versions.
    assert!(
        !h.c()
            .claim_orphan_blob(&sha(1), caravan_catalog::Timestamp::now())
            .await
            .unwrap()
    );
}

pub async fn identical_bytes_return_the_existing_version(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let first = h.publish(&alice, "fraud", &sha(1)).await;
    let again = h.publish(&alice, "fraud", &sha(1)).await;
    assert!(!again.created);
    assert_eq!(again.version, first.version);
    assert_eq!(h.c().versions(first.model.id).await.unwrap().len(), 1);
    // The same bytes under another model are a new version there.
    let other = h.publish(&alice, "fraud-copy", &sha(1)).await;
    assert!(other.created);
}

pub async fn publishing_to_another_users_model_is_forbidden(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let bob = h.user("bob", Role::User).await;
    h.publish(&alice, "fraud", &sha(1)).await;
    assert!(h.c().reserve_blob(&sha(2), 10).await.unwrap());
    let mut new = new_version("fraud", &sha(2), ModelPatch::default());
    new.require_owner = Some(bob.user_id);
    let refused = h.c().publish_version(new, &bob).await;
    assert!(
        matches!(refused, Err(CatalogError::Forbidden(_))),
        "{refused:?}"
    );
    let model = h.c().model_by_name(&name("fraud")).await.unwrap().unwrap();
    assert_eq!(model.latest_version, Some(1));
}

pub async fn concurrent_pushes_of_different_bytes_all_get_versions(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let pushes = (0..8).map(|n| {
        let catalog = h.catalog.clone();
        let alice = alice.clone();
        tokio::spawn(async move {
            assert!(catalog.reserve_blob(&sha(n), 10).await.unwrap());
            let new = new_version("busy", &sha(n), ModelPatch::default());
            catalog.publish_version(new, &alice).await.unwrap()
        })
    });
    let mut numbers = BTreeSet::new();
    for push in pushes.collect::<Vec<_>>() {
        let published = push.await.unwrap();
        assert!(published.created);
        numbers.insert(published.version.version);
    }
    assert_eq!(numbers, (1..=8).collect());
}

pub async fn concurrent_identical_pushes_yield_one_version(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let pushes: Vec<_> = (0..6)
        .map(|_| {
            let catalog = h.catalog.clone();
            let alice = alice.clone();
            tokio::spawn(async move {
                assert!(catalog.reserve_blob(&sha(7), 10).await.unwrap());
                let new = new_version("same", &sha(7), ModelPatch::default());
                catalog.publish_version(new, &alice).await.unwrap()
            })
        })
        .collect();
    let mut created = 0;
    for push in pushes {
        let published = push.await.unwrap();
        assert_eq!(published.version.version, 1);
        created += usize::from(published.created);
    }
    assert_eq!(created, 1);
}

pub async fn update_changes_only_the_given_fields(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let metadata = ModelPatch {
        description: Some("d".into()),
        tags: Some(vec!["a".into()]),
        license: Some(Some("MIT".into())),
        ..Default::default()
    };
    h.publish_with(&alice, "fraud", &sha(1), metadata).await;
    let patch = ModelPatch {
        card: Some("## New card".into()),
        tags: Some(vec!["b".into(), "c".into()]),
        license: Some(None),
        visibility: Some(Visibility::Organization),
        ..Default::default()
    };
    let updated = h
        .c()
        .update_model(&name("fraud"), &patch, &alice)
        .await
        .unwrap();
    assert_eq!(updated.description, "d");
    assert_eq!(updated.card, "## New card");
    assert_eq!(updated.tags, ["b", "c"]);
    assert_eq!(updated.license, None);
    assert_eq!(updated.visibility, Visibility::Organization);
    let missing = h.c().update_model(&name("nope"), &patch, &alice).await;
    assert!(matches!(missing, Err(CatalogError::NotFound(_))));
    let log = h.c().list_audit(1, None).await.unwrap();
    assert_eq!(log[0].action, "model.update");
}

pub async fn deleting_a_model_removes_versions_aliases_and_returns_blobs(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.publish(&alice, "fraud", &sha(1)).await;
    h.publish(&alice, "fraud", &sha(2)).await;
    h.c()
        .set_alias(p.model.id, "champion", 1, &alice)
        .await
        .unwrap();
    let mut shas = h.c().delete_model(&name("fraud"), &alice).await.unwrap();
    shas.sort();
    assert_eq!(shas, [sha(1), sha(2)]);
    assert!(h.c().model_by_name(&name("fraud")).await.unwrap().is_none());
    assert!(h.c().versions(p.model.id).await.unwrap().is_empty());
    assert!(h.c().aliases(p.model.id).await.unwrap().is_empty());
    assert!(matches!(
        h.c().delete_model(&name("fraud"), &alice).await,
        Err(CatalogError::NotFound(_))
    ));
    // The name is free again, and the deleted model no longer shows up in search.
    let again = h.publish(&alice, "fraud", &sha(3)).await;
    assert_eq!(again.version.version, 1);
    assert_ne!(again.model.id, p.model.id);
}

pub async fn aliases_point_move_and_protect_their_version(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.publish(&alice, "fraud", &sha(1)).await;
    h.publish(&alice, "fraud", &sha(2)).await;
    let id = p.model.id;

    let alias = h.c().set_alias(id, "champion", 1, &alice).await.unwrap();
    assert_eq!((alias.alias.as_str(), alias.version), ("champion", 1));
    assert_eq!(alias.updated_by, "alice");
    h.c().set_alias(id, "canary", 2, &alice).await.unwrap();
    let moved = h.c().set_alias(id, "champion", 2, &alice).await.unwrap();
    assert_eq!(moved.version, 2);
    let listed: Vec<_> = h
        .c()
        .aliases(id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.alias, a.version))
        .collect();
    let everywhere = h.c().all_aliases().await.unwrap();
    assert_eq!(
        everywhere,
        [
            (id, "canary".to_string(), 2),
            (id, "champion".to_string(), 2)
        ]
    );
    assert_eq!(
        listed,
        [("canary".to_string(), 2), ("champion".to_string(), 2)]
    );

    let refused = h.c().delete_version(id, 2, &alice).await;
    match refused {
        Err(CatalogError::Conflict { message: m, .. }) => {
            assert!(m.contains("canary, champion"), "{m}")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(
        h.c().set_alias(id, "champion", 9, &alice).await,
        Err(CatalogError::NotFound(_))
    ));
    let audit = h.c().list_audit(1, None).await.unwrap();
    assert_eq!(audit[0].action, "alias.set");
    assert_eq!(audit[0].details["previous"], 1);

    h.c().delete_alias(id, "canary", &alice).await.unwrap();
    assert!(matches!(
        h.c().delete_alias(id, "canary", &alice).await,
        Err(CatalogError::NotFound(_))
    ));
    assert_eq!(h.c().delete_version(id, 1, &alice).await.unwrap(), sha(1));
    assert!(matches!(
        h.c().delete_version(id, 1, &alice).await,
        Err(CatalogError::NotFound(_))
    ));
}

pub async fn version_numbers_are_never_reused(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.publish(&alice, "fraud", &sha(1)).await;
    h.publish(&alice, "fraud", &sha(2)).await;
    h.c().delete_version(p.model.id, 2, &alice).await.unwrap();
    let next = h.publish(&alice, "fraud", &sha(3)).await;
    assert_eq!(next.version.version, 3);
}

pub async fn downloads_are_counted(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.publish(&alice, "fraud", &sha(1)).await;
    for _ in 0..3 {
        h.c().record_download(p.model.id).await.unwrap();
    }
    let model = h.c().model_by_name(&name("fraud")).await.unwrap().unwrap();
    assert_eq!(model.downloads, 3);
    assert_eq!(
        model.updated_at, p.model.updated_at,
        "downloads do not count as updates"
    );
}

pub async fn a_model_created_without_a_version_is_found_and_takes_a_first_push(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let patch = ModelPatch {
        description: Some("registered first".into()),
        visibility: Some(caravan_domain::Visibility::Public),
        ..Default::default()
    };
    let model = h
        .c()
        .create_model(&name("empty"), &patch, &alice)
        .await
        .unwrap();
    assert_eq!(
        (model.owner_id, model.latest_version),
        (alice.user_id, None)
    );
    assert_eq!(model.description, "registered first");
    assert_eq!(h.last_audit().await.action, "model.create");
    assert!(h.c().versions(model.id).await.unwrap().is_empty());
    let again = h
        .c()
        .create_model(&name("empty"), &ModelPatch::default(), &alice)
        .await;
    assert!(matches!(
        again,
        Err(CatalogError::Conflict {
            kind: caravan_domain::ConflictKind::AlreadyExists,
            ..
        })
    ));
    let first = h.publish(&alice, "empty", &sha(7)).await;
    assert_eq!(
        (first.model.id, first.version.version, first.created),
        (model.id, 1, true)
    );
}

pub async fn properties_of_models_and_versions_are_set_replaced_deleted_and_go_with_a_version(
    h: &Harness,
) {
    let alice = h.user("alice", Role::User).await;
    let first = h.publish(&alice, "props", &sha(1)).await;
    h.publish(&alice, "props", &sha(2)).await;
    let id = first.model.id;
    h.c()
        .set_property(id, None, "team", "risk", &alice)
        .await
        .unwrap();
    h.c()
        .set_property(id, None, "team", "fraud", &alice)
        .await
        .unwrap();
    h.c()
        .set_property(id, Some(1), "stage", "candidate", &alice)
        .await
        .unwrap();
    h.c()
        .set_property(id, Some(2), "stage", "tested", &alice)
        .await
        .unwrap();
    assert_eq!(h.last_audit().await.action, "property.set");
    let missing = h.c().set_property(id, Some(9), "stage", "x", &alice).await;
    assert!(
        matches!(missing, Err(CatalogError::NotFound(_))),
        "{missing:?}"
    );
    let p = h.c().properties(id).await.unwrap();
    assert_eq!(p.model.get("team").map(String::as_str), Some("fraud"));
    assert_eq!(
        p.of_version(1).get("stage").map(String::as_str),
        Some("candidate")
    );
    assert_eq!(
        p.of_version(2).get("stage").map(String::as_str),
        Some("tested")
    );
    assert!(p.of_version(9).is_empty());

    assert!(
        h.c()
            .delete_property(id, None, "team", &alice)
            .await
            .unwrap()
    );
    assert!(
        !h.c()
            .delete_property(id, None, "team", &alice)
            .await
            .unwrap()
    );
    h.c().delete_version(id, 2, &alice).await.unwrap();
    let p = h.c().properties(id).await.unwrap();
    assert!(p.model.is_empty());
    assert_eq!(
        p.versions.keys().copied().collect::<Vec<_>>(),
        [1],
        "version 2's went with it"
    );
    h.c().delete_model(&name("props"), &alice).await.unwrap();
    assert_eq!(h.c().properties(id).await.unwrap(), Default::default());
}

pub async fn renaming_keeps_the_id_versions_and_aliases_and_refuses_a_taken_name(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.publish(&alice, "fraud", &sha(1)).await;
    h.c()
        .set_alias(p.model.id, "champion", 1, &alice)
        .await
        .unwrap();
    h.publish(&alice, "taken", &sha(2)).await;
    let renamed = h
        .c()
        .rename_model(&name("fraud"), &name("fraud-v2"), &alice)
        .await
        .unwrap();
    assert_eq!(
        (renamed.id, renamed.name.as_str()),
        (p.model.id, "fraud-v2")
    );
    assert!(h.c().model_by_name(&name("fraud")).await.unwrap().is_none());
    assert_eq!(h.c().versions(p.model.id).await.unwrap().len(), 1);
    assert_eq!(h.c().aliases(p.model.id).await.unwrap().len(), 1);
    assert!(matches!(
        h.c()
            .rename_model(&name("fraud-v2"), &name("taken"), &alice)
            .await,
        Err(CatalogError::Conflict { .. })
    ));
    assert!(matches!(
        h.c()
            .rename_model(&name("fraud"), &name("other"), &alice)
            .await,
        Err(CatalogError::NotFound(_))
    ));
    // The old name is kept for its owner: another user can neither publish to it nor create it.
    let bob = h.user("bob", Role::User).await;
    assert!(h.c().reserve_blob(&sha(4), 10).await.unwrap());
    let squat = h
        .c()
        .publish_version(new_version("fraud", &sha(4), ModelPatch::default()), &bob)
        .await;
    assert!(
        matches!(squat, Err(CatalogError::Forbidden(_))),
        "{squat:?}"
    );
    let create = h
        .c()
        .create_model(&name("fraud"), &ModelPatch::default(), &bob)
        .await;
    assert!(
        matches!(create, Err(CatalogError::Forbidden(_))),
        "{create:?}"
    );
    h.publish(&bob, "bobs", &sha(6)).await;
    assert!(matches!(
        h.c()
            .rename_model(&name("bobs"), &name("fraud"), &bob)
            .await,
        Err(CatalogError::Forbidden(_))
    ));
    let again = h.publish(&alice, "fraud", &sha(3)).await;
    assert_ne!(again.model.id, p.model.id);
    // Deleting the renamed model frees its former names.
    h.c().delete_model(&name("fraud"), &alice).await.unwrap();
    h.c().delete_model(&name("fraud-v2"), &alice).await.unwrap();
    let freed = h.publish(&bob, "fraud", &sha(5)).await;
    assert_eq!(freed.version.version, 1);
}
