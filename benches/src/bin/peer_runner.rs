//! quarry's side of the side-by-side benchmark (`benches/peers/run.py`): opens a data directory, runs each request
//! of a request file `warmup` times untimed and `runs` times timed, in process through the facade, and prints one
//! JSON line per request: `{"name", "median_ms", "min_ms", "runs", "answer"}` (the answer of the last run).
//!
//! ```text
//! peer_runner DATA_DIR REQUESTS.json NOW_RFC3339 [RUNS] [WARMUP]
//! ```
//!
//! The request file is a JSON list of `{"name", "endpoint", "body" | "params"[, "after_from"]}`: `endpoint` is a
//! facade method (`query`, `count`, `count-ranges`, `sparkline`, `services`, `values`, `attributes`), `params` a
//! list of `[key, value]` pairs for the GET endpoints, and `after_from` names an earlier `query` request whose
//! `nextCursor` becomes this request's `query.after` (the next page).

use std::collections::HashMap;
use std::time::Instant;

use quarry::{Engine, RequestContext, TeamId};
use serde_json::{Value, json};

// The allocator of quarry's own binary (`quarry serve`, `quarry ingest`), so the runner measures what it ships.
// Reads allocate and free zstd contexts and page buffers of hundreds of kilobytes per column chunk (the parquet
// crate makes a compression and a decompression context for every chunk it reads); glibc's malloc spent a quarter
// of a list of errors on them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A facade answer as JSON (a macro: the `Serialize` bound cannot be named without a direct `serde` dependency).
macro_rules! as_json {
    ($answer:expr) => {
        $answer.map(|r| serde_json::to_value(r).expect("responses serialise"))
    };
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: peer_runner DATA_DIR REQUESTS.json NOW_RFC3339 [RUNS] [WARMUP]");
        std::process::exit(2);
    }
    let now = quarry_core::time::parse_iso(&args[3]).unwrap_or_else(|| {
        eprintln!("NOW: expected an RFC 3339 instant, got {:?}", args[3]);
        std::process::exit(2);
    });
    let runs: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(5).max(1);
    let warmup: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(1);
    let requests: Vec<Value> =
        serde_json::from_slice(&std::fs::read(&args[2]).expect("reads the request file"))
            .expect("the request file is a JSON list");
    let engine = Engine::builder(&args[1])
        .with_background_flush(false)
        .open()
        .expect("opens the data directory");
    let ctx = RequestContext {
        team: TeamId(1),
        now,
    };
    let mut answers: HashMap<String, Value> = HashMap::new();
    for r in &requests {
        let name = r["name"].as_str().expect("name").to_owned();
        let endpoint = r["endpoint"].as_str().expect("endpoint");
        let mut body = r.get("body").cloned().unwrap_or(Value::Null);
        if let Some(from) = r.get("after_from").and_then(Value::as_str) {
            let cursor = answers[from]["nextCursor"].clone();
            body["query"]["after"] = cursor;
        }
        let params: Vec<(String, String)> = r
            .get("params")
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        (
                            p[0].as_str().unwrap().to_owned(),
                            p[1].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let call = || -> Value {
            let v = match endpoint {
                "query" => as_json!(engine.query(&ctx, &body)),
                "count" => as_json!(engine.count(&ctx, &body)),
                "count-ranges" => as_json!(engine.count_ranges(&ctx, &body)),
                "sparkline" => as_json!(engine.sparkline(&ctx, &body)),
                "services" => as_json!(engine.services(&ctx, &body)),
                "values" => as_json!(engine.values(&ctx, &params)),
                "attributes" => as_json!(engine.attributes(&ctx, &params)),
                other => panic!("unknown endpoint {other:?}"),
            };
            v.unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        for _ in 0..warmup {
            call();
        }
        let mut times = Vec::with_capacity(runs);
        let mut answer = Value::Null;
        for _ in 0..runs {
            let t = Instant::now();
            answer = call();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        let median = if runs % 2 == 1 {
            times[runs / 2]
        } else {
            (times[runs / 2 - 1] + times[runs / 2]) / 2.0
        };
        println!(
            "{}",
            json!({"name": name, "median_ms": median, "min_ms": times[0], "runs": runs, "answer": answer})
        );
        answers.insert(name, answer);
    }
}
