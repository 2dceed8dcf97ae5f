//! Building a [`FileIndex`] from a file's records.

use rustc_hash::FxHashMap as HashMap;
use std::borrow::Borrow;

use quarry_core::{Attributes, LogRecord, NANOS_PER_MINUTE, Severity};
use roaring::RoaringBitmap;

use crate::{AttrCount, AttrKind, FileIndex, IndexOptions, MinuteCount};

const NANOS_PER_10_MINUTES: i64 = 10 * NANOS_PER_MINUTE;

impl FileIndex {
    /// Builds the index of a file holding `records` in this order, split into row groups of the given sizes.
    ///
    /// # Panics
    /// If `row_groups` does not sum to `records.len()` or there are more than `u32::MAX` records: both are bugs
    /// of the caller, which writes the file.
    pub fn build<R: Borrow<LogRecord>>(
        records: &[R],
        row_groups: &[u32],
        options: &IndexOptions,
    ) -> FileIndex {
        let records: Vec<&LogRecord> = records.iter().map(Borrow::borrow).collect();
        let records = records.as_slice();
        assert_eq!(
            row_groups.iter().map(|&n| n as usize).sum::<usize>(),
            records.len(),
            "row groups must cover the records"
        );
        assert!(
            records.len() <= u32::MAX as usize,
            "a file holds at most u32::MAX rows"
        );

        // Service postings. A map handles any order; runs of one service (a file sorted by service, or bursts of
        // one service in a file sorted by time) skip the lookup.
        let mut service_ids: HashMap<&str, u32> = HashMap::default();
        let mut service_names: Vec<&str> = Vec::new();
        let mut service_of_row: Vec<u32> = Vec::with_capacity(records.len());
        // Row ids per severity and per service, in ascending order: each bitmap is then built in one pass
        // (`from_sorted_iter`), which costs the same whether a file's rows come in long runs or interleaved.
        let mut severity_rows: [Vec<u32>; 7] = Default::default();
        for (row, r) in records.iter().enumerate() {
            // Service lookups are skipped within a run of one service.
            let id = match service_of_row.last() {
                Some(&prev) if service_names[prev as usize] == r.service_name => prev,
                _ => {
                    let next = service_names.len() as u32;
                    *service_ids
                        .entry(r.service_name.as_str())
                        .or_insert_with(|| {
                            service_names.push(r.service_name.as_str());
                            next
                        })
                }
            };
            service_of_row.push(id);
            severity_rows[r.severity_text.code() as usize].push(row as u32);
        }
        let ascending = |rows: &[u32]| {
            RoaringBitmap::from_sorted_iter(rows.iter().copied()).expect("row ids ascend")
        };
        let severity_maps: Vec<RoaringBitmap> =
            severity_rows.iter().map(|r| ascending(r)).collect();
        // Renumber services in name order so the sidecar is canonical.
        let mut order: Vec<u32> = (0..service_names.len() as u32).collect();
        order.sort_by_key(|&i| service_names[i as usize]);
        let mut rank = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            rank[old as usize] = new as u32;
        }
        let mut service_rows: Vec<Vec<u32>> = vec![Vec::new(); order.len()];
        for (row, &old) in service_of_row.iter().enumerate() {
            service_rows[rank[old as usize] as usize].push(row as u32);
        }
        let service_maps: Vec<RoaringBitmap> = service_rows.iter().map(|r| ascending(r)).collect();
        let services: Vec<(String, RoaringBitmap)> = order
            .iter()
            .zip(service_maps)
            .map(|(&old, b)| (service_names[old as usize].to_owned(), b))
            .collect();
        let severities: Vec<(Severity, RoaringBitmap)> = Severity::ALL
            .into_iter()
            .zip(severity_maps)
            .filter(|(_, b)| !b.is_empty())
            .collect();

        // Per-minute rollup.
        let mut minutes: HashMap<(i64, u32, Severity), (u64, u64)> = HashMap::default();
        for (r, &old) in records.iter().zip(&service_of_row) {
            let e = minutes
                .entry((
                    r.timestamp.div_euclid(NANOS_PER_MINUTE),
                    rank[old as usize],
                    r.severity_text,
                ))
                .or_default();
            e.0 += 1;
            e.1 += r.bytes_uncompressed;
        }
        let mut minutes: Vec<MinuteCount> = minutes
            .into_iter()
            .map(
                |((minute, service, severity), (count, bytes))| MinuteCount {
                    minute,
                    service,
                    severity,
                    count,
                    bytes,
                },
            )
            .collect();
        minutes.sort_unstable();

