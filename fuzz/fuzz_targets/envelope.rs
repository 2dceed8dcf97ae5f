//! See `quarry_fuzzing::envelope` for what this target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quarry_fuzzing::envelope(data));
