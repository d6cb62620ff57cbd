//! The DynamoDB store against DynamoDB Local: every operation, the field index, channel
//! confinement, and concurrent writers.

use std::collections::BTreeSet;

use contacts_shared::domain::field_defs::{FieldDef, FieldSet, FieldType};
use contacts_shared::domain::field_writes::FieldWrite;
use contacts_shared::domain::service::update_fields;
use contacts_shared::store::{ContactStore, NewContact, StoreError, TagChange};
use contacts_shared::{ChannelType, DynamoStore};
use contacts_tests::{
    assert_consistent, create_channel, define_field, find_page, fresh_store, item_key, raw_client,
    runtime, writes,
};

fn insert(store: &DynamoStore, channel: &str, id: &str, created_at: i64, w: &[FieldWrite]) -> bool {
    let tags = BTreeSet::new();
    let contact = NewContact {
        id,
        created_at,
        created_micros: 0,
        writes: w,
        tags: &tags,
    };
    runtime()
        .block_on(store.insert_contact(channel, &contact))
        .expect("insert")
}

fn find(
    store: &DynamoStore,
    channel: &str,
    field: &str,
    field_type: FieldType,
    value: &str,
    offset: u64,
    limit: u32,
) -> (u64, Vec<String>) {
    let page = offset / u64::from(limit) + 1;
    let found = find_page(store, channel, (field, field_type, value), page, limit);
    (
        found.total,
        found.contacts.into_iter().map(|c| c.id).collect(),
    )
}

#[test]
fn contacts_round_trip_with_their_index() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Facebook, None);
    let fields = FieldSet::default();
    let w = writes(
        &fields,
        &[
            ("firstName", Some("Muhammad Mahin")),
            ("phone", Some("+92 324-4077087")),
        ],
    );
    assert!(insert(&store, &channel, "c1", 1_575_618_542, &w));
    assert!(
        !insert(&store, &channel, "c1", 1, &w),
        "an id is never reused"
    );

    let got = runtime()
        .block_on(store.get_contact(&channel, "c1"))
        .unwrap()
        .unwrap();
    assert_eq!(got.fields["firstName"], "Muhammad Mahin");
    assert_eq!(got.created_at, 1_575_618_542);
    assert_eq!(
        find(
            &store,
            &channel,
            "phone",
            FieldType::Phone,
            "923244077087",
            0,
            10
        ),
        (1, vec!["c1".into()])
    );

    // Changing a value moves its index entry; clearing removes it.
    let update = writes(&fields, &[("firstName", Some("Mahin")), ("phone", None)]);
    assert!(runtime()
        .block_on(update_fields(&store, &channel, "c1", &update))
        .unwrap());
    assert_eq!(
        find(
            &store,
            &channel,
            "firstName",
            FieldType::Text,
            "muhammad mahin",
            0,
            10
        )
        .0,
        0
    );
    assert_eq!(
        find(
            &store,
            &channel,
            "firstName",
            FieldType::Text,
            "mahin",
            0,
            10
        )
        .0,
        1
    );
    assert_eq!(
        find(
            &store,
            &channel,
            "phone",
            FieldType::Phone,
            "923244077087",
            0,
            10
        )
        .0,
        0
    );
    let got = runtime()
        .block_on(store.get_contact(&channel, "c1"))
        .unwrap()
        .unwrap();
    assert!(!got.fields.contains_key("phone"));

    // A case-only change keeps the same match key and must not clash with itself.
    let recase = writes(&fields, &[("firstName", Some("MAHIN"))]);
    assert!(runtime()
        .block_on(update_fields(&store, &channel, "c1", &recase))
        .unwrap());
    assert_eq!(
        find(
            &store,
            &channel,
            "firstName",
            FieldType::Text,
            "mahin",
            0,
            10
        )
        .0,
        1
    );

    assert!(
        !runtime()
            .block_on(update_fields(&store, &channel, "nobody", &update))
            .unwrap(),
        "no upsert"
    );
    assert!(runtime()
        .block_on(store.get_contact(&channel, "nobody"))
        .unwrap()
        .is_none());
    assert_consistent(&store, &channel);
}

