//! Time ranges and PostHog's date grammar (spec §2.3), resolved against an explicit `now`.
//!
//! Nothing here reads the wall clock: every function that resolves a relative date takes `now` (nanoseconds since
//! the Unix epoch, UTC) as an argument, so a request answers the same way in a test as in production.
//!
//! # Grammar
//!
//! ```text
//! date      = "all" | iso | relative
//! iso       = YYYY "-" MM "-" DD [ ("T" | " ") hh ":" mm [ ":" ss [ "." fraction ] ] [ offset ] ]
//! offset    = "Z" | ("+" | "-") hh [ ":" ] mm
//! relative  = [ "-" ] [ digits ] unit [ "Start" | "End" ]
//! unit      = "s" seconds | "M" minutes | "h" hours | "d" days | "w" weeks | "m" months | "q" quarters (13 weeks)
//!           | "y" years
//! ```
//!
//! A relative date is `now − N units` (months and years are calendar arithmetic: the day is clamped to the length
//! of the target month). A missing `N` means 0, so `dStart` is the start of today. `Start` snaps the result to the
//! start of its hour (`h`), day (`d`), month (`m`) or year (`y`); `End` snaps it to the *exclusive* end of that
//! period, i.e. the start of the next one. The other units ignore `Start`/`End`, as in PostHog.
//!
//! # Departures from PostHog, on purpose
//!
//! * A naive ISO timestamp is UTC everywhere (PostHog reads it in the team's timezone on one path and UTC on another).
//! * PostHog *searches* the relative pattern anywhere in the text and treats anything unmatched (`"yesterday"`,
//!   `"-1H"`) as "now". quarry anchors the pattern and rejects anything else with an error, because a typo that
//!   silently means "now" returns an empty, plausible-looking answer.
//! * `End` yields the start of the next period rather than `xx:59:59.999999`: ranges are half-open `[from, to)`, so
//!   this keeps the last microsecond (and the nanoseconds quarry stores) inside the period.
//! * A relative `date_to` is exact (PostHog rounds it up to the end of the minute, or of the day, depending on the
//!   bucket unit of the endpoint; see [`DateBound`]).

use chrono::{
    DateTime, Datelike, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc,
};

use crate::{NANOS_PER_HOUR, NANOS_PER_MINUTE, NANOS_PER_SECOND};

/// Nanoseconds per day.
pub const NANOS_PER_DAY: i64 = 24 * NANOS_PER_HOUR;

/// A half-open time range `[start, end)` in nanoseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeRange {
    /// Inclusive start.
    pub start: i64,
    /// Exclusive end.
    pub end: i64,
}

impl TimeRange {
    /// A range; `start > end` gives an empty range that contains nothing.
    pub fn new(start: i64, end: i64) -> TimeRange {
        TimeRange { start, end }
    }

    /// Every representable instant.
    pub const ALL: TimeRange = TimeRange {
        start: i64::MIN,
        end: i64::MAX,
    };

    /// Whether `t` is inside the range.
    pub fn contains(&self, t: i64) -> bool {
        self.start <= t && t < self.end
    }

    /// Whether the range contains nothing.
    pub fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    /// Whether the closed interval `[min, max]` (a file's timestamp bounds) intersects the range.
    pub fn overlaps_closed(&self, min: i64, max: i64) -> bool {
        min < self.end && max >= self.start
    }

    /// Whether the closed interval `[min, max]` lies entirely inside the range.
    pub fn covers_closed(&self, min: i64, max: i64) -> bool {
        self.start <= min && max < self.end
    }

    /// Length in nanoseconds (0 when empty).
    pub fn len_nanos(&self) -> i64 {
        if self.is_empty() {
            0
        } else {
            self.end.saturating_sub(self.start)
        }
    }
}

/// What went wrong parsing a date. The caller adds the field name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid date {text:?}: {reason}")]
pub struct DateError {
    /// The text as given.
    pub text: String,
    /// What was expected.
    pub reason: &'static str,
}

