use std::collections::BTreeSet;

use caravan_catalog::{CatalogError, NewToken, NewUser, Timestamp};
use caravan_domain::{Role, Scope};

use crate::Harness;

pub async fn users_are_created_found_listed_disabled_and_given_new_passwords(h: &Harness) {
    assert_eq!(h.c().count_users().await.unwrap(), 0);
    let admin = h.user("admin", Role::Admin).await;
    let alice = h.user("alice", Role::User).await;
    assert_eq!(h.c().count_users().await.unwrap(), 2);

    let found = h.c().user_by_name("alice").await.unwrap().unwrap();
    assert_eq!(found.id, alice.user_id);
    assert_eq!(found.role, Role::User);
    assert!(!found.disabled);
    assert_eq!(
        h.c().user_by_id(admin.user_id).await.unwrap().unwrap().role,
        Role::Admin
    );
    assert!(h.c().user_by_name("nobody").await.unwrap().is_none());
    let names: Vec<_> = h
        .c()
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["admin", "alice"]);

    h.c()
        .set_user_disabled(alice.user_id, true, &admin)
        .await
        .unwrap();
    assert!(
        h.c()
            .user_by_id(alice.user_id)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    h.c()
        .set_user_disabled(alice.user_id, false, &admin)
        .await
        .unwrap();
    assert!(
        !h.c()
            .user_by_id(alice.user_id)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );

    h.c()
        .set_password(alice.user_id, "new-hash", &alice)
        .await
        .unwrap();
    let after = h.c().user_by_id(alice.user_id).await.unwrap().unwrap();
    assert_eq!(after.password_hash, "new-hash");
    assert!(after.password_changed_at >= found.password_changed_at);

    let missing = uuid::Uuid::new_v4();
    assert!(matches!(
        h.c().set_user_disabled(missing, true, &admin).await,
        Err(CatalogError::NotFound(_))
    ));
}

pub async fn duplicate_usernames_are_a_conflict(h: &Harness) {
    h.user("bob", Role::User).await;
    let again = h
        .c()
        .create_user(
            NewUser {
                username: "bob".into(),
                role: Role::Admin,
                password_hash: "y".into(),
            },
            None,
        )
        .await;
    assert!(matches!(again, Err(CatalogError::Conflict { message: m, .. }) if m.contains("bob")));
}

pub async fn tokens_are_found_by_secret_listed_touched_and_revoked(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let bob = h.user("bob", Role::User).await;
    let scopes = BTreeSet::from([Scope::Read, Scope::Publish]);
    let token = h
        .c()
        .create_token(
            NewToken {
                user_id: alice.user_id,
                name: "ci".into(),
                prefix: "cvn_abcd".into(),
                secret_sha256: "f".repeat(64),
                scopes: scopes.clone(),
                expires_at: Some(Timestamp::now()),
            },
            &alice,
        )
        .await
        .unwrap();
    assert_eq!(token.scopes, scopes);
    assert!(token.last_used_at.is_none() && token.revoked_at.is_none());

    let found = h
        .c()
        .token_by_secret(&"f".repeat(64))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, token);
    assert!(
        h.c()
            .token_by_secret(&"0".repeat(64))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        h.c().list_tokens(alice.user_id).await.unwrap(),
        vec![token.clone()]
    );
    assert!(h.c().list_tokens(bob.user_id).await.unwrap().is_empty());

    let used_at = Timestamp::now();
    h.c().touch_token(token.id, used_at).await.unwrap();
    let touched = h
        .c()
        .token_by_secret(&"f".repeat(64))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.last_used_at, Some(used_at));

    // Only the owner's id revokes it.
    assert!(matches!(
        h.c().revoke_token(bob.user_id, token.id, &bob).await,
        Err(CatalogError::NotFound(_))
    ));
    h.c()
        .revoke_token(alice.user_id, token.id, &alice)
        .await
        .unwrap();
    let revoked = h
        .c()
        .token_by_secret(&"f".repeat(64))
        .await
        .unwrap()
        .unwrap();
    assert!(revoked.revoked_at.is_some());
}