#[test]
fn tags_are_a_set() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Telegram, None);
    assert!(insert(&store, &channel, "c", 1, &[]));
    let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let change = |c, t: &[&str]| {
        runtime()
            .block_on(store.change_tags(&channel, "c", c, &tags(t)))
            .unwrap()
    };
    assert!(change(TagChange::Add, &["b", "a"]));
    assert!(change(TagChange::Add, &["a", "c"]));
    assert!(change(TagChange::Remove, &["b", "zz"]));
    let got = runtime()
        .block_on(store.get_contact(&channel, "c"))
        .unwrap()
        .unwrap();
    assert_eq!(got.tags, tags(&["a", "c"]));
    assert!(change(TagChange::Remove, &["a", "c"]));
    assert!(runtime()
        .block_on(store.get_contact(&channel, "c"))
        .unwrap()
        .unwrap()
        .tags
        .is_empty());
    let missing = runtime()
        .block_on(store.change_tags(&channel, "nobody", TagChange::Add, &tags(&["x"])))
        .unwrap();
    assert!(!missing, "tags of an unknown contact");
    assert!(
        runtime()
            .block_on(store.get_contact(&channel, "nobody"))
            .unwrap()
            .is_none(),
        "no contact appears"
    );
    assert_consistent(&store, &channel);
}

#[test]
fn find_pages_oldest_first_and_stays_in_its_channel() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Whatsapp, None);
    let (other, _) = create_channel(&store, ChannelType::Whatsapp, None);
    let fields = FieldSet::default();
    let w = writes(&fields, &[("lastName", Some("Dar"))]);
    // Inserted out of order: the index orders by created_at, then id.
    for (id, at) in [("e", 50), ("a", 10), ("c", 30), ("b", 30), ("d", 40)] {
        assert!(insert(&store, &channel, id, at, &w));
    }
    assert!(insert(&store, &other, "x", 1, &w));
    let all = find(&store, &channel, "lastName", FieldType::Text, "dar", 0, 10);
    assert_eq!(
        all,
        (
            5,
            vec!["a", "b", "c", "d", "e"]
                .into_iter()
                .map(String::from)
                .collect()
        )
    );
    assert_eq!(
        find(&store, &channel, "lastName", FieldType::Text, "dar", 2, 2).1,
        vec!["c", "d"]
    );
    assert_eq!(
        find(&store, &channel, "lastName", FieldType::Text, "dar", 4, 2).1,
        vec!["e"]
    );
    assert_eq!(
        find(&store, &channel, "lastName", FieldType::Text, "dar", 9, 2),
        (5, vec![])
    );
    assert_eq!(
        find(&store, &other, "lastName", FieldType::Text, "dar", 0, 10),
        (1, vec!["x".into()])
    );
    assert!(runtime()
        .block_on(store.get_contact(&other, "a"))
        .unwrap()
        .is_none());
    assert_consistent(&store, &channel);
    assert_consistent(&store, &other);
}

#[test]
fn long_values_are_found_through_hashed_keys() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Line, None);
    let long = "ü".repeat(1000);
    assert!(insert(
        &store,
        &channel,
        "c",
        1,
        &writes(&FieldSet::default(), &[("firstName", Some(&long))])
    ));
    assert_eq!(
        find(&store, &channel, "firstName", FieldType::Text, &long, 0, 10).0,
        1
    );
    assert_consistent(&store, &channel);
}

#[test]
fn channels_tokens_and_field_definitions() {
    let store = fresh_store();
    let (channel, token) = create_channel(&store, ChannelType::Viber, None);
    let grant = runtime()
        .block_on(store.token_grant(&token))
        .unwrap()
        .unwrap();
    assert_eq!(
        (grant.channel.id.as_str(), grant.channel.kind),
        (channel.as_str(), ChannelType::Viber)
    );
    assert!(grant.api_key.len() >= 20);
    assert!(runtime()
        .block_on(store.token_grant("ct_not-a-token"))
        .unwrap()
        .is_none());

    let second = runtime().block_on(store.issue_token(&channel)).unwrap();
    assert_ne!(second, token);
    assert_eq!(
        runtime()
            .block_on(store.channel(&channel))
            .unwrap()
            .unwrap()
            .tokens,
        2
    );
    assert_eq!(
        runtime().block_on(store.revoke_token(&token)).unwrap(),
        channel
    );
    assert!(
        runtime()
            .block_on(store.token_grant(&token))
            .unwrap()
            .is_none(),
        "revoked"
    );
    assert!(
        runtime()
            .block_on(store.token_grant(&second))
            .unwrap()
            .is_some(),
        "the other token lives on"
    );
    assert!(matches!(
        runtime().block_on(store.revoke_token(&token)),
        Err(StoreError::Rejected(_))
    ));
    assert!(matches!(
        runtime().block_on(store.issue_token("nochannel")),
        Err(StoreError::Rejected(_))
    ));

    define_field(
        &store,
        &channel,
        "tier",
        FieldType::List,
        &["Gold", "Silver"],
    );
    define_field(
        &store,
        &channel,
        "tier",
        FieldType::List,
        &["Gold", "Silver", "Bronze"],
    );
    let changed = FieldDef::new(FieldType::Number);
    assert!(matches!(
        runtime().block_on(store.define_field(&channel, "tier", &changed)),
        Err(StoreError::Rejected(_))
    ));
    assert!(matches!(
        runtime().block_on(store.define_field(&channel, "phone", &changed)),
        Err(StoreError::Rejected(_))
    ));
    assert!(matches!(
        runtime().block_on(store.define_field("nochannel", "x", &changed)),
        Err(StoreError::Rejected(_))
    ));
    let fields = runtime().block_on(store.field_set(&channel)).unwrap();
    assert_eq!(
        fields.get("tier").unwrap().values,
        vec!["Gold", "Silver", "Bronze"]
    );
    assert_eq!(fields.get("phone").unwrap().field_type, FieldType::Phone);
    assert_consistent(&store, &channel);
}

