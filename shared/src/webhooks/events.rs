//! What one change of a contact item means to subscribers: the contract's events
//! (`contact.created`, `contact.updated` with the fields' `from`/`to`,
//! `contact.tags_changed` with the tags added and removed, `contact.deleted`), from the
//! item's images before and after, as the table's stream gives them. A change subscribers
//! cannot see (index changes being applied, a version bump with equal values) gives none.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::domain::contact::Contact;

/// A contact item as one stream image holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub contact: Contact,
    /// Marked deleted (a delete too large for one transaction): gone for subscribers too.
    pub deleted: bool,
}

/// The kinds of events, as subscriptions name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Created,
    Updated,
    TagsChanged,
    Deleted,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Created,
        Kind::Updated,
        Kind::TagsChanged,
        Kind::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Created => "contact.created",
            Kind::Updated => "contact.updated",
            Kind::TagsChanged => "contact.tags_changed",
            Kind::Deleted => "contact.deleted",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One event of a change, before it is addressed to a subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub kind: Kind,
    /// The contact object after the change; `{"id": ...}` for a delete.
    pub contact: Value,
    /// `{"custom_fields": {name: {"from", "to"}}}` or `{"tags": {"added", "removed"}}`;
    /// empty for creates and deletes.
    pub changes: Value,
    /// The custom fields whose value changed (what a field filter looks at).
    pub fields: BTreeSet<String>,
}

/// The events of a change from `old` to `new` (either absent: inserted or removed).
pub fn changes(old: Option<&Image>, new: Option<&Image>) -> Vec<Change> {
    match (live(old), live(new)) {
        (None, Some(contact)) if old.is_none() => vec![created(contact)],
        // Marked deleted, or removed while live; a removal after the mark says nothing new.
        (Some(contact), None) => vec![deleted(&contact.id)],
        (Some(before), Some(after)) => {
            let mut out = Vec::new();
            if let Some(change) = updated(before, after) {
                out.push(change);
            }
            if let Some(change) = tags_changed(before, after) {
                out.push(change);
            }
            out
        }
        _ => Vec::new(),
    }
}

/// The contact of an image, unless it is absent or marked deleted.
fn live(image: Option<&Image>) -> Option<&Contact> {
    image.filter(|i| !i.deleted).map(|i| &i.contact)
}

fn created(contact: &Contact) -> Change {
    Change {
        kind: Kind::Created,
        contact: contact.to_json(),
        changes: json!({}),
        fields: BTreeSet::new(),
    }
}

fn deleted(id: &str) -> Change {
    Change {
        kind: Kind::Deleted,
        contact: json!({ "id": id }),
        changes: json!({}),
        fields: BTreeSet::new(),
    }
}

fn updated(before: &Contact, after: &Contact) -> Option<Change> {
    let names: BTreeSet<&String> = before.fields.keys().chain(after.fields.keys()).collect();
    let mut fields = Map::new();
    for name in names {
        let (from, to) = (before.fields.get(name), after.fields.get(name));
        if from != to {
            fields.insert(name.clone(), json!({ "from": from, "to": to }));
        }
    }
    (!fields.is_empty()).then(|| Change {
        kind: Kind::Updated,
        contact: after.to_json(),
        fields: fields.keys().cloned().collect(),
        changes: json!({ "custom_fields": fields }),
    })
}

fn tags_changed(before: &Contact, after: &Contact) -> Option<Change> {
    let added: Vec<&String> = after.tags.difference(&before.tags).collect();
    let removed: Vec<&String> = before.tags.difference(&after.tags).collect();
    (!added.is_empty() || !removed.is_empty()).then(|| Change {
        kind: Kind::TagsChanged,
        contact: after.to_json(),
        changes: json!({ "tags": { "added": added, "removed": removed } }),
        fields: BTreeSet::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(fields: &[(&str, &str)], tags: &[&str]) -> Image {
        Image {
            contact: Contact {
                id: "c1".into(),
                fields: fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                tags: tags.iter().map(|t| t.to_string()).collect(),
                created_at: 1_575_618_542,
                created_micros: Some(7),
            },
            deleted: false,
        }
    }

    #[test]
    fn inserts_and_removals_are_creates_and_deletes() {
        let ann = image(&[("firstName", "Ann")], &[]);
        let made = changes(None, Some(&ann));
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].kind, Kind::Created);
        assert_eq!(made[0].contact, ann.contact.to_json());
        let gone = changes(Some(&ann), None);
        assert_eq!(gone[0].kind, Kind::Deleted);
        assert_eq!(gone[0].contact, json!({"id": "c1"}));
    }

    #[test]
    fn a_large_delete_is_one_delete_event_at_its_mark() {
        let ann = image(&[("firstName", "Ann")], &[]);
        let marked = Image {
            deleted: true,
            ..ann.clone()
        };
        assert_eq!(changes(Some(&ann), Some(&marked))[0].kind, Kind::Deleted);
        // Its pending steps, and the removal at the end, say nothing new.
        assert!(changes(Some(&marked), Some(&marked)).is_empty());
        assert!(changes(Some(&marked), None).is_empty());
    }

    #[test]
    fn updates_name_each_changed_field_and_tag_changes_their_tags() {
        let before = image(&[("firstName", "Ann"), ("phone", "1")], &["a", "b"]);
        let after = image(&[("firstName", "Anne"), ("email", "a@x.com")], &["b", "c"]);
        let events = changes(Some(&before), Some(&after));
        let kinds: Vec<Kind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![Kind::Updated, Kind::TagsChanged]);
        assert_eq!(
            events[0].changes,
            json!({"custom_fields": {
                "email": {"from": null, "to": "a@x.com"},
                "firstName": {"from": "Ann", "to": "Anne"},
                "phone": {"from": "1", "to": null}
            }})
        );
        assert_eq!(
            events[0].fields,
            ["email", "firstName", "phone"].map(String::from).into()
        );
        assert_eq!(
            events[1].changes,
            json!({"tags": {"added": ["c"], "removed": ["a"]}})
        );
        // Index changes being applied (the same contact on both sides): nothing.
        assert!(changes(Some(&after), Some(&after)).is_empty());
    }

    #[test]
    fn kinds_are_named_as_subscriptions_name_them() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("contact.merged"), None);
    }
}
