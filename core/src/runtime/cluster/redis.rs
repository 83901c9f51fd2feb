//! [`RedisDriver`]: the cluster bus over Redis pub/sub (feature `redis`), the bus of npm
//! `@socket.io/redis-adapter`'s `createAdapter`.

use std::sync::Mutex;

use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use super::{DriverError, DriverFuture, DriverMessage, PubSubDriver, lock};

/// Redis pub/sub for a [`ClusterAdapter`](super::ClusterAdapter): one connection that
/// publishes (pipelined, in order) and counts subscribers, one that subscribes.
pub struct RedisDriver {
    publisher: redis::aio::MultiplexedConnection,
    subscriber: tokio::sync::Mutex<redis::aio::PubSubSink>,
    messages: Mutex<Option<mpsc::UnboundedReceiver<DriverMessage>>>,
}

impl std::fmt::Debug for RedisDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisDriver").finish_non_exhaustive()
    }
}

fn driver_error(error: redis::RedisError) -> DriverError {
    DriverError(error.to_string())
}

impl RedisDriver {
    /// Connects to the Redis server at `url` (`redis://host:port/db`).
    pub async fn connect(url: &str) -> Result<RedisDriver, DriverError> {
        let client = redis::Client::open(url).map_err(driver_error)?;
        let publisher = client
            .get_multiplexed_async_connection()
            .await
            .map_err(driver_error)?;
        let (subscriber, mut stream) = client
            .get_async_pubsub()
            .await
            .map_err(driver_error)?
            .split();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(message) = stream.next().await {
                let message = DriverMessage {
                    channel: message.get_channel_name().to_owned(),
                    payload: Bytes::copy_from_slice(message.get_payload_bytes()),
                };
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        Ok(RedisDriver {
            publisher,
            subscriber: tokio::sync::Mutex::new(subscriber),
            messages: Mutex::new(Some(rx)),
        })
    }
}

impl PubSubDriver for RedisDriver {
    fn publish(
        &self,
        messages: Vec<(String, Vec<u8>)>,
    ) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(async move {
            let mut pipe = redis::pipe();
            for (channel, payload) in messages {
                pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
            }
            let mut connection = self.publisher.clone();
            pipe.query_async::<()>(&mut connection)
                .await
                .map_err(driver_error)
        })
    }

    fn subscribe(
        &self,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(async move {
            let mut subscriber = self.subscriber.lock().await;
            if !channels.is_empty() {
                subscriber.subscribe(channels).await.map_err(driver_error)?;
            }
            if !patterns.is_empty() {
                subscriber
                    .psubscribe(patterns)
                    .await
                    .map_err(driver_error)?;
            }
            Ok(())
        })
    }

    fn subscriber_count(&self, channel: String) -> DriverFuture<'_, Result<usize, DriverError>> {
        Box::pin(async move {
            let mut connection = self.publisher.clone();
            let (_, count): (String, usize) = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(channel)
                .query_async(&mut connection)
                .await
                .map_err(driver_error)?;
            Ok(count)
        })
    }

    fn take_messages(&self) -> Option<mpsc::UnboundedReceiver<DriverMessage>> {
        lock(&self.messages).take()
    }
}
