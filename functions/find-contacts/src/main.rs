//! `GET /v1/contact/by_custom_field?name=&value=&page=`: the channel's contacts whose
//! field matches, oldest first, in the original's paginator shape.

use contacts_shared::{http, paginate, ApiError, ContactService, DynamoStore};
use lambda_http::{service_fn, Error, Request};
use serde_json::Value;

async fn find_contacts(
    app: &ContactService<DynamoStore>,
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

#[tokio::main]
async fn main() -> Result<(), Error> {
    contacts_shared::init_logging();
    let app = &ContactService::new(DynamoStore::from_env().await);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(http::respond(find_contacts(app, &request).await))
    }))
    .await
}