        let (strings, high_cardinality_keys, attrs) =
            attribute_rollup(records, &service_of_row, &rank, options);

        FileIndex {
            rows: records.len() as u64,
            row_groups: row_groups.to_vec(),
            min_timestamp: records.iter().map(|r| r.timestamp).min().unwrap_or(0),
            max_timestamp: records.iter().map(|r| r.timestamp).max().unwrap_or(0),
            services,
            severities,
            minutes,
            strings,
            high_cardinality_keys,
            attrs,
            time_ordered_runs: records
                .windows(2)
                .zip(service_of_row.windows(2))
                .all(|(r, s)| {
                    s[0] != s[1]
                        || r[0].severity_text != r[1].severity_text
                        || r[0].timestamp <= r[1].timestamp
                }),
            time_ordered: records
                .windows(2)
                .all(|r| (r[0].timestamp, r[0].uuid) <= (r[1].timestamp, r[1].uuid)),
            severity_grouped: records.is_sorted_by_key(|r| crate::file_order_key(r)),
            all_log_attributes_counted: records.iter().all(|r| {
                r.attributes
                    .iter()
                    .all(|(k, v)| k.len() < options.max_attr_len && v.len() < options.max_attr_len)
            }),
        }
    }
}

/// What the rollup knows about one attribute key while it scans.
struct KeyState<'a> {
    kind: AttrKind,
    name: &'a str,
    /// Local ids of the key's values, while the key is not (yet) high-cardinality.
    values: HashMap<&'a str, u32>,
    value_names: Vec<&'a str>,
    /// Rows carrying the key.
    rows: usize,
    high: bool,
}