/// A parsed date: an absolute instant, a relative offset from `now`, or `all` (the beginning of the team's data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateBound {
    /// An absolute instant (nanoseconds, UTC).
    Absolute(i64),
    /// `now − amount units`, optionally snapped.
    Relative {
        /// How many units back.
        amount: u32,
        /// The unit.
        unit: RelativeUnit,
        /// `Start`/`End` snapping.
        snap: Snap,
    },
    /// `"all"`: no lower bound.
    All,
}

/// The unit of a relative date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelativeUnit {
    /// `s`
    Second,
    /// `M`
    Minute,
    /// `h`
    Hour,
    /// `d`
    Day,
    /// `w`
    Week,
    /// `m`
    Month,
    /// `q`: 13 weeks, as in PostHog.
    Quarter,
    /// `y`
    Year,
}

/// `Start`/`End` snapping of a relative date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Snap {
    /// No snapping.
    None,
    /// Snap to the start of the period.
    Start,
    /// Snap to the exclusive end of the period (the start of the next one).
    End,
}

const ISO_OR_RELATIVE: &str = "expected an ISO-8601 date (2026-11-01, 2026-11-01T10:00:00Z) or a relative date \
                               like -1h, -7d, -30M, dStart (units s M h d w m q y)";

impl DateBound {
    /// Parses one date (see the module grammar). Surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<DateBound, DateError> {
        let err = |reason| DateError {
            text: text.to_owned(),
            reason,
        };
        let t = text.trim();
        if t.is_empty() {
            return Err(err("expected a date, got an empty string"));
        }
        if t == "all" {
            return Ok(DateBound::All);
        }
        if t.as_bytes()[0].is_ascii_digit() && t.len() >= 10 && t.as_bytes().get(4) == Some(&b'-') {
            return parse_iso(t)
                .map(DateBound::Absolute)
                .ok_or_else(|| err(ISO_OR_RELATIVE));
        }
        parse_relative(t).ok_or_else(|| err(ISO_OR_RELATIVE))
    }

    /// The instant this bound denotes at `now`. `All` resolves to `i64::MIN`.
    pub fn resolve(&self, now: i64) -> i64 {
        match *self {
            DateBound::Absolute(t) => t,
            DateBound::All => i64::MIN,
            DateBound::Relative { amount, unit, snap } => resolve_relative(now, amount, unit, snap),
        }
    }
}

/// The common RFC 3339 shape `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (1 to 9 fraction digits, years 1970 to 2261),
/// read without chrono; `None` for anything else, which callers hand to chrono's full parser. For the inputs it
/// accepts it returns exactly what `DateTime::parse_from_rfc3339(s)?.timestamp_nanos_opt()` does (tested).
pub fn parse_rfc3339_utc_fast(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b.len() > 30 || b[b.len() - 1] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        b[range].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute) = (num(11..13)?, num(14..16)?);
    let within = seconds_in_minute(b)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1970..=2261).contains(&year)
        || !(1..=12).contains(&month)
        || day < 1
        || day > month_days[month as usize - 1]
        || hour > 23
        || minute > 59
    {
        return None;
    }
    // Days from the civil date (H. Hinnant's algorithm), in the proleptic Gregorian calendar.
    let y = if month <= 2 { year - 1 } else { year };
    let (era, yoe) = (y.div_euclid(400), y.rem_euclid(400));
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour) * 60 + minute) * 60 * NANOS_PER_SECOND + within)
}

