//! What a create, update or import writes to a contact's fields: each named field
//! checked against the channel's definitions, its value in canonical form.

use crate::domain::field_defs::{FieldDef, FieldSet};
use crate::domain::field_values::{canonical, InputValue};
use crate::error::ApiError;

/// One field write of a create or update: the field and its canonical value (`None` clears it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldWrite {
    pub name: String,
    pub def: FieldDef,
    pub value: Option<String>,
}

/// A field write as sent, before it is checked against the channel's definitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFieldWrite {
    pub name: String,
    pub value: InputValue,
}

/// Checks raw writes against the channel's fields and canonicalises their values.
pub fn resolve_writes(
    fields: &FieldSet,
    raw: &[RawFieldWrite],
) -> Result<Vec<FieldWrite>, ApiError> {
    raw.iter()
        .map(|w| {
            let def = fields.require(&w.name)?;
            let value = canonical(&w.name, &def, &w.value)?;
            Ok(FieldWrite {
                name: w.name.clone(),
                def,
                value,
            })
        })
        .collect()
}
