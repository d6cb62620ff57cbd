//! The service on the in-memory store, with faults injected where a branch needs one
//! ([`Rigged`]): idempotency, id retries, phone-number ids, the field cache, the update's
//! optimistic loop, tags, find, and the contract's refusals.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::*;
use crate::domain::channel::ChannelType;
use crate::domain::field_defs::{FieldDef, FieldType};
use crate::domain::field_writes::resolve_writes;
use crate::store::{MemoryStore, StoreError};
use crate::testing::{self, expected_index, raw, rival_field, tags, Rigged};

const CH: &str = "ch";

fn list(values: &[&str]) -> FieldDef {
    FieldDef::checked(
        FieldType::List,
        values.iter().map(|v| v.to_string()).collect(),
    )
    .expect("a list definition")
}

/// A service on a rigged memory store with channel `ch` of type `kind`, which has the
/// custom fields `tier` (Gold, Silver, Bronze), `vip` (boolean) and `score` (number).
fn rigged(kind: ChannelType) -> (ContactService<Rigged>, Channel) {
    let store = MemoryStore::new();
    let channel = testing::channel(&store, CH, kind);
    store
        .define_field(CH, "tier", list(&["Gold", "Silver", "Bronze"]))
        .unwrap();
    store
        .define_field(CH, "vip", FieldDef::new(FieldType::Boolean))
        .unwrap();
    store
        .define_field(CH, "score", FieldDef::new(FieldType::Number))
        .unwrap();
    (ContactService::new(Rigged::new(store)), channel)
}

fn memory(app: &ContactService<Rigged>) -> &MemoryStore {
    &app.store().inner
}

fn count(counter: &std::sync::atomic::AtomicU32) -> u32 {
    Rigged::count(counter)
}

fn inserted(app: &ContactService<Rigged>) -> Vec<String> {
    app.store().inserted_ids.lock().unwrap().clone()
}

fn keyed(key: &str, body: &str) -> IdempotentRequest {
    IdempotentRequest::new(key, body.as_bytes()).expect("a valid key")
}

async fn version(app: &ContactService<Rigged>, id: &str) -> i64 {
    memory(app)
        .get_versioned(CH, id)
        .await
        .unwrap()
        .expect("the contact")
        .version
}

/// The channel's index is exactly what its contacts' fields call for.
async fn assert_index_consistent(store: &MemoryStore, ids: &[&str]) {
    let fields = store.field_set(CH).await.unwrap();
    let mut contacts = Vec::new();
    for id in ids {
        contacts.push(store.get_contact(CH, id).await.unwrap().expect("contact"));
    }
    assert_eq!(store.index_entries(CH), expected_index(&contacts, &fields));
}

fn invalid(message: &str) -> ApiError {
    ApiError::invalid(message)
}

// ---- create -------------------------------------------------------------------------

