//! The DynamoDB store's counts, pages and repair, against DynamoDB Local: counts exact
//! under concurrent writers, pages from where the last ended, writes too large for one
//! transaction, writers that died half-way, and data kept before counts existed.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use contacts_shared::domain::field_defs::{FieldSet, FieldType};
use contacts_shared::domain::field_values::match_key;
use contacts_shared::domain::service::update_fields;
use contacts_shared::store::dynamo::keys;
use contacts_shared::store::{ContactStore, NewContact};
use contacts_shared::{ChannelType, DynamoStore};
use contacts_tests::{
    assert_consistent, create_channel, define_field, find_page, fresh_store, item_key, matches,
    raw_client, runtime, writes,
};

fn field_set(store: &DynamoStore, channel: &str) -> FieldSet {
    runtime().block_on(store.field_set(channel)).unwrap()
}

/// Inserts contacts `ids` (in that order, one microsecond apart) with these fields.
fn insert(store: &DynamoStore, channel: &str, ids: &[String], pairs: &[(&str, Option<&str>)]) {
    let fields = field_set(store, channel);
    let w = writes(&fields, pairs);
    let tags = BTreeSet::new();
    for (i, id) in ids.iter().enumerate() {
        let contact = NewContact {
            id,
            created_at: 1_700_000_000,
            created_micros: i as u32,
            writes: &w,
            tags: &tags,
        };
        assert!(runtime()
            .block_on(store.insert_contact(channel, &contact))
            .unwrap());
    }
}

#[test]
fn counts_stay_exact_under_concurrent_creates_and_moves() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Facebook, None);
    define_field(&store, &channel, "member", FieldType::Boolean, &[]);
    let fields = field_set(&store, &channel);
    let member = writes(&fields, &[("member", Some("true"))]);
    let tags = BTreeSet::new();
    let ids: Vec<String> = (0..24).map(|i| format!("m{i:02}")).collect();
    // 24 creates of one value at once: each transaction moves the value's count.
    runtime().block_on(futures::future::join_all(ids.iter().map(|id| {
        let (store, member, tags, channel) = (&store, &member, &tags, &channel);
        async move {
            let contact = NewContact {
                id,
                created_at: 1_700_000_000,
                created_micros: 0,
                writes: member,
                tags,
            };
            assert!(store.insert_contact(channel, &contact).await.unwrap());
        }
    })));
    let yes = ("member", FieldType::Boolean, "TRUE");
    let no = ("member", FieldType::Boolean, "FALSE");
    assert_eq!(matches(&store, &channel, yes), 24);
    // 8 of them move to FALSE at once, and back and forth.
    let to_false = writes(&fields, &[("member", Some("false"))]);
    runtime().block_on(futures::future::join_all(ids[..8].iter().map(|id| {
        let (store, channel, to_false) = (&store, &channel, &to_false);
        async move {
            assert!(update_fields(store, channel, id, to_false).await.unwrap());
        }
    })));
    assert_eq!(matches(&store, &channel, yes), 16);
    assert_eq!(matches(&store, &channel, no), 8);
    let cleared = writes(&fields, &[("member", None)]);
    assert!(runtime()
        .block_on(update_fields(&store, &channel, &ids[8], &cleared))
        .unwrap());
    assert_eq!(matches(&store, &channel, yes), 15);
    assert_consistent(&store, &channel);
}

#[test]
fn a_write_too_large_for_one_transaction_is_finished_at_once() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Telegram, None);
    let names: Vec<String> = (0..30).map(|i| format!("f{i:02}")).collect();
    for name in &names {
        define_field(&store, &channel, name, FieldType::Text, &[]);
    }
    let fields = field_set(&store, &channel);
    let old: Vec<(&str, Option<&str>)> = names.iter().map(|n| (n.as_str(), Some("old"))).collect();
    insert(&store, &channel, &["big".to_string()], &old);
    // 30 values change: 4 index actions each, past DynamoDB's 100 per transaction.
    let new: Vec<(&str, Option<&str>)> = names.iter().map(|n| (n.as_str(), Some("new"))).collect();
    assert!(runtime()
        .block_on(update_fields(
            &store,
            &channel,
            "big",
            &writes(&fields, &new)
        ))
        .unwrap());
    for name in &names {
        assert_eq!(matches(&store, &channel, (name, FieldType::Text, "old")), 0);
        assert_eq!(matches(&store, &channel, (name, FieldType::Text, "new")), 1);
    }
    let contact = runtime()
        .block_on(store.get_contact(&channel, "big"))
        .unwrap()
        .unwrap();
    assert!(contact.fields.values().all(|v| v == "new"));
    assert_consistent(&store, &channel);
}

