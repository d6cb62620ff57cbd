//! The in-memory store's own semantics, as the DynamoDB store's tests check them there.

use super::*;
use crate::domain::field_defs::FieldType;
use crate::domain::field_writes::{resolve_writes, FieldWrite};
use crate::testing::{raw, tags};

fn writes(fields: &FieldSet, pairs: &[(&str, Option<&str>)]) -> Vec<FieldWrite> {
    resolve_writes(fields, &raw(pairs)).expect("valid writes")
}

fn new_contact<'a>(
    id: &'a str,
    created_at: i64,
    writes: &'a [FieldWrite],
    tags: &'a BTreeSet<String>,
) -> NewContact<'a> {
    NewContact {
        id,
        created_at,
        created_micros: 0,
        writes,
        tags,
    }
}

/// A find's total and page, the page as `offset` and `limit` say (by page number).
async fn page(
    store: &MemoryStore,
    channel: &str,
    field: &str,
    key: &str,
    offset: u64,
    limit: u32,
) -> (u64, Vec<Contact>) {
    let matching = Match {
        field,
        field_type: FieldType::Text,
        key,
    };
    let spec = PageSpec {
        page: offset
            .checked_div(u64::from(limit))
            .unwrap_or(0)
            .saturating_add(1),
        per_page: limit,
        after: None,
    };
    let found = store.find(channel, &matching, &spec).await.unwrap();
    (found.total, found.contacts)
}

fn record(key: &str, contact_id: &str, expires_at: i64) -> IdempotencyRecord {
    IdempotencyRecord {
        key: key.into(),
        body_hash: "h".into(),
        contact_id: contact_id.into(),
        expires_at,
    }
}

#[tokio::test]
async fn inserts_are_conditional_and_all_or_nothing() {
    let store = MemoryStore::new();
    let fields = FieldSet::default();
    let w = writes(&fields, &[("firstName", Some("Ann"))]);
    let none = BTreeSet::new();
    let later = clock::now() + 100;

    assert!(store
        .insert_contact("c", &new_contact("a", 1, &w, &none))
        .await
        .unwrap());
    assert!(
        !store
            .insert_contact("c", &new_contact("a", 2, &[], &none))
            .await
            .unwrap(),
        "an id is never reused"
    );
    assert_eq!(
        store
            .get_contact("c", "a")
            .await
            .unwrap()
            .unwrap()
            .created_at,
        1,
        "the refused insert changed nothing"
    );

    // With a record: the id taken → IdTaken, and the record is not written either.
    let outcome = store
        .insert_contact_once(
            "c",
            &new_contact("a", 3, &w, &none),
            &record("k", "a", later),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Insert::IdTaken);
    assert_eq!(store.idempotency_record("c", "k").await.unwrap(), None);

    // A free id and key: both written.
    let outcome = store
        .insert_contact_once(
            "c",
            &new_contact("b", 4, &w, &none),
            &record("k", "b", later),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Insert::Done);
    assert_eq!(
        store.idempotency_record("c", "k").await.unwrap(),
        Some(record("k", "b", later))
    );

    // The key live: KeyTaken, and neither the contact nor its index entry is written.
    let outcome = store
        .insert_contact_once(
            "c",
            &new_contact("z", 5, &w, &none),
            &record("k", "z", later),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Insert::KeyTaken);
    assert!(store.get_contact("c", "z").await.unwrap().is_none());
    assert_eq!(store.contact_count("c"), 2);
    assert_eq!(page(&store, "c", "firstName", "ann", 0, 10).await.0, 2);

    // Both taken: the key wins, as on DynamoDB.
    let outcome = store
        .insert_contact_once(
            "c",
            &new_contact("a", 6, &w, &none),
            &record("k", "a", later),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Insert::KeyTaken);

    // The same key in another channel is another key.
    let outcome = store
        .insert_contact_once(
            "d",
            &new_contact("a", 7, &w, &none),
            &record("k", "a", later),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Insert::Done);
}

