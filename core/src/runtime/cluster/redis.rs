//! [`RedisDriver`]: the cluster bus over Redis pub/sub (feature `redis`), the bus of npm
//! `@socket.io/redis-adapter`'s `createAdapter`.

use std::sync::Mutex;

use bytes::Bytes;
use futures_util::StreamExt as _;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;

use super::{DriverError, DriverFuture, DriverMessage, PubSubDriver, lock};

/// Redis pub/sub for a [`ClusterAdapter`](super::ClusterAdapter): one connection that
/// publishes (pipelined, in order) and counts subscribers, one that subscribes, and, for
/// the sharded adapter, one that holds the `SSUBSCRIBE`s (opened on first use).
pub struct RedisDriver {
    url: String,
    publisher: redis::aio::MultiplexedConnection,
    subscriber: tokio::sync::Mutex<redis::aio::PubSubSink>,
    messages: Mutex<Option<mpsc::UnboundedReceiver<DriverMessage>>>,
    forward: mpsc::UnboundedSender<DriverMessage>,
    shard_subscriber: tokio::sync::Mutex<Option<ShardSubscriber>>,
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
        let forward = tx.clone();
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
            url: url.to_owned(),
            forward,
            shard_subscriber: tokio::sync::Mutex::new(None),
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
        Box::pin(self.pipelined("PUBLISH", messages))
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
        Box::pin(self.count("NUMSUB", channel))
    }

    fn take_messages(&self) -> Option<mpsc::UnboundedReceiver<DriverMessage>> {
        lock(&self.messages).take()
    }

    fn publish_sharded(
        &self,
        messages: Vec<(String, Vec<u8>)>,
    ) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(self.pipelined("SPUBLISH", messages))
    }

    fn subscribe_sharded(
        &self,
        channels: Vec<String>,
    ) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(self.shard_command("SSUBSCRIBE", channels))
    }

    fn unsubscribe_sharded(
        &self,
        channels: Vec<String>,
    ) -> DriverFuture<'_, Result<(), DriverError>> {
        Box::pin(self.shard_command("SUNSUBSCRIBE", channels))
    }

    fn shard_subscriber_count(
        &self,
        channel: String,
    ) -> DriverFuture<'_, Result<usize, DriverError>> {
        Box::pin(self.count("SHARDNUMSUB", channel))
    }
}

impl RedisDriver {
    /// `command channel payload` for each message, in one pipeline.
    async fn pipelined(
        &self,
        command: &str,
        messages: Vec<(String, Vec<u8>)>,
    ) -> Result<(), DriverError> {
        let mut pipe = redis::pipe();
        for (channel, payload) in messages {
            pipe.cmd(command).arg(channel).arg(payload).ignore();
        }
        let mut connection = self.publisher.clone();
        pipe.query_async::<()>(&mut connection)
            .await
            .map_err(driver_error)
    }

    /// `PUBSUB <subcommand> channel`: the channel's subscriber count.
    async fn count(&self, subcommand: &str, channel: String) -> Result<usize, DriverError> {
        let mut connection = self.publisher.clone();
        let (_, count): (String, usize) = redis::cmd("PUBSUB")
            .arg(subcommand)
            .arg(channel)
            .query_async(&mut connection)
            .await
            .map_err(driver_error)?;
        Ok(count)
    }

    /// Sends `command` for each channel on the shard subscriber connection (opening it
    /// first), then waits until Redis has processed them (a `PING` answered after them).
    async fn shard_command(&self, command: &str, channels: Vec<String>) -> Result<(), DriverError> {
        let mut slot = self.shard_subscriber.lock().await;
        if slot.is_none() {
            *slot = Some(ShardSubscriber::connect(&self.url, self.forward.clone()).await?);
        }
        let Some(subscriber) = slot.as_mut() else {
            return Err(DriverError("no shard subscriber".to_owned()));
        };
        let mut out = Vec::new();
        for channel in &channels {
            resp_command(&mut out, &[command.as_bytes(), channel.as_bytes()]);
        }
        resp_command(&mut out, &[b"PING"]);
        let result = async {
            subscriber.writer.write_all(&out).await?;
            subscriber.pongs.recv().await.ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "shard subscriber closed")
            })
        };
        match tokio::time::timeout(std::time::Duration::from_secs(5), result).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                *slot = None;
                Err(DriverError(error.to_string()))
            }
            Err(_) => Err(DriverError("no answer to SSUBSCRIBE within 5 s".to_owned())),
        }
    }
}

/// The connection that holds the `SSUBSCRIBE`s: redis-rs subscribes to shard channels
/// only on cluster connections, so this speaks the few RESP2 frames it needs itself.
struct ShardSubscriber {
    writer: tokio::net::tcp::OwnedWriteHalf,
    pongs: mpsc::UnboundedReceiver<()>,
}

