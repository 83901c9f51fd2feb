//! socket.io's server options, translated to polysocket's [`ServerConfig`].

use std::time::Duration;

use napi::bindgen_prelude::Result;
use napi::{Error, Status};
use polysocket::{
    ClusterAdapter, ClusterOptions, ConnectionStateRecovery, CookieConfig, Cors, CorsOrigin,
    HttpCompression, Parser, PerMessageDeflate, RedisDriver, SameSite, ServerConfig,
    ShardedOptions, SubscriptionMode, Transport,
};

/// The `transports` option (socket.io's and socket.io-client's): the known names, in order.
pub(crate) fn transports_option(options: &serde_json::Value) -> Option<Vec<Transport>> {
    let list = options.get("transports")?.as_array()?;
    Some(
        list.iter()
            .filter_map(|t| match t.as_str() {
                Some("polling") => Some(Transport::Polling),
                Some("websocket") => Some(Transport::WebSocket),
                _ => None,
            })
            .collect(),
    )
}

/// socket.io's server options that this binding understands, from the JSON the JavaScript
/// side sends (socket.io's option names).
pub(crate) fn config_from(options: &serde_json::Value) -> Result<ServerConfig> {
    let mut config = ServerConfig::default();
    let ms = |name: &str| {
        options
            .get(name)
            .and_then(serde_json::Value::as_u64)
            .map(Duration::from_millis)
    };
    if let Some(path) = options.get("path").and_then(|v| v.as_str()) {
        config.path = path.to_owned();
    }
    if let Some(v) = ms("pingInterval") {
        config.ping_interval = v;
    }
    if let Some(v) = ms("pingTimeout") {
        config.ping_timeout = v;
    }
    if let Some(v) = ms("connectTimeout") {
        config.connect_timeout = v;
    }
    if let Some(v) = ms("upgradeTimeout") {
        config.upgrade_timeout = v;
    }
    if let Some(v) = options
        .get("maxHttpBufferSize")
        .and_then(serde_json::Value::as_u64)
    {
        config.max_http_buffer_size = v;
    }
    if let Some(v) = options
        .get("allowUpgrades")
        .and_then(serde_json::Value::as_bool)
    {
        config.allow_upgrades = v;
    }
    if let Some(list) = transports_option(options) {
        config.transports = list;
    }
    if let Some(v) = options
        .get("cleanupEmptyChildNamespaces")
        .and_then(serde_json::Value::as_bool)
    {
        config.cleanup_empty_child_namespaces = v;
    }
    // socket.io's `perMessageDeflate` (default false) and `httpCompression` (default true):
    // `true`, `false` or `{ threshold }`.
    let threshold = |v: &serde_json::Value| {
        v.get("threshold")
            .and_then(serde_json::Value::as_u64)
            .and_then(|t| usize::try_from(t).ok())
            .unwrap_or(1024)
    };
    match options.get("perMessageDeflate") {
        Some(serde_json::Value::Bool(false)) | None => {}
        Some(v) => {
            config.per_message_deflate = Some(PerMessageDeflate {
                threshold: threshold(v),
            })
        }
    }
    match options.get("httpCompression") {
        Some(serde_json::Value::Bool(false)) => config.http_compression = None,
        Some(v) => {
            config.http_compression = Some(HttpCompression {
                threshold: threshold(v),
            })
        }
        None => {}
    }
    match options.get("cookie") {
        Some(serde_json::Value::Bool(false)) | None => {}
        Some(v) => {
            let mut cookie = CookieConfig::default();
            if let Some(name) = v.get("name").and_then(|n| n.as_str()) {
                cookie.name = name.to_owned();
            }
            if let Some(path) = v.get("path") {
                cookie.path = path.as_str().map(str::to_owned);
            }
            if let Some(http_only) = v.get("httpOnly").and_then(serde_json::Value::as_bool) {
                cookie.http_only = http_only;
            }
            if let Some(secure) = v.get("secure").and_then(serde_json::Value::as_bool) {
                cookie.secure = secure;
            }
            if let Some(max_age) = v.get("maxAge").and_then(serde_json::Value::as_u64) {
                cookie.max_age = Some(max_age);
            }
            cookie.same_site = match v.get("sameSite").and_then(|s| s.as_str()) {
                Some("strict") => Some(SameSite::Strict),
                Some("none") => Some(SameSite::None),
                Some("lax") => Some(SameSite::Lax),
                _ => cookie.same_site,
            };
            config.cookie = Some(cookie);
        }
    }
    if let Some(recovery) = options.get("connectionStateRecovery") {
        let defaults = ConnectionStateRecovery::default();
        config.connection_state_recovery = Some(ConnectionStateRecovery {
            max_disconnection_duration: recovery
                .get("maxDisconnectionDuration")
                .and_then(serde_json::Value::as_u64)
                .map_or(defaults.max_disconnection_duration, Duration::from_millis),
            skip_middlewares: recovery
                .get("skipMiddlewares")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(defaults.skip_middlewares),
        });
    }
    if options.get("parser").and_then(|p| p.as_str()) == Some("msgpack") {
        config.parser = Parser::Msgpack;
    }
    if let Some(adapter) = options.get("adapter") {
        config.adapter = Some(cluster_adapter(adapter)?);
    }
    if let Some(cors) = options.get("cors") {
        let origin = match cors.get("origin") {
            Some(serde_json::Value::String(o)) if o == "*" => CorsOrigin::Any,
            Some(serde_json::Value::String(o)) => CorsOrigin::List(vec![o.clone()]),
            Some(serde_json::Value::Bool(true)) => CorsOrigin::Reflect,
            Some(serde_json::Value::Array(list)) => CorsOrigin::List(
                list.iter()
                    .filter_map(|o| o.as_str().map(str::to_owned))
                    .collect(),
            ),
            _ => CorsOrigin::Any,
        };
        config.cors = Some(Cors {
            origin,
            credentials: cors
                .get("credentials")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        });
    }
    Ok(config)
}

