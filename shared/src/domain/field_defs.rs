//! Field definitions (what a field is): the types, the built-in fields every channel has,
//! the operator's own, and the rules for names. What a field may hold is
//! `field_values`; what a request writes to fields is `field_writes`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::error::{printable, ApiError};
use crate::limits::{MAX_FIELD_NAME_CHARS, MAX_LIST_VALUES, MAX_VALUE_CHARS};

/// The type of a field, which decides how its values are validated, stored and matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    Number,
    Boolean,
    Email,
    Phone,
    Url,
    Date,
    Time,
    List,
}

impl FieldType {
    pub const ALL: [FieldType; 9] = [
        FieldType::Text,
        FieldType::Number,
        FieldType::Boolean,
        FieldType::Email,
        FieldType::Phone,
        FieldType::Url,
        FieldType::Date,
        FieldType::Time,
        FieldType::List,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Date => "date",
            FieldType::Time => "time",
            FieldType::List => "list",
        }
    }
}

impl FieldType {
    /// Whether values of this type are free text (matched case-insensitively), where a `+`
    /// in a query may stand for a space.
    pub fn is_text_like(self) -> bool {
        matches!(self, FieldType::Text | FieldType::List)
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FieldType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = FieldType::ALL.iter().map(|t| t.as_str()).collect();
                format!(
                    "unknown field type '{s}' (expected one of {})",
                    names.join(", ")
                )
            })
    }
}

/// Whether a field's values are unique in its channel. Each value of a unique field is
/// claimed by the contact holding it, in the same transaction as the write that gives it,
/// so two contacts can never hold one value (compared by match key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    /// Being declared on a channel that may already hold values: writes claim the values
    /// they set, while the operator tool claims the values already stored.
    Claiming,
    /// Every value is claimed by its contact.
    On,
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::Claiming => "claiming",
            Uniqueness::On => "on",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Uniqueness::Claiming, Uniqueness::On]
            .into_iter()
            .find(|u| u.as_str() == text)
    }

    /// Whether values of this type can be made unique: not booleans, dates, times or list
    /// values, which few contacts could hold each.
    pub fn allowed(field_type: FieldType) -> bool {
        matches!(
            field_type,
            FieldType::Text
                | FieldType::Number
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
        )
    }
}

/// One field's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    pub field_type: FieldType,
    /// The declared values of a `list` field, in declaration order; empty otherwise.
    pub values: Vec<String>,
    /// Whether its values are unique in the channel (kept apart from the definition,
    /// since built-in fields can be unique too: see [`FieldSet`]).
    pub unique: Option<Uniqueness>,
}

impl FieldDef {
    pub fn new(field_type: FieldType) -> Self {
        FieldDef {
            field_type,
            values: Vec::new(),
            unique: None,
        }
    }

    /// Whether a write of this field claims its value.
    pub fn claims(&self) -> bool {
        self.unique.is_some()
    }