/// The nanoseconds into its minute of a timestamp of [`parse_rfc3339_utc_fast`]'s shape (length and `Z` already
/// checked): `SS[.fraction]` at byte 17, seconds below 60.
fn seconds_in_minute(b: &[u8]) -> Option<i64> {
    let num = |digits: &[u8]| -> Option<i64> {
        digits.iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let second = num(&b[17..19])?;
    let fraction = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            num(digits)? * 10i64.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    (second <= 59).then_some(second * NANOS_PER_SECOND + fraction)
}

/// The minute of the last timestamp [`parse_rfc3339_utc_cached`] read: lines of one input mostly fall in the
/// same minute as the line before, and reading only the seconds of those saves most of a parse (~300
/// instructions a row).
#[derive(Debug, Default)]
pub(crate) struct MinuteCache {
    /// `YYYY-MM-DDTHH:MM:` of the last timestamp read, and the nanoseconds at that minute's start; `None` before.
    minute: Option<([u8; 17], i64)>,
}

/// [`parse_rfc3339_utc_fast`], remembering the minute in `cache`: the same answer for every input.
pub(crate) fn parse_rfc3339_utc_cached(s: &str, cache: &mut MinuteCache) -> Option<i64> {
    let b = s.as_bytes();
    if let Some((prefix, start)) = &cache.minute
        && (20..=30).contains(&b.len())
        && b[b.len() - 1] == b'Z'
        && b[..17] == prefix[..]
    {
        // The date, hour and minute were checked when the prefix was remembered.
        return seconds_in_minute(b).map(|within| start + within);
    }
    let nanos = parse_rfc3339_utc_fast(s)?;
    let mut prefix = [0; 17];
    prefix.copy_from_slice(&b[..17]);
    cache.minute = Some((prefix, nanos - nanos.rem_euclid(60 * NANOS_PER_SECOND)));
    Some(nanos)
}

/// Parses an ISO-8601 date or date-time; a missing offset means UTC. Returns nanoseconds since the epoch.
pub fn parse_iso(t: &str) -> Option<i64> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return dt.timestamp_nanos_opt();
    }
    let with_t = t.replacen(' ', "T", 1);
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M%z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(&with_t, fmt) {
            return dt.timestamp_nanos_opt();
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(&with_t, fmt) {
            return dt.and_utc().timestamp_nanos_opt();
        }
    }
    if let Some(stripped) = with_t.strip_suffix('Z') {
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
            if let Ok(dt) = NaiveDateTime::parse_from_str(stripped, fmt) {
                return dt.and_utc().timestamp_nanos_opt();
            }
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_time(NaiveTime::MIN).and_utc().timestamp_nanos_opt())
}

fn parse_relative(t: &str) -> Option<DateBound> {
    let rest = t.strip_prefix('-').unwrap_or(t);
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let amount: u32 = if digits == 0 {
        0
    } else {
        rest[..digits].parse().ok()?
    };
    let rest = &rest[digits..];
    let mut chars = rest.chars();
    let unit = match chars.next()? {
        's' => RelativeUnit::Second,
        'M' => RelativeUnit::Minute,
        'h' => RelativeUnit::Hour,
        'd' => RelativeUnit::Day,
        'w' => RelativeUnit::Week,
        'm' => RelativeUnit::Month,
        'q' => RelativeUnit::Quarter,
        'y' => RelativeUnit::Year,
        _ => return None,
    };
    let snap = match chars.as_str() {
        "" => Snap::None,
        "Start" => Snap::Start,
        "End" => Snap::End,
        _ => return None,
    };
    Some(DateBound::Relative { amount, unit, snap })
}

