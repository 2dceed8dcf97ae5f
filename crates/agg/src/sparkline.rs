//! The sparkline kernel (spec §3.4.2): per bucket and breakdown value, rows and bytes, the top 10 values kept
//! and the rest folded into "other", every bucket of the spine present.
//!
//! * Values are ranked by their total over the window (rows, or bytes with [`RankBy::Bytes`]) descending, ties by
//!   value ascending; values ranked after the 10th become [`BREAKDOWN_OTHER`] and are summed.
//! * Empty values (a service without a name) are reported as [`NO_VALUE`].
//! * The spine: one bucket every `width` from `first` to `last` inclusive. A bucket without rows appears once,
//!   with value [`NO_VALUE`] and zeros.
//! * Output sorted by (time, value), at most [`SparklineInput::limit`] points.
//! * Empty input and an empty spine give an empty output.

use std::collections::{BTreeMap, HashMap};

/// PostHog's `BREAKDOWN_OTHER_STRING_LABEL`.
pub const BREAKDOWN_OTHER: &str = "$$_posthog_breakdown_other_$$";
/// The label of an empty breakdown value and of an empty bucket.
pub const NO_VALUE: &str = "(no value)";
/// Values kept before folding.
pub const TOP_VALUES: usize = 10;

/// What ranks the breakdown values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RankBy {
    /// Rows (the default).
    #[default]
    Count,
    /// `bytes_uncompressed`.
    Bytes,
}

/// The bucket grid and limits of one sparkline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SparklineInput {
    /// Start of the first bucket (ns).
    pub first: i64,
    /// Start of the last bucket (ns), `>= first` for a non-empty spine; `< first` means no spine.
    pub last: i64,
    /// Bucket width (ns), positive.
    pub width: i64,
    /// Ranking.
    pub rank_by: RankBy,
    /// At most this many points (PostHog: 1000).
    pub limit: usize,
}

/// One point of the series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SparkPoint {
    /// Bucket start (ns).
    pub time: i64,
    /// Breakdown value, [`NO_VALUE`] or [`BREAKDOWN_OTHER`].
    pub value: String,
    /// Rows.
    pub count: u64,
    /// Sum of `bytes_uncompressed`.
    pub bytes: u64,
}

/// Folds partial aggregates `(bucket start, value, rows, bytes)` (any order, repeats allowed) into the series.
pub fn sparkline<'a>(
    input: SparklineInput,
    parts: impl IntoIterator<Item = (i64, &'a str, u64, u64)>,
) -> Vec<SparkPoint> {
    let mut cells: HashMap<(i64, &'a str), (u64, u64)> = HashMap::new();
    let mut totals: HashMap<&'a str, (u64, u64)> = HashMap::new();
    for (t, v, c, b) in parts {
        let e = cells.entry((t, v)).or_default();
        e.0 += c;
        e.1 += b;
        let e = totals.entry(v).or_default();
        e.0 += c;
        e.1 += b;
    }
    let label = |v: &str| {
        if v.is_empty() {
            NO_VALUE.to_owned()
        } else {
            v.to_owned()
        }
    };
    // Rank on the reported label so that "" and a literal "(no value)" are one value, as in the output.
    let mut by_label: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (v, (c, b)) in &totals {
        let e = by_label.entry(label(v)).or_default();
        e.0 += c;
        e.1 += b;
    }
    let mut ranked: Vec<(String, u64)> = by_label
        .into_iter()
        .map(|(v, (c, b))| {
            let key = match input.rank_by {
                RankBy::Count => c,
                RankBy::Bytes => b,
            };
            (v, key)
        })
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let kept: std::collections::HashSet<String> = ranked
        .into_iter()
        .take(TOP_VALUES)
        .map(|(v, _)| v)
        .collect();
    let mut points: BTreeMap<(i64, String), (u64, u64)> = BTreeMap::new();
    for ((t, v), (c, b)) in cells {
        let l = label(v);
        let l = if kept.contains(&l) {
            l
        } else {
            BREAKDOWN_OTHER.to_owned()
        };
        let e = points.entry((t, l)).or_default();
        e.0 += c;
        e.1 += b;
    }
    if input.width > 0 && input.last >= input.first {
        let mut t = input.first;
        loop {
            if points
                .range((t, String::new())..)
                .next()
                .is_none_or(|((pt, _), _)| *pt != t)
            {
                points.insert((t, NO_VALUE.to_owned()), (0, 0));
            }
            match t.checked_add(input.width) {
                Some(n) if n <= input.last => t = n,
                _ => break,
            }
        }
    }
    points
        .into_iter()
        .take(input.limit)
        .map(|((time, value), (count, bytes))| SparkPoint {
            time,
            value,
            count,
            bytes,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(first: i64, last: i64) -> SparklineInput {
        SparklineInput {
            first,
            last,
            width: 10,
            rank_by: RankBy::Count,
            limit: 1000,
        }
    }

    #[test]
    fn folds_the_tail_fills_the_spine_and_sorts() {
        let mut parts = vec![];
        // 12 values: "v00" .. "v11" with counts 12 .. 1, all in bucket 10; "" in bucket 30.
        let names: Vec<String> = (0..12).map(|i| format!("v{i:02}")).collect();
        for (i, n) in names.iter().enumerate() {
            parts.push((10, n.as_str(), 12 - i as u64, 1));
        }
        parts.push((30, "", 5, 7));
        let out = sparkline(input(0, 40), parts);
        let at = |t: i64| out.iter().filter(|p| p.time == t).collect::<Vec<_>>();
        assert_eq!(
            at(0),
            vec![&SparkPoint {
                time: 0,
                value: NO_VALUE.into(),
                count: 0,
                bytes: 0
            }]
        );
        let ten = at(10);
        // Kept: v00..v06 (12..6 rows), then the tie at 5 between "(no value)" and v07 goes to the smaller label
        // "(no value)", then v07, then v08 (4): ten values. v09..v11 fold into "other". Bucket 10 holds the nine
        // kept v-values and "other".
        assert_eq!(ten.len(), 10, "{ten:?}");
        let other = ten.iter().find(|p| p.value == BREAKDOWN_OTHER).unwrap();
        assert_eq!(other.count, 3 + 2 + 1);
        assert_eq!(other.bytes, 3);
        assert!(ten.iter().any(|p| p.value == "v08"));
        assert!(!ten.iter().any(|p| p.value == "v09"));
        assert_eq!(
            at(30),
            vec![&SparkPoint {
                time: 30,
                value: NO_VALUE.into(),
                count: 5,
                bytes: 7
            }]
        );
        assert_eq!(at(20)[0].count, 0);
        assert_eq!(at(40).len(), 1);
        assert!(
            out.windows(2)
                .all(|w| (w[0].time, &w[0].value) < (w[1].time, &w[1].value))
        );
    }

    #[test]
    fn ranks_by_bytes_and_limits() {
        let parts = vec![(0, "a", 10, 1), (0, "b", 1, 100)];
        let mut i = input(0, 0);
        i.rank_by = RankBy::Bytes;
        let out = sparkline(i, parts.clone());
        assert_eq!(out.len(), 2);
        i.limit = 1;
        assert_eq!(sparkline(i, parts).len(), 1);
        assert!(
            sparkline(input(10, 0), Vec::new()).is_empty(),
            "no spine, no rows"
        );
    }
}
