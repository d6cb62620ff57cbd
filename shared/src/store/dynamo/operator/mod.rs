//! Operator-only storage (the `operator` feature): the table, workspaces, channels, tokens, field
//! definitions, the invariant checker and what deleted channels left. The admin tool, the local stack and the tests
//! use it; the functions never do.

mod bulk;
mod channels;
mod check;
mod deletion;
mod fields;
mod leftovers;
mod scan;
mod table;
mod tokens;
mod unique;
mod webhooks;
mod workspaces;

pub use bulk::Inserted;
pub use channels::ListedChannel;
pub use check::{CheckReport, Reach};
pub use deletion::Deletion;
pub use leftovers::TableReport;
pub use scan::Pace;
pub use table::TableStream;
pub use unique::Clash;
pub use workspaces::{Migrated, WorkspaceDeletion, WorkspaceState};
