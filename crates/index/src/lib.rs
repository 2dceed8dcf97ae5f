//! quarry-index: the index sidecar that sits beside every Parquet file.
//!
//! **Input**: the [`LogRecord`]s of one Parquet file, in file order, and the file's row-group sizes.
//! **Output**: a [`FileIndex`], serialised to a `.qidx` sidecar ([`FileIndex::to_bytes`], grammar in [`format`])
//! and read back with checks ([`FileIndex::from_bytes`], [`read_sidecar`]). **Main types**: [`FileIndex`] with
//! its [`MinuteCount`] and [`AttrCount`] rollups, [`IndexOptions`], [`Error`].
//!
//! What the sidecar answers without touching Parquet:
//! * which rows have a given `service_name` or `severity_text` (roaring bitmaps of row ids; the row-group sizes
//!   turn them into Parquet row selections);
//! * how many rows and uncompressed bytes each (minute, service, severity) has: the per-minute rollup that
//!   count, count-ranges, sparkline and services read instead of rows;
//! * how many rows carry each attribute key/value per 10-minute bucket, service, severity and resource
//!   fingerprint, for log and resource attributes: PostHog's `log_attributes` rollup (spec §1.3), which the
//!   `values` and `attributes` endpoints read.
//!
//! Nothing here is needed for a correct answer: a reader without the sidecar scans the Parquet file and gets the
//! same result. The sidecar only makes answers cheaper, and [`FileIndex::validate`] checks its internal
//! consistency.
//!
//! # Example
//!
//! ```
//! use quarry_index::{FileIndex, IndexOptions};
//! # let records: Vec<quarry_core::LogRecord> = Vec::new();
//! let index = FileIndex::build(&records, &[records.len() as u32], &IndexOptions::default());
//! let bytes = index.to_bytes();
//! assert_eq!(FileIndex::from_bytes(&bytes)?, index);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![doc(test(attr(deny(warnings))))]
#![warn(missing_docs)]

mod build;
pub mod format;

use std::path::{Path, PathBuf};

pub use build::naive;
pub use quarry_core::LogRecord;
use quarry_core::Severity;
pub use roaring::RoaringBitmap;

/// Errors reading a sidecar. Every variant names the file when one was read from disk.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("index sidecar {path}: I/O error")]
    Io {
        /// The sidecar.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a sidecar of a version this build reads, or fail their checksum, or do not parse.
    #[error("index sidecar {}: {reason}; delete it and run `quarry compact` to rebuild it from the Parquet file", path_text(.path))]
    Corrupt {
        /// The sidecar, when read from disk.
        path: Option<PathBuf>,
        /// What is wrong.
        reason: String,
    },
}

fn path_text(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map_or_else(|| "<memory>".to_owned(), |p| p.display().to_string())
}

impl Error {
    pub(crate) fn corrupt(reason: impl Into<String>) -> Self {
        Error::Corrupt {
            path: None,
            reason: reason.into(),
        }
    }

    fn with_path(self, path: &Path) -> Self {
        match self {
            Error::Corrupt { reason, .. } => Error::Corrupt {
                path: Some(path.to_owned()),
                reason,
            },
            other => other,
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which attribute map an [`AttrCount`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum AttrKind {
    /// Log attributes (`attributes`); PostHog's `'log'`.
    Log = 0,
    /// Resource attributes (`resource_attributes`); PostHog's `'resource'`.
    Resource = 1,
}

/// How the sidecar is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexOptions {
    /// Per file and attribute key, at most this many distinct values are counted one by one; past it the key is
    /// marked high-cardinality and only its key counts are kept ([`AttrCount::value`] is `None`). A request id on
    /// every row would otherwise make the rollup as large as the data. Queries about such a key scan the file.
    /// Default 4096.
    pub max_values_per_key: usize,
    /// A key with more than 64 distinct values whose values repeat on average fewer than this many times in the
    /// file is also high-cardinality: rolling it up would cost about as much as the rows themselves. Default 4.
    pub min_value_repeats: usize,
    /// Keys and values of *log* attributes at or above this many bytes are not counted (spec §1.3: PostHog's
    /// `log_attributes` skips pairs of 256 characters or more). Default 256.
    pub max_attr_len: usize,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            max_values_per_key: 4096,
            min_value_repeats: 4,
            max_attr_len: 256,
        }
    }
}

/// Rows and uncompressed bytes of one (minute, service, severity) in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MinuteCount {
    /// Minutes since the Unix epoch (`floor(timestamp / 60 s)`).
    pub minute: i64,
    /// Index into [`FileIndex::services`].
    pub service: u32,
    /// The severity.
    pub severity: Severity,
    /// Rows.
    pub count: u64,
    /// Sum of `bytes_uncompressed`.
    pub bytes: u64,
}

