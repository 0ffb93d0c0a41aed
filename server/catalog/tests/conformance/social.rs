use caravan_catalog::{CatalogError, SocialSummary};
use caravan_domain::{ModelName, Role};
use uuid::Uuid;

use crate::{Harness, support::sha};

pub async fn ratings_are_one_per_user_and_replace_the_previous_one(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let bob = h.user("bob", Role::User).await;
    let carol = h.user("carol", Role::User).await;
    let model = h.publish(&alice, "fraud", &sha(1)).await.model.id;
    let other = h.publish(&alice, "other", &sha(2)).await.model.id;

    let first = h
        .c()
        .rate_model(model, bob.user_id, 4, "good", &bob)
        .await
        .unwrap();
    assert_eq!(
        (
            first.model_id,
            first.user_id,
            first.username.as_str(),
            first.stars,
            first.review.as_str()
        ),
        (model, bob.user_id, "bob", 4, "good")
    );
    assert_eq!(first.created_at, first.updated_at);
    let audit = h.last_audit().await;
    assert_eq!(
        (audit.action.as_str(), audit.actor.as_deref()),
        ("model.rate", Some("bob"))
    );
    assert_eq!(audit.target, format!("model:{model}"));
    assert_eq!(audit.details["stars"], 4);

    let by_alice = h
        .c()
        .rate_model(model, alice.user_id, 2, "", &alice)
        .await
        .unwrap();
    let replaced = h
        .c()
        .rate_model(model, bob.user_id, 5, "great", &bob)
        .await
        .unwrap();
    assert_eq!((replaced.stars, replaced.review.as_str()), (5, "great"));
    assert_eq!(
        replaced.created_at, first.created_at,
        "the first rating's time stays"
    );
    assert!(replaced.updated_at >= first.updated_at);

    // Newest first: bob's replacement is newer than alice's rating.
    let listed = h.c().ratings(model, 10).await.unwrap();
    assert_eq!(listed, [replaced.clone(), by_alice.clone()]);
    assert_eq!(h.c().ratings(model, 1).await.unwrap(), [replaced]);
    assert!(h.c().ratings(other, 10).await.unwrap().is_empty());
    assert_eq!(
        h.c().rating_by(model, alice.user_id).await.unwrap(),
        Some(by_alice)
    );
    assert_eq!(h.c().rating_by(model, carol.user_id).await.unwrap(), None);
    assert_eq!(h.c().rating_by(other, bob.user_id).await.unwrap(), None);

    let summary = h.c().social_summary(model, None).await.unwrap();
    assert_eq!((summary.ratings, summary.stars_total), (2, 7));
    assert_eq!(summary.average(), Some(3.5));
}

pub async fn a_removed_rating_is_not_found_the_second_time(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let bob = h.user("bob", Role::User).await;
    let model = h.publish(&alice, "fraud", &sha(1)).await.model.id;
    h.c()
        .rate_model(model, bob.user_id, 3, "", &bob)
        .await
        .unwrap();
    h.c()
        .rate_model(model, alice.user_id, 5, "", &alice)
        .await
        .unwrap();

    h.c().delete_rating(model, bob.user_id, &bob).await.unwrap();
    let audit = h.last_audit().await;
    assert_eq!(
        (audit.action.as_str(), audit.actor.as_deref()),
        ("model.unrate", Some("bob"))
    );
    assert_eq!(audit.target, format!("model:{model}"));
    assert_eq!(h.c().rating_by(model, bob.user_id).await.unwrap(), None);
    let summary = h.c().social_summary(model, None).await.unwrap();
    assert_eq!((summary.ratings, summary.stars_total), (1, 5));

    assert!(matches!(
        h.c().delete_rating(model, bob.user_id, &bob).await,
        Err(CatalogError::NotFound(_))
    ));
    assert!(matches!(
        h.c()
            .delete_rating(Uuid::new_v4(), alice.user_id, &alice)
            .await,
        Err(CatalogError::NotFound(_))
    ));
    assert_eq!(
        h.last_audit().await,
        audit,
        "a refused removal is not logged"
    );
    // Rating again after a removal starts a new rating.
    let again = h
        .c()
        .rate_model(model, bob.user_id, 1, "changed my mind", &bob)
        .await
        .unwrap();
    assert_eq!(again.created_at, again.updated_at);
}

