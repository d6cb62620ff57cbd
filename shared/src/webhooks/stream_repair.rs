//! DynamoDB Local writes an empty map attribute as `{}` in stream records, where DynamoDB
//! writes `{"M":{}}`; the SDK then refuses the whole GetRecords response ("Union did not
//! contain a valid variant"), and the shard could never be read past that record. This
//! interceptor repairs those responses before the SDK reads them. Nothing else is written
//! `{}`, so nothing else changes.

use std::pin::Pin;
use std::task::{Context, Poll};

use aws_sdk_dynamodbstreams::config::interceptors::BeforeDeserializationInterceptorContextMut;
use aws_sdk_dynamodbstreams::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodbstreams::error::BoxError;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http_body::{Body, Frame};
use serde_json::Value;

/// Repairs DynamoDB Local's stream responses (a client of its stream carries it).
#[derive(Debug)]
pub struct EmptyMaps;

impl Intercept for EmptyMaps {
    fn name(&self) -> &'static str {
        "EmptyMaps"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.response_mut().body_mut();
        let inner = std::mem::replace(body, SdkBody::taken());
        *body = SdkBody::from_body_1_x(Repaired {
            inner,
            read: Vec::new(),
            done: false,
        });
        Ok(())
    }
}

/// The response body, read whole, then handed on repaired.
struct Repaired {
    inner: SdkBody,
    read: Vec<u8>,
    done: bool,
}

impl Body for Repaired {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.read.extend_from_slice(&data);
                    }
                }
                Poll::Ready(None) => {
                    self.done = true;
                    let read = std::mem::take(&mut self.read);
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from(repair(read))))));
                }
            }
        }
    }
}

/// `body` with every `{}` attribute value of its records' images made `{"M":{}}`.
fn repair(body: Vec<u8>) -> Vec<u8> {
    let Ok(mut response) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    let Some(records) = response.get_mut("Records").and_then(Value::as_array_mut) else {
        return body;
    };
    for record in records {
        for image in ["Keys", "NewImage", "OldImage"] {
            if let Some(Value::Object(item)) = record.pointer_mut(&format!("/dynamodb/{image}")) {
                item.values_mut().for_each(repair_value);
            }
        }
    }
    serde_json::to_vec(&response).unwrap_or(body)
}

fn repair_value(value: &mut Value) {
    let Value::Object(fields) = value else {
        return;
    };
    if fields.is_empty() {
        fields.insert("M".to_string(), Value::Object(Default::default()));
    }
    if let Some(Value::Object(map)) = fields.get_mut("M") {
        map.values_mut().for_each(repair_value);
    }
    if let Some(Value::Array(list)) = fields.get_mut("L") {
        list.iter_mut().for_each(repair_value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_maps_get_their_type_at_any_depth() {
        let body = json!({"Records": [{"dynamodb": {
            "Keys": {"PK": {"S": "a"}},
            "NewImage": {"fields": {}, "m": {"M": {"inner": {}}}, "l": {"L": [{}, {"S": "x"}]}},
            "OldImage": {"fields": {}}
        }}]});
        let repaired: Value =
            serde_json::from_slice(&repair(serde_json::to_vec(&body).unwrap())).unwrap();
        assert_eq!(
            repaired,
            json!({"Records": [{"dynamodb": {
                "Keys": {"PK": {"S": "a"}},
                "NewImage": {"fields": {"M": {}}, "m": {"M": {"inner": {"M": {}}}}, "l": {"L": [{"M": {}}, {"S": "x"}]}},
                "OldImage": {"fields": {"M": {}}}
            }}]})
        );
    }
}
