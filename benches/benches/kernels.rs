//! Criterion benches of quarry-agg's kernels on their own, fed the partial results a request produces: the
//! interval picker, the sparkline kernel (1,440 buckets × 40 services, ranked and folded into the top 10), and the
//! services kernel (2,000 services × 6 severities). `cargo bench -p quarry-benches --bench kernels`.

use criterion::{Criterion, criterion_group, criterion_main};
use quarry_agg::{RankBy, SparklineInput, pick_interval};
use quarry_core::Severity;

const MINUTE: i64 = 60_000_000_000;

fn kernels(c: &mut Criterion) {
    let mut g = c.benchmark_group("kernels");
    g.bench_function("pick_interval", |b| {
        b.iter(|| {
            let mut acc = 0i64;
            for minutes in 1..=1_440i64 {
                acc += pick_interval(std::hint::black_box(minutes * MINUTE), 50).nanos();
            }
            acc
        })
    });
    // One day of minute cells for 40 services, as the rollup path hands them over.
    let services: Vec<String> = (0..40).map(|i| format!("service-{i:02}")).collect();
    let parts: Vec<(i64, &str, u64, u64)> = (0..1_440i64)
        .flat_map(|m| {
            services
                .iter()
                .enumerate()
                .map(move |(i, s)| (m * MINUTE, s.as_str(), (m as u64 * 7 + i as u64) % 50, 300))
        })
        .collect();
    let interval = pick_interval(1_440 * MINUTE, 50);
    let input = SparklineInput {
        first: 0,
        last: interval.bucket_start(1_440 * MINUTE - 1),
        width: interval.nanos(),
        rank_by: RankBy::Count,
        limit: 1000,
    };
    g.bench_function("sparkline_57600_cells", |b| {
        b.iter(|| {
            quarry_agg::sparkline(
                input,
                parts
                    .iter()
                    .map(|&(t, v, c, by)| (interval.bucket_start(t), v, c, by)),
            )
        })
    });
    let many: Vec<String> = (0..2_000).map(|i| format!("svc-{i:04}")).collect();
    let rows: Vec<(&str, Severity, u64)> = many
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            [
                Severity::Debug,
                Severity::Info,
                Severity::Warn,
                Severity::Error,
                Severity::Fatal,
                Severity::Unknown,
            ]
            .into_iter()
            .map(move |sev| (s.as_str(), sev, (i as u64 * 13) % 997 + 1))
        })
        .collect();
    g.bench_function("services_2000x6", |b| {
        b.iter(|| quarry_agg::services(rows.iter().copied(), 10_000))
    });
    g.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
