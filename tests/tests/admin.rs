//! The `contacts-admin` binary against DynamoDB Local, as an operator runs it.

use std::io::Write;

use contacts_shared::domain::field_defs::FieldType;
use contacts_shared::store::dynamo::keys;
use contacts_shared::store::ContactStore;
use contacts_tests::{matches, runtime, AdminCli};
use serde_json::{json, Value};

#[test]
fn an_operator_sets_up_a_channel() {
    let admin = AdminCli::new(&[]);
    admin.ok(&["table", "create"]);
    admin.ok(&["table", "create"]); // idempotent
    let created = admin.ok(&["channel", "create", "--name", "Support", "--type", "viber"]);
    let channel = created["channel_id"].as_str().unwrap().to_string();
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ct_") && token.len() > 40);
    assert!(admin
        .fails(&["channel", "create", "--name", "x", "--type", "myspace"])
        .contains("unknown channel type"));
    assert!(admin
        .fails(&["channel", "create", "--name", "x", "--type", "sms", "--id", &channel])
        .contains("already exists"));

    let store = admin.store();
    let grant = runtime()
        .block_on(store.token_grant(&token))
        .unwrap()
        .unwrap();
    assert_eq!(grant.channel.id, channel);

    let second = admin.ok(&["token", "issue", "--channel", &channel])["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        admin.ok(&["channel", "show", "--channel", &channel])["live_tokens"],
        2
    );
    admin.ok(&["token", "revoke", "--token", &token]);
    assert!(runtime()
        .block_on(store.token_grant(&token))
        .unwrap()
        .is_none());
    assert!(runtime()
        .block_on(store.token_grant(&second))
        .unwrap()
        .is_some());
    assert!(admin
        .fails(&["token", "revoke", "--token", &token])
        .contains("no such token"));
    assert!(admin
        .fails(&["token", "issue", "--channel", "nope"])
        .contains("no channel 'nope'"));

    admin.ok(&define(&channel, "customerid", "number", &[]));
    admin.ok(&define(
        &channel,
        "tier",
        "list",
        &["--values", "Gold,Silver"],
    ));
    assert!(admin
        .fails(&define(&channel, "tier", "text", &[]))
        .contains("cannot change"));
    assert!(admin
        .fails(&define(&channel, "phone", "text", &[]))
        .contains("built-in"));
    assert!(admin
        .fails(&define(&channel, "bad name", "text", &[]))
        .contains("must be 1 to 50"));
    assert!(admin
        .fails(&define(&channel, "x", "list", &[]))
        .contains("1 to 100 values"));
    let fields = admin.ok(&["field", "list", "--channel", &channel]);
    let fields = fields.as_array().unwrap();
    assert_eq!(fields.len(), 12);
    assert!(fields.contains(
        &json!({"name": "tier", "type": "list", "built_in": false, "values": ["Gold", "Silver"]})
    ));
    assert!(fields.contains(&json!({"name": "phone", "type": "phone", "built_in": true})));

    // Import: good lines go in (Viber ids as they are), bad ones are reported by number.
    let mut file = tempfile();
    writeln!(file.1, r#"{{"id":"01234567890A=","custom_fields":{{"firstName":"Vi","customerid":7,"tier":"gold"}},"tags":["VIP"],"created_at":1575618542}}"#).unwrap();
    writeln!(file.1, r#"{{"custom_fields":{{"email":"not-an-email"}}}}"#).unwrap();
    writeln!(file.1).unwrap();
    writeln!(file.1, r#"{{"custom_fields":{{"lastName":"NoId"}}}}"#).unwrap();
    writeln!(file.1, r#"{{"id":"01234567890A=","custom_fields":{{}}}}"#).unwrap();
    writeln!(file.1, "not json").unwrap();
    let out = admin.run(&[
        "contact",
        "import",
        "--channel",
        &channel,
        "--file",
        file.0.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "partial imports exit non-zero");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary, json!({"imported": 2, "failed": 3}));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2: Invalid value for custom field 'email'"),
        "{stderr}"
    );
    assert!(stderr.contains("line 5: duplicate of line 1"), "{stderr}");
    assert!(stderr.contains("line 6: not a contact object"), "{stderr}");
    let imported = runtime()
        .block_on(store.get_contact(&channel, "01234567890A="))
        .unwrap()
        .unwrap();
    assert_eq!(imported.fields["customerid"], "7");
    assert_eq!(imported.fields["tier"], "Gold");
    assert_eq!(imported.created_at, 1_575_618_542);
    assert!(imported.tags.contains("VIP"));
    let total = matches(&store, &channel, ("lastName", FieldType::Text, "noid"));
    assert_eq!(total, 1, "imported contacts are indexed");
    admin.assert_consistent(&channel);
    let _ = std::fs::remove_file(&file.0);
}

/// Within one file the first line with an id wins, whatever the writes' concurrency: a
/// large first line and small repeats right after it, which would be written first.
#[test]
fn the_first_line_with_an_id_wins_and_stdin_works() {
    let admin = AdminCli::new(&[]);
    admin.ok(&["table", "create"]);
    let created = admin.ok(&["channel", "create", "--name", "Dups", "--type", "telegram"]);
    let channel = created["channel_id"].as_str().unwrap().to_string();
    let store = admin.store();
    let tags: Vec<String> = (0..200).map(|i| format!("tag number {i}")).collect();
    let mut lines = Vec::new();
    for round in 0..10 {
        let id = format!("dup-{round}");
        let big = json!({"id": id, "custom_fields": {"firstName": format!("First {round}"),
            "lastName": "x".repeat(900)}, "tags": tags});
        lines.push(big.to_string());
        for copy in 0..3 {
            lines.push(
                json!({"id": id, "custom_fields": {"firstName": format!("Copy {copy}")}})
                    .to_string(),
            );
        }
    }
    let out = admin.run_with_stdin(
        &["contact", "import", "--channel", &channel, "--file", "-"],
        &(lines.join("\n") + "\n"),
    );
    assert!(!out.status.success(), "duplicates are failures");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary, json!({"imported": 10, "failed": 30}));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for round in 0..10 {
        let first = round * 4 + 1;
        for copy in 1..=3 {
            let expected = format!("line {}: duplicate of line {first}", first + copy);
            assert!(stderr.contains(&expected), "{expected}: {stderr}");
        }
        let contact = runtime()
            .block_on(store.get_contact(&channel, &format!("dup-{round}")))
            .unwrap()
            .unwrap();
        assert_eq!(contact.fields["firstName"], format!("First {round}"));
        assert_eq!(contact.tags.len(), 200);
    }
    admin.assert_consistent(&channel);
}

/// On a WhatsApp channel a line without an id takes its phone's digits, as the API does.
#[test]
fn imports_on_whatsapp_take_the_id_from_the_phone() {
    let admin = AdminCli::new(&[]);
    admin.ok(&["table", "create"]);
    let created = admin.ok(&["channel", "create", "--name", "WA", "--type", "whatsapp"]);
    let channel = created["channel_id"].as_str().unwrap().to_string();
    let lines = [
        r#"{"custom_fields":{"phone":"+27 82 499 1602","firstName":"First"}}"#,
        r#"{"custom_fields":{"phone":"27824991602","firstName":"Second"}}"#,
        r#"{"custom_fields":{"firstName":"No phone"}}"#,
        r#"{"id":"+44 20 7946 0958","custom_fields":{"firstName":"Given"}}"#,
    ];
    let out = admin.run_with_stdin(
        &["contact", "import", "--channel", &channel, "--file", "-"],
        &(lines.join("\n") + "\n"),
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary, json!({"imported": 2, "failed": 2}));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2: duplicate of line 1"), "{stderr}");
    assert!(
        stderr.contains("line 3: A contact on a whatsapp channel needs a phone."),
        "{stderr}"
    );
    let store = admin.store();
    let first = runtime()
        .block_on(store.get_contact(&channel, "27824991602"))
        .unwrap()
        .unwrap();
    assert_eq!(first.fields["firstName"], "First");
    assert!(runtime()
        .block_on(store.get_contact(&channel, "442079460958"))
        .unwrap()
        .is_some());
    admin.assert_consistent(&channel);
}

/// Export, import into an empty channel, export again: the same bytes. Then an operator
/// deletes a contact.
#[test]
fn an_export_imports_into_an_identical_channel_and_contacts_can_be_deleted() {
    let admin = AdminCli::new(&[]);
    admin.ok(&["table", "create"]);
    let mut channels = Vec::new();
    for name in ["From", "To"] {
        let created = admin.ok(&["channel", "create", "--name", name, "--type", "gmail"]);
        let channel = created["channel_id"].as_str().unwrap().to_string();
        admin.ok(&define(&channel, "score", "number", &[]));
        admin.ok(&define(&channel, "member", "boolean", &[]));
        admin.ok(&define(
            &channel,
            "tier",
            "list",
            &["--values", "Gold,Silver"],
        ));
        channels.push(channel);
    }
    let (from, to) = (&channels[0], &channels[1]);
    let mut lines = vec![
        r#"{"id":"a","custom_fields":{"firstName":"Zoë","score":"05.50","member":true},"tags":["Café","VIP"],"created_at":1575618542}"#.to_string(),
        // The same second as the line before: it stays after it.
        r#"{"id":"0-first-by-id","custom_fields":{"tier":"gold"},"created_at":1575618542}"#.to_string(),
        r#"{"id":"c","custom_fields":{"email":"ANN@Example.com"},"tags":[]}"#.to_string(),
    ];
    lines.extend((0..150).map(|i| json!({"id": format!("n{i:03}"), "custom_fields": {"lastName": format!("Name {i}")}, "created_at": 1_600_000_000 + i}).to_string()));
    let out = admin.run_with_stdin(
        &["contact", "import", "--channel", from, "--file", "-"],
        &(lines.join("\n") + "\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (first_path, _) = tempfile();
    admin.ok(&[
        "contact",
        "export",
        "--channel",
        from,
        "--file",
        first_path.to_str().unwrap(),
    ]);
    let first = std::fs::read_to_string(&first_path).unwrap();
    let exported: Vec<Value> = first
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(exported.len(), 153);
    let ids: Vec<&str> = exported.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(&ids[..3], &["a", "0-first-by-id", "n000"], "oldest first");
    assert_eq!(
        ids[152], "c",
        "the line without created_at was created at import"
    );
    assert_eq!(
        exported[0]["custom_fields"],
        json!({"firstName": "Zoë", "score": "5.5", "member": "TRUE"})
    );
    // Standard output holds the same.
    let stdout = admin.run(&["contact", "export", "--channel", from]);
    assert!(stdout.status.success());
    assert_eq!(String::from_utf8(stdout.stdout).unwrap(), first);

    let out = admin.run(&[
        "contact",
        "import",
        "--channel",
        to,
        "--file",
        first_path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = admin.run(&["contact", "export", "--channel", to]);
    assert_eq!(
        String::from_utf8(again.stdout).unwrap(),
        first,
        "byte-identical"
    );
    let _ = std::fs::remove_file(&first_path);

    // An operator's delete: gone from the export, and a second one fails.
    assert_eq!(
        admin.ok(&["contact", "delete", "--channel", to, "--id", "a"]),
        json!({"deleted": "a"})
    );
    let stderr = admin.fails(&["contact", "delete", "--channel", to, "--id", "a"]);
    assert!(stderr.contains("has no contact 'a'"), "{stderr}");
    let after = admin.run(&["contact", "export", "--channel", to]);
    let after = String::from_utf8(after.stdout).unwrap();
    assert_eq!(after.lines().count(), 152);
    assert!(!after.contains(r#""id":"a""#));
    for channel in [from, to] {
        admin.assert_consistent(channel);
    }
}

/// What a create in flight while its channel was deleted leaves is found by `check`
/// without `--channel`, and removed by `--repair`; live channels are not touched.
#[test]
fn check_finds_and_removes_what_deleted_channels_left() {
    let admin = AdminCli::new(&[]);
    admin.ok(&["table", "create"]);
    let mut channels = Vec::new();
    for name in ["Gone", "Kept"] {
        let created = admin.ok(&["channel", "create", "--name", name, "--type", "custom"]);
        channels.push(created["channel_id"].as_str().unwrap().to_string());
    }
    let (gone, kept) = (&channels[0], &channels[1]);
    let lines = r#"{"id":"k1","custom_fields":{"firstName":"Kay"},"tags":["x"]}"#;
    for channel in [gone, kept] {
        let out = admin.run_with_stdin(
            &["contact", "import", "--channel", channel, "--file", "-"],
            lines,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        admin.ok(&["check"]),
        json!({"gone_channels": [], "unlisted_channels": [], "unmigrated_channels": [], "unfinished_workspaces": [], "drifted_channels": [], "consistent": true})
    );
    let store = admin.store();
    let fields = runtime().block_on(store.fields(gone)).unwrap();
    admin.ok(&["channel", "delete", "--channel", gone]);
    // A create that passed the authorizer before the delete, landing after it.
    let writes = contacts_tests::writes(
        &fields,
        &[("firstName", Some("Late")), ("lastName", Some("Comer"))],
    );
    let tags = std::collections::BTreeSet::new();
    let late = contacts_shared::store::NewContact {
        id: "late",
        created_at: contacts_shared::clock::now(),
        created_micros: 0,
        writes: &writes,
        tags: &tags,
    };
    assert!(runtime()
        .block_on(store.insert_contact(gone, &late))
        .unwrap());

    let out = admin.run(&["check"]);
    assert!(!out.status.success(), "leftovers are a failed check");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The contact, its two index entries and counts, its list entry.
    assert_eq!(
        report,
        json!({"gone_channels": [{"channel_id": gone, "items": 6}], "unlisted_channels": [], "unmigrated_channels": [], "unfinished_workspaces": [], "drifted_channels": [], "consistent": false})
    );
    let repaired = admin.ok(&["check", "--repair"]);
    assert_eq!(
        repaired["removed"],
        json!([{"channel_id": gone, "items": 6}])
    );
    assert_eq!(repaired["consistent"], true);
    assert_eq!(
        admin.ok(&["check"]),
        json!({"gone_channels": [], "unlisted_channels": [], "unmigrated_channels": [], "unfinished_workspaces": [], "drifted_channels": [], "consistent": true})
    );
    assert!(runtime()
        .block_on(store.get_contact(kept, "k1"))
        .unwrap()
        .is_some());
    admin.assert_consistent(kept);
}

/// Unique values through the admin tool: an import keeps the first line holding a value,
/// `check` finds a claim gone missing or left behind, and `check --repair` restores them.
#[test]
fn channels_are_listed_and_check_lists_those_made_before_the_list() {
    let admin = AdminCli::new(&[]);
    admin.ok(&["table", "create"]);
    assert_eq!(admin.ok(&["channel", "list"]), json!([]));
    let mut ids = Vec::new();
    for (name, kind) in [("Support", "whatsapp"), ("Sales", "viber")] {
        let created = admin.ok(&["channel", "create", "--name", name, "--type", kind]);
        ids.push(created["channel_id"].as_str().unwrap().to_string());
    }
    let listed = admin.ok(&["channel", "list"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    for (id, (name, kind)) in ids
        .iter()
        .zip([("Support", "whatsapp"), ("Sales", "viber")])
    {
        let entry = listed.iter().find(|c| c["channel_id"] == **id).unwrap();
        assert_eq!(
            (entry["name"].as_str(), entry["type"].as_str()),
            (Some(name), Some(kind))
        );
        assert!(entry["created_at"].as_i64().unwrap() > 1_700_000_000);
    }
    // A channel made before the list was kept: its entry is not there.
    let client = contacts_tests::raw_client();
    runtime()
        .block_on(
            client
                .delete_item()
                .table_name(&admin.table)
                .set_key(Some(contacts_tests::item_key(
                    keys::CHANNELS_PK.to_string(),
                    ids[1].clone(),
                )))
                .send(),
        )
        .unwrap();
    assert_eq!(admin.ok(&["channel", "list"]).as_array().unwrap().len(), 1);
    let out = admin.run(&["check"]);
    assert!(
        !out.status.success(),
        "an unlisted channel is a failed check"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report,
        json!({"gone_channels": [], "unlisted_channels": [ids[1]], "unmigrated_channels": [], "unfinished_workspaces": [], "drifted_channels": [], "consistent": false})
    );
    let repaired = admin.ok(&["check", "--repair"]);
    assert_eq!(repaired["listed"], json!([ids[1]]));
    assert_eq!(repaired["consistent"], true);
    assert_eq!(admin.ok(&["channel", "list"]).as_array().unwrap().len(), 2);
    // A deleted channel leaves the list with the rest of it.
    admin.ok(&["channel", "delete", "--channel", &ids[0]]);
    let listed = admin.ok(&["channel", "list"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["channel_id"], json!(ids[1]));
}

#[test]
fn imports_keep_unique_values_once_and_check_repairs_claims() {
    let admin = AdminCli::new(&[]);
    admin.ok(&["table", "create"]);
    let created = admin.ok(&["channel", "create", "--name", "Uniq", "--type", "telegram"]);
    let channel = created["channel_id"].as_str().unwrap().to_string();
    admin.ok(&define(&channel, "crmId", "text", &["--unique"]));
    let lines = [
        r#"{"id":"a","custom_fields":{"crmId":"X-1","firstName":"Ann"}}"#,
        r#"{"id":"b","custom_fields":{"crmId":"x-1 "}}"#,
        r#"{"id":"c","custom_fields":{"crmId":"X-2"}}"#,
    ];
    let out = admin.run_with_stdin(
        &["contact", "import", "--channel", &channel, "--file", "-"],
        &(lines.join("\n") + "\n"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("line 2: a unique value of line 1 again"),
        "{stderr}"
    );
    admin.assert_consistent(&channel);

    // A claim lost, and one left by a contact that is gone.
    let client = contacts_tests::raw_client();
    let table = admin.store().table().to_string();
    let pk = keys::claim_pk(&channel, "crmId");
    runtime()
        .block_on(
            client
                .delete_item()
                .table_name(&table)
                .set_key(Some(contacts_tests::item_key(
                    pk.clone(),
                    keys::claim_sk("x-2"),
                )))
                .send(),
        )
        .unwrap();
    let mut stale = contacts_tests::item_key(pk.clone(), keys::claim_sk("x-9"));
    stale.insert(
        "owner".into(),
        aws_sdk_dynamodb::types::AttributeValue::S("gone".into()),
    );
    runtime()
        .block_on(
            client
                .put_item()
                .table_name(&table)
                .set_item(Some(stale))
                .send(),
        )
        .unwrap();
    let out = admin.run(&["check", "--channel", &channel]);
    assert!(!out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["missing_claims"],
        json!([["c", "crmId"]]),
        "{report}"
    );
    assert_eq!(report["stale_claims"], json!([[pk, "=x-9"]]), "{report}");
    admin.ok(&["check", "--channel", &channel, "--repair"]);
    admin.assert_consistent(&channel);
    // The repaired claim holds: another contact cannot take X-2.
    let out = admin.run_with_stdin(
        &["contact", "import", "--channel", &channel, "--file", "-"],
        "{\"id\":\"d\",\"custom_fields\":{\"crmId\":\"X-2\"}}\n",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("belongs to contact c"), "{stderr}");
    admin.assert_consistent(&channel);
}

/// `field define` of `name` as `kind` on `channel`, with more arguments.
fn define<'a>(channel: &'a str, name: &'a str, kind: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "field",
        "define",
        "--channel",
        channel,
        "--name",
        name,
        "--type",
        kind,
    ];
    args.extend_from_slice(more);
    args
}

fn tempfile() -> (std::path::PathBuf, std::fs::File) {
    let path = std::env::temp_dir().join(format!(
        "import-{}-{}.jsonl",
        std::process::id(),
        contacts_shared::random::base32_id().unwrap()
    ));
    let file = std::fs::File::create(&path).unwrap();
    (path, file)
}
