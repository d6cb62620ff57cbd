//! The DynamoDB store's delete and list, against DynamoDB Local: a delete removes
//! everything kept for a contact, however many fields it has; one that stopped half-way
//! hides the contact and is finished by the next delete or by repair; deletes racing
//! updates and tag changes leave nothing behind; the list pages oldest first, also while
//! contacts are created; contacts kept before the list existed are listed after repair.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use contacts_shared::domain::field_defs::{FieldSet, FieldType};
use contacts_shared::domain::field_writes::FieldWrite;
use contacts_shared::domain::idempotency::IdempotencyRecord;
use contacts_shared::domain::service::update_fields;
use contacts_shared::store::dynamo::keys;
use contacts_shared::store::{ContactStore, Insert, NewContact, TagChange};
use contacts_shared::{clock, ChannelType, DynamoStore};
use contacts_tests::{
    assert_consistent, create_channel, define_field, fresh_store, item_key, matches, raw_client,
    runtime, writes,
};

/// Field writes setting each `(name, value)`.
fn setting(fields: &FieldSet, pairs: &[(&str, &str)]) -> Vec<FieldWrite> {
    let pairs: Vec<(&str, Option<&str>)> = pairs.iter().map(|(n, v)| (*n, Some(*v))).collect();
    writes(fields, &pairs)
}

fn fields(store: &DynamoStore, channel: &str) -> FieldSet {
    runtime().block_on(store.field_set(channel)).unwrap()
}

/// Inserts a contact created `micros` into a fixed past second.
fn insert(store: &DynamoStore, channel: &str, id: &str, micros: u32, w: &[FieldWrite]) {
    insert_at(store, channel, id, (1_700_000_000, micros), w);
}

fn insert_at(store: &DynamoStore, channel: &str, id: &str, at: (i64, u32), w: &[FieldWrite]) {
    let tags = BTreeSet::from(["VIP".to_string()]);
    let contact = NewContact {
        id,
        created_at: at.0,
        created_micros: at.1,
        writes: w,
        tags: &tags,
    };
    assert!(runtime()
        .block_on(store.insert_contact(channel, &contact))
        .unwrap());
}

fn delete(store: &DynamoStore, channel: &str, id: &str) -> bool {
    let fields = fields(store, channel);
    runtime()
        .block_on(store.delete_contact(channel, id, &fields))
        .unwrap()
}

/// Every contact id of the channel, walking its list `per_page` at a time.
fn list_all(store: &DynamoStore, channel: &str, per_page: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = runtime()
            .block_on(store.list(channel, after.as_deref(), per_page))
            .unwrap();
        assert!(page.contacts.len() <= per_page as usize);
        ids.extend(page.contacts.into_iter().map(|c| c.id));
        match page.next {
            Some(next) => after = Some(next),
            None => return ids,
        }
    }
}

/// The channel's items outside its own partition: index entries, counts, list entries,
/// idempotency records.
fn items_of(store: &DynamoStore, channel: &str) -> Vec<(String, String)> {
    let prefix = format!("{}#", keys::channel_pk(channel));
    let mut found = Vec::new();
    let mut start = None;
    loop {
        let page = runtime()
            .block_on(
                raw_client()
                    .scan()
                    .table_name(store.table())
                    .filter_expression("begins_with(PK, :p)")
                    .expression_attribute_values(":p", AttributeValue::S(prefix.clone()))
                    .set_exclusive_start_key(start)
                    .send(),
            )
            .unwrap();
        for item in page.items() {
            let text = |k: &str| item[k].as_s().unwrap().to_string();
            let count = item
                .get("n")
                .and_then(|n| n.as_n().ok())
                .map(|n| n.to_string());
            // A count shard at zero is what a value without matches keeps.
            if count.as_deref() != Some("0") {
                found.push((text(keys::PK), text(keys::SK)));
            }
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return found;
        }
    }
}

