//! quarry-fuzzing: the bodies of quarry's fuzz targets, in the main workspace so that the regression test replays
//! exactly what the fuzzer ran.
//!
//! **Inputs**: arbitrary bytes. **Outputs**: nothing; each function returns normally for every input, and panics
//! (a finding) only when quarry panics or breaks an invariant the function checks. **Main items**: one function per
//! target ([`envelope`], [`decode`], [`wal_frames`], [`sidecar`], [`cursor`], [`relative_date`]) and [`TARGETS`].
//!
//! `fuzz/` (cargo-fuzz, its own workspace) wraps each in `fuzz_target!`; `tests/integration` replays every file of
//! `fuzz/seeds/<target>/` and `testdata/fuzz-regressions/<target>/` through the same function, so a crash the
//! fuzzer found, minimised and saved there stays fixed in every CI run.

#![warn(missing_docs)]

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use quarry::{Engine, ManualClock, RequestContext, TeamId};
use quarry_api::Cursor;
use quarry_core::{DateBound, Format, IngestOptions, Severity, Stamper};
use quarry_index::FileIndex;
use quarry_storage::wal::scan_segment;
use serde_json::{Value, json};

/// A target: its name (the directory under `fuzz/seeds/` and `testdata/fuzz-regressions/`) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("envelope", envelope),
    ("decode_jsonl", decode_jsonl),
    ("decode_otlp_json", decode_otlp_json),
    ("decode_otlp_proto", decode_otlp_proto),
    ("wal_frames", wal_frames),
    ("sidecar", sidecar),
    ("cursor", cursor),
    ("relative_date", relative_date),
];

/// 2026-11-02T00:00:00Z: `now` of every request.
const NOW: i64 = 1_793_577_600 * 1_000_000_000;

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!(
            "quarry-fuzz-envelope-{}-{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
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
        engine
            .ingest(TeamId(1), logs[..150].to_vec())
            .expect("ingests");
        engine.flush().expect("flushes");
        engine
            .ingest(TeamId(1), logs[150..].to_vec())
            .expect("ingests");
        engine
    })
}

/// A request through validation, planning and execution. The first byte picks the endpoint (modulo 10):
/// `query`, `count`, `count-ranges`, `sparkline`, `services`, `export` as CSV, JSON Lines or Parquet (POST
/// endpoints: the rest is the JSON body), `values` or `attributes` (GET endpoints: the rest is a URL query
/// string). The engine holds 200 generated rows of team 1 (150 in Parquet, 50 in the memtable), built once per
/// process in a fresh directory under the system's temporary directory.
pub fn envelope(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let engine = engine();
    let ctx = RequestContext {
        team: TeamId(1),
        now: NOW,
    };
    match which % 10 {
        8 | 9 => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
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
            let Ok(mut body) = serde_json::from_slice::<Value>(rest) else {
                return;
            };
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
}

/// A decoder on arbitrary bytes: records and per-record errors, never a panic; every record has sorted,
/// unique attribute keys, and every error a message.
pub fn decode(format: Format, data: &[u8]) {
    if let Ok(decoded) = quarry_core::decode(format, data) {
        for r in &decoded.logs {
            for attrs in [&r.attributes, &r.resource_attributes] {
                let keys: Vec<&str> = attrs.iter().map(|(k, _)| k).collect();
                assert!(
                    keys.windows(2).all(|w| w[0] < w[1]),
                    "attribute keys sorted and unique"
                );
            }
        }
        for e in &decoded.errors {
            assert!(!e.to_string().is_empty());
        }
    }
}

/// [`decode`] of JSON Lines; every line the fast scanner reads itself decodes exactly as the serde_json
/// reference decoder decodes it (record or error); and the whole input decodes exactly as its lines do one by one
/// (the decoder carries state from line to line: the resource memo).
pub fn decode_jsonl(data: &[u8]) {
    decode(Format::JsonLines, data);
    let mut alone = quarry_core::Decoded::default();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if let Some(fast) = quarry_core::decode::jsonl::decode_line_fast(i, line) {
            assert_eq!(
                fast,
                quarry_core::decode::jsonl::decode_line_reference(i, line)
            );
        }
        if !line.is_empty() {
            match quarry_core::decode::jsonl::decode_line(i, line) {
                Ok(log) => alone.logs.push(log),
                Err(e) => alone.errors.push(e),
            }
        }
    }
    if let Ok(whole) = quarry_core::decode(Format::JsonLines, data) {
        assert_eq!(
            whole, alone,
            "the whole input decodes as its lines one by one"
        );
    }
}

/// [`decode`] of OTLP/JSON.
pub fn decode_otlp_json(data: &[u8]) {
    decode(Format::OtlpJson, data);
}

/// [`decode`] of OTLP protobuf.
pub fn decode_otlp_proto(data: &[u8]) {
    decode(Format::OtlpProto, data);
}

