//! What every function's `main` does: logging, the store and the service built once per
//! cold start, then each event through its handler into a response.
//!
//! Every `main` runs tokio's current-thread runtime: a Lambda environment serves one event
//! at a time, and a multi-threaded runtime's cross-thread wake-ups cost more CPU per call
//! than the handler itself (`make bench`, before and after: get-contact 485 → 291 µs).

use std::future::Future;

use lambda_http::{service_fn, Body, Error, Request, Response};
use serde_json::Value;

use crate::api::call::Call;
use crate::api::functions::{self, Role};
use crate::api::{handlers, response};
use crate::domain::service::ContactService;
use crate::error::ApiError;
use crate::store::DynamoStore;

/// Serves `handler` under the Lambda runtime until the environment ends. The service
/// lives as long as the process, so the handler borrows it for `'static`.
pub async fn serve<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(&'static ContactService<DynamoStore>, Request) -> Fut + Sync,
    Fut: Future<Output = Result<Value, ApiError>> + Send,
{
    crate::logging::init();
    let app: &'static ContactService<DynamoStore> =
        Box::leak(Box::new(ContactService::new(DynamoStore::from_env().await)));
    let handler = &handler;
    lambda_http::run(service_fn(move |request: Request| async move {
        let call = Call::of(&request, UNKNOWN_ROUTE);
        let work = async move { response::respond(handler(app, request).await) };
        Ok::<_, Error>(call.run(work, status).await)
    }))
    .await
}

/// Serves the responder: 405 with `Allow` for another method of a known path, 404 for
/// anything else, before any authentication and without storage.
pub async fn serve_refusals() -> Result<(), Error> {
    crate::logging::init();
    lambda_http::run(service_fn(|request: Request| async move {
        let call = Call::of(&request, functions::named(Role::Responder));
        let work = async { response::error_response(&handlers::refusal(&request)) };
        Ok::<_, Error>(call.run(work, status).await)
    }))
    .await
}

/// The endpoint a call is counted under when its route is not in the table of functions.
const UNKNOWN_ROUTE: &str = "unknown-route";

fn status(response: &Response<Body>) -> u16 {
    response.status().as_u16()
}
