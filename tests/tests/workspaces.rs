//! Workspaces through `contacts-admin` against DynamoDB Local: made, listed, shown, joined
//! by channels, and deleted with everything in them.

use contacts_shared::store::dynamo::keys;
use contacts_shared::store::ContactStore;
use contacts_tests::{item_key, raw_client, runtime, AdminCli};
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
    // Running the deletion again finishes it.
    admin.ok(&["workspace", "delete", "--workspace", "going"]);
    assert_eq!(admin.ok(&["workspace", "list"]), json!([]));
}
