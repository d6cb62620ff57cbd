//! Events as Lambda writes them. aws_lambda_events' types write an absent field as `null`
//! and an absent image as `{}`; Lambda leaves such fields out, and a consumer may tell
//! the two apart (an INSERT has no `OldImage` at all), so they are dropped.

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

/// `event` as JSON, without the fields Lambda would leave out.
pub fn event_json(event: &impl Serialize) -> anyhow::Result<Value> {
    let mut value = serde_json::to_value(event).context("cannot write the event")?;
    drop_absent(&mut value);
    Ok(value)
}

/// Removes `null` members, and empty images, at every depth. Attribute values are never
/// `null` (DynamoDB's NULL is `{"NULL":true}`), so no data is lost.
fn drop_absent(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            fields.retain(|name, field| {
                let empty_image = matches!(name.as_str(), "NewImage" | "OldImage")
                    && field.as_object().is_some_and(|image| image.is_empty());
                !field.is_null() && !empty_image
            });
            fields.values_mut().for_each(drop_absent);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_absent),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_and_empty_images_go_and_data_stays() {
        let event = json!({"Records": [{
            "eventSource": "aws:dynamodb",
            "userIdentity": null,
            "dynamodb": {
                "Keys": {"pk": {"S": "a"}},
                "NewImage": {"x": {"NULL": true}, "m": {"M": {}}},
                "OldImage": {}
            }
        }]});
        assert_eq!(
            event_json(&event).unwrap(),
            json!({"Records": [{
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "Keys": {"pk": {"S": "a"}},
                    "NewImage": {"x": {"NULL": true}, "m": {"M": {}}}
                }
            }]})
        );
    }
}
