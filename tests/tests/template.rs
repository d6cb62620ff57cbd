//! What `template.yaml` must never lose: the stage, the authorizer and API keys on every
//! metered route, the usage plan's throttle, the contract's gateway responses, each
//! function's route and binary, the table's keys, least-privilege IAM, tracing, JSON logs
//! and log retention.

use std::collections::{BTreeMap, BTreeSet};

use contacts_shared::api::functions::{self, Function, Role, FUNCTIONS};
use contacts_shared::error::GATEWAY_ERRORS;
use contacts_shared::ApiError;
use contacts_tests::repo_root;
use serde_yaml_ng::Value;

fn template() -> Value {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    serde_yaml_ng::from_str(&text).expect("template is YAML")
}

fn at<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(value, |v, key| {
        v.get(*key)
            .unwrap_or_else(|| panic!("missing {key} in {path:?}"))
    })
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Tagged(t) => format!("{} {}", t.tag, text(&t.value)),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn resources_of(t: &Value, kind: &str) -> BTreeMap<String, Value> {
    at(t, &["Resources"])
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
        .map(|(name, r)| (name.as_str().unwrap().to_string(), r.clone()))
        .collect()
}

/// What a function must be, by the table of functions: its routes (the responder's: `ANY`
/// on every resource) and the DynamoDB actions it may call.
fn expected(function: &Function) -> (Vec<(String, String)>, BTreeSet<String>) {
    let mut routes: Vec<(String, String)> = match function.role {
        Role::Endpoint { method, path } => vec![(method.to_string(), path.to_string())],
        Role::Responder => functions::resources()
            .into_iter()
            .map(|path| ("ANY".to_string(), path.to_string()))
            .collect(),
        Role::Authorizer => Vec::new(),
    };
    routes.sort();
    let actions = function.dynamodb.iter().map(|a| a.to_string()).collect();
    (routes, actions)
}

#[test]
fn the_rest_api_its_authorizer_and_usage_plan() {
    let t = template();
    let apis = resources_of(&t, "AWS::Serverless::Api");
    assert_eq!(apis.keys().collect::<Vec<_>>(), vec!["ContactsApi"]);
    let api = at(&apis["ContactsApi"], &["Properties"]);
    assert_eq!(text(at(api, &["StageName"])), "api");
    assert_eq!(text(at(api, &["ApiKeySourceType"])), "AUTHORIZER");
    assert_eq!(at(api, &["TracingEnabled"]).as_bool(), Some(true));
    let auth = at(api, &["Auth"]);
    assert_eq!(
        text(at(auth, &["DefaultAuthorizer"])),
        "ChannelTokenAuthorizer"
    );
    assert_eq!(
        at(auth, &["ApiKeyRequired"]).as_bool(),
        Some(true),
        "usage plans meter only key-required methods"
    );
    let authorizer = at(auth, &["Authorizers", "ChannelTokenAuthorizer"]);
    assert_eq!(text(at(authorizer, &["FunctionPayloadType"])), "REQUEST");
    assert_eq!(
        text(at(authorizer, &["FunctionArn"])),
        "!GetAtt AuthorizerFunction.Arn"
    );
    assert_eq!(
        at(authorizer, &["Identity", "Headers"])
            .as_sequence()
            .unwrap()
            .iter()
            .map(text)
            .collect::<Vec<_>>(),
        vec!["Authorization"]
    );
    assert_eq!(
        at(authorizer, &["Identity", "ReauthorizeEvery"]).as_u64(),
        Some(300)
    );

    let plans = resources_of(&t, "AWS::ApiGateway::UsagePlan");
    assert_eq!(plans.len(), 1);
    let plan = at(plans.values().next().unwrap(), &["Properties"]);
    assert_eq!(at(plan, &["Throttle", "BurstLimit"]).as_u64(), Some(100));
    let rate = at(plan, &["Throttle", "RateLimit"]).as_f64().unwrap();
    assert!(
        (rate * 60.0 - 100.0).abs() < 1e-6,
        "100 calls a minute, not {rate}/s"
    );
    let stage = &at(plan, &["ApiStages"]).as_sequence().unwrap()[0];
    assert_eq!(text(at(stage, &["ApiId"])), "!Ref ContactsApi");
    assert_eq!(text(at(stage, &["Stage"])), "api");
    assert!(
        plan.get("Quota").is_none(),
        "the contract has a rate, not a quota"
    );
}

#[test]
fn gateway_responses_are_the_contracts_envelopes() {
    let t = template();
    let responses = at(
        &t,
        &["Resources", "ContactsApi", "Properties", "GatewayResponses"],
    );
    let envelope = |error: &ApiError| error.envelope().to_string();
    let mut expected: Vec<(&str, Option<u64>, String)> = GATEWAY_ERRORS
        .iter()
        .map(|(kind, error)| (*kind, Some(u64::from(error.status())), envelope(error)))
        .collect();
    expected.push((
        "DEFAULT_4XX",
        Some(u64::from(ApiError::invalid("").status())),
        r#"{"status":"error","message":$context.error.messageString,"data":[]}"#.to_string(),
    ));
    expected.push(("DEFAULT_5XX", None, envelope(&ApiError::Internal)));
    for (kind, status, body) in expected {
        let response = at(responses, &[kind]);
        assert_eq!(
            response.get("StatusCode").and_then(Value::as_u64),
            status,
            "{kind}"
        );
        assert_eq!(
            text(at(response, &["ResponseTemplates", "application/json"])),
            body,
            "{kind}"
        );
    }
}