#[tokio::test]
async fn create_stores_the_contact_with_canonical_values_and_its_index() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let id = app
        .create(
            &channel,
            &raw(&[
                ("firstName", Some("  Ann ")),
                ("score", Some("05.50")),
                ("tier", Some("gold")),
                ("lastName", None),
            ]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(id.len(), 26, "a random id: {id}");
    let contact = app.get(&channel, &id).await.unwrap();
    let expected: BTreeMap<String, String> =
        [("firstName", "Ann"), ("score", "5.5"), ("tier", "Gold")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    assert_eq!(contact.fields, expected);
    assert!(contact.tags.is_empty());
    assert!((clock::now() - contact.created_at).abs() <= 5);
    assert_eq!(version(&app, &id).await, 1);
    assert_index_consistent(memory(&app), &[&id]).await;
    assert_eq!(
        app.create(&channel, &raw(&[("nope", Some("x"))]), None)
            .await,
        Err(invalid("Custom field 'nope' does not exist."))
    );
    assert_eq!(memory(&app).contact_count(CH), 1);
}

#[tokio::test]
async fn a_repeat_with_the_same_key_and_body_returns_the_first_id_and_creates_nothing() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let request = keyed("order-1042", r#"{"custom_fields":[...]}"#);
    let fields = raw(&[("firstName", Some("Ann"))]);
    let first = app.create(&channel, &fields, Some(&request)).await.unwrap();
    let again = app.create(&channel, &fields, Some(&request)).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(memory(&app).contact_count(CH), 1);
    assert_eq!(
        inserted(&app),
        vec![first.clone()],
        "the repeat inserts nothing"
    );
    let record = memory(&app)
        .idempotency_record(CH, "order-1042")
        .await
        .unwrap()
        .expect("the record");
    assert_eq!(record.contact_id, first);
    assert_eq!(record.body_hash, request.body_hash);
    // 24 hours from the create (a second may have passed since).
    let left = record.expires_at - clock::now();
    assert!(
        (idempotency::WINDOW_SECONDS - 2..=idempotency::WINDOW_SECONDS).contains(&left),
        "{left}"
    );
    // The same key on another channel is another key.
    memory(&app).add_channel("other").unwrap();
    let other = Channel {
        id: "other".into(),
        kind: ChannelType::Facebook,
    };
    let elsewhere = app.create(&other, &fields, Some(&request)).await.unwrap();
    assert_ne!(elsewhere, first);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_and_creates_nothing() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let fields = raw(&[("firstName", Some("Ann"))]);
    app.create(&channel, &fields, Some(&keyed("k-1", "{\"a\":1}")))
        .await
        .unwrap();
    let refused = app
        .create(&channel, &fields, Some(&keyed("k-1", "{\"a\": 1}")))
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.message(),
        "Idempotency-Key 'k-1' was already used with a different request body."
    );
    assert_eq!(memory(&app).contact_count(CH), 1);
    assert_eq!(inserted(&app).len(), 1);
}

#[tokio::test]
async fn a_refused_request_records_nothing_so_its_key_can_be_used_again() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let bad = app
        .create(
            &channel,
            &raw(&[("score", Some("lots"))]),
            Some(&keyed("k", "bad")),
        )
        .await;
    assert_eq!(
        bad,
        Err(invalid(
            "Invalid value for custom field 'score': expected a number, such as 42 or -5.5."
        ))
    );
    assert_eq!(
        memory(&app).idempotency_record(CH, "k").await.unwrap(),
        None
    );
    let id = app
        .create(
            &channel,
            &raw(&[("score", Some("7"))]),
            Some(&keyed("k", "good")),
        )
        .await
        .unwrap();
    assert_eq!(memory(&app).contact_count(CH), 1);
    assert_eq!(app.get(&channel, &id).await.unwrap().fields["score"], "7");
}

#[tokio::test]
async fn a_key_taken_by_a_concurrent_request_gets_the_first_answer() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let fields = raw(&[("firstName", Some("Ann"))]);
    let request = keyed("race", "body");
    *app.store().twin.lock().unwrap() = Some((request.body_hash.clone(), "twin-id".into()));
    let id = app.create(&channel, &fields, Some(&request)).await.unwrap();
    assert_eq!(id, "twin-id", "the first request's answer");
    assert_eq!(
        memory(&app).contact_count(CH),
        1,
        "only the first request's contact"
    );
    assert_eq!(inserted(&app).len(), 1, "no retry with another id");

    // The concurrent request had another body: this one is refused, as a repeat would be.
    let other = keyed("race-2", "other body");
    *app.store().twin.lock().unwrap() =
        Some((keyed("race-2", "first body").body_hash, "t2".into()));
    assert_eq!(
        app.create(&channel, &fields, Some(&other)).await,
        Err(invalid(
            "Idempotency-Key 'race-2' was already used with a different request body."
        ))
    );
    assert_eq!(memory(&app).contact_count(CH), 2);
}

#[tokio::test]
async fn an_expired_key_is_used_afresh() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let request = keyed("old", "body");
    let stale = IdempotencyRecord {
        key: "old".into(),
        body_hash: request.body_hash.clone(),
        contact_id: "long-gone".into(),
        expires_at: clock::now() - 1,
    };
    let none = BTreeSet::new();
    let gone = NewContact {
        id: "long-gone",
        created_at: 1,
        created_micros: 0,
        writes: &[],
        tags: &none,
    };
    assert_eq!(
        memory(&app)
            .insert_contact_once(CH, &gone, &stale)
            .await
            .unwrap(),
        Insert::Done
    );
    let id = app
        .create(
            &channel,
            &raw(&[("firstName", Some("Ann"))]),
            Some(&request),
        )
        .await
        .unwrap();
    assert_ne!(id, "long-gone");
    assert_eq!(memory(&app).contact_count(CH), 2);
    let record = memory(&app)
        .idempotency_record(CH, "old")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.contact_id, id);
}

