//! A channel's webhook subscription: where its events go, which ones, and the sealed
//! secret they are signed with; and the checks on what an operator asks for.

use std::collections::BTreeSet;

use super::events::{Change, Kind};
use crate::limits::MAX_WEBHOOK_URL_CHARS;

/// What a subscription id starts with.
pub const ID_PREFIX: &str = "wh_";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: String,
    pub channel: String,
    pub url: String,
    pub events: BTreeSet<Kind>,
    /// `contact.updated` only when one of these fields changes; empty: any field.
    pub fields: BTreeSet<String>,
    /// The signing secret, sealed (see `seal`).
    pub sealed_secret: String,
    pub created_at: i64,
}

impl Subscription {
    /// Whether this subscription is sent `change`.
    pub fn wants(&self, change: &Change) -> bool {
        self.events.contains(&change.kind)
            && (change.kind != Kind::Updated
                || self.fields.is_empty()
                || change.fields.iter().any(|f| self.fields.contains(f)))
    }
}

/// A delivery URL: absolute `http` or `https` with a host, no credentials in it.
pub fn parse_url(text: &str) -> Result<String, String> {
    if text.chars().count() > MAX_WEBHOOK_URL_CHARS {
        return Err(format!(
            "the URL is longer than {MAX_WEBHOOK_URL_CHARS} characters"
        ));
    }
    let url = reqwest::Url::parse(text).map_err(|e| format!("'{text}' is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("'{text}': the URL must be http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("'{text}': the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "'{text}': put no credentials in the URL; receivers verify the signature"
        ));
    }
    Ok(url.to_string())
}

/// Event types from a comma-separated list (`None`: all of them).
pub fn parse_events(list: Option<&str>) -> Result<BTreeSet<Kind>, String> {
    let Some(list) = list else {
        return Ok(Kind::ALL.into_iter().collect());
    };
    let mut kinds = BTreeSet::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let kind = Kind::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            format!("unknown event '{name}': events are {}", known.join(", "))
        })?;
        kinds.insert(kind);
    }
    if kinds.is_empty() {
        return Err("name at least one event".to_string());
    }
    Ok(kinds)
}

/// Field names from a comma-separated list.
pub fn parse_fields(list: Option<&str>) -> BTreeSet<String> {
    list.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn subscription(events: &[Kind], fields: &[&str]) -> Subscription {
        Subscription {
            id: "wh_1".into(),
            channel: "ch".into(),
            url: "https://example.com/hook".into(),
            events: events.iter().copied().collect(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
            sealed_secret: String::new(),
            created_at: 0,
        }
    }

    fn change(kind: Kind, fields: &[&str]) -> Change {
        Change {
            kind,
            contact: json!({}),
            changes: json!({}),
            fields: fields.iter().map(|f| f.to_string()).collect(),
        }
    }

    #[test]
    fn event_types_and_field_filters_choose_what_is_sent() {
        let all = subscription(&Kind::ALL, &[]);
        assert!(all.wants(&change(Kind::Updated, &["tier"])));
        let phones = subscription(&Kind::ALL, &["phone", "email"]);
        assert!(phones.wants(&change(Kind::Updated, &["phone", "tier"])));
        assert!(!phones.wants(&change(Kind::Updated, &["tier"])));
        // The filter is on updates only.
        assert!(phones.wants(&change(Kind::Created, &[])));
        let deletes = subscription(&[Kind::Deleted], &[]);
        assert!(deletes.wants(&change(Kind::Deleted, &[])));
        assert!(!deletes.wants(&change(Kind::TagsChanged, &[])));
    }

    #[test]
    fn urls_events_and_fields_are_checked() {
        assert_eq!(
            parse_url("https://example.com/h?x=1").unwrap(),
            "https://example.com/h?x=1"
        );
        assert!(parse_url("ftp://example.com/").is_err());
        assert!(parse_url("example.com/hook").is_err());
        assert!(parse_url("https://user:pw@example.com/").is_err());
        assert_eq!(parse_events(None).unwrap().len(), 4);
        assert_eq!(
            parse_events(Some("contact.deleted, contact.created")).unwrap(),
            [Kind::Created, Kind::Deleted].into()
        );
        assert!(parse_events(Some("contact.merged"))
            .unwrap_err()
            .contains("contact.tags_changed"));
        assert!(parse_events(Some(" , ")).is_err());
        assert_eq!(
            parse_fields(Some("phone, email,")),
            ["email", "phone"].map(String::from).into()
        );
    }
}
