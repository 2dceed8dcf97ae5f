//! The built index equals what a naive pass over the rows computes.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use quarry_index::{FileIndex, IndexOptions, naive};

use crate::{plain_record, records_strategy, row_groups};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn postings_and_rollups_equal_the_naive_computation(
        records in records_strategy(300),
        group in 1usize..100,
        max_values in 1usize..8,
        min_repeats in 1usize..4,
    ) {
        let options = IndexOptions { max_values_per_key: max_values, min_value_repeats: min_repeats, max_attr_len: 256 };
        let groups = row_groups(records.len(), group);
        let index = FileIndex::build(&records, &groups, &options);
        index.validate().unwrap();
        // Reading without the attribute rollup gives the same index minus that rollup.
        let light = FileIndex::from_bytes_without_attrs(&index.to_bytes()).unwrap();
        prop_assert_eq!(&light, &FileIndex { strings: vec![], high_cardinality_keys: vec![], attrs: vec![], ..index.clone() });

        prop_assert_eq!(index.rows, records.len() as u64);
        prop_assert_eq!(&index.row_groups, &groups);
        prop_assert_eq!(index.min_timestamp, records.iter().map(|r| r.timestamp).min().unwrap_or(0));
        prop_assert_eq!(index.max_timestamp, records.iter().map(|r| r.timestamp).max().unwrap_or(0));

        let services: BTreeMap<String, BTreeSet<u32>> =
            index.services.iter().map(|(s, b)| (s.clone(), b.iter().collect())).collect();
        prop_assert_eq!(services, naive::service_rows(&records));
        let severities: BTreeMap<_, BTreeSet<u32>> =
            index.severities.iter().map(|(s, b)| (*s, b.iter().collect())).collect();
        prop_assert_eq!(severities, naive::severity_rows(&records));
        for (name, rows) in naive::service_rows(&records) {
            prop_assert_eq!(index.service_rows(&name).unwrap().iter().collect::<BTreeSet<_>>(), rows);
        }
        prop_assert!(index.service_rows("no-such-service").is_none());

        let minutes: BTreeMap<_, _> = index
            .minutes
            .iter()
            .map(|m| ((m.minute, index.services[m.service as usize].0.clone(), m.severity), (m.count, m.bytes)))
            .collect();
        prop_assert_eq!(minutes, naive::minutes(&records));

        let attrs: BTreeMap<naive::AttrKey, u64> = index
            .attrs
            .iter()
            .map(|a| {
                (
                    (
                        a.bucket,
                        a.kind,
                        index.strings[a.key as usize].clone(),
                        a.value.map(|v| index.strings[v as usize].clone()),
                        index.services[a.service as usize].0.clone(),
                        a.severity,
                        a.resource_fingerprint,
                    ),
                    a.count,
                )
            })
            .collect();
        prop_assert_eq!(attrs, naive::attrs(&records, &options));

        // Whole-file totals: the naive rollup summed over bucket and resource, by (kind, key, value, service,
        // severity), with nothing else left in the entries.
        type TotalKey = (quarry_index::AttrKind, String, Option<String>, String, quarry_core::Severity);
        let mut want: BTreeMap<TotalKey, u64> = BTreeMap::new();
        for ((_, kind, key, value, service, severity, _), count) in naive::attrs(&records, &options) {
            *want.entry((kind, key, value, service, severity)).or_default() += count;
        }
        let totals = index.attr_totals();
        let mut got = BTreeMap::new();
        for a in &totals.attrs {
            prop_assert_eq!((a.bucket, a.resource_fingerprint), (0, 0));
            let k = (
                a.kind,
                totals.strings[a.key as usize].clone(),
                a.value.map(|v| totals.strings[v as usize].clone()),
                totals.services[a.service as usize].0.clone(),
                a.severity,
            );
            prop_assert!(got.insert(k, a.count).is_none(), "one entry per (kind, key, value, service, severity)");
        }
        prop_assert_eq!(got, want);
        prop_assert_eq!(&totals.high_cardinality_keys, &index.high_cardinality_keys);

        // Whether any log attribute pair was left out of the rollup for its length.
        let all_counted = records.iter().all(|r| {
            r.attributes.iter().all(|(k, v)| k.len() < options.max_attr_len && v.len() < options.max_attr_len)
        });
        prop_assert_eq!(index.all_log_attributes_counted, all_counted);
        prop_assert_eq!(totals.all_log_attributes_counted, all_counted);

        // The byte form reads back identically.
        prop_assert_eq!(FileIndex::from_bytes(&index.to_bytes()).unwrap(), index);
    }
}

