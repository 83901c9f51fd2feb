//! Socket.IO v4 load generator speaking the Engine.IO v4 / Socket.IO v5 wire protocol
//! directly (raw text frames), so the client side is never the bottleneck the official JS
//! client would be.
//!
//! Usage: `loadgen <scenario> --port P [--clients N] [--duration S] [--server-pid PID]`
//! with scenario one of `connect`, `echo-ack`, `broadcast`, `polling-echo`.
//!
//! Only connects to 127.0.0.1. Every scenario is bounded in count and time and stops by
//! itself. Prints one machine-readable line: `RESULT scenario=<name> key=value ...`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

mod report;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, Error>;
type Ws = WebSocketStream<TcpStream>;

/// Hard cap on any single wait so a stuck server cannot hang the run.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
struct Opts {
    scenario: String,
    port: u16,
    clients: Option<usize>,
    duration: Duration,
    server_pid: Option<u32>,
    concurrency: usize,
    payload: usize,
}

fn parse_args() -> Opts {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| usage());
    let mut opts = Opts {
        scenario,
        port: 0,
        clients: None,
        duration: Duration::from_secs(5),
        server_pid: None,
        concurrency: 200,
        payload: 64,
    };
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--port" => opts.port = value.parse().unwrap_or_else(|_| usage()),
            "--clients" => opts.clients = Some(value.parse().unwrap_or_else(|_| usage())),
            "--duration" => {
                opts.duration = Duration::from_secs_f64(value.parse().unwrap_or_else(|_| usage()))
            }
            "--server-pid" => opts.server_pid = Some(value.parse().unwrap_or_else(|_| usage())),
            "--concurrency" => opts.concurrency = value.parse().unwrap_or_else(|_| usage()),
            "--payload" => opts.payload = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    if opts.port == 0 {
        usage();
    }
    opts
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen <connect|echo-ack|broadcast|slow-consumer|polling-echo|client-echo> --port P [--clients N] \
         [--duration SECS] [--server-pid PID] [--concurrency N] [--payload BYTES]\n       \
         loadgen report RESULTS_FILE   (lines: `<server>\\tRESULT scenario=.. k=v ..`)"
    );
    std::process::exit(2);
}

/// Raises RLIMIT_NOFILE to the hard limit.
fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        lim.rlim_cur
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("report") {
        let path = std::env::args().nth(2).unwrap_or_else(|| usage());
        match report::print(&path) {
            Ok(()) => return,
            Err(e) => {
                eprintln!("report: {e}");
                std::process::exit(1);
            }
        }
    }
    let opts = parse_args();
    let limit = raise_fd_limit();
    eprintln!("loadgen: {} (fd limit {limit})", opts.scenario);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = rt.block_on(async {
        match opts.scenario.as_str() {
            "connect" => connect_scenario(&opts).await,
            "echo-ack" => echo_scenario(&opts).await,
            "broadcast" => broadcast_scenario(&opts).await,
            "slow-consumer" => slow_consumer_scenario(&opts).await,
            "polling-echo" => polling_scenario(&opts).await,
            "client-echo" => client_echo_scenario(&opts).await,
            _ => usage(),
        }
    });
    // Drop all connections quickly rather than waiting for graceful closes.
    rt.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(line) => println!("RESULT scenario={} {line}", opts.scenario),
        Err(err) => {
            println!(
                "RESULT scenario={} error={}",
                opts.scenario,
                sanitize(&err.to_string())
            );
            std::process::exit(1);
        }
    }
}

fn sanitize(s: &str) -> String {
    s.replace(char::is_whitespace, "_")
}

// ---------------------------------------------------------------- websocket client

async fn ws_connect(port: u16) -> Result<Ws> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    // Small buffers so 10k idle clients do not cost the load generator gigabytes.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(ws)
}

/// Next text frame, answering Engine.IO pings (`2` → `3`) on the way.
async fn next_text(ws: &mut Ws) -> Result<String> {
    loop {
        let msg = ws.next().await.ok_or("connection closed")??;
        match msg {
            Message::Text(text) => {
                if text.as_str() == "2" {
                    ws.send(Message::text("3")).await?;
                    continue;
                }
                return Ok(text.as_str().to_owned());
            }
            Message::Close(_) => return Err("connection closed by server".into()),
            _ => continue,
        }
    }
}

