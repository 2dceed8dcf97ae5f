//! Ingest, queries, flushes, compaction and retention at once, for a bounded time: nothing fails, every request
//! sees a consistent snapshot (a count over a fixed range never goes backwards while rows only arrive), and at the
//! end every acknowledged row in range is counted exactly once while every expired row is gone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quarry::{Engine, ManualClock, RequestContext, TeamId};
use quarry_testkit::{Generator, GeneratorConfig};
use serde_json::json;

use crate::NOW;

const TEAM: TeamId = TeamId(1);
const RUN: Duration = Duration::from_secs(4);

#[test]
fn ingest_queries_compaction_and_retention_together_stay_consistent() {
    let dir = tempfile::tempdir().unwrap();
    // Background flushes every 2,000 rows, small row groups: many files for compaction to merge.
    let engine = Engine::builder(dir.path())
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .with_flush_rows(2_000)
        .with_row_group_rows(500)
        .with_retention_days(30)
        .open()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let in_range = Arc::new(AtomicU64::new(0));
    let expired_batches = Arc::new(AtomicU64::new(0));
    let range = json!({"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-02T00:00:00Z"});
    let ctx = RequestContext {
        team: TEAM,
        now: NOW,
    };
    std::thread::scope(|s| {
        // Two ingesters: generated rows of the day in range, and every tenth batch 40 days old (for retention).
        for seed in 0..2u64 {
            let (engine, stop, in_range, expired_batches) = (
                engine.clone(),
                Arc::clone(&stop),
                Arc::clone(&in_range),
                Arc::clone(&expired_batches),
            );
            s.spawn(move || {
                let mut generator = Generator::new(GeneratorConfig {
                    rows: 5_000_000,
                    seed,
                    ..GeneratorConfig::default()
                });
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let mut batch: Vec<_> = generator.by_ref().take(500).collect();
                    if batch.len() < 500 {
                        break;
                    }
                    let expired = n % 10 == 9;
                    if expired {
                        for l in &mut batch {
                            l.timestamp = l.timestamp.map(|t| t - 40 * 86_400_000_000_000);
                        }
                    }
                    engine.ingest(TEAM, batch).expect("ingest never fails");
                    if expired {
                        expired_batches.fetch_add(1, Ordering::SeqCst);
                    } else {
                        in_range.fetch_add(500, Ordering::SeqCst);
                    }
                    n += 1;
                }
            });
        }
        // Maintenance: compaction and retention in a loop.
        {
            let (engine, stop) = (engine.clone(), Arc::clone(&stop));
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    engine.compact().expect("compaction never fails");
                    engine.retention().expect("retention never fails");
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
        }
        // Readers: counts over the fixed range never go backwards; a count never exceeds what was acknowledged
        // after it was asked, plus the two batches that may be visible but not yet returned to their ingester;
        // the other endpoints answer.
        for reader in 0..2 {
            let (engine, stop, in_range, range) = (
                engine.clone(),
                Arc::clone(&stop),
                Arc::clone(&in_range),
                range.clone(),
            );
            s.spawn(move || {
                let mut last = 0u64;
                let mut requests = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let body = json!({"query": {"dateRange": range}});
                    let n = engine.count(&ctx, &body).expect("count").count;
                    let acknowledged_after = in_range.load(Ordering::SeqCst);
                    assert!(
                        n >= last,
                        "reader {reader}: count went back from {last} to {n}"
                    );
                    assert!(
                        n <= acknowledged_after + 1_000,
                        "reader {reader}: {n} rows counted, {acknowledged_after} acknowledged"
                    );
                    last = n;
                    let ranges = engine.count_ranges(&ctx, &body).expect("count-ranges");
                    let total: u64 = ranges.ranges.iter().map(|r| r.count).sum();
                    assert!(
                        total >= n,
                        "reader {reader}: count-ranges {total} behind an earlier count {n}"
                    );
                    if reader == 1 {
                        engine.services(&ctx, &body).expect("services");
                        let q = json!({"query": {"dateRange": range, "limit": 20}});
                        let page = engine.query(&ctx, &q).expect("query");
                        assert!(page.results.len() == 20 || n < 20);
                    }
                    requests += 1;
                }
                assert!(requests > 5, "reader {reader} ran only {requests} requests");
            });
        }
        let started = Instant::now();
        while started.elapsed() < RUN {
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::Relaxed);
    });
    engine.flush().unwrap();
    engine.retention().unwrap();
    let total = in_range.load(Ordering::SeqCst);
    assert!(total >= 5_000, "only {total} rows ingested");
    let body = json!({"query": {"dateRange": range}});
    assert_eq!(engine.count(&ctx, &body).unwrap().count, total);
    let old = json!({"query": {"dateRange": {"date_from": "2026-09-01T00:00:00Z", "date_to": "2026-10-01T00:00:00Z"}}});
    assert!(
        expired_batches.load(Ordering::SeqCst) > 0,
        "expired rows were stored, so that their absence means retention dropped them"
    );
    assert_eq!(
        engine.count(&ctx, &old).unwrap().count,
        0,
        "expired rows are gone"
    );
    assert!(engine.stats().unwrap().storage.flushes > 1);
}
