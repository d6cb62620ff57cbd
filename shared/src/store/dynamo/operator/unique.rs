//! Making a field unique on a channel that may already hold its values, and lifting it.
//!
//! Functions trust the field definitions they loaded for up to the field cache's
//! lifetime, so a declaration goes in three steps: the field is marked `claiming` (every
//! write that loads the definitions from then on takes and releases claims); after the
//! settle time (the cache's lifetime plus the longest a request runs) no write that does
//! not claim is left, and the values already stored are claimed, each conditional on its
//! contact being unchanged since it was read; if no two contacts share a value the field
//! becomes `on`. A racing write meets the claims, so none can slip a duplicate in between.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, TransactWriteItem};

use super::super::errors::{build_error, cancelled_by, classify, condition_failed};
use super::super::item::{self, Item};
use super::super::{keys, DynamoStore};
use crate::domain::field_defs::{FieldDef, FieldType, Uniqueness};
use crate::domain::field_values::match_key;
use crate::limits::MAX_UNIQUE_FIELDS;
use crate::store::StoreError;

/// Passes of [`DynamoStore::claim_values`] before it gives up on a channel whose contacts
/// keep changing under it.
const MAX_PASSES: usize = 8;

/// Contacts that share a value of a field being made unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    /// The value, as one of them holds it.
    pub value: String,
    pub ids: Vec<String>,
}

/// A live contact's value of the field, as a pass reads it.
struct Holder {
    id: String,
    version: i64,
    value: String,
}

impl DynamoStore {
    /// Makes `name` unique in the channel: marks it, waits `settle`, claims every stored
    /// value and switches it on. Refused, with uniqueness lifted again, if contacts share a
    /// value: the error lists them.
    pub async fn make_unique(
        &self,
        channel: &str,
        name: &str,
        settle: Duration,
    ) -> Result<(), StoreError> {
        let fields = self.fields(channel).await?;
        let def = fields.get(name).ok_or_else(|| {
            StoreError::Rejected(format!("no field '{name}' in channel '{channel}'"))
        })?;
        check_can_be_unique(name, &def, fields.unique().len())?;
        match def.unique {
            Some(Uniqueness::On) => return Ok(()),
            // A declaration that stopped part-way: its mark stands, its wait starts again.
            Some(Uniqueness::Claiming) => {}
            None => {
                self.set_uniqueness(channel, name, Some(Uniqueness::Claiming), None)
                    .await?
            }
        }
        tokio::time::sleep(settle).await;
        let clashes = self.claim_values(channel, name, def.field_type).await?;
        if !clashes.is_empty() {
            self.lift_unique(channel, name, settle).await?;
            let listed: Vec<String> = clashes
                .iter()
                .map(|c| format!("'{}': {}", c.value, c.ids.join(", ")))
                .collect();
            return Err(StoreError::Rejected(format!(
                "field '{name}' cannot be unique: contacts share values ({}); \
                 change or clear them, then declare it again",
                listed.join("; ")
            )));
        }
        self.set_uniqueness(
            channel,
            name,
            Some(Uniqueness::On),
            Some(Uniqueness::Claiming),
        )
        .await
    }

    /// Lifts uniqueness from `name`: unmarks it, waits `settle` for writes that still
    /// claim its values, then deletes its claims.
    pub async fn lift_unique(
        &self,
        channel: &str,
        name: &str,
        settle: Duration,
    ) -> Result<(), StoreError> {
        self.existing_channel(channel).await?;
        self.set_uniqueness(channel, name, None, None).await?;
        tokio::time::sleep(settle).await;
        let claims = self
            .query_all(&keys::claim_pk(channel, name), "")
            .await?
            .iter()
            .map(item::key_of)
            .collect::<Result<Vec<_>, _>>()?;
        self.delete_items(claims).await
    }