#[tokio::test]
async fn a_taken_random_id_is_retried_with_a_new_one() {
    for key in [None, Some(keyed("k", "b"))] {
        let (app, channel) = rigged(ChannelType::Facebook);
        app.store().ids_taken.store(1, Ordering::SeqCst);
        let id = app
            .create(&channel, &raw(&[("firstName", Some("Ann"))]), key.as_ref())
            .await
            .unwrap();
        let tried = inserted(&app);
        assert_eq!(tried.len(), 2, "{key:?}");
        assert_ne!(tried[0], tried[1], "a new id: {key:?}");
        assert_eq!(id, tried[1]);
        assert_eq!(memory(&app).contact_count(CH), 1);
        assert!(app.get(&channel, &id).await.is_ok());
        if key.is_some() {
            let record = memory(&app)
                .idempotency_record(CH, "k")
                .await
                .unwrap()
                .unwrap();
            assert_eq!(record.contact_id, id);
        }
    }
}

#[tokio::test]
async fn ids_taken_every_time_end_in_an_internal_error() {
    let (app, channel) = rigged(ChannelType::Facebook);
    app.store()
        .ids_taken
        .store(MAX_ID_ATTEMPTS - 1, Ordering::SeqCst);
    assert!(app
        .create(&channel, &raw(&[("firstName", Some("A"))]), None)
        .await
        .is_ok());
    assert_eq!(inserted(&app).len() as u32, MAX_ID_ATTEMPTS);

    let (app, channel) = rigged(ChannelType::Facebook);
    app.store()
        .ids_taken
        .store(MAX_ID_ATTEMPTS, Ordering::SeqCst);
    let err = app
        .create(&channel, &raw(&[("firstName", Some("A"))]), None)
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.message()),
        (500, "Internal server error.")
    );
    assert_eq!(inserted(&app).len() as u32, MAX_ID_ATTEMPTS);
    assert_eq!(memory(&app).contact_count(CH), 0);
}

