//! `POST /v1/contact`: creates a contact in the token's channel; an `Idempotency-Key`
//! header makes retries safe.

use contacts_shared::{http, idempotency, ApiError, ContactService, DynamoStore};
use lambda_http::{service_fn, Error, Request};
use serde_json::{json, Value};

async fn create_contact(
    app: &ContactService<DynamoStore>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = http::channel(request)?;
    let key = http::header(request, idempotency::HEADER)?;
    let id = app.create(&channel, http::body(request), key).await?;
    Ok(json!({"data": {"id": id}}))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    contacts_shared::init_logging();
    let app = &ContactService::new(DynamoStore::from_env().await);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(http::respond(create_contact(app, &request).await))
    }))
    .await
}