/// The counting state of [`attribute_rollup`]'s scan.
struct Counter<'a> {
    key_ids: HashMap<(AttrKind, &'a str), u32>,
    keys: Vec<KeyState<'a>>,
    /// (bucket offset << 32 | key id, value id + 1 (0: none) << 32 | service << 3 | severity, resource
    /// fingerprint or 0) → rows, for the entries of bucket `bucket`. Rows come in time order (twice: the file's
    /// severity groups), so counting one bucket at a time keeps the table small enough to stay in cache; one
    /// table for the whole file (~100k entries) made most lookups a cache miss, and the rollup took ~12% of an
    /// ingest's time (session 11).
    counts: HashMap<(u64, u64, u64), u64>,
    bucket: u64,
    /// The counts of buckets already left (a bucket met again adds entries that are merged at the end).
    done: Vec<((u64, u64, u64), u64)>,
    /// Per kind, the key ids last seen at each position of a set: rows of one service carry the same keys in the
    /// same order, so a key is compared with the previous row's key at its position before it is hashed.
    recent: [Vec<(&'a str, u32)>; 2],
    max_values_per_key: usize,
}

impl<'a> Counter<'a> {
    /// Counts `rows` rows carrying entry (`k`, `v`) at position `i` of a set of `kind`.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        kind: AttrKind,
        i: usize,
        k: &'a str,
        v: &'a str,
        bucket: u64,
        tail: u64,
        fingerprint: u64,
        rows: u64,
    ) {
        let recent = &mut self.recent[kind as usize];
        let key_id = match recent.get(i) {
            Some(&(name, id)) if name == k => id,
            _ => {
                let next = self.keys.len() as u32;
                let keys = &mut self.keys;
                let id = *self.key_ids.entry((kind, k)).or_insert_with(|| {
                    keys.push(KeyState {
                        kind,
                        name: k,
                        values: HashMap::default(),
                        value_names: Vec::new(),
                        rows: 0,
                        high: false,
                    });
                    next
                });
                if i < recent.len() {
                    recent[i] = (k, id);
                } else {
                    recent.push((k, id));
                }
                id
            }
        };
        if bucket != self.bucket {
            self.done.extend(self.counts.drain());
            self.bucket = bucket;
        }
        let state = &mut self.keys[key_id as usize];
        state.rows += rows as usize;
        let value = if state.high {
            0
        } else {
            let next = state.value_names.len() as u32;
            let id = *state.values.entry(v).or_insert(next);
            if id == next {
                state.value_names.push(v);
                if state.value_names.len() > self.max_values_per_key {
                    state.high = true;
                    state.values = HashMap::default();
                }
            }
            u64::from(id) + 1
        };
        *self
            .counts
            .entry((
                (bucket << 32) | u64::from(key_id),
                (value << 32) | tail,
                fingerprint,
            ))
            .or_default() += rows;
    }
}

/// Builds the attribute rollup in one pass: keys and their values get small local ids, counts are kept under
/// packed integer keys (cheap to hash), and keys found to be high-cardinality are folded to key-only counts at
/// the end. Returns (sorted string table, high-cardinality keys, sorted counts).
///
/// Resource sets are counted per distinct set, not per row: the scan counts rows per (bucket, service,
/// severity, resource set), and each set's entries are then counted once per such group with its row count.
/// Rows of one resource carry equal sets (one `service.name` per resource), so this does a hash lookup per row
/// where counting entries did one per entry (four to a dozen), and the result is the same: counts add up, and
/// which values a key has does not depend on the order they are seen in.
fn attribute_rollup(
    records: &[&LogRecord],
    service_of_row: &[u32],
    rank: &[u32],
    options: &IndexOptions,
) -> (Vec<String>, Vec<(AttrKind, u32)>, Vec<AttrCount>) {
    let base = records
        .iter()
        .map(|r| r.timestamp.div_euclid(NANOS_PER_10_MINUTES))
        .min()
        .unwrap_or(0);
    let mut counter = Counter {
        key_ids: HashMap::default(),
        keys: Vec::new(),
        counts: HashMap::default(),
        bucket: 0,
        done: Vec::new(),
        recent: Default::default(),
        max_values_per_key: options.max_values_per_key,
    };
    // Distinct resource sets (with their fingerprints), and rows per (bucket, tail, set). A set is looked up by
    // its storage's address and the record's fingerprint: records of one resource share their set, and every
    // record is borrowed here, so an address is one set's for the whole call. Only a set met at a new address
    // (once per decoded piece of input, or an empty set) is hashed whole, by the map keyed by (fingerprint, set).
    let mut resources: Vec<(u64, &Attributes)> = Vec::new();
    let mut by_set: HashMap<(u64, &Attributes), u32> = HashMap::default();
    let mut by_address: HashMap<(usize, u64), u32> = HashMap::default();
    let mut resource_rows: HashMap<(u64, u64, u32), u64> = HashMap::default();
    for (r, &old) in records.iter().zip(service_of_row) {
        let bucket = (r.timestamp.div_euclid(NANOS_PER_10_MINUTES) - base) as u64;
        let tail = (u64::from(rank[old as usize]) << 3) | u64::from(r.severity_text.code());
        for (i, (k, v)) in r.attributes.iter().enumerate() {
            if k.len() < options.max_attr_len && v.len() < options.max_attr_len {
                counter.add(AttrKind::Log, i, k, v, bucket, tail, 0, 1);
            }
        }
        let fingerprint = r.resource_fingerprint;
        let set = &r.resource_attributes;
        let address = set.share_id().map(|a| (a, fingerprint));
        let resource = match address.and_then(|a| by_address.get(&a)) {
            Some(&id) => id,
            None => {
                let next = resources.len() as u32;
                let id = *by_set.entry((fingerprint, set)).or_insert_with(|| {
                    resources.push((fingerprint, set));
                    next
                });
                if let Some(a) = address {
                    by_address.insert(a, id);
                }
                id
            }
        };
        *resource_rows.entry((bucket, tail, resource)).or_default() += 1;
    }
    // Sorted, so the scan of resource entries visits keys in a fixed order (ids are local and renumbered below,
    // but a fixed order keeps the `recent` fast path effective and the work repeatable), bucket by bucket.
    let mut resource_rows: Vec<((u64, u64, u32), u64)> = resource_rows.into_iter().collect();
    resource_rows.sort_unstable_by_key(|&((bucket, tail, id), _)| (bucket, id, tail));
    for ((bucket, tail, id), rows) in resource_rows {
        let (fingerprint, attrs) = resources[id as usize];
        for (i, (k, v)) in attrs.iter().enumerate() {
            counter.add(AttrKind::Resource, i, k, v, bucket, tail, fingerprint, rows);
        }
    }
    let Counter {
        mut keys,
        mut counts,
        done: mut entries,
        ..
    } = counter;
    entries.extend(counts.drain());
    for state in &mut keys {
        state.high |= is_high_cardinality(state.value_names.len(), state.rows, options);
    }

    // The string table: key names, and values of keys that keep them; sorted so the sidecar is canonical.
    let mut strings: Vec<&str> = keys.iter().map(|k| k.name).collect();
    for k in keys.iter().filter(|k| !k.high) {
        strings.extend(&k.value_names);
    }
    strings.sort_unstable();
    strings.dedup();
    let string_id: HashMap<&str, u32> = strings
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as u32))
        .collect();
    let key_string: Vec<u32> = keys.iter().map(|k| string_id[k.name]).collect();

    // Entries are sorted as (k0, k1, fingerprint, count) tuples of integers in `AttrCount`'s order, 32 bytes each:
    // k0 = bucket offset << 33 | kind << 32 | key, k1 = (value + 1, or 0) << 32 | service << 3 | severity. Two or
    // three integer comparisons where the derived order of `AttrCount` (48 bytes) takes up to seven; the sort was
    // a third of the rollup's instructions. Bucket offsets are below 2^25 (the 10-minute buckets of the i64
    // nanosecond range), `b`'s low half is already service << 3 | severity, and value + 1 fits in 32 bits while
    // the string table holds fewer than u32::MAX strings (ids are u32 in the sidecar and in `string_id` above; a
    // file would need four billion distinct keys and values).
    type Packed = (u64, u64, u64, u64);
    let pack = |a: u64, b: u64, fingerprint: u64, count: u64| -> Packed {
        let key = &keys[(a & 0xFFFF_FFFF) as usize];
        let value_local = (b >> 32) as u32;
        let value_plus_one = if key.high || value_local == 0 {
            0
        } else {
            u64::from(string_id[key.value_names[value_local as usize - 1]]) + 1
        };
        let k0 = ((a >> 32) << 33)
            | (u64::from(key.kind as u8) << 32)
            | u64::from(key_string[(a & 0xFFFF_FFFF) as usize]);
        (
            k0,
            (value_plus_one << 32) | (b & 0xFFFF_FFFF),
            fingerprint,
            count,
        )
    };
    let unpack = |(k0, k1, fingerprint, count): Packed| AttrCount {
        bucket: base + (k0 >> 33) as i64,
        kind: if (k0 >> 32) & 1 == 0 {
            AttrKind::Log
        } else {
            AttrKind::Resource
        },
        key: k0 as u32,
        value: match k1 >> 32 {
            0 => None,
            v => Some((v - 1) as u32),
        },
        service: ((k1 & 0xFFFF_FFFF) >> 3) as u32,
        severity: Severity::from_code((k1 & 7) as u8).expect("a code written above"),
        resource_fingerprint: fingerprint,
        count,
    };
    // Entries of keys that keep their values are already unique; only entries of high-cardinality keys (whose
    // early values were counted one by one before the key crossed the limit) must be merged per value-less key.
    let mut packed: Vec<Packed> = Vec::with_capacity(entries.len());
    let mut folded: HashMap<(u64, u64, u64), u64> = HashMap::default();
    for ((a, b, fingerprint), count) in entries {
        if keys[(a & 0xFFFF_FFFF) as usize].high {
            *folded.entry((a, b & 0xFFFF_FFFF, fingerprint)).or_default() += count;
        } else {
            packed.push(pack(a, b, fingerprint, count));
        }
    }
    packed.extend(
        folded
            .into_iter()
            .map(|((a, b, fingerprint), count)| pack(a, b, fingerprint, count)),
    );
    packed.sort_unstable();
    // An entry counted in two visits of its bucket (rows not in bucket order) is one entry.
    packed.dedup_by(|later, kept| {
        let same = (later.0, later.1, later.2) == (kept.0, kept.1, kept.2);
        if same {
            kept.3 += later.3;
        }
        same
    });
    let attrs: Vec<AttrCount> = packed.into_iter().map(unpack).collect();
    let mut high: Vec<(AttrKind, u32)> = keys
        .iter()
        .zip(&key_string)
        .filter(|(k, _)| k.high)
        .map(|(k, &id)| (k.kind, id))
        .collect();
    high.sort_unstable();
    (
        strings.into_iter().map(str::to_owned).collect(),
        high,
        attrs,
    )
}

