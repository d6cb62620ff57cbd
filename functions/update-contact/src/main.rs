//! `PUT /v1/contact/{contact_id}`: sets and clears fields of an existing contact.

use contacts_shared::api::{handlers, serve};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve(|app, request| async move { handlers::update_contact(app, &request).await }).await
}
