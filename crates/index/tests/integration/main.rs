//! Integration tests of quarry-index: the sidecar agrees with a naive row-by-row computation, round-trips through
//! its byte format, and rejects damaged bytes with an error naming the file.

mod corruption;
mod oracle;

use proptest::prelude::*;
use quarry_core::{LogRecord, Severity};

/// A record of `service` at `timestamp` (ns), severity info, every other field empty or zero.
pub(crate) fn plain_record(service: &str, timestamp: i64) -> LogRecord {
    LogRecord {
        uuid: [0; 16],
        timestamp,
        observed_timestamp: 0,
        trace_id: [0; 16],
        span_id: [0; 8],
        trace_flags: 0,
        severity_text: Severity::Info,
        severity_number: 0,
        service_name: service.into(),
        body: String::new(),
        attributes: Default::default(),
        resource_attributes: Default::default(),
        resource_fingerprint: 0,
        instrumentation_scope: String::new(),
        event_name: String::new(),
        bytes_uncompressed: 0,
    }
}

/// Records with few services, all severities, timestamps over three hours (including before the epoch's hour
/// boundaries of negative time, to exercise floor division), small and large attribute vocabularies, and values
/// of 256+ bytes.
pub(crate) fn records_strategy(max_rows: usize) -> impl Strategy<Value = Vec<LogRecord>> {
    let record = (
        0usize..5,
        0usize..7,
        -3_600_000_000_000i64..7_200_000_000_000,
        prop::collection::vec((0usize..6, 0usize..12), 0..5),
        prop::collection::vec((0usize..3, 0usize..4), 0..3),
        0u64..3,
        0u64..5000,
    )
        .prop_map(|(svc, sev, ts, attrs, res, fp, bytes)| {
            let key = |k: usize| {
                if k == 5 {
                    "k".repeat(300)
                } else {
                    format!("key{k}")
                }
            };
            let value = |v: usize| match v {
                10 => "v".repeat(256),
                11 => "w".repeat(255),
                v => format!("value{v}"),
            };
            let attributes: quarry_core::Attributes =
                attrs.into_iter().map(|(k, v)| (key(k), value(v))).collect();
            let resource_attributes: quarry_core::Attributes = res
                .into_iter()
                .map(|(k, v)| (format!("res{k}"), format!("r{v}")))
                .collect();
            LogRecord {
                uuid: [0; 16],
                timestamp: 1_793_491_200_000_000_000 + ts,
                observed_timestamp: 0,
                trace_id: [0; 16],
                span_id: [0; 8],
                trace_flags: 0,
                severity_text: Severity::ALL[sev],
                severity_number: 0,
                service_name: if svc == 4 {
                    String::new()
                } else {
                    format!("svc{svc}")
                },
                body: String::new(),
                attributes,
                resource_attributes,
                resource_fingerprint: fp,
                instrumentation_scope: String::new(),
                event_name: String::new(),
                bytes_uncompressed: bytes,
            }
        });
    prop::collection::vec(record, 0..max_rows)
}

/// Splits `n` rows into row groups of `size` (the last one shorter).
pub(crate) fn row_groups(n: usize, size: usize) -> Vec<u32> {
    let size = size.max(1);
    (0..n)
        .step_by(size)
        .map(|start| (n - start).min(size) as u32)
        .collect()
}
