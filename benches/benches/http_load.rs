//! Load on loopback: sustained OTLP/HTTP ingest through `quarry-server`, against the same batches ingested in
//! process, and the latency of the logs UI's query mix (list, sparkline, services) over HTTP while ingest runs.
//!
//! ```text
//! cargo bench -p quarry-benches --bench http_load                         # 1M-row data set, 20 s phases
//! QUARRY_BENCH_ROWS=10000000 QUARRY_LOAD_SECS=30 cargo bench -p quarry-benches --bench http_load
//! ```
//!
//! Phases, each `QUARRY_LOAD_SECS` long (default 20), over the cached data set of `quarry_benches::engine`
//! (team 1, queried) with the server in this process on 127.0.0.1 (tokio, two workers):
//! 1. in-process ingest: `QUARRY_LOAD_CLIENTS` threads (default 2) call `Engine::ingest_bytes` with pre-encoded
//!    OTLP protobuf requests of 1,000 records (team 2);
//! 2. HTTP ingest: as many client threads POST the same bodies to `/v1/logs` over keep-alive connections (team 3);
//! 3. queries alone: one client loops list newest 100 / sparkline 24 h / services 24 h over HTTP;
//! 4. queries while HTTP ingest runs: phase 2 and 3 together.
//!
//! The run works on a copy of the data set (Parquet files and sidecars hard-linked, since they are never
//! changed in place; catalog and WAL copied), deleted at the end, so the cached data set stays as the other benches
//! expect. Ingest goes to teams 2 and 3; the background flush is on, as in a served engine. The client is a minimal HTTP/1.1 client over `std::net::TcpStream` (blocking,
//! keep-alive), so the load generator costs little next to the server. Everything shares the machine's cores: the
//! numbers are for one box serving and loading itself, which understates a server with its own cores.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use quarry::{Engine, Format, PlanOptions, TeamId};
use quarry_server::{ServerConfig, Tokens};
use quarry_testkit::{Generator, GeneratorConfig};
use serde_json::json;

const BATCH: u64 = 1_000;
const TOKEN_LOAD: &str = "phc_load_generator_team_3";
const TOKEN_READ: &str = "phc_query_client_team_1";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// `n` OTLP protobuf requests of [`BATCH`] generated records each.
fn bodies(n: u64) -> Vec<Vec<u8>> {
    let logs = Generator::new(GeneratorConfig {
        rows: n * BATCH,
        seed: 7,
        ..Default::default()
    });
    let mut json_lines = Vec::new();
    quarry_testkit::write_otlp_json(logs, BATCH as usize, &mut json_lines).expect("encodes");
    json_lines
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|line| {
            let req: ExportLogsServiceRequest =
                serde_json::from_slice(line).expect("valid OTLP/JSON");
            prost::Message::encode_to_vec(&req)
        })
        .collect()
}

/// A keep-alive HTTP/1.1 connection.
struct Client {
    addr: SocketAddr,
    stream: Option<BufReader<TcpStream>>,
}

impl Client {
    fn new(addr: SocketAddr) -> Client {
        Client { addr, stream: None }
    }

    /// Sends one request and returns (status, body).
    fn request(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        token: &str,
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        for attempt in 0..2 {
            if self.stream.is_none() {
                let s = TcpStream::connect(self.addr).expect("connects");
                s.set_nodelay(true).expect("nodelay");
                self.stream = Some(BufReader::new(s));
            }
            match self.try_request(method, path, content_type, token, body) {
                Ok(answer) => return answer,
                Err(e) if attempt == 0 => {
                    // The server closed an idle connection: reconnect once.
                    let _ = e;
                    self.stream = None;
                }
                Err(e) => panic!("{method} {path}: {e}"),
            }
        }
        unreachable!()
    }

