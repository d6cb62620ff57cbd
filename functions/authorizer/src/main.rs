//! The API Gateway REQUEST authorizer: `Authorization: Bearer <token>` → the token's
//! channel. Allows the whole API for a live token, hands the channel to the functions in
//! the context and names the channel's API key for the usage plan. Anything else is
//! "Unauthorized", which API Gateway answers with 401.

use contacts_shared::store::TokenGrant;
use contacts_shared::{token, DynamoStore};
use lambda_http::aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
use lambda_http::lambda_runtime::{self, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

/// The error text API Gateway maps to 401 (exactly this word).
const UNAUTHORIZED: &str = "Unauthorized";

async fn authorize(
    store: &DynamoStore,
    event: LambdaEvent<ApiGatewayCustomAuthorizerRequestTypeRequest>,
) -> Result<Value, Error> {
    let request = event.payload;
    let mut values = request.multi_value_headers.get_all("authorization").iter();
    let header = match (
        values.next().or(request.headers.get("authorization")),
        values.next(),
    ) {
        (Some(only), None) => only.to_str().ok(),
        // Two Authorization headers are ambiguous: refuse rather than pick one.
        _ => None,
    };
    let token = header.and_then(token::from_bearer).ok_or(UNAUTHORIZED)?;
    let grant = store.token_grant(token).await.map_err(|err| {
        lambda_http::tracing::error!(%err, "token lookup failed");
        "token lookup failed"
    })?;
    let grant = grant.ok_or(UNAUTHORIZED)?;
    let resource =
        api_wide_resource(request.method_arn.as_deref().unwrap_or_default()).ok_or(UNAUTHORIZED)?;
    Ok(allow(&grant, &resource))
}

/// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/*`: the policy is cached per
/// token, so it must allow every route, not just the one being called.
fn api_wide_resource(method_arn: &str) -> Option<String> {
    let mut parts = method_arn.splitn(3, '/');
    let (api, stage) = (parts.next()?, parts.next()?);
    (api.starts_with("arn:") && !stage.is_empty()).then(|| format!("{api}/{stage}/*"))
}

fn allow(grant: &TokenGrant, resource: &str) -> Value {
    json!({
        "principalId": grant.channel.id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}]
        },
        "context": {"channel_id": grant.channel.id, "channel_type": grant.channel.kind.as_str()},
        "usageIdentifierKey": grant.api_key,
    })
}

// One thread: a function serves one event at a time, and a multi-threaded runtime's
// cross-thread wake-ups cost more CPU per call than the handler itself (make bench).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    contacts_shared::init_logging();
    let store = DynamoStore::from_env().await;
    lambda_runtime::run(service_fn(|event| authorize(&store, event))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_covers_the_whole_stage() {
        assert_eq!(
            api_wide_resource(
                "arn:aws:execute-api:us-east-1:123456789012:abc123/api/GET/v1/contact/1"
            )
            .as_deref(),
            Some("arn:aws:execute-api:us-east-1:123456789012:abc123/api/*")
        );
        assert_eq!(api_wide_resource("nonsense"), None);
    }
}
