//! `GET /v1/contact/{contact_id}`: one contact of the token's channel.

use contacts_shared::api::{handlers, serve};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve(|app, request| async move { handlers::get_contact(app, &request).await }).await
}
