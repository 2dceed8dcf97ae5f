//! Counters and latency histograms, rendered in Prometheus' text format (version 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use quarry::EngineStats;

/// Upper bounds (seconds) of the latency histogram buckets.
const BOUNDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Observations at or below each bound (not cumulative; summed when rendered).
    buckets: [u64; BOUNDS.len()],
    count: u64,
    sum: f64,
}

/// The server's metrics.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    rows_ingested: AtomicU64,
    rows_rejected: AtomicU64,
    /// Per (endpoint, status): requests; per endpoint: latency.
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
}

/// The endpoint label of a path: the logs action, `otlp`, `health`, `metrics`, or `other`.
pub(crate) fn endpoint_of(path: &str) -> &'static str {
    const LOGS: [&str; 9] = [
        "query",
        "count",
        "count-ranges",
        "sparkline",
        "services",
        "export",
        "values",
        "attributes",
        "has_logs",
    ];
    match path {
        "/v1/logs" | "/i/v1/logs" => "otlp",
        "/_health" => "health",
        "/metrics" => "metrics",
        _ => {
            let mut parts = path.trim_end_matches('/').rsplit('/');
            let action = parts.next().unwrap_or("");
            if parts.next() == Some("logs") {
                LOGS.into_iter().find(|a| *a == action).unwrap_or("other")
            } else {
                "other"
            }
        }
    }
}

impl Metrics {
    pub(crate) fn ingested(&self, accepted: u64, rejected: u64) {
        self.rows_ingested.fetch_add(accepted, Ordering::Relaxed);
        self.rows_rejected.fetch_add(rejected, Ordering::Relaxed);
    }

    pub(crate) fn observe(&self, endpoint: &'static str, status: u16, elapsed: Duration) {
        *lock(&self.requests).entry((endpoint, status)).or_default() += 1;
        let secs = elapsed.as_secs_f64();
        let mut latency = lock(&self.latency);
        let h = latency.entry(endpoint).or_default();
        if let Some(i) = BOUNDS.iter().position(|b| secs <= *b) {
            h.buckets[i] += 1;
        }
        h.count += 1;
        h.sum += secs;
    }

    /// The text exposition; `stats` adds the storage gauges when the engine could report them.
    pub(crate) fn render(&self, stats: Option<&EngineStats>) -> String {
        let mut out = String::new();
        let mut metric =
            |name: &str, kind: &str, help: &str, lines: &mut dyn Iterator<Item = String>| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
                for line in lines {
                    let _ = writeln!(out, "{line}");
                }
            };
        let ingested = self.rows_ingested.load(Ordering::Relaxed);
        let rejected = self.rows_rejected.load(Ordering::Relaxed);
        metric(
            "quarry_rows_ingested_total",
            "counter",
            "Log records stored through OTLP/HTTP (durable when counted).",
            &mut std::iter::once(format!("quarry_rows_ingested_total {ingested}")),
        );
        metric(
            "quarry_rows_rejected_total",
            "counter",
            "Log records rejected by OTLP/HTTP ingest (reported in partial_success).",
            &mut std::iter::once(format!("quarry_rows_rejected_total {rejected}")),
        );
        let requests = lock(&self.requests).clone();
        metric(
            "quarry_http_requests_total",
            "counter",
            "HTTP requests by endpoint and status.",
            &mut requests.iter().map(|((e, s), n)| {
                format!("quarry_http_requests_total{{endpoint=\"{e}\",status=\"{s}\"}} {n}")
            }),
        );
        let latency = lock(&self.latency).clone();
        let mut lines = Vec::new();
        for (e, h) in &latency {
            let mut cumulative = 0;
            for (b, n) in BOUNDS.iter().zip(h.buckets) {
                cumulative += n;
                lines.push(format!(
                    "quarry_http_request_duration_seconds_bucket{{endpoint=\"{e}\",le=\"{b}\"}} {cumulative}"
                ));
            }
            lines.push(format!(
                "quarry_http_request_duration_seconds_bucket{{endpoint=\"{e}\",le=\"+Inf\"}} {}",
                h.count
            ));
            lines.push(format!(
                "quarry_http_request_duration_seconds_sum{{endpoint=\"{e}\"}} {}",
                h.sum
            ));
            lines.push(format!(
                "quarry_http_request_duration_seconds_count{{endpoint=\"{e}\"}} {}",
                h.count
            ));
        }
        metric(
            "quarry_http_request_duration_seconds",
            "histogram",
            "HTTP request latency by endpoint.",
            &mut lines.into_iter(),
        );
        if let Some(s) = stats {
            let s = &s.storage;
            let gauges: [(&str, &str, u64); 7] = [
                (
                    "quarry_flushes_total",
                    "Memtable flushes to Parquet since the engine opened.",
                    s.flushes,
                ),
                (
                    "quarry_files",
                    "Parquet files in the catalog.",
                    s.files as u64,
                ),
                ("quarry_file_rows", "Rows in Parquet files.", s.file_rows),
                (
                    "quarry_memtable_rows",
                    "Rows acknowledged but not yet flushed.",
                    s.memtable_rows,
                ),
                (
                    "quarry_parquet_bytes",
                    "Bytes of Parquet files.",
                    s.parquet_bytes,
                ),
                (
                    "quarry_index_bytes",
                    "Bytes of index sidecars.",
                    s.index_bytes,
                ),
                (
                    "quarry_wal_bytes",
                    "Bytes of write-ahead log segments.",
                    s.wal_bytes,
                ),
            ];
            for (name, help, value) in gauges {
                let kind = if name.ends_with("_total") {
                    "counter"
                } else {
                    "gauge"
                };
                metric(
                    name,
                    kind,
                    help,
                    &mut std::iter::once(format!("{name} {value}")),
                );
            }
        }
        out
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_labelled_by_action() {
        assert_eq!(
            endpoint_of("/api/projects/1/logs/count-ranges/"),
            "count-ranges"
        );
        assert_eq!(endpoint_of("/api/environments/1/logs/has_logs"), "has_logs");
        assert_eq!(endpoint_of("/api/projects/1/logs/nope/"), "other");
        assert_eq!(endpoint_of("/i/v1/logs"), "otlp");
        assert_eq!(endpoint_of("/"), "other");
    }

    #[test]
    fn histograms_are_cumulative() {
        let m = Metrics::default();
        m.observe("count", 200, Duration::from_micros(700));
        m.observe("count", 200, Duration::from_millis(30));
        m.observe("count", 400, Duration::from_secs(20));
        let text = m.render(None);
        for line in [
            "quarry_http_requests_total{endpoint=\"count\",status=\"200\"} 2",
            "quarry_http_requests_total{endpoint=\"count\",status=\"400\"} 1",
            "quarry_http_request_duration_seconds_bucket{endpoint=\"count\",le=\"0.0005\"} 0",
            "quarry_http_request_duration_seconds_bucket{endpoint=\"count\",le=\"0.001\"} 1",
            "quarry_http_request_duration_seconds_bucket{endpoint=\"count\",le=\"0.05\"} 2",
            "quarry_http_request_duration_seconds_bucket{endpoint=\"count\",le=\"10\"} 2",
            "quarry_http_request_duration_seconds_bucket{endpoint=\"count\",le=\"+Inf\"} 3",
            "quarry_http_request_duration_seconds_count{endpoint=\"count\"} 3",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