#[test]
fn a_channel_has_an_api_key_while_it_has_a_live_token() {
    let store = fresh_store();
    let (channel, first) = create_channel(&store, ChannelType::Facebook, None);
    let key = runtime()
        .block_on(store.token_grant(&first))
        .unwrap()
        .unwrap()
        .api_key;
    let exists = |store: &DynamoStore| runtime().block_on(store.api_key_exists(&key)).unwrap();
    assert!(exists(&store), "issued with the channel's first token");
    assert!(!runtime()
        .block_on(store.api_key_exists("key-of-nobody"))
        .unwrap());

    let second = runtime().block_on(store.issue_token(&channel)).unwrap();
    runtime().block_on(store.revoke_token(&first)).unwrap();
    assert!(exists(&store), "a live token remains: so does the key");
    runtime().block_on(store.revoke_token(&second)).unwrap();
    assert!(!exists(&store), "the last token took the key with it");

    runtime().block_on(store.issue_token(&channel)).unwrap();
    assert!(exists(&store), "a new token brings the same key back");
    runtime().block_on(store.issue_token(&channel)).unwrap();
    assert!(exists(&store), "issuing is idempotent for the key");

    runtime()
        .block_on(store.delete_channel(&channel, std::time::Duration::ZERO, &mut |_| {}))
        .unwrap();
    assert!(!exists(&store), "deleting the channel deletes its key");
}

#[test]
fn concurrent_writers_lose_nothing() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Facebook, None);
    for i in 0..8 {
        define_field(&store, &channel, &format!("f{i}"), FieldType::Number, &[]);
    }
    let fields = runtime().block_on(store.field_set(&channel)).unwrap();
    assert!(insert(&store, &channel, "c", 1, &[]));
    runtime().block_on(async {
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (s, ch) = (store.clone(), channel.clone());
            let w = writes(&fields, &[(&format!("f{i}"), Some(&i.to_string()))]);
            tasks.push(tokio::spawn(async move {
                update_fields(&s, &ch, "c", &w).await
            }));
            let (s, ch) = (store.clone(), channel.clone());
            let tag: BTreeSet<String> = [format!("t{i}")].into();
            tasks.push(tokio::spawn(async move {
                s.change_tags(&ch, "c", TagChange::Add, &tag).await
            }));
        }
        for task in tasks {
            assert!(task.await.unwrap().unwrap());
        }
    });
    let got = runtime()
        .block_on(store.get_contact(&channel, "c"))
        .unwrap()
        .unwrap();
    assert_eq!(
        got.fields.len(),
        8,
        "every field update survived: {:?}",
        got.fields
    );
    assert_eq!(got.tags.len(), 8, "every tag survived: {:?}", got.tags);
    for i in 0..8 {
        let (total, ids) = find(
            &store,
            &channel,
            &format!("f{i}"),
            FieldType::Number,
            &i.to_string(),
            0,
            10,
        );
        assert_eq!(
            (total, ids),
            (1, vec!["c".to_string()]),
            "index entry of f{i}"
        );
    }
    assert_consistent(&store, &channel);
}

