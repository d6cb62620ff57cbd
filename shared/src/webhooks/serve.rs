//! The webhook functions' runtime: clients built once per environment, then every event
//! handed to the dispatcher or the deliverer. A missing setting fails the start, with
//! its name, rather than every event.

use lambda_http::lambda_runtime::{self, service_fn, Error, LambdaEvent};

use super::deliver::Deliverer;
use super::dispatch::Dispatcher;
use super::keyring::{KeyRing, KeySource};
use super::queue::DeliveryQueue;
use super::retry::RetrySchedule;
use crate::env;
use crate::store::DynamoStore;

/// `webhook-dispatch`: the table's stream in, deliveries queued.
pub async fn dispatch() -> Result<(), Error> {
    crate::logging::init();
    let dispatcher: &'static Dispatcher = Box::leak(Box::new(Dispatcher {
        store: DynamoStore::from_env().await,
        queue: DeliveryQueue::from_env(env::WEBHOOK_QUEUE_URL).await?,
        bulk: DeliveryQueue::from_env(env::WEBHOOK_BULK_QUEUE_URL).await?,
    }));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, Error>(dispatcher.handle(event.payload).await)
    }))
    .await
}

/// `webhook-deliver`: queued deliveries in, signed POSTs out.
pub async fn deliver() -> Result<(), Error> {
    crate::logging::init();
    let deliverer: &'static Deliverer = Box::leak(Box::new(Deliverer {
        store: DynamoStore::from_env().await,
        queues: vec![
            DeliveryQueue::from_env(env::WEBHOOK_QUEUE_URL).await?,
            DeliveryQueue::from_env(env::WEBHOOK_BULK_QUEUE_URL).await?,
        ],
        keys: KeyRing::new(KeySource::from_env().await?),
        http: Deliverer::http_client()?,
        schedule: RetrySchedule::from_env(),
    }));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        Ok::<_, Error>(deliverer.handle(event.payload).await)
    }))
    .await
}
