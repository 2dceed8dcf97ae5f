//! Criterion benches of the read endpoints over generated data: the log-UI mix of the side-by-side benchmark
//! (list newest 100 unfiltered / by severity / by service / by attribute / by search term, next page, count,
//! count-ranges, sparkline by severity and by service, services, values, attributes, has_logs), each with
//! indexes and rollups on and, for comparison, off.
//!
//! The data set (`QUARRY_BENCH_ROWS` rows, default 1,000,000, seed 42, 24 hours from 2026-11-01T00:00Z) is built
//! once into `target/quarry-bench-data/rows-<N>` and reused by later runs; delete that directory to rebuild.
//!
//! `cargo bench -p quarry-benches --bench endpoints` (1M rows), `QUARRY_BENCH_ROWS=10000000 QUARRY_BENCH_SCAN=0
//! cargo bench -p quarry-benches --bench endpoints` (10M rows, indexed only).

use criterion::{Criterion, criterion_group, criterion_main};
use quarry::{PlanOptions, RequestContext, TeamId};
use quarry_benches::{NOW, engine, rows};
use serde_json::{Value, json};

fn q(v: Value) -> Value {
    json!({ "query": v })
}

fn endpoints(c: &mut Criterion) {
    let ctx = RequestContext {
        team: TeamId(1),
        now: NOW,
    };
    let cursor = engine(PlanOptions::default())
        .query(
            &ctx,
            &q(json!({"dateRange": {"date_from": "-24h"}, "limit": 100})),
        )
        .unwrap()
        .next_cursor
        .unwrap();
    let day = json!({"date_from": "-24h"});
    let posts: Vec<(&str, &str, Value)> = vec![
        (
            "query",
            "newest_100",
            q(json!({"dateRange": day, "limit": 100})),
        ),
        (
            "query",
            "newest_100_errors",
            q(json!({"dateRange": day, "limit": 100, "severityLevels": ["error"]})),
        ),
        (
            "query",
            "newest_100_service",
            q(json!({"dateRange": day, "limit": 100, "serviceNames": ["checkout-api"]})),
        ),
        (
            "query",
            "newest_100_attribute",
            q(
                json!({"dateRange": day, "limit": 100, "filterGroup": [{"key": "http.status_code", "type": "log_attribute", "operator": "exact", "value": "503"}]}),
            ),
        ),
        (
            "query",
            "newest_100_search",
            q(json!({"dateRange": day, "limit": 100, "searchTerm": "timeout"})),
        ),
        (
            "query",
            "next_page",
            q(json!({"dateRange": day, "limit": 100, "after": cursor})),
        ),
        ("count", "count_24h", q(json!({"dateRange": day}))),
        (
            "count",
            "count_24h_errors",
            q(json!({"dateRange": day, "severityLevels": ["error", "fatal"]})),
        ),
        (
            "count",
            "alert_5m_window",
            q(json!({"dateRange": {"date_from": "-5M"}, "severityLevels": ["error"]})),
        ),
        (
            "count_ranges",
            "count_ranges_24h",
            q(json!({"dateRange": day})),
        ),
        (
            "count_ranges",
            "count_ranges_1h_search",
            q(json!({"dateRange": {"date_from": "-1h"}, "searchTerm": "timeout"})),
        ),
        (
            "sparkline",
            "sparkline_severity_1h",
            q(json!({"dateRange": {"date_from": "-1h"}})),
        ),
        (
            "sparkline",
            "sparkline_severity_24h",
            q(json!({"dateRange": day})),
        ),
        (
            "sparkline",
            "sparkline_service_7d",
            q(json!({"dateRange": {"date_from": "-7d"}, "sparklineBreakdownBy": "service"})),
        ),
        ("services", "services_24h", q(json!({"dateRange": day}))),
    ];
    type Get<'a> = (&'a str, &'a str, Vec<(String, String)>);
    let gets: Vec<Get> = vec![
        (
            "values",
            "values_http_method",
            vec![
                ("key".into(), "http.method".into()),
                ("dateRange".into(), day.to_string()),
            ],
        ),
        (
            "attributes",
            "attributes_search_http",
            vec![
                ("search".into(), "http".into()),
                ("dateRange".into(), day.to_string()),
            ],
        ),
    ];
    // One engine at a time: a data directory admits one process (and one open engine).
    // `QUARRY_BENCH_SCAN=0` skips the plain-scan comparison (long at 10M rows).
    let with_scan = std::env::var("QUARRY_BENCH_SCAN").as_deref() != Ok("0");
    for (label, options) in [
        ("indexed", PlanOptions::default()),
        ("scan", PlanOptions::naive()),
    ] {
        if label == "scan" && !with_scan {
            continue;
        }
        let engine = &engine(options);
        let mut g = c.benchmark_group(format!("endpoints_{}_{label}", rows()));
        g.sample_size(10);
        for (endpoint, name, body) in &posts {
            g.bench_function(*name, |b| {
                b.iter(|| match *endpoint {
                    "query" => engine.query(&ctx, body).unwrap().results.len() as u64,
                    "count" => engine.count(&ctx, body).unwrap().count,
                    "sparkline" => engine.sparkline(&ctx, body).unwrap().points.len() as u64,
                    "services" => engine.services(&ctx, body).unwrap().services.len() as u64,
                    _ => engine.count_ranges(&ctx, body).unwrap().ranges.len() as u64,
                })
            });
        }
        for (endpoint, name, params) in &gets {
            g.bench_function(*name, |b| {
                b.iter(|| match *endpoint {
                    "values" => engine.values(&ctx, params).unwrap().results.len(),
                    _ => engine.attributes(&ctx, params).unwrap().results.len(),
                })
            });
        }
        g.bench_function("has_logs", |b| b.iter(|| engine.has_logs(&ctx).has_logs));
        // Export: the default cap of 10,000 rows, newest first, as CSV and as Parquet (into a sink: the cost is
        // the query walk and the encoding, not the disk).
        for (name, format) in [("export_10k_csv", "csv"), ("export_10k_parquet", "parquet")] {
            let body = json!({"query": {"dateRange": day}, "format": format});
            g.bench_function(name, |b| {
                b.iter(|| engine.export(&ctx, &body, std::io::sink()).unwrap().rows)
            });
        }
        g.finish();
    }
}

criterion_group!(benches, endpoints);
criterion_main!(benches);
