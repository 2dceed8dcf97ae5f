//! `kill -9` of an engine that ingests while its background thread flushes and the caller compacts and applies
//! retention; after each restart, every acknowledged batch is present exactly once and whole, and the endpoints
//! answer what the naive oracle computes over the recovered rows.
//!
//! The parent re-runs this test binary as a child (`crash_child_engine_entry`, with `QUARRY_ENGINE_CRASH_DIR`
//! set), which prints `ack <batch>` after each ingest returns; the parent kills it at a random instant.
//! `QUARRY_CRASH_TRIALS` sets the number of trials (default 10).

use std::sync::Arc;
use std::time::Duration;

use quarry::{Engine, ManualClock, RequestContext, TeamId};
use quarry_api::{Endpoint, parse_envelope};
use quarry_testkit::crash::{run_and_kill, whole_batches};
use quarry_testkit::{Generator, GeneratorConfig, oracle};
use serde_json::{Value, json};

use crate::NOW;

const TEAM: TeamId = TeamId(1);
const ROWS: usize = 100;

fn open(dir: &std::path::Path) -> Engine {
    Engine::builder(dir)
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .with_flush_rows(1_000)
        .with_row_group_rows(250)
        .open()
        .expect("opens")
}

/// Not a test of its own: the child process (does nothing unless `QUARRY_ENGINE_CRASH_DIR` is set).
#[test]
fn crash_child_engine_entry() {
    let Ok(dir) = std::env::var("QUARRY_ENGINE_CRASH_DIR") else {
        return;
    };
    let first: u64 = std::env::var("QUARRY_ENGINE_CRASH_FIRST")
        .unwrap()
        .parse()
        .unwrap();
    let engine = open(dir.as_ref());
    for b in first.. {
        let mut logs: Vec<_> = Generator::new(GeneratorConfig {
            rows: ROWS as u64,
            seed: b,
            ..GeneratorConfig::default()
        })
        .collect();
        for (i, l) in logs.iter_mut().enumerate() {
            l.attributes.insert("batch", &b.to_string());
            l.attributes.insert("row", &i.to_string());
            // Every fifth batch is 40 days old: retention drops it once it is flushed.
            if b % 5 == 4 {
                l.timestamp = l.timestamp.map(|t| t - 40 * 86_400_000_000_000);
            }
        }
        engine.ingest(TEAM, logs).expect("ingest");
        println!("ack {b}");
        if b % 7 == 6 {
            engine.compact().expect("compact");
        }
        if b % 11 == 10 {
            engine.retention().expect("retention");
        }
    }
}

fn requests() -> Vec<(Endpoint, Value)> {
    let day = json!({"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-02T00:00:00Z"});
    let part = json!({"date_from": "2026-11-01T05:17:00Z", "date_to": "2026-11-01T19:02:30Z"});
    vec![
        (Endpoint::Count, json!({"query": {"dateRange": day}})),
        (
            Endpoint::Count,
            json!({"query": {"dateRange": part, "severityLevels": ["error", "warn"]}}),
        ),
        (
            Endpoint::CountRanges,
            json!({"query": {"dateRange": day, "targetBuckets": 24}}),
        ),
        (
            Endpoint::Sparkline,
            json!({"query": {"dateRange": part, "sparklineBreakdownBy": "service"}}),
        ),
        (
            Endpoint::Query,
            json!({"query": {"dateRange": day, "limit": 40}}),
        ),
    ]
}

fn check_against_oracle(engine: &Engine, rows: &[quarry_core::LogRecord], trial: usize) {
    let ctx = RequestContext {
        team: TEAM,
        now: NOW,
    };
    for (endpoint, body) in requests() {
        let q = parse_envelope(&body, endpoint).unwrap();
        let msg = format!("trial {trial}: {body}");
        match endpoint {
            Endpoint::Count => {
                assert_eq!(
                    engine.count(&ctx, &body).unwrap().count,
                    oracle::count(rows, &q, NOW),
                    "{msg}"
                );
            }
            Endpoint::CountRanges => {
                let got: Vec<u64> = engine
                    .count_ranges(&ctx, &body)
                    .unwrap()
                    .ranges
                    .iter()
                    .map(|r| r.count)
                    .collect();
                let want: Vec<u64> = oracle::count_ranges(rows, &q, NOW)
                    .0
                    .iter()
                    .map(|b| b.1)
                    .collect();
                assert_eq!(got, want, "{msg}");
            }
            Endpoint::Sparkline => {
                let got: Vec<u64> = engine
                    .sparkline(&ctx, &body)
                    .unwrap()
                    .points
                    .iter()
                    .map(|p| p["count"].as_u64().unwrap())
                    .collect();
                let want: Vec<u64> = oracle::sparkline(rows, &q, NOW)
                    .iter()
                    .map(|p| p.2)
                    .collect();
                assert_eq!(got, want, "{msg}");
            }
            _ => {
                let got: Vec<String> = engine
                    .query(&ctx, &body)
                    .unwrap()
                    .results
                    .iter()
                    .map(|r| r["uuid"].as_str().unwrap().to_owned())
                    .collect();
                let want: Vec<String> = oracle::query(rows, &q, NOW)
                    .0
                    .iter()
                    .map(|r| r.uuid_string())
                    .collect();
                assert_eq!(got, want, "{msg}");
            }
        }
    }
}

#[test]
fn kill_9_of_a_busy_engine_loses_nothing_and_queries_agree_with_the_oracle() {
    let trials: usize = std::env::var("QUARRY_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: Vec<u64> = Vec::new();
    let mut next = 0u64;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for trial in 0..trials {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let seen = run_and_kill(
            &exe,
            "crash::crash_child_engine_entry",
            &[
                ("QUARRY_ENGINE_CRASH_DIR", dir.path().display().to_string()),
                ("QUARRY_ENGINE_CRASH_FIRST", next.to_string()),
            ],
            3,
            Duration::from_millis(rng % 400),
        );
        assert!(
            !seen.is_empty(),
            "trial {trial}: the child acknowledged nothing"
        );
        acked.extend(&seen);
        next = seen.iter().max().unwrap() + 2;

        let engine = open(dir.path());
        let rows = engine.snapshot().read_team(TEAM).unwrap();
        let present = whole_batches(&rows, "batch", "row", ROWS)
            .unwrap_or_else(|e| panic!("trial {trial}: {e}"));
        for b in &acked {
            // An old batch may have been dropped by retention; any other acknowledged batch must be there.
            assert!(
                present.contains(b) || b % 5 == 4,
                "trial {trial}: acknowledged batch {b} lost"
            );
        }
        check_against_oracle(&engine, &rows, trial);
    }
}
