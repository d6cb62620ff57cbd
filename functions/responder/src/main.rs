//! The `ANY` routes: 405 with `Allow` for a known path's other methods, 404 otherwise
//! (see `contacts_shared::handlers::refusal`).

use contacts_shared::{handlers, http};
use lambda_http::{service_fn, Error, Request};

// One thread: a function serves one event at a time, and a multi-threaded runtime's
// cross-thread wake-ups cost more CPU per call than the handler itself (make bench).
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    contacts_shared::init_logging();
    lambda_http::run(service_fn(|request: Request| async move {
        Ok::<_, Error>(http::error_response(&handlers::refusal(&request)))
    }))
    .await
}