/// Engine.IO open, then Socket.IO CONNECT to `/` until acknowledged.
async fn ws_client(port: u16) -> Result<Ws> {
    let mut ws = ws_connect(port).await?;
    let open = tokio::time::timeout(STEP_TIMEOUT, next_text(&mut ws)).await??;
    if !open.starts_with("0{") {
        return Err(format!("unexpected open packet {open:?}").into());
    }
    ws.send(Message::text("40")).await?;
    loop {
        let packet = tokio::time::timeout(STEP_TIMEOUT, next_text(&mut ws)).await??;
        if packet.starts_with("40") {
            return Ok(ws);
        }
        if packet.starts_with("44") {
            return Err(format!("connect refused {packet}").into());
        }
    }
}

/// Emits `42<id>[event, arg]` and waits for `43<id>`; other packets are skipped.
async fn ws_emit_ack(ws: &mut Ws, id: u64, event: &str, arg: &str) -> Result<()> {
    ws.send(Message::text(format!("42{id}[\"{event}\",{arg}]")))
        .await?;
    let want = format!("43{id}");
    loop {
        let packet = next_text(ws).await?;
        if is_ack(&packet, &want) {
            return Ok(());
        }
    }
}

fn is_ack(packet: &str, want: &str) -> bool {
    packet.starts_with(want) && packet.as_bytes().get(want.len()) == Some(&b'[')
}

/// Opens `n` connected clients with at most `concurrency` handshakes in flight.
async fn open_many(port: u16, n: usize, concurrency: usize) -> Result<Vec<Ws>> {
    let sem = Arc::new(Semaphore::new(concurrency));
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        let permit = sem.clone().acquire_owned().await?;
        handles.push(tokio::spawn(async move {
            let ws = ws_client(port).await;
            drop(permit);
            ws
        }));
    }
    let mut sockets = Vec::with_capacity(n);
    let mut first_err = None;
    for h in handles {
        match h.await? {
            Ok(ws) => sockets.push(ws),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_err {
        return Err(format!("only {} of {n} clients connected: {e}", sockets.len()).into());
    }
    Ok(sockets)
}

// ---------------------------------------------------------------- CPU accounting

/// utime + stime of a process in clock ticks (all threads).
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Measures server and load-generator CPU use between `from` and `to`, as
/// ` server_cpu_pct=.. loadgen_cpu_pct=..` (percent of one core), or "" without a pid.
fn spawn_cpu_probe(
    server_pid: Option<u32>,
    from: Instant,
    to: Instant,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let Some(pid) = server_pid.map(|p| p.to_string()) else {
            return String::new();
        };
        tokio::time::sleep_until(from.into()).await;
        let t0 = Instant::now();
        let (s0, l0) = (cpu_ticks(&pid), cpu_ticks("self"));
        tokio::time::sleep_until(to.into()).await;
        let (s1, l1) = (cpu_ticks(&pid), cpu_ticks("self"));
        let secs = t0.elapsed().as_secs_f64();
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let pct = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:.0}", (b - a) as f64 / hz / secs * 100.0),
            _ => "nan".into(),
        };
        format!(
            " server_cpu_pct={} loadgen_cpu_pct={}",
            pct(s0, s1),
            pct(l0, l1)
        )
    })
}

// ---------------------------------------------------------------- scenario: connect

fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?)
}

async fn connect_scenario(opts: &Opts) -> Result<String> {
    let n = opts.clients.unwrap_or(10_000);
    let pid = opts.server_pid.ok_or("connect needs --server-pid")?;
    let before = rss_kib(pid)?;
    let start = Instant::now();
    let sockets = open_many(opts.port, n, opts.concurrency).await?;
    let elapsed = start.elapsed();
    // Keep every client answering pings while the server settles.
    let stop = Arc::new(AtomicBool::new(false));
    let mut holders = Vec::with_capacity(n);
    for mut ws in sockets {
        let stop = stop.clone();
        holders.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match tokio::time::timeout(Duration::from_millis(500), next_text(&mut ws)).await {
                    Ok(Ok(_)) | Err(_) => {}
                    Ok(Err(_)) => return false,
                }
            }
            true
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid)?;
    stop.store(true, Ordering::Relaxed);
    let mut alive = 0;
    for h in holders {
        if h.await.unwrap_or(false) {
            alive += 1;
        }
    }
    let per_conn = (after as f64 - before as f64) / n as f64;
    Ok(format!(
        "clients={n} alive={alive} rss_before_kib={before} rss_after_kib={after} \
         kib_per_conn={per_conn:.2} connect_secs={:.2} connects_per_sec={:.0}",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    ))
}

