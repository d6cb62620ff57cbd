//! Change events for webhook subscribers: what a change of a contact item means as the
//! contract's events (`events`), and how a delivery is signed per the Standard Webhooks
//! specification (`signature`).

pub mod events;
pub mod signature;
