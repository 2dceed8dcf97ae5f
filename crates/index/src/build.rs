//! Building a [`FileIndex`] from a file's records.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};

use quarry_core::{LogRecord, NANOS_PER_MINUTE, Severity};
use roaring::RoaringBitmap;

use crate::{AttrCount, AttrKind, FileIndex, IndexOptions, MinuteCount};

/// (bucket, kind, key id, value id, service rank, severity, fingerprint): the grouping key of the attribute rollup.
type AttrGroup = (i64, AttrKind, u32, Option<u32>, u32, Severity, u64);

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

        // Service postings. Records arrive sorted by service in quarry's files, so runs are long; a map handles
        // any order anyway.
        let mut service_ids: HashMap<&str, u32> = HashMap::new();
        let mut service_names: Vec<&str> = Vec::new();
        let mut service_of_row: Vec<u32> = Vec::with_capacity(records.len());
        let mut severity_maps: [RoaringBitmap; 7] = Default::default();
        for (row, r) in records.iter().enumerate() {
            let next = service_names.len() as u32;
            let id = *service_ids
                .entry(r.service_name.as_str())
                .or_insert_with(|| {
                    service_names.push(r.service_name.as_str());
                    next
                });
            service_of_row.push(id);
            severity_maps[r.severity_text.code() as usize]
                .try_push(row as u32)
                .expect("row ids ascend");
        }
        // Renumber services in name order so the sidecar is canonical.
        let mut order: Vec<u32> = (0..service_names.len() as u32).collect();
        order.sort_by_key(|&i| service_names[i as usize]);
        let mut rank = vec![0u32; order.len()];
        for (new, &old) in order.iter().enumerate() {
            rank[old as usize] = new as u32;
        }
        let mut service_maps = vec![RoaringBitmap::new(); order.len()];
        for (row, &old) in service_of_row.iter().enumerate() {
            service_maps[rank[old as usize] as usize]
                .try_push(row as u32)
                .expect("row ids ascend");
        }
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
        let mut minutes: HashMap<(i64, u32, Severity), (u64, u64)> = HashMap::new();
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

        // Attribute rollup. First find the keys with too many distinct values.
        let counted = |kind: AttrKind, k: &str, v: &str| {
            kind == AttrKind::Resource
                || (k.len() < options.max_attr_len && v.len() < options.max_attr_len)
        };
        let mut distinct: HashMap<(AttrKind, &str), (HashSet<&str>, usize)> = HashMap::new();
        let mut high: HashSet<(AttrKind, &str)> = HashSet::new();
        for r in records {
            for (kind, attrs) in [
                (AttrKind::Log, &r.attributes),
                (AttrKind::Resource, &r.resource_attributes),
            ] {
                for (k, v) in attrs {
                    if !counted(kind, k, v) || high.contains(&(kind, k.as_str())) {
                        continue;
                    }
                    let (set, rows) = distinct.entry((kind, k.as_str())).or_default();
                    set.insert(v.as_str());
                    *rows += 1;
                    if set.len() > options.max_values_per_key {
                        distinct.remove(&(kind, k.as_str()));
                        high.insert((kind, k.as_str()));
                    }
                }
            }
        }
        for (key, (set, rows)) in &distinct {
            if is_high_cardinality(set.len(), *rows, options) {
                high.insert(*key);
            }
        }
        drop(distinct);
        let mut string_ids: HashMap<&str, u32> = HashMap::new();
        let mut strings: Vec<&str> = Vec::new();
        let mut counts: HashMap<AttrGroup, u64> = HashMap::new();
        for (r, &old) in records.iter().zip(&service_of_row) {
            let bucket = r.timestamp.div_euclid(NANOS_PER_10_MINUTES);
            for (kind, attrs) in [
                (AttrKind::Log, &r.attributes),
                (AttrKind::Resource, &r.resource_attributes),
            ] {
                for (k, v) in attrs {
                    if !counted(kind, k, v) {
                        continue;
                    }
                    let key = intern_str(&mut string_ids, &mut strings, k);
                    let value = if high.contains(&(kind, k.as_str())) {
                        None
                    } else {
                        Some(intern_str(&mut string_ids, &mut strings, v))
                    };
                    let fingerprint = match kind {
                        AttrKind::Log => 0,
                        AttrKind::Resource => r.resource_fingerprint,
                    };
                    *counts
                        .entry((
                            bucket,
                            kind,
                            key,
                            value,
                            rank[old as usize],
                            r.severity_text,
                            fingerprint,
                        ))
                        .or_default() += 1;
                }
            }
        }
        // Renumber strings in sorted order so the sidecar is canonical.
        let mut sorder: Vec<u32> = (0..strings.len() as u32).collect();
        sorder.sort_by_key(|&i| strings[i as usize]);
        let mut srank = vec![0u32; sorder.len()];
        for (new, &old) in sorder.iter().enumerate() {
            srank[old as usize] = new as u32;
        }
        let mut attrs: Vec<AttrCount> = counts
            .into_iter()
            .map(
                |((bucket, kind, key, value, service, severity, resource_fingerprint), count)| {
                    AttrCount {
                        bucket,
                        kind,
                        key: srank[key as usize],
                        value: value.map(|v| srank[v as usize]),
                        service,
                        severity,
                        resource_fingerprint,
                        count,
                    }
                },
            )
            .collect();
        attrs.sort_unstable();
        let mut high_cardinality_keys: Vec<(AttrKind, u32)> = high
            .iter()
            .filter_map(|(kind, k)| string_ids.get(k).map(|&id| (*kind, srank[id as usize])))
            .collect();
        high_cardinality_keys.sort_unstable();
        let strings: Vec<String> = sorder
            .iter()
            .map(|&i| strings[i as usize].to_owned())
            .collect();

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
        }
    }
}

/// Whether a key with `distinct` values over `rows` rows is rolled up by key only.
fn is_high_cardinality(distinct: usize, rows: usize, options: &IndexOptions) -> bool {
    distinct > options.max_values_per_key
        || (distinct > 64 && distinct.saturating_mul(options.min_value_repeats) > rows)
}

fn intern_str<'a>(ids: &mut HashMap<&'a str, u32>, strings: &mut Vec<&'a str>, s: &'a str) -> u32 {
    let next = strings.len() as u32;
    *ids.entry(s).or_insert_with(|| {
        strings.push(s);
        next
    })
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
                    let e = values.entry((kind, k.clone())).or_default();
                    e.0.insert(v.clone());
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
                    let (set, rows) = &values[&(kind, k.clone())];
                    let high = set.len() > options.max_values_per_key
                        || (set.len() > 64 && set.len() * options.min_value_repeats > *rows);
                    let key = (
                        r.timestamp.div_euclid(10 * 60_000_000_000),
                        kind,
                        k.clone(),
                        (!high).then(|| v.clone()),
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
