//! `DELETE /v1/contact/{contact_id}/tags`: removes tags from a contact.

use contacts_shared::store::TagChange;
use contacts_shared::{http, ApiError, ContactService, DynamoStore};
use lambda_http::{service_fn, Error, Request};
use serde_json::Value;

async fn remove_tags(
    app: &ContactService<DynamoStore>,
    request: &Request,
) -> Result<Value, ApiError> {
    let channel = http::channel(request)?;
    let id = http::contact_id(request, &channel)?;
    app.change_tags(&channel, &id, TagChange::Remove, http::body(request))
        .await?;
    Ok(http::success_message("Contact Tags deleted successfully."))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    contacts_shared::init_logging();
    let app = &ContactService::new(DynamoStore::from_env().await);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(http::respond(remove_tags(app, &request).await))
    }))
    .await
}
