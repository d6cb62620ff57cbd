//! Every file in `events/` through `cargo lambda invoke`, against the stack's
//! `cargo lambda watch`. The events act for channel `demo`, seeded here.

use std::path::Path;
use std::process::Command;

use contacts_shared::api::functions::{self, Role, FUNCTIONS};
use contacts_tests::{repo_root, runtime, tool};
use local_stack::seed;
use serde_json::{json, Value};

use crate::{assert_consistent, stack};

fn invoke(function: &str, event: &Path) -> Value {
    let out = Command::new(tool("cargo-lambda").unwrap_or_else(|e| panic!("{e:#}")))
        .args(["lambda", "invoke", function, "--output-format", "json"])
        .arg("--data-file")
        .arg(event)
        .args([
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &stack().invoke_port.to_string(),
        ])
        .output()
        .expect("cargo lambda invoke");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|_| json!({"exit": out.status.code(), "stdout": stdout, "stderr": stderr}))
}

fn body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}

/// The demo channel the events act for (as `make dev` makes it), once per stack.
fn seed() -> String {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN
        .get_or_init(|| {
            runtime()
                .block_on(seed::demo(&stack().store, seed::DEMO_CHANNEL))
                .expect("the demo channel")
        })
        .clone()
}

#[test]
fn every_event_file_invokes_its_function() {
    let token = seed();
    let dir = repo_root().join("events");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected: Vec<String> = FUNCTIONS
        .iter()
        .map(|f| format!("{}.json", f.name))
        .collect();
    expected.sort();
    assert_eq!(files, expected, "one event per function of the table");
    for function in FUNCTIONS {
        let name = function.name;
        let response = invoke(name, &dir.join(format!("{name}.json")));
        match function.role {
            // The file's token is a placeholder: the authorizer refuses it.
            Role::Authorizer => {
                assert!(response.to_string().contains("Unauthorized"), "{response}")
            }
            Role::Responder => {
                assert_eq!(response["statusCode"], 405, "{name}: {response}");
                assert_eq!(body(&response)["message"], "405 Method Not Allowed.");
            }
            Role::Endpoint { .. } => {
                assert_eq!(response["statusCode"], 200, "{name}: {response}");
                what_it_answers(name, &body(&response));
            }
            // The stream batch is handled (the demo channel has no webhook here), and the
            // queued delivery's webhook is gone: nothing to try again.
            Role::Stream | Role::Queue => {
                assert_eq!(response, json!({"batchItemFailures": []}), "{name}")
            }
        }
    }

    // A request that did not come through the authorizer carries no channel: refused.
    for (function, _, _) in functions::endpoints() {
        let function = function.name;
        let mut event: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{function}.json"))).unwrap(),
        )
        .unwrap();
        event["requestContext"]
            .as_object_mut()
            .unwrap()
            .remove("authorizer");
        let bare =
            std::env::temp_dir().join(format!("{function}-bare-{}.json", std::process::id()));
        std::fs::write(&bare, event.to_string()).unwrap();
        let response = invoke(function, &bare);
        let _ = std::fs::remove_file(&bare);
        assert_eq!(response["statusCode"], 401, "{function}: {response}");
        assert_eq!(
            body(&response),
            contacts_tests::envelope("API Token is invalid.")
        );
    }

    // The authorizer event with a live token: the whole stage is allowed, the channel is
    // in the context, and its API key is named for the usage plan.
    let text = std::fs::read_to_string(dir.join("authorizer.json"))
        .unwrap()
        .replace("ct_replace-with-a-channel-token", &token);
    let live = std::env::temp_dir().join(format!("authorizer-{}.json", std::process::id()));
    std::fs::write(&live, text).unwrap();
    let response = invoke("authorizer", &live);
    let _ = std::fs::remove_file(&live);
    assert_eq!(response["principalId"], "demo", "{response}");
    assert_eq!(
        response["context"],
        json!({"channel_id": "demo", "channel_type": "facebook"})
    );
    assert_eq!(
        response["policyDocument"]["Statement"][0]["Effect"],
        "Allow"
    );
    assert_eq!(
        response["policyDocument"]["Statement"][0]["Resource"],
        json!(["arn:aws:execute-api:us-east-1:123456789012:local/api/*"])
    );
    assert!(response["usageIdentifierKey"]
        .as_str()
        .is_some_and(|k| k.len() >= 20));
    assert_consistent(seed::DEMO_CHANNEL);
}

/// What the answer to an endpoint's event holds, where the demo data decides it.
fn what_it_answers(function: &str, body: &Value) {
    match function {
        "create-contact" => assert!(body["data"]["id"].is_string(), "{body}"),
        "get-contact" => assert_eq!(body["data"]["custom_fields"]["customerid"], "1"),
        "update-contact" => assert_eq!(body, &json!({"data": {"id": seed::DEMO_CONTACT}})),
        "delete-contact" => assert_eq!(body["message"], "Contact deleted successfully."),
        "upsert-contact" => {
            assert!(body["data"]["id"].is_string(), "{body}");
            assert!(body["data"]["created"].is_boolean(), "{body}");
        }
        // After the delete: the contacts the create event made.
        "list-contacts" => assert!(body["data"].as_array().is_some_and(|d| !d.is_empty())),
        "find-contacts" => {
            assert!(body["meta"]["total"].as_u64().unwrap() >= 1, "{body}");
            assert_eq!(
                body["meta"]["path"],
                "http://127.0.0.1:3000/api/v1/contact/by_custom_field"
            );
        }
        _ => assert!(body.is_object(), "{function}: {body}"),
    }
}
