//! Damaged files: a truncated or bit-flipped Parquet file, sidecar, WAL segment or catalog is detected, and no
//! request silently answers wrong. Each damage is applied to a fresh copy of one data directory; every request of
//! a mix (each endpoint) must then either answer exactly what the undamaged copy answers — using a correct
//! fallback, which `quarry_stats` reports — or fail with an error that names the damaged file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use quarry::{Engine, ManualClock, RequestContext, TeamId};
use quarry_testkit::{Generator, GeneratorConfig};
use serde_json::{Value, json};

use crate::NOW;

const TEAM: TeamId = TeamId(1);

/// A facade answer as JSON (a macro: the `Serialize` bound cannot be named without a direct `serde` dependency).
macro_rules! as_json {
    ($answer:expr) => {
        $answer.map(|r| serde_json::to_value(r).expect("responses serialise"))
    };
}

fn open(dir: &Path) -> quarry::Result<Engine> {
    Engine::builder(dir)
        .with_background_flush(false)
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .open()
}

/// 6,000 generated rows of the day before `NOW` in Parquet (two flushes), plus 500 in the WAL only.
fn build(dir: &Path) {
    let engine = open(dir).unwrap();
    let logs: Vec<_> = Generator::new(GeneratorConfig {
        rows: 6_500,
        seed: 9,
        ..GeneratorConfig::default()
    })
    .collect();
    engine.ingest(TEAM, logs[..3_000].to_vec()).unwrap();
    engine.flush().unwrap();
    engine.ingest(TEAM, logs[3_000..6_000].to_vec()).unwrap();
    engine.flush().unwrap();
    engine.ingest(TEAM, logs[6_000..].to_vec()).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_with(&p, ext));
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn flip(path: &Path, at: f64) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = ((bytes.len() as f64 * at) as usize).min(bytes.len() - 1);
    bytes[i] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

