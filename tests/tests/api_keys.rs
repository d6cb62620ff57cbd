//! Per-channel API keys in the usage plan, against moto's API Gateway (server mode on
//! loopback) and DynamoDB Local, driven through the `contacts-admin` binary.

use std::process::Command;
use std::sync::OnceLock;

use aws_config::BehaviorVersion;
use aws_sdk_apigateway::config::{Credentials, Region};
use aws_sdk_apigateway::Client;
use contacts_shared::domain::field_defs::FieldSet;
use contacts_shared::domain::field_values::InputValue;
use contacts_shared::domain::field_writes::{resolve_writes, RawFieldWrite};
use contacts_shared::env::{APIGATEWAY_ENDPOINT, DYNAMODB_ENDPOINT, USAGE_PLAN_ID};
use contacts_shared::store::{ContactStore, NewContact};
use contacts_tests::{admin_binary, free_port, logs, runtime, tool, AdminCli, Service};
use serde_json::Value;

/// moto's server (from the project's virtual environment), started once for this test
/// process.
fn moto() -> &'static str {
    static MOTO: OnceLock<(Service, String)> = OnceLock::new();
    let (_, endpoint) = MOTO.get_or_init(|| {
        let port = free_port().unwrap_or_else(|e| panic!("{e:#}"));
        let mut command = Command::new(tool("moto_server").unwrap_or_else(|e| panic!("{e:#}")));
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let mut moto = Service::start("moto_server", "moto", port, command, &logs())
            .unwrap_or_else(|e| panic!("{e:#}"));
        local_stack::ports::wait_listening(&mut moto, port, std::time::Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e:#}"));
        (moto, format!("http://127.0.0.1:{port}"))
    });
    endpoint
}

fn apigateway() -> Client {
    let config = runtime().block_on(
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(moto())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "local"))
            .load(),
    );
    Client::new(&config)
}

/// The value of an API key, or `None` if API Gateway no longer has it.
fn key_value(client: &Client, id: &str) -> Option<String> {
    runtime()
        .block_on(client.get_api_key().api_key(id).include_value(true).send())
        .ok()
        .and_then(|k| k.value().map(str::to_string))
}

fn plan_keys(client: &Client, plan: &str) -> Vec<String> {
    let out = runtime()
        .block_on(client.get_usage_plan_keys().usage_plan_id(plan).send())
        .unwrap();
    out.items()
        .iter()
        .filter_map(|k| k.id().map(str::to_string))
        .collect()
}

#[test]
fn channels_get_a_usage_plan_key_and_lose_it_with_their_last_token() {
    let client = apigateway();
    let plan = runtime()
        .block_on(
            client
                .create_usage_plan()
                .name("contacts-test-channels")
                .send(),
        )
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    let admin = AdminCli::new(&[(APIGATEWAY_ENDPOINT, moto()), (USAGE_PLAN_ID, &plan)]);
    admin.ok(&["table", "create"]);
    let store = admin.store();

    let created = admin.ok(&["channel", "create", "--name", "Keys", "--type", "whatsapp"]);
    let channel = created["channel_id"].as_str().unwrap().to_string();
    let first = created["token"].as_str().unwrap().to_string();
    let key_id = admin.ok(&["channel", "show", "--channel", &channel])["api_key_id"]
        .as_str()
        .unwrap()
        .to_string();
    let grant = runtime()
        .block_on(store.token_grant(&first))
        .unwrap()
        .unwrap();
    assert_eq!(
        key_value(&client, &key_id).as_deref(),
        Some(grant.api_key.as_str()),
        "the authorizer names this key"
    );
    assert_eq!(plan_keys(&client, &plan), vec![key_id.clone()]);

    let second = admin.ok(&["token", "issue", "--channel", &channel])["token"]
        .as_str()
        .unwrap()
        .to_string();
    admin.ok(&["token", "revoke", "--token", &first]);
    assert!(
        key_value(&client, &key_id).is_some(),
        "a live token remains: the key stays"
    );

    admin.ok(&["token", "revoke", "--token", &second]);
    assert_eq!(
        key_value(&client, &key_id),
        None,
        "the last token took the key with it"
    );
    assert!(plan_keys(&client, &plan).is_empty());
    assert_eq!(
        admin.ok(&["channel", "show", "--channel", &channel])["api_key_id"],
        Value::Null
    );

    // A new token brings the key back, with the value the tokens already carry.
    let third = admin.ok(&["token", "issue", "--channel", &channel])["token"]
        .as_str()
        .unwrap()
        .to_string();
    let new_key = admin.ok(&["channel", "show", "--channel", &channel])["api_key_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        key_value(&client, &new_key).as_deref(),
        Some(grant.api_key.as_str())
    );
    assert_eq!(plan_keys(&client, &plan), vec![new_key.clone()]);

    // Deleting the channel removes its key, its tokens, its contacts and their index.
    let fields = FieldSet::default();
    let raw = [RawFieldWrite {
        name: "firstName".into(),
        value: InputValue::Text("Gone".into()),
    }];
    let writes = resolve_writes(&fields, &raw).unwrap();
    let tags = Default::default();
    for id in ["a", "b"] {
        let contact = NewContact {
            id,
            created_at: 1,
            created_micros: 0,
            writes: &writes,
            tags: &tags,
        };
        assert!(runtime()
            .block_on(store.insert_contact(&channel, &contact))
            .unwrap());
    }
    admin.ok(&["channel", "delete", "--channel", &channel]);
    assert_eq!(key_value(&client, &new_key), None);
    assert!(plan_keys(&client, &plan).is_empty());
    assert!(runtime()
        .block_on(store.token_grant(&third))
        .unwrap()
        .is_none());
    assert!(runtime()
        .block_on(store.channel(&channel))
        .unwrap()
        .is_none());
    assert!(runtime()
        .block_on(store.get_contact(&channel, "a"))
        .unwrap()
        .is_none());
    assert_eq!(
        contacts_tests::matches(
            &store,
            &channel,
            (
                "firstName",
                contacts_shared::domain::field_defs::FieldType::Text,
                "Gone"
            )
        ),
        0,
        "index entries deleted"
    );
}

#[test]
fn against_aws_channel_commands_need_the_usage_plan() {
    AdminCli::new(&[]);
    let out = Command::new(admin_binary())
        .args(["--aws", "channel", "create", "--name", "x", "--type", "sms"])
        .env_remove(DYNAMODB_ENDPOINT)
        .env_remove(USAGE_PLAN_ID)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--usage-plan-id"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