#[test]
fn row_group_starts_split_the_row_id_space() {
    let records: Vec<quarry_core::LogRecord> = Vec::new();
    let index = FileIndex::build(&records, &[], &IndexOptions::default());
    assert_eq!(index.row_group_starts(), vec![0]);
    assert_eq!(FileIndex::from_bytes(&index.to_bytes()).unwrap(), index);
}

#[test]
fn high_cardinality_keys_keep_key_counts_only() {
    // 200 rows, each with a unique request id and one of three regions.
    let rows: Vec<_> = (0..200)
        .map(|i| quarry_core::LogRecord {
            severity_number: 9,
            attributes: [
                ("region", format!("r{}", i % 3)),
                ("request_id", format!("{i:08x}")),
            ]
            .into_iter()
            .collect(),
            resource_attributes: [("service.name", "api")].into_iter().collect(),
            resource_fingerprint: 1,
            bytes_uncompressed: 10,
            ..plain_record("api", 1_793_491_200_000_000_000 + i * 1_000_000)
        })
        .collect();
    let index = FileIndex::build(&rows, &[200], &IndexOptions::default());
    let key_id = |k: &str| index.strings.iter().position(|s| s == k).unwrap() as u32;
    assert_eq!(
        index.high_cardinality_keys,
        vec![(quarry_index::AttrKind::Log, key_id("request_id"))]
    );
    let request_rows: u64 = index
        .attrs
        .iter()
        .filter(|a| a.key == key_id("request_id"))
        .map(|a| a.count)
        .sum();
    assert_eq!(request_rows, 200);
    assert!(
        index
            .attrs
            .iter()
            .filter(|a| a.key == key_id("request_id"))
            .all(|a| a.value.is_none())
    );
    let regions: u64 = index
        .attrs
        .iter()
        .filter(|a| a.key == key_id("region") && a.value.is_some())
        .map(|a| a.count)
        .sum();
    assert_eq!(regions, 200);
    assert!(
        !index.strings.iter().any(|s| s == "0000002a"),
        "request ids are not interned"
    );
}

