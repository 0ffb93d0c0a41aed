use std::collections::BTreeSet;

use caravan_catalog::{Actor, CatalogError, NewDatasetVersion};
use caravan_domain::{Column, ColumnKind, DatasetSchema, Role};
use uuid::Uuid;

use crate::{
    Harness,
    support::{at, sha},
};

fn schema(rows: u64) -> DatasetSchema {
    DatasetSchema {
        columns: vec![
            Column {
                name: "bytes".into(),
                kind: ColumnKind::Integer,
                empty: 0,
            },
            Column {
                name: "label".into(),
                kind: ColumnKind::String,
                empty: 2,
            },
        ],
        rows,
    }
}

fn new(name: &str, owner: &Actor, n: u32, description: Option<&str>) -> NewDatasetVersion {
    NewDatasetVersion {
        name: name.into(),
        owner_id: owner.user_id,
        description: description.map(Into::into),
        sha256: sha(n),
        size: 100 + i64::from(n),
        format: "csv".into(),
        schema: schema(u64::from(n) * 10),
    }
}

/// Reserves the blob, as an upload does, and records the version.
async fn add(
    h: &Harness,
    new: NewDatasetVersion,
    actor: &Actor,
) -> (caravan_catalog::DatasetVersionRecord, bool) {
    assert!(h.c().reserve_blob(&new.sha256, new.size).await.unwrap());
    h.c().create_dataset_version(new, actor).await.unwrap()
}

pub async fn dataset_versions_are_numbered_and_the_first_creates_the_dataset(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let bob = h.user("bob", Role::User).await;
    assert!(h.c().datasets().await.unwrap().is_empty());

    let (v1, created) = add(h, new("flows", &alice, 1, Some("netflow")), &alice).await;
    assert!(created);
    assert_eq!(
        (v1.dataset.as_str(), v1.version, v1.sha256.as_str(), v1.size),
        ("flows", 1, sha(1).as_str(), 101)
    );
    assert_eq!(
        (v1.format.as_str(), v1.created_by.as_str()),
        ("csv", "alice")
    );
    assert_eq!(v1.schema, schema(10));
    let dataset = h.c().dataset_by_name("flows").await.unwrap().unwrap();
    assert_eq!(dataset.id, v1.dataset_id);
    assert_eq!(
        (
            dataset.owner_id,
            dataset.owner.as_str(),
            dataset.description.as_str(),
            dataset.latest_version
        ),
        (alice.user_id, "alice", "netflow", Some(1))
    );
    let audit = h.last_audit().await;
    assert_eq!(
        (audit.action.as_str(), audit.target.as_str()),
        ("dataset.version.create", "dataset:flows")
    );
    assert_eq!(audit.details["version"], 1);
    assert_eq!(audit.details["sha256"], sha(1));
    assert_eq!(audit.details["rows"], 10);

    // A later version without a description keeps the dataset's; its owner stays.
    let mut parquet = new("flows", &bob, 2, None);
    parquet.format = "parquet".into();
    let (v2, created) = add(h, parquet, &bob).await;
    assert!(created);
    assert_eq!(
        (v2.version, v2.format.as_str(), v2.created_by.as_str()),
        (2, "parquet", "bob")
    );
    let after = h.c().dataset_by_name("flows").await.unwrap().unwrap();
    assert_eq!(
        (
            after.owner.as_str(),
            after.description.as_str(),
            after.latest_version
        ),
        ("alice", "netflow", Some(2))
    );
    assert_eq!(after.created_at, dataset.created_at);
    assert!(after.updated_at >= dataset.updated_at);
    let (v3, _) = add(
        h,
        new("flows", &alice, 3, Some("netflow, relabelled")),
        &alice,
    )
    .await;
    assert_eq!(v3.version, 3);
    assert_eq!(
        h.c()
            .dataset_by_name("flows")
            .await
            .unwrap()
            .unwrap()
            .description,
        "netflow, relabelled"
    );

    assert_eq!(
        h.c().dataset_versions(dataset.id).await.unwrap(),
        [v3, v2.clone(), v1]
    );
    assert_eq!(
        h.c().dataset_version(dataset.id, 2).await.unwrap(),
        Some(v2)
    );
    assert_eq!(h.c().dataset_version(dataset.id, 4).await.unwrap(), None);
    assert!(
        h.c()
            .dataset_versions(Uuid::new_v4())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(h.c().dataset_by_name("nope").await.unwrap(), None);

    add(h, new("alerts", &bob, 4, None), &bob).await;
    let listed: Vec<_> = h
        .c()
        .datasets()
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.name, d.owner, d.description, d.latest_version))
        .collect();
    assert_eq!(
        listed,
        [
            ("alerts".into(), "bob".into(), String::new(), Some(1)),
            (
                "flows".into(),
                "alice".into(),
                "netflow, relabelled".into(),
                Some(3)
            ),
        ]
    );
}