fn resolve_relative(now: i64, amount: u32, unit: RelativeUnit, snap: Snap) -> i64 {
    let now_dt = DateTime::<Utc>::from_timestamp_nanos(now);
    let n = i64::from(amount);
    let shifted = match unit {
        RelativeUnit::Second => {
            TimeDelta::try_seconds(n).and_then(|d| now_dt.checked_sub_signed(d))
        }
        RelativeUnit::Minute => {
            TimeDelta::try_minutes(n).and_then(|d| now_dt.checked_sub_signed(d))
        }
        RelativeUnit::Hour => TimeDelta::try_hours(n).and_then(|d| now_dt.checked_sub_signed(d)),
        RelativeUnit::Day => TimeDelta::try_days(n).and_then(|d| now_dt.checked_sub_signed(d)),
        RelativeUnit::Week => TimeDelta::try_weeks(n).and_then(|d| now_dt.checked_sub_signed(d)),
        RelativeUnit::Quarter => {
            TimeDelta::try_weeks(13 * n).and_then(|d| now_dt.checked_sub_signed(d))
        }
        RelativeUnit::Month => now_dt.checked_sub_months(Months::new(amount)),
        RelativeUnit::Year => amount
            .checked_mul(12)
            .and_then(|m| now_dt.checked_sub_months(Months::new(m))),
    };
    // Out of chrono's range (hundreds of thousands of years back): the earliest instant is the honest answer.
    let Some(dt) = shifted else {
        return i64::MIN;
    };
    let start = match (unit, snap) {
        (_, Snap::None) => return dt.timestamp_nanos_opt().unwrap_or(i64::MIN),
        (RelativeUnit::Hour, _) => dt.date_naive().and_hms_opt(dt.hour(), 0, 0),
        (RelativeUnit::Day, _) => dt.date_naive().and_hms_opt(0, 0, 0),
        (RelativeUnit::Month, _) => {
            NaiveDate::from_ymd_opt(dt.year(), dt.month(), 1).and_then(|d| d.and_hms_opt(0, 0, 0))
        }
        (RelativeUnit::Year, _) => {
            NaiveDate::from_ymd_opt(dt.year(), 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0))
        }
        _ => return dt.timestamp_nanos_opt().unwrap_or(i64::MIN),
    };
    let Some(start) = start else {
        return dt.timestamp_nanos_opt().unwrap_or(i64::MIN);
    };
    let start_utc = start.and_utc();
    let out = match snap {
        Snap::Start | Snap::None => Some(start_utc),
        Snap::End => match unit {
            RelativeUnit::Hour => start_utc.checked_add_signed(TimeDelta::hours(1)),
            RelativeUnit::Day => start_utc.checked_add_signed(TimeDelta::days(1)),
            RelativeUnit::Month => start_utc.checked_add_months(Months::new(1)),
            _ => start_utc.checked_add_months(Months::new(12)),
        },
    };
    out.and_then(|d| d.timestamp_nanos_opt())
        .unwrap_or(i64::MAX)
}

/// UTC midnight `days` days before the day of `now` (PostHog's default `date_from`, spec §2.3).
pub fn midnight_days_ago(now: i64, days: i64) -> i64 {
    let today = now.div_euclid(NANOS_PER_DAY) * NANOS_PER_DAY;
    today.saturating_sub(days.saturating_mul(NANOS_PER_DAY))
}

/// Floors `t` to a multiple of `width` nanoseconds since the epoch (epoch-aligned buckets; works for negative `t`).
pub fn floor_to(t: i64, width: i64) -> i64 {
    debug_assert!(width > 0);
    t.div_euclid(width) * width
}

/// Floors `t` to the start of its minute.
pub fn floor_minute(t: i64) -> i64 {
    floor_to(t, NANOS_PER_MINUTE)
}

/// Formats nanoseconds as `YYYY-MM-DDTHH:MM:SS[.fff…]Z` with as many fractional digits as needed (0, 3, 6 or 9).
pub fn format_iso(nanos: i64) -> String {
    crate::ingest::format_rfc3339_nanos(nanos)
}

/// Formats nanoseconds at microsecond precision like `count-ranges` does (spec §3.3):
/// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, the fraction only when not zero. Nanoseconds below a microsecond are shown too
/// (9 digits) rather than dropped, because quarry keeps them.
pub fn format_iso_micros(nanos: i64) -> String {
    let secs = nanos.div_euclid(NANOS_PER_SECOND);
    let sub = nanos.rem_euclid(NANOS_PER_SECOND);
    let dt = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default();
    let base = dt.format("%Y-%m-%dT%H:%M:%S");
    if sub == 0 {
        format!("{base}Z")
    } else if sub % 1000 == 0 {
        format!("{base}.{:06}Z", sub / 1000)
    } else {
        format!("{base}.{sub:09}Z")
    }
}

#[cfg(test)]
mod fast_rfc3339 {
    use proptest::prelude::*;

    fn chrono(s: &str) -> Option<i64> {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .and_then(|d| d.timestamp_nanos_opt())
    }

