//! See `quarry_fuzzing::sidecar` for what this target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quarry_fuzzing::sidecar(data));
