//! The realistic log generator.
//!
//! Shape of the data, chosen to look like a production fleet:
//! * [`SERVICE_COUNT`] services with Zipf(1.1) volumes: a few chatty services and a long tail;
//! * diurnal traffic: the rate follows a daily sine (peak around 14:00 UTC, trough around 02:00 at ~30 % of peak);
//! * a severity mix per service (mostly info, some debug/warn, ~2 % error), with incidents: every ~6 hours one
//!   service has a 20-minute error burst (40 % errors and fatals, 5xx statuses);
//! * attributes with realistic cardinalities: `http.method` (5), `http.status_code` (12), `http.route`
//!   (8 per service), `region` (6), `pod` (3–24 per service), `user_id` (~50,000), `request_id` (unique),
//!   `duration_ms` (numeric, log-normal-ish);
//! * resource attributes: `service.name`, `host.name` (the pod), `k8s.namespace.name`, `deployment.environment`;
//! * bodies from per-severity templates with variable parts; trace and span ids on 90 % of rows.

use std::fmt::Write as _;
use std::io::{self, Write};

use quarry_core::record::AttributesBuilder;
use quarry_core::{Attributes, DecodedLog, Severity, normalize_severity};

/// Number of services the generator spreads rows over.
pub const SERVICE_COUNT: usize = 60;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// Random seed; the same seed gives the same rows.
    pub seed: u64,
    /// Rows to generate.
    pub rows: u64,
    /// First timestamp (ns). Default 2026-11-01T00:00:00Z.
    pub start: i64,
    /// Time span the rows cover (ns), `[start, start + span)`. Default 24 hours.
    pub span: i64,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: 42,
            rows: 100_000,
            start: 1_793_491_200 * 1_000_000_000,
            span: 24 * 3_600_000_000_000,
        }
    }
}

/// SplitMix64: tiny, fast, and stable forever (unlike an external RNG's stream).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const PREFIXES: &[&str] = &[
    "checkout",
    "payments",
    "auth",
    "search",
    "catalog",
    "cart",
    "inventory",
    "shipping",
    "notifications",
    "users",
    "billing",
    "recommendations",
    "gateway",
    "media",
    "analytics",
    "ledger",
    "pricing",
    "reviews",
    "sessions",
    "email",
];
const SUFFIXES: &[&str] = &["api", "worker", "service"];
const METHODS: &[(&str, u32)] = &[
    ("GET", 70),
    ("POST", 18),
    ("PUT", 6),
    ("DELETE", 3),
    ("PATCH", 3),
];
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-south-1",
    "ap-northeast-1",
];
const ROUTE_PARTS: &[&str] = &[
    "users", "orders", "items", "carts", "sessions", "invoices", "search", "health", "events",
    "tokens", "files",
];
const HOSTS: &[&str] = &[
    "postgres-primary",
    "redis-cache",
    "kafka-broker-2",
    "s3.amazonaws.com",
    "elasticsearch",
];

struct Service {
    name: String,
    namespace: &'static str,
    pods: Vec<String>,
    routes: Vec<String>,
    error_rate: f64,
}

/// Generates [`DecodedLog`]s in timestamp order. An iterator of exactly [`GeneratorConfig::rows`] items.
#[derive(Debug)]
pub struct Generator {
    config: GeneratorConfig,
    rng: Rng,
    services: Vec<ServiceDebug>,
    cumulative: Vec<f64>,
    /// Cumulative traffic weight per minute of the span, for the diurnal shape.
    minute_cdf: Vec<f64>,
    produced: u64,
    last_ts: i64,
}

/// Service data; wrapped so the generator can derive `Debug` cheaply.
struct ServiceDebug(Service);

impl std::fmt::Debug for ServiceDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.name)
    }
}

