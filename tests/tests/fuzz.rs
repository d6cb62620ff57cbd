//! Property-based fuzzing of the running local stack with schemathesis, against
//! `openapi.yaml`: every check schemathesis has (no 5xx, documented statuses, response
//! bodies, content types and headers as documented, negative data rejected, `405` with
//! `Allow` for undocumented methods, `401` without a token, links followed statefully...),
//! with a fixed seed.
//!
//! The API allows 100 calls a minute per channel, which a fuzzer spends in a second. So
//! this test puts a gateway of its own in front of the shared stack's functions and
//! DynamoDB, configured from a copy of `template.yaml` whose usage-plan throttle is raised;
//! everything else (routes, authorizer, gateway responses) is the template's own. The
//! throttle itself is tested in `api/rate_limit.rs`.
//!
//! `SCHEMATHESIS_MAX_EXAMPLES` and `SCHEMATHESIS_SEED` override the defaults below for a
//! deeper or different run.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use contacts_shared::domain::field_defs::{FieldDef, FieldType, Uniqueness};
use contacts_shared::ChannelType;
use contacts_tests::{
    assert_consistent, create_channel, define_field, log_dir, repo_root, tool,
    unthrottled_template, AdminCli, Method, Stack,
};

/// Test cases per API operation and phase.
const MAX_EXAMPLES: u32 = 200;
const SEED: u64 = 20_250_601;
/// Far past anything a run of `MAX_EXAMPLES` takes (about a minute and a half).
const RUN_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// The contract's example contact, which `openapi.yaml`'s examples name.
const EXAMPLE_CONTACT: &str = r#"{"id":"1776025372480910","custom_fields":{"firstName":"Mahin","lastName":"Dar","timezone":"5","phone":"123123"},"tags":["Blog Updates","Platform Updates"],"created_at":1575618542}"#;

/// A channel for the fuzzer, and its token. Besides the built-in fields, it defines a field
/// for every one-character name (the names a fuzzer draws most), of every type, so that
/// generated writes and finds often name a field that exists. It also holds the contract's
/// example contact, which the document's examples address.
fn fuzz_channel(stack: &Stack, dir: &Path) -> (String, String) {
    let (channel, token) = create_channel(&stack.store, ChannelType::Facebook, None);
    let typed = [
        FieldType::Boolean,
        FieldType::Email,
        FieldType::Phone,
        FieldType::Url,
        FieldType::Date,
        FieldType::Time,
        FieldType::List,
    ];
    let mut names: Vec<(String, FieldType)> = Vec::new();
    names.extend(
        ('a'..='z')
            .chain(['.'])
            .map(|c| (c.to_string(), FieldType::Text)),
    );
    names.extend(
        ('0'..='9')
            .chain(['-'])
            .map(|c| (c.to_string(), FieldType::Number)),
    );
    names.extend(
        ('A'..='Z')
            .chain(['_'])
            .zip(typed.iter().cycle())
            .map(|(c, kind)| (c.to_string(), *kind)),
    );
    for (name, kind) in &names {
        let values: &[&str] = if *kind == FieldType::List {
            &["Gold", "Silver", "Bronze"]
        } else {
            &[]
        };
        define_field(&stack.store, &channel, name, *kind, values);
    }
    // The unique field the document's upsert example names, so that upserts succeed
    // (and creates and updates naming it meet 409s).
    let unique = FieldDef {
        unique: Some(Uniqueness::On),
        ..FieldDef::new(FieldType::Text)
    };
    let defined = contacts_tests::runtime()
        .block_on(
            stack
                .store
                .define_unique_field(&channel, "externalId", &unique),
        )
        .expect("a unique field");
    assert!(defined);

    let file = dir.join("example-contact.jsonl");
    fs::write(&file, format!("{EXAMPLE_CONTACT}\n")).expect("write the example contact");
    let admin = AdminCli::for_table(stack.store.table());
    let imported = admin.ok(&[
        "contact",
        "import",
        "--channel",
        &channel,
        "--file",
        file.to_str().expect("a UTF-8 path"),
    ]);
    assert_eq!(imported["imported"], 1, "{imported}");
    (channel, token)
}

