//! `POST /v1/contact/{contact_id}/tags`: adds tags to a contact.

use contacts_shared::api::{handlers, serve};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve(|app, request| async move { handlers::add_tags(app, &request).await }).await
}