#[tokio::test]
async fn an_expired_idempotency_record_counts_as_absent() {
    let store = MemoryStore::new();
    let none = BTreeSet::new();
    let now = clock::now();
    let first = record("k", "a", now - 1);
    assert_eq!(
        store
            .insert_contact_once("c", &new_contact("a", 1, &[], &none), &first)
            .await
            .unwrap(),
        Insert::Done
    );
    let second = record("k", "b", now + 100);
    assert_eq!(
        store
            .insert_contact_once("c", &new_contact("b", 2, &[], &none), &second)
            .await
            .unwrap(),
        Insert::Done
    );
    assert_eq!(
        store.idempotency_record("c", "k").await.unwrap(),
        Some(second),
        "the new record replaces the expired one"
    );
}

#[tokio::test]
async fn updates_are_conditional_on_the_version_and_move_the_index() {
    let store = MemoryStore::new();
    let fields = FieldSet::default();
    let none = BTreeSet::new();
    let w = writes(
        &fields,
        &[("firstName", Some("Ann")), ("phone", Some("+1 555 0101"))],
    );
    assert!(store
        .insert_contact("c", &new_contact("a", 1, &w, &none))
        .await
        .unwrap());
    let read = store.get_versioned("c", "a").await.unwrap().unwrap();
    assert_eq!(read.version, 1);

    let change = |name, field_type, old, new| FieldChange {
        name,
        field_type,
        unique: false,
        old,
        new,
    };
    let rename = [
        change("firstName", FieldType::Text, Some("Ann"), Some("Bob")),
        change("phone", FieldType::Phone, Some("+1 555 0101"), None),
    ];
    assert!(store.update_if_version("c", &read, &rename).await.unwrap());
    let after = store.get_versioned("c", "a").await.unwrap().unwrap();
    assert_eq!(after.version, 2);
    assert_eq!(after.contact.fields.get("firstName").unwrap(), "Bob");
    assert!(!after.contact.fields.contains_key("phone"));
    assert_eq!(
        store.index_entries("c"),
        vec![("firstName".into(), "bob".into(), "a".into())]
    );

    // A write made from the stale read is refused and writes nothing.
    let stale = [change(
        "firstName",
        FieldType::Text,
        Some("Ann"),
        Some("Cy"),
    )];
    assert!(!store.update_if_version("c", &read, &stale).await.unwrap());
    assert_eq!(store.get_versioned("c", "a").await.unwrap().unwrap(), after);

    // A case-only change keeps the index entry; the version still moves on.
    let recase = [change(
        "firstName",
        FieldType::Text,
        Some("Bob"),
        Some("BOB"),
    )];
    assert!(store.update_if_version("c", &after, &recase).await.unwrap());
    assert_eq!(
        store.index_entries("c"),
        vec![("firstName".into(), "bob".into(), "a".into())]
    );
    assert_eq!(
        store
            .get_versioned("c", "a")
            .await
            .unwrap()
            .unwrap()
            .version,
        3
    );

    // A contact that is gone (or never was) is not written.
    let ghost = Versioned {
        contact: Contact {
            id: "nobody".into(),
            ..after.contact.clone()
        },
        version: 1,
    };
    assert!(!store.update_if_version("c", &ghost, &recase).await.unwrap());
    assert!(!store.update_if_version("x", &ghost, &recase).await.unwrap());
    assert!(store.get_contact("c", "nobody").await.unwrap().is_none());
}

