//! See `quarry_fuzzing::decode_otlp_json` for what this target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quarry_fuzzing::decode_otlp_json(data));
