//! Integration tests of the facade: what an embedding service relies on.

mod cases;
mod concurrency;
mod crash;
mod faults;
mod read;

use std::sync::Arc;
use std::time::{Duration, Instant};

use quarry::{Engine, Format, IngestOptions, ManualClock, TeamId};

/// 2026-11-02T00:00:00Z.
const NOW: i64 = 1_793_577_600 * 1_000_000_000;
const TEAM: TeamId = TeamId(1);

fn line(ts: &str, service: &str, body: &str) -> String {
    format!(
        r#"{{"timestamp":"{ts}","service_name":"{service}","severity_text":"info","body":"{body}"}}"#
    )
}

/// Ingests `n` rows of service `api` at one instant, bodies `m0`, `m1`, ….
fn ingest_numbered(engine: &Engine, n: usize) {
    let lines: Vec<String> = (0..n)
        .map(|i| line("2026-11-01T10:00:00Z", "api", &format!("m{i}")))
        .collect();
    engine
        .ingest_bytes(TEAM, Format::JsonLines, lines.join("\n").as_bytes())
        .unwrap();
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn engine_is_send_sync_clone_and_static() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Engine>();
}

#[test]
fn ingest_reports_rejections_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let input = [
        line("2026-11-01T10:00:00Z", "api", "one"),
        r#"{"timestamp":"not a time","body":"bad"}"#.to_owned(),
        line("2026-11-01T10:00:01Z", "api", "two"),
        r#"{"service_name":5}"#.to_owned(),
    ]
    .join("\n");
    {
        let engine = Engine::builder(dir.path())
            .with_clock(Arc::clone(&clock) as Arc<dyn quarry::Clock>)
            .with_background_flush(false)
            .open()
            .unwrap();
        let report = engine
            .ingest_bytes(TEAM, Format::Auto, input.as_bytes())
            .unwrap();
        assert_eq!((report.accepted, report.rejected), (2, 2));
        assert_eq!(report.errors[0].index, 1);
        assert_eq!(report.errors[0].field, "timestamp");
        assert_eq!(report.errors[1].index, 3);
        assert_eq!(report.errors[1].field, "service_name");
        // Visible at once, before any flush.
        assert_eq!(engine.snapshot().row_count(TEAM), 2);
    }
    let engine = Engine::builder(dir.path())
        .with_clock(clock)
        .with_background_flush(false)
        .open()
        .unwrap();
    let rows = engine.snapshot().read_team(TEAM).unwrap();
    let mut bodies: Vec<_> = rows.iter().map(|r| r.body.as_str()).collect();
    bodies.sort_unstable();
    assert_eq!(bodies, ["one", "two"]);
    assert!(rows.iter().all(|r| r.observed_timestamp == NOW));
    assert_eq!(engine.stats().unwrap().storage.recovery.rows_replayed, 2);
}

#[test]
fn background_flush_by_rows() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::builder(dir.path())
        .with_flush_rows(100)
        .open()
        .unwrap();
    ingest_numbered(&engine, 150);
    wait_for("a background flush", || {
        engine.stats().unwrap().storage.file_rows == 150
    });
    assert_eq!(engine.stats().unwrap().storage.memtable_rows, 0);
}

#[test]
fn background_flush_by_age_follows_the_engine_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let engine = Engine::builder(dir.path())
        .with_clock(Arc::clone(&clock) as Arc<dyn quarry::Clock>)
        .with_flush_age(Duration::from_secs(60))
        .open()
        .unwrap();
    engine
        .ingest_bytes(
            TEAM,
            Format::JsonLines,
            line("2026-11-01T10:00:00Z", "api", "x").as_bytes(),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        engine.stats().unwrap().storage.file_rows,
        0,
        "not due yet by the engine's clock"
    );
    clock.advance(61 * 1_000_000_000);
    wait_for("an age flush", || {
        engine.stats().unwrap().storage.file_rows == 1
    });
}

/// A clock that panics once in the flush thread when armed: a stand-in for a bug on the background flush path.
#[derive(Debug)]
struct PanickingClock {
    armed: std::sync::atomic::AtomicBool,
}

impl quarry::Clock for PanickingClock {
    fn now_nanos(&self) -> i64 {
        let in_flush_thread = std::thread::current().name() == Some("quarry-flush");
        if in_flush_thread && self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            panic!("injected clock failure");
        }
        NOW
    }
}

/// A panic on the background flush path is reported as the flush's error and does not end the flush thread: the
/// next tick flushes, and the error clears.
#[test]
fn a_panic_in_the_background_flush_is_reported_and_flushing_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(PanickingClock {
        armed: std::sync::atomic::AtomicBool::new(true),
    });
    let engine = Engine::builder(dir.path())
        .with_clock(Arc::clone(&clock) as Arc<dyn quarry::Clock>)
        .with_flush_rows(10)
        .open()
        .unwrap();
    wait_for("the injected panic", || {
        !clock.armed.load(std::sync::atomic::Ordering::SeqCst)
    });
    wait_for("the panic to be reported", || {
        engine.stats().unwrap().storage.last_error.is_some()
    });
    let error = engine.stats().unwrap().storage.last_error.unwrap();
    assert!(
        error.contains("background flush panicked") && error.contains("injected clock failure"),
        "{error}"
    );
    ingest_numbered(&engine, 20);
    wait_for("a flush after the panic", || {
        engine.stats().unwrap().storage.file_rows == 20
    });
    assert_eq!(engine.stats().unwrap().storage.last_error, None);
}

