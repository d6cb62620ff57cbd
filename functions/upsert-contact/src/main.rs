//! `PUT /v1/contact/by_custom_field?name=&value=`: updates or creates the contact holding
//! a unique field's value.

use contacts_shared::api::{handlers, serve};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve(|app, request| async move { handlers::upsert_contact(app, &request).await }).await
}