#[tokio::test]
async fn tags_are_a_set_and_leave_the_version_alone() {
    let store = MemoryStore::new();
    let none = BTreeSet::new();
    assert!(store
        .insert_contact("c", &new_contact("a", 1, &[], &none))
        .await
        .unwrap());
    assert!(store
        .change_tags("c", "a", TagChange::Add, &tags(&["b", "a"]))
        .await
        .unwrap());
    assert!(store
        .change_tags("c", "a", TagChange::Add, &tags(&["a", "c"]))
        .await
        .unwrap());
    assert!(store
        .change_tags("c", "a", TagChange::Remove, &tags(&["b", "zz"]))
        .await
        .unwrap());
    let read = store.get_versioned("c", "a").await.unwrap().unwrap();
    assert_eq!(read.contact.tags, tags(&["a", "c"]));
    assert_eq!(read.version, 1);
    for change in [TagChange::Add, TagChange::Remove] {
        assert!(!store
            .change_tags("c", "nobody", change, &tags(&["x"]))
            .await
            .unwrap());
    }
    assert!(store.get_contact("c", "nobody").await.unwrap().is_none());
}

#[tokio::test]
async fn a_contact_past_400_kb_is_refused_and_unchanged() {
    let store = MemoryStore::new();
    let none = BTreeSet::new();
    assert!(store
        .insert_contact("c", &new_contact("a", 1, &[], &none))
        .await
        .unwrap());
    let mut refused = None;
    for round in 0..200 {
        let batch: BTreeSet<String> = (0..10)
            .map(|i| format!("{round:04}-{i:02}-{}", "t".repeat(247)))
            .collect();
        match store.change_tags("c", "a", TagChange::Add, &batch).await {
            Ok(found) => assert!(found),
            Err(err) => {
                refused = Some((round, err));
                break;
            }
        }
    }
    let (round, err) = refused.expect("refused before 200 rounds");
    assert_eq!(err, StoreError::TooLarge);
    // 10 tags of 255 bytes a round: about 160 rounds fit in 400 KB.
    assert!((150..=165).contains(&round), "refused at round {round}");
    let read = store.get_versioned("c", "a").await.unwrap().unwrap();
    assert_eq!(
        read.contact.tags.len(),
        round * 10,
        "the refused batch wrote nothing"
    );

    let value = "v".repeat(1000);
    let changes: Vec<(String, String)> = (0..30)
        .map(|i| (format!("big{i}"), value.clone()))
        .collect();
    let changes: Vec<FieldChange> = changes
        .iter()
        .map(|(name, value)| FieldChange {
            name,
            field_type: FieldType::Text,
            unique: false,
            old: None,
            new: Some(value),
        })
        .collect();
    assert_eq!(
        store.update_if_version("c", &read, &changes).await,
        Err(StoreError::TooLarge)
    );
    assert_eq!(store.get_versioned("c", "a").await.unwrap().unwrap(), read);
    assert!(store.index_entries("c").is_empty());
}