    #[test]
    fn reads_the_usual_shapes() {
        for s in [
            "2026-11-01T00:00:00Z",
            "2026-11-01T00:00:43.2Z",
            "1970-01-01T00:00:00.000000001Z",
            "2024-02-29T23:59:59.999999999Z",
            "2261-12-31T23:59:59Z",
            "2261-12-31T23:59:59.999999999Z",
            "2000-02-29T12:00:00Z",
            "2004-02-29T00:00:00Z",
            "1999-12-31T23:59:59.9Z",
            "2000-01-01T00:00:00Z",
            "2026-12-31T23:59:59.123456Z",
        ] {
            assert_eq!(super::parse_rfc3339_utc_fast(s), chrono(s), "{s}");
            assert!(super::parse_rfc3339_utc_fast(s).is_some(), "{s}");
        }
        for s in [
            "2025-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-00-10T00:00:00Z",
            "2026-13-10T00:00:00Z",
            "2026-11-00T00:00:00Z",
            "2262-01-01T00:00:00Z",
            "2026-11-01T24:00:00Z",
            "2026-11-01T00:00:60Z",
            "2026-11-01t00:00:00Z",
            "2026-11-01T00:00:00+00:00",
            "2026-11-01T00:00:00.Z",
            "2026-11-01T00:00:00.1234567890Z",
            "1969-12-31T23:59:59Z",
            "+026-11-01T00:00:00Z",
        ] {
            assert_eq!(super::parse_rfc3339_utc_fast(s), None, "{s}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn agrees_with_chrono_whenever_it_answers(
            y in 1960i64..2270, mo in 0i64..14, d in 0i64..33, h in 0i64..26, mi in 0i64..62, se in 0i64..62,
            frac in proptest::option::of("[0-9]{0,11}"),
        ) {
            let mut s = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}");
            if let Some(f) = frac {
                s.push('.');
                s.push_str(&f);
            }
            s.push('Z');
            if let Some(fast) = super::parse_rfc3339_utc_fast(&s) {
                prop_assert_eq!(Some(fast), chrono(&s), "{}", s);
            } else if let Some(n) = chrono(&s) {
                // Declined but valid: only the shapes the fast path leaves to chrono on purpose.
                prop_assert!(se == 60 || !(1970..=2261).contains(&y) || s.len() > 30, "{} = {}", s, n);
            }
        }

        /// Remembering the minute changes no answer: a sequence of timestamps, many in the minute of the one
        /// before (with good and bad seconds and fractions), parsed with one cache, as each alone.
        #[test]
        fn the_minute_cache_changes_no_answer(
            steps in proptest::collection::vec(
                (0i64..3, 0i64..62, proptest::option::of("[0-9x]{0,10}"), any::<bool>()),
                1..40,
            ),
        ) {
            let mut cache = super::MinuteCache::default();
            let mut minute = 0i64;
            for (advance, se, frac, suffix) in steps {
                minute += advance;
                let (h, mi) = (minute / 60 % 24, minute % 60);
                let mut s = format!("2026-11-01T{h:02}:{mi:02}:{se:02}");
                if let Some(f) = frac {
                    s.push('.');
                    s.push_str(&f);
                }
                if suffix {
                    s.push('Z');
                }
                prop_assert_eq!(
                    super::parse_rfc3339_utc_cached(&s, &mut cache),
                    super::parse_rfc3339_utc_fast(&s),
                    "{}", s
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> i64 {
        parse_iso(s).unwrap()
    }

    #[test]
    fn iso_forms() {
        let z = iso("2026-11-01T10:00:00Z");
        assert_eq!(iso("2026-11-01T10:00:00"), z);
        assert_eq!(iso("2026-11-01 10:00:00"), z);
        assert_eq!(iso("2026-11-01T10:00"), z);
        assert_eq!(iso("2026-11-01T12:00:00+02:00"), z);
        assert_eq!(iso("2026-11-01T12:00:00+0200"), z);
        assert_eq!(iso("2026-11-01T10:00:00.5Z"), z + 500_000_000);
        assert_eq!(iso("2026-11-01"), z - 10 * NANOS_PER_HOUR);
        assert!(parse_iso("2026-13-01").is_none());
        assert!(parse_iso("2026-02-30T00:00:00Z").is_none());
    }

    #[test]
    fn relative_forms() {
        let now = iso("2026-11-26T13:45:30.25Z");
        let r = |s: &str| DateBound::parse(s).unwrap().resolve(now);
        assert_eq!(r("-1h"), now - NANOS_PER_HOUR);
        assert_eq!(r("1h"), now - NANOS_PER_HOUR);
        assert_eq!(r("-30M"), now - 30 * NANOS_PER_MINUTE);
        assert_eq!(r("-10s"), now - 10 * NANOS_PER_SECOND);
        assert_eq!(r("-7d"), now - 7 * NANOS_PER_DAY);
        assert_eq!(r("-2w"), now - 14 * NANOS_PER_DAY);
        assert_eq!(r("-1q"), now - 91 * NANOS_PER_DAY);
        assert_eq!(r("-1m"), iso("2026-10-26T13:45:30.25Z"));
        assert_eq!(r("-1y"), iso("2025-11-26T13:45:30.25Z"));
        assert_eq!(r("dStart"), iso("2026-11-26T00:00:00Z"));
        assert_eq!(r("-1dStart"), iso("2026-11-25T00:00:00Z"));
        assert_eq!(r("-1dEnd"), iso("2026-11-26T00:00:00Z"));
        assert_eq!(r("-0hStart"), iso("2026-11-26T13:00:00Z"));
        assert_eq!(r("-1hEnd"), iso("2026-11-26T13:00:00Z"));
        assert_eq!(r("mStart"), iso("2026-11-01T00:00:00Z"));
        assert_eq!(r("-1mEnd"), iso("2026-11-01T00:00:00Z"));
        assert_eq!(r("yStart"), iso("2026-01-01T00:00:00Z"));
        assert_eq!(r("-1yEnd"), iso("2026-01-01T00:00:00Z"));
        // Units without snapping ignore Start/End.
        assert_eq!(r("-1wStart"), now - 7 * NANOS_PER_DAY);
        assert_eq!(DateBound::parse("all").unwrap(), DateBound::All);
    }

    #[test]
    fn month_arithmetic_clamps_the_day() {
        let now = iso("2026-03-31T08:00:00Z");
        assert_eq!(
            DateBound::parse("-1m").unwrap().resolve(now),
            iso("2026-02-28T08:00:00Z")
        );
    }

    #[test]
    fn rejects_what_posthog_would_silently_read_as_now() {
        for bad in [
            "",
            "  ",
            "yesterday",
            "-1H",
            "-1D",
            "-1S",
            "-1x",
            "-1hstart",
            "--1h",
            "2026-11-01T25:00:00Z",
            "1h ago",
        ] {
            assert!(DateBound::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn huge_amounts_saturate_instead_of_panicking() {
        let now = iso("2026-11-26T00:00:00Z");
        assert_eq!(
            DateBound::parse("-4294967295y").unwrap().resolve(now),
            i64::MIN
        );
        assert_eq!(
            DateBound::parse("-4294967295d").unwrap().resolve(now),
            i64::MIN
        );
        assert!(DateBound::parse("-99999999999999999999d").is_err());
    }

    #[test]
    fn formatting() {
        let t = iso("2026-11-01T10:00:00Z");
        assert_eq!(format_iso_micros(t), "2026-11-01T10:00:00Z");
        assert_eq!(format_iso_micros(t + 1_000), "2026-11-01T10:00:00.000001Z");
        assert_eq!(format_iso_micros(t + 1), "2026-11-01T10:00:00.000000001Z");
        assert_eq!(format_iso(t + 500_000_000), "2026-11-01T10:00:00.500Z");
        assert_eq!(floor_to(-1, 10), -10);
        assert_eq!(midnight_days_ago(t, 7), iso("2026-10-25T00:00:00Z"));
    }
}