#[test]
fn a_delete_removes_everything_kept_for_the_contact_and_nothing_else() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Facebook, None);
    let (other, _) = create_channel(&store, ChannelType::Facebook, None);
    let set = fields(&store, &channel);
    let w = setting(&set, &[("firstName", "Ann"), ("phone", "+1 555 0100")]);
    insert(&store, &other, "same-id", 0, &w);
    // Created by a request with an idempotency key: its record goes too.
    let record = IdempotencyRecord {
        key: "retry-me".into(),
        body_hash: "h".into(),
        contact_id: "same-id".into(),
        expires_at: clock::now() + 86_400,
    };
    let tags = BTreeSet::from(["VIP".to_string()]);
    let contact = NewContact {
        id: "same-id",
        created_at: clock::now(),
        created_micros: 1,
        writes: &w,
        tags: &tags,
    };
    assert_eq!(
        runtime()
            .block_on(store.insert_contact_once(&channel, &contact, &record))
            .unwrap(),
        Insert::Done
    );
    insert(&store, &channel, "stays", 2, &w);
    let before_other = items_of(&store, &other);

    assert!(delete(&store, &channel, "same-id"));
    assert!(runtime()
        .block_on(store.get_contact(&channel, "same-id"))
        .unwrap()
        .is_none());
    assert!(runtime()
        .block_on(store.idempotency_record(&channel, "retry-me"))
        .unwrap()
        .is_none());
    assert_eq!(
        matches(&store, &channel, ("firstName", FieldType::Text, "Ann")),
        1
    );
    assert_eq!(list_all(&store, &channel, 10), vec!["stays".to_string()]);
    // What is left is exactly what "stays" has: an entry per field and its list entry.
    let mut left = items_of(&store, &channel);
    left.retain(|(_, sk)| !sk.starts_with('#'));
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(
        left.iter().all(|(_, sk)| sk.ends_with("#stays")),
        "{left:?}"
    );
    // Gone is gone; the other channel's contact of the same id is untouched.
    assert!(!delete(&store, &channel, "same-id"));
    assert_eq!(items_of(&store, &other), before_other);
    assert!(runtime()
        .block_on(store.get_contact(&other, "same-id"))
        .unwrap()
        .is_some());
    assert_consistent(&store, &channel);
    assert_consistent(&store, &other);
}

#[test]
fn a_contact_with_many_fields_is_deleted_completely() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Telegram, None);
    let names: Vec<String> = (0..70).map(|i| format!("f{i:02}")).collect();
    for name in &names {
        define_field(&store, &channel, name, FieldType::Text, &[]);
    }
    let set = fields(&store, &channel);
    let pairs: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "x")).collect();
    // 70 values: 140 index actions, more than one transaction holds.
    insert(&store, &channel, "wide", 0, &setting(&set, &pairs));
    insert(&store, &channel, "narrow", 1, &setting(&set, &pairs[..1]));
    assert!(delete(&store, &channel, "wide"));
    for name in &names[1..] {
        assert_eq!(matches(&store, &channel, (name, FieldType::Text, "x")), 0);
    }
    assert_eq!(matches(&store, &channel, ("f00", FieldType::Text, "x")), 1);
    assert_eq!(list_all(&store, &channel, 10), vec!["narrow".to_string()]);
    assert_consistent(&store, &channel);
}

