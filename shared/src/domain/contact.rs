//! The contact as stored and as the API shows it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: String,
    /// Field name → canonical value; cleared fields are absent.
    pub fields: BTreeMap<String, String>,
    /// Sorted by code point (UTF-8 byte order), no duplicates.
    pub tags: BTreeSet<String>,
    /// Unix seconds, set once at creation.
    pub created_at: i64,
    /// The microsecond within `created_at` it was created at, so that contacts created in
    /// one second keep their order; `None` for contacts stored before the product kept it
    /// (they come first in their second).
    pub created_micros: Option<u32>,
}

impl Contact {
    /// Where it stands among a channel's contacts, oldest first: its creation time, then
    /// its id. Every list of contacts (find, list, export) follows this order.
    pub fn order(&self) -> (i64, Option<u32>, &str) {
        (self.created_at, self.created_micros, &self.id)
    }

    /// The contract's contact object.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "custom_fields": self.fields,
            "tags": self.tags,
            "created_at": self.created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_of_the_original_documentation() {
        let contact = Contact {
            id: "1776025372480910".into(),
            fields: [("firstName", "Mahin"), ("timezone", "5")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            tags: ["Platform Updates", "Blog Updates", "Ärger", "Zeta"]
                .into_iter()
                .map(String::from)
                .collect(),
            created_at: 1575618542,
            created_micros: None,
        };
        assert_eq!(
            contact.to_json(),
            json!({"id":"1776025372480910","custom_fields":{"firstName":"Mahin","timezone":"5"},
                   "tags":["Blog Updates","Platform Updates","Zeta","Ärger"],"created_at":1575618542})
        );
    }
}
