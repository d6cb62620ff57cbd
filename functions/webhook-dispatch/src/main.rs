//! The table's stream consumer: contact changes become webhook deliveries on the queue.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    contacts_shared::webhooks::serve::dispatch().await
}