    /// A definition the admin tool may store: list fields declare 1 to 100 distinct
    /// values (case-insensitively), other types declare none.
    pub fn checked(field_type: FieldType, values: Vec<String>) -> Result<Self, String> {
        let values: Vec<String> = values.into_iter().map(|v| v.trim().to_string()).collect();
        if field_type != FieldType::List {
            if !values.is_empty() {
                return Err(format!(
                    "only list fields take values, not {field_type} fields"
                ));
            }
            return Ok(FieldDef::new(field_type));
        }
        if values.is_empty() || values.len() > MAX_LIST_VALUES {
            return Err(format!(
                "a list field declares 1 to {MAX_LIST_VALUES} values"
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for value in &values {
            if value.is_empty() || value.chars().count() > MAX_VALUE_CHARS {
                return Err(format!("list values are 1 to {MAX_VALUE_CHARS} characters"));
            }
            if !seen.insert(value.to_lowercase()) {
                return Err(format!("list value '{value}' is declared twice"));
            }
        }
        Ok(FieldDef {
            field_type,
            values,
            unique: None,
        })
    }
}

/// The built-in phone field: on WhatsApp and SMS channels, a new contact's id.
pub const PHONE_FIELD: &str = "phone";

/// The fields every channel has, whatever the operator defines.
pub const BUILT_IN_FIELDS: [(&str, FieldType); 10] = [
    ("firstName", FieldType::Text),
    ("lastName", FieldType::Text),
    ("locale", FieldType::Text),
    ("gender", FieldType::Text),
    ("language", FieldType::Text),
    ("countryCode", FieldType::Text),
    (PHONE_FIELD, FieldType::Phone),
    ("email", FieldType::Email),
    ("timezone", FieldType::Number),
    ("profilePic", FieldType::Url),
];

pub fn is_built_in(name: &str) -> bool {
    BUILT_IN_FIELDS.iter().any(|(n, _)| *n == name)
}

/// Whether `name` is a well-formed field name: 1–50 letters, digits, `_`, `-`, `.`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_FIELD_NAME_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The fields a channel can use: the built-ins plus the operator's definitions, and which
/// of them are unique.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    custom: BTreeMap<String, FieldDef>,
    unique: BTreeMap<String, Uniqueness>,
}

impl FieldSet {
    pub fn new(custom: BTreeMap<String, FieldDef>) -> Self {
        FieldSet {
            custom,
            unique: BTreeMap::new(),
        }
    }

    /// The set with these fields unique (names it lacks are ignored).
    pub fn with_unique(mut self, unique: BTreeMap<String, Uniqueness>) -> Self {
        self.unique = unique;
        self
    }

    pub fn get(&self, name: &str) -> Option<FieldDef> {
        let mut def = match BUILT_IN_FIELDS.iter().find(|(n, _)| *n == name) {
            Some((_, t)) => FieldDef::new(*t),
            None => self.custom.get(name).cloned()?,
        };
        def.unique = self.unique.get(name).copied();
        Some(def)
    }

    /// The fields declared unique (or being declared), by name.
    pub fn unique(&self) -> &BTreeMap<String, Uniqueness> {
        &self.unique
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The definition of `name`, or the contract's error for an undefined field.
    pub fn require(&self, name: &str) -> Result<FieldDef, ApiError> {
        self.get(name).ok_or_else(|| undefined_field(name))
    }

    pub fn custom(&self) -> &BTreeMap<String, FieldDef> {
        &self.custom
    }
}

/// Why `name` is not a field name.
pub fn invalid_field_name(name: &str) -> String {
    format!(
        "field name '{name}' must be 1 to {MAX_FIELD_NAME_CHARS} letters, digits, '_', '-' or '.'"
    )
}

pub fn undefined_field(name: &str) -> ApiError {
    ApiError::invalid(format!(
        "Custom field '{}' does not exist.",
        printable(name)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_valid_name("customer_id-2.x"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("has space"));
        assert!(!is_valid_name("ñame"));
        assert!(!is_valid_name(&"a".repeat(51)));
        assert!(is_valid_name(&"a".repeat(50)));
    }

    #[test]
    fn built_ins_shadow_custom_definitions() {
        let mut custom = BTreeMap::new();
        custom.insert("phone".to_string(), FieldDef::new(FieldType::Text));
        custom.insert("customerid".to_string(), FieldDef::new(FieldType::Number));
        let set = FieldSet::new(custom);
        assert_eq!(set.get("phone").unwrap().field_type, FieldType::Phone);
        assert_eq!(set.get("customerid").unwrap().field_type, FieldType::Number);
        assert_eq!(
            set.require("nope").unwrap_err().message(),
            "Custom field 'nope' does not exist."
        );
        assert!(!set.contains("Phone"), "names are case-sensitive");
    }

    #[test]
    fn list_definitions() {
        assert!(FieldDef::checked(FieldType::List, vec![]).is_err());
        assert!(FieldDef::checked(FieldType::List, vec!["a".into(), "A".into()]).is_err());
        assert!(FieldDef::checked(FieldType::Text, vec!["a".into()]).is_err());
        let def =
            FieldDef::checked(FieldType::List, vec![" gold ".into(), "silver".into()]).unwrap();
        assert_eq!(def.values, vec!["gold", "silver"]);
    }
}
