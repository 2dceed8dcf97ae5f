//! quarry-testkit: deterministic realistic logs, and a naive oracle, for quarry's tests and benchmarks.
//!
//! **Inputs**: a [`GeneratorConfig`] (seed, row count, time span). **Outputs**: [`DecodedLog`]s in timestamp order
//! ([`Generator`]), as flat JSON Lines ([`write_jsonl`]) or OTLP/JSON ([`write_otlp_json`]). **Main types**:
//! [`Generator`], [`NaiveStore`].
//!
//! The same seed gives the same rows on every platform and version of this crate's dependencies: the generator
//! uses its own SplitMix64 random numbers, never an external RNG whose stream may change.
//!
//! # Example
//!
//! ```
//! use quarry_testkit::{Generator, GeneratorConfig};
//! let rows: Vec<_> = Generator::new(GeneratorConfig { rows: 1000, ..GeneratorConfig::default() }).collect();
//! assert_eq!(rows.len(), 1000);
//! assert!(rows.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
//! ```

#![warn(missing_docs)]

pub mod crash;
mod generator;
mod naive;

pub use generator::{Generator, GeneratorConfig, SERVICE_COUNT, write_jsonl, write_otlp_json};
pub use naive::NaiveStore;
pub mod oracle;
pub use quarry_core::DecodedLog;
