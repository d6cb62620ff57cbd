//! Webhook signatures, verified by an implementation other than ours: the
//! `standardwebhooks` package from PyPI (in the project's virtual environment), as a
//! receiver would verify them.

use std::io::Write;
use std::process::{Command, Stdio};

use contacts_shared::webhooks::signature::Secret;
use contacts_tests::tool;
use serde_json::{json, Value};

/// Verifies each delivery with the Python library; what it said of each.
fn verify(deliveries: &[Value]) -> Vec<String> {
    let script = r#"
import json, sys
from standardwebhooks import Webhook
for line in sys.stdin:
    d = json.loads(line)
    try:
        Webhook(d["secret"]).verify(d["body"], d["headers"])
        print("ok")
    except Exception as e:
        print("refused: %s" % e)
"#;
    let mut child = Command::new(tool("python").unwrap_or_else(|e| panic!("{e}")))
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python");
    let mut stdin = child.stdin.take().unwrap();
    for d in deliveries {
        writeln!(stdin, "{d}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn delivery(secret: &Secret, id: &str, body: &str, timestamp: i64) -> Value {
    let headers: serde_json::Map<String, Value> = secret
        .headers(id, timestamp, body.as_bytes())
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::from(v)))
        .collect();
    json!({"secret": secret.to_text(), "body": body, "headers": headers})
}

#[test]
fn a_standard_webhooks_library_verifies_our_signatures_and_refuses_tampering() {
    let now = contacts_shared::clock::now();
    let secret = Secret::generate().unwrap();
    let bodies = [
        json!({"type": "contact.created", "contact": {"id": "c1", "custom_fields": {"firstName": "Zoë 🚀"}}}).to_string(),
        json!({"type": "contact.deleted", "contact": {"id": "c2"}}).to_string(),
        "{}".to_string(),
    ];
    let mut deliveries: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| delivery(&secret, &format!("evt_{i}"), body, now))
        .collect();
    // Tampered: another body, another secret, an old timestamp.
    let mut changed = deliveries[0].clone();
    changed["body"] = json!(bodies[1]);
    let other = delivery(&Secret::generate().unwrap(), "evt_x", &bodies[0], now);
    let mut wrong_key = other.clone();
    wrong_key["secret"] = json!(secret.to_text());
    let stale = delivery(&secret, "evt_old", &bodies[0], now - 3600);
    deliveries.extend([changed, wrong_key, stale]);
    let verdicts = verify(&deliveries);
    assert_eq!(verdicts.len(), 6, "{verdicts:?}");
    assert_eq!(&verdicts[..3], ["ok", "ok", "ok"], "{verdicts:?}");
    for verdict in &verdicts[3..] {
        assert!(verdict.starts_with("refused"), "{verdicts:?}");
    }
}
