//! What `template.yaml` must never lose: the stage (the only one SAM makes of it), the
//! authorizer and API keys on every metered route, the usage plan's throttle, the
//! contract's gateway responses, each function's route and binary, the table's keys,
//! least-privilege IAM, tracing, JSON logs and log retention; and the change events'
//! plumbing: the table's stream, its mapping to the dispatch function, the delivery queue
//! with its dead-letter queue and its mapping to the delivery function, and the sealing
//! key, each held to the limits it is sized by; and operations: `Retry-After` on 429, the
//! stage's access logs and method settings, the alarms and their topic, the dashboard, and
//! no CORS.

use std::collections::{BTreeMap, BTreeSet};

use contacts_shared::api::functions::{self, Function, Role, FUNCTIONS};
use contacts_shared::error::GATEWAY_ERRORS;
use contacts_shared::store::dynamo::keys;
use contacts_shared::webhooks::retry::RetrySchedule;
use contacts_shared::webhooks::seal::MIN_KEY_CHARS;
use contacts_shared::{env, limits, ApiError};
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
        // The arguments of a function (`!If [c, a, b]`).
        Value::Sequence(items) => {
            let items: Vec<String> = items.iter().map(text).collect();
            format!("[{}]", items.join(", "))
        }
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
        Role::Endpoint { method, path, .. } => vec![(method.to_string(), path.to_string())],
        Role::Responder => functions::resources()
            .into_iter()
            .map(|path| ("ANY".to_string(), path.to_string()))
            .collect(),
        Role::Authorizer | Role::Stream | Role::Queue => Vec::new(),
    };
    routes.sort();
    let actions = function.dynamodb.iter().map(|a| a.to_string()).collect();
    (routes, actions)
}

/// What a function may do besides its DynamoDB actions on the table's items, by its role:
/// `(action, resource)`.
fn expected_grants(role: Role) -> BTreeSet<(String, String)> {
    const STREAM: &str = "!GetAtt ContactsTable.StreamArn";
    const QUEUE: &str = "!GetAtt WebhookQueue.Arn";
    const BULK: &str = "!GetAtt WebhookBulkQueue.Arn";
    let grants: &[(&str, &str)] = match role {
        Role::Stream => &[
            ("dynamodb:DescribeStream", STREAM),
            ("dynamodb:GetRecords", STREAM),
            ("dynamodb:GetShardIterator", STREAM),
            ("dynamodb:ListStreams", STREAM),
            ("sqs:SendMessage", QUEUE),
            ("sqs:SendMessage", BULK),
            // The stream mapping's on-failure destination.
            ("sqs:SendMessage", "!GetAtt StreamFailureQueue.Arn"),
        ],
        Role::Queue => &[
            ("sqs:ReceiveMessage", QUEUE),
            ("sqs:DeleteMessage", QUEUE),
            ("sqs:GetQueueAttributes", QUEUE),
            ("sqs:ChangeMessageVisibility", QUEUE),
            ("sqs:ReceiveMessage", BULK),
            ("sqs:DeleteMessage", BULK),
            ("sqs:GetQueueAttributes", BULK),
            ("sqs:ChangeMessageVisibility", BULK),
            ("secretsmanager:GetSecretValue", SEALING_KEY),
        ],
        Role::Endpoint { .. } | Role::Authorizer | Role::Responder => &[],
    };
    grants
        .iter()
        .map(|(action, resource)| (action.to_string(), resource.to_string()))
        .collect()
}

/// The stack's own sealing key, or an earlier stack's named by a parameter.
const SEALING_KEY: &str = "!If [MakesSealingKey, !Ref WebhookSealingKey, !Ref SealingKeySecretArn]";

/// A function's environment, by its role: only the delivery function holds the sealing key.
fn expected_environment(role: Role) -> BTreeMap<String, String> {
    let mut variables = vec![
        (env::CONTACTS_TABLE, "!Ref ContactsTable"),
        (env::METRICS_NAMESPACE, "!Ref MetricsNamespace"),
    ];
    match role {
        Role::Stream => variables.extend([
            (env::WEBHOOK_QUEUE_URL, "!Ref WebhookQueue"),
            (env::WEBHOOK_BULK_QUEUE_URL, "!Ref WebhookBulkQueue"),
        ]),
        Role::Queue => variables.extend([
            (env::WEBHOOK_QUEUE_URL, "!Ref WebhookQueue"),
            (env::WEBHOOK_BULK_QUEUE_URL, "!Ref WebhookBulkQueue"),
            (env::WEBHOOK_SEALING_KEY_SECRET, SEALING_KEY),
        ]),
        Role::Endpoint { .. } | Role::Authorizer | Role::Responder => {}
    }
    variables
        .into_iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn variables(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(|v| v.get("Variables"))
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .map(|(name, value)| (text(name), text(value)))
        .collect()
}

/// The resource name of the one function of the table with `role`.
fn function_with(t: &Value, role: Role) -> String {
    let names: Vec<String> = resources_of(t, "AWS::Serverless::Function")
        .into_iter()
        .filter(|(_, f)| {
            let binary = text(at(f, &["Metadata", "BuildProperties", "Binary"]));
            functions::function(&binary).map(|row| row.role) == Some(role)
        })
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names.len(), 1, "one {role:?} function: {names:?}");
    names.into_iter().next().unwrap()
}