/// Rows carrying one attribute key (and value) in one 10-minute bucket, service, severity and (for resource
/// attributes) resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttrCount {
    /// 10-minute buckets since the Unix epoch (`floor(timestamp / 600 s)`).
    pub bucket: i64,
    /// Log or resource attribute.
    pub kind: AttrKind,
    /// Index into [`FileIndex::strings`].
    pub key: u32,
    /// Index into [`FileIndex::strings`]; `None` for a high-cardinality key (see
    /// [`IndexOptions::max_values_per_key`]).
    pub value: Option<u32>,
    /// Index into [`FileIndex::services`].
    pub service: u32,
    /// The severity.
    pub severity: Severity,
    /// The rows' resource fingerprint for [`AttrKind::Resource`] entries; always 0 for [`AttrKind::Log`] entries,
    /// which are not split by resource: per pod, a file's log-attribute rollup would be about as large as the
    /// file. (PostHog's `log_attributes` keys log entries by fingerprint too; a `values`/`attributes` request that
    /// filters log attributes by resource therefore scans instead.)
    pub resource_fingerprint: u64,
    /// Rows.
    pub count: u64,
}

/// The severity group of a row in the files quarry writes: 1 for `error` and `fatal`, 0 for every other
/// severity. Files are sorted by (group, `timestamp`, `uuid`) ([`FileIndex::severity_grouped`]): errors are few
/// and the most filtered for, so a list of errors reads one contiguous tail of a file instead of rows spread
/// over its newest thousands, and every other list reads the larger run and the small error tail.
pub fn severity_group(severity: Severity) -> u8 {
    u8::from(matches!(severity, Severity::Error | Severity::Fatal))
}

/// The sort key of a row in the files quarry writes: (severity group, `timestamp`, `uuid`) — see
/// [`severity_group`] and [`FileIndex::severity_grouped`]. The one definition of that order, for the writer's
/// sort and the build's check alike.
pub fn file_order_key(record: &LogRecord) -> (u8, i64, [u8; 16]) {
    (
        severity_group(record.severity_text),
        record.timestamp,
        record.uuid,
    )
}

/// Rows of a file in (`timestamp`, `uuid`) order (see [`FileIndex::time_runs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeRun {
    /// The run's rows.
    pub rows: std::ops::Range<u32>,
    /// The [`severity_group`] of every row of the run; `None`: rows of any severity.
    pub group: Option<u8>,
}

impl TimeRun {
    /// Whether rows of `severity` belong to this run (are in it, if the file has any).
    pub fn holds(&self, severity: Severity) -> bool {
        self.group.is_none_or(|g| severity_group(severity) == g)
    }
}

