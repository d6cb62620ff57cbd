//! What a consumer's answer says of its batch, read as Lambda reads it with
//! `ReportBatchItemFailures`: `{"batchItemFailures":[{"itemIdentifier":"..."}]}` names the
//! records that failed; no answer, or no failures, means all succeeded; anything else
//! (an identifier missing, empty or not in the batch) fails the whole batch.

use std::time::Duration;

use anyhow::{bail, Context};
use lambda_invoke::Invoker;
use serde_json::Value;

/// Invokes `function` with the batch `event` (or the error that kept it from being made)
/// and reads its answer: the positions of the records that failed, as [`failures`].
pub async fn invoke(
    invoker: &Invoker,
    function: &str,
    event: anyhow::Result<impl serde::Serialize>,
    ids: &[&str],
) -> anyhow::Result<Vec<usize>> {
    let response = invoker.invoke(function, &event?).await?;
    failures(&response, ids)
}

/// The positions, in the batch whose identifiers are `ids`, of the records that failed
/// (none: all succeeded); `Err` when the whole batch counts as failed.
pub fn failures(response: &Value, ids: &[&str]) -> anyhow::Result<Vec<usize>> {
    let listed = match response {
        Value::Null => return Ok(Vec::new()),
        Value::Object(fields) => match fields.get("batchItemFailures") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => bail!("batchItemFailures is not a list: {other}"),
        },
        other => bail!("not a batch response: {other}"),
    };
    let mut failed = Vec::with_capacity(listed.len());
    for item in listed {
        let id = item
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .with_context(|| format!("a failure without an itemIdentifier: {item}"))?;
        let position = ids
            .iter()
            .position(|known| *known == id)
            .with_context(|| format!("itemIdentifier {id} is not in the batch"))?;
        failed.push(position);
    }
    failed.sort_unstable();
    failed.dedup();
    Ok(failed)
}

/// The pause before the `attempt`th retry of a batch (1, 2, ...): 0.5 s, doubling, at
/// most 10 s, so that a failing consumer is not hammered nor a recovered one long idle.
pub fn retry_pause(attempt: u32) -> Duration {
    Duration::from_millis(500u64 << attempt.saturating_sub(1).min(5)).min(Duration::from_secs(10))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const IDS: [&str; 3] = ["a", "b", "c"];

    #[test]
    fn no_answer_or_no_failures_is_success() {
        for response in [
            json!(null),
            json!({}),
            json!({"batchItemFailures": null}),
            json!({"batchItemFailures": []}),
        ] {
            assert!(failures(&response, &IDS).unwrap().is_empty(), "{response}");
        }
    }

    #[test]
    fn listed_failures_are_found_in_batch_order() {
        let response = json!({"batchItemFailures": [{"itemIdentifier": "c"}, {"itemIdentifier": "b"}, {"itemIdentifier": "c"}]});
        assert_eq!(failures(&response, &IDS).unwrap(), vec![1, 2]);
    }

    #[test]
    fn a_malformed_answer_fails_the_whole_batch() {
        for response in [
            json!("ok"),
            json!({"batchItemFailures": {}}),
            json!({"batchItemFailures": [{}]}),
            json!({"batchItemFailures": [{"itemIdentifier": ""}]}),
            json!({"batchItemFailures": [{"itemIdentifier": null}]}),
            json!({"batchItemFailures": [{"itemIdentifier": "z"}]}),
        ] {
            assert!(failures(&response, &IDS).is_err(), "{response}");
        }
    }

    #[test]
    fn pauses_grow_to_a_ceiling() {
        assert_eq!(retry_pause(1), Duration::from_millis(500));
        assert_eq!(retry_pause(2), Duration::from_secs(1));
        assert_eq!(retry_pause(5), Duration::from_secs(8));
        assert_eq!(retry_pause(6), Duration::from_secs(10));
        assert_eq!(retry_pause(60), Duration::from_secs(10));
    }
}