#[test]
fn async_ingest_resolves_once_durable() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::builder(dir.path())
        .with_background_flush(false)
        .open()
        .unwrap();
    let logs = quarry::decode(
        Format::JsonLines,
        line("2026-11-01T10:00:00Z", "api", "async").as_bytes(),
    )
    .unwrap()
    .logs;
    let stored = block_on(engine.ingest_async(TEAM, logs)).unwrap();
    assert_eq!(stored, 1);
    assert_eq!(engine.snapshot().read_team(TEAM).unwrap()[0].body, "async");
}

#[test]
fn ids_are_reproducible_with_a_seed_and_clock() {
    let ids = |dir: &std::path::Path| {
        let engine = Engine::builder(dir)
            .with_clock(Arc::new(ManualClock::new(NOW)))
            .with_id_seed(99)
            .with_background_flush(false)
            .open()
            .unwrap();
        let input: Vec<String> = (0..5)
            .map(|i| line("2026-11-01T10:00:00Z", "api", &format!("{i}")))
            .collect();
        engine
            .ingest_bytes(TEAM, Format::JsonLines, input.join("\n").as_bytes())
            .unwrap();
        let mut rows = engine.snapshot().read_team(TEAM).unwrap();
        rows.sort_by(|a, b| a.body.cmp(&b.body));
        rows.into_iter()
            .map(|r| r.uuid_string())
            .collect::<Vec<_>>()
    };
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = ids(a.path());
    assert_eq!(first, ids(b.path()));
    assert!(
        first.windows(2).all(|w| w[0] < w[1]),
        "ids increase in ingest order"
    );
    assert!(
        first.iter().all(|id| id.as_bytes()[14] == b'7'),
        "UUIDv7: {first:?}"
    );
}

#[test]
fn far_timestamps_are_replaced_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::builder(dir.path())
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .with_ingest_options(IngestOptions::default().with_replace_far_timestamps(true))
        .with_background_flush(false)
        .open()
        .unwrap();
    engine
        .ingest_bytes(
            TEAM,
            Format::JsonLines,
            line("2020-01-01T00:00:00Z", "api", "old").as_bytes(),
        )
        .unwrap();
    let row = &engine.snapshot().read_team(TEAM).unwrap()[0];
    assert_eq!(row.timestamp, NOW);
    assert_eq!(
        row.attributes.get("$originalTimestamp"),
        Some("2020-01-01T00:00:00Z")
    );
}

#[test]
fn flush_compact_and_retention_through_the_facade() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let engine = Engine::builder(dir.path())
        .with_clock(Arc::clone(&clock) as Arc<dyn quarry::Clock>)
        .with_background_flush(false)
        .open()
        .unwrap();
    for hour in [
        "2026-11-01T10:00:00Z",
        "2026-11-01T10:30:00Z",
        "2026-11-01T23:00:00Z",
    ] {
        engine
            .ingest_bytes(TEAM, Format::JsonLines, line(hour, "api", hour).as_bytes())
            .unwrap();
        engine.flush().unwrap();
    }
    assert_eq!(engine.stats().unwrap().storage.files, 3);
    let report = engine.compact().unwrap();
    assert_eq!((report.files_removed, report.files_written), (2, 1));
    let stats = engine.stats().unwrap();
    assert_eq!((stats.storage.files, stats.storage.file_rows), (2, 3));
    assert!(stats.bytes_per_row() > 0.0 && stats.compression_ratio() > 0.0);
    // One day of retention, 13 hours after the end of 2026-11-01T10:00Z's hour + 1 day: that hour goes.
    engine.set_retention_days(TEAM, 1).unwrap();
    clock.set(NOW + 12 * 3_600_000_000_000);
    let dropped = engine.retention().unwrap();
    assert_eq!((dropped.partitions, dropped.rows), (1, 2));
    let left = engine.snapshot().read_team(TEAM).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].body, "2026-11-01T23:00:00Z");
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn dropping_clones_concurrently_stops_the_engine_and_releases_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..20 {
        let engine = Engine::open(dir.path()).unwrap();
        let clones: Vec<Engine> = (0..4).map(|_| engine.clone()).collect();
        let barrier = Arc::new(std::sync::Barrier::new(5));
        let handles: Vec<_> = clones
            .into_iter()
            .map(|e| {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    drop(e);
                })
            })
            .collect();
        barrier.wait();
        drop(engine);
        for h in handles {
            h.join().unwrap();
        }
        // The lock is free again: the last drop stopped the flush thread and closed storage.
        wait_for("the directory lock", || Engine::open(dir.path()).is_ok());
    }
}

#[test]
fn ingest_applies_back_pressure_when_flushing_falls_behind() {
    let dir = tempfile::tempdir().unwrap();
    // No background flush at all: only back-pressure keeps memory bounded.
    let engine = Engine::builder(dir.path())
        .with_flush_rows(10)
        .with_background_flush(false)
        .open()
        .unwrap();
    let batch: Vec<String> = (0..20)
        .map(|i| line("2026-11-01T10:00:00Z", "api", &format!("{i}")))
        .collect();
    for _ in 0..10 {
        engine
            .ingest_bytes(TEAM, Format::JsonLines, batch.join("\n").as_bytes())
            .unwrap();
        let s = engine.stats().unwrap().storage;
        assert!(
            s.memtable_rows <= quarry::MEMTABLE_LIMIT_FLUSHES as u64 * 10 + 20,
            "memtable grew to {} rows",
            s.memtable_rows
        );
    }
    let s = engine.stats().unwrap().storage;
    assert!(s.file_rows > 0);
    assert_eq!(s.file_rows + s.memtable_rows, 200);
}