impl Generator {
    /// A generator for `config`.
    pub fn new(config: GeneratorConfig) -> Generator {
        let mut rng = Rng(config.seed);
        let mut services = Vec::with_capacity(SERVICE_COUNT);
        for i in 0..SERVICE_COUNT {
            let name = format!(
                "{}-{}",
                PREFIXES[i % PREFIXES.len()],
                SUFFIXES[(i / PREFIXES.len()) % SUFFIXES.len()]
            );
            let namespace = ["shop", "platform", "data", "edge"][i % 4];
            let pod_count = 3 + rng.below(22) as usize;
            let pods = (0..pod_count)
                .map(|_| {
                    format!(
                        "{name}-{:08x}-{:05x}",
                        rng.next() as u32,
                        rng.next() & 0xFFFFF
                    )
                })
                .collect();
            let routes = (0..8)
                .map(|_| {
                    let a = rng.pick(ROUTE_PARTS);
                    let b = rng.pick(ROUTE_PARTS);
                    format!("/api/v{}/{a}/{{id}}/{b}", 1 + rng.below(2))
                })
                .collect();
            let error_rate = 0.005 + rng.unit() * 0.03;
            services.push(ServiceDebug(Service {
                name,
                namespace,
                pods,
                routes,
                error_rate,
            }));
        }
        let mut cumulative = Vec::with_capacity(SERVICE_COUNT);
        let mut acc = 0.0;
        for i in 0..SERVICE_COUNT {
            acc += 1.0 / ((i + 1) as f64).powf(1.1);
            cumulative.push(acc);
        }
        let minutes = (config.span / 60_000_000_000).max(1) as usize;
        let mut minute_cdf = Vec::with_capacity(minutes);
        let mut acc = 0.0;
        for m in 0..minutes {
            let t = config.start + m as i64 * 60_000_000_000;
            let hour = (t.rem_euclid(86_400_000_000_000) as f64) / 3_600_000_000_000.0;
            acc += 0.65 + 0.35 * ((hour - 8.0) / 24.0 * std::f64::consts::TAU).sin();
            minute_cdf.push(acc);
        }
        Generator {
            rng,
            services,
            cumulative,
            minute_cdf,
            produced: 0,
            last_ts: config.start,
            config,
        }
    }

    fn timestamp(&mut self) -> i64 {
        // Row i sits at quantile (i + u) / rows of the diurnal distribution; quantiles increase with i, so
        // timestamps are non-decreasing.
        let q = (self.produced as f64 + self.rng.unit()) / self.config.rows as f64;
        let total = *self.minute_cdf.last().expect("at least one minute");
        let target = q * total;
        let m = self
            .minute_cdf
            .partition_point(|&c| c < target)
            .min(self.minute_cdf.len() - 1);
        let before = if m == 0 { 0.0 } else { self.minute_cdf[m - 1] };
        let frac = ((target - before) / (self.minute_cdf[m] - before)).clamp(0.0, 0.999_999);
        let minute_ns = (self.config.span / self.minute_cdf.len() as i64).max(1);
        let ts = self.config.start + m as i64 * minute_ns + (frac * minute_ns as f64) as i64;
        // Truncate to microseconds like most SDKs, and never go backwards.
        let ts = (ts / 1000 * 1000).max(self.last_ts);
        self.last_ts = ts;
        ts
    }

