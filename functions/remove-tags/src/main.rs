//! `DELETE /v1/contact/{contact_id}/tags`: removes tags from a contact.

use contacts_shared::api::{handlers, serve};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve(|app, request| async move { handlers::remove_tags(app, &request).await }).await
}