// ---------------------------------------------------------------- scenario: echo-ack

async fn echo_scenario(opts: &Opts) -> Result<String> {
    let n = opts.clients.unwrap_or(50);
    let sockets = open_many(opts.port, n, opts.concurrency).await?;
    let warmup = Duration::from_secs(1);
    let start = Instant::now();
    let measure_from = start + warmup;
    let deadline = measure_from + opts.duration;
    let probe = spawn_cpu_probe(opts.server_pid, measure_from, deadline);
    let mut handles = Vec::new();
    for (client, mut ws) in sockets.into_iter().enumerate() {
        handles.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let mut count = 0u64;
            let mut i = 0u64;
            loop {
                let sent = Instant::now();
                if sent >= deadline {
                    break;
                }
                let arg = format!("{{\"n\":{i},\"c\":{client}}}");
                tokio::time::timeout(STEP_TIMEOUT, ws_emit_ack(&mut ws, i, "echo", &arg)).await??;
                if sent >= measure_from {
                    let us = sent.elapsed().as_micros() as u64;
                    hist.saturating_record(us.max(1));
                    count += 1;
                }
                i += 1;
            }
            Ok::<_, Error>((count, hist))
        }));
    }
    let mut total = 0u64;
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    for h in handles {
        let (count, h) = h.await??;
        total += count;
        hist.add(&h)?;
    }
    let secs = opts.duration.as_secs_f64();
    Ok(format!(
        "clients={n} acks={total} acks_per_sec={:.0} p50_us={} p99_us={}{}",
        total as f64 / secs,
        hist.value_at_quantile(0.5),
        hist.value_at_quantile(0.99),
        probe.await?
    ))
}

// ---------------------------------------------------------------- scenario: broadcast

async fn broadcast_scenario(opts: &Opts) -> Result<String> {
    broadcast_run(opts, false).await
}

// ---------------------------------------------------------------- scenario: slow-consumer

/// `broadcast`, plus one more member of the room that stops reading once it joined: the
/// server can only queue for it. Reports the other receivers' deliveries/s and how the
/// server's RSS moved during the measured window (sampled every 250 ms).
async fn slow_consumer_scenario(opts: &Opts) -> Result<String> {
    let alone = broadcast_run(opts, false).await?;
    let alone = alone
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("deliveries_per_sec="))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    let with_stuck = broadcast_run(opts, true).await?;
    let with = with_stuck
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("deliveries_per_sec="))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    Ok(format!(
        "{with_stuck} alone_deliveries_per_sec={alone:.0} kept_throughput_pct={:.0}",
        if alone > 0.0 {
            100.0 * with / alone
        } else {
            0.0
        }
    ))
}

/// Joins `ws` to room `bench`.
async fn join_bench(ws: &mut Ws) -> Result<()> {
    tokio::time::timeout(STEP_TIMEOUT, ws_emit_ack(ws, 0, "join", "\"bench\"")).await??;
    Ok(())
}

