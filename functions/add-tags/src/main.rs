//! `POST /v1/contact/{contact_id}/tags`: adds tags to a contact.

use contacts_shared::store::TagChange;
use contacts_shared::{http, ApiError, ContactService, DynamoStore};
use lambda_http::{service_fn, Error, Request};
use serde_json::Value;

async fn add_tags(app: &ContactService<DynamoStore>, request: &Request) -> Result<Value, ApiError> {
    let channel = http::channel(request)?;
    let id = http::contact_id(request, &channel)?;
    app.change_tags(&channel, &id, TagChange::Add, http::body(request))
        .await?;
    Ok(http::success_message(
        "Contact Tags have been added successfully.",
    ))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    contacts_shared::init_logging();
    let app = &ContactService::new(DynamoStore::from_env().await);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(http::respond(add_tags(app, &request).await))
    }))
    .await
}