/// The index of one Parquet file. Row ids are positions in the file (0-based, across row groups).
#[derive(Debug, Clone, PartialEq)]
pub struct FileIndex {
    /// Rows in the file.
    pub rows: u64,
    /// Rows of each row group, in file order; they sum to `rows`.
    pub row_groups: Vec<u32>,
    /// Smallest timestamp (ns); 0 for an empty file.
    pub min_timestamp: i64,
    /// Largest timestamp (ns); 0 for an empty file.
    pub max_timestamp: i64,
    /// `service_name` postings, sorted by name.
    pub services: Vec<(String, RoaringBitmap)>,
    /// `severity_text` postings, sorted by severity, only severities present.
    pub severities: Vec<(Severity, RoaringBitmap)>,
    /// Per-minute rollup, sorted, one entry per (minute, service, severity) present.
    pub minutes: Vec<MinuteCount>,
    /// Interned attribute keys and values referenced by [`FileIndex::attrs`].
    pub strings: Vec<String>,
    /// Attribute keys whose values were not counted one by one, sorted.
    pub high_cardinality_keys: Vec<(AttrKind, u32)>,
    /// Attribute rollup, sorted, one entry per distinct (bucket, kind, key, value, service, severity, fingerprint).
    pub attrs: Vec<AttrCount>,
    /// The rows of each (service, severity) are in timestamp order wherever they are adjacent, as in every file
    /// quarry writes (sorted by service, severity, time). Found by [`FileIndex::build`], kept in the sidecar's
    /// flags; [`FileIndex::rows_in_minutes`] answers only for such files, since the minute rollup cannot show the
    /// order of rows inside a run.
    pub time_ordered_runs: bool,
    /// The rows are in (`timestamp`, `uuid`) order, as in the files of builds that sorted by time alone, and in a
    /// file of one [`severity_group`]: the rows of a minute are then one contiguous span, whose place follows from
    /// the minute counts (see [`FileIndex::run_minute_span`]), and a file's newest rows are its last. Found by
    /// [`FileIndex::build`], kept in the sidecar's flags.
    pub time_ordered: bool,
    /// The rows are in (severity group, `timestamp`, `uuid`) order ([`severity_group`]): every row of the error
    /// group (`error`, `fatal`) follows every other row, and each group is in time order, as in every file quarry
    /// writes since it keeps errors apart. A file holding one group only is also [`FileIndex::time_ordered`].
    /// The groups are then two time runs ([`FileIndex::time_runs`]). Found by [`FileIndex::build`], kept in the
    /// sidecar's flags.
    pub severity_grouped: bool,
    /// Every log attribute pair of the file is in the attribute rollup: none was left out for its length
    /// ([`IndexOptions::max_attr_len`]). A row holding a log attribute then shows in the rollup under its
    /// (service, severity), which lets a reader skip the rows of every other (service, severity) for a filter on
    /// that attribute. Found by [`FileIndex::build`], kept in the sidecar's flags.
    pub all_log_attributes_counted: bool,
}

impl FileIndex {
    /// The attribute rollup summed over the whole file: one entry per (kind, key, value, service, severity), its
    /// `bucket` and `resource_fingerprint` zeroed, sorted. Postings, severities and minute counts are dropped
    /// (service names stay, with empty postings, since entries index them); strings and high-cardinality keys are
    /// kept. This is all `values`/`attributes` need for a file entirely inside a request's range, and which
    /// services and severities hold a given attribute value (lists filtered by one prune rows by it); it is far
    /// smaller than the rollup (one entry instead of one per 10-minute bucket and resource), so a reader can keep
    /// it.
    pub fn attr_totals(&self) -> FileIndex {
        let mut sums: std::collections::HashMap<(AttrKind, u32, Option<u32>, u32, Severity), u64> =
            std::collections::HashMap::new();
        for a in &self.attrs {
            *sums
                .entry((a.kind, a.key, a.value, a.service, a.severity))
                .or_default() += a.count;
        }
        let mut attrs: Vec<AttrCount> = sums
            .into_iter()
            .map(|((kind, key, value, service, severity), count)| AttrCount {
                bucket: 0,
                kind,
                key,
                value,
                service,
                severity,
                resource_fingerprint: 0,
                count,
            })
            .collect();
        attrs.sort_unstable();
        FileIndex {
            rows: self.rows,
            row_groups: self.row_groups.clone(),
            min_timestamp: self.min_timestamp,
            max_timestamp: self.max_timestamp,
            services: self
                .services
                .iter()
                .map(|(name, _)| (name.clone(), RoaringBitmap::new()))
                .collect(),
            severities: Vec::new(),
            minutes: Vec::new(),
            strings: self.strings.clone(),
            high_cardinality_keys: self.high_cardinality_keys.clone(),
            attrs,
            time_ordered_runs: self.time_ordered_runs,
            time_ordered: self.time_ordered,
            severity_grouped: self.severity_grouped,
            all_log_attributes_counted: self.all_log_attributes_counted,
        }
    }

    /// The postings of `service`, if any row has it.
    pub fn service_rows(&self, service: &str) -> Option<&RoaringBitmap> {
        self.services
            .binary_search_by(|(s, _)| s.as_str().cmp(service))
            .ok()
            .map(|i| &self.services[i].1)
    }

