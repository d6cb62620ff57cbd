//! The events each function is invoked with: `events/{function}.json` with a live token.
//! An update alternates between two values of a field, so that every call writes (the
//! event file sets the values the contact already has, which the store skips); a delete
//! deletes another seeded contact each call.

use std::path::Path;

use anyhow::Context;
use contacts_shared::demo::{doomed_contact, DEMO_CONTACT};
use hyper::body::Bytes;
use serde_json::Value;

/// Copies of the delete event, each deleting a contact of its own: as many as the handler
/// alone calls it (the most calls any measurement makes on one store).
pub const DELETES: usize = 2 * crate::handler::CALLS as usize;

/// Whether `function`'s event uses up the contact it acts on (a delete): each of its
/// calls then needs a seeded contact of its own.
pub fn consumes_contacts(function: &str) -> bool {
    function == "delete-contact"
}

/// The token the event files carry in place of a real one.
const TOKEN_PLACEHOLDER: &str = "ct_replace-with-a-channel-token";
/// The update event's field value, and the one it alternates with.
const UPDATED: (&str, &str) = ("\"Dar\"", "\"Dar (updated)\"");

/// A function's events, handed out in turn.
pub struct Events {
    list: Vec<Bytes>,
    next: usize,
}

impl Events {
    pub fn load(root: &Path, function: &str, token: &str) -> anyhow::Result<Self> {
        let path = root.join("events").join(format!("{function}.json"));
        let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        let event = text.replace(TOKEN_PLACEHOLDER, token);
        if consumes_contacts(function) {
            // A contact per call: the copies delete the seeded doomed contacts in turn.
            let list = (0..DELETES)
                .map(|n| Bytes::from(event.replace(DEMO_CONTACT, &doomed_contact(n))))
                .collect();
            return Ok(Self { list, next: 0 });
        }
        let mut list = vec![Bytes::from(event.clone())];
        if function == "update-contact" {
            list.push(alternate(&event).with_context(|| {
                format!(
                    "{}: no lastName value {} to alternate",
                    path.display(),
                    UPDATED.0
                )
            })?);
        }
        Ok(Self { list, next: 0 })
    }

    /// One event, handed out every time.
    pub fn single(event: Bytes) -> Self {
        Self {
            list: vec![event],
            next: 0,
        }
    }

    pub fn next(&mut self) -> &Bytes {
        let event = &self.list[self.next % self.list.len()];
        self.next += 1;
        event
    }

    /// Every event as JSON: what the local-stack pass turns into HTTP requests.
    pub fn all(&self) -> Vec<Value> {
        self.list
            .iter()
            .map(|e| serde_json::from_slice(e).unwrap_or(Value::Null))
            .collect()
    }
}

/// The event with its body's field value changed.
fn alternate(event: &str) -> Option<Bytes> {
    let mut json: Value = serde_json::from_str(event).ok()?;
    let body = json["body"].as_str()?;
    if !body.contains(UPDATED.0) {
        return None;
    }
    json["body"] = Value::String(body.replace(UPDATED.0, UPDATED.1));
    Some(Bytes::from(json.to_string()))
}

/// The find event with these query parameters instead of its own (the map API Gateway
/// fills and its multi-value twin).
pub fn find(root: &Path, token: &str, params: &[(&str, &str)]) -> anyhow::Result<Bytes> {
    with_query(root, "find-contacts", token, params)
}

/// The list event with these query parameters instead of its own.
pub fn list(root: &Path, token: &str, params: &[(&str, &str)]) -> anyhow::Result<Bytes> {
    with_query(root, "list-contacts", token, params)
}

fn with_query(
    root: &Path,
    function: &str,
    token: &str,
    params: &[(&str, &str)],
) -> anyhow::Result<Bytes> {
    let event = Events::load(root, function, token)?;
    let mut json: Value =
        serde_json::from_slice(&event.list[0]).with_context(|| format!("{function} event"))?;
    let single: serde_json::Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    let multi: serde_json::Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(vec![*v])))
        .collect();
    json["queryStringParameters"] = Value::Object(single);
    json["multiValueQueryStringParameters"] = Value::Object(multi);
    Ok(Bytes::from(json.to_string()))
}
