//! The DynamoDB capacity a call consumed, as DynamoDB reports it (every request asks for
//! it: [`CAPACITY`](super::CAPACITY)). An interceptor on the client adds each response's
//! units to the call being [`metered`], as read or write units by operation, for the
//! call's metrics. Outside a metered call it adds nothing.

use std::cell::Cell;
use std::future::Future;

use aws_sdk_dynamodb::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde::Deserialize;

/// Capacity units one call consumed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Units {
    pub read: f64,
    pub write: f64,
}

tokio::task_local! {
    static METERED: Cell<Units>;
}

/// Runs `call` and returns its output with the units its DynamoDB requests consumed
/// (theirs only: the task-local meter is this call's).
pub async fn metered<F: Future>(call: F) -> (F::Output, Units) {
    METERED
        .scope(Cell::new(Units::default()), async move {
            let output = call.await;
            (output, METERED.with(Cell::get))
        })
        .await
}

/// Operations billed in write units; every other one reads.
const WRITES: [&str; 5] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

/// The interceptor every store client carries.
#[derive(Debug)]
pub struct CapacityMeter;

impl Intercept for CapacityMeter {
    fn name(&self) -> &'static str {
        "CapacityMeter"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // Deserialized, so the body is in memory.
        let Some(body) = context.response().body().bytes() else {
            return Ok(());
        };
        let units = consumed_units(body);
        if units > 0.0 {
            let write = cfg
                .load::<Metadata>()
                .is_some_and(|m| WRITES.contains(&m.name()));
            // Outside a metered call there is nothing to add to.
            let _ = METERED.try_with(|meter| {
                let mut total = meter.get();
                if write {
                    total.write += units;
                } else {
                    total.read += units;
                }
                meter.set(total);
            });
        }
        Ok(())
    }
}

/// The units a response body reports: `ConsumedCapacity` is one object, or a list of them
/// (one per table) for batches and transactions. Everything else in the body is skipped
/// unread.
pub fn consumed_units(body: &[u8]) -> f64 {
    #[derive(Deserialize)]
    struct Body {
        #[serde(rename = "ConsumedCapacity")]
        consumed: Option<Consumed>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Consumed {
        One(Capacity),
        Many(Vec<Capacity>),
    }
    #[derive(Deserialize)]
    struct Capacity {
        #[serde(rename = "CapacityUnits")]
        units: Option<f64>,
    }
    match serde_json::from_slice::<Body>(body)
        .ok()
        .and_then(|b| b.consumed)
    {
        Some(Consumed::One(one)) => one.units.unwrap_or(0.0),
        Some(Consumed::Many(list)) => list.iter().filter_map(|c| c.units).sum(),
        None => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_read_from_one_object_or_a_list() {
        assert_eq!(
            consumed_units(br#"{"Item":{"a":{"S":"x"}},"ConsumedCapacity":{"TableName":"t","CapacityUnits":1.5}}"#),
            1.5
        );
        assert_eq!(
            consumed_units(br#"{"ConsumedCapacity":[{"CapacityUnits":2.0},{"TableName":"t","CapacityUnits":3.0}]}"#),
            5.0
        );
        assert_eq!(consumed_units(br#"{"Items":[]}"#), 0.0);
        assert_eq!(consumed_units(b"not json"), 0.0);
    }

    #[tokio::test]
    async fn a_metered_call_sees_only_its_own_units() {
        let add = |read: f64| {
            METERED.with(|m| {
                let mut u = m.get();
                u.read += read;
                m.set(u)
            })
        };
        let ((), units) = metered(async { add(1.0) }).await;
        let ((), other) = metered(async { add(0.5) }).await;
        assert_eq!(units.read, 1.0);
        assert_eq!(other.read, 0.5);
        assert!(METERED.try_with(|_| ()).is_err(), "no meter outside a call");
    }
}
