//! The API Gateway REQUEST authorizer: `Authorization: Bearer <token>` → the token's
//! channel. It allows the whole API for a live token, hands the channel to the functions
//! in the context (the keys below, which [`request::channel`](crate::api::request::channel)
//! reads) and names the channel's API key for the usage plan. Anything else is
//! "Unauthorized", which API Gateway answers with 401.

use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayCustomAuthorizerResponse,
};
use lambda_http::aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use lambda_http::lambda_runtime::{self, service_fn, Error, LambdaEvent};
use serde_json::json;

use crate::api::call::Call;
use crate::api::functions::{self, Role};
use crate::domain::channel::TokenGrant;
use crate::domain::token;
use crate::store::DynamoStore;

/// The context key holding the channel's id.
pub const CHANNEL_ID: &str = "channel_id";
/// The context key holding the channel's type.
pub const CHANNEL_TYPE: &str = "channel_type";
/// The error text API Gateway maps to 401 (exactly this word).
pub const UNAUTHORIZED: &str = "Unauthorized";

/// Why a request is not let through: [`UNAUTHORIZED`], or a failure to look the token up
/// (API Gateway answers that with its AUTHORIZER_FAILURE response).
pub type Refusal = &'static str;

/// The authorizer function's whole life: the store built once, then every event.
pub async fn serve() -> Result<(), Error> {
    crate::logging::init();
    let store = &DynamoStore::from_env().await;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayCustomAuthorizerRequestTypeRequest>| async move {
            let call = Call {
                request_id: (event.payload.request_context.request_id.clone())
                    .unwrap_or_else(|| event.context.request_id.clone()),
                channel: None,
                endpoint: functions::named(Role::Authorizer),
            };
            let outcome = call.run(authorize(store, &event.payload), status).await;
            outcome.map_err(Error::from)
        },
    ))
    .await
}

/// The status API Gateway answers for an outcome, as the authorizer's metrics count it.
fn status(outcome: &Result<ApiGatewayCustomAuthorizerResponse, Refusal>) -> u16 {
    match outcome {
        Ok(_) => 200,
        Err(refusal) if *refusal == UNAUTHORIZED => 401,
        Err(_) => 500,
    }
}

pub async fn authorize(
    store: &DynamoStore,
    request: &ApiGatewayCustomAuthorizerRequestTypeRequest,
) -> Result<ApiGatewayCustomAuthorizerResponse, Refusal> {
    let token = bearer_token(request).ok_or(UNAUTHORIZED)?;
    let grant = store.token_grant(token).await.map_err(|err| {
        tracing::error!(%err, "token lookup failed");
        "token lookup failed"
    })?;
    let grant = grant.ok_or(UNAUTHORIZED)?;
    let resource =
        api_wide_resource(request.method_arn.as_deref().unwrap_or_default()).ok_or(UNAUTHORIZED)?;
    Ok(allow(&grant, &resource))
}

/// The token of the one `Authorization` header; two of them are ambiguous, and refused.
fn bearer_token(request: &ApiGatewayCustomAuthorizerRequestTypeRequest) -> Option<&str> {
    let mut values = request.multi_value_headers.get_all("authorization").iter();
    let header = match (
        values.next().or(request.headers.get("authorization")),
        values.next(),
    ) {
        (Some(only), None) => only.to_str().ok(),
        _ => None,
    };
    header.and_then(token::from_bearer)
}

/// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/*`: the policy is cached per
/// token, so it must allow every route, not just the one being called.
fn api_wide_resource(method_arn: &str) -> Option<String> {
    let mut parts = method_arn.splitn(3, '/');
    let (api, stage) = (parts.next()?, parts.next()?);
    (api.starts_with("arn:") && !stage.is_empty()).then(|| format!("{api}/{stage}/*"))
}

fn allow(grant: &TokenGrant, resource: &str) -> ApiGatewayCustomAuthorizerResponse {
    // The event types are non-exhaustive: built from their defaults.
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_string()];
    statement.effect = IamPolicyEffect::Allow;
    statement.resource = vec![resource.to_string()];
    let mut response = ApiGatewayCustomAuthorizerResponse::default();
    response.principal_id = Some(grant.channel.id.clone());
    response.policy_document.version = Some("2012-10-17".to_string());
    response.policy_document.statement = vec![statement];
    response.context = json!({
        CHANNEL_ID: grant.channel.id,
        CHANNEL_TYPE: grant.channel.kind.as_str(),
    });
    response.usage_identifier_key = Some(grant.api_key.clone());
    response
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