/// Whether a key with `distinct` values over `rows` rows is rolled up by key only.
fn is_high_cardinality(distinct: usize, rows: usize, options: &IndexOptions) -> bool {
    distinct > options.max_values_per_key
        || (distinct > 64 && distinct.saturating_mul(options.min_value_repeats) > rows)
}

/// Row-at-a-time reference computations of what a [`FileIndex`] holds, for property tests: deliberately simple,
/// with none of the builder's interning or renumbering.
pub mod naive {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    /// Row ids per service name.
    pub fn service_rows(records: &[LogRecord]) -> BTreeMap<String, BTreeSet<u32>> {
        let mut out: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            out.entry(r.service_name.clone())
                .or_default()
                .insert(i as u32);
        }
        out
    }

    /// Row ids per severity.
    pub fn severity_rows(records: &[LogRecord]) -> BTreeMap<Severity, BTreeSet<u32>> {
        let mut out: BTreeMap<Severity, BTreeSet<u32>> = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            out.entry(r.severity_text).or_default().insert(i as u32);
        }
        out
    }

    /// (minute, service, severity) → (rows, bytes).
    pub fn minutes(records: &[LogRecord]) -> BTreeMap<(i64, String, Severity), (u64, u64)> {
        let mut out: BTreeMap<(i64, String, Severity), (u64, u64)> = BTreeMap::new();
        for r in records {
            let minute = r.timestamp.div_euclid(60_000_000_000);
            let e = out
                .entry((minute, r.service_name.clone(), r.severity_text))
                .or_default();
            e.0 += 1;
            e.1 += r.bytes_uncompressed;
        }
        out
    }

    /// Key of [`attrs`]: (bucket, kind, key, value or None for a high-cardinality key, service, severity, fingerprint).
    pub type AttrKey = (i64, AttrKind, String, Option<String>, String, Severity, u64);

    /// The attribute rollup, computed row by row with the same options.
    pub fn attrs(records: &[LogRecord], options: &IndexOptions) -> BTreeMap<AttrKey, u64> {
        let mut values: BTreeMap<(AttrKind, String), (BTreeSet<String>, usize)> = BTreeMap::new();
        let eligible = |kind: AttrKind, k: &str, v: &str| {
            kind == AttrKind::Resource
                || (k.len() < options.max_attr_len && v.len() < options.max_attr_len)
        };
        for r in records {
            for (kind, attrs) in [
                (AttrKind::Log, &r.attributes),
                (AttrKind::Resource, &r.resource_attributes),
            ] {
                for (k, v) in attrs.iter().filter(|(k, v)| eligible(kind, k, v)) {
                    let e = values.entry((kind, k.to_owned())).or_default();
                    e.0.insert(v.to_owned());
                    e.1 += 1;
                }
            }
        }
        let mut out = BTreeMap::new();
        for r in records {
            for (kind, attrs) in [
                (AttrKind::Log, &r.attributes),
                (AttrKind::Resource, &r.resource_attributes),
            ] {
                for (k, v) in attrs.iter().filter(|(k, v)| eligible(kind, k, v)) {
                    let (set, rows) = &values[&(kind, k.to_owned())];
                    let high = set.len() > options.max_values_per_key
                        || (set.len() > 64 && set.len() * options.min_value_repeats > *rows);
                    let key = (
                        r.timestamp.div_euclid(10 * 60_000_000_000),
                        kind,
                        k.to_owned(),
                        (!high).then(|| v.to_owned()),
                        r.service_name.clone(),
                        r.severity_text,
                        if kind == AttrKind::Resource {
                            r.resource_fingerprint
                        } else {
                            0
                        },
                    );
                    *out.entry(key).or_insert(0) += 1;
                }
            }
        }
        out
    }
}
