//! Mapping between items and the domain: attribute names and conversions live here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys;
use crate::domain::contact::Contact;
use crate::domain::field_defs::{FieldDef, FieldSet, FieldType, Uniqueness};
use crate::domain::idempotency::IdempotencyRecord;
use crate::store::StoreError;

pub type Item = HashMap<String, AttributeValue>;

// Contact attributes.
pub const ID: &str = "id";
pub const FIELDS: &str = "f";
pub const TAGS: &str = "tags";
pub const CREATED_AT: &str = "created_at";
/// The microsecond within `created_at` (absent on contacts stored before it was kept).
pub const CREATED_MICROS: &str = "us";
pub const VERSION: &str = "v";
/// A contact's change counter: every write a subscriber sees adds one (a change event's
/// `sequence`). Apart from `v`, which only field writes move, so that tags never make a
/// field update retry.
pub const SEQUENCE: &str = "seq";
/// Index changes of a write too large for one transaction, not applied yet.
pub const PENDING: &str = "pending";
/// Set when a delete too large for one transaction has begun: the contact is gone for
/// every reader, and the last of its pending changes deletes the item.
pub const DELETED: &str = "deleted";
/// The PK of the idempotency record of the request that created the contact, which its
/// delete removes too.
pub const CREATED_BY: &str = "idem";

// Unique claims.
/// The id of the contact holding the claimed value.
pub const OWNER: &str = "owner";

// Count shards and page marks of a field value's partition.
/// A shard's share of the count (may go below zero: any shard takes a decrement).
pub const COUNT: &str = "n";
/// Changes a shard has taken: their sum over the shards changes whenever the matches do.
pub const CHANGES: &str = "changes";
/// The sort key of the last index entry of a page.
pub const AFTER: &str = "after";
/// The sum of the shards' changes when the mark was written.
pub const MATCHES_VERSION: &str = "matches_v";

// Channel, token and API key attributes.
pub const NAME: &str = "name";
pub const TYPE: &str = "type";
pub const API_KEY: &str = "api_key";
pub const API_KEY_ID: &str = "api_key_id";
pub const CHANNEL_ID: &str = "channel_id";
pub const CHANNEL_TYPE: &str = "channel_type";
/// The workspace a channel is in (channels made before workspaces have none until migrated).
pub const WORKSPACE: &str = "workspace";
pub const FIELD_DEFS: &str = "fields";
pub const TOKENS: &str = "tokens";
pub const VALUES: &str = "values";
/// The channel's unique fields: name → [`Uniqueness`] as text.
pub const UNIQUE: &str = "unique";
/// Set when the channel's deletion has begun: its requests are refused from then on.
pub const DELETING: &str = "deleting";

// Idempotency records.
pub const KEY: &str = "key";
pub const BODY_HASH: &str = "body_hash";
pub const CONTACT_ID: &str = "contact_id";
/// Unix seconds; the table's TTL attribute.
/// A webhook subscription's attributes (and `channel_id`, `created_at`).
pub const WEBHOOK_URL: &str = "url";
pub const WEBHOOK_EVENTS: &str = "events";
pub const WEBHOOK_FIELDS: &str = "only_fields";
pub const SEALED_SECRET: &str = "sealed_secret";
pub const EXPIRES_AT: &str = "expires_at";

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn key(pk: String, sk: String) -> Item {
    HashMap::from([(keys::PK.to_string(), s(pk)), (keys::SK.to_string(), s(sk))])
}

/// The key of a stored item.
pub fn key_of(found: &Item) -> Result<Item, StoreError> {
    Ok(key(
        get_s(found, keys::PK)?.to_string(),
        get_s(found, keys::SK)?.to_string(),
    ))
}

pub fn channel_key(channel: &str) -> Item {
    key(keys::channel_pk(channel), keys::CHANNEL_SK.into())
}

/// A channel's entry in the channel list.
pub fn listed_channel_key(channel: &str) -> Item {
    key(keys::CHANNELS_PK.to_string(), channel.to_string())
}

pub fn workspace_key(workspace: &str) -> Item {
    key(keys::workspace_pk(workspace), keys::WORKSPACE_SK.into())
}

/// A workspace's entry in the workspace list.
pub fn listed_workspace_key(workspace: &str) -> Item {
    key(keys::WORKSPACES_PK.to_string(), workspace.to_string())
}

/// A workspace's entry for one of its channels.
pub fn workspace_channel_key(workspace: &str, channel: &str) -> Item {
    key(
        keys::workspace_pk(workspace),
        keys::workspace_channel_sk(channel),
    )
}

pub fn contact_key(channel: &str, id: &str) -> Item {
    key(keys::channel_pk(channel), keys::contact_sk(id))
}

pub fn token_key(token_hash: &str) -> Item {
    key(keys::token_pk(token_hash), keys::TOKEN_SK.into())
}

pub fn api_key_key(value: &str) -> Item {
    key(keys::api_key_pk(value), keys::API_KEY_SK.into())
}

/// The local stack's usage-plan key of a channel (the channel id says whose it is).
pub fn api_key_item(value: &str, channel: &str) -> Item {
    let mut item = api_key_key(value);
    item.insert(CHANNEL_ID.into(), s(channel));
    item
}

pub fn idempotency_key(channel: &str, idempotency_key: &str) -> Item {
    key(
        keys::idempotency_pk(channel, idempotency_key),
        keys::IDEMPOTENCY_SK.into(),
    )
}

