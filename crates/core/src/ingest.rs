//! Stamping decoded logs at ingest: id, observation time, resource fingerprint and the optional far-timestamp rule.
//!
//! Everything here takes its time from an injected [`Clock`], so ingest is deterministic under test.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::ids::UuidV7Generator;
use crate::record::{Attributes, DecodedLog, LogRecord};

/// A source of "now" in nanoseconds since the Unix epoch. Everything that needs the time takes one, so tests
/// pin it.
pub trait Clock: Send + Sync + Debug {
    /// The current time in nanoseconds since the Unix epoch.
    fn now_nanos(&self) -> i64;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_nanos(&self) -> i64 {
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
    }
}

/// A clock that reads what it was set to; for tests and replays.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock at `nanos`.
    pub fn new(nanos: i64) -> Self {
        ManualClock(AtomicI64::new(nanos))
    }

    /// Sets the time.
    pub fn set(&self, nanos: i64) {
        self.0.store(nanos, Ordering::SeqCst);
    }

    /// Moves the time forward by `nanos`.
    pub fn advance(&self, nanos: i64) {
        self.0.fetch_add(nanos, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_nanos(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// How ingest treats timestamps. The default keeps every timestamp as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOptions {
    /// PostHog's capture rule (spec §1.5): a timestamp more than 24 h before or after `now` is replaced by `now`,
    /// and the original is kept in the log attribute `$originalTimestamp` (RFC 3339). Off by default because it
    /// silently moves back-filled history; turn it on to match PostHog exactly.
    pub replace_far_timestamps: bool,
}

impl IngestOptions {
    /// Sets [`IngestOptions::replace_far_timestamps`].
    pub fn with_replace_far_timestamps(mut self, on: bool) -> Self {
        self.replace_far_timestamps = on;
        self
    }
}

/// The attribute that keeps a replaced timestamp.
pub const ORIGINAL_TIMESTAMP_KEY: &str = "$originalTimestamp";

const DAY_NANOS: i64 = 24 * 3600 * 1_000_000_000;

/// Turns [`DecodedLog`]s into [`LogRecord`]s: assigns the UUIDv7 (from the clock), the observation time (the
/// client's, else `now`), the resource fingerprint, and applies [`IngestOptions`].
#[derive(Debug)]
pub struct Stamper {
    ids: UuidV7Generator,
    options: IngestOptions,
    /// Fingerprints of recently seen resource sets: a service's records repeat a handful of sets, and hashing a
    /// set for the map costs about a third of encoding and hashing it for the fingerprint. Emptied when full.
    /// The sets are shared with the records that carried them (clones of an `Attributes` share it).
    fingerprints: rustc_hash::FxHashMap<Attributes, u64>,
    /// The same by the sets' addresses ([`Attributes::share_id`]): the decoder gives every record of one resource
    /// in one piece of input the same set, so most lookups are a multiply here instead of hashing a set's text
    /// (~0.8% of an ingest's instructions, session 11). Each entry holds its set, so no other set can take its
    /// address while it is there. Emptied when full.
    by_address: rustc_hash::FxHashMap<usize, (Attributes, u64)>,
}

/// The most resource sets [`Stamper`] remembers fingerprints of.
const MAX_REMEMBERED_RESOURCES: usize = 1024;
/// The largest set [`Stamper`] remembers, in [`Attributes::memory_size`] bytes: the memory it holds stays under
/// 8 MiB whatever senders send.
const MAX_REMEMBERED_SET_BYTES: usize = 8 << 10;

impl Stamper {
    /// A stamper whose ids derive from `seed` (pass a random seed in production, a fixed one in tests).
    pub fn new(seed: u64, options: IngestOptions) -> Self {
        Stamper {
            ids: UuidV7Generator::new(seed),
            options,
            fingerprints: Default::default(),
            by_address: Default::default(),
        }
    }

    /// Stamps one record at time `now` (nanoseconds).
    pub fn stamp(&mut self, log: DecodedLog, now: i64) -> LogRecord {
        let now_ms = (now.max(0) / 1_000_000) as u64;
        let mut timestamp = log.timestamp.unwrap_or(now);
        let mut attributes = log.attributes;
        let mut bytes = log.bytes_uncompressed;
        if self.options.replace_far_timestamps && timestamp.abs_diff(now) > DAY_NANOS as u64 {
            let original = format_rfc3339_nanos(timestamp);
            bytes += (ORIGINAL_TIMESTAMP_KEY.len() + original.len()) as u64;
            attributes.insert(ORIGINAL_TIMESTAMP_KEY, &original);
            timestamp = now;
        }
        LogRecord {
            uuid: self.ids.next(now_ms),
            timestamp,
            observed_timestamp: log.observed_timestamp.unwrap_or(now),
            trace_id: log.trace_id,
            span_id: log.span_id,
            trace_flags: log.trace_flags,
            severity_text: log.severity_text,
            severity_number: log.severity_number,
            service_name: log.service_name,
            body: log.body,
            resource_fingerprint: self.fingerprint(&log.resource_attributes),
            attributes,
            resource_attributes: log.resource_attributes,
            instrumentation_scope: log.instrumentation_scope,
            event_name: log.event_name,
            bytes_uncompressed: bytes,
        }
    }

    /// [`resource_fingerprint`] of `attrs`, remembered.
    fn fingerprint(&mut self, attrs: &Attributes) -> u64 {
        let address = attrs.share_id();
        if let Some((_, fingerprint)) = address.and_then(|a| self.by_address.get(&a)) {
            return *fingerprint;
        }
        let fingerprint = match self.fingerprints.get(attrs) {
            Some(&fingerprint) => fingerprint,
            None => {
                let fingerprint = resource_fingerprint(attrs);
                if self.fingerprints.len() >= MAX_REMEMBERED_RESOURCES {
                    self.fingerprints.clear();
                }
                // A large set is not kept (nor its memory pinned): it is rare and its hashing dominates anyway.
                if attrs.memory_size() <= MAX_REMEMBERED_SET_BYTES {
                    self.fingerprints.insert(attrs.clone(), fingerprint);
                }
                fingerprint
            }
        };
        if let Some(address) = address
            && attrs.memory_size() <= MAX_REMEMBERED_SET_BYTES
        {
            if self.by_address.len() >= MAX_REMEMBERED_RESOURCES {
                self.by_address.clear();
            }
            self.by_address
                .insert(address, (attrs.clone(), fingerprint));
        }
        fingerprint
    }
}

/// The identity of "the emitting pod/host" (spec §1.1 `resource_fingerprint`): XXH3-64 (seed 0) of the normalised
/// resource attributes encoded as `(u32-LE key length, key, u32-LE value length, value)*` in key order. Stable
/// across versions and platforms because both the encoding and the hash are fixed.
pub fn resource_fingerprint(attrs: &Attributes) -> u64 {
    // One-shot hashing of the encoding in a reused buffer: the streaming hasher gives the same value but sets up
    // its state on every call, which cost more than the hashing itself (~1,200 instructions per record).
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUFFER.with_borrow_mut(|buf| {
        buf.clear();
        encode_resource(attrs, buf);
        let hash = xxhash_rust::xxh3::xxh3_64(buf);
        if buf.capacity() > 1 << 16 {
            *buf = Vec::new(); // one huge resource does not pin its memory to the thread
        }
        hash
    })
}

/// The bytes [`resource_fingerprint`] hashes, appended to `buf`.
fn encode_resource(attrs: &Attributes, buf: &mut Vec<u8>) {
    for (k, v) in attrs {
        buf.extend_from_slice(&(k.len() as u32).to_le_bytes());
        buf.extend_from_slice(k.as_bytes());
        buf.extend_from_slice(&(v.len() as u32).to_le_bytes());
        buf.extend_from_slice(v.as_bytes());
    }
}

/// RFC 3339 in UTC with as many fractional digits as needed (`2026-11-01T00:00:43.2Z` keeps nanoseconds exactly).
pub fn format_rfc3339_nanos(nanos: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(nanos)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::severity::Severity;

    fn decoded(ts: Option<i64>) -> DecodedLog {
        DecodedLog {
            timestamp: ts,
            observed_timestamp: None,
            trace_id: [0; 16],
            span_id: [0; 8],
            trace_flags: 0,
            severity_text: Severity::Info,
            severity_number: 9,
            service_name: "api".into(),
            body: "hello".into(),
            attributes: Attributes::new(),
            resource_attributes: [("service.name", "api")].into_iter().collect(),
            instrumentation_scope: String::new(),
            event_name: String::new(),
            bytes_uncompressed: 20,
        }
    }

    #[test]
    fn stamping_is_deterministic_and_keeps_timestamps_by_default() {
        let now = 1_800_000_000_000_000_000;
        let far = now - 3 * DAY_NANOS;
        let a = Stamper::new(7, IngestOptions::default()).stamp(decoded(Some(far)), now);
        let b = Stamper::new(7, IngestOptions::default()).stamp(decoded(Some(far)), now);
        assert_eq!(a, b);
        assert_eq!(a.timestamp, far);
        assert_eq!(a.observed_timestamp, now);
        assert_eq!(
            a.resource_fingerprint,
            resource_fingerprint(&[("service.name", "api")].into_iter().collect())
        );
        let missing = Stamper::new(7, IngestOptions::default()).stamp(decoded(None), now);
        assert_eq!(missing.timestamp, now);
    }

    #[test]
    fn far_timestamps_are_replaced_when_asked() {
        let now = 1_800_000_000_000_000_000;
        let opts = IngestOptions::default().with_replace_far_timestamps(true);
        let mut s = Stamper::new(7, opts);
        let near = s.stamp(decoded(Some(now + DAY_NANOS)), now);
        assert_eq!(
            near.timestamp,
            now + DAY_NANOS,
            "exactly 24 h is not more than 24 h"
        );
        let far = s.stamp(decoded(Some(now - DAY_NANOS - 1)), now);
        assert_eq!(far.timestamp, now);
        assert_eq!(
            crate::record::attribute(&far.attributes, ORIGINAL_TIMESTAMP_KEY),
            Some(format_rfc3339_nanos(now - DAY_NANOS - 1).as_str())
        );
        assert_eq!(
            far.bytes_uncompressed,
            20 + 18 + format_rfc3339_nanos(now - DAY_NANOS - 1).len() as u64
        );
    }

    #[test]
    fn fingerprints_are_the_values_stored_by_earlier_versions() {
        // Printed by the streaming-hasher implementation of a60913d before it was replaced: stored files and
        // filters depend on these staying put.
        let long = "x".repeat(300);
        let cases: [(Attributes, u64); 3] = [
            (Attributes::new(), 3244421341483603138),
            (
                [("service.name", "api")].into_iter().collect(),
                10862888266235331973,
            ),
            (
                [
                    ("host.name", "h-1"),
                    ("k8s.pod", long.as_str()),
                    ("service.name", "checkout"),
                ]
                .into_iter()
                .collect(),
                8646741007648793396,
            ),
        ];
        for (attrs, expected) in cases {
            assert_eq!(resource_fingerprint(&attrs), expected, "{attrs:?}");
        }
    }

    #[test]
    fn one_shot_fingerprints_equal_the_streaming_hasher_at_every_size() {
        // xxh3 takes a different path per input size (0-16, 17-128, 129-240, longer); cover each.
        for len in 0..600 {
            let attrs: Attributes = [
                ("k", "v".repeat(len / 2)),
                ("service.name", "s".repeat(len - len / 2)),
            ]
            .into_iter()
            .collect();
            // Fed in pieces, as the streaming implementation did.
            let mut encoded = Vec::new();
            encode_resource(&attrs, &mut encoded);
            let mut streaming = xxhash_rust::xxh3::Xxh3::new();
            for piece in encoded.chunks(7) {
                streaming.update(piece);
            }
            assert_eq!(
                resource_fingerprint(&attrs),
                streaming.digest(),
                "length {len}"
            );
        }
    }

    #[test]
    fn remembered_fingerprints_equal_computed_ones_across_evictions() {
        // More distinct sets than the stamper remembers, each seen twice apart, sets that differ only in where a
        // key ends, and one set too large to remember: every stamped fingerprint is the computed one.
        let mut s = Stamper::new(7, IngestOptions::default());
        let big = "x".repeat(10_000);
        let mut sets: Vec<Attributes> = (0..MAX_REMEMBERED_RESOURCES + 100)
            .map(|i| {
                [
                    ("host.name", format!("h-{i}")),
                    ("service.name", "api".into()),
                ]
                .into_iter()
                .collect()
            })
            .collect();
        sets.push([("a", "bc")].into_iter().collect());
        sets.push([("ab", "c")].into_iter().collect());
        sets.push([("k", big.as_str())].into_iter().collect());
        for round in 0..2 {
            for (i, set) in sets.iter().enumerate() {
                let mut log = decoded(Some(1));
                log.resource_attributes = set.clone();
                let stamped = s.stamp(log, 2);
                assert_eq!(
                    stamped.resource_fingerprint,
                    resource_fingerprint(set),
                    "round {round}, set {i}"
                );
            }
        }
        assert!(s.fingerprints.len() <= MAX_REMEMBERED_RESOURCES);
        assert!(!s.fingerprints.contains_key(sets.last().expect("pushed")));
        assert!(s.fingerprints.contains_key(&sets[sets.len() - 2]));
    }

    #[test]
    fn fingerprint_depends_on_content_only() {
        let a: Attributes = [("a", "bc")].into_iter().collect();
        let b: Attributes = [("ab", "c")].into_iter().collect();
        assert_ne!(resource_fingerprint(&a), resource_fingerprint(&b));
        assert_eq!(resource_fingerprint(&a), resource_fingerprint(&a.clone()));
    }
}
