//! What the unit tests share: small builders.

use std::collections::BTreeSet;

use crate::domain::field_values::InputValue;
use crate::domain::field_writes::RawFieldWrite;

/// Raw field writes as a request sends them; `None` clears.
pub fn raw(pairs: &[(&str, Option<&str>)]) -> Vec<RawFieldWrite> {
    pairs
        .iter()
        .map(|(name, value)| RawFieldWrite {
            name: name.to_string(),
            value: value.map_or(InputValue::Null, |v| InputValue::Text(v.to_string())),
        })
        .collect()
}

pub fn tags(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|t| t.to_string()).collect()
}
