//! See `quarry_fuzzing::relative_date` for what this target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quarry_fuzzing::relative_date(data));