#[tokio::test]
async fn phone_channels_take_the_id_from_the_phone_and_never_reuse_it() {
    for (kind, article) in [(ChannelType::Whatsapp, "a"), (ChannelType::Sms, "an")] {
        let (app, channel) = rigged(kind);
        let id = app
            .create(
                &channel,
                &raw(&[
                    ("firstName", Some("Thandi")),
                    ("phone", Some("+27 82 499 1602")),
                ]),
                None,
            )
            .await
            .unwrap();
        assert_eq!(id, "27824991602", "{kind}");
        let taken = app
            .create(
                &channel,
                &raw(&[
                    ("firstName", Some("Other")),
                    ("phone", Some("27-82-499-1602")),
                ]),
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(
            (taken.status(), taken.message()),
            (403, "Contact '27824991602' already exists.")
        );
        assert_eq!(inserted(&app).len(), 2, "no retry of a phone id: {kind}");
        assert_eq!(memory(&app).contact_count(CH), 1);
        assert_eq!(
            app.get(&channel, &id).await.unwrap().fields["firstName"],
            "Thandi",
            "the first contact is untouched"
        );
        let needs = format!("A contact on {article} {kind} channel needs a phone.");
        for fields in [
            raw(&[("firstName", Some("No phone"))]),
            raw(&[("firstName", Some("Cleared")), ("phone", None)]),
        ] {
            assert_eq!(
                app.create(&channel, &fields, None).await,
                Err(invalid(&needs))
            );
        }
        assert_eq!(memory(&app).contact_count(CH), 1);
        assert_eq!(inserted(&app).len(), 2, "refused before any write");
    }
}

#[tokio::test]
async fn a_phone_id_create_repeated_with_its_key_gets_the_first_answer() {
    let (app, channel) = rigged(ChannelType::Whatsapp);
    let fields = raw(&[("phone", Some("+27 82 499 1602"))]);
    let request = keyed("wa-1", "body");
    let first = app.create(&channel, &fields, Some(&request)).await.unwrap();
    assert_eq!(
        app.create(&channel, &fields, Some(&request)).await,
        Ok(first.clone())
    );
    // A concurrent request with the key made the very same id: both conditions fail, and
    // the key's answer wins over "already exists".
    let racing = keyed("wa-2", "body");
    let fields = raw(&[("phone", Some("+27 82 000 0002"))]);
    *app.store().twin.lock().unwrap() = Some((racing.body_hash.clone(), "27820000002".into()));
    assert_eq!(
        app.create(&channel, &fields, Some(&racing)).await,
        Ok("27820000002".to_string())
    );
    // Another key, or none, for a phone that has a contact: already exists.
    for key in [Some(keyed("wa-3", "body")), None] {
        assert_eq!(
            app.create(&channel, &fields, key.as_ref()).await,
            Err(invalid("Contact '27820000002' already exists."))
        );
    }
    assert_eq!(memory(&app).contact_count(CH), 2);
    assert_eq!(
        memory(&app).idempotency_record(CH, "wa-3").await.unwrap(),
        None
    );
}

// ---- the field cache ----------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_new_field_is_usable_at_once_and_changed_values_arrive_after_the_ttl() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let calls = || count(&app.store().field_set_calls);
    let id = app
        .create(&channel, &raw(&[("tier", Some("Gold"))]), None)
        .await
        .unwrap();
    app.update(&channel, &id, &raw(&[("tier", Some("Silver"))]))
        .await
        .unwrap();
    assert_eq!(calls(), 1, "known names are served from the cache");

    // A name the cache does not know is looked up again: a new field works at once.
    memory(&app)
        .define_field(CH, "nickname", FieldDef::new(FieldType::Text))
        .unwrap();
    app.update(&channel, &id, &raw(&[("nickname", Some("Bo"))]))
        .await
        .unwrap();
    assert_eq!(calls(), 2);
    // An undefined name is looked up every time, and refused.
    for expected_calls in [3, 4] {
        assert_eq!(
            app.update(&channel, &id, &raw(&[("nope", Some("x"))]))
                .await,
            Err(invalid("Custom field 'nope' does not exist."))
        );
        assert_eq!(calls(), expected_calls);
    }

    // A list's new values reach the service only once the cache has expired.
    memory(&app)
        .define_field(CH, "tier", list(&["Gold", "Platinum"]))
        .unwrap();
    let platinum = raw(&[("tier", Some("platinum"))]);
    let old_list =
        invalid("Invalid value for custom field 'tier': expected one of: Gold, Silver, Bronze.");
    assert_eq!(
        app.update(&channel, &id, &platinum).await,
        Err(old_list.clone())
    );
    tokio::time::advance(crate::env::field_cache_ttl() - Duration::from_millis(1)).await;
    assert_eq!(app.update(&channel, &id, &platinum).await, Err(old_list));
    // A value the new list dropped is still accepted until then.
    app.update(&channel, &id, &raw(&[("tier", Some("Bronze"))]))
        .await
        .unwrap();
    assert_eq!(calls(), 4);
    tokio::time::advance(Duration::from_millis(1)).await;
    app.update(&channel, &id, &platinum).await.unwrap();
    assert_eq!(calls(), 5);
    assert_eq!(
        app.get(&channel, &id).await.unwrap().fields["tier"],
        "Platinum"
    );
    assert_eq!(
        app.update(&channel, &id, &raw(&[("tier", Some("Bronze"))]))
            .await,
        Err(invalid(
            "Invalid value for custom field 'tier': expected one of: Gold, Platinum."
        ))
    );
    // Find uses the same cache.
    let query = FindQuery {
        name: "tier".into(),
        value: "PLATINUM".into(),
        page: 1,
        per_page: 10,
        cursor: None,
    };
    assert_eq!(app.find(&channel, &query).await.unwrap().total, 1);
    assert_eq!(calls(), 5);
}

