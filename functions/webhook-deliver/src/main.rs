//! The delivery queue's consumer: signed POSTs to subscribers, failed ones retried later.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    contacts_shared::webhooks::serve::deliver().await
}
