//! Table-driven endpoint cases on the LogHub sample.
//!
//! Every `testdata/cases/loghub/*.json` file is one request and its expected response:
//! `{"name", "endpoint", "now", "body" | "params", "expected"}`. The expected values were computed by an independent
//! Python oracle (`testdata/cases/loghub/generate.py`) over the raw JSON Lines file, never copied from quarry's
//! output. The sample is ingested once into two engines, both flushed to Parquet: one with the default plan
//! options (indexes, rollups) and one with [`PlanOptions::naive`]; every case runs against both.
//!
//! `query` cases compare, per row, `timestamp`, `body`, `severity_text`, `service` (the row's
//! `resource_attributes["service.name"]`) and `attributes`, plus `hasMore` (uuids are assigned at ingest). `export`
//! cases compare the file name, the row count and the whole CSV text (columns that do not depend on ingest). Every
//! other endpoint is compared on its whole response body.

use std::path::{Path, PathBuf};

use quarry::{Engine, Format, PlanOptions, RequestContext, TeamId};
use serde_json::{Map, Value};

const TEAM: TeamId = TeamId(1);

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

struct Case {
    file: PathBuf,
    name: String,
    endpoint: String,
    now: i64,
    /// The POST body, or the GET parameters as a JSON list of `[key, value]` pairs.
    request: Value,
    expected: Value,
}

/// Every case of the directory, in file name order. Panics when the directory cannot be read, holds no case, or
/// a case is malformed: a silently skipped table would pass while testing nothing.
fn load_cases(dir: &Path) -> Vec<Case> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read the cases directory {}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| {
            e.unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no *.json case in {} (run testdata/cases/loghub/generate.py)",
        dir.display()
    );
    files.into_iter().map(|file| parse_case(&file)).collect()
}

fn parse_case(file: &Path) -> Case {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
    let field = |name: &str| -> &Value {
        v.get(name)
            .unwrap_or_else(|| panic!("{}: missing {name:?}", file.display()))
    };
    let text_of = |name: &str| -> String {
        field(name)
            .as_str()
            .unwrap_or_else(|| panic!("{}: {name:?} is not a string", file.display()))
            .to_owned()
    };
    let name = text_of("name");
    assert_eq!(
        file.file_stem().and_then(|s| s.to_str()),
        Some(name.as_str()),
        "{}: the file name must be the case name",
        file.display()
    );
    let endpoint = text_of("endpoint");
    let now_text = text_of("now");
    let now = parse_now(&now_text).unwrap_or_else(|| {
        panic!(
            "{}: \"now\" is not an RFC 3339 instant: {now_text:?}",
            file.display()
        )
    });
    let request = match (v.get("body"), v.get("params")) {
        (Some(b), None) => b.clone(),
        (None, Some(p)) => p.clone(),
        (None, None) if endpoint == "has-logs" => Value::Array(Vec::new()),
        _ => panic!(
            "{}: expected exactly one of \"body\" and \"params\"",
            file.display()
        ),
    };
    Case {
        file: file.to_owned(),
        name,
        endpoint,
        now,
        request,
        expected: field("expected").clone(),
    }
}

/// An absolute instant in nanoseconds, read with quarry's documented date grammar.
fn parse_now(text: &str) -> Option<i64> {
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    quarry::api::DateRange::from_text(text)
        .date_from
        .map(|b| b.resolve(0))
}

fn params(case: &Case) -> Vec<(String, String)> {
    let list = case
        .request
        .as_array()
        .unwrap_or_else(|| panic!("{}: \"params\" must be a list", case.name));
    list.iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([Value::String(k), Value::String(v)]) => (k.clone(), v.clone()),
            _ => panic!(
                "{}: each parameter must be a [key, value] pair of strings, got {pair}",
                case.name
            ),
        })
        .collect()
}

/// A response as JSON (a macro: the `Serialize` bound cannot be named without a direct `serde` dependency).
macro_rules! json {
    () => {
        |r| serde_json::to_value(r).expect("responses serialise")
    };
}