#[tokio::test(start_paused = true)]
async fn the_field_cache_is_per_channel() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let store = memory(&app);
    let other = testing::channel(store, "other", ChannelType::Facebook);
    store
        .define_field("other", "only_there", FieldDef::new(FieldType::Text))
        .unwrap();
    app.create(&other, &raw(&[("only_there", Some("x"))]), None)
        .await
        .unwrap();
    assert_eq!(
        app.create(&channel, &raw(&[("only_there", Some("x"))]), None)
            .await,
        Err(invalid("Custom field 'only_there' does not exist."))
    );
    assert_eq!(
        app.create(&other, &raw(&[("tier", Some("Gold"))]), None)
            .await,
        Err(invalid("Custom field 'tier' does not exist."))
    );
}

// ---- update -------------------------------------------------------------------------

async fn contact_with_ann(app: &ContactService<Rigged>, channel: &Channel) -> String {
    app.create(
        channel,
        &raw(&[("firstName", Some("Ann")), ("phone", Some("+1 555 0101"))]),
        None,
    )
    .await
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn an_update_that_loses_races_retries_and_every_write_survives() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let id = contact_with_ann(&app, &channel).await;
    app.store().races.store(3, Ordering::SeqCst);
    let started = tokio::time::Instant::now();
    app.update(
        &channel,
        &id,
        &raw(&[
            ("firstName", Some("Bob")),
            ("lastName", Some("Dar")),
            ("phone", None),
        ]),
    )
    .await
    .unwrap();
    let waited = started.elapsed();
    let contact = app.get(&channel, &id).await.unwrap();
    let fields: Vec<(&str, &str)> = contact
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("firstName", "Bob"),
            ("lastName", "Dar"),
            ("rival0", "0"),
            ("rival1", "1"),
            ("rival2", "2")
        ],
        "the update and every concurrent write"
    );
    assert_eq!(version(&app, &id).await, 1 + 3 + 1);
    assert_eq!(
        count(&app.store().versioned_reads),
        4,
        "a fresh read per attempt"
    );
    assert_eq!(count(&app.store().conditional_writes), 4);
    assert_index_consistent(memory(&app), &[&id]).await;
    // Backed off after each loss: 1 ms at least, jittered under 5, 10 and 20 ms.
    assert!(
        waited >= Duration::from_millis(3) && waited <= Duration::from_millis(35),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_update_lands_on_its_last_attempt_and_gives_up_after_it_with_503() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let id = contact_with_ann(&app, &channel).await;
    app.store()
        .races
        .store(MAX_WRITE_ATTEMPTS - 1, Ordering::SeqCst);
    app.update(&channel, &id, &raw(&[("lastName", Some("Dar"))]))
        .await
        .unwrap();
    assert_eq!(count(&app.store().conditional_writes), MAX_WRITE_ATTEMPTS);
    assert_eq!(
        app.get(&channel, &id).await.unwrap().fields["lastName"],
        "Dar"
    );

    let (app, channel) = rigged(ChannelType::Facebook);
    let id = contact_with_ann(&app, &channel).await;
    app.store()
        .races
        .store(MAX_WRITE_ATTEMPTS, Ordering::SeqCst);
    let err = app
        .update(&channel, &id, &raw(&[("lastName", Some("Dar"))]))
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.message()),
        (503, "Service temporarily unavailable.")
    );
    assert_eq!(count(&app.store().conditional_writes), MAX_WRITE_ATTEMPTS);
    let contact = app.get(&channel, &id).await.unwrap();
    assert!(
        !contact.fields.contains_key("lastName"),
        "the update wrote nothing"
    );
    for n in 0..MAX_WRITE_ATTEMPTS {
        assert_eq!(contact.fields[&rival_field(n)], n.to_string(), "rival {n}");
    }
    assert_eq!(version(&app, &id).await, 1 + i64::from(MAX_WRITE_ATTEMPTS));
    assert_index_consistent(memory(&app), &[&id]).await;
}