/// One call of every route, so that no function starts cold under the fuzzer.
fn warm_up(stack: &Stack, base: &str, token: &str) {
    let fields = r#"{"custom_fields":[{"name":"firstName","value":"Mahin"}]}"#;
    let tags = r#"{"tags":["warm-up"]}"#;
    let calls = [
        (Method::POST, "/v1/contact", Some(fields), 200),
        (Method::GET, "/v1/contact/1776025372480910", None, 200),
        (
            Method::PUT,
            "/v1/contact/1776025372480910",
            Some(fields),
            200,
        ),
        (
            Method::POST,
            "/v1/contact/1776025372480910/tags",
            Some(tags),
            200,
        ),
        (
            Method::DELETE,
            "/v1/contact/1776025372480910/tags",
            Some(tags),
            200,
        ),
        (
            Method::GET,
            "/v1/contact/by_custom_field?name=firstName&value=Mahin",
            None,
            200,
        ),
        (Method::PATCH, "/v1/contact", None, 405),
    ];
    for (method, path, body, expected) in calls {
        let mut request = stack
            .client
            .request(method.clone(), format!("{base}{path}"))
            .header("Authorization", format!("Bearer {token}"));
        if let Some(body) = body {
            request = request.body(body);
        }
        let reply = contacts_tests::reply(request.send().expect("warm-up request"));
        assert_eq!(reply.status, expected, "{method} {path}: {}", reply.text);
    }
}

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a number")),
        Err(_) => default,
    }
}

#[test]
fn schemathesis_finds_no_fault_and_no_departure_from_openapi_yaml() {
    let stack = Stack::shared();
    let dir = log_dir().join(format!("fuzz-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("fuzz directory");
    let base = stack.extra_gateway(&unthrottled_template(&dir), &[]);
    let (channel, token) = fuzz_channel(stack, &dir);
    warm_up(stack, &base, &token);

    let max_examples: u32 = setting("SCHEMATHESIS_MAX_EXAMPLES", MAX_EXAMPLES);
    let seed: u64 = setting("SCHEMATHESIS_SEED", SEED);
    let output = dir.join("schemathesis.txt");
    let log = fs::File::create(&output).expect("schemathesis output file");
    let mut command = Command::new(tool("python").unwrap_or_else(|e| panic!("{e:#}")));
    command
        .args(["-m", "schemathesis.cli", "run"])
        .arg(repo_root().join("openapi.yaml"))
        .args(["--url", &base])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // Every check the installed version has, with its default expectations.
        .args(["--checks", "all"])
        .args(["--seed", &seed.to_string()])
        .args(["--max-examples", &max_examples.to_string()])
        // One worker: reproducible with the seed (and 4.32.5 is flaky with more).
        .args(["--workers", "1"])
        // API Gateway's own integration limit is 29 s.
        .args(["--request-timeout", "30"])
        .args(["--generation-database", "none"])
        .args(["--report", "junit,har", "--report-dir"])
        .arg(dir.join("report"))
        .arg("--no-color")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("output file"))
        .stderr(log);
    let started = Instant::now();
    let mut child = command
        .spawn()
        .expect("schemathesis (scripts/setup.sh installs it)");
    let status = loop {
        if let Some(status) = child.try_wait().expect("schemathesis") {
            break status;
        }
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "schemathesis ran past {RUN_TIMEOUT:?}; its output so far: {}",
                output.display()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = fs::read_to_string(&output).unwrap_or_default();
    println!("{text}");
    println!(
        "schemathesis: {max_examples} examples per operation, seed \
         {seed}, {:.0} s; output and reports in {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    assert!(
        status.success(),
        "schemathesis found problems ({status}):\n{}",
        summary(&text)
    );
    assert_consistent(&stack.store, &channel);
}

/// What schemathesis reported, from its first section header (failures, errors, warnings
/// or the summary) to the end.
fn summary(text: &str) -> &str {
    let start = ["===", "___"]
        .iter()
        .filter_map(|mark| text.find(mark))
        .min()
        .unwrap_or(0);
    &text[start..]
}
