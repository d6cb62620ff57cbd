//! The HTTP side: API Gateway's requests in, the contract's responses out. The table of
//! functions, one handler per endpoint, request bodies, the paginator, the authorizer, and
//! the `main` every endpoint function shares.

pub mod authorizer;
pub mod bodies;
pub mod call;
pub mod functions;
pub mod handlers;
pub mod paginate;
pub mod request;
pub mod response;
mod serve;

pub use serve::{serve, serve_refusals};
