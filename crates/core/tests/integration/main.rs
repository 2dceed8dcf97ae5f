//! Integration tests of quarry-core: the three decoders (JSON Lines, OTLP protobuf, OTLP/JSON) against real and
//! hand-built input, format detection, the Arrow schema round trip, and property tests that no input panics a
//! decoder.

mod common;
mod jsonl;
mod otlp_json;
mod otlp_proto;
mod proptests;
mod schema;
