//! The contract's rules, free of HTTP and of storage: workspaces, channels and their contacts, field
//! definitions (what a field is), field values (what it may hold), field writes (what a
//! request sets), tags, contact ids, tokens, idempotency, and the service that applies
//! them through a store.

pub mod channel;
pub mod contact;
pub mod contact_id;
pub mod cursor;
pub mod field_defs;
pub mod field_values;
pub mod field_writes;
pub mod idempotency;
pub mod service;
pub mod tags;
pub mod text;
pub mod token;
pub mod workspace;