#[tokio::test]
async fn the_loop_reports_the_store_unavailable_and_a_missing_contact_as_false() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let id = contact_with_ann(&app, &channel).await;
    let fields = memory(&app).field_set(CH).await.unwrap();
    let writes = resolve_writes(&fields, &raw(&[("lastName", Some("Dar"))])).unwrap();
    tokio::time::pause();
    app.store()
        .races
        .store(MAX_WRITE_ATTEMPTS, Ordering::SeqCst);
    assert_eq!(
        update_fields(app.store(), CH, &id, &writes).await,
        Err(StoreError::Unavailable(format!(
            "contact still contended after {MAX_WRITE_ATTEMPTS} attempts"
        )))
    );
    assert_eq!(
        update_fields(app.store(), CH, "nobody", &writes).await,
        Ok(false)
    );
    assert_eq!(update_fields(app.store(), CH, &id, &writes).await, Ok(true));
}

#[tokio::test]
async fn an_update_that_changes_nothing_writes_nothing() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let id = app
        .create(
            &channel,
            &raw(&[("firstName", Some("Ann")), ("score", Some("1"))]),
            None,
        )
        .await
        .unwrap();
    let before = memory(&app).get_versioned(CH, &id).await.unwrap();
    app.update(
        &channel,
        &id,
        &raw(&[
            ("firstName", Some("  Ann  ")),
            ("score", Some("1.0")),
            ("lastName", None),
            ("email", Some("")),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(count(&app.store().versioned_reads), 1);
    assert_eq!(
        count(&app.store().conditional_writes),
        0,
        "nothing to write"
    );
    assert_eq!(memory(&app).get_versioned(CH, &id).await.unwrap(), before);
}

#[tokio::test]
async fn an_update_sets_clears_and_moves_index_entries() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let id = contact_with_ann(&app, &channel).await;
    let find = |name: &str, value: &str| FindQuery {
        name: name.into(),
        value: value.into(),
        page: 1,
        per_page: 10,
        cursor: None,
    };
    app.update(
        &channel,
        &id,
        &raw(&[("firstName", Some("Bob")), ("phone", None)]),
    )
    .await
    .unwrap();
    assert_eq!(
        app.find(&channel, &find("firstName", "ann"))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        app.find(&channel, &find("firstName", "BOB"))
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        app.find(&channel, &find("phone", "15550101"))
            .await
            .unwrap()
            .total,
        0
    );
    // A case-only change: a write (the stored value changes), the same index entry.
    app.update(&channel, &id, &raw(&[("firstName", Some("BOB"))]))
        .await
        .unwrap();
    assert_eq!(version(&app, &id).await, 3);
    assert_eq!(
        app.get(&channel, &id).await.unwrap().fields["firstName"],
        "BOB"
    );
    assert_eq!(
        app.find(&channel, &find("firstName", "bob"))
            .await
            .unwrap()
            .total,
        1
    );
    assert_index_consistent(memory(&app), &[&id]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_and_tag_changes_all_survive() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let app = Arc::new(app);
    let id = contact_with_ann(&app, &channel).await;
    let mut tasks = Vec::new();
    for n in 0..8u32 {
        let (app, channel, id) = (app.clone(), channel.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            let value = n.to_string();
            app.update(&channel, &id, &raw(&[(&rival_field(n), Some(&value))]))
                .await?;
            app.change_tags(&channel, &id, TagChange::Add, &tags(&[&format!("t{n}")]))
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let contact = app.get(&channel, &id).await.unwrap();
    for n in 0..8u32 {
        assert_eq!(contact.fields[&rival_field(n)], n.to_string());
        assert!(contact.tags.contains(&format!("t{n}")));
    }
    assert_eq!(version(&app, &id).await, 9);
    assert_index_consistent(memory(&app), &[&id]).await;
}

// ---- missing contacts, tags ---------------------------------------------------------

#[tokio::test]
async fn a_missing_contact_is_no_such_contact_everywhere_and_nothing_appears() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let elsewhere = testing::channel(memory(&app), "other", ChannelType::Facebook);
    let theirs = app
        .create(&elsewhere, &raw(&[("firstName", Some("Not yours"))]), None)
        .await
        .unwrap();
    for id in ["nobody", theirs.as_str()] {
        let outcomes = [
            app.get(&channel, id).await.map(|_| ()),
            app.update(&channel, id, &raw(&[("firstName", Some("X"))]))
                .await,
            app.change_tags(&channel, id, TagChange::Add, &tags(&["x"]))
                .await,
            app.change_tags(&channel, id, TagChange::Remove, &tags(&["x"]))
                .await,
        ];
        for outcome in outcomes {
            let err = outcome.unwrap_err();
            assert_eq!(
                (err.status(), err.message()),
                (403, "There is no such contact.")
            );
        }
    }
    assert_eq!(memory(&app).contact_count(CH), 0, "no upsert");
    let untouched = app.get(&elsewhere, &theirs).await.unwrap();
    assert_eq!(untouched.fields["firstName"], "Not yours");
    assert!(untouched.tags.is_empty());
}

#[tokio::test]
async fn tags_are_added_and_removed_as_a_set() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let id = contact_with_ann(&app, &channel).await;
    app.change_tags(&channel, &id, TagChange::Add, &tags(&["b", "a"]))
        .await
        .unwrap();
    app.change_tags(&channel, &id, TagChange::Add, &tags(&["a", "c"]))
        .await
        .unwrap();
    app.change_tags(&channel, &id, TagChange::Remove, &tags(&["b", "missing"]))
        .await
        .unwrap();
    assert_eq!(
        app.get(&channel, &id).await.unwrap().tags,
        tags(&["a", "c"])
    );
    assert_eq!(version(&app, &id).await, 1, "tags are not a field update");
}

#[tokio::test]
async fn a_contact_grown_past_400_kb_is_refused_with_403() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let id = contact_with_ann(&app, &channel).await;
    let mut refused = None;
    for round in 0..200 {
        let batch: BTreeSet<String> = (0..10)
            .map(|i| format!("{round:04}-{i:02}-{}", "t".repeat(247)))
            .collect();
        if let Err(err) = app.change_tags(&channel, &id, TagChange::Add, &batch).await {
            refused = Some(err);
            break;
        }
    }
    let err = refused.expect("refused");
    assert_eq!(
        (err.status(), err.message()),
        (
            403,
            "The contact would exceed the storage limit of 400 KB: remove tags or clear fields first."
        )
    );
}

// ---- find ---------------------------------------------------------------------------

#[tokio::test]
async fn find_pages_oldest_first_then_by_id_in_the_callers_channel_only() {
    let (app, channel) = rigged(ChannelType::Facebook);
    let store = memory(&app);
    let other = testing::channel(store, "other", ChannelType::Facebook);
    for (id, at) in [("a", 50), ("e", 10), ("c", 30), ("b", 30), ("d", 20)] {
        insert_at(
            store,
            CH,
            id,
            at,
            &[("lastName", Some("Dar")), ("score", Some("5.0"))],
        )
        .await;
    }
    insert_at(
        store,
        CH,
        "f",
        60,
        &[
            ("lastName", Some("Other")),
            ("phone", Some("+92 324-4077087")),
        ],
    )
    .await;
    insert_at(store, "other", "x", 1, &[("lastName", Some("Dar"))]).await;
    let find = |name: &'static str, value: &'static str, offset: u64, limit: u32| {
        found(&app, &channel, name, value, offset, limit)
    };
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        find("lastName", " DAR ", 0, 10).await,
        Ok((5, ids(&["e", "d", "b", "c", "a"])))
    );
    assert_eq!(
        find("lastName", "dar", 2, 2).await,
        Ok((5, ids(&["b", "c"])))
    );
    assert_eq!(find("lastName", "dar", 4, 2).await, Ok((5, ids(&["a"]))));
    assert_eq!(find("lastName", "dar", 10, 2).await, Ok((5, ids(&[]))));
    assert_eq!(
        find("score", "5", 0, 3).await,
        Ok((5, ids(&["e", "d", "b"])))
    );
    assert_eq!(
        find("phone", "923244077087", 0, 10).await,
        Ok((1, ids(&["f"])))
    );
    assert_eq!(find("firstName", "nobody", 0, 10).await, Ok((0, ids(&[]))));
    assert_eq!(
        found(&app, &other, "lastName", "dar", 0, 10).await,
        Ok((1, ids(&["x"])))
    );
    assert_eq!(
        find("nope", "x", 0, 10).await,
        Err(invalid("Custom field 'nope' does not exist."))
    );
    assert_eq!(
        find("vip", "maybe", 0, 10).await,
        Err(invalid(
            "Invalid value for custom field 'vip': expected TRUE or FALSE."
        ))
    );
}