impl ShardSubscriber {
    async fn connect(
        url: &str,
        forward: mpsc::UnboundedSender<DriverMessage>,
    ) -> Result<ShardSubscriber, DriverError> {
        let target = RedisTarget::parse(url)?;
        let stream = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| DriverError(e.to_string()))?;
        let (reader, mut writer) = stream.into_split();
        let mut reader = tokio::io::BufReader::new(reader);
        if let Some(password) = &target.password {
            let mut out = Vec::new();
            match &target.username {
                Some(user) => {
                    resp_command(&mut out, &[b"AUTH", user.as_bytes(), password.as_bytes()])
                }
                None => resp_command(&mut out, &[b"AUTH", password.as_bytes()]),
            }
            writer
                .write_all(&out)
                .await
                .map_err(|e| DriverError(e.to_string()))?;
            match read_resp(&mut reader).await {
                Ok(Resp::Simple) => {}
                Ok(other) => return Err(DriverError(format!("AUTH refused: {other:?}"))),
                Err(error) => return Err(DriverError(error.to_string())),
            }
        }
        let (pong_tx, pongs) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(frame) = read_resp(&mut reader).await {
                let Resp::Array(items) = frame else {
                    if let Resp::Error(error) = frame {
                        tracing::warn!(%error, "shard subscriber");
                    }
                    continue;
                };
                match items.as_slice() {
                    [Resp::Bulk(kind), Resp::Bulk(channel), Resp::Bulk(payload)]
                        if kind.as_slice() == b"smessage" =>
                    {
                        let message = DriverMessage {
                            channel: String::from_utf8_lossy(channel).into_owned(),
                            payload: Bytes::copy_from_slice(payload),
                        };
                        if forward.send(message).is_err() {
                            return;
                        }
                    }
                    [Resp::Bulk(kind), ..] if kind.as_slice() == b"pong" => {
                        let _ = pong_tx.send(());
                    }
                    _ => {}
                }
            }
        });
        Ok(ShardSubscriber { writer, pongs })
    }
}

/// Host, port and credentials of a `redis://` URL.
struct RedisTarget {
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<String>,
}

impl RedisTarget {
    fn parse(url: &str) -> Result<RedisTarget, DriverError> {
        let rest = url.strip_prefix("redis://").ok_or_else(|| {
            DriverError(format!("sharded pub/sub needs a redis:// URL, not {url}"))
        })?;
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let (credentials, host_port) = match authority.rsplit_once('@') {
            Some((credentials, host_port)) => (Some(credentials), host_port),
            None => (None, authority),
        };
        let (username, password) = match credentials.map(|c| c.split_once(':')) {
            Some(Some((user, pass))) => (
                (!user.is_empty()).then(|| user.to_owned()),
                Some(pass.to_owned()),
            ),
            Some(None) => (None, credentials.map(str::to_owned)),
            None => (None, None),
        };
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || host_port.starts_with('[') => (
                host.trim_matches(['[', ']']).to_owned(),
                port.parse()
                    .map_err(|_| DriverError(format!("bad port in {url}")))?,
            ),
            _ => (host_port.trim_matches(['[', ']']).to_owned(), 6379),
        };
        Ok(RedisTarget {
            host: if host.is_empty() {
                "127.0.0.1".to_owned()
            } else {
                host
            },
            port,
            username,
            password,
        })
    }
}

/// Appends a RESP2 command.
fn resp_command(out: &mut Vec<u8>, parts: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", parts.len()).as_bytes());
    for part in parts {
        out.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
}

/// The RESP2 frames a subscriber connection gets.
#[derive(Debug)]
enum Resp {
    Simple,
    Error(String),
    Integer,
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Resp>),
}

/// Reads one RESP2 frame (arrays nest at most twice on a subscriber connection).
fn read_resp<'a, R>(
    reader: &'a mut R,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<Resp>> + Send + 'a>>
where
    R: tokio::io::AsyncBufRead + Unpin + Send,
{
    Box::pin(async move {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.strip_suffix(b"\r\n").unwrap_or(&line);
        let (kind, rest) = line.split_first().ok_or(std::io::ErrorKind::InvalidData)?;
        let text = String::from_utf8_lossy(rest).into_owned();
        let number = || {
            text.parse::<i64>()
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidData))
        };
        Ok(match kind {
            b'+' => Resp::Simple,
            b'-' => Resp::Error(text),
            b':' => {
                number()?;
                Resp::Integer
            }
            b'$' => match number()? {
                n if n < 0 => Resp::Nil,
                n => {
                    let mut data = vec![0u8; usize::try_from(n).unwrap_or(0) + 2];
                    reader.read_exact(&mut data).await?;
                    data.truncate(data.len() - 2);
                    Resp::Bulk(data)
                }
            },
            b'*' => match number()? {
                n if n < 0 => Resp::Nil,
                n => {
                    let mut items = Vec::with_capacity(usize::try_from(n).unwrap_or(0).min(16));
                    for _ in 0..n {
                        items.push(read_resp(reader).await?);
                    }
                    Resp::Array(items)
                }
            },
            _ => return Err(std::io::ErrorKind::InvalidData.into()),
        })
    })
}
