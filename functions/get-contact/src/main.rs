//! `GET /v1/contact/{contact_id}`: one contact of the token's channel.

use contacts_shared::{http, ApiError, ContactService, DynamoStore};
use lambda_http::{service_fn, Error, Request};
use serde_json::{json, Value};

async fn get_contact(
    app: &ContactService<DynamoStore>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = http::channel(request)?;
    let id = http::contact_id(request, &channel)?;
    let contact = app.get(&channel, &id).await?;
    Ok(json!({"data": contact.to_json()}))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    contacts_shared::init_logging();
    let app = &ContactService::new(DynamoStore::from_env().await);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(http::respond(get_contact(app, &request).await))
    }))
    .await
}
