//! Workspaces through `contacts-admin` against DynamoDB Local: made, listed, shown, joined
//! by channels, and deleted with everything in them.

use contacts_shared::store::dynamo::keys;
use contacts_shared::store::ContactStore;
use contacts_tests::{as_before_workspaces, item_key, raw_client, runtime, AdminCli};
use serde_json::{json, Value};

fn id(created: &Value, name: &str) -> String {
    created[name].as_str().unwrap().to_string()
}

/// How many items partition `pk` holds.
fn items_in(admin: &AdminCli, pk: &str) -> usize {
    let out = runtime()
        .block_on(
            raw_client()
                .query()
                .table_name(&admin.table)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(
                    ":pk",
                    aws_sdk_dynamodb::types::AttributeValue::S(pk.to_string()),
                )
                .consistent_read(true)
                .send(),
        )
        .unwrap();
    out.items().len()
}

#[test]
fn a_workspace_groups_channels_and_goes_with_them() {
    let admin = AdminCli::new(&[]);
    admin.ok(&["table", "create"]);
    assert_eq!(admin.ok(&["workspace", "list"]), json!([]));

    let acme = id(
        &admin.ok(&["workspace", "create", "--name", "Acme"]),
        "workspace_id",
    );
    assert!(acme.starts_with("ws"), "{acme}");
    admin.ok(&["workspace", "create", "--name", "Other", "--id", "other"]);
    assert!(admin
        .fails(&["workspace", "create", "--name", "Again", "--id", "other"])
        .contains("workspace 'other' already exists"));
    assert!(admin
        .fails(&["workspace", "create", "--name", "Bad", "--id", "a#b"])
        .contains("workspace id 'a#b' must be"));

    // Two channels in Acme; one of its own; none in a workspace that is not there.
    let whatsapp = admin.ok(&[
        "channel",
        "create",
        "--name",
        "WA",
        "--type",
        "whatsapp",
        "--workspace",
        &acme,
    ]);
    assert_eq!(whatsapp["workspace_id"], json!(acme));
    let facebook = admin.ok(&[
        "channel",
        "create",
        "--name",
        "FB",
        "--type",
        "facebook",
        "--workspace",
        &acme,
    ]);
    let (whatsapp, facebook) = (id(&whatsapp, "channel_id"), id(&facebook, "channel_id"));
    let alone = admin.ok(&["channel", "create", "--name", "Alone", "--type", "telegram"]);
    let alone_id = id(&alone, "channel_id");
    assert_eq!(
        alone["workspace_id"],
        json!(alone_id),
        "its own workspace has its id"
    );
    assert!(admin
        .fails(&[
            "channel",
            "create",
            "--name",
            "x",
            "--type",
            "sms",
            "--workspace",
            "nope"
        ])
        .contains("no workspace 'nope'"));
    assert!(admin
        .fails(&["channel", "create", "--name", "x", "--type", "sms", "--id", "other"])
        .contains("a workspace 'other' exists"));
    assert!(
        admin
            .fails(&["channel", "show", "--channel", "other"])
            .contains("no channel 'other'"),
        "a refused channel is not half made"
    );

    let shown = admin.ok(&["workspace", "show", "--workspace", &acme]);
    assert_eq!(shown["name"], "Acme");
    assert_eq!(shown["deleting_since"], Value::Null);
    let mut channels: Vec<(String, String)> = shown["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (id(c, "channel_id"), id(c, "type")))
        .collect();
    channels.sort();
    let mut expected = vec![
        (whatsapp.clone(), "whatsapp".to_string()),
        (facebook.clone(), "facebook".to_string()),
    ];
    expected.sort();
    assert_eq!(channels, expected);
    assert_eq!(
        admin.ok(&["channel", "show", "--channel", &facebook])["workspace_id"],
        json!(acme)
    );
    let channel_list = admin.ok(&["channel", "list"]);
    let listed_in = |channel: &str| {
        channel_list
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["channel_id"] == channel)
            .map(|c| c["workspace_id"].clone())
    };
    assert_eq!(listed_in(&whatsapp), Some(json!(acme)));
    assert_eq!(listed_in(&alone_id), Some(json!(alone_id)));
    let listed = admin.ok(&["workspace", "list"]);
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{listed}");
    for name in ["Acme", "Other", "Alone"] {
        assert!(names.contains(&name), "{listed}");
    }

    // A channel deleted on its own leaves its workspace's list.
    admin.ok(&["channel", "delete", "--channel", &alone_id]);
    let own = admin.ok(&["workspace", "show", "--workspace", &alone_id]);
    assert_eq!(own["channels"], json!([]));

    // A contact in each of Acme's channels; then Acme goes, with both.
    let store = admin.store();
    let token = id(
        &admin.ok(&["token", "issue", "--channel", &whatsapp]),
        "token",
    );
    for (channel, line) in [
        (
            &whatsapp,
            r#"{"custom_fields":{"phone":"+15550001","firstName":"Ada"},"tags":["vip"]}"#,
        ),
        (
            &facebook,
            r#"{"id":"psid-1","custom_fields":{"firstName":"Ada"},"tags":["vip"]}"#,
        ),
    ] {
        let path = std::env::temp_dir().join(format!("ws-import-{}-{channel}", std::process::id()));
        std::fs::write(&path, format!("{line}\n")).unwrap();
        let imported = admin.ok(&[
            "contact",
            "import",
            "--channel",
            channel,
            "--file",
            path.to_str().unwrap(),
        ]);
        let _ = std::fs::remove_file(&path);
        assert_eq!(imported, json!({"imported": 1, "failed": 0}));
    }
    assert!(runtime()
        .block_on(store.get_contact(&facebook, "psid-1"))
        .unwrap()
        .is_some());
    admin.ok(&["workspace", "delete", "--workspace", &acme]);
    assert!(runtime()
        .block_on(store.token_grant(&token))
        .unwrap()
        .is_none());
    for channel in [&whatsapp, &facebook] {
        assert!(admin
            .fails(&["channel", "show", "--channel", channel])
            .contains("no channel"));
        assert_eq!(items_in(&admin, &keys::channel_pk(channel)), 0);
        assert_eq!(items_in(&admin, &keys::list_pk(channel)), 0);
    }
    assert_eq!(items_in(&admin, &keys::workspace_pk(&acme)), 0);
    assert!(admin
        .fails(&["workspace", "show", "--workspace", &acme])
        .contains(&format!("no workspace '{acme}'")));
    assert_eq!(
        admin.ok(&["workspace", "list"]).as_array().unwrap().len(),
        2
    );
    assert!(admin
        .fails(&["workspace", "delete", "--workspace", &acme])
        .contains("no workspace"));
    let report = admin.ok(&["check"]);
    assert_eq!(report["consistent"], true, "{report}");
}

