//! Criterion benches of the ingest path, stage by stage and end to end:
//! decode (JSON Lines, OTLP/JSON, OTLP protobuf), stamping, WAL append (sync and buffered), index build,
//! flush (sort + Parquet + sidecar + catalog), and JSON Lines → durable, flushed Parquet.
//!
//! Data comes from `quarry-testkit`'s seeded generator. Run with `cargo bench -p quarry-benches --bench ingest`.

use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use quarry::{Durability, Engine, Format, TeamId};
use quarry_core::{IngestOptions, ManualClock, Stamper};
use quarry_index::{FileIndex, IndexOptions};
use quarry_storage::{Storage, StorageOptions};
use quarry_testkit::{Generator, GeneratorConfig};

const NOW: i64 = 1_793_577_600 * 1_000_000_000;

fn generated(rows: u64) -> Vec<quarry_core::DecodedLog> {
    Generator::new(GeneratorConfig {
        rows,
        ..Default::default()
    })
    .collect()
}

fn jsonl(rows: u64) -> Vec<u8> {
    let mut out = Vec::new();
    quarry_testkit::write_jsonl(generated(rows).into_iter(), &mut out).unwrap();
    out
}

fn stamped(rows: u64) -> Vec<quarry_core::LogRecord> {
    let mut s = Stamper::new(1, IngestOptions::default());
    generated(rows)
        .into_iter()
        .map(|l| s.stamp(l, NOW))
        .collect()
}

fn decode(c: &mut Criterion) {
    let rows = 20_000u64;
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(rows));
    let lines = jsonl(rows);
    g.bench_function("jsonl", |b| {
        b.iter(|| quarry_core::decode(Format::JsonLines, &lines).unwrap())
    });
    let mut otlp = Vec::new();
    quarry_testkit::write_otlp_json(generated(rows).into_iter(), 1000, &mut otlp).unwrap();
    g.bench_function("otlp_json", |b| {
        b.iter(|| quarry_core::decode(Format::OtlpJson, &otlp).unwrap())
    });
    // Protobuf: re-encode the OTLP/JSON requests with the official definitions.
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    let mut merged = ExportLogsServiceRequest::default();
    for line in otlp.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let req: ExportLogsServiceRequest = serde_json::from_slice(line).unwrap();
        merged.resource_logs.extend(req.resource_logs);
    }
    let proto = prost::Message::encode_to_vec(&merged);
    g.bench_function("otlp_proto", |b| {
        b.iter(|| quarry_core::decode(Format::OtlpProto, &proto).unwrap())
    });
    let logs = generated(rows);
    g.bench_function("stamp", |b| {
        b.iter_batched(
            || logs.clone(),
            |logs| {
                let mut s = Stamper::new(1, IngestOptions::default());
                logs.into_iter()
                    .map(|l| s.stamp(l, NOW))
                    .collect::<Vec<_>>()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn wal_append(c: &mut Criterion) {
    let batch = stamped(1_000);
    let mut g = c.benchmark_group("wal_append_1000_rows");
    g.throughput(Throughput::Elements(batch.len() as u64));
    for durability in [Durability::Sync, Durability::Buffered] {
        let dir = tempfile::tempdir().unwrap();
        let options = StorageOptions {
            durability,
            ..StorageOptions::default()
        };
        let storage = Storage::open(dir.path(), options, Arc::new(ManualClock::new(NOW))).unwrap();
        g.bench_function(format!("{durability:?}"), |b| {
            b.iter_batched(
                || batch.clone(),
                |rows| storage.append(TeamId(1), rows).unwrap(),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn index_build(c: &mut Criterion) {
    let rows = stamped(100_000);
    let mut g = c.benchmark_group("index_build");
    g.throughput(Throughput::Elements(rows.len() as u64));
    g.sample_size(10);
    g.bench_function("100k_rows", |b| {
        b.iter(|| {
            FileIndex::build(&rows, &[rows.len() as u32], &IndexOptions::default()).to_bytes()
        })
    });
    g.finish();
}

fn flush(c: &mut Criterion) {
    let rows = stamped(100_000);
    let mut g = c.benchmark_group("flush");
    g.throughput(Throughput::Elements(rows.len() as u64));
    g.sample_size(10);
    g.bench_function("100k_rows_24_partitions", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let options = StorageOptions {
                    durability: Durability::Buffered,
                    ..StorageOptions::default()
                };
                let storage =
                    Storage::open(dir.path(), options, Arc::new(ManualClock::new(NOW))).unwrap();
                storage.append(TeamId(1), rows.clone()).unwrap();
                (dir, storage)
            },
            |(dir, storage)| {
                storage.flush().unwrap();
                (dir, storage)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn end_to_end(c: &mut Criterion) {
    let rows = 200_000u64;
    let input = jsonl(rows);
    let mut g = c.benchmark_group("jsonl_to_flushed_parquet");
    g.throughput(Throughput::Elements(rows));
    g.sample_size(10);
    // `Sync`: every chunk logged and synced first (the server's and the embedded engine's default); `Unlogged`:
    // durable at the final flush, as `quarry ingest FILE` loads.
    for durability in [Durability::Sync, Durability::Unlogged] {
        g.bench_function(format!("200k_rows_8MiB_chunks/{durability:?}"), |b| {
            b.iter_batched(
                || tempfile::tempdir().unwrap(),
                |dir| {
                    let engine = Engine::builder(dir.path())
                        .with_durability(durability)
                        .with_background_flush(false)
                        .open()
                        .unwrap();
                    let mut rest: &[u8] = &input;
                    while !rest.is_empty() {
                        let end = rest.len().min(8 << 20);
                        let cut = rest[..end]
                            .iter()
                            .rposition(|&b| b == b'\n')
                            .map_or(end, |i| i + 1);
                        let (chunk, tail) =
                            rest.split_at(if end == rest.len() { end } else { cut });
                        engine
                            .ingest_bytes(TeamId(1), Format::JsonLines, chunk)
                            .unwrap();
                        rest = tail;
                    }
                    engine.flush().unwrap();
                    dir
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, decode, wal_append, index_build, flush, end_to_end);
criterion_main!(benches);
