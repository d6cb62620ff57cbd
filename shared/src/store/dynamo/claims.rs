//! Unique values: one claim item per value of a unique field, naming the contact that
//! holds it. A write takes the claims of the unique values it sets and releases those of
//! the values it clears, in its first transaction, beside the contact's own action: a
//! take is conditional on the claim being free or already the contact's, so two writes
//! can never give one value to two contacts, whatever their timing. A release is
//! conditional on the claim being the contact's (or absent): while a field is still
//! being declared unique, the claim of a value a contact clears may be another's.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};

use super::errors::build_error;
use super::item::{self, Item};
use super::{keys, DynamoStore};
use crate::domain::contact::Contact;
use crate::domain::field_defs::{FieldSet, FieldType};
use crate::domain::field_values::match_key;
use crate::store::{FieldChange, NewContact, StoreError};

/// What a claim's condition asks: free, or the writing contact's already.
const FREE_OR_MINE: &str = "attribute_not_exists(PK) OR #owner = :me";

/// One claim a write takes or releases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Claim {
    pub field: String,
    /// The value as stored, for the 409's message.
    pub value: String,
    pub pk: String,
    pub sk: String,
    pub take: bool,
}

/// The claims of one contact's write, in the order of its transaction's actions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Claims(pub Vec<Claim>);

impl Claims {
    fn push(&mut self, channel: &str, field: &str, field_type: FieldType, value: &str, take: bool) {
        self.0.push(Claim {
            field: field.to_string(),
            value: value.to_string(),
            pk: keys::claim_pk(channel, field),
            sk: keys::claim_sk(&match_key(field_type, value)),
            take,
        });
    }

    /// The claims a new contact takes: one per unique value it has.
    pub fn for_new(channel: &str, new: &NewContact<'_>) -> Claims {
        let mut claims = Claims::default();
        for w in new.writes.iter().filter(|w| w.def.claims()) {
            if let Some(value) = &w.value {
                claims.push(channel, &w.name, w.def.field_type, value, true);
            }
        }
        claims
    }

    /// The claims an update moves: a changed unique value's old one released, its new one
    /// taken (none when both have one match key).
    pub fn for_changes(channel: &str, changes: &[FieldChange<'_>]) -> Claims {
        let mut claims = Claims::default();
        for change in changes.iter().filter(|c| c.unique) {
            let key = |v: &str| match_key(change.field_type, v);
            if change.old.map(key) == change.new.map(key) {
                continue;
            }
            if let Some(old) = change.old {
                claims.push(channel, change.name, change.field_type, old, false);
            }
            if let Some(new) = change.new {
                claims.push(channel, change.name, change.field_type, new, true);
            }
        }
        claims
    }

    /// The claims a deleted contact releases.
    pub fn for_removal(channel: &str, contact: &Contact, fields: &FieldSet) -> Claims {
        let mut claims = Claims::default();
        for (name, value) in &contact.fields {
            if let Some(def) = fields.get(name).filter(|d| d.claims()) {
                claims.push(channel, name, def.field_type, value, false);
            }
        }
        claims
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The claims without those at `dropped` (positions in this list).
    pub fn without(&self, dropped: &[usize]) -> Claims {
        Claims(
            self.0
                .iter()
                .enumerate()
                .filter(|(i, _)| !dropped.contains(i))
                .map(|(_, c)| c.clone())
                .collect(),
        )
    }
}

/// Why a transaction holding claims (from action `first` on) was cancelled, as far as
/// its claims are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ClaimFailure {
    /// No claim's condition failed.
    None,
    /// A value to take is another contact's: the 409 to answer.
    Taken(StoreError),
    /// Releases of claims that are other contacts' (positions in the claims): the write
    /// goes ahead without them.
    Foreign(Vec<usize>),
}

impl DynamoStore {
    /// The transaction actions of `claims`, for contact `owner`.
    pub(super) fn claim_actions(
        &self,
        claims: &Claims,
        owner: &str,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        claims
            .0
            .iter()
            .map(|claim| {
                Ok(if claim.take {
                    self.take_action(&claim.pk, &claim.sk, owner)?
                } else {
                    let delete = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(item::key(claim.pk.clone(), claim.sk.clone())))
                        .condition_expression(FREE_OR_MINE)
                        .expression_attribute_names("#owner", item::OWNER)
                        .expression_attribute_values(":me", item::s(owner))
                        .build()
                        .map_err(build_error)?;
                    TransactWriteItem::builder().delete(delete).build()
                })
            })
            .collect()
    }

    /// The put of the claim `(pk, sk)` for `owner`, if it is free or `owner`'s already;
    /// failing, it hands back the claim, whose owner the 409 names.
    pub(super) fn take_action(
        &self,
        pk: &str,
        sk: &str,
        owner: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item::claim_item(pk, sk, owner)))
            .condition_expression(FREE_OR_MINE)
            .expression_attribute_names("#owner", item::OWNER)
            .expression_attribute_values(":me", item::s(owner))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// What the cancellation of a transaction whose claims start at action `first` says
    /// of them. A taken value's owner comes with the cancellation (the claim's old image),
    /// or, where a DynamoDB does not send it, from reading the claim.
    pub(super) async fn claim_failure<R>(
        &self,
        err: &SdkError<TransactWriteItemsError, R>,
        first: usize,
        claims: &Claims,
    ) -> Result<ClaimFailure, StoreError> {
        let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error()
        else {
            return Ok(ClaimFailure::None);
        };
        let reasons = e.cancellation_reasons();
        let mut foreign = Vec::new();
        for (i, claim) in claims.0.iter().enumerate() {
            let Some(reason) = reasons.get(first + i) else {
                continue;
            };
            if reason.code() != Some("ConditionalCheckFailed") {
                continue;
            }
            if !claim.take {
                foreign.push(i);
                continue;
            }
            let owner = match reason.item().and_then(owner_of) {
                Some(owner) => Some(owner),
                None => self
                    .get(item::key(claim.pk.clone(), claim.sk.clone()))
                    .await?
                    .as_ref()
                    .and_then(owner_of),
            };
            // Released meanwhile: the caller's retry takes it.
            let Some(owner) = owner else { continue };
            return Ok(ClaimFailure::Taken(StoreError::ValueTaken {
                field: claim.field.clone(),
                value: claim.value.clone(),
                owner,
            }));
        }
        Ok(if foreign.is_empty() {
            ClaimFailure::None
        } else {
            ClaimFailure::Foreign(foreign)
        })
    }

    /// The contact holding a unique field's value (by its match key), if any.
    pub(super) async fn owner_of_value(
        &self,
        channel: &str,
        field: &str,
        match_key: &str,
    ) -> Result<Option<String>, StoreError> {
        let key = item::key(keys::claim_pk(channel, field), keys::claim_sk(match_key));
        Ok(self.get(key).await?.as_ref().and_then(owner_of))
    }
}

fn owner_of(found: &Item) -> Option<String> {
    found.get(item::OWNER)?.as_s().ok().cloned()
}
