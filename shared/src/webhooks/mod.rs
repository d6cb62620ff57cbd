//! Change events for webhook subscribers: what a change of a contact item means as the
//! contract's events (`events`), and how a delivery is signed per the Standard Webhooks
//! specification (`signature`).

pub mod deliver;
pub mod delivery;
pub mod dispatch;
pub mod events;
pub mod keyring;
pub mod queue;
/// Batches the stream function failed, turned into events again.
#[cfg(feature = "operator")]
pub mod replay;
pub mod retry;
pub mod seal;
pub mod serve;
pub mod signature;
/// DynamoDB Local's stream responses, repaired for the SDK (the relay and a replay read them).
#[cfg(feature = "operator")]
pub mod stream_repair;
pub mod subscription;