pub fn idempotency_item(channel: &str, record: &IdempotencyRecord) -> Item {
    let mut item = idempotency_key(channel, &record.key);
    item.insert(KEY.into(), s(record.key.as_str()));
    item.insert(BODY_HASH.into(), s(record.body_hash.as_str()));
    item.insert(CONTACT_ID.into(), s(record.contact_id.as_str()));
    item.insert(EXPIRES_AT.into(), n(record.expires_at));
    item
}

pub fn idempotency_from_item(found: &Item) -> Result<IdempotencyRecord, StoreError> {
    Ok(IdempotencyRecord {
        key: get_s(found, KEY)?.to_string(),
        body_hash: get_s(found, BODY_HASH)?.to_string(),
        contact_id: get_s(found, CONTACT_ID)?.to_string(),
        expires_at: get_n(found, EXPIRES_AT)?,
    })
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| corrupt(name))
}

pub fn get_n(item: &Item, name: &str) -> Result<i64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt(name))
}

fn corrupt(name: &str) -> StoreError {
    StoreError::Failed(format!("stored item lacks a valid '{name}' attribute"))
}

/// A new contact item, at version 1.
pub fn contact_item(
    channel: &str,
    id: &str,
    created_at: i64,
    created_micros: u32,
    fields: &BTreeMap<String, String>,
    tags: &BTreeSet<String>,
) -> Item {
    let mut item = key(keys::channel_pk(channel), keys::contact_sk(id));
    item.insert(ID.into(), s(id));
    item.insert(
        FIELDS.into(),
        AttributeValue::M(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), s(v.as_str())))
                .collect(),
        ),
    );
    if !tags.is_empty() {
        item.insert(
            TAGS.into(),
            AttributeValue::Ss(tags.iter().cloned().collect()),
        );
    }
    item.insert(CREATED_AT.into(), n(created_at));
    item.insert(CREATED_MICROS.into(), n(i64::from(created_micros)));
    item.insert(VERSION.into(), n(1));
    item.insert(SEQUENCE.into(), n(1));
    item
}

/// A contact item's change counter (0 for an item written before it was kept).
pub fn sequence_of(item: &Item) -> i64 {
    get_n(item, SEQUENCE).unwrap_or(0)
}

/// Whether a contact item is being deleted (and so, for readers, absent).
pub fn is_deleted(item: &Item) -> bool {
    item.contains_key(DELETED)
}

pub fn contact_from_item(item: &Item) -> Result<Contact, StoreError> {
    let fields = match item.get(FIELDS) {
        Some(AttributeValue::M(map)) => map
            .iter()
            .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.clone(), v.clone())))
            .collect(),
        _ => BTreeMap::new(),
    };
    let tags = match item.get(TAGS) {
        Some(AttributeValue::Ss(tags)) => tags.iter().cloned().collect(),
        _ => BTreeSet::new(),
    };
    Ok(Contact {
        id: get_s(item, ID)?.to_string(),
        fields,
        tags,
        created_at: get_n(item, CREATED_AT)?,
        created_micros: item
            .get(CREATED_MICROS)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok()),
    })
}

/// The index entry of one field value of a contact.
pub fn index_item(channel: &str, field: &str, match_key: &str, contact: &Contact) -> Item {
    key(
        keys::index_pk(channel, field, match_key),
        keys::index_sk(contact.created_at, contact.created_micros, &contact.id),
    )
}

pub fn field_def_value(def: &FieldDef) -> AttributeValue {
    let mut map = HashMap::from([(TYPE.to_string(), s(def.field_type.as_str()))]);
    if !def.values.is_empty() {
        map.insert(
            VALUES.into(),
            AttributeValue::L(def.values.iter().map(|v| s(v.as_str())).collect()),
        );
    }
    AttributeValue::M(map)
}

/// The field set stored on a channel item; definitions that do not parse are skipped
/// (and logged) rather than making the whole channel unusable.
pub fn field_set_from_item(item: Option<&Item>) -> FieldSet {
    let Some(AttributeValue::M(defs)) = item.and_then(|i| i.get(FIELD_DEFS)) else {
        return FieldSet::default().with_unique(unique_from_item(item));
    };
    let custom = defs
        .iter()
        .filter_map(|(name, value)| {
            let def = value.as_m().ok()?;
            let field_type: FieldType = def.get(TYPE)?.as_s().ok()?.parse().ok().or_else(|| {
                tracing::error!(field = %name, "stored field definition has an unknown type");
                None
            })?;
            let values = match def.get(VALUES) {
                Some(AttributeValue::L(values)) => values
                    .iter()
                    .filter_map(|v| v.as_s().ok().cloned())
                    .collect(),
                _ => Vec::new(),
            };
            Some((
                name.clone(),
                FieldDef {
                    field_type,
                    values,
                    unique: None,
                },
            ))
        })
        .collect();
    FieldSet::new(custom).with_unique(unique_from_item(item))
}

/// The unique fields stored on a channel item.
pub fn unique_from_item(item: Option<&Item>) -> BTreeMap<String, Uniqueness> {
    let Some(AttributeValue::M(unique)) = item.and_then(|i| i.get(UNIQUE)) else {
        return BTreeMap::new();
    };
    unique
        .iter()
        .filter_map(|(name, state)| Some((name.clone(), Uniqueness::parse(state.as_s().ok()?)?)))
        .collect()
}

/// A unique claim: `owner` holds the value.
pub fn claim_item(pk: &str, sk: &str, owner: &str) -> Item {
    let mut item = key(pk.to_string(), sk.to_string());
    item.insert(OWNER.into(), s(owner));
    item
}