/// The properties of every event source mapping that invokes `function`.
fn mappings_of(t: &Value, function: &str) -> Vec<Value> {
    let reference = format!("!Ref {function}");
    resources_of(t, "AWS::Lambda::EventSourceMapping")
        .into_values()
        .filter(|m| text(at(m, &["Properties", "FunctionName"])) == reference)
        .map(|m| at(&m, &["Properties"]).clone())
        .collect()
}

/// The properties of the one event source mapping that invokes `function`.
fn mapping_of(t: &Value, function: &str) -> Value {
    let mappings = mappings_of(t, function);
    assert_eq!(mappings.len(), 1, "one event source mapping for {function}");
    mappings.into_iter().next().unwrap()
}

/// The properties of the SQS queue `!GetAtt {name}.Arn` names.
fn queue_at(t: &Value, arn: &str) -> Value {
    let name = arn
        .strip_prefix("!GetAtt ")
        .and_then(|a| a.strip_suffix(".Arn"))
        .unwrap_or_else(|| panic!("{arn} is not a !GetAtt of a queue's Arn"));
    let queue = at(t, &["Resources", name]);
    assert_eq!(text(at(queue, &["Type"])), "AWS::SQS::Queue", "{name}");
    let props = at(queue, &["Properties"]);
    assert_eq!(
        at(props, &["SqsManagedSseEnabled"]).as_bool(),
        Some(true),
        "{name} is encrypted"
    );
    props.clone()
}

const FOURTEEN_DAYS: u64 = 14 * 24 * 60 * 60;

fn only(value: &Value) -> String {
    let items = value.as_sequence().expect("a list");
    assert_eq!(items.len(), 1, "{items:?}");
    text(&items[0])
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
            // Stream and queue consumers have explicit event source mappings: SAM's events
            // would attach managed policies reading every stream or queue.
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
        let mut other_grants = BTreeSet::new();
        for policy in props
            .get("Policies")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            for statement in at(policy, &["Statement"]).as_sequence().unwrap() {
                assert_eq!(text(at(statement, &["Effect"])), "Allow");
                let resources: Vec<String> = match at(statement, &["Resource"]) {
                    Value::Sequence(listed) => listed.iter().map(text).collect(),
                    one => vec![text(one)],
                };
                for resource in resources {
                    assert!(
                        !resource.contains('*'),
                        "{name}: no wildcard resources ({resource})"
                    );
                    for action in at(statement, &["Action"]).as_sequence().unwrap() {
                        let action = text(action);
                        assert!(
                            !action.contains('*'),
                            "{name}: no wildcard actions ({action})"
                        );
                        if resource == "!GetAtt ContactsTable.Arn" {
                            granted.insert(action);
                        } else {
                            other_grants.insert((action, resource.clone()));
                        }
                    }
                }
            }
        }
        assert_eq!(granted, actions, "{name}: the table's items");
        assert_eq!(other_grants, expected_grants(row.role), "{name}");

        let mut environment = variables(at(&t, &["Globals", "Function"]).get("Environment"));
        environment.extend(variables(props.get("Environment")));
        assert_eq!(environment, expected_environment(row.role), "{name}");
        assert!(
            props.get("Timeout").is_none(),
            "{name}: the Globals timeout is every function's"
        );

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
        text(at(
            globals,
            &["Environment", "Variables", env::CONTACTS_TABLE]
        )),
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
    assert_eq!(
        text(at(props, &["StreamSpecification", "StreamViewType"])),
        "NEW_AND_OLD_IMAGES",
        "change events diff a contact's old and new image"
    );
    for output in [
        "ApiUrl",
        "UsagePlanId",
        "TableName",
        "WebhookQueueUrl",
        "WebhookDeadLetterQueueUrl",
        "StreamFailureQueueUrl",
        "WebhookSealingKeyArn",
    ] {
        assert!(
            at(&t, &["Outputs"]).get(output).is_some(),
            "output {output}"
        );
    }
    assert!(text(at(&t, &["Outputs", "ApiUrl", "Value"])).ends_with("/api"));
}