/// The compared part of a `query` response: per row the fields that do not depend on ingest, and `hasMore`.
fn project_query(response: &Value) -> Value {
    let rows: Vec<Value> = response["results"]
        .as_array()
        .expect("query results are a list")
        .iter()
        .map(|row| {
            let mut m = Map::new();
            for k in ["timestamp", "body", "severity_text", "attributes"] {
                m.insert(k.to_owned(), row[k].clone());
            }
            m.insert(
                "service".to_owned(),
                row["resource_attributes"]["service.name"].clone(),
            );
            Value::Object(m)
        })
        .collect();
    let mut out = Map::new();
    out.insert("rows".to_owned(), Value::Array(rows));
    out.insert("hasMore".to_owned(), response["hasMore"].clone());
    Value::Object(out)
}

/// Runs one case; an error response is reported as such.
fn run(engine: &Engine, case: &Case) -> Result<Value, String> {
    let ctx = RequestContext {
        team: TEAM,
        now: case.now,
    };
    let body = &case.request;
    let out = match case.endpoint.as_str() {
        "query" => engine
            .query(&ctx, body)
            .map(|r| project_query(&serde_json::to_value(r).expect("responses serialise"))),
        "count" => engine.count(&ctx, body).map(json!()),
        "count-ranges" => engine.count_ranges(&ctx, body).map(json!()),
        "sparkline" => engine.sparkline(&ctx, body).map(json!()),
        "services" => engine.services(&ctx, body).map(json!()),
        "values" => engine.values(&ctx, &params(case)).map(json!()),
        "attributes" => engine.attributes(&ctx, &params(case)).map(json!()),
        "has-logs" => Ok(serde_json::to_value(engine.has_logs(&ctx)).expect("responses serialise")),
        "export" => {
            let mut csv = Vec::new();
            engine.export(&ctx, body, &mut csv).map(|report| {
                serde_json::json!({
                    "filename": report.filename,
                    "rows": report.rows,
                    "csv": String::from_utf8(csv).expect("CSV is UTF-8"),
                })
            })
        }
        other => panic!("{}: unknown endpoint {other:?}", case.name),
    };
    out.map_err(|e| format!("error: {e}"))
}

fn open_engine(dir: &Path, plan: PlanOptions, input: &[u8]) -> Engine {
    let engine = Engine::builder(dir)
        .with_plan_options(plan)
        .with_background_flush(false)
        .open()
        .unwrap();
    let report = engine.ingest_bytes(TEAM, Format::JsonLines, input).unwrap();
    assert_eq!(
        (report.accepted, report.rejected),
        (16_000, 0),
        "{:?}",
        report.errors
    );
    engine.flush().unwrap();
    let storage = engine.stats().unwrap().storage;
    assert_eq!(
        (storage.file_rows, storage.memtable_rows),
        (16_000, 0),
        "every row is in Parquet"
    );
    engine
}

#[test]
fn loghub_endpoint_cases_match_the_python_oracle() {
    let data = testdata();
    let cases = load_cases(&data.join("cases/loghub"));
    let input = std::fs::read(data.join("loghub/loghub-8-systems.jsonl")).unwrap();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let engines = [
        (
            "default",
            open_engine(dir_a.path(), PlanOptions::default(), &input),
        ),
        (
            "naive",
            open_engine(dir_b.path(), PlanOptions::naive(), &input),
        ),
    ];
    let mut failures = Vec::new();
    for case in &cases {
        for (label, engine) in &engines {
            let actual = run(engine, case);
            if actual.as_ref() != Ok(&case.expected) {
                let actual = match &actual {
                    Ok(v) => serde_json::to_string_pretty(v).unwrap(),
                    Err(e) => e.clone(),
                };
                failures.push(format!(
                    "case {} ({}) on the {label} engine\n  request:  {}\n  expected: {}\n  actual:   {}",
                    case.name,
                    case.file.display(),
                    case.request,
                    serde_json::to_string_pretty(&case.expected).unwrap(),
                    actual
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} case runs failed:\n\n{}",
        failures.len(),
        cases.len() * engines.len(),
        failures.join("\n\n")
    );
    eprintln!("{} cases passed on both engines", cases.len());
}
