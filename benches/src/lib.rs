//! Criterion benchmarks for quarry live in `benches/`; this library is empty.