    /// Sets (or, with `None`, removes) the uniqueness of `name` on the channel item, if it
    /// is `from` (any, with `None`).
    pub(super) async fn set_uniqueness(
        &self,
        channel: &str,
        name: &str,
        to: Option<Uniqueness>,
        from: Option<Uniqueness>,
    ) -> Result<(), StoreError> {
        self.set_uniqueness_map(channel).await?;
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::channel_key(channel)))
            .expression_attribute_names("#unique", item::UNIQUE)
            .expression_attribute_names("#name", name);
        let update = match to {
            Some(state) => update
                .update_expression("SET #unique.#name = :state")
                .expression_attribute_values(":state", item::s(state.as_str())),
            None => update.update_expression("REMOVE #unique.#name"),
        };
        let update = match from {
            Some(state) => update
                .condition_expression("#unique.#name = :from")
                .expression_attribute_values(":from", item::s(state.as_str())),
            None => update,
        };
        match update.send().await {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => Err(StoreError::Rejected(format!(
                "field '{name}' changed while it was being made unique (lifted meanwhile?)"
            ))),
            Err(err) => Err(classify(err)),
        }
    }

    /// Gives the channel item its map of unique fields, if it has none (channels made
    /// before unique fields existed).
    pub(super) async fn set_uniqueness_map(&self, channel: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::channel_key(channel)))
            .update_expression("SET #unique = if_not_exists(#unique, :empty)")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#unique", item::UNIQUE)
            .expression_attribute_values(":empty", AttributeValue::M(Default::default()))
            .send()
            .await
            .map_err(|err| match condition_failed(&err) {
                true => StoreError::Rejected(format!("no channel '{channel}'")),
                false => classify(err),
            })?;
        Ok(())
    }

    /// Claims every value of the unique field `name` for the live contact holding it, and
    /// deletes claims whose contact no longer holds their value, each conditional on the
    /// contact being as read. Returns the values more than one contact holds (left
    /// unclaimed). `check --repair` runs it too.
    pub(super) async fn claim_values(
        &self,
        channel: &str,
        name: &str,
        field_type: FieldType,
    ) -> Result<Vec<Clash>, StoreError> {
        let claim_pk = keys::claim_pk(channel, name);
        for _ in 0..MAX_PASSES {
            let mut settled = true;
            let claims: BTreeMap<String, String> = self
                .query_all(&claim_pk, "")
                .await?
                .iter()
                .filter_map(|c| {
                    let sk = item::get_s(c, keys::SK).ok()?.to_string();
                    Some((sk, item::get_s(c, item::OWNER).ok()?.to_string()))
                })
                .collect();
            // Claim sort key → the contacts holding that value.
            let mut holders: BTreeMap<String, Vec<Holder>> = BTreeMap::new();
            for found in self
                .query_all(&keys::channel_pk(channel), &keys::contact_sk(""))
                .await?
            {
                if item::is_deleted(&found) {
                    continue;
                }
                let contact = item::contact_from_item(&found)?;
                if let Some(value) = contact.fields.get(name) {
                    holders
                        .entry(keys::claim_sk(&match_key(field_type, value)))
                        .or_default()
                        .push(Holder {
                            id: contact.id.clone(),
                            version: item::get_n(&found, item::VERSION)?,
                            value: value.clone(),
                        });
                }
            }
            let mut clashes = Vec::new();
            for (sk, owner) in &claims {
                let holds = holders
                    .get(sk)
                    .is_some_and(|h| h.iter().any(|h| &h.id == owner));
                if !holds {
                    settled &= self.drop_claim(channel, &claim_pk, sk, owner).await?;
                }
            }
            for (sk, holders) in &holders {
                if holders.len() > 1 {
                    clashes.push(Clash {
                        value: holders[0].value.clone(),
                        ids: holders.iter().map(|h| h.id.clone()).collect(),
                    });
                    continue;
                }
                let holder = &holders[0];
                if claims.get(sk) == Some(&holder.id) {
                    continue;
                }
                match self.take_claim(channel, &claim_pk, sk, holder).await? {
                    Taken::Done => {}
                    Taken::Retry => settled = false,
                    Taken::By(other) => {
                        // A write took it since the pass read the claims: holding it too?
                        let other_holds = self
                            .get(item::contact_key(channel, &other))
                            .await?
                            .filter(|c| !item::is_deleted(c))
                            .and_then(|c| item::contact_from_item(&c).ok())
                            .and_then(|c| c.fields.get(name).cloned())
                            .is_some_and(|v| keys::claim_sk(&match_key(field_type, &v)) == *sk);
                        if other_holds {
                            clashes.push(Clash {
                                value: holder.value.clone(),
                                ids: vec![holder.id.clone(), other],
                            });
                        } else {
                            settled = false;
                        }
                    }
                }
            }
            if !clashes.is_empty() || settled {
                return Ok(clashes);
            }
        }
        Err(StoreError::Unavailable(format!(
            "the values of '{name}' kept changing; run it again"
        )))
    }

    /// Deletes the claim `(pk, sk)` of `owner`, which no longer holds its value, if
    /// neither changed since they were read; whether it did.
    async fn drop_claim(
        &self,
        channel: &str,
        pk: &str,
        sk: &str,
        owner: &str,
    ) -> Result<bool, StoreError> {
        let contact = self.get(item::contact_key(channel, owner)).await?;
        let unchanged = match &contact {
            Some(found) => ConditionCheck::builder()
                .condition_expression(format!("{} = :v", item::VERSION))
                .expression_attribute_values(":v", item::n(item::get_n(found, item::VERSION)?)),
            None => ConditionCheck::builder().condition_expression("attribute_not_exists(PK)"),
        }
        .table_name(&self.table)
        .set_key(Some(item::contact_key(channel, owner)))
        .build()
        .map_err(build_error)?;
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(item::key(pk.to_string(), sk.to_string())))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", item::OWNER)
            .expression_attribute_values(":owner", item::s(owner))
            .build()
            .map_err(build_error)?;
        let actions = vec![
            TransactWriteItem::builder()
                .condition_check(unchanged)
                .build(),
            TransactWriteItem::builder().delete(delete).build(),
        ];
        self.settle_transaction(actions).await.map(|r| r.is_ok())
    }

    /// Claims `sk` for `holder`, if it is unchanged since read.
    async fn take_claim(
        &self,
        channel: &str,
        pk: &str,
        sk: &str,
        holder: &Holder,
    ) -> Result<Taken, StoreError> {
        let unchanged = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(item::contact_key(channel, &holder.id)))
            .condition_expression(format!(
                "{} = :v AND attribute_not_exists(#deleted)",
                item::VERSION
            ))
            .expression_attribute_names("#deleted", item::DELETED)
            .expression_attribute_values(":v", item::n(holder.version))
            .build()
            .map_err(build_error)?;
        let actions = vec![
            TransactWriteItem::builder()
                .condition_check(unchanged)
                .build(),
            self.take_action(pk, sk, &holder.id)?,
        ];
        match self.settle_transaction(actions).await? {
            Ok(()) => Ok(Taken::Done),
            Err(reasons) => match reasons.as_slice() {
                [(false, _), (true, Some(owner))] => Ok(Taken::By(owner.clone())),
                _ => Ok(Taken::Retry),
            },
        }
    }

    /// Runs a transaction of the declaration; a cancellation is `Err` with, per action,
    /// whether its condition failed and the claim owner it saw.
    async fn settle_transaction(
        &self,
        actions: Vec<TransactWriteItem>,
    ) -> Result<Result<(), Vec<(bool, Option<String>)>>, StoreError> {
        let err = match self.transact(actions).await {
            Ok(_) => return Ok(Ok(())),
            Err(err) => err,
        };
        if !cancelled_by(&err, &["ConditionalCheckFailed", "TransactionConflict"]) {
            return Err(classify(err));
        }
        let reasons = match err.as_service_error() {
            Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(e)) => e
                .cancellation_reasons()
                .iter()
                .map(|r| {
                    let owner = r
                        .item()
                        .and_then(|i: &Item| i.get(item::OWNER))
                        .and_then(|v| v.as_s().ok())
                        .cloned();
                    (r.code() == Some("ConditionalCheckFailed"), owner)
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(Err(reasons))
    }
}

/// How claiming a value for its holder ended.
enum Taken {
    Done,
    /// The holder changed (or a transaction conflicted): the next pass sees.
    Retry,
    /// Another contact holds the claim.
    By(String),
}

/// Refuses what cannot be unique: a type few contacts could hold each, or one more
/// unique field than a write's first transaction can carry.
pub(super) fn check_can_be_unique(
    name: &str,
    def: &FieldDef,
    unique_now: usize,
) -> Result<(), StoreError> {
    if !Uniqueness::allowed(def.field_type) {
        return Err(StoreError::Rejected(format!(
            "field '{name}' is a {} field: only text, number, email, phone and url fields can be unique",
            def.field_type
        )));
    }
    if def.unique.is_none() && unique_now >= MAX_UNIQUE_FIELDS {
        return Err(StoreError::Rejected(format!(
            "a channel has at most {MAX_UNIQUE_FIELDS} unique fields"
        )));
    }
    Ok(())
}