fn truncate(path: &Path) {
    let len = std::fs::metadata(path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
}

/// The request mix: (endpoint, body or GET parameters).
fn requests() -> Vec<(&'static str, Value)> {
    let day = json!({"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-02T00:00:00Z"});
    let part = json!({"date_from": "2026-11-01T03:10:30Z", "date_to": "2026-11-01T20:45:00Z"});
    let q = |v: Value| json!({"query": v});
    vec![
        ("count", q(json!({"dateRange": day, "explain": true}))),
        (
            "count",
            q(json!({"dateRange": part, "severityLevels": ["error", "warn"], "explain": true})),
        ),
        (
            "count-ranges",
            q(json!({"dateRange": day, "explain": true})),
        ),
        (
            "sparkline",
            q(json!({"dateRange": part, "sparklineBreakdownBy": "service", "explain": true})),
        ),
        ("services", q(json!({"dateRange": day, "explain": true}))),
        (
            "query",
            q(json!({"dateRange": day, "limit": 50, "explain": true})),
        ),
        (
            "query",
            q(
                json!({"dateRange": part, "severityLevels": ["error"], "orderBy": "earliest", "explain": true}),
            ),
        ),
        (
            "values",
            json!([["key", "http.method"], ["dateRange", day.to_string()]]),
        ),
        (
            "attributes",
            json!([["search", "http"], ["dateRange", day.to_string()]]),
        ),
    ]
}

/// Runs one request: its answer without `quarry_stats`, and the stats, or the error text.
fn run(engine: &Engine, endpoint: &str, body: &Value) -> Result<(Value, Value), String> {
    let ctx = RequestContext {
        team: TEAM,
        now: NOW,
    };
    let params = || -> Vec<(String, String)> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_owned(),
                    p[1].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let v = match endpoint {
        "count" => as_json!(engine.count(&ctx, body)),
        "count-ranges" => as_json!(engine.count_ranges(&ctx, body)),
        "sparkline" => as_json!(engine.sparkline(&ctx, body)),
        "services" => as_json!(engine.services(&ctx, body)),
        "query" => as_json!(engine.query(&ctx, body)),
        "values" => as_json!(engine.values(&ctx, &params())),
        _ => as_json!(engine.attributes(&ctx, &params())),
    }
    .map_err(|e| e.to_string())?;
    let mut v = v;
    let stats = v
        .as_object_mut()
        .and_then(|m| m.remove("quarry_stats"))
        .unwrap_or(Value::Null);
    Ok((v, stats))
}

#[test]
fn damaged_files_are_named_or_answered_exactly_never_wrong() {
    let base = tempfile::tempdir().unwrap();
    let pristine = base.path().join("pristine");
    build(&pristine);
    let expected: Vec<Value> = {
        let engine = open(&pristine).unwrap();
        requests()
            .iter()
            .map(|(e, b)| run(&engine, e, b).expect("the undamaged copy answers").0)
            .collect()
    };

    type Damage = (&'static str, &'static str, fn(&Path));
    let damages: Vec<Damage> = vec![
        ("parquet bit flip (data pages)", "parquet", |p| flip(p, 0.3)),
        ("parquet bit flip (footer)", "parquet", |p| flip(p, 0.995)),
        ("parquet truncated", "parquet", truncate),
        ("sidecar bit flip", "qidx", |p| flip(p, 0.5)),
        ("sidecar truncated", "qidx", truncate),
        ("sidecar deleted", "qidx", |p| {
            std::fs::remove_file(p).unwrap()
        }),
    ];
    let mut fallbacks_reported = 0;
    for (case, (name, ext, damage)) in damages.into_iter().enumerate() {
        let dir = base.path().join(format!("case-{case}"));
        copy_dir(&pristine, &dir);
        let victims = files_with(&dir, ext);
        assert!(victims.len() >= 2, "{name}: {victims:?}");
        let victim = &victims[victims.len() / 2];
        damage(victim);
        let file_name = victim.file_stem().unwrap().to_string_lossy().into_owned();
        let engine = open(&dir).unwrap_or_else(|e| panic!("{name}: open failed: {e}"));
        let mut failed = 0;
        for ((endpoint, body), want) in requests().iter().zip(&expected) {
            match run(&engine, endpoint, body) {
                Ok((got, stats)) => {
                    assert_eq!(&got, want, "{name}: {endpoint} {body} answered differently");
                    if stats["sidecars_unreadable"].as_u64().unwrap_or(0) > 0 {
                        fallbacks_reported += 1;
                    }
                }
                Err(e) => {
                    assert!(
                        e.contains(&file_name),
                        "{name}: {endpoint} failed without naming {file_name}: {e}"
                    );
                    failed += 1;
                }
            }
        }
        if ext == "parquet" {
            // The requests that decode rows of the damaged file fail (which ones depends on where it sits in the
            // day); at least one of the mix does.
            assert!(failed > 0, "{name}: no request noticed the damage");
        }
    }
    assert!(
        fallbacks_reported >= 3,
        "sidecar damage must show as sidecars_unreadable in quarry_stats ({fallbacks_reported})"
    );

    // A damaged catalog stops the open, naming the catalog.
    let dir = base.path().join("catalog");
    copy_dir(&pristine, &dir);
    let catalog = dir.join("catalog.sqlite");
    let mut bytes = std::fs::read(&catalog).unwrap();
    bytes[..100].fill(0x5a);
    std::fs::write(&catalog, bytes).unwrap();
    let err = open(&dir).map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("catalog.sqlite"), "{err}");

    // A bit flip in the WAL's last frame: that frame is dropped at recovery, reported with the segment's name,
    // and kept aside; every other row is intact.
    let dir = base.path().join("wal");
    copy_dir(&pristine, &dir);
    let segments = files_with(&dir.join("wal"), "wal");
    // The segment holding the unflushed rows (opening the directory also starts an empty one).
    let last = segments
        .iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .expect("a WAL segment holds the unflushed rows");
    flip(last, 0.9);
    let engine = open(&dir).unwrap();
    let recovery = engine.stats().unwrap().storage.recovery;
    assert_eq!(recovery.dropped_tails.len(), 1, "{recovery:?}");
    assert_eq!(&recovery.dropped_tails[0].0, last);
    let count = engine
        .count(
            &RequestContext { team: TEAM, now: NOW },
            &json!({"query": {"dateRange": {"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-02T00:00:00Z"}}}),
        )
        .unwrap()
        .count;
    assert_eq!(
        count, 6_000,
        "the flushed rows are all there; the damaged frame's 500 are not"
    );
}
