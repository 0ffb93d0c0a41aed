use std::collections::BTreeSet;

use caravan_catalog::{Actor, CatalogError, ModelPatch, ModelQuery, ModelSort, Viewer};
use caravan_domain::{Role, Visibility};

use crate::{Harness, support::sha};

fn query(viewer: Viewer) -> ModelQuery {
    ModelQuery {
        viewer,
        text: None,
        tag: None,
        visibility: None,
        sort: ModelSort::Relevance,
        descending: None,
        limit: 50,
        cursor: None,
    }
}

fn admin_view(actor: &Actor) -> Viewer {
    Viewer::User {
        id: actor.user_id,
        admin: true,
    }
}

async fn names(h: &Harness, q: &ModelQuery) -> Vec<String> {
    let page = h.c().search_models(q).await.unwrap();
    page.items.into_iter().map(|m| m.name.to_string()).collect()
}

async fn seed(h: &Harness, actor: &Actor, name: &str, n: u32, patch: ModelPatch) {
    h.publish_with(actor, name, &sha(n), patch).await;
}

pub async fn search_finds_words_in_name_description_card_and_tags(h: &Harness) {
    let admin = h.user("admin", Role::Admin).await;
    let public = Some(Visibility::Public);
    seed(
        h,
        &admin,
        "cloud-forensics",
        1,
        ModelPatch {
            visibility: public,
            ..Default::default()
        },
    )
    .await;
    let d = ModelPatch {
        description: Some("Detects cryptomining".into()),
        ..Default::default()
    };
    seed(h, &admin, "miner", 2, d).await;
    let c = ModelPatch {
        card: Some("## Trained on telemetry".into()),
        ..Default::default()
    };
    seed(h, &admin, "carded", 3, c).await;
    let t = ModelPatch {
        tags: Some(vec!["intrusion".into()]),
        ..Default::default()
    };
    seed(h, &admin, "tagged", 4, t).await;

    let mut q = query(admin_view(&admin));
    for (text, expected) in [
        ("forensics", "cloud-forensics"),
        ("CRYPTOMINING", "miner"),
        ("telemetry", "carded"),
        ("intrusion", "tagged"),
        ("foren", "cloud-forensics"),
        ("cloud forensics", "cloud-forensics"),
    ] {
        q.text = Some(text.into());
        assert_eq!(names(h, &q).await, [expected], "query {text:?}");
    }
    // Words that match nothing, several words where one misses, and query syntax are harmless.
    for text in ["nothing-here", "cloud miner", "\"OR\" AND (", "*"] {
        q.text = Some(text.into());
        let found = names(h, &q).await;
        assert!(found.is_empty() || text == "*", "{text:?} found {found:?}");
    }
    // Updates are searchable at once.
    let patch = ModelPatch {
        description: Some("now about ransomware".into()),
        ..Default::default()
    };
    let name = caravan_domain::ModelName::parse("miner").unwrap();
    h.c().update_model(&name, &patch, &admin).await.unwrap();
    q.text = Some("ransomware".into());
    assert_eq!(names(h, &q).await, ["miner"]);
    q.text = Some("cryptomining".into());
    assert!(names(h, &q).await.is_empty());
}

pub async fn search_filters_by_tag_and_visibility_and_respects_the_viewer(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    let bob = h.user("bob", Role::User).await;
    for (name, n, vis, tag) in [
        ("pub-a", 1, Visibility::Public, "vision"),
        ("org-a", 2, Visibility::Organization, "vision"),
        ("priv-a", 3, Visibility::Private, "vision"),
        ("priv-b", 4, Visibility::Private, "text"),
    ] {
        let owner = if name.ends_with("-b") { &bob } else { &alice };
        let patch = ModelPatch {
            visibility: Some(vis),
            tags: Some(vec![tag.into()]),
            ..Default::default()
        };
        seed(h, owner, name, n, patch).await;
    }
    let set = |v: Vec<String>| v.into_iter().collect::<BTreeSet<_>>();
    let expect = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();

    assert_eq!(
        set(names(h, &query(Viewer::Anonymous)).await),
        expect(&["pub-a"])
    );
    let as_bob = query(Viewer::User {
        id: bob.user_id,
        admin: false,
    });
    assert_eq!(
        set(names(h, &as_bob).await),
        expect(&["pub-a", "org-a", "priv-b"])
    );
    let as_admin = query(admin_view(&alice));
    assert_eq!(names(h, &as_admin).await.len(), 4);

    let mut tagged = as_bob.clone();
    tagged.tag = Some("vision".into());
    assert_eq!(set(names(h, &tagged).await), expect(&["pub-a", "org-a"]));
    tagged.visibility = Some(Visibility::Organization);
    assert_eq!(names(h, &tagged).await, ["org-a"]);
    tagged.tag = Some("unknown".into());
    assert!(names(h, &tagged).await.is_empty());
}

