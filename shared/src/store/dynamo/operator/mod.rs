//! Operator-only storage (the `operator` feature): the table, channels, tokens, field
//! definitions, the invariant checker and what deleted channels left. The admin tool, the local stack and the tests
//! use it; the functions never do.

mod bulk;
mod channels;
mod check;
mod fields;
mod leftovers;
mod table;
mod tokens;
mod unique;
mod webhooks;

pub use bulk::Inserted;
pub use channels::ListedChannel;
pub use check::CheckReport;
pub use leftovers::TableReport;
pub use table::TableStream;
pub use unique::Clash;