#[tokio::test]
async fn find_pages_oldest_first_then_by_id_within_its_channel() {
    let store = MemoryStore::new();
    let fields = FieldSet::default();
    let none = BTreeSet::new();
    let w = writes(&fields, &[("lastName", Some("Dar"))]);
    for (id, at) in [("a", 50), ("e", 10), ("c", 30), ("b", 30), ("d", 20)] {
        assert!(store
            .insert_contact("c", &new_contact(id, at, &w, &none))
            .await
            .unwrap());
    }
    assert!(store
        .insert_contact("other", &new_contact("x", 1, &w, &none))
        .await
        .unwrap());
    let ids = |found: (u64, Vec<Contact>)| {
        (
            found.0,
            found.1.into_iter().map(|c| c.id).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        ids(page(&store, "c", "lastName", "dar", 0, 10).await),
        (
            5,
            vec!["e", "d", "b", "c", "a"]
                .into_iter()
                .map(String::from)
                .collect()
        )
    );
    assert_eq!(
        ids(page(&store, "c", "lastName", "dar", 2, 2).await),
        (5, vec!["b".to_string(), "c".to_string()])
    );
    assert_eq!(
        ids(page(&store, "c", "lastName", "dar", 4, 2).await),
        (5, vec!["a".to_string()])
    );
    assert_eq!(
        ids(page(&store, "c", "lastName", "dar", 10, 2).await),
        (5, vec![])
    );
    assert_eq!(
        ids(page(&store, "other", "lastName", "dar", 0, 10).await),
        (1, vec!["x".to_string()])
    );
    assert_eq!(
        ids(page(&store, "c", "lastName", "Dar", 0, 10).await),
        (0, vec![]),
        "the store compares match keys, which the caller makes"
    );
    assert!(store.get_contact("other", "a").await.unwrap().is_none());
}

#[tokio::test]
async fn field_definitions_follow_the_operator_rules() {
    let store = MemoryStore::new();
    let list = |values: &[&str]| {
        FieldDef::checked(
            FieldType::List,
            values.iter().map(|v| v.to_string()).collect(),
        )
        .unwrap()
    };
    assert_eq!(
        store.define_field("c", "tier", list(&["Gold"])),
        Err(StoreError::Rejected("no channel 'c'".into()))
    );
    assert!(matches!(
        store.add_channel("bad#id"),
        Err(StoreError::Rejected(_))
    ));
    store.add_channel("c").unwrap();
    assert_eq!(
        store.add_channel("c"),
        Err(StoreError::Rejected("channel 'c' already exists".into()))
    );
    assert_eq!(
        store.field_set("c").await.unwrap(),
        FieldSet::default(),
        "built-ins only"
    );
    store
        .define_field("c", "tier", list(&["Gold", "Silver"]))
        .unwrap();
    store
        .define_field("c", "tier", list(&["Gold", "Silver", "Bronze"]))
        .unwrap();
    assert_eq!(
        store.define_field("c", "tier", FieldDef::new(FieldType::Number)),
        Err(StoreError::Rejected(
            "field 'tier' is already defined as list; its type cannot change".into()
        ))
    );
    assert!(matches!(
        store.define_field("c", "phone", FieldDef::new(FieldType::Text)),
        Err(StoreError::Rejected(_))
    ));
    assert!(matches!(
        store.define_field("c", "has space", FieldDef::new(FieldType::Text)),
        Err(StoreError::Rejected(_))
    ));
    let fields = store.field_set("c").await.unwrap();
    assert_eq!(
        fields.get("tier").unwrap().values,
        vec!["Gold", "Silver", "Bronze"]
    );
    assert_eq!(fields.get("phone").unwrap().field_type, FieldType::Phone);
    // A channel that does not exist (or no longer does) is refused to the API.
    assert_eq!(store.field_set("other").await, Err(StoreError::ChannelGone));
}

#[tokio::test]
async fn odd_input_is_answered_not_panicked_on() {
    let store = MemoryStore::new();
    let none = BTreeSet::new();
    assert!(store
        .insert_contact("", &new_contact("", i64::MIN, &[], &none))
        .await
        .unwrap());
    assert!(store
        .insert_contact("c", &new_contact("a", i64::MAX, &[], &none))
        .await
        .unwrap());
    assert_eq!(
        page(&store, "c", "", "", u64::MAX, u32::MAX).await,
        (0, vec![])
    );
    assert_eq!(page(&store, "nowhere", "f", "k", 0, 0).await, (0, vec![]));
    assert!(store
        .change_tags("c", "a", TagChange::Add, &BTreeSet::new())
        .await
        .unwrap());
    let read = store.get_versioned("c", "a").await.unwrap().unwrap();
    assert!(store.update_if_version("c", &read, &[]).await.unwrap());
    assert_eq!(store.get_versioned("c", "a").await.unwrap().unwrap(), read);
    assert!(store.idempotency_record("", "").await.unwrap().is_none());
    assert_eq!(store.contact_count("nowhere"), 0);
}

#[test]
fn a_poisoned_lock_does_not_take_the_store_down() {
    let store = MemoryStore::new();
    let clone = store.clone();
    let _ = std::thread::spawn(move || {
        let _guard = clone.lock();
        panic!("a panic while holding the lock");
    })
    .join();
    store.add_channel("c").unwrap();
    assert_eq!(store.contact_count("c"), 0);
}