#[test]
fn a_delete_that_stopped_half_way_hides_the_contact_until_it_is_finished() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Line, None);
    define_field(&store, &channel, "member", FieldType::Boolean, &[]);
    let set = fields(&store, &channel);
    let w = setting(&set, &[("lastName", "Dar"), ("member", "true")]);
    for (i, id) in ["half", "other", "kept"].iter().enumerate() {
        insert(&store, &channel, id, i as u32, &w);
    }
    // As a delete that died after its first transaction leaves a contact: marked deleted,
    // its lastName entry and count gone, the rest pending.
    let client = raw_client();
    for id in ["half", "other"] {
        let contact = runtime()
            .block_on(store.get_contact(&channel, id))
            .unwrap()
            .unwrap();
        let sk = keys::index_sk(contact.created_at, contact.created_micros, id);
        let member = keys::index_pk(&channel, "member", "TRUE");
        let dar = keys::index_pk(&channel, "lastName", "dar");
        let pending = [
            format!("-{member}\u{1}{sk}"),
            format!("-{}\u{1}{sk}", keys::list_pk(&channel)),
            format!("n{member}\u{1}-1"),
        ]
        .map(AttributeValue::S)
        .to_vec();
        runtime()
            .block_on(
                client
                    .transact_write_items()
                    .transact_items(
                        aws_sdk_dynamodb::types::TransactWriteItem::builder()
                            .update(
                                aws_sdk_dynamodb::types::Update::builder()
                                    .table_name(store.table())
                                    .set_key(Some(item_key(
                                        keys::channel_pk(&channel),
                                        keys::contact_sk(id),
                                    )))
                                    .update_expression("SET deleted = :t, pending = :p")
                                    .expression_attribute_values(":t", AttributeValue::Bool(true))
                                    .expression_attribute_values(":p", AttributeValue::L(pending))
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .transact_items(
                        aws_sdk_dynamodb::types::TransactWriteItem::builder()
                            .delete(
                                aws_sdk_dynamodb::types::Delete::builder()
                                    .table_name(store.table())
                                    .set_key(Some(item_key(dar.clone(), sk.clone())))
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .transact_items(
                        aws_sdk_dynamodb::types::TransactWriteItem::builder()
                            .update(
                                aws_sdk_dynamodb::types::Update::builder()
                                    .table_name(store.table())
                                    .set_key(Some(item_key(dar, keys::count_shard_sk(0))))
                                    .update_expression("ADD n :m, changes :one")
                                    .expression_attribute_values(
                                        ":m",
                                        AttributeValue::N("-1".into()),
                                    )
                                    .expression_attribute_values(
                                        ":one",
                                        AttributeValue::N("1".into()),
                                    )
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .send(),
            )
            .unwrap();
    }
    // Nothing a client can reach shows them.
    for id in ["half", "other"] {
        assert!(runtime()
            .block_on(store.get_contact(&channel, id))
            .unwrap()
            .is_none());
        assert!(!runtime()
            .block_on(store.change_tags(
                &channel,
                id,
                TagChange::Add,
                &BTreeSet::from(["x".to_string()])
            ))
            .unwrap());
        let w = setting(&set, &[("firstName", "Back")]);
        assert!(!runtime()
            .block_on(update_fields(&store, &channel, id, &w))
            .unwrap());
    }
    let page = runtime().block_on(store.list(&channel, None, 10)).unwrap();
    assert_eq!(
        page.contacts
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        vec!["kept"]
    );
    let report = runtime().block_on(store.check_channel(&channel)).unwrap();
    assert_eq!(
        report.pending,
        vec!["half".to_string(), "other".to_string()]
    );
    // Deleting it again finishes it (and answers that there is no such contact)...
    assert!(!delete(&store, &channel, "half"));
    let report = runtime().block_on(store.check_channel(&channel)).unwrap();
    assert_eq!(report.pending, vec!["other".to_string()]);
    // ...and the operator's repair finishes the other.
    let (_, after) = runtime().block_on(store.repair_channel(&channel)).unwrap();
    assert!(after.is_consistent(), "{after:?}");
    assert_eq!(after.contacts, 1);
    assert_eq!(
        matches(&store, &channel, ("member", FieldType::Boolean, "TRUE")),
        1
    );
    assert_eq!(
        matches(&store, &channel, ("lastName", FieldType::Text, "dar")),
        1
    );
}

#[test]
fn deletes_racing_updates_and_tag_changes_leave_nothing_behind() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Webchat, None);
    let set = fields(&store, &channel);
    let first = setting(&set, &[("firstName", "Ann"), ("lastName", "Lee")]);
    let moved = setting(&set, &[("firstName", "Bea"), ("email", "bea@example.com")]);
    let tags = BTreeSet::from(["racing".to_string()]);
    for round in 0..12u32 {
        let id = format!("r{round:02}");
        insert(&store, &channel, &id, round, &first);
        let (deleted, updated, tagged) = runtime().block_on(async {
            let delete = async { store.delete_contact(&channel, &id, &set).await.unwrap() };
            let update = async { update_fields(&store, &channel, &id, &moved).await.unwrap() };
            let tag = async {
                store
                    .change_tags(&channel, &id, TagChange::Add, &tags)
                    .await
                    .unwrap()
            };
            tokio::join!(delete, update, tag)
        });
        assert!(
            deleted,
            "round {round}: the delete always finds the contact"
        );
        let _ = (updated, tagged);
        assert!(
            runtime()
                .block_on(store.get_contact(&channel, &id))
                .unwrap()
                .is_none(),
            "round {round}: no resurrected contact"
        );
    }
    assert!(list_all(&store, &channel, 5).is_empty());
    for (field, value) in [
        ("firstName", "ann"),
        ("firstName", "bea"),
        ("lastName", "lee"),
    ] {
        assert_eq!(
            matches(&store, &channel, (field, FieldType::Text, value)),
            0
        );
    }
    assert_consistent(&store, &channel);
}

#[test]
fn the_list_pages_oldest_first_also_while_contacts_are_created() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Custom, None);
    let set = fields(&store, &channel);
    let w = setting(&set, &[("firstName", "Ann")]);
    // Ids in reverse of creation order: the list follows creation, not ids.
    let first: Vec<String> = (0..25).rev().map(|i| format!("c{i:02}")).collect();
    for (i, id) in first.iter().enumerate() {
        insert(&store, &channel, id, i as u32, &w);
    }
    assert_eq!(list_all(&store, &channel, 7), first);
    assert_eq!(list_all(&store, &channel, 100), first);

    // A walk while others create: every contact of the start once, in order, and what
    // was created meanwhile after them.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut n = 0;
    loop {
        let page = runtime()
            .block_on(store.list(&channel, after.as_deref(), 4))
            .unwrap();
        seen.extend(page.contacts.into_iter().map(|c| c.id));
        if n < 6 {
            insert_at(
                &store,
                &channel,
                &format!("new{n}"),
                clock::now_micros(),
                &w,
            );
            n += 1;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(&seen[..first.len()], &first[..]);
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no contact twice");
    assert!(seen[first.len()..].iter().all(|id| id.starts_with("new")));
    assert_consistent(&store, &channel);
}

#[test]
fn contacts_kept_before_the_list_existed_are_listed_after_repair() {
    let store = fresh_store();
    let (channel, _) = create_channel(&store, ChannelType::Facebook, None);
    let set = fields(&store, &channel);
    let w = setting(&set, &[("firstName", "Old")]);
    insert(&store, &channel, "old", 0, &w);
    let contact = runtime()
        .block_on(store.get_contact(&channel, "old"))
        .unwrap()
        .unwrap();
    runtime()
        .block_on(
            raw_client()
                .delete_item()
                .table_name(store.table())
                .set_key(Some(item_key(
                    keys::list_pk(&channel),
                    keys::index_sk(contact.created_at, contact.created_micros, "old"),
                )))
                .send(),
        )
        .unwrap();
    let report = runtime().block_on(store.check_channel(&channel)).unwrap();
    assert_eq!(
        report.missing_entries,
        vec![("old".to_string(), "#list".to_string())]
    );
    assert!(list_all(&store, &channel, 10).is_empty());
    let (_, after) = runtime().block_on(store.repair_channel(&channel)).unwrap();
    assert!(after.is_consistent(), "{after:?}");
    assert_eq!(list_all(&store, &channel, 10), vec!["old".to_string()]);
}