pub async fn identical_bytes_return_the_existing_dataset_version(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let (v1, _) = add(h, new("flows", &alice, 1, None), &alice).await;
    add(h, new("flows", &alice, 2, None), &alice).await;
    let logged = h.last_audit().await;

    let (again, created) = add(h, new("flows", &alice, 1, None), &alice).await;
    assert!(!created);
    assert_eq!(again, v1);
    assert_eq!(
        h.c().dataset_versions(v1.dataset_id).await.unwrap().len(),
        2
    );
    assert_eq!(
        h.c()
            .dataset_by_name("flows")
            .await
            .unwrap()
            .unwrap()
            .latest_version,
        Some(2)
    );
    assert_eq!(h.last_audit().await, logged, "nothing new to log");

    // The same bytes in another dataset are that dataset's first version.
    let (elsewhere, created) = add(h, new("copy", &alice, 1, None), &alice).await;
    assert!(created);
    assert_eq!(elsewhere.version, 1);
    assert_ne!(elsewhere.dataset_id, v1.dataset_id);
}

pub async fn a_dataset_version_needs_its_blob_a_known_format_and_a_real_owner(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let before = h.last_audit().await;

    // Never reserved: the blob row does not exist.
    let unstored = h
        .c()
        .create_dataset_version(new("flows", &alice, 1, None), &alice)
        .await;
    assert!(
        matches!(unstored, Err(CatalogError::Referenced(_))),
        "{unstored:?}"
    );

    assert!(h.c().reserve_blob(&sha(2), 102).await.unwrap());
    let mut xlsx = new("flows", &alice, 2, None);
    xlsx.format = "xlsx".into();
    let refused = h.c().create_dataset_version(xlsx, &alice).await;
    assert!(
        matches!(refused, Err(CatalogError::Database(_))),
        "{refused:?}"
    );

    let mut orphaned = new("flows", &alice, 2, None);
    orphaned.owner_id = Uuid::new_v4();
    let nobody = h.c().create_dataset_version(orphaned, &alice).await;
    assert!(
        matches!(nobody, Err(CatalogError::Referenced(_))),
        "{nobody:?}"
    );

    // Each refusal rolled back the dataset it would have created.
    assert_eq!(h.c().dataset_by_name("flows").await.unwrap(), None);
    assert!(h.c().datasets().await.unwrap().is_empty());
    assert_eq!(h.last_audit().await, before);
}

pub async fn blobs_of_dataset_versions_are_neither_orphans_nor_claimable(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    add(h, new("flows", &alice, 1, None), &alice).await;
    // Another blob, reserved and released, is an orphan beside it.
    assert!(h.c().reserve_blob(&sha(9), 10).await.unwrap());
    h.c().release_blob(&sha(9)).await.unwrap();

    assert_eq!(h.c().orphan_blobs(10).await.unwrap(), [sha(9)]);
    assert!(h.c().blob_known(&sha(1)).await.unwrap());
    // Even with every reservation counted as stale, the reference protects it.
    assert!(!h.c().claim_orphan_blob(&sha(1), at(3600)).await.unwrap());
    assert!(h.c().claim_orphan_blob(&sha(9), at(3600)).await.unwrap());
}

pub async fn concurrent_versions_of_a_dataset_all_get_numbers(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    // The dataset exists; the pushes race for its next numbers.
    add(h, new("busy", &alice, 100, None), &alice).await;
    let pushes: Vec<_> = (0..8)
        .map(|n| {
            let catalog = h.catalog.clone();
            let alice = alice.clone();
            tokio::spawn(async move {
                let new = new("busy", &alice, n, None);
                assert!(catalog.reserve_blob(&new.sha256, new.size).await.unwrap());
                catalog.create_dataset_version(new, &alice).await.unwrap()
            })
        })
        .collect();
    let mut numbers = BTreeSet::new();
    for push in pushes {
        let (version, created) = push.await.unwrap();
        assert!(created);
        numbers.insert(version.version);
    }
    assert_eq!(numbers, (2..=9).collect());
}

pub async fn concurrent_first_uploads_create_the_dataset_once(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    // Nothing exists yet: every push may be the one that creates the dataset.
    let pushes: Vec<_> = (0..8)
        .map(|n| {
            let catalog = h.catalog.clone();
            let alice = alice.clone();
            tokio::spawn(async move {
                let new = new("fresh", &alice, n, None);
                assert!(catalog.reserve_blob(&new.sha256, new.size).await.unwrap());
                catalog.create_dataset_version(new, &alice).await
            })
        })
        .collect();
    let mut numbers = BTreeSet::new();
    for push in pushes {
        let (version, created) = push.await.unwrap().expect("every first upload succeeds");
        assert!(created);
        numbers.insert(version.version);
    }
    assert_eq!(numbers, (1..=8).collect());
    let datasets = h.c().datasets().await.unwrap();
    assert_eq!(datasets.iter().filter(|d| d.name == "fresh").count(), 1);
}