#[test]
fn no_channel_joins_a_workspace_being_deleted() {
    let admin = AdminCli::new(&[]);
    admin.ok(&["table", "create"]);
    admin.ok(&["workspace", "create", "--name", "Going", "--id", "going"]);
    // As `workspace delete` marks it first, before it lists the channels to delete.
    runtime()
        .block_on(
            raw_client()
                .update_item()
                .table_name(&admin.table)
                .set_key(Some(item_key(
                    keys::workspace_pk("going"),
                    keys::WORKSPACE_SK.into(),
                )))
                .update_expression("SET deleting = :now")
                .expression_attribute_values(
                    ":now",
                    aws_sdk_dynamodb::types::AttributeValue::N("1700000000".into()),
                )
                .send(),
        )
        .unwrap();
    assert!(admin
        .fails(&[
            "channel",
            "create",
            "--name",
            "x",
            "--type",
            "sms",
            "--workspace",
            "going"
        ])
        .contains("being deleted"));
    assert_eq!(admin.ok(&["channel", "list"]), json!([]));
    let shown = admin.ok(&["workspace", "show", "--workspace", "going"]);
    assert_eq!(shown["deleting_since"], 1_700_000_000);
    // The whole table's check finds the deletion unfinished; its repair finishes it.
    let out = admin.run(&["check"]);
    assert!(!out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["unfinished_workspaces"],
        json!(["going"]),
        "{report}"
    );
    let repaired = admin.ok(&["check", "--repair"]);
    assert_eq!(repaired["finished_workspaces"], json!(["going"]));
    assert_eq!(repaired["consistent"], true, "{repaired}");
    assert_eq!(admin.ok(&["workspace", "list"]), json!([]));
    assert_eq!(items_in(&admin, &keys::workspace_pk("going")), 0);
}