    fn next_log(&mut self) -> DecodedLog {
        let ts = self.timestamp();
        let x = self.rng.unit() * self.cumulative[SERVICE_COUNT - 1];
        let si = self
            .cumulative
            .partition_point(|&c| c < x)
            .min(SERVICE_COUNT - 1);
        // One incident every 6 hours, 20 minutes long, on a service chosen by the window.
        let window = ts.div_euclid(6 * 3_600_000_000_000);
        let in_window = ts.rem_euclid(6 * 3_600_000_000_000) < 20 * 60_000_000_000;
        let incident_service =
            (window.unsigned_abs().wrapping_mul(2_654_435_761) ^ self.config.seed) as usize % 12;
        let incident = in_window && si == incident_service;
        let rng = &mut self.rng;
        let svc = &self.services[si].0;
        let error_rate = if incident { 0.4 } else { svc.error_rate };
        let u = rng.unit();
        let severity = if u < error_rate * 0.9 {
            Severity::Error
        } else if u < error_rate {
            Severity::Fatal
        } else if u < error_rate + 0.08 {
            Severity::Warn
        } else if u < error_rate + 0.20 {
            Severity::Debug
        } else if u < error_rate + 0.22 {
            Severity::Trace
        } else {
            Severity::Info
        };
        let method = {
            let mut r = rng.below(100) as u32;
            METHODS
                .iter()
                .find(|(_, w)| {
                    if r < *w {
                        true
                    } else {
                        r -= w;
                        false
                    }
                })
                .map_or("GET", |(m, _)| m)
        };
        let status: u32 = match severity {
            Severity::Error | Severity::Fatal => *rng.pick(&[500, 502, 503, 504, 500]),
            Severity::Warn => *rng.pick(&[400, 401, 403, 404, 429, 404]),
            _ => *rng.pick(&[200, 200, 200, 200, 201, 204, 301, 200]),
        };
        let route = rng.pick(&svc.routes).clone();
        let pod = rng.pick(&svc.pods).clone();
        let region = *rng.pick(REGIONS);
        let user = format!("user_{}", rng.below(50_000));
        let request_id = format!("{:016x}", rng.next());
        let duration = ((rng.unit() * 6.0).exp() * 2.0 * if incident { 5.0 } else { 1.0 }) as u64;
        let id = rng.below(1_000_000);
        let mut body = String::with_capacity(96);
        match severity {
            Severity::Error | Severity::Fatal => match rng.below(4) {
                0 => write!(body, "{method} {route} failed with {status} after {duration}ms: upstream timeout"),
                1 => write!(body, "connection to {}:{} refused (attempt {})", rng.pick(HOSTS), 5432 + rng.below(4), 1 + rng.below(5)),
                2 => write!(body, "unhandled exception processing order {id}: NullPointerException at Handler.java:{}", 40 + rng.below(400)),
                _ => write!(body, "payment {id} declined: card_declined (user {user})"),
            },
            Severity::Warn => match rng.below(3) {
                0 => write!(body, "{method} {route} returned {status} in {duration}ms"),
                1 => write!(body, "slow query took {duration}ms: SELECT * FROM orders WHERE user_id = $1"),
                _ => write!(body, "retrying request {request_id} to {} (attempt {})", rng.pick(HOSTS), 1 + rng.below(3)),
            },
            Severity::Debug | Severity::Trace => match rng.below(2) {
                0 => write!(body, "cache {} for key user:{id}", if rng.below(3) == 0 { "miss" } else { "hit" }),
                _ => write!(body, "span {request_id} enter handler {route}"),
            },
            _ => match rng.below(3) {
                0 => write!(body, "{method} {route} {status} {duration}ms"),
                1 => write!(body, "user {user} signed in from {region}"),
                _ => write!(body, "processed batch of {} events in {duration}ms", 1 + rng.below(500)),
            },
        }
        .expect("writing to a String cannot fail");
        let has_trace = rng.below(10) != 0;
        let trace_id = if has_trace {
            (u128::from(rng.next()) << 64 | u128::from(rng.next())).to_be_bytes()
        } else {
            [0; 16]
        };
        let span_id = if has_trace {
            rng.next().to_be_bytes()
        } else {
            [0; 8]
        };
        let (severity_text, severity_number) = normalize_severity(severity.as_str(), 0, &body);
        let mut attributes = AttributesBuilder::with_capacity(7, 128);
        for (k, v) in [
            ("duration_ms", duration.to_string().as_str()),
            ("http.method", method),
            ("http.route", &route),
            ("http.status_code", status.to_string().as_str()),
            ("region", region),
            ("request_id", &request_id),
            ("user_id", &user),
        ] {
            attributes.push(k, v);
        }
        let attributes = attributes.finish().expect("small");
        let resource_attributes: Attributes = [
            ("deployment.environment", "production"),
            ("host.name", &pod),
            ("k8s.namespace.name", svc.namespace),
            ("service.name", &svc.name),
        ]
        .into_iter()
        .collect();
        let mut log = DecodedLog {
            timestamp: Some(ts),
            observed_timestamp: None,
            trace_id,
            span_id,
            trace_flags: u32::from(has_trace),
            severity_text,
            severity_number,
            service_name: svc.name.clone(),
            body,
            attributes,
            resource_attributes,
            instrumentation_scope: String::new(),
            event_name: String::new(),
            bytes_uncompressed: 0,
        };
        log.bytes_uncompressed = log.compute_bytes_uncompressed();
        log
    }
}

impl Iterator for Generator {
    type Item = DecodedLog;