#[test]
fn contact_changes_reach_the_dispatch_function() {
    let t = template();
    let dispatch = function_with(&t, Role::Stream);
    let mapping = mapping_of(&t, &dispatch);
    assert_eq!(
        text(at(&mapping, &["EventSourceArn"])),
        "!GetAtt ContactsTable.StreamArn"
    );
    assert_eq!(
        text(at(&mapping, &["StartingPosition"])),
        "TRIM_HORIZON",
        "a new stack's first changes are not lost"
    );
    assert_eq!(
        at(&mapping, &["BatchSize"]).as_u64(),
        Some(limits::WEBHOOK_STREAM_BATCH as u64)
    );
    assert_eq!(
        at(&mapping, &["MaximumBatchingWindowInSeconds"]).as_u64(),
        Some(0)
    );
    assert_eq!(
        at(&mapping, &["ParallelizationFactor"]).as_u64(),
        Some(limits::WEBHOOK_STREAM_PARALLELIZATION as u64),
        "a bursting channel holds up only the keys of its lane"
    );
    assert_eq!(
        only(at(&mapping, &["FunctionResponseTypes"])),
        "ReportBatchItemFailures"
    );
    assert_eq!(
        at(&mapping, &["BisectBatchOnFunctionError"]).as_bool(),
        Some(true)
    );
    // Bounded, so a bad record holds up its shard for a while only, and goes to the
    // failure queue while the stream (24 hours) still has it.
    let retries = at(&mapping, &["MaximumRetryAttempts"]).as_i64().unwrap();
    assert!((0..=100).contains(&retries), "{retries} retries");
    let age = at(&mapping, &["MaximumRecordAgeInSeconds"])
        .as_i64()
        .unwrap();
    assert!((60..24 * 60 * 60).contains(&age), "{age} s");
    let failures = text(at(
        &mapping,
        &["DestinationConfig", "OnFailure", "Destination"],
    ));
    assert_eq!(failures, "!GetAtt StreamFailureQueue.Arn");
    let failures = queue_at(&t, &failures);
    assert_eq!(
        at(&failures, &["MessageRetentionPeriod"]).as_u64(),
        Some(FOURTEEN_DAYS)
    );

    // Contact items only: no other item's sort key starts as a contact's does.
    let filters = at(&mapping, &["FilterCriteria", "Filters"])
        .as_sequence()
        .unwrap();
    assert_eq!(filters.len(), 1);
    let pattern: serde_json::Value =
        serde_json::from_str(&text(at(&filters[0], &["Pattern"]))).expect("a JSON pattern");
    let prefix = keys::contact_sk("");
    assert_eq!(
        pattern,
        serde_json::json!({"dynamodb": {"Keys": {keys::SK: {"S": [{"prefix": prefix}]}}}})
    );
    assert!(keys::contact_sk("c1").starts_with(&prefix));
    for other in [
        keys::CHANNEL_SK.to_string(),
        keys::TOKEN_SK.to_string(),
        keys::IDEMPOTENCY_SK.to_string(),
        keys::API_KEY_SK.to_string(),
        keys::index_sk(1_700_000_000, Some(1), "c1"),
        keys::count_shard_sk(0),
        keys::page_mark_sk(10, 1),
        keys::claim_sk("x"),
    ] {
        assert!(!other.starts_with(&prefix), "{other} is not a contact");
    }
}

#[test]
fn deliveries_retry_through_the_queue_then_its_dead_letter_queue() {
    let t = template();
    let deliver = function_with(&t, Role::Queue);
    let mappings = mappings_of(&t, &deliver);
    let sources: BTreeSet<String> = mappings
        .iter()
        .map(|m| text(at(m, &["EventSourceArn"])))
        .collect();
    assert_eq!(
        sources,
        BTreeSet::from([
            "!GetAtt WebhookQueue.Arn".to_string(),
            "!GetAtt WebhookBulkQueue.Arn".to_string()
        ]),
        "the ordinary and the bulk queue, each with a consumer of its own"
    );
    for mapping in &mappings {
        queue_mapping_is_sound(&t, mapping);
    }
}

fn queue_mapping_is_sound(t: &Value, mapping: &Value) {
    let queue_arn = text(at(mapping, &["EventSourceArn"]));
    assert_eq!(
        at(mapping, &["BatchSize"]).as_u64(),
        Some(limits::WEBHOOK_DELIVERY_BATCH as u64)
    );
    assert_eq!(
        at(mapping, &["MaximumBatchingWindowInSeconds"]).as_u64(),
        Some(0)
    );
    assert_eq!(
        only(at(mapping, &["FunctionResponseTypes"])),
        "ReportBatchItemFailures",
        "a failed delivery comes back alone, after the delay it set"
    );
    let concurrency = at(mapping, &["ScalingConfig", "MaximumConcurrency"])
        .as_u64()
        .unwrap();
    assert!((2..=1000).contains(&concurrency), "{concurrency}");

    let queue = queue_at(t, &queue_arn);
    // The delivery function runs for the Globals timeout (no function sets its own).
    let timeout = at(t, &["Globals", "Function", "Timeout"]).as_u64().unwrap();
    let visibility = at(&queue, &["VisibilityTimeout"]).as_u64().unwrap();
    assert_eq!(visibility, limits::WEBHOOK_VISIBILITY_SECONDS);
    assert!(
        visibility >= 6 * timeout,
        "AWS advises 6x the function's timeout"
    );
    assert!(limits::WEBHOOK_DELIVERY_TIMEOUT_SECONDS < timeout);
    assert_eq!(
        at(&queue, &["RedrivePolicy", "maxReceiveCount"]).as_u64(),
        Some(u64::from(limits::WEBHOOK_MAX_ATTEMPTS))
    );
    // Every retry fits the queue's retention (the retry module holds each delay under the
    // 12 hours SQS allows).
    let schedule = RetrySchedule {
        base: std::time::Duration::from_secs(limits::DEFAULT_RETRY_BASE_SECONDS),
        max: std::time::Duration::from_secs(limits::DEFAULT_RETRY_MAX_SECONDS),
    };
    let retention = at(&queue, &["MessageRetentionPeriod"]).as_u64().unwrap();
    assert!(retention > schedule.span().as_secs() + visibility);

    let dead = text(at(&queue, &["RedrivePolicy", "deadLetterTargetArn"]));
    assert_eq!(dead, "!GetAtt WebhookDeadLetterQueue.Arn");
    let dead = queue_at(t, &dead);
    assert!(dead.get("RedrivePolicy").is_none());
    assert_eq!(
        at(&dead, &["MessageRetentionPeriod"]).as_u64(),
        Some(FOURTEEN_DAYS)
    );
}

