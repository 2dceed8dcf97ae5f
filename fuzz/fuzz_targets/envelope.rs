//! A request through validation, planning and execution. The first byte picks the endpoint (modulo 10): `query`,
//! `count`, `count-ranges`, `sparkline`, `services`, `export` as CSV, JSON Lines or Parquet (POST endpoints: the
//! rest is the JSON body), `values` or `attributes` (GET endpoints: the rest is a URL query string). The call
//! returns a response or an error; a request that validates runs to the end. Nothing may panic.
//!
//! The engine holds 200 generated rows of team 1 over the day before `NOW` (150 in Parquet, 50 in the
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
            rows: 200,
            seed: 5,
            ..Default::default()
        })
        .collect();
        engine.ingest(TeamId(1), logs[..150].to_vec()).expect("ingests");
        engine.flush().expect("flushes");
        engine.ingest(TeamId(1), logs[150..].to_vec()).expect("ingests");
        engine
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let engine = engine();
    let ctx = RequestContext { team: TeamId(1), now: NOW };
    match which % 10 {
        8 | 9 => {
            let Ok(text) = std::str::from_utf8(rest) else { return };
            let params: Vec<(String, String)> = text
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (k.to_owned(), v.to_owned()),
                    None => (p.to_owned(), String::new()),
                })
                .collect();
            if which % 10 == 8 {
                let _ = engine.values(&ctx, &params);
            } else {
                let _ = engine.attributes(&ctx, &params);
            }
        }
        n => {
            let Ok(mut body) = serde_json::from_slice::<Value>(rest) else { return };
            let _ = match n {
                0 => engine.query(&ctx, &body).map(|_| ()),
                1 => engine.count(&ctx, &body).map(|_| ()),
                2 => engine.count_ranges(&ctx, &body).map(|_| ()),
                3 => engine.sparkline(&ctx, &body).map(|_| ()),
                4 => engine.services(&ctx, &body).map(|_| ()),
                _ => {
                    let format = ["csv", "jsonl", "parquet"][(n as usize - 5) % 3];
                    if let Value::Object(m) = &mut body {
                        m.entry("format").or_insert(json!(format));
                    }
                    engine.export(&ctx, &body, std::io::sink()).map(|_| ())
                }
            };
        }
    }
});
