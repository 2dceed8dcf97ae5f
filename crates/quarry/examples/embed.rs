//! A service embedding quarry: several request threads ingest concurrently (sharing WAL syncs), an async task
//! ingests without blocking its executor, and a reader takes a snapshot.
//!
//! Run with `cargo run -p quarry --example embed`.

use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use quarry::{Engine, Format, TeamId};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("quarry-embed-example-{}", std::process::id()));
    let engine = Engine::builder(&dir).with_flush_rows(10_000).open()?;
    let team = TeamId(1);

    // Request handlers on many threads: each call returns once its batch is durable.
    std::thread::scope(|s| {
        for worker in 0..4 {
            let engine = engine.clone();
            s.spawn(move || {
                for i in 0..100 {
                    let line = format!(
                        r#"{{"timestamp":"2026-11-01T10:{:02}:{:02}Z","service_name":"checkout","severity_text":"{}","body":"order {i} from worker {worker}","attributes":{{"order_id":{i}}}}}"#,
                        i % 60,
                        worker * 10,
                        if i % 10 == 0 { "error" } else { "info" }
                    );
                    let report = engine.ingest_bytes(team, Format::JsonLines, line.as_bytes()).expect("ingest");
                    assert_eq!(report.accepted, 1);
                }
            });
        }
    });

    // From async code: the future resolves when the batch is durable; the executor thread never blocks on I/O.
    let logs = quarry_core_logs();
    let stored = block_on(engine.ingest_async(team, logs))?;
    println!("async ingest stored {stored} rows");

    engine.flush()?;
    let snapshot = engine.snapshot();
    println!(
        "{} rows in {} Parquet files under {}",
        snapshot.row_count(team),
        snapshot.files().len(),
        dir.display()
    );
    let stats = engine.stats()?;
    println!("{:.1} bytes per row on disk", stats.bytes_per_row());
    drop(snapshot);
    drop(engine);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn quarry_core_logs() -> Vec<quarry::DecodedLog> {
    let body = br#"{"timestamp":1793527200000000000,"service_name":"billing","body":{"msg":"invoice sent","level":"warn"}}"#;
    quarry::decode(Format::JsonLines, body).expect("valid").logs
}

/// A minimal executor, to keep the example free of a runtime dependency.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Thread(std::thread::Thread);
    impl Wake for Thread {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Thread(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
