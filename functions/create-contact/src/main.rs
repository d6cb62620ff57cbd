//! `POST /v1/contact`: creates a contact.

use contacts_shared::api::{handlers, serve};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve(|app, request| async move { handlers::create_contact(app, &request).await }).await
}