#[test]
fn a_writer_that_died_half_way_is_finished_by_the_next_write_or_by_repair() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Line, None);
    let ids = ["half".to_string(), "other".to_string()];
    insert(&store, &channel, &ids, &[("lastName", Some("Before"))]);
    let client = raw_client();
    // As a writer that died after its first transaction leaves it: the contact says
    // "After", and moving its index entry and counts is still pending.
    let pending = |id: &str, micros: u32| {
        let sk = keys::index_sk(1_700_000_000, Some(micros), id);
        let old = keys::index_pk(&channel, "lastName", "before");
        let new = keys::index_pk(&channel, "lastName", "after");
        AttributeValue::L(
            [
                format!("-{old}\u{1}{sk}"),
                format!("+{new}\u{1}{sk}"),
                format!("n{old}\u{1}-1"),
                format!("n{new}\u{1}1"),
            ]
            .map(AttributeValue::S)
            .to_vec(),
        )
    };
    for (i, id) in ids.iter().enumerate() {
        runtime()
            .block_on(
                client
                    .update_item()
                    .table_name(store.table())
                    .set_key(Some(item_key(
                        keys::channel_pk(&channel),
                        keys::contact_sk(id),
                    )))
                    .update_expression("SET f.lastName = :after, pending = :pending")
                    .expression_attribute_values(":after", AttributeValue::S("After".into()))
                    .expression_attribute_values(":pending", pending(id, i as u32))
                    .send(),
            )
            .unwrap();
    }
    let report = runtime().block_on(store.check_channel(&channel)).unwrap();
    assert_eq!(
        report.pending,
        vec!["half".to_string(), "other".to_string()]
    );
    // A find never shows a contact that no longer matches, even before it is finished.
    let before = find_page(
        &store,
        &channel,
        ("lastName", FieldType::Text, "Before"),
        1,
        10,
    );
    assert!(before.contacts.is_empty(), "{before:?}");

    // The next write of "half" finishes its pending changes first.
    let fields = field_set(&store, &channel);
    let w = writes(&fields, &[("firstName", Some("Ann"))]);
    assert!(runtime()
        .block_on(update_fields(&store, &channel, "half", &w))
        .unwrap());
    let report = runtime().block_on(store.check_channel(&channel)).unwrap();
    assert_eq!(report.pending, vec!["other".to_string()]);
    // The operator's repair finishes the other.
    let (_, after) = runtime().block_on(store.repair_channel(&channel)).unwrap();
    assert!(after.is_consistent(), "{after:?}");
    assert_eq!(
        matches(&store, &channel, ("lastName", FieldType::Text, "after")),
        2
    );
    assert_eq!(
        matches(&store, &channel, ("lastName", FieldType::Text, "before")),
        0
    );
}

