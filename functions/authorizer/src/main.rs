//! The API Gateway REQUEST authorizer: bearer token → channel (see
//! `contacts_shared::api::authorizer`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    contacts_shared::api::authorizer::serve().await
}