pub async fn ratings_outside_one_to_five_stars_or_of_unknown_models_are_refused(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let model = h.publish(&alice, "fraud", &sha(1)).await.model.id;
    let before = h.last_audit().await;
    for stars in [0, 6, -1] {
        let refused = h
            .c()
            .rate_model(model, alice.user_id, stars, "", &alice)
            .await;
        assert!(
            matches!(refused, Err(CatalogError::Database(_))),
            "{stars} stars: {refused:?}"
        );
    }
    let unknown = h
        .c()
        .rate_model(Uuid::new_v4(), alice.user_id, 3, "", &alice)
        .await;
    assert!(
        matches!(unknown, Err(CatalogError::Referenced(_))),
        "{unknown:?}"
    );
    assert!(h.c().ratings(model, 10).await.unwrap().is_empty());
    assert_eq!(h.last_audit().await, before, "nothing refused is logged");
}

pub async fn comments_read_oldest_first_and_are_deleted_once(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let bob = h.user("bob", Role::User).await;
    let model = h.publish(&alice, "fraud", &sha(1)).await.model.id;
    let other = h.publish(&alice, "other", &sha(2)).await.model.id;

    let mut written = Vec::new();
    for (who, body) in [(&bob, "first!"), (&alice, "thanks"), (&bob, "v2 when?")] {
        let comment = h
            .c()
            .add_comment(model, who.user_id, body, who)
            .await
            .unwrap();
        assert_eq!(
            (
                comment.model_id,
                comment.user_id,
                comment.username.as_str(),
                comment.body.as_str()
            ),
            (model, who.user_id, who.username.as_str(), body)
        );
        let audit = h.last_audit().await;
        assert_eq!(audit.action, "model.comment");
        assert_eq!(audit.target, format!("model:{model}"));
        assert_eq!(audit.details["comment"], comment.id.to_string());
        written.push(comment);
    }
    assert_eq!(h.c().comments(model, 10).await.unwrap(), written);
    assert_eq!(h.c().comments(model, 2).await.unwrap(), written[..2]);
    assert!(h.c().comments(other, 10).await.unwrap().is_empty());
    assert_eq!(
        h.c().comment(written[1].id).await.unwrap().as_ref(),
        Some(&written[1])
    );
    assert_eq!(h.c().comment(Uuid::new_v4()).await.unwrap(), None);
    assert_eq!(h.c().social_summary(model, None).await.unwrap().comments, 3);

    h.c().delete_comment(written[1].id, &alice).await.unwrap();
    let audit = h.last_audit().await;
    assert_eq!(
        (audit.action.as_str(), audit.actor.as_deref()),
        ("model.uncomment", Some("alice"))
    );
    assert_eq!(audit.target, format!("model:{model}"));
    assert_eq!(audit.details["comment"], written[1].id.to_string());
    assert_eq!(h.c().comment(written[1].id).await.unwrap(), None);
    assert_eq!(
        h.c().comments(model, 10).await.unwrap(),
        [written[0].clone(), written[2].clone()]
    );
    assert!(matches!(
        h.c().delete_comment(written[1].id, &alice).await,
        Err(CatalogError::NotFound(_))
    ));
    assert_eq!(
        h.last_audit().await,
        audit,
        "a refused removal is not logged"
    );

    let unknown = h
        .c()
        .add_comment(Uuid::new_v4(), bob.user_id, "hello?", &bob)
        .await;
    assert!(
        matches!(unknown, Err(CatalogError::Referenced(_))),
        "{unknown:?}"
    );
    assert_eq!(h.last_audit().await, audit);
}

