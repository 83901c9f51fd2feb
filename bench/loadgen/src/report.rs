//! `loadgen report FILE`: medians of repeated runs as a markdown table.
//!
//! Each line of FILE is `<server>\tRESULT scenario=<name> key=value ...` (as run.sh writes).

use std::collections::BTreeMap;

/// Column order and headings of the servers `run.sh` knows; others come after, by name.
const SERVERS: [(&str, &str); 10] = [
    ("polysocket", "polysocket"),
    ("node", "node socket.io"),
    ("socketioxide", "socketioxide"),
    ("polysocket-node-standalone", "Node binding, standalone"),
    ("polysocket-node", "Node binding, attached"),
    ("python-socketio-aiohttp", "python-socketio (aiohttp)"),
    ("python-socketio-uvicorn", "python-socketio (uvicorn)"),
    ("polysocket-python", "Python binding"),
    ("polysocket-python-aiohttp", "Python binding (aiohttp)"),
    ("polysocket-python-uvicorn", "Python binding (uvicorn)"),
];

/// The servers the ratios compare with, the first one present.
const REFERENCES: [&str; 3] = ["node", "python-socketio-aiohttp", "python-socketio-uvicorn"];

/// (scenario, metric key, row label).
const ROWS: [(&str, &str, &str); 28] = [
    ("connect", "clients", "connect: clients"),
    (
        "connect",
        "kib_per_conn",
        "connect: RSS KiB / connection (lower is better)",
    ),
    ("connect", "connects_per_sec", "connect: connections / s"),
    ("echo-ack", "acks_per_sec", "echo-ack (ws): acks / s"),
    (
        "echo-ack",
        "p50_us",
        "echo-ack (ws): p50 latency µs (lower is better)",
    ),
    (
        "echo-ack",
        "p99_us",
        "echo-ack (ws): p99 latency µs (lower is better)",
    ),
    (
        "echo-ack",
        "server_cpu_pct",
        "echo-ack (ws): server CPU % of its core",
    ),
    (
        "echo-ack",
        "acks_per_cpu_sec",
        "echo-ack (ws): acks / server CPU-second",
    ),
    (
        "broadcast",
        "deliveries_per_sec",
        "broadcast: deliveries / s",
    ),
    ("broadcast", "clients", "broadcast: receivers"),
    (
        "broadcast",
        "server_cpu_pct",
        "broadcast: server CPU % of its core",
    ),
    (
        "broadcast",
        "deliveries_per_cpu_sec",
        "broadcast: deliveries / server CPU-second",
    ),
    (
        "slow-consumer",
        "alone_deliveries_per_sec",
        "slow-consumer: deliveries / s, no stuck client",
    ),
    (
        "slow-consumer",
        "deliveries_per_sec",
        "slow-consumer: deliveries / s to the readers, one stuck client",
    ),
    (
        "slow-consumer",
        "kept_throughput_pct",
        "slow-consumer: readers' throughput kept, %",
    ),
    (
        "slow-consumer",
        "rss_start_kib",
        "slow-consumer: server RSS KiB at the start (lower is better)",
    ),
    (
        "slow-consumer",
        "rss_max_kib",
        "slow-consumer: server RSS KiB, largest (lower is better)",
    ),
    (
        "slow-consumer",
        "rss_growth_kib",
        "slow-consumer: server RSS growth KiB over the run (lower is better)",
    ),
    (
        "slow-consumer",
        "rss_last_quarter_growth_kib",
        "slow-consumer: server RSS growth KiB in the last quarter (lower is better)",
    ),
    ("polling-echo", "acks_per_sec", "polling-echo: acks / s"),
    (
        "client-echo",
        "acks_per_sec",
        "client-echo (columns are clients: polysocket's vs socket.io-client, same polysocket server): acks / s",
    ),
    (
        "client-echo",
        "client_cpu_pct",
        "client-echo: client CPU % of its core",
    ),
    (
        "client-echo",
        "acks_per_client_cpu_sec",
        "client-echo: acks / client CPU-second",
    ),
    (
        "client-echo",
        "client_kib_per_conn",
        "client-echo: client RSS KiB / connection (lower is better)",
    ),
    (
        "polling-echo",
        "p50_us",
        "polling-echo: p50 latency µs (lower is better)",
    ),
    (
        "polling-echo",
        "p99_us",
        "polling-echo: p99 latency µs (lower is better)",
    ),
    (
        "polling-echo",
        "server_cpu_pct",
        "polling-echo: server CPU % of its core",
    ),
    (
        "polling-echo",
        "acks_per_cpu_sec",
        "polling-echo: acks / server CPU-second",
    ),
];