    fn next(&mut self) -> Option<DecodedLog> {
        if self.produced >= self.config.rows {
            return None;
        }
        let log = self.next_log();
        self.produced += 1;
        Some(log)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.config.rows - self.produced) as usize;
        (left, Some(left))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn rfc3339(ns: i64) -> String {
    quarry_core::ingest::format_rfc3339_nanos(ns)
}

fn attrs_json(attrs: &Attributes) -> serde_json::Value {
    serde_json::Value::Object(
        attrs
            .iter()
            .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
            .collect(),
    )
}

/// Writes logs as flat JSON Lines (the shape `quarry ingest --format jsonl` reads). Returns rows written.
pub fn write_jsonl(
    logs: impl Iterator<Item = DecodedLog>,
    out: &mut impl Write,
) -> io::Result<u64> {
    let mut n = 0;
    let mut line = Vec::with_capacity(1024);
    for log in logs {
        line.clear();
        let mut obj = serde_json::Map::new();
        if let Some(ts) = log.timestamp {
            obj.insert("timestamp".into(), rfc3339(ts).into());
        }
        obj.insert("severity_text".into(), log.severity_text.as_str().into());
        obj.insert("severity_number".into(), log.severity_number.into());
        obj.insert("service_name".into(), log.service_name.clone().into());
        obj.insert("body".into(), log.body.clone().into());
        if log.trace_id != [0; 16] {
            obj.insert("trace_id".into(), hex(&log.trace_id).into());
            obj.insert("span_id".into(), hex(&log.span_id).into());
            obj.insert("trace_flags".into(), log.trace_flags.into());
        }
        obj.insert("attributes".into(), attrs_json(&log.attributes));
        obj.insert(
            "resource_attributes".into(),
            attrs_json(&log.resource_attributes),
        );
        serde_json::to_writer(&mut line, &serde_json::Value::Object(obj))?;
        line.push(b'\n');
        out.write_all(&line)?;
        n += 1;
    }
    Ok(n)
}

/// Writes logs as OTLP/JSON, one `ExportLogsServiceRequest` per line with up to `per_request` records grouped by
/// resource. Returns rows written.
pub fn write_otlp_json(
    logs: impl Iterator<Item = DecodedLog>,
    per_request: usize,
    out: &mut impl Write,
) -> io::Result<u64> {
    use serde_json::{Value, json};
    let kv = |attrs: &Attributes| -> Value {
        Value::Array(
            attrs
                .iter()
                .map(|(k, v)| json!({"key": k, "value": {"stringValue": v}}))
                .collect(),
        )
    };
    let mut n = 0;
    let mut chunk: Vec<DecodedLog> = Vec::with_capacity(per_request);
    let flush = |chunk: &mut Vec<DecodedLog>, out: &mut dyn Write| -> io::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        // Group by resource, keeping first-seen order.
        let mut groups: Vec<(quarry_core::Attributes, Vec<Value>)> = Vec::new();
        for log in chunk.drain(..) {
            let rec = json!({
                "timeUnixNano": log.timestamp.unwrap_or(0).to_string(),
                "severityNumber": log.severity_number,
                "severityText": log.severity_text.as_str(),
                "body": {"stringValue": log.body},
                "attributes": kv(&log.attributes),
                "traceId": if log.trace_id == [0; 16] { String::new() } else { hex(&log.trace_id) },
                "spanId": if log.trace_id == [0; 16] { String::new() } else { hex(&log.span_id) },
                "flags": log.trace_flags,
            });
            match groups
                .iter_mut()
                .find(|(r, _)| *r == log.resource_attributes)
            {
                Some((_, recs)) => recs.push(rec),
                None => groups.push((log.resource_attributes, vec![rec])),
            }
        }
        let request = json!({
            "resourceLogs": groups.into_iter().map(|(res, recs)| json!({
                "resource": {"attributes": kv(&res)},
                "scopeLogs": [{"scope": {"name": "quarry-testkit", "version": "1"}, "logRecords": recs}],
            })).collect::<Vec<_>>()
        });
        serde_json::to_writer(&mut *out, &request)?;
        out.write_all(b"\n")
    };
    for log in logs {
        chunk.push(log);
        n += 1;
        if chunk.len() >= per_request.max(1) {
            flush(&mut chunk, out)?;
        }
    }
    flush(&mut chunk, out)?;
    Ok(n)
}
