//! quarry-agg: aggregation kernels that know nothing of storage or query planning.
//!
//! **Inputs**: time ranges, and partial aggregates — (bucket, value, count, bytes) for the sparkline, (service,
//! severity, count) for the services overview — from any source (rows, rollups, several files merged).
//! **Outputs**: bucket widths, interval labels, the sparkline series and the services table of spec §3.4–3.5.
//! **Main items**: [`Interval`], [`pick_interval`], [`sparkline`], [`services`].
//!
//! The kernels are pure functions of their inputs: the caller decides which rows count (quarry counts rows of
//! `[from, to)` only, so that sparkline totals equal `count`), the kernels fold, rank, fill and round.

#![warn(missing_docs)]

mod services;
mod sparkline;

pub use services::{
    NO_SERVICE, ServiceRow, ServicesOverview, ServicesSummary, SeverityBreakdown, round_to,
    services,
};
pub use sparkline::{
    BREAKDOWN_OTHER, NO_VALUE, RankBy, SparkPoint, SparklineInput, TOP_VALUES, sparkline,
};

use quarry_core::NANOS_PER_SECOND;

/// Candidate bucket widths in seconds (spec §3.4.1).
pub const CANDIDATES: [i64; 15] = [
    1, 5, 10, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400,
];

/// The unit PostHog states an interval in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntervalUnit {
    /// Seconds: the step was under a minute.
    Second,
    /// Minutes: the step was at least a minute.
    Minute,
}

/// A bucket width chosen by [`pick_interval`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval {
    /// Width in seconds (one of [`CANDIDATES`]).
    pub seconds: i64,
    /// The unit.
    pub unit: IntervalUnit,
}

impl Interval {
    /// Width in nanoseconds.
    pub fn nanos(&self) -> i64 {
        self.seconds * NANOS_PER_SECOND
    }

    /// The `interval` string of `count-ranges` (spec §3.3): `"{n}s"` in seconds; in minutes `"{n/1440}d"` when
    /// divisible by 1440, else `"{n/60}h"` when divisible by 60, else `"{n}m"`.
    pub fn label(&self) -> String {
        match self.unit {
            IntervalUnit::Second => format!("{}s", self.seconds),
            IntervalUnit::Minute => {
                let n = self.seconds / 60;
                if n % 1440 == 0 {
                    format!("{}d", n / 1440)
                } else if n % 60 == 0 {
                    format!("{}h", n / 60)
                } else {
                    format!("{n}m")
                }
            }
        }
    }

    /// The start of the epoch-aligned bucket holding `t`.
    pub fn bucket_start(&self, t: i64) -> i64 {
        quarry_core::time::floor_to(t, self.nanos())
    }
}

/// Picks the bucket width for a range of `range_nanos` and `target` buckets (spec §3.4.1): the candidate closest
/// to `range / target` (ties go to the smaller), in minutes when that step is at least 60 s. So a step in
/// [35 s, 60 s) gives a 60-*second* interval, as in PostHog. `target` 0 is treated as 1; an empty range gives 1 s.
pub fn pick_interval(range_nanos: i64, target: usize) -> Interval {
    let target = target.max(1) as i128;
    // Compare |c - step| exactly in nanoseconds scaled by target: |c*1e9*target - range|.
    let range = i128::from(range_nanos.max(0));
    let mut best = CANDIDATES[0];
    let mut best_dist = i128::MAX;
    for &c in &CANDIDATES {
        let dist = (i128::from(c) * i128::from(NANOS_PER_SECOND) * target - range).abs();
        if dist < best_dist {
            best = c;
            best_dist = dist;
        }
    }
    let unit = if range >= 60 * i128::from(NANOS_PER_SECOND) * target {
        IntervalUnit::Minute
    } else {
        IntervalUnit::Second
    };
    Interval {
        seconds: best,
        unit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = NANOS_PER_SECOND;

    #[test]
    fn picks_like_posthog() {
        // One hour / 50 = 72 s → 60 s, minutes.
        let i = pick_interval(3600 * S, 50);
        assert_eq!(
            (i.seconds, i.unit, i.label().as_str()),
            (60, IntervalUnit::Minute, "1m")
        );
        // 24 h / 50 = 1728 s → 1800.
        assert_eq!(pick_interval(86_400 * S, 50).label(), "30m");
        // 7 d / 50 = 12096 s → 14400 (4 h).
        assert_eq!(pick_interval(7 * 86_400 * S, 50).label(), "4h");
        // 30 d / 10 → 259200 s → 86400 (1 d).
        assert_eq!(pick_interval(30 * 86_400 * S, 10).label(), "1d");
        // Step in [35, 60): 60 s in seconds.
        let i = pick_interval(40 * 50 * S, 50);
        assert_eq!(
            (i.seconds, i.unit, i.label().as_str()),
            (60, IntervalUnit::Second, "60s")
        );
        // Tie between 5 and 10 at step 7.5 → the smaller.
        assert_eq!(pick_interval(75 * S, 10).seconds, 5);
        assert_eq!(pick_interval(0, 10).label(), "1s");
        assert_eq!(pick_interval(10 * S, 0).seconds, 10);
    }

    #[test]
    fn buckets_are_epoch_aligned() {
        let i = pick_interval(3600 * S, 50);
        assert_eq!(i.bucket_start(61 * S + 5), 60 * S);
        assert_eq!(i.bucket_start(-1), -60 * S);
    }
}
