//! Helpers shared by the integration test modules.

use quarry_core::{Decoded, Format, decode};

/// The LogHub sample: 16,000 flat JSON Lines records from 8 systems.
pub(crate) const LOGHUB_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/loghub/loghub-8-systems.jsonl"
);

/// Number of lines (and records) in the LogHub sample.
pub(crate) const LOGHUB_LINES: usize = 16_000;

/// 2026-11-01T00:00:00Z in Unix nanoseconds.
pub(crate) const NOV_1_2026_NS: i64 = 1_793_491_200_000_000_000;

/// The bytes of the LogHub sample.
pub(crate) fn loghub_bytes() -> Vec<u8> {
    std::fs::read(LOGHUB_PATH).unwrap_or_else(|e| panic!("reading {LOGHUB_PATH}: {e}"))
}

/// Decodes `input` as JSON Lines (which never fails as a whole).
pub(crate) fn jsonl(input: &[u8]) -> Decoded {
    decode(Format::JsonLines, input).expect("JSON Lines decoding cannot fail as a whole")
}

/// Decodes a single JSON Lines record that must be accepted.
pub(crate) fn one_jsonl(line: &str) -> quarry_core::DecodedLog {
    let decoded = jsonl(line.as_bytes());
    assert!(
        decoded.errors.is_empty(),
        "{line} was rejected: {:?}",
        decoded.errors
    );
    assert_eq!(decoded.logs.len(), 1, "{line}");
    decoded.logs.into_iter().next().expect("one record")
}

/// Hex text to bytes, written independently of the library's id parser.
pub(crate) fn hex<const N: usize>(text: &str) -> [u8; N] {
    assert_eq!(text.len(), 2 * N, "{text} is not {N} bytes of hex");
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
            .unwrap_or_else(|e| panic!("{text}: {e}"));
    }
    out
}

/// An attribute set from string slices.
pub(crate) fn attrs(pairs: &[(&str, &str)]) -> quarry_core::Attributes {
    pairs.iter().copied().collect()
}

/// The lines of `input` that a line-oriented decoder does not skip as blank.
pub(crate) fn non_blank_lines(input: &[u8]) -> usize {
    input
        .split(|&b| b == b'\n')
        .filter(|line| !line.trim_ascii().is_empty())
        .count()
}
