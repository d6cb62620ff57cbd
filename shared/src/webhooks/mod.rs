//! Change events for webhook subscribers: what a change of a contact item means as the
//! contract's events (`events`), and how a delivery is signed per the Standard Webhooks
//! specification (`signature`).

pub mod deliver;
pub mod delivery;
pub mod dispatch;
pub mod events;
pub mod keyring;
pub mod queue;
pub mod retry;
pub mod seal;
pub mod serve;
pub mod signature;
pub mod subscription;