#[test]
fn functions_routes_binaries_and_least_privilege() {
    let t = template();
    let functions = resources_of(&t, "AWS::Serverless::Function");
    let binary = |function: &Value| text(at(function, &["Metadata", "BuildProperties", "Binary"]));
    assert_eq!(
        functions.values().map(binary).collect::<BTreeSet<_>>(),
        FUNCTIONS.iter().map(|f| f.name.to_string()).collect(),
        "the template's functions are the table's"
    );
    for (name, function) in &functions {
        let row = functions::function(&binary(function)).expect("a function of the table");
        let (routes, actions) = expected(row);
        assert_eq!(
            text(at(function, &["Metadata", "BuildMethod"])),
            "rust-cargolambda",
            "{name}"
        );
        let props = at(function, &["Properties"]);

        let mut got_routes = Vec::new();
        for event in props
            .get("Events")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .map(|(_, e)| e)
        {
            assert_eq!(text(at(event, &["Type"])), "Api", "{name}");
            let e = at(event, &["Properties"]);
            assert_eq!(text(at(e, &["RestApiId"])), "!Ref ContactsApi", "{name}");
            let method = text(at(e, &["Method"]));
            if method == "ANY" {
                assert_eq!(
                    text(at(e, &["Auth", "Authorizer"])),
                    "NONE",
                    "405 comes before authentication"
                );
                assert_eq!(at(e, &["Auth", "ApiKeyRequired"]).as_bool(), Some(false));
            } else {
                assert!(
                    e.get("Auth").is_none(),
                    "{name} must keep the default authorizer and API key"
                );
            }
            got_routes.push((method, text(at(e, &["Path"]))));
        }
        got_routes.sort();
        assert_eq!(got_routes, routes, "{name}");

        let mut granted = BTreeSet::new();
        for policy in props
            .get("Policies")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            for statement in at(policy, &["Statement"]).as_sequence().unwrap() {
                assert_eq!(text(at(statement, &["Effect"])), "Allow");
                assert_eq!(
                    text(at(statement, &["Resource"])),
                    "!GetAtt ContactsTable.Arn",
                    "{name}: this table only"
                );
                for action in at(statement, &["Action"]).as_sequence().unwrap() {
                    let action = text(action);
                    assert!(
                        !action.contains('*'),
                        "{name}: no wildcard actions ({action})"
                    );
                    granted.insert(action);
                }
            }
        }
        assert_eq!(granted, actions, "{name}");

        // Logs: their own group, with retention.
        let group = text(at(props, &["LoggingConfig", "LogGroup"]));
        let group = group.strip_prefix("!Ref ").expect("LogGroup is a !Ref");
        let group = at(&t, &["Resources", group]);
        assert_eq!(text(at(group, &["Type"])), "AWS::Logs::LogGroup");
        assert_eq!(
            text(at(group, &["Properties", "RetentionInDays"])),
            "!Ref LogRetentionDays"
        );
    }

    let globals = at(&t, &["Globals", "Function"]);
    assert_eq!(text(at(globals, &["Runtime"])), "provided.al2023");
    assert_eq!(
        at(globals, &["Architectures"])
            .as_sequence()
            .unwrap()
            .iter()
            .map(text)
            .collect::<Vec<_>>(),
        vec!["arm64"]
    );
    assert_eq!(text(at(globals, &["Tracing"])), "Active");
    // The operator tool waits this out before a field change or a channel delete settles.
    assert_eq!(
        at(globals, &["Timeout"]).as_u64(),
        Some(contacts_shared::limits::FUNCTION_TIMEOUT_SECONDS)
    );
    assert_eq!(text(at(globals, &["LoggingConfig", "LogFormat"])), "JSON");
    assert_eq!(
        text(at(globals, &["Environment", "Variables", "CONTACTS_TABLE"])),
        "!Ref ContactsTable"
    );
    assert!(at(&t, &["Parameters", "LogRetentionDays", "Default"])
        .as_u64()
        .is_some());
}

#[test]
fn the_table_is_keyed_by_pk_and_sk() {
    let t = template();
    let table = at(&t, &["Resources", "ContactsTable"]);
    assert_eq!(text(at(table, &["Type"])), "AWS::DynamoDB::Table");
    assert_eq!(
        text(at(table, &["DeletionPolicy"])),
        "Retain",
        "contacts outlive the stack"
    );
    let props = at(table, &["Properties"]);
    assert_eq!(text(at(props, &["BillingMode"])), "PAY_PER_REQUEST");
    let keys: Vec<(String, String)> = at(props, &["KeySchema"])
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| (text(at(k, &["AttributeName"])), text(at(k, &["KeyType"]))))
        .collect();
    assert_eq!(
        keys,
        vec![("PK".into(), "HASH".into()), ("SK".into(), "RANGE".into())]
    );
    assert_eq!(
        text(at(props, &["TimeToLiveSpecification", "AttributeName"])),
        "expires_at",
        "idempotency records expire"
    );
    assert!(
        props.get("GlobalSecondaryIndexes").is_none(),
        "the field index lives in the table's own partitions"
    );
    assert_eq!(
        at(
            props,
            &[
                "PointInTimeRecoverySpecification",
                "PointInTimeRecoveryEnabled"
            ]
        )
        .as_bool(),
        Some(true)
    );
    for output in ["ApiUrl", "UsagePlanId", "TableName"] {
        assert!(
            at(&t, &["Outputs"]).get(output).is_some(),
            "output {output}"
        );
    }
    assert!(text(at(&t, &["Outputs", "ApiUrl", "Value"])).ends_with("/api"));
}
