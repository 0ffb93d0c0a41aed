use caravan_catalog::{NewUpload, UploadPart, UploadState};
use caravan_domain::{ModelName, Role};
use uuid::Uuid;

use crate::{Harness, support::Clock};

async fn open(h: &Harness, t: Clock, size: i64, part_size: i64, expires: i64) -> Uuid {
    let owner = h
        .user(&format!("u{}", Uuid::new_v4().simple()), Role::User)
        .await;
    let upload = h
        .c()
        .create_upload(NewUpload {
            id: Uuid::new_v4(),
            owner_id: owner.user_id,
            model: ModelName::parse("big").unwrap(),
            size,
            sha256: Some("ab".repeat(32)),
            part_size,
            store_upload: Some("s3-upload-id".into()),
            created_at: t.at(0),
            expires_at: t.at(expires),
        })
        .await
        .unwrap();
    assert_eq!(upload.state, UploadState::Open);
    assert_eq!(upload.part_count(), 3);
    assert_eq!(upload.store_upload.as_deref(), Some("s3-upload-id"));
    upload.id
}

fn part(n: i64, size: i64, sha: &str) -> UploadPart {
    UploadPart {
        n,
        size,
        sha256: sha.repeat(64),
        store_etag: Some(format!("\"etag-{sha}\"")),
    }
}

pub async fn upload_parts_are_recorded_replaced_and_listed_in_order(h: &Harness) {
    let t = Clock::start();
    let id = open(h, t, 10, 4, 100).await;
    for (n, size, sha) in [(3, 2, "c"), (1, 4, "a"), (1, 4, "d")] {
        assert!(
            h.c()
                .record_part(id, &part(n, size, sha), t.at(200))
                .await
                .unwrap()
        );
    }
    let parts = h.c().upload_parts(id).await.unwrap();
    assert_eq!(parts, [part(1, 4, "d"), part(3, 2, "c")]);
    let upload = h.c().upload(id).await.unwrap().unwrap();
    assert_eq!(upload.expires_at, t.at(200), "a part moves the expiry");
    assert!(h.c().upload(Uuid::new_v4()).await.unwrap().is_none());
    assert!(
        !h.c()
            .record_part(Uuid::new_v4(), &part(1, 4, "a"), t.at(200))
            .await
            .unwrap(),
        "a part of an unknown upload is not recorded"
    );
}

pub async fn one_completion_at_a_time_and_no_parts_while_it_runs(h: &Harness) {
    let t = Clock::start();
    let id = open(h, t, 10, 4, 100).await;
    assert!(
        h.c()
            .begin_completing(id, t.at(10), t.at(20))
            .await
            .unwrap()
    );
    assert!(
        !h.c()
            .begin_completing(id, t.at(11), t.at(21))
            .await
            .unwrap(),
        "held"
    );
    assert!(
        !h.c()
            .record_part(id, &part(2, 4, "b"), t.at(300))
            .await
            .unwrap()
    );
    assert!(h.c().upload_parts(id).await.unwrap().is_empty());
    // A completer that died: its claim lapses and another takes over; the first is fenced out.
    assert!(
        h.c()
            .begin_completing(id, t.at(21), t.at(31))
            .await
            .unwrap()
    );
    assert!(
        !h.c()
            .end_completing(id, t.at(20), Some(1), t.at(400))
            .await
            .unwrap()
    );
    assert!(
        !h.c()
            .mark_deleting(id, Some(t.at(20)), t.at(22))
            .await
            .unwrap()
    );
    assert!(
        !h.c().mark_deleting(id, None, t.at(22)).await.unwrap(),
        "a live claim holds it"
    );
    assert!(
        h.c()
            .end_completing(id, t.at(31), None, t.at(400))
            .await
            .unwrap()
    );
    let reopened = h.c().upload(id).await.unwrap().unwrap();
    assert_eq!(
        (reopened.state, reopened.completing_until),
        (UploadState::Open, None)
    );
    assert!(
        h.c()
            .record_part(id, &part(2, 4, "b"), t.at(400))
            .await
            .unwrap()
    );

    assert!(
        h.c()
            .begin_completing(id, t.at(30), t.at(40))
            .await
            .unwrap()
    );
    assert!(
        h.c()
            .end_completing(id, t.at(40), Some(7), t.at(500))
            .await
            .unwrap()
    );
    let done = h.c().upload(id).await.unwrap().unwrap();
    assert_eq!((done.state, done.version), (UploadState::Done, Some(7)));
    assert!(
        !h.c()
            .begin_completing(id, t.at(1000), t.at(1010))
            .await
            .unwrap(),
        "done stays done"
    );
    assert!(
        !h.c()
            .record_part(id, &part(1, 4, "a"), t.at(600))
            .await
            .unwrap()
    );
}

