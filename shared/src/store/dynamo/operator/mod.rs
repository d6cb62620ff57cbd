//! Operator-only storage (the `operator` feature): the table, channels, tokens, field
//! definitions and the invariant checker. The admin tool, the local stack and the tests
//! use it; the functions never do.

mod bulk;
mod channels;
mod check;
mod fields;
mod table;
mod tokens;

pub use bulk::Inserted;
pub use check::CheckReport;