/// The WAL frame reader. The first byte picks the shape: even, the rest as a whole segment; odd, a valid header
/// and one frame whose payload is the rest, with a correct checksum, so the batch decoder behind the checksum
/// sees arbitrary payloads. Every outcome is a scan whose valid length is inside the input, or an error with an
/// offset inside it.
pub fn wal_frames(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let segment = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        // "QWAL" u16 version u16 flags u64 segment_id, then u32 length, u32 crc32(length ++ payload), payload.
        // Modes 1, 5, … frame the payload in a version-1 segment, modes 3, 7, … in a version-2 one.
        let version: u16 = if mode % 4 == 1 { 1 } else { 2 };
        let mut s = b"QWAL".to_vec();
        s.extend_from_slice(&version.to_le_bytes());
        s.extend_from_slice(&0u16.to_le_bytes());
        s.extend_from_slice(&7u64.to_le_bytes());
        let len = rest.len() as u32;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&len.to_le_bytes());
        crc.update(rest);
        s.extend_from_slice(&len.to_le_bytes());
        s.extend_from_slice(&crc.finalize().to_le_bytes());
        s.extend_from_slice(rest);
        s
    };
    match scan_segment(&segment) {
        Ok(scan) => assert!(scan.valid_len <= segment.len()),
        Err((offset, reason)) => {
            assert!(offset <= segment.len() as u64);
            assert!(!reason.is_empty());
        }
    }
}

const SIDECAR_FOOTER: usize = 20;

/// `u64 body_length, u16 version, u16 flags, u32 crc32, "QIDX"` after `body` (the grammar in `format.rs`).
fn with_footer(mut body: Vec<u8>, version: u16) -> Vec<u8> {
    let len = body.len() as u64;
    body.extend_from_slice(&len.to_le_bytes());
    body.extend_from_slice(&version.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    let crc = crc32fast::hash(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    body.extend_from_slice(b"QIDX");
    body
}

fn real_sidecar() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let mut stamper = Stamper::new(1, IngestOptions::default());
        let mut records: Vec<_> = quarry_testkit::Generator::new(quarry_testkit::GeneratorConfig {
            rows: 60,
            seed: 3,
            ..Default::default()
        })
        .map(|l| stamper.stamp(l, NOW))
        .collect();
        records.sort_by(|a, b| {
            (&a.service_name, a.severity_text, a.timestamp).cmp(&(
                &b.service_name,
                b.severity_text,
                b.timestamp,
            ))
        });
        FileIndex::build(&records, &[25, 35], &Default::default()).to_bytes()
    })
}

/// The index sidecar reader. The first byte picks the shape: 0, the rest as a whole sidecar; 1 and 2, the rest as
/// a body behind a correct footer of format version 1 and of the current version; 3 and up, a real sidecar's body
/// XORed with the rest, footer fixed (near-valid indexes that pass the checksum). An index that reads back (so passed `validate`) must then answer
/// `select`, `minutes_of`, `rows_in_minutes`, `row_group_starts`, `attr_totals`, `time_runs` and
/// `run_minute_span` (under either time layout flag) without panicking.
pub fn sidecar(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = match mode {
        0 => rest.to_vec(),
        1 => with_footer(rest.to_vec(), 1),
        2 => with_footer(rest.to_vec(), quarry_index::format::VERSION),
        _ => {
            let real = real_sidecar();
            let mut body = real[..real.len() - SIDECAR_FOOTER].to_vec();
            for (i, &b) in rest.iter().enumerate() {
                let at = i % body.len();
                body[at] ^= b;
            }
            with_footer(body, quarry_index::format::VERSION)
        }
    };
    for index in [
        FileIndex::from_bytes(&bytes),
        FileIndex::from_bytes_without_attrs(&bytes),
    ]
    .into_iter()
    .flatten()
    {
        let services: BTreeSet<String> = index
            .services
            .iter()
            .take(2)
            .map(|(s, _)| s.clone())
            .collect();
        let severities: BTreeSet<Severity> = [Severity::Error, Severity::Info].into();
        for (sv, sev) in [
            (None, None),
            (Some(&services), None),
            (None, Some(&severities)),
            (Some(&services), Some(&severities)),
        ] {
            let _ = index.select(sv, sev);
            let _ = index.minutes_of(sv, sev).count();
            let _ = index.rows_in_minutes(sv, sev, i64::MIN, i64::MAX);
            let _ = index.rows_in_minutes(sv, sev, 0, 29_893_000);
        }
        let _ = index.row_group_starts();
        let _ = index.attr_totals();
        // Whatever the footer's flags say, the time-run readers of every layout must not panic on this index.
        for (time_ordered, severity_grouped) in [(true, false), (false, true)] {
            let mut index = index.clone();
            index.time_ordered = time_ordered;
            index.severity_grouped = severity_grouped;
            for run in index.time_runs().unwrap_or_default() {
                let _ = index.run_minute_span(&run, i64::MIN, i64::MAX);
                let _ = index.run_minute_span(&run, 29_891_530, 29_891_529);
            }
            let _ = index.rows_in_minutes(None, Some(&severities), 0, 29_893_000);
        }
    }
}

/// Cursor decoding: an error naming the field, or a cursor whose own encoding decodes to it again.
pub fn cursor(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Cursor::decode(text, "query.after") {
        Ok(c) => {
            let again = Cursor::decode(&c.encode(), "query.after")
                .expect("a cursor's own encoding decodes");
            assert_eq!((again.timestamp, again.uuid), (c.timestamp, c.uuid));
        }
        Err(e) => assert!(e.to_string().starts_with("query.after"), "{e}"),
    }
}

/// The date grammar (relative specs and ISO-8601) on arbitrary text, resolved against extreme and ordinary
/// clocks: an error or an instant, never a panic or an overflow.
pub fn relative_date(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(bound) = DateBound::parse(text) {
        for now in [0, NOW, i64::MAX, i64::MIN, -1] {
            let _ = bound.resolve(now);
        }
    }
    let _ = quarry_core::time::parse_iso(text);
}