/// The naive answer of `rows_in_minutes`: rows with a selected service and severity whose minute is in
/// `first..=last`.
fn naive_rows_in_minutes(
    records: &[quarry_core::LogRecord],
    services: Option<&BTreeSet<String>>,
    severities: Option<&BTreeSet<quarry_core::Severity>>,
    first: i64,
    last: i64,
) -> BTreeSet<u32> {
    (0u32..)
        .zip(records)
        .filter(|(_, r)| {
            let severity = r.severity_text;
            let minute = r.timestamp.div_euclid(60_000_000_000);
            services.is_none_or(|s| s.contains(&r.service_name))
                && severities.is_none_or(|s| s.contains(&severity))
                && (first..=last).contains(&minute)
        })
        .map(|(i, _)| i)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Sorted the way quarry writes files (by time), or the way it wrote them before (by service, severity,
    /// time), the rows of a minute window follow from the minute rollup; in any other order the answer is either
    /// exact or `None` (never a wrong set of rows).
    #[test]
    fn rows_in_minutes_equal_the_naive_selection(
        mut records in records_strategy(300),
        order in 0u8..4,
        first in -70i64..130,
        len in 0i64..40,
        services in prop::option::of(prop::collection::btree_set(0usize..6, 0..3)),
        severities in prop::option::of(prop::collection::btree_set(0usize..7, 0..3)),
    ) {
        match order {
            0 => {}
            1 => records.sort_by(|a, b| {
                (&a.service_name, a.severity_text.as_str(), a.timestamp).cmp(&(&b.service_name, b.severity_text.as_str(), b.timestamp))
            }),
            2 => records.sort_by_key(|r| (r.timestamp, r.uuid)),
            _ => records.sort_by_key(|r| (quarry_index::severity_group(r.severity_text), r.timestamp, r.uuid)),
        }
        let sorted = order != 0;
        let services: Option<BTreeSet<String>> =
            services.map(|s| s.into_iter().map(|i| format!("svc{i}")).collect());
        let severities: Option<BTreeSet<quarry_core::Severity>> =
            severities.map(|s| s.into_iter().map(|i| quarry_core::Severity::ALL[i]).collect());
        // Timestamps of `records_strategy` start at minute 29_891_520, one hour before it and two after.
        let first = 29_891_520 + first;
        let index = FileIndex::build(&records, &[records.len() as u32], &IndexOptions::default());
        let in_time_order = records.windows(2).all(|w| (w[0].timestamp, w[0].uuid) <= (w[1].timestamp, w[1].uuid));
        let grouped = records.windows(2).all(|w| {
            let key = |r: &quarry_core::LogRecord| (quarry_index::severity_group(r.severity_text), r.timestamp, r.uuid);
            key(&w[0]) <= key(&w[1])
        });
        prop_assert_eq!(index.time_ordered, in_time_order);
        prop_assert_eq!(index.severity_grouped, grouped);
        prop_assert!(order != 2 || in_time_order);
        prop_assert!(order != 3 || grouped);
        // The flags travel in the sidecar's footer.
        let index = FileIndex::from_bytes(&index.to_bytes()).unwrap();
        prop_assert_eq!(index.time_ordered, in_time_order);
        prop_assert_eq!(index.severity_grouped, grouped);
        match index.time_runs() {
            Some(runs) => {
                // The runs tile the file in order, each in time order and of one group (or all rows).
                let mut at = 0u32;
                let mut all = Vec::new();
                for run in &runs {
                    prop_assert_eq!(run.rows.start, at);
                    at = run.rows.end;
                    let rows = &records[run.rows.start as usize..run.rows.end as usize];
                    prop_assert!(rows.windows(2).all(|w| (w[0].timestamp, w[0].uuid) <= (w[1].timestamp, w[1].uuid)));
                    prop_assert!(rows.iter().all(|r| run.holds(r.severity_text)));
                    all.extend(index.run_minute_span(run, first, first + len));
                }
                prop_assert_eq!(at as usize, records.len());
                let want: Vec<u32> = naive_rows_in_minutes(&records, None, None, first, first + len).into_iter().collect();
                prop_assert_eq!(all, want);
            }
            None => prop_assert!(!in_time_order && !grouped),
        }
        let got = index.rows_in_minutes(services.as_ref(), severities.as_ref(), first, first + len);
        let want = naive_rows_in_minutes(&records, services.as_ref(), severities.as_ref(), first, first + len);
        match got {
            Some(rows) => prop_assert_eq!(rows.iter().collect::<BTreeSet<u32>>(), want),
            None => prop_assert!(!sorted, "a file in quarry's order always has minute row ranges"),
        }
    }
}

/// Found by CI (proptest seed c932ac99…): one (service, severity) run, contiguous and with minute counts that add
/// up, but newest row first. The rollup cannot see the order inside a run, so the index must know it from the
/// build, or it names the wrong row.
#[test]
fn regression_a_run_out_of_time_order_is_not_located_from_the_rollup() {
    let record = |minute: i64| plain_record("svc2", minute * 60_000_000_000);
    let (early, late) = (29_891_520, 29_891_603);
    let newest_first = [record(late), record(early)];
    let index = FileIndex::build(&newest_first, &[2], &IndexOptions::default());
    assert!(!index.time_ordered_runs);
    assert_eq!(index.rows_in_minutes(None, None, late - 39, late), None);
    // Through the sidecar bytes too: the flag travels in the footer.
    let read = FileIndex::from_bytes(&index.to_bytes()).expect("valid");
    assert!(!read.time_ordered_runs);
    assert_eq!(read.rows_in_minutes(None, None, late - 39, late), None);
    // In time order the same rows are located exactly.
    let oldest_first = [record(early), record(late)];
    let index = FileIndex::from_bytes(
        &FileIndex::build(&oldest_first, &[2], &IndexOptions::default()).to_bytes(),
    )
    .expect("valid");
    assert!(index.time_ordered_runs);
    let rows = index
        .rows_in_minutes(None, None, late - 39, late)
        .expect("time-ordered runs");
    assert_eq!(rows.iter().collect::<Vec<u32>>(), [1]);
}

/// Time order is (timestamp, uuid), the order of a list (spec §3.1): rows of one instant out of uuid order are
/// not time-ordered, since a reader walking a file from its end would otherwise stop before a row it needs.
#[test]
fn time_order_includes_the_uuid() {
    let record = |minute: i64, uuid: u8| quarry_core::LogRecord {
        uuid: [uuid; 16],
        ..plain_record("svc", minute * 60_000_000_000)
    };
    let minute = 29_891_520;
    let ordered = [record(minute, 1), record(minute, 2), record(minute + 3, 0)];
    let index = FileIndex::build(&ordered, &[3], &IndexOptions::default());
    assert!(index.time_ordered);
    let runs = index.time_runs().expect("time-ordered");
    let [run] = runs.as_slice() else {
        panic!("one run expected: {runs:?}")
    };
    assert_eq!(index.run_minute_span(run, minute + 1, minute + 5), 2..3);
    assert_eq!(index.run_minute_span(run, minute, minute), 0..2);
    assert_eq!(index.run_minute_span(run, minute + 4, minute + 9), 3..3);
    assert_eq!(index.run_minute_span(run, minute - 9, minute - 1), 0..0);
    let swapped = [record(minute, 2), record(minute, 1), record(minute + 3, 0)];
    let index = FileIndex::build(&swapped, &[3], &IndexOptions::default());
    assert!(!index.time_ordered && !index.severity_grouped);
    assert_eq!(index.time_runs(), None);
}

/// Errors after every other row, each group in time order: two runs, whose minute spans are found from the
/// counts of their own severities only.
#[test]
fn severity_groups_are_two_time_runs() {
    use quarry_core::Severity;
    let record = |minute: i64, severity: Severity| quarry_core::LogRecord {
        severity_text: severity,
        ..plain_record("svc", minute * 60_000_000_000)
    };
    let m = 29_891_520;
    let rows = [
        record(m, Severity::Info),
        record(m + 1, Severity::Debug),
        record(m + 2, Severity::Info),
        record(m, Severity::Fatal),
        record(m + 2, Severity::Error),
        record(m + 2, Severity::Error),
    ];
    let index =
        FileIndex::from_bytes(&FileIndex::build(&rows, &[6], &IndexOptions::default()).to_bytes())
            .expect("valid");
    assert!(index.severity_grouped && !index.time_ordered);
    let runs = index.time_runs().expect("grouped");
    assert_eq!(
        runs.iter()
            .map(|r| (r.rows.clone(), r.group))
            .collect::<Vec<_>>(),
        [(0..3, Some(0)), (3..6, Some(1))]
    );
    assert_eq!(index.run_minute_span(&runs[0], m + 1, m + 2), 1..3);
    assert_eq!(index.run_minute_span(&runs[1], m + 1, m + 2), 4..6);
    assert_eq!(index.run_minute_span(&runs[1], m, m), 3..4);
    let errors: BTreeSet<Severity> = [Severity::Error].into();
    let got = index
        .rows_in_minutes(None, Some(&errors), m, m + 5)
        .expect("grouped");
    assert_eq!(got.iter().collect::<Vec<u32>>(), [4, 5]);
    // Minute counts moved from an error minute to an info minute keep the file's total (so `validate` passes)
    // but would misplace both runs' minutes: such an index has no time runs, and its files are read whole.
    let mut forged = index.clone();
    let from = forged
        .minutes
        .iter()
        .position(|c| c.severity == Severity::Error)
        .expect("an error minute");
    let to = forged
        .minutes
        .iter()
        .position(|c| c.severity == Severity::Info)
        .expect("an info minute");
    forged.minutes[from].count -= 1;
    forged.minutes[to].count += 1;
    let forged = FileIndex::from_bytes(&forged.to_bytes()).expect("still consistent as a whole");
    assert_eq!(forged.time_runs(), None);
    assert_eq!(forged.rows_in_minutes(None, None, m, m + 5), None);
    // An error before an info row breaks the grouping.
    let mut mixed = rows.clone();
    mixed.swap(2, 3);
    let index = FileIndex::build(&mixed, &[6], &IndexOptions::default());
    assert!(!index.severity_grouped);
    assert_eq!(index.time_runs(), None);
}
