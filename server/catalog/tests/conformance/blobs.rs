use caravan_catalog::{ModelPatch, Timestamp};
use caravan_domain::Role;

use crate::{
    Harness,
    support::{new_version, sha},
};

fn long_ago() -> Timestamp {
    Timestamp::from_datetime(chrono::DateTime::UNIX_EPOCH)
}

pub async fn reserved_and_referenced_blobs_cannot_be_claimed(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    assert!(!h.c().blob_known(&sha(1)).await.unwrap());
    assert!(h.c().reserve_blob(&sha(1), 10).await.unwrap());
    assert!(h.c().blob_known(&sha(1)).await.unwrap());
    assert!(
        !h.c().claim_orphan_blob(&sha(1), long_ago()).await.unwrap(),
        "reserved"
    );

    let published = h
        .c()
        .publish_version(new_version("m", &sha(1), ModelPatch::default()), &alice)
        .await
        .unwrap();
    assert!(
        !h.c()
            .claim_orphan_blob(&sha(1), Timestamp::now())
            .await
            .unwrap(),
        "referenced"
    );
    assert!(h.c().orphan_blobs(10).await.unwrap().is_empty());

    h.c()
        .delete_version(published.model.id, 1, &alice)
        .await
        .unwrap();
    assert_eq!(h.c().orphan_blobs(10).await.unwrap(), [sha(1)]);
    assert!(h.c().claim_orphan_blob(&sha(1), long_ago()).await.unwrap());
    h.c().forget_blob(&sha(1)).await.unwrap();
    assert!(!h.c().blob_known(&sha(1)).await.unwrap());
    assert!(
        !h.c().claim_orphan_blob(&sha(1), long_ago()).await.unwrap(),
        "gone"
    );
}

pub async fn a_claimed_blob_refuses_reservations_until_forgotten(h: &Harness) {
    assert!(h.c().reserve_blob(&sha(2), 10).await.unwrap());
    h.c().release_blob(&sha(2)).await.unwrap();
    assert!(h.c().claim_orphan_blob(&sha(2), long_ago()).await.unwrap());
    assert!(
        !h.c().reserve_blob(&sha(2), 10).await.unwrap(),
        "being deleted"
    );
    // An interrupted sweep can claim it again.
    assert!(h.c().claim_orphan_blob(&sha(2), long_ago()).await.unwrap());
    h.c().forget_blob(&sha(2)).await.unwrap();
    assert!(h.c().reserve_blob(&sha(2), 10).await.unwrap());
}

pub async fn stale_reservations_do_not_protect_a_blob(h: &Harness) {
    assert!(h.c().reserve_blob(&sha(3), 10).await.unwrap());
    assert!(!h.c().claim_orphan_blob(&sha(3), long_ago()).await.unwrap());
    // A reservation older than the cut-off was left by a push that died.
    let future = Timestamp::from_datetime(chrono::Utc::now() + chrono::Duration::hours(1));
    assert!(h.c().claim_orphan_blob(&sha(3), future).await.unwrap());
}

pub async fn a_claim_given_up_after_a_failed_delete_lets_writes_reserve_again(h: &Harness) {
    assert!(h.c().reserve_blob(&sha(4), 10).await.unwrap());
    h.c().release_blob(&sha(4)).await.unwrap();
    assert!(h.c().claim_orphan_blob(&sha(4), long_ago()).await.unwrap());
    assert!(!h.c().reserve_blob(&sha(4), 10).await.unwrap());
    h.c().unclaim_blob(&sha(4)).await.unwrap();
    assert!(h.c().blob_known(&sha(4)).await.unwrap(), "still known");
    assert!(
        h.c().reserve_blob(&sha(4), 10).await.unwrap(),
        "writable again"
    );
    assert!(
        !h.c().claim_orphan_blob(&sha(4), long_ago()).await.unwrap(),
        "and protected by the new reservation"
    );
    h.c().release_blob(&sha(4)).await.unwrap();
    assert_eq!(
        h.c().orphan_blobs(10).await.unwrap(),
        [sha(4)],
        "a sweep retries it"
    );
}
