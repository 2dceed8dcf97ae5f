//! The WAL frame reader (`quarry_storage::wal::scan_segment`). The first byte picks the input's shape:
//! * even: the bytes as a whole segment (header, frames, torn tails, garbage);
//! * odd: a valid header and one frame whose payload is the rest, with a correct checksum, so the batch decoder
//!   behind the checksum sees arbitrary payloads.
//!
//! Every outcome is a scan (valid frames plus a torn tail) or an error with an offset inside the input; never a
//! panic, and the valid length never passes the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quarry_storage::wal::scan_segment;

/// `"QWAL" u16 version u16 flags u64 segment_id`, as the grammar in `wal.rs` gives it.
fn header() -> Vec<u8> {
    let mut h = b"QWAL".to_vec();
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&7u64.to_le_bytes());
    h
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let segment = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let mut s = header();
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
});
