//! `GET /v1/contact/by_custom_field`: the channel's contacts whose field matches.

use contacts_shared::api::{handlers, serve};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve(|app, request| async move { handlers::find_contacts(app, &request).await }).await
}