async fn broadcast_run(opts: &Opts, with_stuck_client: bool) -> Result<String> {
    let n = opts.clients.unwrap_or(1000);
    let mut receivers = open_many(opts.port, n, opts.concurrency).await?;
    // Join the room, bounded concurrency.
    {
        let sem = Arc::new(Semaphore::new(opts.concurrency));
        let mut handles = Vec::new();
        for mut ws in receivers.drain(..) {
            let permit = sem.clone().acquire_owned().await?;
            handles.push(tokio::spawn(async move {
                let r = join_bench(&mut ws).await;
                drop(permit);
                r?;
                Ok::<_, Error>(ws)
            }));
        }
        for h in handles {
            receivers.push(h.await??);
        }
    }
    // Kept open and never read again: the kernel buffers fill, then the server's queue.
    let _stuck = if with_stuck_client {
        let mut ws = ws_client(opts.port).await?;
        join_bench(&mut ws).await?;
        Some(ws)
    } else {
        None
    };
    let mut trigger = ws_client(opts.port).await?;
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for mut ws in receivers {
        let received = received.clone();
        let stop = stop.clone();
        handles.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match tokio::time::timeout(Duration::from_millis(200), next_text(&mut ws)).await {
                    Ok(Ok(p)) => {
                        if p.starts_with("42[\"tick\"") {
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(Err(_)) => return,
                    Err(_) => {}
                }
            }
        }));
    }
    let payload = format!("{{\"payload\":\"{}\"}}", "x".repeat(opts.payload));
    // Closed loop with a window: at most WINDOW broadcasts not yet fully delivered, so the
    // server never queues without bound when the receivers fall behind.
    const WINDOW: u64 = 4;
    let warmup = Duration::from_secs(1);
    let start = Instant::now();
    let deadline = start + warmup + opts.duration;
    let probe = spawn_cpu_probe(opts.server_pid, start + warmup, deadline);
    let rss = with_stuck_client.then(|| spawn_rss_probe(opts.server_pid, start + warmup, deadline));
    let mut sent = 0u64;
    let mut base_count = None;
    let mut measure_start = start;
    let mut acked = 0u64;
    while Instant::now() < deadline {
        if base_count.is_none() && start.elapsed() >= warmup {
            base_count = Some(received.load(Ordering::Relaxed));
            measure_start = Instant::now();
        }
        let delivered = received.load(Ordering::Relaxed);
        if sent * n as u64 > delivered + WINDOW * n as u64 {
            tokio::time::sleep(Duration::from_micros(200)).await;
            continue;
        }
        tokio::time::timeout(
            STEP_TIMEOUT,
            ws_emit_ack(&mut trigger, sent, "broadcast-room", &payload),
        )
        .await??;
        acked += 1;
        sent += 1;
    }
    let total = received.load(Ordering::Relaxed) - base_count.unwrap_or(0);
    let secs = measure_start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.await;
    }
    let rss = match rss {
        Some(rss) => rss.await?,
        None => String::new(),
    };
    Ok(format!(
        "clients={n} broadcasts={acked} deliveries={total} deliveries_per_sec={:.0}{}{rss}",
        total as f64 / secs,
        probe.await?
    ))
}

/// Samples the server's RSS every 250 ms between `from` and `to`: reports the RSS at the
/// start, the largest, the last, and the growth over the window.
fn spawn_rss_probe(
    server_pid: Option<u32>,
    from: Instant,
    to: Instant,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let Some(pid) = server_pid else {
            return String::new();
        };
        tokio::time::sleep_until(from.into()).await;
        let first = rss_kib(pid).unwrap_or(0);
        let (mut max, mut last) = (first, first);
        let mut three_quarters = None;
        let quarter = (to - from) / 4;
        while Instant::now() < to {
            tokio::time::sleep(Duration::from_millis(250)).await;
            last = rss_kib(pid).unwrap_or(last);
            max = max.max(last);
            if three_quarters.is_none() && Instant::now() >= from + quarter * 3 {
                three_quarters = Some(last);
            }
        }
        let three_quarters = three_quarters.unwrap_or(last);
        format!(
            " rss_start_kib={first} rss_max_kib={max} rss_end_kib={last} \
             rss_growth_kib={} rss_last_quarter_growth_kib={}",
            last as i64 - first as i64,
            last as i64 - three_quarters as i64
        )
    })
}

// ---------------------------------------------------------------- scenario: polling-echo

struct PollClient {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    path: String,
    port: u16,
}

impl PollClient {
    async fn request(&mut self, body: Option<String>) -> Result<String> {
        self.sender.ready().await?;
        let builder = hyper::Request::builder()
            .uri(&self.path)
            .header("host", format!("127.0.0.1:{}", self.port));
        let req = match body {
            Some(b) => builder
                .method("POST")
                .header("content-type", "text/plain;charset=UTF-8")
                .body(Full::new(Bytes::from(b)))?,
            None => builder.method("GET").body(Full::new(Bytes::new()))?,
        };
        let resp = tokio::time::timeout(STEP_TIMEOUT, self.sender.send_request(req)).await??;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        let text = String::from_utf8(bytes.to_vec())?;
        if !status.is_success() {
            return Err(format!("HTTP {status}: {text}").into());
        }
        Ok(text)
    }

    /// GETs until a packet satisfying `want` arrives; answers pings.
    async fn poll_until(&mut self, want: impl Fn(&str) -> bool) -> Result<()> {
        loop {
            let body = self.request(None).await?;
            let mut found = false;
            let mut ping = false;
            for packet in body.split('\u{1e}') {
                if packet == "2" {
                    ping = true;
                } else if want(packet) {
                    found = true;
                }
            }
            if ping {
                self.request(Some("3".into())).await?;
            }
            if found {
                return Ok(());
            }
        }
    }
}

