//! The `ANY` routes: 405 with `Allow` for a known path's other methods, 404 otherwise.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    contacts_shared::api::serve_refusals().await
}