#[test]
fn page_number_walks_are_exact_and_follow_the_matches_as_they_change() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Gmail, None);
    let mut ids: Vec<String> = (0..57).map(|i| format!("w{i:02}")).collect();
    insert(&store, &channel, &ids, &[("lastName", Some("Dar"))]);
    let dar = ("lastName", FieldType::Text, "Dar");
    let page = |n: u64| -> Vec<String> {
        let found = find_page(&store, &channel, dar, n, 10);
        found.contacts.into_iter().map(|c| c.id).collect()
    };
    // A walk while nothing changes: every match once, in creation order.
    let walked: Vec<String> = (1..=6).flat_map(page).collect();
    assert_eq!(walked, ids);
    assert_eq!(page(6), ids[50..].to_vec());
    assert_eq!(page(7), Vec::<String>::new());
    // Page 4 again (its mark from page 3 is good): the same.
    assert_eq!(page(4), ids[30..40].to_vec());

    // The matches change mid-walk: each page is then the offset page of the matches as
    // they are at the time of the call.
    assert_eq!(page(1), ids[..10].to_vec());
    assert_eq!(page(2), ids[10..20].to_vec());
    let fields = field_set(&store, &channel);
    let gone = writes(&fields, &[("lastName", Some("Elsewhere"))]);
    assert!(runtime()
        .block_on(update_fields(&store, &channel, "w05", &gone))
        .unwrap());
    ids.retain(|id| id != "w05");
    let later = vec!["late1".to_string(), "late2".to_string()];
    let tags = BTreeSet::new();
    let w = writes(&fields, &[("lastName", Some("Dar"))]);
    for (i, id) in later.iter().enumerate() {
        let contact = NewContact {
            id,
            created_at: 1_800_000_000,
            created_micros: i as u32,
            writes: &w,
            tags: &tags,
        };
        assert!(runtime()
            .block_on(store.insert_contact(&channel, &contact))
            .unwrap());
    }
    ids.extend(later);
    for n in 3..=7 {
        let start = ((n - 1) * 10) as usize;
        let expected = ids[start.min(ids.len())..(start + 10).min(ids.len())].to_vec();
        assert_eq!(page(n), expected, "page {n}");
    }
    assert_eq!(find_page(&store, &channel, dar, 1, 10).total, 58);
    assert_consistent(&store, &channel);
}

#[test]
fn repair_restores_counts_entries_and_tags_from_the_contacts() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Custom, None);
    let ids: Vec<String> = (0..5).map(|i| format!("r{i}")).collect();
    insert(&store, &channel, &ids, &[("lastName", Some("Dar"))]);
    let client = raw_client();
    let dar_pk = keys::index_pk(&channel, "lastName", &match_key(FieldType::Text, "Dar"));
    // Data kept before counts existed: a value with entries and no count at all.
    runtime().block_on(async {
        for shard in 0..keys::COUNT_SHARDS {
            client
                .delete_item()
                .table_name(store.table())
                .set_key(Some(item_key(dar_pk.clone(), keys::count_shard_sk(shard))))
                .send()
                .await
                .unwrap();
        }
    });
    // Counted from the entries until repaired.
    let dar = ("lastName", FieldType::Text, "Dar");
    assert_eq!(matches(&store, &channel, dar), 5);
    // A tag stored decomposed, before tags were normalised.
    runtime()
        .block_on(
            client
                .update_item()
                .table_name(store.table())
                .set_key(Some(item_key(
                    keys::channel_pk(&channel),
                    keys::contact_sk("r1"),
                )))
                .update_expression("ADD tags :t")
                .expression_attribute_values(
                    ":t",
                    AttributeValue::Ss(vec!["Cafe\u{301}".into(), "Plain".into()]),
                )
                .send(),
        )
        .unwrap();
    let report = runtime().block_on(store.check_channel(&channel)).unwrap();
    assert_eq!(report.miscounted, vec![(dar_pk.clone(), 0, 5)]);
    assert_eq!(report.unnormalized_tags, vec!["r1".to_string()]);
    let (before, after) = runtime().block_on(store.repair_channel(&channel)).unwrap();
    assert!(!before.is_consistent());
    assert!(after.is_consistent(), "{after:?}");
    assert_eq!(matches(&store, &channel, dar), 5);
    let r1 = runtime()
        .block_on(store.get_contact(&channel, "r1"))
        .unwrap()
        .unwrap();
    assert_eq!(
        r1.tags.into_iter().collect::<Vec<_>>(),
        vec!["Caf\u{e9}".to_string(), "Plain".to_string()]
    );
    // Counts kept since: a new contact moves the repaired count.
    insert(
        &store,
        &channel,
        &["r9".to_string()],
        &[("lastName", Some("Dar"))],
    );
    assert_eq!(matches(&store, &channel, dar), 6);
    assert_consistent(&store, &channel);
}
