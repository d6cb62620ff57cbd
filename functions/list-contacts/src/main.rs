//! `GET /v1/contact?per_page=&cursor=`: the channel's contacts, oldest first.

use contacts_shared::api::{handlers, serve};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve(|app, request| async move { handlers::list_contacts(app, &request).await }).await
}