#[test]
fn the_sealing_key_is_generated_and_only_the_delivery_function_holds_it() {
    let t = template();
    let secret = at(&t, &["Resources", "WebhookSealingKey"]);
    assert_eq!(text(at(secret, &["Type"])), "AWS::SecretsManager::Secret");
    for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
        assert_eq!(
            text(at(secret, &[policy])),
            "Retain",
            "the retained table's secrets need it"
        );
    }
    let generated = at(secret, &["Properties", "GenerateSecretString"]);
    let length = at(generated, &["PasswordLength"]).as_u64().unwrap();
    assert!(length >= MIN_KEY_CHARS as u64, "{length} characters");
    assert_eq!(at(generated, &["ExcludePunctuation"]).as_bool(), Some(true));
    assert!(
        at(secret, &["Properties"]).get("SecretString").is_none(),
        "generated, never written down"
    );
    // Made unless an earlier stack's is named (a stack re-created with its table).
    assert_eq!(text(at(secret, &["Condition"])), "MakesSealingKey");
    assert_eq!(
        text(at(&t, &["Parameters", "SealingKeySecretArn", "Default"])),
        ""
    );
    // The delivery function reads it (its environment and grants are checked with every
    // function's): by the secret's ARN, so a rotation reaches it with no redeploy.
    let deliver = function_with(&t, Role::Queue);
    assert_eq!(
        text(at(
            &t,
            &[
                "Resources",
                &deliver,
                "Properties",
                "Environment",
                "Variables",
                env::WEBHOOK_SEALING_KEY_SECRET
            ]
        )),
        SEALING_KEY
    );
    assert_eq!(
        text(at(&t, &["Outputs", "WebhookSealingKeyArn", "Value"])),
        SEALING_KEY,
        "the admin tool reads it by its ARN"
    );
}

