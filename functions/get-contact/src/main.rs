//! `GET /v1/contact/{contact_id}`: one contact of the token's channel.

use contacts_shared::{handlers, http, ContactService, DynamoStore};
use lambda_http::{service_fn, Error, Request};

// One thread: a function serves one event at a time, and a multi-threaded runtime's
// cross-thread wake-ups cost more CPU per call than the handler itself (make bench).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    contacts_shared::init_logging();
    let app = &ContactService::new(DynamoStore::from_env().await);
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(http::respond(handlers::get_contact(app, &request).await))
    }))
    .await
}