pub async fn pages_follow_cursors_without_gaps_or_repeats(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    for n in 0..23 {
        let patch = ModelPatch {
            description: Some("shared word".into()),
            ..Default::default()
        };
        seed(h, &alice, &format!("m{n:02}"), n, patch).await;
    }
    for (sort, text) in [
        (ModelSort::Name, None),
        (ModelSort::Updated, None),
        (ModelSort::Downloads, None),
        (ModelSort::Relevance, Some("shared")),
    ] {
        let mut q = query(admin_view(&alice));
        q.sort = sort;
        q.text = text.map(Into::into);
        q.limit = 5;
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = h.c().search_models(&q).await.unwrap();
            pages += 1;
            seen.extend(page.items.iter().map(|m| m.name.to_string()));
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(pages, 5, "{sort:?}");
        let unique: BTreeSet<_> = seen.iter().collect();
        assert_eq!((seen.len(), unique.len()), (23, 23), "{sort:?}");
    }
}

pub async fn sorting_by_name_downloads_and_updated(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    for (n, name) in ["bravo", "alpha", "charlie"].iter().enumerate() {
        seed(h, &alice, name, n as u32, ModelPatch::default()).await;
    }
    let alpha_name = caravan_domain::ModelName::parse("alpha").unwrap();
    let alpha = h.c().model_by_name(&alpha_name).await.unwrap().unwrap();
    for _ in 0..2 {
        h.c().record_download(alpha.id).await.unwrap();
    }
    let mut q = query(admin_view(&alice));
    q.sort = ModelSort::Name;
    assert_eq!(names(h, &q).await, ["alpha", "bravo", "charlie"]);
    q.descending = Some(true);
    assert_eq!(names(h, &q).await, ["charlie", "bravo", "alpha"]);
    q.sort = ModelSort::Downloads;
    q.descending = None;
    assert_eq!(names(h, &q).await[0], "alpha");
    q.sort = ModelSort::Updated;
    assert_eq!(names(h, &q).await, ["charlie", "alpha", "bravo"]);
    q.descending = Some(false);
    assert_eq!(names(h, &q).await, ["bravo", "alpha", "charlie"]);
}

pub async fn a_foreign_cursor_is_refused(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    for n in 0..3 {
        seed(h, &alice, &format!("m{n}"), n, ModelPatch::default()).await;
    }
    let mut q = query(admin_view(&alice));
    q.sort = ModelSort::Name;
    q.limit = 1;
    let cursor = h.c().search_models(&q).await.unwrap().next_cursor.unwrap();
    q.sort = ModelSort::Downloads;
    q.cursor = Some(cursor);
    assert!(matches!(
        h.c().search_models(&q).await,
        Err(CatalogError::InvalidInput(_))
    ));
    q.cursor = Some("garbage".into());
    assert!(matches!(
        h.c().search_models(&q).await,
        Err(CatalogError::InvalidInput(_))
    ));
}

pub async fn a_renamed_model_is_found_by_its_new_name_only(h: &Harness) {
    let alice = h.user("alice", Role::User).await;
    seed(h, &alice, "blueheron", 1, ModelPatch::default()).await;
    let old = caravan_domain::ModelName::parse("blueheron").unwrap();
    let new = caravan_domain::ModelName::parse("greycrane").unwrap();
    h.c().rename_model(&old, &new, &alice).await.unwrap();
    let by = |text: &str| ModelQuery {
        text: Some(text.into()),
        ..query(admin_view(&alice))
    };
    assert_eq!(names(h, &by("greycrane")).await, ["greycrane"]);
    assert!(names(h, &by("blueheron")).await.is_empty());
}
