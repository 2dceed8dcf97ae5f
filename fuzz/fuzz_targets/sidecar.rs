//! The index sidecar reader (`FileIndex::from_bytes` and `from_bytes_without_attrs`). The first byte picks the
//! input's shape:
//! * 0: the bytes as a whole sidecar;
//! * 1: the bytes as a body, behind a correct footer (length, version, CRC, magic), so the section parsers and
//!   `validate` see arbitrary bodies;
//! * 2 and up: a real sidecar built from generated rows, its body bytes XORed with the rest of the input, the
//!   footer fixed: near-valid indexes that pass the checksum.
//!
//! Every outcome is an error or an index that passed `validate`; the readers' queries (`select`, `minutes_of`,
//! `rows_in_minutes`, `row_group_starts`) must then run on it without panicking.
#![no_main]

use std::collections::BTreeSet;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use quarry_core::{IngestOptions, Severity, Stamper};
use quarry_index::FileIndex;

const FOOTER_LEN: usize = 20;

/// `u64 body_length, u16 version, u16 flags, u32 crc32, "QIDX"` after `body`, as `format.rs` specifies.
fn with_footer(mut body: Vec<u8>) -> Vec<u8> {
    let len = body.len() as u64;
    body.extend_from_slice(&len.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
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
        .map(|l| stamper.stamp(l, 1_793_577_600_000_000_000))
        .collect();
        records.sort_by(|a, b| {
            (&a.service_name, a.severity_text, a.timestamp).cmp(&(&b.service_name, b.severity_text, b.timestamp))
        });
        FileIndex::build(&records, &[25, 35], &Default::default()).to_bytes()
    })
}

fn exercise(index: &FileIndex) {
    let services: BTreeSet<String> = index.services.iter().take(2).map(|(s, _)| s.clone()).collect();
    let severities: BTreeSet<Severity> = [Severity::Error, Severity::Info].into();
    for (sv, sev) in [(None, None), (Some(&services), None), (None, Some(&severities)), (Some(&services), Some(&severities))] {
        let _ = index.select(sv, sev);
        let _ = index.minutes_of(sv, sev).count();
        let _ = index.rows_in_minutes(sv, sev, i64::MIN, i64::MAX);
        let _ = index.rows_in_minutes(sv, sev, 0, 29_893_000);
    }
    let _ = index.row_group_starts();
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let bytes = match mode {
        0 => rest.to_vec(),
        1 => with_footer(rest.to_vec()),
        _ => {
            let real = real_sidecar();
            let mut body = real[..real.len() - FOOTER_LEN].to_vec();
            for (i, &b) in rest.iter().enumerate() {
                let at = i % body.len();
                body[at] ^= b;
            }
            with_footer(body)
        }
    };
    for parsed in [FileIndex::from_bytes(&bytes), FileIndex::from_bytes_without_attrs(&bytes)] {
        if let Ok(index) = parsed {
            exercise(&index);
        }
    }
});