pub async fn an_upload_marked_for_deletion_takes_no_part_completion_or_second_deletion(
    h: &Harness,
) {
    let t = Clock::start();
    let id = open(h, t, 10, 4, 100).await;
    assert!(
        h.c()
            .record_part(id, &part(1, 4, "a"), t.at(1))
            .await
            .unwrap()
    );
    assert!(h.c().mark_deleting(id, None, t.at(2)).await.unwrap());
    assert_eq!(
        h.c().upload(id).await.unwrap().unwrap().state,
        UploadState::Deleting
    );
    assert!(
        !h.c()
            .record_part(id, &part(2, 4, "b"), t.at(3))
            .await
            .unwrap()
    );
    assert!(!h.c().begin_completing(id, t.at(3), t.at(13)).await.unwrap());
    assert!(
        h.c().mark_deleting(id, None, t.at(4)).await.unwrap(),
        "an interrupted deletion is taken up again"
    );
    assert_eq!(
        h.c().expired_uploads(t.at(5), 10).await.unwrap(),
        [id],
        "the sweep finishes it"
    );
    h.c().delete_upload(id).await.unwrap();
    assert!(h.c().upload(id).await.unwrap().is_none());

    // Only a row marked for deletion is deleted; the holder of a claim may mark it.
    let kept = open(h, t, 10, 4, 100).await;
    h.c().delete_upload(kept).await.unwrap();
    assert!(h.c().upload(kept).await.unwrap().is_some());
    assert!(
        h.c()
            .begin_completing(kept, t.at(1), t.at(50))
            .await
            .unwrap()
    );
    assert!(
        h.c()
            .mark_deleting(kept, Some(t.at(50)), t.at(2))
            .await
            .unwrap()
    );
}

pub async fn expired_uploads_are_listed_unless_being_completed_and_deleted_with_their_parts(
    h: &Harness,
) {
    let t = Clock::start();
    let stale = open(h, t, 10, 4, 100).await;
    let completing = open(h, t, 10, 4, 100).await;
    let fresh = open(h, t, 10, 4, 1000).await;
    h.c()
        .record_part(stale, &part(1, 4, "a"), t.at(100))
        .await
        .unwrap();
    assert!(
        h.c()
            .begin_completing(completing, t.at(50), t.at(500))
            .await
            .unwrap()
    );
    assert_eq!(h.c().expired_uploads(t.at(200), 10).await.unwrap(), [stale]);
    let mut after_claim = h.c().expired_uploads(t.at(600), 10).await.unwrap();
    after_claim.sort();
    let mut want = vec![stale, completing];
    want.sort();
    assert_eq!(after_claim, want, "a lapsed completion expires too");
    assert!(h.c().mark_deleting(stale, None, t.at(200)).await.unwrap());
    h.c().delete_upload(stale).await.unwrap();
    assert!(h.c().upload(stale).await.unwrap().is_none());
    assert!(h.c().upload_parts(stale).await.unwrap().is_empty());
    assert!(h.c().upload(fresh).await.unwrap().is_some());
}
