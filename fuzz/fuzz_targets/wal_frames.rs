//! See `quarry_fuzzing::wal_frames` for what this target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| quarry_fuzzing::wal_frames(data));