/// Inserts a contact with these fields and creation time straight into the store.
async fn insert_at(
    store: &MemoryStore,
    channel: &str,
    id: &str,
    created_at: i64,
    pairs: &[(&str, Option<&str>)],
) {
    let fields = store.field_set(channel).await.unwrap();
    let writes = resolve_writes(&fields, &raw(pairs)).unwrap();
    let none = BTreeSet::new();
    let contact = NewContact {
        id,
        created_at,
        created_micros: 0,
        writes: &writes,
        tags: &none,
    };
    assert!(store.insert_contact(channel, &contact).await.unwrap());
}

/// A find's total and the ids of its page.
async fn found(
    app: &ContactService<Rigged>,
    channel: &Channel,
    name: &str,
    value: &str,
    offset: u64,
    limit: u32,
) -> Result<(u64, Vec<String>), ApiError> {
    let query = FindQuery {
        name: name.into(),
        value: value.into(),
        page: offset / u64::from(limit) + 1,
        per_page: limit,
        cursor: None,
    };
    let found = app.find(channel, &query).await?;
    Ok((
        found.total,
        found.contacts.into_iter().map(|c| c.id).collect(),
    ))
}

#[tokio::test]
async fn unique_values_belong_to_one_contact_and_upserts_find_theirs() {
    let (app, channel) = rigged(ChannelType::Telegram);
    memory(&app)
        .set_unique(CH, "email", Some(Uniqueness::On))
        .unwrap();
    let ann = app
        .create(&channel, &raw(&[("email", Some("Ann@X.com"))]), None)
        .await
        .unwrap();
    let taken = app
        .create(&channel, &raw(&[("email", Some("ann@x.COM"))]), None)
        .await
        .unwrap_err();
    assert_eq!(taken.status(), 409);
    assert_eq!(
        taken.message(),
        format!("Custom field 'email' value 'ann@x.COM' belongs to contact '{ann}'.")
    );
    assert_eq!(
        memory(&app).contact_count(CH),
        1,
        "a refused create writes nothing"
    );

    // The upsert finds Ann by her value in any case, and creates a contact for a new one.
    let found = app
        .upsert(
            &channel,
            "email",
            "ANN@x.com",
            &raw(&[("score", Some("7"))]),
        )
        .await
        .unwrap();
    assert_eq!(
        found,
        Upserted {
            id: ann.clone(),
            created: false
        }
    );
    assert_eq!(app.get(&channel, &ann).await.unwrap().fields["score"], "7");
    let racing =
        futures::future::join_all((0..20).map(|_| app.upsert(&channel, "email", "bob@x.com", &[])))
            .await;
    let ids: BTreeSet<String> = racing
        .iter()
        .map(|r| r.as_ref().unwrap().id.clone())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(
        racing
            .iter()
            .filter(|r| r.as_ref().unwrap().created)
            .count(),
        1
    );
    assert_eq!(memory(&app).contact_count(CH), 2);

    // Refusals: a field that is not unique, a body changing the key.
    assert_eq!(
        app.upsert(&channel, "score", "1", &[]).await.unwrap_err(),
        invalid(
            "Custom field 'score' is not unique: an upsert finds its contact by a unique field."
        )
    );
    assert_eq!(
        app.upsert(&channel, "email", "bob@x.com", &raw(&[("email", Some("carl@x.com"))]))
            .await
            .unwrap_err(),
        invalid("Custom field 'email' is what the upsert finds the contact by: the body may not change it.")
    );
    // Deleting Ann frees her value.
    app.delete(&channel, &ann).await.unwrap();
    app.create(&channel, &raw(&[("email", Some("ann@x.com"))]), None)
        .await
        .unwrap();
}
