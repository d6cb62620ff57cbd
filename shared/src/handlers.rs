//! One handler per endpoint: from API Gateway's request to the answer's JSON, through the
//! domain service. Generic over the store, so each function's `main` only wires a
//! DynamoDB store in, and `make bench` can time a handler without storage.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::{json, Value};

use crate::store::TagChange;
use crate::{http, idempotency, paginate, routes, ApiError, ContactService, ContactStore};

/// `POST /v1/contact`: creates a contact in the token's channel; an `Idempotency-Key`
/// header makes retries safe.
pub async fn create_contact<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = http::channel(request)?;
    let key = http::header(request, idempotency::HEADER)?;
    let id = app.create(&channel, http::body(request), key).await?;
    Ok(json!({"data": {"id": id}}))
}

/// `GET /v1/contact/{contact_id}`: one contact of the token's channel.
pub async fn get_contact<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = http::channel(request)?;
    let id = http::contact_id(request, &channel)?;
    let contact = app.get(&channel, &id).await?;
    Ok(json!({"data": contact.to_json()}))
}

/// `PUT /v1/contact/{contact_id}`: sets and clears fields of an existing contact.
pub async fn update_contact<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = http::channel(request)?;
    let id = http::contact_id(request, &channel)?;
    app.update(&channel, &id, http::body(request)).await?;
    Ok(json!({"data": {"id": id}}))
}

/// `GET /v1/contact/by_custom_field?name=&value=&page=`: the channel's contacts whose
/// field matches, oldest first, in the original's paginator shape.
pub async fn find_contacts<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = http::channel(request)?;
    let query = http::find_query(request)?;
    let (total, contacts) = app.find(&channel, &query).await?;
    let data = contacts.iter().map(|c| c.to_json()).collect();
    let keep = [
        ("name", query.name.as_str()),
        ("value", query.value.as_str()),
    ];
    Ok(paginate::render(
        data,
        total,
        &query.page,
        &http::url_without_query(request),
        &keep,
    ))
}

/// `POST /v1/contact/{contact_id}/tags` (add) and `DELETE` (remove).
pub async fn change_tags<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
    change: TagChange,
) -> Result<Value, ApiError> {
    let channel = http::channel(request)?;
    let id = http::contact_id(request, &channel)?;
    app.change_tags(&channel, &id, change, http::body(request))
        .await?;
    Ok(http::success_message(match change {
        TagChange::Add => "Contact Tags have been added successfully.",
        TagChange::Remove => "Contact Tags deleted successfully.",
    }))
}

/// The `ANY` routes: a known path with a method it does not support gets 405 and an
/// `Allow` header (before any authentication); anything else routed here gets 404.
pub fn refusal(request: &Request) -> ApiError {
    let resource = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.resource_path.as_deref(),
        _ => None,
    };
    match resource.and_then(routes::methods) {
        Some(methods) => ApiError::MethodNotAllowed(methods.to_vec()),
        None => ApiError::RouteNotFound,
    }
}
