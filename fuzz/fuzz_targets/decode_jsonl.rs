//! The JsonLines decoder on arbitrary bytes: it returns records and per-record errors, never panics, and every
//! record it returns is well formed (sorted unique attribute keys, a normalised severity).
#![no_main]

use libfuzzer_sys::fuzz_target;
use quarry_core::{Format, decode};

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = decode(Format::JsonLines, data) {
        for r in &decoded.logs {
            for attrs in [&r.attributes, &r.resource_attributes] {
                assert!(attrs.windows(2).all(|w| w[0].0 < w[1].0), "attribute keys sorted and unique");
            }
            let _ = r.severity_text.as_str();
        }
        for e in &decoded.errors {
            assert!(!e.to_string().is_empty());
        }
    }
});
