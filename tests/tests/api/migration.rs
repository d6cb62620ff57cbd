//! `contacts-admin migrate` while the API serves: channels in today's format (made before
//! workspaces) keep answering every call while they are moved into workspaces of their
//! own, and afterwards every contact, count and find is as the calls left it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use contacts_shared::domain::field_defs::FieldType;
use contacts_shared::ChannelType;
use contacts_tests::{as_before_workspaces, Method};
use serde_json::{json, Value};

use crate::{assert_consistent, channel_with_fields, create, fields_body, get, stack, update};

/// Channels in today's format, each with this many contacts before the migration.
const CHANNELS: usize = 3;
const SEEDED: usize = 10;
/// Channels with no contacts beside them, so that the migration takes a while.
const IDLE_CHANNELS: usize = 20;

#[test]
fn the_api_serves_throughout_a_migration_and_loses_nothing() {
    let s = stack();
    let admin = s.admin();
    let mut channels = Vec::new();
    for _ in 0..CHANNELS {
        let (channel, token) =
            channel_with_fields(ChannelType::Telegram, &[("score", FieldType::Number, &[])]);
        as_before_workspaces(s.store.table(), &channel);
        // What each contact's score should be: the last value the API accepted.
        let mut scores = BTreeMap::new();
        for i in 0..SEEDED {
            let id = create(&token, &[("firstName", json!("Seed")), ("score", json!(i))]);
            scores.insert(id, i);
        }
        channels.push((channel, token, Mutex::new(scores)));
    }
    for _ in 0..IDLE_CHANNELS {
        as_before_workspaces(s.store.table(), &s.channel(ChannelType::Line).0);
    }

    let migrating = AtomicBool::new(true);
    // The migration starts once every channel's load has made its first round.
    let started = AtomicUsize::new(0);
    let migrated = std::thread::scope(|scope| {
        for (_, token, scores) in &channels {
            let (migrating, started) = (&migrating, &started);
            scope.spawn(move || {
                // Creates and updates, one after another, until the migration is done (at
                // most 30 calls: within the channel's burst, so none is refused for rate).
                let mut round = 0;
                while migrating.load(Ordering::SeqCst) && round < 15 {
                    let id = create(
                        token,
                        &[("firstName", json!("Load")), ("score", json!(100 + round))],
                    );
                    scores.lock().unwrap().insert(id.clone(), 100 + round);
                    let body = fields_body(&[("score", json!(200 + round))]);
                    let reply = update(token, &id, &body);
                    assert_eq!(reply.status, 200, "{}", reply.text);
                    scores.lock().unwrap().insert(id, 200 + round);
                    round += 1;
                    if round == 1 {
                        started.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while started.load(Ordering::SeqCst) < CHANNELS && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = admin.ok(&["migrate"]);
        migrating.store(false, Ordering::SeqCst);
        out
    });
    assert!(
        migrated["migrated"].as_u64().unwrap() >= (CHANNELS + IDLE_CHANNELS) as u64,
        "{migrated}"
    );

    for (channel, token, scores) in &channels {
        let scores = scores.lock().unwrap();
        assert_eq!(
            admin.ok(&["channel", "show", "--channel", channel])["workspace_id"],
            json!(channel),
            "in a workspace of its own"
        );
        for (id, score) in scores.iter() {
            let reply = get(token, id);
            assert_eq!(reply.status, 200, "{}", reply.text);
            assert_eq!(
                reply.json["data"]["custom_fields"]["score"],
                json!(score.to_string())
            );
        }
        // The list holds every contact once; finds count them as before.
        let listed = s.call(Method::GET, "/v1/contact?per_page=100", Some(token), None);
        let mut ids: Vec<&str> = listed.json["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c: &Value| c["id"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        let expected: Vec<&str> = scores.keys().map(String::as_str).collect();
        assert_eq!(ids, expected);
        let seeds = s.call(
            Method::GET,
            "/v1/contact/by_custom_field?name=firstName&value=Seed",
            Some(token),
            None,
        );
        assert_eq!(seeds.json["meta"]["total"], json!(SEEDED), "{}", seeds.text);
        let loaded = scores.len() - SEEDED;
        let found = s.call(
            Method::GET,
            "/v1/contact/by_custom_field?name=firstName&value=Load",
            Some(token),
            None,
        );
        assert_eq!(found.json["meta"]["total"], json!(loaded), "{}", found.text);
        assert_consistent(channel);
    }
    // Run again, it moves nothing.
    let again = admin.ok(&["migrate"]);
    assert_eq!(again["migrated"], 0, "{again}");
}
