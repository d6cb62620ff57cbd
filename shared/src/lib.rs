//! What every function of the Contacts API shares, arranged by role: `domain/` holds the
//! contract's rules and the service that applies them, `api/` turns API Gateway's requests
//! into calls of that service and its results into the contract's responses, and `store/`
//! keeps contacts in DynamoDB (the one module that knows the table layout) or, for tests
//! and the bench, in memory. Beside them: the demo channel, the error table, the limits,
//! the environment's variable names, hashing, random ids, the clock, retry backoff and
//! logging; and, with the `webhooks` feature, `webhooks/`: the change events subscribers
//! receive, their signing and delivery (the endpoints' binaries do not carry it).

pub mod api;
pub mod aws;
pub mod backoff;
pub mod clock;
pub mod demo;
/// What `make dev` tells the operator's tool about the stack it runs.
#[cfg(feature = "operator")]
pub mod dev_stack;
pub mod domain;
pub mod env;
pub mod error;
pub mod hash;
pub mod limits;
pub mod logging;
pub mod metrics;
pub mod random;
pub mod store;
#[cfg(test)]
mod testing;
// Only the webhook functions and the operator's tools link it (the `webhooks` feature).
#[cfg(feature = "webhooks")]
pub mod webhooks;

pub use domain::channel::{Channel, ChannelType};
pub use domain::contact::Contact;
pub use domain::service::ContactService;
pub use error::ApiError;
pub use store::{ContactStore, DynamoStore, MemoryStore};
