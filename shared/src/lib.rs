//! What every function of the Contacts API shares: token handling, the channel from the
//! authorizer context, validation of every input, the contact model, the DynamoDB store
//! (which owns the table layout), the contract's envelopes and the paginator.

pub mod channel;
pub mod clock;
pub mod contact;
pub mod contact_id;
pub mod error;
pub mod fields;
pub mod handlers;
pub mod http;
pub mod idempotency;
pub mod input;
pub mod limits;
pub mod logging;
pub mod paginate;
pub mod random;
pub mod routes;
pub mod service;
pub mod store;
pub mod token;
pub mod values;

pub use channel::{Channel, ChannelType};
pub use contact::Contact;
pub use error::ApiError;
pub use service::ContactService;
pub use store::{ContactStore, DynamoStore};

/// Starts logging: see [`logging`].
pub fn init_logging() {
    logging::init();
}