async fn polling_client(port: u16) -> Result<PollClient> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut client = PollClient {
        sender,
        path: "/socket.io/?EIO=4&transport=polling".into(),
        port,
    };
    let open = client.request(None).await?;
    let sid = open
        .strip_prefix("0{")
        .and_then(|rest| rest.split("\"sid\":\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| format!("bad open packet {open:?}"))?
        .to_owned();
    client.path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    client.request(Some("40".into())).await?;
    client.poll_until(|p| p.starts_with("40")).await?;
    Ok(client)
}

async fn polling_scenario(opts: &Opts) -> Result<String> {
    let n = opts.clients.unwrap_or(20);
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(polling_client(opts.port).await?);
    }
    let warmup = Duration::from_secs(1);
    let measure_from = Instant::now() + warmup;
    let deadline = measure_from + opts.duration;
    let probe = spawn_cpu_probe(opts.server_pid, measure_from, deadline);
    let mut handles = Vec::new();
    for (c, mut client) in clients.into_iter().enumerate() {
        handles.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
            let mut count = 0u64;
            let mut i = 0u64;
            loop {
                let sent = Instant::now();
                if sent >= deadline {
                    break;
                }
                client
                    .request(Some(format!("42{i}[\"echo\",{{\"n\":{i},\"c\":{c}}}]")))
                    .await?;
                let want = format!("43{i}");
                client.poll_until(|p| is_ack(p, &want)).await?;
                if sent >= measure_from {
                    hist.saturating_record((sent.elapsed().as_micros() as u64).max(1));
                    count += 1;
                }
                i += 1;
            }
            Ok::<_, Error>((count, hist))
        }));
    }
    let mut total = 0;
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    for h in handles {
        let (count, h) = h.await??;
        total += count;
        hist.add(&h)?;
    }
    Ok(format!(
        "clients={n} acks={total} acks_per_sec={:.0} p50_us={} p99_us={}{}",
        total as f64 / opts.duration.as_secs_f64(),
        hist.value_at_quantile(0.5),
        hist.value_at_quantile(0.99),
        probe.await?
    ))
}

// ---------------------------------------------------------------- scenario: client-echo

/// The native polysocket client as the load: N `polysocket::client` sockets (websocket)
/// each run a closed loop of `emit_with_ack("echo")`. Reports acks/s, this process's CPU
/// and its RSS per connected client (what a client app pays per connection).
async fn client_echo_scenario(opts: &Opts) -> Result<String> {
    use polysocket::client::{self, ClientOptions};
    use polysocket::{Transport, Value};

    let n = opts.clients.unwrap_or(50);
    let url = format!("http://127.0.0.1:{}", opts.port);
    let rss_before = rss_kib(std::process::id())?;
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        let options = ClientOptions {
            transports: vec![Transport::WebSocket],
            ..ClientOptions::default()
        };
        let socket = client::connect(&url, options).map_err(|e| e.to_string())?;
        socket
            .wait_connected(STEP_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        sockets.push(socket);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss_kib(std::process::id())?;
    let payload = polysocket::to_value(&serde_json::json!({ "payload": "x".repeat(opts.payload) }))
        .map_err(|e| e.to_string())?;
    let warmup = Duration::from_secs(1);
    let start = Instant::now();
    let measure_from = start + warmup;
    let deadline = measure_from + opts.duration;
    let acks = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for socket in sockets {
        let (acks, payload) = (acks.clone(), payload.clone());
        handles.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let answer = socket
                    .emit_with_ack_timeout("echo", vec![payload.clone()], STEP_TIMEOUT)
                    .await;
                if answer.is_err() {
                    return Err::<(), String>("echo not acknowledged".into());
                }
                if Instant::now() >= measure_from {
                    acks.fetch_add(1, Ordering::Relaxed);
                }
            }
            socket.client().close();
            let _: Option<Value> = None;
            Ok(())
        }));
    }
    let probe = spawn_cpu_probe(opts.server_pid, measure_from, deadline);
    for handle in handles {
        handle.await??;
    }
    let total = acks.load(Ordering::Relaxed);
    let secs = opts.duration.as_secs_f64();
    let probe = probe.await?;
    let client_cpu = probe
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("loadgen_cpu_pct="))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    Ok(format!(
        "clients={n} acks={total} acks_per_sec={:.0} client_cpu_pct={client_cpu:.0} \
         acks_per_client_cpu_sec={:.0} client_kib_per_conn={:.1}{probe}",
        total as f64 / secs,
        total as f64 / secs / (client_cpu / 100.0),
        (rss_after as f64 - rss_before as f64) / n as f64,
    ))
}
