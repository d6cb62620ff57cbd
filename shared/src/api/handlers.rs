//! One handler per endpoint: from API Gateway's request to the answer's JSON, through the
//! domain service. Generic over the store, so each function's `main` wires a DynamoDB
//! store in, and the unit tests and `make bench` an in-memory one.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::{json, Value};

use crate::api::functions::{self, Handler, Role};
use crate::api::{bodies, paginate, request, response};
use crate::domain::idempotency::{self, IdempotentRequest};
use crate::domain::service::ContactService;
use crate::error::ApiError;
use crate::store::{ContactStore, TagChange};

/// The handler of the endpoint function `name` (the table's), for callers that pick one
/// at run time (the bench, the tests); `None` for a name that is not an endpoint.
pub async fn handle<S: ContactStore>(
    name: &str,
    app: &ContactService<S>,
    request: &Request,
) -> Option<Result<Value, ApiError>> {
    let Role::Endpoint { handler, .. } = functions::function(name)?.role else {
        return None;
    };
    Some(match handler {
        Handler::CreateContact => create_contact(app, request).await,
        Handler::GetContact => get_contact(app, request).await,
        Handler::UpdateContact => update_contact(app, request).await,
        Handler::FindContacts => find_contacts(app, request).await,
        Handler::AddTags => add_tags(app, request).await,
        Handler::RemoveTags => remove_tags(app, request).await,
        Handler::DeleteContact => delete_contact(app, request).await,
        Handler::ListContacts => list_contacts(app, request).await,
        Handler::UpsertContact => upsert_contact(app, request).await,
    })
}

/// `POST /v1/contact`: creates a contact in the token's channel; an `Idempotency-Key`
/// header makes retries safe.
pub async fn create_contact<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = request::channel(request)?;
    let body = request::body(request);
    let idempotent = request::header(request, idempotency::HEADER)?
        .map(|key| IdempotentRequest::new(key, body))
        .transpose()?;
    let writes = bodies::custom_fields_body(body)?;
    let id = app.create(&channel, &writes, idempotent.as_ref()).await?;
    Ok(json!({"data": {"id": id}}))
}

/// `GET /v1/contact/{contact_id}`: one contact of the token's channel.
pub async fn get_contact<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = request::channel(request)?;
    let id = request::contact_id(request, &channel)?;
    let contact = app.get(&channel, &id).await?;
    Ok(json!({"data": contact.to_json()}))
}

/// `PUT /v1/contact/{contact_id}`: sets and clears fields of an existing contact.
pub async fn update_contact<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = request::channel(request)?;
    let id = request::contact_id(request, &channel)?;
    let writes = bodies::custom_fields_body(request::body(request))?;
    app.update(&channel, &id, &writes).await?;
    Ok(json!({"data": {"id": id}}))
}

/// `GET /v1/contact/by_custom_field?name=&value=&page=`: the channel's contacts whose
/// field matches, oldest first, in the original's paginator shape.
pub async fn find_contacts<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = request::channel(request)?;
    let (query, page) = request::find_query(request)?;
    let found = app.find(&channel, &query).await?;
    let data = found.contacts.iter().map(|c| c.to_json()).collect();
    let keep = [
        ("name", query.name.as_str()),
        ("value", query.value.as_str()),
    ];
    Ok(paginate::render(
        data,
        found.total,
        &page,
        &request::url_without_query(request),
        &keep,
        found.next_cursor.as_deref(),
    ))
}

/// `PUT /v1/contact/by_custom_field?name=&value=`: updates the contact holding the unique
/// field's value, or creates it.
pub async fn upsert_contact<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = request::channel(request)?;
    let (name, value) = request::name_and_value(request)?;
    let writes = bodies::upsert_body(request::body(request))?;
    let done = app.upsert(&channel, &name, &value, &writes).await?;
    Ok(json!({"data": {"id": done.id, "created": done.created}}))
}

/// `DELETE /v1/contact/{contact_id}`: removes a contact and everything stored for it.
pub async fn delete_contact<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = request::channel(request)?;
    let id = request::contact_id(request, &channel)?;
    app.delete(&channel, &id).await?;
    Ok(response::success_message("Contact deleted successfully."))
}

/// `GET /v1/contact?per_page=&cursor=`: the channel's contacts, oldest first, a page at a
/// time.
pub async fn list_contacts<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = request::channel(request)?;
    let (cursor, per_page) = request::list_query(request)?;
    let listed = app.list(&channel, cursor.as_deref(), per_page).await?;
    let data = listed.contacts.iter().map(|c| c.to_json()).collect();
    Ok(paginate::render_list(
        data,
        &request::url_without_query(request),
        per_page,
        listed.next_cursor.as_deref(),
    ))
}

/// `POST /v1/contact/{contact_id}/tags`.
pub async fn add_tags<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    change_tags(app, request, TagChange::Add).await?;
    Ok(response::success_message(
        "Contact Tags have been added successfully.",
    ))
}

/// `DELETE /v1/contact/{contact_id}/tags` (with a body).
pub async fn remove_tags<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    change_tags(app, request, TagChange::Remove).await?;
    Ok(response::success_message(
        "Contact Tags deleted successfully.",
    ))
}

async fn change_tags<S: ContactStore>(
    app: &ContactService<S>,
    request: &Request,
    change: TagChange,
) -> Result<(), ApiError> {
    let channel = request::channel(request)?;
    let id = request::contact_id(request, &channel)?;
    let tags = bodies::tags_body(request::body(request))?;
    app.change_tags(&channel, &id, change, &tags).await
}

/// The `ANY` routes: a known path with a method it does not support gets 405 and an
/// `Allow` header (before any authentication); anything else routed here gets 404.
pub fn refusal(request: &Request) -> ApiError {
    let resource = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.resource_path.as_deref(),
        _ => None,
    };
    match resource.and_then(functions::methods) {
        Some(methods) => ApiError::MethodNotAllowed(methods),
        None => ApiError::RouteNotFound,
    }
}

#[cfg(test)]
mod tests;
