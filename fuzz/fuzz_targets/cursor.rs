//! See `quarry_fuzzing::cursor` for what this target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quarry_fuzzing::cursor(data));
