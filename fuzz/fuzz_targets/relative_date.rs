//! The date grammar (relative specs like `-7d`, `-3mStart`, `dStart`, `all`, and ISO-8601) on arbitrary text,
//! resolved against extreme and ordinary clocks: an error, or an instant; never a panic or an overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quarry_core::DateBound;

const NOWS: [i64; 5] = [0, 1_793_577_600_000_000_000, i64::MAX, i64::MIN, -1];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(bound) = DateBound::parse(text) {
        for now in NOWS {
            let _ = bound.resolve(now);
        }
    }
    let _ = quarry_core::time::parse_iso(text);
});
