//! The kernels against straightforward re-computations, on random partial aggregates: many breakdown values (more
//! than ten), ties, empty names, repeated parts (as when files are merged), empty and one-bucket spines.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use quarry_agg::{
    BREAKDOWN_OTHER, NO_SERVICE, NO_VALUE, RankBy, SparklineInput, services, sparkline,
};
use quarry_core::Severity;

const VALUES: &[&str] = &[
    "",
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "g",
    "h",
    "i",
    "j",
    "k",
    "l",
    "(no value)",
];

fn naive_sparkline(
    input: SparklineInput,
    parts: &[(i64, &str, u64, u64)],
) -> Vec<(i64, String, u64, u64)> {
    let label = |v: &str| {
        if v.is_empty() {
            NO_VALUE.to_string()
        } else {
            v.to_string()
        }
    };
    let mut totals: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (_, v, c, b) in parts {
        let t = totals.entry(label(v)).or_default();
        t.0 += c;
        t.1 += b;
    }
    let mut order: Vec<(String, u64)> = totals
        .into_iter()
        .map(|(v, (c, b))| (v, if input.rank_by == RankBy::Count { c } else { b }))
        .collect();
    order.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let top: BTreeSet<String> = order.into_iter().take(10).map(|(v, _)| v).collect();
    let mut out: BTreeMap<(i64, String), (u64, u64)> = BTreeMap::new();
    for (t, v, c, b) in parts {
        let l = label(v);
        let l = if top.contains(&l) {
            l
        } else {
            BREAKDOWN_OTHER.to_string()
        };
        let e = out.entry((*t, l)).or_default();
        e.0 += c;
        e.1 += b;
    }
    let mut t = input.first;
    while input.last >= input.first && t <= input.last {
        if !out.keys().any(|(x, _)| *x == t) {
            out.insert((t, NO_VALUE.to_string()), (0, 0));
        }
        t += input.width;
    }
    out.into_iter()
        .take(input.limit)
        .map(|((t, v), (c, b))| (t, v, c, b))
        .collect()
}

fn parts_strategy() -> impl Strategy<Value = Vec<(i64, usize, u64, u64)>> {
    // Buckets 0..8 of width 10; counts with many ties (0..4).
    prop::collection::vec((0i64..8, 0usize..VALUES.len(), 0u64..4, 0u64..50), 0..80)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn sparkline_equals_the_naive_fold(
        raw in parts_strategy(),
        first in 0i64..5,
        len in -1i64..6,
        bytes in any::<bool>(),
        limit in 1usize..40,
    ) {
        let parts: Vec<(i64, &str, u64, u64)> = raw.iter().map(|(t, v, c, b)| (t * 10, VALUES[*v], *c, *b)).collect();
        let input = SparklineInput {
            first: first * 10,
            last: (first + len) * 10,
            width: 10,
            rank_by: if bytes { RankBy::Bytes } else { RankBy::Count },
            limit,
        };
        let got: Vec<(i64, String, u64, u64)> = sparkline(input, parts.iter().copied())
            .into_iter()
            .map(|p| (p.time, p.value, p.count, p.bytes))
            .collect();
        prop_assert_eq!(got, naive_sparkline(input, &parts));
    }

    #[test]
    fn services_equal_the_naive_overview(
        raw in prop::collection::vec((0usize..VALUES.len(), 0u8..7, 0u64..5), 0..60),
        cap in 1usize..20,
    ) {
        let parts: Vec<(&str, Severity, u64)> =
            raw.iter().map(|(s, sev, n)| (VALUES[*s], Severity::from_code(*sev).unwrap(), *n)).collect();
        let o = services(parts.iter().copied(), cap);
        let name = |s: &str| if s.is_empty() { NO_SERVICE.to_string() } else { s.to_string() };
        let mut per: BTreeMap<String, [u64; 5]> = BTreeMap::new();
        for (s, sev, n) in &parts {
            let e = per.entry(name(s)).or_default();
            e[0] += n;
            match sev {
                Severity::Trace | Severity::Debug => e[1] += n,
                Severity::Info => e[2] += n,
                Severity::Warn => e[3] += n,
                Severity::Error | Severity::Fatal => e[4] += n,
                Severity::Unknown => {}
            }
        }
        per.retain(|_, c| c[0] > 0);
        prop_assert_eq!(o.total_services, per.len());
        let mut list: Vec<(String, [u64; 5])> = per.into_iter().collect();
        list.sort_by(|a, b| b.1[0].cmp(&a.1[0]).then(a.0.cmp(&b.0)));
        list.truncate(cap);
        let sum: u64 = list.iter().map(|(_, c)| c[0]).sum();
        prop_assert_eq!(o.services.len(), list.len());
        for (got, (n, c)) in o.services.iter().zip(&list) {
            prop_assert_eq!(&got.service_name, n);
            prop_assert_eq!(got.log_count, c[0]);
            prop_assert_eq!(got.error_count, c[4]);
            let b = got.severity_breakdown;
            prop_assert_eq!([b.debug, b.info, b.warn, b.error], [c[1], c[2], c[3], c[4]]);
            // Rounded as Python does: within half a unit of the last digit of the exact ratio.
            prop_assert!((got.error_rate - c[4] as f64 / c[0] as f64).abs() <= 0.00005 + 1e-12);
            prop_assert!((got.volume_share_pct - 100.0 * c[0] as f64 / sum as f64).abs() <= 0.005 + 1e-9);
        }
        prop_assert_eq!(o.summary.top_services_count, list.len().min(5));
    }
}

#[test]
fn empty_inputs() {
    let input = SparklineInput {
        first: 0,
        last: 0,
        width: 60,
        rank_by: RankBy::Count,
        limit: 1000,
    };
    let one = sparkline(input, Vec::new());
    assert_eq!(one.len(), 1, "a one-bucket spine still shows its bucket");
    assert_eq!((one[0].value.as_str(), one[0].count), (NO_VALUE, 0));
    let o = services(Vec::new(), 10);
    assert_eq!(
        (
            o.services.len(),
            o.total_services,
            o.summary.top_services_count
        ),
        (0, 0, 0)
    );
}