    /// The postings of `severity`, if any row has it.
    pub fn severity_rows(&self, severity: Severity) -> Option<&RoaringBitmap> {
        self.severities
            .iter()
            .find(|(s, _)| *s == severity)
            .map(|(_, b)| b)
    }

    /// Rows whose service is in `services` and whose severity is in `severities` (`None` = any); `None` when
    /// neither is given (every row).
    pub fn select(
        &self,
        services: Option<&std::collections::BTreeSet<String>>,
        severities: Option<&std::collections::BTreeSet<Severity>>,
    ) -> Option<RoaringBitmap> {
        let union = |bitmaps: &mut dyn Iterator<Item = &RoaringBitmap>| {
            bitmaps.fold(RoaringBitmap::new(), |mut u, b| {
                u |= b;
                u
            })
        };
        let by_service =
            services.map(|names| union(&mut names.iter().filter_map(|n| self.service_rows(n))));
        let by_severity =
            severities.map(|sevs| union(&mut sevs.iter().filter_map(|s| self.severity_rows(*s))));
        match (by_service, by_severity) {
            (Some(a), Some(b)) => Some(a & b),
            (a, b) => a.or(b),
        }
    }

    /// The per-minute entries of the services in `services` and severities in `severities` (`None` = any).
    pub fn minutes_of<'a>(
        &'a self,
        services: Option<&'a std::collections::BTreeSet<String>>,
        severities: Option<&'a std::collections::BTreeSet<Severity>>,
    ) -> impl Iterator<Item = (&'a str, &'a MinuteCount)> + 'a {
        self.minutes.iter().filter_map(move |m| {
            let service = self.services.get(m.service as usize)?.0.as_str();
            let keep = services.is_none_or(|s| s.contains(service))
                && severities.is_none_or(|s| s.contains(&m.severity));
            keep.then_some((service, m))
        })
    }

    /// The file's time runs: spans of rows in (`timestamp`, `uuid`) order that together hold every row, in file
    /// order; `None` when the file is not known to be laid out so. A [`FileIndex::time_ordered`] file is one run of
    /// every severity; a [`FileIndex::severity_grouped`] file is one run per [`severity_group`] present, their
    /// rows found from the severity postings (which must then be contiguous, else `None`).
    pub fn time_runs(&self) -> Option<Vec<TimeRun>> {
        let rows = u32::try_from(self.rows).ok()?;
        if self.time_ordered {
            return Some(vec![TimeRun {
                rows: 0..rows,
                group: None,
            }]);
        }
        if !self.severity_grouped {
            return None;
        }
        // Each run's minute counts must add up to it, or its minute spans would be misplaced (`validate` only
        // checks the sum over all severities).
        let mut counted = [Some(0u64); 2];
        for m in &self.minutes {
            let sum = &mut counted[usize::from(severity_group(m.severity))];
            *sum = sum.and_then(|s| s.checked_add(m.count));
        }
        let mut runs = Vec::with_capacity(2);
        let mut at = 0u32;
        for group in [0u8, 1] {
            let postings = self
                .severities
                .iter()
                .filter(|(s, _)| severity_group(*s) == group)
                .map(|(_, b)| b);
            let (mut len, mut min, mut max) = (0u64, u32::MAX, 0u32);
            for b in postings {
                len += b.len();
                min = min.min(b.min().unwrap_or(u32::MAX));
                max = max.max(b.max().unwrap_or(0));
            }
            if len == 0 {
                continue;
            }
            // Postings partition the rows (`validate`), so `len` rows between `min` and `max` fill that span.
            let end = at.checked_add(u32::try_from(len).ok()?)?;
            if min != at || u64::from(max) + 1 != u64::from(end) {
                return None;
            }
            if counted[usize::from(group)] != Some(len) {
                return None;
            }
            runs.push(TimeRun {
                rows: at..end,
                group: Some(group),
            });
            at = end;
        }
        (at == rows).then_some(runs)
    }

    /// The rows of `run` (one of [`FileIndex::time_runs`]) whose timestamp falls in one of the minutes
    /// `first_minute..=last_minute`. The run is in time order, so the minutes before `first_minute` hold the
    /// run's rows before the span, and its ends are sums of minute counts.
    pub fn run_minute_span(
        &self,
        run: &TimeRun,
        first_minute: i64,
        last_minute: i64,
    ) -> std::ops::Range<u32> {
        let (mut start, mut end) = (0u64, 0u64);
        for m in self.minutes.iter().filter(|m| run.holds(m.severity)) {
            if m.minute < first_minute {
                start = start.saturating_add(m.count);
            }
            if m.minute <= last_minute {
                end = end.saturating_add(m.count);
            }
        }
        // Counts beyond the run (only from a sidecar that lies) are cut to it.
        let len = u64::from(run.rows.end - run.rows.start);
        let (start, end) = (start.min(len).min(end), end.min(len));
        run.rows.start + start as u32..run.rows.start + end as u32
    }

    /// The rows of the services in `services` and severities in `severities` (`None` = any) whose timestamp
    /// falls in one of the minutes `first_minute..=last_minute`, or `None` when this file's rows are not laid out
    /// as quarry writes them.
    ///
    /// No per-minute postings are stored: they follow from the sort order of a quarry file. In time runs
    /// ([`FileIndex::time_runs`], the order quarry writes) the minutes are one span per run
    /// ([`FileIndex::run_minute_span`]), cut by the service and severity postings. Files of older builds are ordered
    /// by (service, severity, timestamp): the rows of one (service, severity) are then one contiguous run, in time
    /// order, so the rows of minute `m` in that run start after the counts of the run's earlier minutes. A run
    /// that is not contiguous, whose minute counts do not add up to its length, or whose rows are not in time order
    /// ([`FileIndex::time_ordered_runs`] false) breaks that assumption: the answer is then `None` and the caller
    /// reads the whole file, so a file sorted some other way costs time, never a wrong answer.
    pub fn rows_in_minutes(
        &self,
        services: Option<&std::collections::BTreeSet<String>>,
        severities: Option<&std::collections::BTreeSet<Severity>>,
        first_minute: i64,
        last_minute: i64,
    ) -> Option<RoaringBitmap> {
        use std::collections::HashMap;
        /// Where a (service, severity) run starts, and how many of its rows earlier minutes hold.
        struct Run {
            start: u32,
            len: u64,
            seen: u64,
        }
        if let Some(runs) = self.time_runs() {
            let mut rows = RoaringBitmap::new();
            for run in &runs {
                rows.insert_range(self.run_minute_span(run, first_minute, last_minute));
            }
            return Some(match self.select(services, severities) {
                Some(selected) => rows & selected,
                None => rows,
            });
        }
        if !self.time_ordered_runs {
            return None;
        }
        let mut runs: HashMap<(u32, Severity), Run> = HashMap::new();
        let mut out = RoaringBitmap::new();
        // `minutes` is sorted by minute first, so each run's entries arrive in time order.
        for m in &self.minutes {
            let (service, service_rows) = self.services.get(m.service as usize)?;
            if !services.is_none_or(|s| s.contains(service))
                || !severities.is_none_or(|s| s.contains(&m.severity))
            {
                continue;
            }
            let run = match runs.entry((m.service, m.severity)) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let rows = service_rows & self.severity_rows(m.severity)?;
                    let (lo, hi) = (rows.min()?, rows.max()?);
                    if u64::from(hi - lo) + 1 != rows.len() {
                        return None;
                    }
                    e.insert(Run {
                        start: lo,
                        len: rows.len(),
                        seen: 0,
                    })
                }
            };
            let end = run.seen.checked_add(m.count)?;
            if end > run.len {
                return None;
            }
            if (first_minute..=last_minute).contains(&m.minute) {
                let lo = u64::from(run.start) + run.seen;
                out.insert_range(u32::try_from(lo).ok()?..u32::try_from(lo + m.count).ok()?);
            }
            run.seen = end;
        }
        runs.values().all(|r| r.seen == r.len).then_some(out)
    }

    /// The first row id of each row group, followed by `rows`: row group `i` holds rows
    /// `starts[i]..starts[i + 1]`.
    pub fn row_group_starts(&self) -> Vec<u64> {
        let mut starts = Vec::with_capacity(self.row_groups.len() + 1);
        let mut at = 0u64;
        starts.push(0);
        for &n in &self.row_groups {
            at += u64::from(n);
            starts.push(at);
        }
        starts
    }

    /// Checks internal consistency: row groups sum to `rows`; service and severity postings each partition
    /// `0..rows`; minute counts sum to `rows`; every index is in range and every list sorted and unique.
    pub fn validate(&self) -> Result<()> {
        let fail = |m: String| Err(Error::corrupt(m));
        let rg_sum: u64 = self.row_groups.iter().map(|&n| u64::from(n)).sum();
        if rg_sum != self.rows {
            return fail(format!(
                "row groups hold {rg_sum} rows, header says {}",
                self.rows
            ));
        }
        if self.rows > u64::from(u32::MAX) {
            return fail(format!("{} rows exceed the u32 row id space", self.rows));
        }
        let check_partition =
            |name: &str, maps: &mut dyn Iterator<Item = &RoaringBitmap>| -> Result<()> {
                let mut union = RoaringBitmap::new();
                let mut total = 0u64;
                for b in maps {
                    total += b.len();
                    union |= b;
                }
                if total != self.rows
                    || union.len() != self.rows
                    || union.max().is_some_and(|m| u64::from(m) >= self.rows)
                {
                    return Err(Error::corrupt(format!(
                        "{name} postings do not partition the {} rows",
                        self.rows
                    )));
                }
                Ok(())
            };
        check_partition("service", &mut self.services.iter().map(|(_, b)| b))?;
        check_partition("severity", &mut self.severities.iter().map(|(_, b)| b))?;
        if !self.services.windows(2).all(|w| w[0].0 < w[1].0) {
            return fail("service postings are not sorted and unique".into());
        }
        if !self.severities.windows(2).all(|w| w[0].0 < w[1].0) {
            return fail("severity postings are not sorted and unique".into());
        }
        let Some(minute_rows) = self
            .minutes
            .iter()
            .try_fold(0u64, |sum, m| sum.checked_add(m.count))
        else {
            return fail("minute rollup counts overflow".into());
        };
        if minute_rows != self.rows {
            return fail(format!(
                "minute rollup counts {minute_rows} rows, file has {}",
                self.rows
            ));
        }
        let n_services = self.services.len() as u32;
        let key = |m: &MinuteCount| (m.minute, m.service, m.severity);
        if !self.minutes.windows(2).all(|w| key(&w[0]) < key(&w[1]))
            || self
                .minutes
                .iter()
                .any(|m| m.service >= n_services || m.count == 0)
        {
            return fail(
                "minute rollup is not sorted, not unique, or refers to an unknown service".into(),
            );
        }
        let n_strings = self.strings.len() as u32;
        let akey = |a: &AttrCount| {
            (
                a.bucket,
                a.kind,
                a.key,
                a.value,
                a.service,
                a.severity,
                a.resource_fingerprint,
            )
        };
        if !self.attrs.windows(2).all(|w| akey(&w[0]) < akey(&w[1]))
            || self.attrs.iter().any(|a| {
                a.key >= n_strings
                    || a.value.is_some_and(|v| v >= n_strings)
                    || a.service >= n_services
                    || a.count == 0
            })
        {
            return fail(
                "attribute rollup is not sorted, not unique, or refers to an unknown string".into(),
            );
        }
        if self
            .high_cardinality_keys
            .iter()
            .any(|&(_, k)| k >= n_strings)
            || !self.high_cardinality_keys.windows(2).all(|w| w[0] < w[1])
        {
            return fail(
                "high-cardinality key list is not sorted or refers to an unknown string".into(),
            );
        }
        Ok(())
    }
}

/// Reads and checks the sidecar at `path`; every error names the file.
pub fn read_sidecar(path: &Path) -> Result<FileIndex> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    FileIndex::from_bytes(&bytes).map_err(|e| e.with_path(path))
}

/// Reads a sidecar without its attribute rollup ([`FileIndex::from_bytes_without_attrs`]).
pub fn read_sidecar_postings(path: &Path) -> Result<FileIndex> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    FileIndex::from_bytes_without_attrs(&bytes).map_err(|e| e.with_path(path))
}
