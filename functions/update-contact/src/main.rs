//! `PUT /v1/contact/{contact_id}`: sets and clears fields of an existing contact.

use contacts_shared::{http, ApiError, ContactService, DynamoStore};
use lambda_http::{service_fn, Error, Request};
use serde_json::{json, Value};

async fn update_contact(
    app: &ContactService<DynamoStore>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = http::channel(request)?;
    let id = http::contact_id(request, &channel)?;
    app.update(&channel, &id, http::body(request)).await?;
    Ok(json!({"data": {"id": id}}))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    contacts_shared::init_logging();
    let app = &ContactService::new(DynamoStore::from_env().await);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(http::respond(update_contact(app, &request).await))
    }))
    .await
}