#[test]
fn a_contact_past_the_item_size_limit_is_refused_not_broken() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Custom, None);
    for i in 0..40 {
        define_field(&store, &channel, &format!("big{i}"), FieldType::Text, &[]);
    }
    let fields = runtime().block_on(store.field_set(&channel)).unwrap();
    assert!(insert(&store, &channel, "c", 1, &[]));
    // Tags: 255-character tags, 10 at a time, until DynamoDB's 400 KB item limit.
    let mut refused = None;
    for round in 0..200 {
        let tags: BTreeSet<String> = (0..10)
            .map(|i| format!("{round:04}-{i:02}-{}", "t".repeat(247)))
            .collect();
        match runtime().block_on(store.change_tags(&channel, "c", TagChange::Add, &tags)) {
            Ok(found) => assert!(found),
            Err(err) => {
                refused = Some(err);
                break;
            }
        }
    }
    assert_eq!(refused, Some(StoreError::TooLarge));
    // A field update that would pass the limit is refused the same way, and writes nothing.
    let value = "v".repeat(1000);
    let big: Vec<(String, Option<&str>)> = (0..30)
        .map(|i| (format!("big{i}"), Some(value.as_str())))
        .collect();
    let big: Vec<(&str, Option<&str>)> = big.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let before = runtime()
        .block_on(store.get_contact(&channel, "c"))
        .unwrap()
        .unwrap();
    let mut result = Ok(true);
    for _ in 0..20 {
        result = runtime().block_on(update_fields(&store, &channel, "c", &writes(&fields, &big)));
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        panic!("30 KB of fields fitted 20 times over 400 KB of tags");
    }
    assert_eq!(result, Err(StoreError::TooLarge));
    let after = runtime()
        .block_on(store.get_contact(&channel, "c"))
        .unwrap()
        .unwrap();
    assert_eq!(after.tags, before.tags);
    assert_consistent(&store, &channel);
}

#[test]
fn the_invariant_checker_finds_missing_and_orphan_index_entries() {
    use contacts_shared::store::dynamo::{keys, Pace, Reach};

    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Facebook, None);
    let fields = FieldSet::default();
    assert!(insert(
        &store,
        &channel,
        "a",
        1,
        &writes(
            &fields,
            &[("firstName", Some("Ann")), ("phone", Some("555 0101"))]
        )
    ));
    assert!(insert(
        &store,
        &channel,
        "b",
        2,
        &writes(&fields, &[("firstName", Some("Bob"))])
    ));
    let clean = runtime().block_on(store.check_channel(&channel)).unwrap();
    assert!(clean.is_consistent(), "{clean:?}");
    // Three field entries, and a list entry per contact.
    assert_eq!((clean.contacts, clean.index_entries), (2, 5));

    // Break the index behind the store's back: drop one entry, add one for nobody.
    let client = raw_client();
    let dropped = item_key(
        keys::index_pk(&channel, "phone", "5550101"),
        keys::index_sk(1, Some(0), "a"),
    );
    let orphan = item_key(
        keys::index_pk(&channel, "lastName", "ghost"),
        keys::index_sk(3, Some(0), "ghost"),
    );
    runtime().block_on(async {
        client
            .delete_item()
            .table_name(store.table())
            .set_key(Some(dropped))
            .send()
            .await
            .unwrap();
        client
            .put_item()
            .table_name(store.table())
            .set_item(Some(orphan.clone()))
            .send()
            .await
            .unwrap();
    });
    // Reading the channel's own items: the missing entry; the orphan lies in a value
    // partition no contact points to, which only a scan of the table reaches.
    let broken = runtime().block_on(store.check_channel(&channel)).unwrap();
    assert!(!broken.is_consistent());
    let missing = vec![("a".to_string(), "phone".to_string())];
    assert_eq!(broken.missing_entries, missing);
    assert_eq!(broken.orphan_entries, vec![]);
    let mut scanned = 0;
    let mut count = |read: u64, _| scanned = read;
    let mut reach = Reach::Table(Pace {
        max_read_units_per_second: 1_000.0,
        progress: &mut count,
    });
    let broken = runtime()
        .block_on(store.check_channel_reaching(&channel, &mut reach))
        .unwrap();
    assert_eq!(broken.missing_entries, missing);
    assert_eq!(
        broken.orphan_entries,
        vec![(
            keys::index_pk(&channel, "lastName", "ghost"),
            keys::index_sk(3, Some(0), "ghost")
        )]
    );
    let (_, repaired) = runtime()
        .block_on(store.repair_channel_reaching(&channel, &mut reach))
        .unwrap();
    assert!(repaired.is_consistent(), "{repaired:?}");
    assert!(scanned > 0, "the scan said how far it was");
}