type Samples = BTreeMap<(String, String, String), Vec<f64>>;

pub(crate) fn print(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let mut samples: Samples = BTreeMap::new();
    let mut errors: BTreeMap<(String, String), usize> = BTreeMap::new();
    for line in text.lines() {
        let Some((server, rest)) = line.split_once('\t') else {
            continue;
        };
        let Some(rest) = rest.strip_prefix("RESULT ") else {
            continue;
        };
        let mut fields: BTreeMap<String, String> = rest
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let Some(scenario) = fields.get("scenario").cloned() else {
            continue;
        };
        if fields.contains_key("error") {
            *errors
                .entry((server.to_owned(), scenario.to_string()))
                .or_default() += 1;
            continue;
        }
        let cpu = fields
            .get("server_cpu_pct")
            .and_then(|v| v.parse::<f64>().ok());
        let derived = ["acks_per_sec", "deliveries_per_sec"].iter().find_map(|k| {
            let rate = fields.get(*k)?.parse::<f64>().ok()?;
            let cpu = cpu.filter(|c| *c > 0.0)?;
            Some((
                k.replace("_per_sec", "_per_cpu_sec"),
                format!("{:.0}", rate / (cpu / 100.0)),
            ))
        });
        if let Some((k, v)) = derived {
            fields.insert(k, v);
        }
        for (k, v) in &fields {
            if let Ok(v) = v.parse::<f64>() {
                samples
                    .entry((server.to_owned(), scenario.to_string(), k.to_string()))
                    .or_default()
                    .push(v);
            }
        }
    }
    // The servers present, known ones in their order, then the others by name.
    let present: std::collections::BTreeSet<&str> = samples
        .keys()
        .map(|(server, _, _)| server.as_str())
        .chain(errors.keys().map(|(server, _)| server.as_str()))
        .collect();
    let mut columns: Vec<(&str, String)> = SERVERS
        .iter()
        .filter(|(server, _)| present.contains(server))
        .map(|(server, heading)| (*server, (*heading).to_owned()))
        .collect();
    for server in &present {
        if !SERVERS.iter().any(|(known, _)| known == server) {
            columns.push((server, (*server).to_owned()));
        }
    }
    // The column the ratios compare with, and the columns compared.
    let reference = REFERENCES
        .iter()
        .find_map(|r| columns.iter().position(|(server, _)| server == r));
    let compared: Vec<usize> = match reference {
        Some(r) => (0..columns.len()).filter(|&i| i != r).collect(),
        None => Vec::new(),
    };
    let mut header = String::from("| metric (median of runs) |");
    for (_, heading) in &columns {
        header.push_str(&format!(" {heading} |"));
    }
    for &i in &compared {
        let base = reference.map_or("", |r| columns[r].1.as_str());
        header.push_str(&format!(" {} / {base} |", columns[i].1));
    }
    println!("{header}");
    println!("|---|{}", "---:|".repeat(columns.len() + compared.len()));
    for (scenario, key, label) in ROWS {
        let mut cells = Vec::new();
        let mut medians = Vec::new();
        for (server, _) in &columns {
            let k = ((*server).to_owned(), scenario.to_owned(), key.to_owned());
            let m = samples.get(&k).map(|v| median(v));
            let n = samples.get(&k).map_or(0, Vec::len);
            let failed = errors
                .get(&((*server).to_owned(), scenario.to_owned()))
                .copied()
                .unwrap_or(0);
            medians.push(m);
            cells.push(match m {
                Some(m) if failed > 0 => {
                    format!("{} ({failed} of {} runs failed)", fmt(m), n + failed)
                }
                Some(m) => fmt(m),
                None if failed > 0 => "failed".to_owned(),
                None => "–".to_owned(),
            });
        }
        // Rows of scenarios that did not run are left out.
        if cells.iter().all(|cell| cell == "–") {
            continue;
        }
        let base = reference.and_then(|r| medians[r]);
        for &i in &compared {
            cells.push(match (medians[i], base) {
                (Some(v), Some(b)) if b != 0.0 && key != "clients" => format!("{:.2}×", v / b),
                _ => "–".to_owned(),
            });
        }
        println!("| {label} | {} |", cells.join(" | "));
    }
    println!("\nruns per cell: {}", runs_summary(&samples));
    Ok(())
}

fn runs_summary(samples: &Samples) -> String {
    let mut counts: Vec<usize> = samples.values().map(Vec::len).collect();
    counts.sort();
    counts.dedup();
    counts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

fn fmt(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}
