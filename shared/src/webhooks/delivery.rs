//! One event addressed to one subscription, as the delivery queue carries it, and the
//! event's body as the contract gives it to receivers.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::events::Change;
use crate::hash::sha256_hex;

/// A queued delivery: the subscription it is for and the event's body. The secret and the
/// URL are read when it is sent, so a removed subscription gets nothing more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub channel: String,
    pub webhook: String,
    pub event: Value,
}

impl Delivery {
    /// The event's id: the `webhook-id` of every try, so receivers can drop repeats.
    pub fn event_id(&self) -> &str {
        self.event["id"].as_str().unwrap_or_default()
    }
}

/// The body of the event `change`, the `nth` (0-based) a stream record `record` made:
/// the same record always gives the same ids, so a stream batch handled twice sends the
/// same events again, not new ones.
pub fn event_body(
    change: &Change,
    record: &str,
    nth: usize,
    channel: &str,
    occurred_at: i64,
    sequence: i64,
) -> Value {
    let id = format!(
        "evt_{}",
        &sha256_hex(format!("{record}/{nth}").as_bytes())[..32]
    );
    json!({
        "id": id,
        "type": change.kind.as_str(),
        "channel_id": channel,
        "occurred_at": occurred_at,
        "sequence": sequence,
        "contact": change.contact,
        "changes": change.changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhooks::events::Kind;

    #[test]
    fn bodies_follow_the_contract_and_ids_depend_on_the_record_only() {
        let change = Change {
            kind: Kind::TagsChanged,
            contact: json!({"id": "c1"}),
            changes: json!({"tags": {"added": ["vip"], "removed": []}}),
            fields: Default::default(),
        };
        let body = event_body(&change, "rec-1", 0, "ch", 1_700_000_000, 3);
        assert_eq!(body["type"], "contact.tags_changed");
        assert_eq!(body["channel_id"], "ch");
        assert_eq!(body["sequence"], 3);
        assert_eq!(body["changes"]["tags"]["added"], json!(["vip"]));
        assert_eq!(
            body,
            event_body(&change, "rec-1", 0, "ch", 1_700_000_000, 3)
        );
        let other = event_body(&change, "rec-1", 1, "ch", 1_700_000_000, 3);
        assert_ne!(body["id"], other["id"]);
        let delivery = Delivery {
            channel: "ch".into(),
            webhook: "wh_1".into(),
            event: body.clone(),
        };
        assert!(delivery.event_id().starts_with("evt_"));
        let created = Change {
            kind: Kind::Created,
            changes: json!({}),
            ..change
        };
        assert_eq!(
            event_body(&created, "r", 0, "ch", 0, 1)["changes"],
            json!({})
        );
    }
}
