//! `DELETE /v1/contact/{contact_id}`: removes a contact and everything stored for it.

use contacts_shared::api::{handlers, serve};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve(|app, request| async move { handlers::delete_contact(app, &request).await }).await
}