#[test]
fn migrate_puts_every_older_channel_in_a_workspace_of_its_own_once() {
    let admin = AdminCli::new(&[]);
    admin.ok(&["table", "create"]);
    let created = admin.ok(&["channel", "create", "--name", "Old", "--type", "viber"]);
    let (old, token) = (id(&created, "channel_id"), id(&created, "token"));
    admin.ok(&[
        "field",
        "define",
        "--channel",
        &old,
        "--name",
        "tier",
        "--type",
        "text",
    ]);
    let path = std::env::temp_dir().join(format!("ws-migrate-{}", std::process::id()));
    std::fs::write(
        &path,
        "{\"id\":\"MDEyMw==\",\"custom_fields\":{\"tier\":\"gold\"},\"tags\":[\"a\"]}\n",
    )
    .unwrap();
    admin.ok(&[
        "contact",
        "import",
        "--channel",
        &old,
        "--file",
        path.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&path);
    as_before_workspaces(&admin.table, &old);
    // One whose id a workspace made since holds; one already in a workspace.
    let taken = id(
        &admin.ok(&["channel", "create", "--name", "Taken", "--type", "sms"]),
        "channel_id",
    );
    as_before_workspaces(&admin.table, &taken);
    admin.ok(&["workspace", "create", "--name", "Squatter", "--id", &taken]);
    let acme = id(
        &admin.ok(&["workspace", "create", "--name", "Acme"]),
        "workspace_id",
    );
    admin.ok(&[
        "channel",
        "create",
        "--name",
        "New",
        "--type",
        "line",
        "--workspace",
        &acme,
    ]);
    assert_eq!(
        admin.ok(&["channel", "show", "--channel", &old])["workspace_id"],
        Value::Null
    );
    let fields_before = admin.ok(&["field", "list", "--channel", &old]);
    let out = admin.run(&["check"]);
    assert!(
        !out.status.success(),
        "channels in no workspace fail the check"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut unmigrated: Vec<String> =
        serde_json::from_value(report["unmigrated_channels"].clone()).unwrap();
    unmigrated.sort();
    let mut expected = vec![old.clone(), taken.clone()];
    expected.sort();
    assert_eq!(unmigrated, expected, "{report}");

    let first = admin.ok(&["migrate"]);
    assert_eq!(
        first,
        json!({"channels": 3, "migrated": 2, "already_in_a_workspace": 1, "being_deleted": 0})
    );
    let again = admin.ok(&["migrate"]);
    assert_eq!(again["migrated"], 0, "idempotent: {again}");
    assert_eq!(again["already_in_a_workspace"], 3);
    assert_eq!(admin.ok(&["check"])["consistent"], true);

    let channel_list = admin.ok(&["channel", "list"]);
    let old_entry = channel_list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel_id"] == old.as_str())
        .unwrap();
    assert_eq!(
        old_entry["workspace_id"],
        json!(old),
        "the channel list says so too"
    );
    // The old channel: in a workspace of its own, with its id and name, and nothing else
    // changed (token, fields, contact).
    assert_eq!(
        admin.ok(&["channel", "show", "--channel", &old])["workspace_id"],
        json!(old)
    );
    let own = admin.ok(&["workspace", "show", "--workspace", &old]);
    assert_eq!(own["name"], "Old");
    assert_eq!(
        custom_fields(&admin, &["--workspace", &old]),
        vec![("tier".to_string(), "text".to_string(), false)],
        "the workspace has the channel's fields"
    );
    assert_eq!(own["channels"][0]["channel_id"], json!(old));
    let store = admin.store();
    assert!(runtime()
        .block_on(store.token_grant(&token))
        .unwrap()
        .is_some());
    assert_eq!(
        admin.ok(&["field", "list", "--channel", &old]),
        fields_before
    );
    let contact = runtime()
        .block_on(store.get_contact(&old, "MDEyMw=="))
        .unwrap()
        .unwrap();
    assert_eq!(contact.fields["tier"], "gold");
    admin.assert_consistent(&old);
    // The one whose id was taken: a workspace of its own all the same, not the squatter.
    let moved = admin.ok(&["channel", "show", "--channel", &taken])["workspace_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(moved, taken);
    assert_eq!(
        admin.ok(&["workspace", "show", "--workspace", &moved])["channels"][0]["channel_id"],
        json!(taken)
    );
    assert_eq!(
        admin.ok(&["workspace", "show", "--workspace", &taken])["channels"],
        json!([])
    );
}

/// The names and types of the custom fields `field list` prints for `scope`.
fn custom_fields(admin: &AdminCli, scope: &[&str]) -> Vec<(String, String, bool)> {
    let listed = admin.ok(&[&["field", "list"], scope].concat());
    listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["built_in"] == false)
        .map(|f| (id(f, "name"), id(f, "type"), f.get("unique").is_some()))
        .collect()
}

#[test]
fn a_workspace_s_fields_are_its_channels_fields() {
    let admin = AdminCli::new(&[]);
    admin.ok(&["table", "create"]);
    admin.ok(&["workspace", "create", "--name", "Acme", "--id", "acme"]);
    let first = id(
        &admin.ok(&[
            "channel",
            "create",
            "--name",
            "WA",
            "--type",
            "whatsapp",
            "--workspace",
            "acme",
        ]),
        "channel_id",
    );
    admin.ok(&[
        "field",
        "define",
        "--workspace",
        "acme",
        "--name",
        "tier",
        "--type",
        "list",
        "--values",
        "Gold,Silver",
    ]);
    // Given a channel, the field is its workspace's: the other channels have it too.
    admin.ok(&[
        "field",
        "define",
        "--channel",
        &first,
        "--name",
        "crm",
        "--type",
        "number",
    ]);
    let second = id(
        &admin.ok(&[
            "channel",
            "create",
            "--name",
            "FB",
            "--type",
            "facebook",
            "--workspace",
            "acme",
        ]),
        "channel_id",
    );
    let expected = vec![
        ("crm".to_string(), "number".to_string(), false),
        ("tier".to_string(), "list".to_string(), false),
    ];
    for scope in [
        ["--workspace", "acme"],
        ["--channel", first.as_str()],
        ["--channel", second.as_str()],
    ] {
        let mut found = custom_fields(&admin, &scope);
        found.sort();
        assert_eq!(found, expected, "{scope:?}");
    }
    assert!(admin
        .fails(&[
            "field",
            "define",
            "--channel",
            &second,
            "--name",
            "crm",
            "--type",
            "text"
        ])
        .contains("already defined as number"));
    // Uniqueness stays the channel's: the other channel has the field, not unique.
    admin.ok(&[
        "field",
        "define",
        "--channel",
        &second,
        "--name",
        "code",
        "--type",
        "text",
        "--unique",
    ]);
    assert!(custom_fields(&admin, &["--channel", &second]).contains(&(
        "code".to_string(),
        "text".to_string(),
        true
    )));
    assert!(custom_fields(&admin, &["--channel", &first]).contains(&(
        "code".to_string(),
        "text".to_string(),
        false
    )));
    assert!(admin
        .fails(&[
            "field",
            "define",
            "--workspace",
            "nope",
            "--name",
            "x",
            "--type",
            "text"
        ])
        .contains("no workspace 'nope'"));
    // A channel of its own keeps its fields to itself.
    let alone = id(
        &admin.ok(&["channel", "create", "--name", "Alone", "--type", "line"]),
        "channel_id",
    );
    admin.ok(&[
        "field",
        "define",
        "--channel",
        &alone,
        "--name",
        "solo",
        "--type",
        "text",
    ]);
    assert_eq!(
        custom_fields(&admin, &["--workspace", &alone]),
        vec![("solo".to_string(), "text".to_string(), false)]
    );
    assert!(!custom_fields(&admin, &["--channel", &first])
        .iter()
        .any(|(name, _, _)| name == "solo"));
    for channel in [&first, &second, &alone] {
        admin.assert_consistent(channel);
    }
    assert_eq!(admin.ok(&["check"])["consistent"], true);

    // A definition that stopped part-way: one channel lacks the workspace's `tier`, the
    // other has an `extra` the workspace lacks. The check finds both; the repair aligns them.
    let set = |channel: &str, update: &str| {
        runtime()
            .block_on(
                raw_client()
                    .update_item()
                    .table_name(&admin.table)
                    .set_key(Some(item_key(
                        keys::channel_pk(channel),
                        keys::CHANNEL_SK.into(),
                    )))
                    .update_expression(update)
                    .expression_attribute_names("#defs", "fields")
                    .send(),
            )
            .unwrap();
    };
    set(&first, "REMOVE #defs.tier");
    set(&second, "SET #defs.extra = #defs.crm");
    let out = admin.run(&["check"]);
    assert!(!out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut drifted: Vec<String> =
        serde_json::from_value(report["drifted_channels"].clone()).unwrap();
    drifted.sort();
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(drifted, both, "{report}");
    let repaired = admin.ok(&["check", "--repair"]);
    assert_eq!(repaired["consistent"], true, "{repaired}");
    let mut expected = vec![
        ("code".to_string(), "text".to_string(), false),
        ("crm".to_string(), "number".to_string(), false),
        ("extra".to_string(), "number".to_string(), false),
        ("tier".to_string(), "list".to_string(), false),
    ];
    expected.sort();
    for scope in [["--workspace", "acme"], ["--channel", first.as_str()]] {
        let mut found = custom_fields(&admin, &scope);
        found.sort();
        assert_eq!(found, expected, "{scope:?}");
    }
}
