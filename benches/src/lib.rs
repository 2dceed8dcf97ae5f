//! Shared pieces of quarry's benchmarks (`benches/benches/*.rs`): the cached generated data set.
//!
//! The data set (`QUARRY_BENCH_ROWS` rows, default 1,000,000, seed 42, 24 hours from 2026-11-01T00:00Z, team 1)
//! is built once into `target/quarry-bench-data/rows-<N>` and reused by later runs; delete that directory to
//! rebuild it.

use std::path::PathBuf;

use quarry::{Engine, PlanOptions, TeamId};
use quarry_testkit::{Generator, GeneratorConfig};

/// 2026-11-02T00:00:00Z: the end of the generated day.
pub const NOW: i64 = 1_793_577_600 * 1_000_000_000;

/// `QUARRY_BENCH_ROWS`, default 1,000,000.
pub fn rows() -> u64 {
    std::env::var("QUARRY_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

/// Where the data set of `rows` rows is cached.
pub fn data_dir(rows: u64) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target
        .join("quarry-bench-data")
        .join(format!("rows-{rows}"))
}

/// Opens the cached data set of [`rows`] rows with `options` (background flush off), building it first if
/// needed.
pub fn engine(options: PlanOptions) -> Engine {
    let rows = rows();
    let dir = data_dir(rows);
    let done = dir.join("BUILT");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let engine = Engine::builder(&dir)
            .with_background_flush(false)
            .with_id_seed(1)
            .open()
            .expect("opens the bench data directory");
        let mut generator = Generator::new(GeneratorConfig {
            rows,
            ..Default::default()
        });
        let mut ingested = 0u64;
        loop {
            let batch: Vec<_> = generator.by_ref().take(100_000).collect();
            if batch.is_empty() {
                break;
            }
            ingested += batch.len() as u64;
            engine.ingest(TeamId(1), batch).expect("ingest");
            // Flush every million rows, as the default flush_rows would with the background thread on.
            if ingested.is_multiple_of(1_000_000) {
                engine.flush().expect("flush");
            }
        }
        engine.flush().expect("flush");
        drop(engine);
        std::fs::write(&done, b"").expect("marks the data set built");
    }
    Engine::builder(&dir)
        .with_background_flush(false)
        .with_plan_options(options)
        .open()
        .expect("opens the bench data directory")
}
