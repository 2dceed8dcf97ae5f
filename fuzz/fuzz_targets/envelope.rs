//! A request through validation, planning and execution. Input that parses as JSON is a POST body, sent to
//! every POST endpoint (`query`, `count`, `count-ranges`, `sparkline`, `services`, `export` in all three
//! formats); any other input is a URL query string, sent to the GET endpoints (`values`, `attributes`). Each call
//! returns a response or an error; a request that validates runs to the end. Nothing may panic.
//!
//! The engine holds 400 generated rows of team 1 over the day before `NOW` (300 in Parquet, 100 in the
//! memtable), built once per fuzzing process in a fresh directory under the system's temporary directory.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use quarry::{Engine, ManualClock, RequestContext, TeamId};
use serde_json::{Value, json};

const NOW: i64 = 1_793_577_600 * 1_000_000_000;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("quarry-fuzz-envelope-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let engine = Engine::builder(&dir)
            .with_background_flush(false)
            .with_clock(Arc::new(ManualClock::new(NOW)))
            .open()
            .expect("opens a fresh engine");
        let logs: Vec<_> = quarry_testkit::Generator::new(quarry_testkit::GeneratorConfig {
            rows: 400,
            seed: 5,
            ..Default::default()
        })
        .collect();
        engine.ingest(TeamId(1), logs[..300].to_vec()).expect("ingests");
        engine.flush().expect("flushes");
        engine.ingest(TeamId(1), logs[300..].to_vec()).expect("ingests");
        engine
    })
}

fuzz_target!(|data: &[u8]| {
    let engine = engine();
    let ctx = RequestContext { team: TeamId(1), now: NOW };
    if let Ok(body) = serde_json::from_slice::<Value>(data) {
        let _ = engine.query(&ctx, &body);
        let _ = engine.count(&ctx, &body);
        let _ = engine.count_ranges(&ctx, &body);
        let _ = engine.sparkline(&ctx, &body);
        let _ = engine.services(&ctx, &body);
        for format in ["csv", "jsonl", "parquet"] {
            let mut b = body.clone();
            if let Value::Object(m) = &mut b {
                m.entry("format").or_insert(json!(format));
            }
            let _ = engine.export(&ctx, &b, std::io::sink());
        }
    } else if let Ok(text) = std::str::from_utf8(data) {
        let params: Vec<(String, String)> = text
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (p.to_owned(), String::new()),
            })
            .collect();
        let _ = engine.values(&ctx, &params);
        let _ = engine.attributes(&ctx, &params);
    }
});