pub async fn favourites_are_idempotent_and_the_summary_shows_the_viewers_own(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let bob = h.user("bob", Role::User).await;
    let carol = h.user("carol", Role::User).await;
    let model = h.publish(&alice, "fraud", &sha(1)).await.model.id;
    let other = h.publish(&alice, "other", &sha(2)).await.model.id;

    assert_eq!(
        h.c()
            .social_summary(model, Some(bob.user_id))
            .await
            .unwrap(),
        SocialSummary::default()
    );
    for _ in 0..2 {
        h.c().set_favourite(model, bob.user_id, true).await.unwrap();
    }
    h.c()
        .set_favourite(model, alice.user_id, true)
        .await
        .unwrap();
    h.c()
        .set_favourite(other, carol.user_id, true)
        .await
        .unwrap();
    let summary = |viewer: Option<Uuid>| async move {
        let s = h.c().social_summary(model, viewer).await.unwrap();
        (s.favourites, s.favourite)
    };
    assert_eq!(summary(Some(bob.user_id)).await, (2, true));
    assert_eq!(summary(Some(carol.user_id)).await, (2, false));
    assert_eq!(summary(None).await, (2, false), "anonymous viewers");

    for _ in 0..2 {
        h.c()
            .set_favourite(model, bob.user_id, false)
            .await
            .unwrap();
    }
    assert_eq!(summary(Some(bob.user_id)).await, (1, false));
    assert_eq!(summary(Some(alice.user_id)).await, (1, true));
    // Unmarking what was never marked is harmless.
    h.c()
        .set_favourite(model, carol.user_id, false)
        .await
        .unwrap();
    assert_eq!(summary(None).await, (1, false));
    let elsewhere = h
        .c()
        .social_summary(other, Some(carol.user_id))
        .await
        .unwrap();
    assert_eq!((elsewhere.favourites, elsewhere.favourite), (1, true));
}

pub async fn views_are_counted_per_model_and_are_not_updates(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let p = h.publish(&alice, "fraud", &sha(1)).await;
    let other = h.publish(&alice, "other", &sha(2)).await.model.id;
    for _ in 0..3 {
        h.c().record_view(p.model.id).await.unwrap();
    }
    h.c().record_view(other).await.unwrap();
    // A view of a model that does not exist is dropped.
    h.c().record_view(Uuid::new_v4()).await.unwrap();

    let summary = h.c().social_summary(p.model.id, None).await.unwrap();
    assert_eq!(
        summary,
        SocialSummary {
            views: 3,
            ..Default::default()
        }
    );
    assert_eq!(h.c().social_summary(other, None).await.unwrap().views, 1);
    // A model that does not exist has nothing, the same on both engines.
    assert_eq!(
        h.c().social_summary(Uuid::new_v4(), None).await.unwrap(),
        SocialSummary::default()
    );
    let model = h
        .c()
        .model_by_name(&ModelName::parse("fraud").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        model.updated_at, p.model.updated_at,
        "views do not count as updates"
    );
}

pub async fn deleting_a_model_removes_its_ratings_comments_and_favourites(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let bob = h.user("bob", Role::User).await;
    let model = h.publish(&alice, "fraud", &sha(1)).await.model.id;
    let kept = h.publish(&alice, "kept", &sha(2)).await.model.id;
    for id in [model, kept] {
        h.c()
            .rate_model(id, bob.user_id, 4, "", &bob)
            .await
            .unwrap();
        h.c().set_favourite(id, bob.user_id, true).await.unwrap();
    }
    let comment = h
        .c()
        .add_comment(model, bob.user_id, "nice", &bob)
        .await
        .unwrap();
    let kept_comment = h
        .c()
        .add_comment(kept, bob.user_id, "also nice", &bob)
        .await
        .unwrap();

    h.c()
        .delete_model(&ModelName::parse("fraud").unwrap(), &alice)
        .await
        .unwrap();
    assert_eq!(h.c().rating_by(model, bob.user_id).await.unwrap(), None);
    assert!(h.c().ratings(model, 10).await.unwrap().is_empty());
    assert_eq!(h.c().comment(comment.id).await.unwrap(), None);
    assert!(h.c().comments(model, 10).await.unwrap().is_empty());

    // The other model keeps its own.
    let summary = h.c().social_summary(kept, Some(bob.user_id)).await.unwrap();
    assert_eq!(
        (
            summary.ratings,
            summary.comments,
            summary.favourites,
            summary.favourite
        ),
        (1, 1, 1, true)
    );
    assert_eq!(
        h.c().comment(kept_comment.id).await.unwrap(),
        Some(kept_comment)
    );

    // A new model under the old name starts with nothing.
    let again = h.publish(&alice, "fraud", &sha(3)).await.model.id;
    assert_eq!(
        h.c()
            .social_summary(again, Some(bob.user_id))
            .await
            .unwrap(),
        SocialSummary::default()
    );
}