#[test]
fn every_failure_queue_has_an_alarm() {
    let t = template();
    let alarmed: BTreeSet<String> = resources_of(&t, "AWS::CloudWatch::Alarm")
        .values()
        .map(|alarm| at(alarm, &["Properties"]))
        .filter(|a| {
            a.get("MetricName").map(text).as_deref() == Some("ApproximateNumberOfMessagesVisible")
        })
        .filter(|a| text(at(a, &["ComparisonOperator"])) == "GreaterThanThreshold")
        .filter(|a| at(a, &["Threshold"]).as_f64() == Some(0.0))
        .map(|a| {
            text(at(
                &at(a, &["Dimensions"]).as_sequence().unwrap()[0],
                &["Value"],
            ))
        })
        .collect();
    for queue in ["WebhookDeadLetterQueue", "StreamFailureQueue"] {
        assert!(
            alarmed.contains(&format!("!GetAtt {queue}.QueueName")),
            "{queue}: {alarmed:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Operations: Retry-After, access logs, method settings, alarms, the dashboard, no CORS.

/// The API's Properties.
fn api(t: &Value) -> &Value {
    at(t, &["Resources", "ContactsApi", "Properties"])
}

/// Every function's resource name and binary, by the template.
fn function_binaries(t: &Value) -> BTreeMap<String, String> {
    resources_of(t, "AWS::Serverless::Function")
        .into_iter()
        .map(|(name, f)| {
            let binary = text(at(&f, &["Metadata", "BuildProperties", "Binary"]));
            (name, binary)
        })
        .collect()
}

#[test]
fn every_429_says_when_to_retry() {
    let t = template();
    let plan = resources_of(&t, "AWS::ApiGateway::UsagePlan");
    let plan = at(plan.values().next().unwrap(), &["Properties", "Throttle"]);
    let rate = at(plan, &["RateLimit"]).as_f64().unwrap();
    // The wait after which the bucket surely holds a call again, in whole seconds.
    let refill = (1.0 / rate).ceil() as u64;
    assert_eq!(refill, 1);
    let throttled: Vec<&str> = GATEWAY_ERRORS
        .iter()
        .filter(|(_, error)| error.status() == 429)
        .map(|(kind, _)| *kind)
        .collect();
    assert_eq!(throttled, ["THROTTLED", "QUOTA_EXCEEDED"]);
    for kind in throttled {
        let response = at(api(&t), &["GatewayResponses", kind]);
        assert_eq!(at(response, &["StatusCode"]).as_u64(), Some(429), "{kind}");
        // SAM's form: its translator refuses API Gateway's gatewayresponse.header.* keys.
        let headers = at(response, &["ResponseParameters", "Headers"]);
        assert_eq!(
            text(at(headers, &["Retry-After"])),
            format!("'{refill}'"),
            "{kind}: a static, whole number of seconds"
        );
    }
}

#[test]
fn the_stage_writes_one_json_access_log_line_per_call() {
    let t = template();
    let setting = at(api(&t), &["AccessLogSetting"]);
    assert_eq!(
        text(at(setting, &["DestinationArn"])),
        "!Sub arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${ApiAccessLogGroup}",
        "the log group's ARN without GetAtt's trailing :*"
    );
    let group = at(&t, &["Resources", "ApiAccessLogGroup"]);
    assert_eq!(text(at(group, &["Type"])), "AWS::Logs::LogGroup");
    assert_eq!(
        text(at(group, &["Properties", "RetentionInDays"])),
        "!Ref LogRetentionDays"
    );

    let format = text(at(setting, &["Format"]));
    assert!(!format.contains('\n'), "one line per call");
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&format).expect("the format is a JSON object");
    let variable = |key: &str| {
        fields
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("the access log has no {key}"))
    };
    let channel = format!(
        "$context.authorizer.{}",
        contacts_shared::api::authorizer::CHANNEL_ID
    );
    for (key, expected) in [
        ("requestId", "$context.requestId"),
        ("channelId", channel.as_str()),
        ("ip", "$context.identity.sourceIp"),
        ("httpMethod", "$context.httpMethod"),
        ("resourcePath", "$context.resourcePath"),
        ("status", "$context.status"),
        ("responseLatency", "$context.responseLatency"),
        ("integrationLatency", "$context.integrationLatency"),
        ("errorType", "$context.error.responseType"),
        ("errorMessage", "$context.error.message"),
        ("authorizerError", "$context.authorizer.error"),
    ] {
        assert_eq!(variable(key), expected, "{key}");
    }
    for (key, value) in &fields {
        let value = value
            .as_str()
            .unwrap_or_else(|| panic!("{key} is not quoted"));
        // Quoted whole: API Gateway writes "-" for a missing value.
        assert!(
            value.starts_with("$context.") && !value[1..].contains('$'),
            "{key}: {value}"
        );
        // Never the token (a header), contact ids (the path) or searched values (the query).
        for private in [
            "header",
            "querystring",
            "$context.path",
            "$input",
            "$method",
        ] {
            assert!(!value.contains(private), "{key} logs {value}");
        }
    }

    // Access logs need the account's CloudWatch role, set before the stage.
    assert_eq!(
        text(at(&t, &["Resources", "ContactsApi", "DependsOn"])),
        "ApiGatewayAccount"
    );
    let account = at(&t, &["Resources", "ApiGatewayAccount"]);
    assert_eq!(text(at(account, &["Type"])), "AWS::ApiGateway::Account");
    assert_eq!(
        text(at(account, &["Properties", "CloudWatchRoleArn"])),
        "!GetAtt ApiGatewayCloudWatchRole.Arn"
    );
    let role = at(&t, &["Resources", "ApiGatewayCloudWatchRole"]);
    assert_eq!(text(at(role, &["Type"])), "AWS::IAM::Role");
    assert_eq!(
        text(at(role, &["DeletionPolicy"])),
        "Retain",
        "the region's setting outlives the stack"
    );
    assert_eq!(
        only(at(role, &["Properties", "ManagedPolicyArns"])),
        "!Sub arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    );
    let trust = &at(
        role,
        &["Properties", "AssumeRolePolicyDocument", "Statement"],
    )
    .as_sequence()
    .unwrap()[0];
    assert_eq!(
        text(at(trust, &["Principal", "Service"])),
        "apigateway.amazonaws.com"
    );
    assert_eq!(
        text(at(&t, &["Outputs", "ApiAccessLogGroupName", "Value"])),
        "!Ref ApiAccessLogGroup"
    );
}

#[test]
fn method_settings_are_chosen_deliberately() {
    let t = template();
    let settings = at(api(&t), &["MethodSettings"]).as_sequence().unwrap();
    assert_eq!(settings.len(), 1, "one setting, every method");
    let all = &settings[0];
    assert_eq!(text(at(all, &["ResourcePath"])), "/*");
    assert_eq!(text(at(all, &["HttpMethod"])), "*");
    assert_eq!(
        at(all, &["MetricsEnabled"]).as_bool(),
        Some(false),
        "per-endpoint metrics are the functions' own; per-method ones would be paid twice"
    );
    assert_eq!(
        text(at(all, &["LoggingLevel"])),
        "OFF",
        "execution logs write the request's headers, its token among them"
    );
    assert_eq!(
        at(all, &["DataTraceEnabled"]).as_bool(),
        Some(false),
        "full bodies and tokens in the logs"
    );
    for key in ["ThrottlingBurstLimit", "ThrottlingRateLimit"] {
        assert!(
            all.get(key).is_none(),
            "{key}: the usage plan's per-channel bucket is the limit"
        );
    }
    assert_eq!(
        text(at(api(&t), &["Name"])),
        "!Ref AWS::StackName",
        "the alarms and the dashboard name the API by it"
    );
}

#[test]
fn every_alarm_notifies_the_alarm_topic() {
    let t = template();
    let alarms = resources_of(&t, "AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 8, "{:?}", alarms.keys());
    for (name, alarm) in &alarms {
        let props = at(alarm, &["Properties"]);
        for actions in ["AlarmActions", "OKActions"] {
            assert_eq!(only(at(props, &[actions])), "!Ref AlarmTopic", "{name}");
        }
        assert_eq!(
            text(at(props, &["TreatMissingData"])),
            "notBreaching",
            "{name}: no calls is no problem"
        );
    }
    assert_eq!(
        text(at(&t, &["Resources", "AlarmTopic", "Type"])),
        "AWS::SNS::Topic"
    );
    // The email subscription exists only when an address is given.
    assert_eq!(text(at(&t, &["Parameters", "AlarmEmail", "Default"])), "");
    assert_eq!(
        serde_yaml_ng::to_string(at(&t, &["Conditions", "HasAlarmEmail"]))
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        "!Not - !Equals - !Ref AlarmEmail - ''"
    );
    let subscription = at(&t, &["Resources", "AlarmEmailSubscription"]);
    assert_eq!(text(at(subscription, &["Type"])), "AWS::SNS::Subscription");
    assert_eq!(text(at(subscription, &["Condition"])), "HasAlarmEmail");
    let props = at(subscription, &["Properties"]);
    assert_eq!(text(at(props, &["TopicArn"])), "!Ref AlarmTopic");
    assert_eq!(text(at(props, &["Protocol"])), "email");
    assert_eq!(text(at(props, &["Endpoint"])), "!Ref AlarmEmail");
    assert_eq!(
        text(at(&t, &["Outputs", "AlarmTopicArn", "Value"])),
        "!Ref AlarmTopic"
    );
}

/// The alarms' properties whose single metric is `namespace` `metric`.
fn alarms_on(t: &Value, namespace: &str, metric: &str) -> Vec<Value> {
    resources_of(t, "AWS::CloudWatch::Alarm")
        .into_values()
        .map(|a| at(&a, &["Properties"]).clone())
        .filter(|a| {
            a.get("Namespace").map(text).as_deref() == Some(namespace)
                && a.get("MetricName").map(text).as_deref() == Some(metric)
        })
        .collect()
}

/// The alarms' properties whose Metrics Insights query names `metric` of `namespace`.
fn query_alarms_on(t: &Value, namespace: &str, metric: &str) -> Vec<String> {
    let select = format!("SELECT SUM({metric}) FROM SCHEMA(\"{namespace}\"");
    resources_of(t, "AWS::CloudWatch::Alarm")
        .into_values()
        .filter_map(|a| a.get("Properties")?.get("Metrics").cloned())
        .flat_map(|metrics| metrics.as_sequence().cloned().unwrap_or_default())
        .filter_map(|m| m.get("Expression").map(text))
        .filter(|e| e.contains(&select))
        .collect()
}

#[test]
fn alarms_watch_the_api_the_functions_and_the_table() {
    let t = template();
    // The API: over 1% of a 5-minute window's calls answered 5xx.
    let errors = alarms_on(&t, "AWS/ApiGateway", "5XXError");
    assert_eq!(errors.len(), 1);
    let errors = &errors[0];
    assert_eq!(text(at(errors, &["Statistic"])), "Average", "a rate");
    assert_eq!(at(errors, &["Period"]).as_u64(), Some(300));
    assert_eq!(at(errors, &["Threshold"]).as_f64(), Some(0.01));
    assert_eq!(
        text(at(errors, &["ComparisonOperator"])),
        "GreaterThanThreshold"
    );
    let dimensions: BTreeMap<String, String> = at(errors, &["Dimensions"])
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| (text(at(d, &["Name"])), text(at(d, &["Value"]))))
        .collect();
    assert_eq!(
        dimensions,
        BTreeMap::from([
            ("ApiName".to_string(), "!Ref AWS::StackName".to_string()),
            ("Stage".to_string(), "api".to_string()),
        ])
    );

    // Every function's unhandled errors, summed in alarms of at most 10 metrics each.
    let mut covered = BTreeSet::new();
    for alarm in resources_of(&t, "AWS::CloudWatch::Alarm").values() {
        let Some(metrics) = at(alarm, &["Properties"]).get("Metrics") else {
            continue;
        };
        let metrics = metrics.as_sequence().unwrap();
        let stats: Vec<&Value> = metrics.iter().filter_map(|m| m.get("MetricStat")).collect();
        assert!(stats.len() <= 10, "CloudWatch's limit per alarm");
        let mut ids = Vec::new();
        for (m, stat) in metrics
            .iter()
            .filter_map(|m| Some((m, m.get("MetricStat")?)))
        {
            let metric = at(stat, &["Metric"]);
            if text(at(metric, &["Namespace"])) != "AWS/Lambda"
                || text(at(metric, &["MetricName"])) != "Errors"
            {
                continue;
            }
            assert_eq!(text(at(stat, &["Stat"])), "Sum");
            let function = text(at(&at(metric, &["Dimensions"])[0], &["Value"]));
            covered.insert(function.strip_prefix("!Ref ").unwrap().to_string());
            ids.push(text(at(m, &["Id"])));
        }
        if ids.is_empty() {
            continue;
        }
        let returned: Vec<&Value> = metrics
            .iter()
            .filter(|m| m.get("ReturnData").and_then(Value::as_bool) == Some(true))
            .collect();
        assert_eq!(returned.len(), 1);
        assert_eq!(
            text(at(returned[0], &["Expression"])),
            format!("SUM([{}])", ids.join(", ")),
            "the alarm sums all its functions"
        );
    }
    assert_eq!(
        covered,
        function_binaries(&t).into_keys().collect(),
        "every function's errors raise an alarm"
    );

    // Throttling, where it really is throttling: Lambda's concurrency (one pool per
    // account and region) and the table's requests.
    let throttles = alarms_on(&t, "AWS/Lambda", "Throttles");
    assert_eq!(throttles.len(), 1);
    assert!(
        throttles[0].get("Dimensions").is_none(),
        "the account's pool"
    );
    for metric in ["SystemErrors", "ThrottledRequests"] {
        let queries = query_alarms_on(&t, "AWS/DynamoDB", metric);
        assert_eq!(queries.len(), 1, "{metric}");
        assert!(
            queries[0].starts_with("!Sub ")
                && queries[0].ends_with("WHERE TableName = '${ContactsTable}'"),
            "{metric}: {}",
            queries[0]
        );
    }
}

/// A metric of a dashboard widget: namespace, name and dimensions.
type DashboardMetric = (String, String, BTreeMap<String, String>);

#[test]
fn the_dashboard_shows_the_api_the_functions_the_endpoints_and_the_table() {
    let t = template();
    let dashboard = at(&t, &["Resources", "OperationsDashboard"]);
    assert_eq!(text(at(dashboard, &["Type"])), "AWS::CloudWatch::Dashboard");
    let body = match at(dashboard, &["Properties", "DashboardBody"]) {
        Value::Tagged(tagged) if tagged.tag == "Sub" => text(&tagged.value),
        other => panic!("the body is not a !Sub: {other:?}"),
    };

    // Every ${...} names a parameter, a resource (or its attribute) or a pseudo parameter.
    let names = |section: &str| -> BTreeSet<String> {
        at(&t, &[section])
            .as_mapping()
            .unwrap()
            .keys()
            .map(text)
            .collect()
    };
    let (parameters, resources) = (names("Parameters"), names("Resources"));
    let mut substituted = body.clone();
    for piece in body.split("${").skip(1) {
        let name = piece.split('}').next().unwrap();
        let resource = name.split('.').next().unwrap();
        assert!(
            parameters.contains(name)
                || resources.contains(resource)
                || ["AWS::Region", "AWS::StackName"].contains(&name),
            "${{{name}}} names nothing in the template"
        );
        substituted = substituted.replace(&format!("${{{name}}}"), &format!("<{name}>"));
    }
    let body: serde_json::Value = serde_json::from_str(&substituted).expect("the body is JSON");
    let widgets = body["widgets"].as_array().expect("widgets");

    let mut metrics: Vec<DashboardMetric> = Vec::new();
    for widget in widgets {
        for metric in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let parts: Vec<&str> = metric
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|p| p.as_str())
                .collect();
            assert!(
                parts.len() >= 2 && parts.len().is_multiple_of(2),
                "{metric}"
            );
            let dimensions = parts[2..]
                .chunks(2)
                .map(|pair| (pair[0].to_string(), pair[1].to_string()))
                .collect();
            metrics.push((parts[0].to_string(), parts[1].to_string(), dimensions));
        }
    }
    let shows = |namespace: &str, name: &str, dimensions: &[(&str, &str)]| {
        let dimensions: BTreeMap<String, String> = dimensions
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(
            metrics
                .iter()
                .any(|m| m.0 == namespace && m.1 == name && m.2 == dimensions),
            "the dashboard does not show {namespace} {name} {dimensions:?}"
        );
    };

    let api = [("ApiName", "<AWS::StackName>"), ("Stage", "api")];
    for name in [
        "Count",
        "4XXError",
        "5XXError",
        "Latency",
        "IntegrationLatency",
    ] {
        shows("AWS/ApiGateway", name, &api);
    }
    let namespace = "<MetricsNamespace>";
    shows(namespace, "RateLimited", &[]);
    for (resource, binary) in function_binaries(&t) {
        let function = format!("<{resource}>");
        for name in ["Invocations", "Errors", "Duration", "Throttles"] {
            shows("AWS/Lambda", name, &[("FunctionName", function.as_str())]);
        }
        // The functions behind the API write the Embedded Metric Format, by endpoint.
        let row = functions::function(&binary).unwrap();
        if matches!(row.role, Role::Stream | Role::Queue) {
            continue;
        }
        for (name, _) in contacts_shared::metrics::METRICS {
            shows(
                namespace,
                name,
                &[(contacts_shared::metrics::DIMENSION, binary.as_str())],
            );
        }
    }
    for name in [
        "ConsumedReadCapacityUnits",
        "ConsumedWriteCapacityUnits",
        "ReadThrottleEvents",
        "WriteThrottleEvents",
    ] {
        shows("AWS/DynamoDB", name, &[("TableName", "<ContactsTable>")]);
    }

    // Every alarm's state, at the top.
    let shown: BTreeSet<String> = widgets
        .iter()
        .filter(|w| w["type"] == "alarm")
        .flat_map(|w| {
            w["properties"]["alarms"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    let alarms: BTreeSet<String> = resources_of(&t, "AWS::CloudWatch::Alarm")
        .into_keys()
        .map(|name| format!("<{name}.Arn>"))
        .collect();
    assert_eq!(shown, alarms);

    // The functions' namespace: the template's parameter, in every function's environment
    // (checked with each function's), defaulting to the functions' own.
    assert_eq!(
        text(at(&t, &["Parameters", "MetricsNamespace", "Default"])),
        contacts_shared::metrics::NAMESPACE
    );
    // The 429s, from the access log: no API Gateway metric tells them from other 4xx.
    let filter = at(&t, &["Resources", "RateLimitedMetricFilter", "Properties"]);
    assert_eq!(
        text(at(filter, &["LogGroupName"])),
        "!Ref ApiAccessLogGroup"
    );
    assert_eq!(
        text(at(filter, &["FilterPattern"])),
        r#"{ $.status = "429" }"#
    );
    let transformation = &at(filter, &["MetricTransformations"])[0];
    assert_eq!(
        text(at(transformation, &["MetricNamespace"])),
        "!Ref MetricsNamespace"
    );
    assert_eq!(text(at(transformation, &["MetricName"])), "RateLimited");
    assert!(at(&t, &["Outputs"]).get("DashboardUrl").is_some());
}

#[test]
fn browsers_are_refused_no_cors_anywhere() {
    // A bearer-token API for servers: no preflight route, no CORS header on any response.
    let t = template();
    assert!(api(&t).get("Cors").is_none());
    for function in resources_of(&t, "AWS::Serverless::Function").values() {
        for event in at(function, &["Properties"])
            .get("Events")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .map(|(_, e)| e)
        {
            let method = text(at(event, &["Properties", "Method"]));
            assert!(!method.eq_ignore_ascii_case("OPTIONS"), "an OPTIONS route");
        }
    }
    for (kind, response) in at(api(&t), &["GatewayResponses"]).as_mapping().unwrap() {
        let headers = response
            .get("ResponseParameters")
            .and_then(|p| p.get("Headers"))
            .and_then(Value::as_mapping);
        for name in headers.into_iter().flatten().map(|(name, _)| text(name)) {
            assert!(
                !name.to_ascii_lowercase().starts_with("access-control-"),
                "{kind:?} sends {name}"
            );
        }
    }
    let raw = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    assert!(!raw.to_ascii_lowercase().contains("access-control-"));
}

/// `template`'s text (saved as `{label}.yaml`) as SAM's transform turns it into
/// CloudFormation (tests/sam_transform.py).
fn transformed(label: &str, template: &str) -> serde_json::Value {
    let dir = std::env::temp_dir().join(format!("sam-transform-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{label}.yaml"));
    std::fs::write(&path, template).unwrap();
    let output = std::process::Command::new(contacts_tests::tool("python").unwrap())
        .arg(repo_root().join("tests/sam_transform.py"))
        .arg(&path)
        .env(env::AWS_DEFAULT_REGION, "us-east-1")
        .output()
        .expect("python runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "the transform failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the transform prints JSON")
}

/// Every stage the transformed template makes: its Stage resources' names and any name a
/// Deployment gives (API Gateway makes that stage too).
fn stages(transformed: &serde_json::Value) -> BTreeSet<String> {
    let resources = transformed["Resources"].as_object().expect("resources");
    resources
        .values()
        .filter(|r| {
            ["AWS::ApiGateway::Stage", "AWS::ApiGateway::Deployment"]
                .contains(&r["Type"].as_str().unwrap_or_default())
        })
        .filter_map(|r| r["Properties"]["StageName"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn sam_makes_the_api_stage_and_no_other() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    assert_eq!(
        stages(&transformed("template", &text)),
        BTreeSet::from(["api".to_string()]),
        "one stage, the one with the access log and the usage plan"
    );
    // What the OpenApiVersion setting prevents: without it, SAM's deployment also makes a
    // stage named "Stage", with no access log and no usage plan.
    let setting = "      OpenApiVersion: \"3.0.1\"\n";
    assert!(text.contains(setting), "the API sets OpenApiVersion");
    let without = text.replace(setting, "");
    assert_eq!(
        stages(&transformed("without-openapi-version", &without)),
        BTreeSet::from(["api".to_string(), "Stage".to_string()])
    );
}