/// The Redis cluster adapter that `polysocket/redis-adapter`'s `createAdapter` or
/// `createShardedAdapter` described: `{ url, sharded, key, requestsTimeout,
/// publishOnSpecificResponseChannel, channelPrefix, subscriptionMode }`.
///
/// Connecting blocks the calling thread (Node's, inside `new Server(..)`) until Redis
/// answers; a server that cannot reach its cluster fails to construct.
pub(crate) fn cluster_adapter(options: &serde_json::Value) -> Result<ClusterAdapter> {
    let url = options
        .get("url")
        .and_then(|u| u.as_str())
        .ok_or_else(|| crate::invalid("the adapter needs a Redis URL"))?;
    let timeout = options
        .get("requestsTimeout")
        .and_then(serde_json::Value::as_u64)
        .map(Duration::from_millis);
    let driver = napi::bindgen_prelude::block_on(async {
        tokio::time::timeout(Duration::from_secs(10), RedisDriver::connect(url)).await
    })
    .map_err(|_| Error::new(Status::GenericFailure, format!("Redis at {url}: timed out")))?
    .map_err(|e| Error::new(Status::GenericFailure, format!("Redis at {url}: {}", e.0)))?;
    let text = |name: &str| options.get(name).and_then(|v| v.as_str());
    if options.get("sharded").and_then(serde_json::Value::as_bool) == Some(true) {
        let mut sharded = ShardedOptions::default();
        if let Some(prefix) = text("channelPrefix") {
            sharded.channel_prefix = prefix.to_owned();
        }
        sharded.subscription_mode = match text("subscriptionMode") {
            Some("static") => SubscriptionMode::Static,
            Some("dynamic-private") => SubscriptionMode::DynamicPrivate,
            Some("dynamic") | None => SubscriptionMode::Dynamic,
            Some(other) => {
                return Err(crate::invalid(format!(
                    "unknown subscriptionMode {other:?}"
                )));
            }
        };
        if let Some(timeout) = timeout {
            sharded.requests_timeout = timeout;
        }
        return Ok(napi::bindgen_prelude::within_runtime_if_available(|| {
            ClusterAdapter::sharded(driver, sharded)
        }));
    }
    let mut classic = ClusterOptions::default();
    if let Some(key) = text("key") {
        classic.key = key.to_owned();
    }
    if let Some(timeout) = timeout {
        classic.requests_timeout = timeout;
    }
    if let Some(specific) = options
        .get("publishOnSpecificResponseChannel")
        .and_then(serde_json::Value::as_bool)
    {
        classic.publish_on_specific_response_channel = specific;
    }
    Ok(napi::bindgen_prelude::within_runtime_if_available(|| {
        ClusterAdapter::new(driver, classic)
    }))
}