pub async fn the_audit_log_records_writes_newest_first_and_refuses_changes(h: &Harness) {
    let admin = h.user("admin", Role::Admin).await;
    let alice = h.user("alice", Role::User).await;
    h.c()
        .set_user_disabled(alice.user_id, true, &admin)
        .await
        .unwrap();

    let log = h.c().list_audit(10, None).await.unwrap();
    let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["user.disable", "user.create", "user.create"]);
    assert_eq!(log[0].actor.as_deref(), Some("admin"));
    assert_eq!(log[0].target, "user:alice");
    assert!(log[0].id > log[1].id);

    let older = h.c().list_audit(10, Some(log[0].id)).await.unwrap();
    assert_eq!(older.len(), 2);
    assert_eq!(older[0].id, log[1].id);

    assert!(
        h.raw_execute("UPDATE audit_log SET actor = 'mallory'")
            .await
            .is_err()
    );
    assert!(h.raw_execute("DELETE FROM audit_log").await.is_err());
    assert_eq!(h.c().list_audit(10, None).await.unwrap(), log);
}

pub async fn instance_settings_keep_their_first_value(h: &Harness) {
    h.c().ping().await.unwrap();
    assert_eq!(
        h.c().setting_or_init("jwt", "first").await.unwrap(),
        "first"
    );
    assert_eq!(
        h.c().setting_or_init("jwt", "second").await.unwrap(),
        "first"
    );
    assert_eq!(h.c().setting_or_init("other", "x").await.unwrap(), "x");
}

pub async fn a_removed_setting_answers_its_value_once(h: &Harness) {
    h.c().setting_or_init("legacy", "kept").await.unwrap();
    assert_eq!(
        h.c().remove_setting("legacy").await.unwrap().as_deref(),
        Some("kept")
    );
    assert_eq!(h.c().remove_setting("legacy").await.unwrap(), None);
    assert_eq!(h.c().remove_setting("never-set").await.unwrap(), None);
    // Once removed, a new value can be stored.
    assert_eq!(h.c().setting_or_init("legacy", "new").await.unwrap(), "new");
}

pub async fn login_attempts_are_capped_per_key_across_concurrent_callers(h: &Harness) {
    let window = std::time::Duration::from_secs(60);
    let now = crate::support::at(0);
    let keys = |pair: &str| vec![(pair.to_string(), 5), ("u|alice".to_string(), 8)];
    let tries: Vec<_> = (0..20)
        .map(|_| {
            let (catalog, keys) = (h.catalog.clone(), keys("p|alice|a"));
            tokio::spawn(async move {
                catalog
                    .count_login_attempt(&keys, now, window)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tries {
        answers.push(t.await.unwrap());
    }
    assert_eq!(answers.iter().filter(|a| a.is_none()).count(), 5);
    assert!(
        answers
            .iter()
            .flatten()
            .all(|&retry| (1..=60).contains(&retry)),
        "{answers:?}"
    );
    // The refused ones counted nothing: the user key has 3 attempts left from another address.
    for _ in 0..3 {
        assert_eq!(
            h.c()
                .count_login_attempt(&keys("p|alice|b"), now, window)
                .await
                .unwrap(),
            None
        );
    }
    assert!(
        h.c()
            .count_login_attempt(&keys("p|alice|c"), now, window)
            .await
            .unwrap()
            .is_some()
    );

    // A success forgets its pair and gives the user key one attempt back.
    h.c()
        .login_succeeded("p|alice|a", &["u|alice".to_string()])
        .await
        .unwrap();
    assert_eq!(
        h.c()
            .count_login_attempt(&keys("p|alice|a"), now, window)
            .await
            .unwrap(),
        None
    );
    assert!(
        h.c()
            .count_login_attempt(&keys("p|alice|a"), now, window)
            .await
            .unwrap()
            .is_some()
    );

    // A window that ended starts again, and pruning drops what ended.
    let later = crate::support::at(61);
    assert_eq!(
        h.c()
            .count_login_attempt(&keys("p|alice|a"), later, window)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        h.c()
            .prune_login_attempts(crate::support::at(30))
            .await
            .unwrap(),
        1,
        "pair b (pair c was refused, so never stored)"
    );
}
