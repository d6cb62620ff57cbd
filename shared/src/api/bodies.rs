//! Request bodies: JSON parsing and the shape checks of the contract, with messages
//! that tell the client what to fix. What the fields and tags they carry may hold is the
//! domain's (`field_writes`, `field_values`, `tags`).

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::value::RawValue;

use crate::domain::field_values::InputValue;
use crate::domain::field_writes::RawFieldWrite;
use crate::domain::tags;
use crate::error::{printable, ApiError};
use crate::limits::{MAX_BODY_BYTES, MAX_FIELDS_PER_REQUEST, MAX_TAGS_PER_REQUEST};

type Object<'a> = HashMap<String, &'a RawValue>;

/// The body of a create or update: `{"custom_fields":[{"name":..,"value":..}, ...]}`.
pub fn custom_fields_body(body: &[u8]) -> Result<Vec<RawFieldWrite>, ApiError> {
    fields_body(body, true)
}

/// The body of an upsert: as an update's, but `custom_fields` may be empty (the query's
/// field is what a new contact gets).
pub fn upsert_body(body: &[u8]) -> Result<Vec<RawFieldWrite>, ApiError> {
    fields_body(body, false)
}

fn fields_body(body: &[u8], at_least_one: bool) -> Result<Vec<RawFieldWrite>, ApiError> {
    let object = json_object(body)?;
    let entries = array(
        &object,
        "custom_fields",
        "an array of {\"name\": ..., \"value\": ...} objects",
    )?;
    if at_least_one && entries.is_empty() {
        return Err(ApiError::invalid("At least one custom field is required."));
    }
    if entries.len() > MAX_FIELDS_PER_REQUEST {
        return Err(ApiError::invalid(format!(
            "Maximum {MAX_FIELDS_PER_REQUEST} custom fields can be set per request."
        )));
    }
    let mut writes = Vec::with_capacity(entries.len());
    let mut seen = HashSet::new();
    for (i, entry) in entries.iter().enumerate() {
        let entry: Object = parse_as(entry, '{').ok_or_else(|| {
            ApiError::invalid(format!(
                "custom_fields[{i}] must be an object with a name and a value."
            ))
        })?;
        let name = entry
            .get("name")
            .and_then(|raw| string(raw))
            .ok_or_else(|| {
                ApiError::invalid(format!("custom_fields[{i}].name must be a string."))
            })?;
        if !seen.insert(name.clone()) {
            return Err(ApiError::invalid(format!(
                "Custom field '{}' is given more than once.",
                printable(&name)
            )));
        }
        let raw = entry.get("value").ok_or_else(|| {
            ApiError::invalid(format!(
                "Custom field '{}' has no value (send null to clear it).",
                printable(&name)
            ))
        })?;
        let value = input_value(raw).ok_or_else(|| value_shape_error(&name))?;
        writes.push(RawFieldWrite { name, value });
    }
    Ok(writes)
}

/// The body of a tag request: `{"tags":[...]}`, 1 to 10 non-empty strings of at most
/// 255 characters, returned trimmed and without duplicates.
pub fn tags_body(body: &[u8]) -> Result<BTreeSet<String>, ApiError> {
    let object = json_object(body)?;
    let entries = array(&object, "tags", "an array of strings")?;
    if entries.is_empty() {
        return Err(ApiError::invalid("At least one tag is required."));
    }
    if entries.len() > MAX_TAGS_PER_REQUEST {
        return Err(ApiError::invalid(format!(
            "Maximum {MAX_TAGS_PER_REQUEST} tags can be set per request."
        )));
    }
    entries
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let tag = string(raw)
                .ok_or_else(|| ApiError::invalid(format!("tags[{i}] must be a string.")))?;
            tags::tag(&tag).map_err(|why| ApiError::invalid(format!("tags[{i}] {why}.")))
        })
        .collect()
}

/// The body as one JSON object, keyed by member name.
pub fn json_object(body: &[u8]) -> Result<Object<'_>, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::invalid(format!(
            "Request body is too large (maximum {MAX_BODY_BYTES} bytes)."
        )));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "Request body is required: send a JSON object.",
        ));
    }
    let raw: &RawValue = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("Request body is not valid JSON: {e}.")))?;
    parse_as(raw, '{').ok_or_else(|| ApiError::invalid("Request body must be a JSON object."))
}

fn array<'a>(
    object: &Object<'a>,
    key: &str,
    expected: &str,
) -> Result<Vec<&'a RawValue>, ApiError> {
    let raw = object
        .get(key)
        .ok_or_else(|| ApiError::invalid(format!("'{key}' is required: {expected}.")))?;
    parse_as(raw, '[').ok_or_else(|| ApiError::invalid(format!("'{key}' must be {expected}.")))
}