    fn try_request(
        &mut self,
        method: &str,
        path: &str,
        content_type: &str,
        token: &str,
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let stream = self.stream.as_mut().expect("connected");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let s = stream.get_mut();
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let mut line = String::new();
        if stream.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed",
            ));
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            stream.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let lower = l.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse::<usize>().ok();
            } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                stream.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim(), 16).map_err(std::io::Error::other)?;
                let mut chunk = vec![0; size + 2];
                stream.read_exact(&mut chunk)?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            body.resize(length.unwrap_or(0), 0);
            stream.read_exact(&mut body)?;
        }
        Ok((status, body))
    }
}

/// Runs `clients` threads posting `bodies` round-robin for `secs`; returns rows acknowledged.
fn http_ingest(
    addr: SocketAddr,
    bodies: &Arc<Vec<Vec<u8>>>,
    clients: u64,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<u64>> {
    (0..clients)
        .map(|c| {
            let bodies = Arc::clone(bodies);
            let stop = Arc::clone(stop);
            std::thread::spawn(move || {
                let mut client = Client::new(addr);
                let mut rows = 0;
                let mut i = c as usize;
                while !stop.load(Ordering::Relaxed) {
                    let (status, body) = client.request(
                        "POST",
                        "/v1/logs",
                        "application/x-protobuf",
                        TOKEN_LOAD,
                        &bodies[i % bodies.len()],
                    );
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                    rows += BATCH;
                    i += 2;
                }
                rows
            })
        })
        .collect()
}

/// Latencies of the query mix, by name.
fn query_loop(
    addr: SocketAddr,
    stop: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<(&'static str, Vec<Duration>)>> {
    let stop = Arc::clone(stop);
    std::thread::spawn(move || {
        let day = json!({"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-02T00:00:00Z"});
        let mix = [
            (
                "list newest 100",
                "/api/projects/1/logs/query/",
                json!({"query": {"dateRange": day, "limit": 100}}),
            ),
            (
                "sparkline 24h",
                "/api/projects/1/logs/sparkline/",
                json!({"query": {"dateRange": day}}),
            ),
            (
                "services 24h",
                "/api/projects/1/logs/services/",
                json!({"query": {"dateRange": day}}),
            ),
        ];
        let bodies: Vec<Vec<u8>> = mix
            .iter()
            .map(|(_, _, b)| b.to_string().into_bytes())
            .collect();
        let mut out: Vec<(&'static str, Vec<Duration>)> =
            mix.iter().map(|(n, _, _)| (*n, Vec::new())).collect();
        let mut client = Client::new(addr);
        while !stop.load(Ordering::Relaxed) {
            for (i, (_, path, _)) in mix.iter().enumerate() {
                let started = Instant::now();
                let (status, body) =
                    client.request("POST", path, "application/json", TOKEN_READ, &bodies[i]);
                out[i].1.push(started.elapsed());
                assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
            }
        }
        out
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(label: &str, latencies: Vec<(&'static str, Vec<Duration>)>) {
    println!("{label}");
    for (name, mut l) in latencies {
        l.sort();
        println!(
            "  {name:<16} n={:<6} p50={:>8.2} ms  p99={:>8.2} ms  max={:>8.2} ms",
            l.len(),
            percentile(&l, 0.5).as_secs_f64() * 1e3,
            percentile(&l, 0.99).as_secs_f64() * 1e3,
            l.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a plain `cargo test --benches` run passes nothing and must stay quick.
    if !std::env::args().any(|a| a == "--bench") {
        println!("http_load: run with `cargo bench -p quarry-benches --bench http_load`");
        return;
    }
    let secs = Duration::from_secs(env_u64("QUARRY_LOAD_SECS", 20));
    let clients = env_u64("QUARRY_LOAD_CLIENTS", 2);
    drop(quarry_benches::engine(PlanOptions::default()));
    let source = quarry_benches::data_dir(quarry_benches::rows());
    let copy = tempfile::tempdir_in(source.parent().expect("a parent")).expect("temp dir");
    clone_dir(&source, copy.path()).expect("copies the data set");
    let engine: Engine = Engine::builder(copy.path()).open().expect("opens the copy");
    let stats = engine.stats().expect("stats");
    println!(
        "data set: {} rows in {} files; phases of {secs:?}, {clients} ingest clients, batches of {BATCH} records",
        stats.storage.file_rows, stats.storage.files
    );
    let bodies = Arc::new(bodies(200));
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    println!(
        "{} OTLP protobuf bodies, {} bytes on average",
        bodies.len(),
        bytes / bodies.len()
    );

    // Phase 1: in process.
    let stop = Arc::new(AtomicBool::new(false));
    let rows = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            let (engine, bodies, stop, rows) = (
                engine.clone(),
                Arc::clone(&bodies),
                Arc::clone(&stop),
                Arc::clone(&rows),
            );
            std::thread::spawn(move || {
                let mut i = c as usize;
                while !stop.load(Ordering::Relaxed) {
                    let r = engine
                        .ingest_bytes(TeamId(2), Format::OtlpProto, &bodies[i % bodies.len()])
                        .expect("ingest");
                    rows.fetch_add(r.accepted, Ordering::Relaxed);
                    i += 2;
                }
            })
        })
        .collect();
    std::thread::sleep(secs);
    stop.store(true, Ordering::Relaxed);
    workers.into_iter().for_each(|w| w.join().expect("worker"));
    let in_process = rows.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!("in-process ingest: {in_process:>10.0} rows/s");
    engine.flush().expect("flush");

    // The server, in this process.
    let mut tokens = Tokens::new();
    tokens
        .add_spec(&format!("{TOKEN_LOAD}=3"), "bench")
        .expect("token");
    tokens
        .add_spec(&format!("{TOKEN_READ}=1"), "bench")
        .expect("token");
    let config = ServerConfig {
        tokens,
        ..ServerConfig::default()
    };
    let router = quarry_server::router(engine.clone(), config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("binds");
    let addr = listener.local_addr().expect("address");
    runtime.spawn(async move { axum::serve(listener, router).await });

    // Phase 2: HTTP ingest.
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let handles = http_ingest(addr, &bodies, clients, &stop);
    std::thread::sleep(secs);
    stop.store(true, Ordering::Relaxed);
    let http_rows: u64 = handles.into_iter().map(|h| h.join().expect("client")).sum();
    let http = http_rows as f64 / started.elapsed().as_secs_f64();
    println!(
        "HTTP ingest:       {http:>10.0} rows/s ({:.0}% of in-process)",
        100.0 * http / in_process
    );
    engine.flush().expect("flush");

    // Phase 3: queries alone.
    let stop = Arc::new(AtomicBool::new(false));
    let q = query_loop(addr, &stop);
    std::thread::sleep(secs);
    stop.store(true, Ordering::Relaxed);
    report("queries, idle server:", q.join().expect("query client"));

    // Phase 4: queries while HTTP ingest runs.
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let handles = http_ingest(addr, &bodies, clients, &stop);
    let q = query_loop(addr, &stop);
    std::thread::sleep(secs);
    stop.store(true, Ordering::Relaxed);
    let rows_during: u64 = handles.into_iter().map(|h| h.join().expect("client")).sum();
    report(
        &format!(
            "queries while ingesting over HTTP ({:.0} rows/s):",
            rows_during as f64 / started.elapsed().as_secs_f64()
        ),
        q.join().expect("query client"),
    );

    drop(engine);
    runtime.shutdown_timeout(Duration::from_secs(5));
    drop(copy);
}

/// Copies a data directory: immutable Parquet files and sidecars as hard links, everything else byte for byte.
fn clone_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            clone_dir(&entry.path(), &target)?;
        } else {
            let path = entry.path();
            let immutable = matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("parquet" | "qidx")
            );
            if immutable {
                std::fs::hard_link(&path, &target)?;
            } else {
                std::fs::copy(&path, &target)?;
            }
        }
    }
    Ok(())
}