/// Parses `raw` as `T` when its JSON text starts with `opener` (`{` or `[`).
fn parse_as<'a, T: serde::Deserialize<'a>>(raw: &'a RawValue, opener: char) -> Option<T> {
    if !raw.get().starts_with(opener) {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

fn string(raw: &RawValue) -> Option<String> {
    if raw.get().starts_with('"') {
        serde_json::from_str(raw.get()).ok()
    } else {
        None
    }
}

/// A JSON scalar as an [`InputValue`]; `None` for objects and arrays.
pub fn input_value(raw: &RawValue) -> Option<InputValue> {
    match raw.get().as_bytes().first()? {
        b'"' => string(raw).map(InputValue::Text),
        b'n' => Some(InputValue::Null),
        b't' => Some(InputValue::Bool(true)),
        b'f' => Some(InputValue::Bool(false)),
        b'-' | b'0'..=b'9' => Some(InputValue::Number(raw.get().to_string())),
        _ => None,
    }
}

pub fn value_shape_error(name: &str) -> ApiError {
    ApiError::invalid(format!(
        "Value of custom field '{}' must be a string, number, boolean or null.",
        printable(name)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::field_defs::{FieldSet, FieldType};
    use crate::domain::field_writes::resolve_writes;

    fn message(result: Result<impl std::fmt::Debug, ApiError>) -> String {
        result.unwrap_err().message().to_string()
    }

    #[test]
    fn create_body_of_the_original_documentation() {
        let body = br#"{"custom_fields":[{"name":"phone","value":"03244077087"},
            {"name":"firstName","value":"Muhammad Mahin"},{"name":"lastName","value":"Dar"}]}"#;
        let writes = custom_fields_body(body).unwrap();
        assert_eq!(writes.len(), 3);
        let resolved = resolve_writes(&FieldSet::default(), &writes).unwrap();
        assert_eq!(resolved[0].def.field_type, FieldType::Phone);
        assert_eq!(resolved[1].value.as_deref(), Some("Muhammad Mahin"));
    }

    #[test]
    fn shape_errors_name_the_problem() {
        assert_eq!(
            message(custom_fields_body(b"")),
            "Request body is required: send a JSON object."
        );
        assert!(message(custom_fields_body(b"{\"custom_fields\":"))
            .starts_with("Request body is not valid JSON"));
        assert_eq!(
            message(custom_fields_body(b"[]")),
            "Request body must be a JSON object."
        );
        assert!(message(custom_fields_body(b"{}")).starts_with("'custom_fields' is required"));
        assert!(message(custom_fields_body(br#"{"custom_fields":{}}"#))
            .starts_with("'custom_fields' must be"));
        assert_eq!(
            message(custom_fields_body(br#"{"custom_fields":[]}"#)),
            "At least one custom field is required."
        );
        assert_eq!(
            message(custom_fields_body(br#"{"custom_fields":[5]}"#)),
            "custom_fields[0] must be an object with a name and a value."
        );
        assert_eq!(
            message(custom_fields_body(
                br#"{"custom_fields":[{"name":1,"value":1}]}"#
            )),
            "custom_fields[0].name must be a string."
        );
        assert_eq!(
            message(custom_fields_body(br#"{"custom_fields":[{"name":"a"}]}"#)),
            "Custom field 'a' has no value (send null to clear it)."
        );
        assert_eq!(
            message(custom_fields_body(
                br#"{"custom_fields":[{"name":"a","value":[1]}]}"#
            )),
            "Value of custom field 'a' must be a string, number, boolean or null."
        );
        assert_eq!(
            message(custom_fields_body(
                br#"{"custom_fields":[{"name":"a","value":1},{"name":"a","value":2}]}"#
            )),
            "Custom field 'a' is given more than once."
        );
        let too_big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(message(custom_fields_body(&too_big)).starts_with("Request body is too large"));
    }

    #[test]
    fn field_limit_is_thirty() {
        let body = |n: usize| {
            let entries: Vec<String> = (0..n)
                .map(|i| format!(r#"{{"name":"f{i}","value":"x"}}"#))
                .collect();
            format!(r#"{{"custom_fields":[{}]}}"#, entries.join(","))
        };
        assert_eq!(custom_fields_body(body(30).as_bytes()).unwrap().len(), 30);
        assert_eq!(
            message(custom_fields_body(body(31).as_bytes())),
            "Maximum 30 custom fields can be set per request."
        );
    }

    #[test]
    fn undefined_fields_are_refused() {
        let writes =
            custom_fields_body(br#"{"custom_fields":[{"name":"customerid","value":"1"}]}"#)
                .unwrap();
        assert_eq!(
            message(resolve_writes(&FieldSet::default(), &writes)),
            "Custom field 'customerid' does not exist."
        );
    }

    #[test]
    fn values_keep_their_json_kind() {
        let writes = custom_fields_body(
            br#"{"custom_fields":[{"name":"a","value":null},{"name":"b","value":1.50},{"name":"c","value":true}]}"#,
        )
        .unwrap();
        assert_eq!(writes[0].value, InputValue::Null);
        assert_eq!(writes[1].value, InputValue::Number("1.50".into()));
        assert_eq!(writes[2].value, InputValue::Bool(true));
    }

    #[test]
    fn tags() {
        let tags =
            tags_body(br#"{"tags":[" Blog Updates ","Platform Updates","Blog Updates"]}"#).unwrap();
        assert_eq!(
            tags.into_iter().collect::<Vec<_>>(),
            vec!["Blog Updates", "Platform Updates"]
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("\"t{i}\"")).collect();
        assert_eq!(
            message(tags_body(
                format!(r#"{{"tags":[{}]}}"#, eleven.join(",")).as_bytes()
            )),
            "Maximum 10 tags can be set per request."
        );
        assert_eq!(
            message(tags_body(br#"{"tags":[]}"#)),
            "At least one tag is required."
        );
        assert_eq!(
            message(tags_body(br#"{"tags":["  "]}"#)),
            "tags[0] must not be empty."
        );
        assert_eq!(
            message(tags_body(br#"{"tags":[7]}"#)),
            "tags[0] must be a string."
        );
        let long = "x".repeat(256);
        assert_eq!(
            message(tags_body(format!(r#"{{"tags":["{long}"]}}"#).as_bytes())),
            "tags[0] is longer than 255 characters."
        );
        assert!(tags_body(format!(r#"{{"tags":["{}"]}}"#, "x".repeat(255)).as_bytes()).is_ok());
    }
}
