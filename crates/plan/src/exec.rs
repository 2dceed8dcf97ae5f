//! The endpoint executors: `query`, `count`, `count-ranges`, `sparkline`, `services`, `values`, `attributes`,
//! `has_logs`, `export`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use quarry_api::response::{
    AttributeItem, AttributesResponse, CountRange, CountRangesResponse, CountResponse,
    HasLogsResponse, QueryResponse, ServiceItem, ServiceSparkPoint, ServicesResponse,
    ServicesSummary, SeverityBreakdown, SparklineResponse, ValueItem, ValuesResponse,
};
use quarry_api::{
    AttributeType, AttributesParams, CommonParams, Cursor, CustomColumn, LogsQuery, OrderBy,
    ValuesParams,
};
use quarry_core::ids::to_upper_hex;
use quarry_core::schema::columns;
use quarry_core::time::format_iso_micros;
use quarry_core::{LogRecord, NANOS_PER_MINUTE, Severity, TimeRange};
use quarry_storage::{DataFile, Snapshot};
use serde_json::{Map, Value};

use crate::predicate::{Predicate, contains_ci};
use crate::row::Row;
use crate::scan::Scanner;
use crate::{Context, PlanOptions, Result};

/// The predicate of a `LogsQuery` over `range` (spec §2.6). `with_paging` adds the cursor and the live-tail
/// checkpoint, which only `query` honours.
pub(crate) fn query_predicate(q: &LogsQuery, range: TimeRange, with_paging: bool) -> Predicate {
    let mut p = Predicate::range(range)
        .with_services(&q.service_names)
        .with_severities(&q.severity_levels)
        .with_search(q.search_term.as_deref())
        .with_filter(&q.filter_group);
    p.fingerprint = q.resource_fingerprint;
    if with_paging {
        p.live_checkpoint = q.live_logs_checkpoint;
        p.cursor = q.after.map(|c| (c, q.order_by));
    }
    p
}

/// A sort key with where to find the row again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    timestamp: i64,
    uuid: [u8; 16],
    /// Position of the file in the snapshot, or `usize::MAX` for the memtable.
    file: usize,
    row: u32,
}

/// The k best hits seen so far: for `latest` the k largest keys (a min-heap), for `earliest` the k smallest.
struct TopK {
    k: usize,
    latest: bool,
    newest: BinaryHeap<Reverse<Hit>>,
    oldest: BinaryHeap<Hit>,
}

impl TopK {
    fn new(k: usize, latest: bool) -> TopK {
        TopK {
            k,
            latest,
            newest: BinaryHeap::new(),
            oldest: BinaryHeap::new(),
        }
    }

    fn push(&mut self, hit: Hit) {
        if self.latest {
            if self.newest.len() < self.k {
                self.newest.push(Reverse(hit));
            } else if self.newest.peek().is_some_and(|Reverse(min)| hit > *min) {
                self.newest.pop();
                self.newest.push(Reverse(hit));
            }
        } else if self.oldest.len() < self.k {
            self.oldest.push(hit);
        } else if self.oldest.peek().is_some_and(|max| hit < *max) {
            self.oldest.pop();
            self.oldest.push(hit);
        }
    }

    fn is_full(&self) -> bool {
        self.newest.len().max(self.oldest.len()) >= self.k
    }

    /// Whether no row with a timestamp in `[min, max]` can enter: k are held and the worst of them is strictly
    /// newer than `max` (`latest`) or strictly older than `min` (`earliest`).
    fn excludes(&self, min: i64, max: i64) -> bool {
        if !self.is_full() {
            return false;
        }
        if self.latest {
            self.newest
                .peek()
                .is_some_and(|Reverse(worst)| worst.timestamp > max)
        } else {
            self.oldest
                .peek()
                .is_some_and(|worst| worst.timestamp < min)
        }
    }

    /// When k are held, the timestamp of the worst of them: no row beyond it (older for `latest`, newer for
    /// `earliest`) can enter.
    fn worst(&self) -> Option<i64> {
        if !self.is_full() {
            return None;
        }
        if self.latest {
            self.newest.peek().map(|Reverse(worst)| worst.timestamp)
        } else {
            self.oldest.peek().map(|worst| worst.timestamp)
        }
    }

    /// The hits in page order.
    fn into_sorted(self) -> Vec<Hit> {
        let mut hits: Vec<Hit> = if self.latest {
            self.newest.into_iter().map(|Reverse(h)| h).collect()
        } else {
            self.oldest.into_vec()
        };
        hits.sort_unstable();
        if self.latest {
            hits.reverse();
        }
        hits
    }
}

/// One page of `query`, as records.
pub(crate) struct Page<'s> {
    pub(crate) records: Vec<LogRecord>,
    pub(crate) has_more: bool,
    pub(crate) next_cursor: Option<Cursor>,
    pub(crate) scanner: Scanner<'s>,
}

/// The rows of one page of `query` (spec §3.1): ordered by (`timestamp`, `uuid`), at most `requested`, and
/// whether more follow. Hour partitions are visited from the sort edge and the walk stops as soon as
/// `requested + 1` rows are held, so listing the newest rows touches the newest files only.
pub(crate) fn page<'s>(
    snapshot: &'s Snapshot,
    ctx: &Context,
    q: &LogsQuery,
    requested: usize,
    options: PlanOptions,
) -> Result<Page<'s>> {
    let range = q.time_range(ctx.now)?;
    let pred = query_predicate(q, range, true);
    let k = requested + 1;
    let mut scanner = Scanner::new(snapshot, ctx.team, options);
    let mut projection = BTreeSet::new();
    pred.columns(&mut projection);
    projection.insert(columns::UUID);

    let latest = q.order_by == OrderBy::Latest;
    let mut top = TopK::new(k, latest);
    let mut mem_rows: Vec<&LogRecord> = Vec::new();
    // Whole records read while choosing the page (see `fetch_from_edge`), by (file position, row).
    let mut prefetched: HashMap<(usize, u32), LogRecord> = HashMap::new();
    let bitmap_only = pred.only_time_service_severity_cursor();
    let mut hours = scanner.hours(range);
    if latest {
        hours.reverse();
    }
    for hour in &hours {
        // The memtable first (it is in memory, and it holds the newest rows), then the hour's files from the sort
        // edge (several flushes can write one hour), so that a file whose every row is beaten by the k rows
        // already held is not read at all.
        scanner.scan_mem(&hour.mem, &pred, &mut |r| {
            let i = mem_rows.len();
            mem_rows.push(r);
            top.push(Hit {
                timestamp: r.timestamp,
                uuid: r.uuid,
                file: usize::MAX,
                row: i as u32,
            });
        });

        let mut files = hour.files.clone();
        if latest {
            files.sort_by_key(|f| Reverse(f.meta.max_timestamp));
        } else {
            files.sort_by_key(|f| f.meta.min_timestamp);
        }
        for f in files {
            if top.excludes(f.meta.min_timestamp, f.meta.max_timestamp) {
                continue;
            }
            let pos = scanner.file_pos(f);
            let mut visit = |r: &dyn Row, row: u32| {
                top.push(Hit {
                    timestamp: r.timestamp(),
                    uuid: r.uuid(),
                    file: pos,
                    row,
                });
            };
            match edge_spans(&mut scanner, f, &pred, latest) {
                Some((_, edges)) if edges.is_empty() => {}
                // One run holds every candidate (a file in time order, or a list of errors only, or of a value
                // the sidecar finds with errors only), or several runs whose candidates all match (bar the edge
                // minutes): the run with most candidates first, walked from its edge (read whole in one pass
                // when its candidates mostly match), then each other run only over the minutes its rows can
                // still enter the page in, choosing by `timestamp` and `uuid` (the winners are fetched at the
                // end). Errors are then read when they are among the newest rows, not a page of them per list.
                Some((index, mut edges)) if edges.len() == 1 || bitmap_only => {
                    edges.sort_by_key(|e| Reverse(e.candidates()));
                    for (i, mut edge) in edges.into_iter().enumerate() {
                        if let Some(worst) = top.worst() {
                            let minute = worst.div_euclid(NANOS_PER_MINUTE);
                            let allowed = if latest {
                                index.run_minute_span(&edge.run, minute, i64::MAX)
                            } else {
                                index.run_minute_span(&edge.run, i64::MIN, minute)
                            };
                            let start = edge.span.start.max(allowed.start);
                            edge.span = start..edge.span.end.min(allowed.end).max(start);
                            if edge.candidates() == 0 {
                                continue;
                            }
                        }
                        let one_pass = if i == 0 {
                            one_pass_window(&edge, bitmap_only, k)
                        } else {
                            None
                        };
                        if let Some(first) = one_pass {
                            let fetched =
                                fetch_from_edge(&mut scanner, f, &pred, &edge, (k, first), latest)?;
                            hold_fetched(&mut top, &mut prefetched, pos, fetched);
                        } else {
                            scan_from_edge(
                                &mut scanner,
                                f,
                                (&pred, &projection),
                                edge,
                                k,
                                latest,
                                &mut |r: &dyn Row, row| {
                                    top.push(Hit {
                                        timestamp: r.timestamp(),
                                        uuid: r.uuid(),
                                        file: pos,
                                        row,
                                    })
                                },
                            )?;
                        }
                    }
                }
                Some((index, edges)) => scan_minute_windows(
                    &mut scanner,
                    (f, &index),
                    (&pred, &projection),
                    edges,
                    k,
                    latest,
                    &mut visit,
                )?,
                None => match edge_rows(&mut scanner, f, &pred, k, latest) {
                    Some(rows) => {
                        scanner.scan_rows(f, &pred, &projection, Some(rows), &mut visit)?
                    }
                    None => scanner.scan_file(f, &pred, &projection, &mut visit)?,
                },
            }
        }
        // Hours are disjoint and visited from the sort edge: once k rows are held, no later hour can beat them.
        if top.is_full() {
            break;
        }
    }
    let mut hits = top.into_sorted();
    let has_more = hits.len() > requested;
    hits.truncate(requested);

    // Fetch the whole rows of the page, file by file.
    let mut by_file: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
    for h in &hits {
        if h.file != usize::MAX && !prefetched.contains_key(&(h.file, h.row)) {
            by_file.entry(h.file).or_default().push(h.row);
        }
    }
    let mut fetched = prefetched;
    for (pos, mut rows) in by_file {
        rows.sort_unstable();
        let file: &Arc<DataFile> = &snapshot.files()[pos];
        for (row, rec) in scanner.fetch_records(file, &rows)? {
            fetched.insert((pos, row), rec);
        }
    }
    let mut records = Vec::with_capacity(hits.len());
    for h in &hits {
        let rec = if h.file == usize::MAX {
            mem_rows[h.row as usize].clone()
        } else {
            fetched
                .remove(&(h.file, h.row))
                .ok_or_else(|| crate::Error::Corrupt {
                    path: snapshot.files()[h.file].path.clone(),
                    reason: format!("row {} vanished between two reads", h.row),
                })?
        };
        records.push(rec);
    }
    let next_cursor = match (has_more, hits.last()) {
        (true, Some(last)) => Some(Cursor {
            timestamp: last.timestamp,
            uuid: last.uuid,
        }),
        _ => None,
    };
    scanner.stats.rows_matched = records.len() as u64;
    Ok(Page {
        records,
        has_more,
        next_cursor,
        scanner,
    })
}

/// Offers records read whole (row `row` of the file at snapshot position `pos`) to the page, and keeps them so
/// the page's final fetch does not read them again.
fn hold_fetched(
    top: &mut TopK,
    prefetched: &mut HashMap<(usize, u32), LogRecord>,
    pos: usize,
    fetched: Vec<(u32, LogRecord)>,
) {
    for (row, rec) in fetched {
        top.push(Hit {
            timestamp: rec.timestamp,
            uuid: rec.uuid,
            file: pos,
            row,
        });
        prefetched.insert((pos, row), rec);
    }
}

/// The rows of `file` that can hold its `k` first matches from the sort edge (the newest for `latest`), when
/// only time, service, severity and the cursor constrain rows: the minutes walked from that edge until they hold
/// `k` matching rows by the minute rollup, located by [`quarry_index::FileIndex::rows_in_minutes`]. Listing the
/// newest 100 rows of an hour of a million then reads a few hundred rows, not the hour. `None`: read the file
/// (other filters, indexes off, or a sidecar that cannot tell).
fn edge_rows(
    scanner: &mut Scanner<'_>,
    file: &DataFile,
    pred: &Predicate,
    k: usize,
    latest: bool,
) -> Option<quarry_index::RoaringBitmap> {
    if !scanner.options.use_index || !pred.only_time_service_severity_cursor() {
        return None;
    }
    let index = scanner.postings(file)?;
    let Some((start, end)) = paging_bounds(pred, latest) else {
        return Some(quarry_index::RoaringBitmap::new());
    };
    // The cursor's own minute is never counted whole: rows at the cursor's instant are kept or dropped by uuid.
    let cursor_minute = pred
        .cursor
        .as_ref()
        .map(|(c, _)| c.timestamp.div_euclid(NANOS_PER_MINUTE));
    let (services, severities) = (pred.services.as_ref(), pred.severities.as_ref());
    let first = start.div_euclid(NANOS_PER_MINUTE);
    let last = (end - 1).div_euclid(NANOS_PER_MINUTE);
    let mut per_minute: BTreeMap<i64, u64> = BTreeMap::new();
    for (_, m) in index.minutes_of(services, severities) {
        if (first..=last).contains(&m.minute) {
            *per_minute.entry(m.minute).or_default() += m.count;
        }
    }
    let whole = |m: i64| {
        m.saturating_mul(NANOS_PER_MINUTE) >= start
            && (m + 1).saturating_mul(NANOS_PER_MINUTE) <= end
            && cursor_minute != Some(m)
    };
    let (mut lo, mut hi) = (first, last);
    let mut held = 0u64;
    let walk: Box<dyn Iterator<Item = (&i64, &u64)>> = if latest {
        Box::new(per_minute.iter().rev())
    } else {
        Box::new(per_minute.iter())
    };
    for (&m, &n) in walk {
        if latest {
            lo = m;
        } else {
            hi = m;
        }
        if whole(m) {
            held += n;
        }
        if held >= k as u64 {
            break;
        }
    }
    if per_minute.is_empty() {
        return Some(quarry_index::RoaringBitmap::new());
    }
    index.rows_in_minutes(services, severities, lo, hi)
}

/// The instants `[start, end)` a page can take rows from: the range, cut by the cursor (whose own instant stays
/// in, its rows kept or dropped by uuid). `None` when that is empty.
fn paging_bounds(pred: &Predicate, latest: bool) -> Option<(i64, i64)> {
    let (mut start, mut end) = (pred.range.start, pred.range.end);
    if let Some((c, _)) = &pred.cursor {
        if latest {
            end = end.min(c.timestamp.saturating_add(1));
        } else {
            start = start.max(c.timestamp);
        }
    }
    (start < end).then_some((start, end))
}

/// Rows of the first window [`scan_from_edge`] reads; each next window is four times larger.
const EDGE_WINDOW_ROWS: u32 = 4_096;

/// For a file laid out in time runs ([`quarry_index::FileIndex::time_runs`]): per run, the rows of the minutes a
/// page can take rows from ([`paging_bounds`]) when any of them is a candidate, with the rows the service,
/// severity and attribute filters allow (`None` = any). Empty when no row can match; `None` when the file is not
/// known to be in time runs (or indexes are off): then it is read whole.
fn edge_spans(
    scanner: &mut Scanner<'_>,
    file: &DataFile,
    pred: &Predicate,
    latest: bool,
) -> Option<(Arc<quarry_index::FileIndex>, Vec<EdgeSpan>)> {
    if !scanner.options.use_index {
        return None;
    }
    let index = scanner.postings(file)?;
    let runs = index.time_runs()?;
    let Some((start, end)) = paging_bounds(pred, latest) else {
        return Some((index, Vec::new()));
    };
    let (first, last) = (
        start.div_euclid(NANOS_PER_MINUTE),
        (end - 1).div_euclid(NANOS_PER_MINUTE),
    );
    let severities = pred.severities.as_ref();
    let runs: Vec<_> = runs
        .into_iter()
        .filter(|run| severities.is_none_or(|s| s.iter().any(|&s| run.holds(s))))
        .map(|run| (index.run_minute_span(&run, first, last), run))
        .filter(|(span, _)| !span.is_empty())
        .collect();
    if runs.is_empty() {
        return Some((index, Vec::new()));
    }
    let (selected, expected) = scanner.index_selection_counted(file, pred);
    let edges = runs
        .into_iter()
        .filter(|(span, _)| {
            selected
                .as_ref()
                .is_none_or(|s| s.range_cardinality(span.clone()) > 0)
        })
        .map(|(span, run)| EdgeSpan {
            run,
            span,
            selected: selected.clone(),
            expected,
        })
        .collect();
    Some((index, edges))
}

/// The rows of one time run a page can take rows from (see [`edge_spans`]).
struct EdgeSpan {
    run: quarry_index::TimeRun,
    span: std::ops::Range<u32>,
    /// The rows the sidecar's postings allow (`None` = any).
    selected: Option<quarry_index::RoaringBitmap>,
    /// At most this many rows of the whole file match the predicate's attribute leaves, when it has some.
    expected: Option<u64>,
}

impl EdgeSpan {
    /// Rows of the span the postings allow.
    fn candidates(&self) -> u64 {
        match &self.selected {
            Some(selected) => selected.range_cardinality(self.span.clone()),
            None => u64::from(self.span.end - self.span.start),
        }
    }
}

/// Scans a file of several time runs ([`edge_spans`]) from the page's sort edge in windows of whole minutes,
/// until the file has given `k` matches or the runs are done. A window holds every candidate row of its minutes
/// in every run, so rows beyond it are older (for `latest`) than every row in it, and `k` matches found so far
/// cannot be beaten by the rest. The first window holds a few pages' worth of candidates by the minute rollup;
/// the next grows with what the matches so far say is needed, at most fourfold.
fn scan_minute_windows(
    scanner: &mut Scanner<'_>,
    (file, index): (&DataFile, &quarry_index::FileIndex),
    (pred, projection): (&Predicate, &BTreeSet<&'static str>),
    edges: Vec<EdgeSpan>,
    k: usize,
    latest: bool,
    visit: &mut dyn FnMut(&dyn Row, u32),
) -> Result<()> {
    let Some((start, end)) = paging_bounds(pred, latest) else {
        return Ok(());
    };
    let (first, last) = (
        start.div_euclid(NANOS_PER_MINUTE),
        (end - 1).div_euclid(NANOS_PER_MINUTE),
    );
    let mut per_minute: BTreeMap<i64, u64> = BTreeMap::new();
    for (_, m) in index.minutes_of(pred.services.as_ref(), pred.severities.as_ref()) {
        if (first..=last).contains(&m.minute) {
            *per_minute.entry(m.minute).or_default() += m.count;
        }
    }
    let mut minutes: Vec<(i64, u64)> = per_minute.into_iter().collect();
    if latest {
        minutes.reverse();
    }
    let selected = edges.first().and_then(|e| e.selected.clone());
    let mut size = u64::from(EDGE_WINDOW_ROWS);
    let (mut found, mut scanned, mut at) = (0usize, 0u64, 0usize);
    while at < minutes.len() && found < k {
        // The window: minutes from the edge until they hold `size` candidates by the rollup.
        let (from, mut held) = (at, 0u64);
        while at < minutes.len() && (held < size || at == from) {
            held += minutes[at].1;
            at += 1;
        }
        let (a, b) = (minutes[from].0, minutes[at - 1].0);
        let (lo, hi) = (a.min(b), a.max(b));
        let mut rows = quarry_index::RoaringBitmap::new();
        for edge in &edges {
            rows.insert_range(index.run_minute_span(&edge.run, lo, hi));
        }
        if let Some(selected) = &selected {
            rows &= selected;
        }
        scanned += rows.len();
        scanner.scan_rows(file, pred, projection, Some(rows), &mut |r, row| {
            found += 1;
            visit(r, row);
        })?;
        size = rows_still_needed(k, found, scanned).clamp(
            u64::from(EDGE_WINDOW_ROWS).min(size),
            size.saturating_mul(4),
        );
    }
    Ok(())
}

/// Scans the rows `span` of one time run (cut by `selected`, when given) from the page's sort edge, in windows of
/// growing size, until the run has given `k` matches or the span is done. The run is in the order of a page,
/// (`timestamp`, `uuid`), and holds every candidate of the file, so rows beyond the last window cannot beat the
/// `k` matches already found: a list filtered by attribute or text reads the newest few thousand rows of an hour,
/// not the hour.
fn scan_from_edge(
    scanner: &mut Scanner<'_>,
    file: &DataFile,
    (pred, projection): (&Predicate, &BTreeSet<&'static str>),
    edge: EdgeSpan,
    k: usize,
    latest: bool,
    visit: &mut dyn FnMut(&dyn Row, u32),
) -> Result<()> {
    let EdgeSpan {
        span,
        selected,
        expected,
        ..
    } = edge;
    let mut found = 0usize;
    let mut scanned = 0u64;
    // The first window: when the sidecar counted the rows an attribute leaf accepts, the span that should hold
    // `k` of them (with a quarter to spare, matches taken as spread evenly over the file), else a few pages.
    let span_rows = u64::from(span.end - span.start);
    let mut size = match (expected, &selected) {
        (Some(expected), Some(selected)) if expected > 0 && !selected.is_empty() => {
            let in_span = selected.range_cardinality(span.clone()).max(1);
            let expected_in_span = (expected.saturating_mul(in_span) / selected.len()).max(1);
            let rows = (k as u64).saturating_mul(span_rows) / expected_in_span * 5 / 4;
            u32::try_from(rows.min(span_rows))
                .unwrap_or(u32::MAX)
                .max(EDGE_WINDOW_ROWS)
        }
        _ => EDGE_WINDOW_ROWS,
    };
    let (mut lo, mut hi) = (span.start, span.end);
    while lo < hi && found < k {
        let window = if latest {
            hi.saturating_sub(size).max(lo)..hi
        } else {
            lo..lo.saturating_add(size).min(hi)
        };
        if latest {
            hi = window.start;
        } else {
            lo = window.end;
        }
        scanned += u64::from(window.end - window.start);
        let mut rows = quarry_index::RoaringBitmap::new();
        rows.insert_range(window);
        if let Some(selected) = &selected {
            rows &= selected;
        }
        scanner.scan_rows(file, pred, projection, Some(rows), &mut |r, row| {
            found += 1;
            visit(r, row);
        })?;
        // The next window: what the matches so far say the rest of the page needs, but at most four times the
        // last window (and four times it when nothing matched yet).
        size = u32::try_from(rows_still_needed(k, found, scanned))
            .unwrap_or(u32::MAX)
            .clamp(EDGE_WINDOW_ROWS, size.saturating_mul(4));
    }
    Ok(())
}

/// Rows to scan for the `k - found` matches a page still needs, at the rate of `found` matches in `scanned` rows,
/// with a quarter to spare; `u64::MAX` when nothing matched yet.
fn rows_still_needed(k: usize, found: usize, scanned: u64) -> u64 {
    match found {
        0 => u64::MAX,
        f => (k.saturating_sub(f) as u64).saturating_mul(scanned) / f as u64 * 5 / 4,
    }
}

/// When most candidates of a time run match, the first window of candidates [`fetch_from_edge`] reads
/// whole; `None` when the candidates should rather be scanned for the predicate's columns first
/// ([`scan_from_edge`]). Candidates mostly match when only time, service and severity constrain rows
/// (`bitmap_only`: all do, bar the partial minutes at the edges), or when the sidecar's count of rows an attribute
/// leaf accepts is at least a tenth of the candidates the postings left (a filter on a value that comes with
/// errors, after the postings kept the errors). Reading whole records of the candidates then costs less than
/// reading the predicate's columns over the span and every column again for the page's rows.
fn one_pass_window(edge: &EdgeSpan, bitmap_only: bool, k: usize) -> Option<u64> {
    if bitmap_only {
        return Some(k as u64);
    }
    let selected = edge.selected.as_ref()?;
    let expected = edge.expected?;
    (expected > 0 && expected.saturating_mul(10) >= selected.len())
        .then(|| (k as u64).saturating_mul(selected.len()) / expected * 5 / 4)
}

/// For a list in a time run whose candidates mostly match ([`one_pass_window`]): the whole records of
/// the `k` candidates nearest the sort edge among `selected` rows of `span` that match `pred`, reading `first`
/// candidates, then four times more each time too few matched. The candidates are the run's last (or first)
/// rows, so they are read once with every column instead of being chosen from a scan of the predicate's columns
/// and then fetched.
fn fetch_from_edge(
    scanner: &mut Scanner<'_>,
    file: &DataFile,
    pred: &Predicate,
    edge: &EdgeSpan,
    (k, first): (usize, u64),
    latest: bool,
) -> Result<Vec<(u32, LogRecord)>> {
    scanner.used.insert("index");
    let mut candidates = quarry_index::RoaringBitmap::new();
    candidates.insert_range(edge.span.clone());
    if let Some(selected) = &edge.selected {
        candidates &= selected;
    }
    let total = candidates.len();
    let mut out = Vec::new();
    let mut taken = edge_skip(scanner, file, pred, (&edge.run, &candidates), latest)?;
    let mut size = first.max(1);
    let mut scratch = Vec::new();
    while taken < total && out.len() < k {
        let n = size.min(total - taken);
        // Ranks (0-based, ascending) of the window's first and last candidates.
        let (first, last) = if latest {
            (total - taken - n, total - taken - 1)
        } else {
            (taken, taken + n - 1)
        };
        taken += n;
        let rank = |r: u64| {
            u32::try_from(r)
                .ok()
                .and_then(|r| candidates.select(r))
                .ok_or_else(|| crate::Error::Corrupt {
                    path: file.path.clone(),
                    reason: format!("candidate {r} of {total} is missing from the postings"),
                })
        };
        let mut window = quarry_index::RoaringBitmap::new();
        window.insert_range(rank(first)?..=rank(last)?);
        window &= &candidates;
        let rows: Vec<u32> = window.iter().collect();
        for (row, rec) in scanner.fetch_records(file, &rows)? {
            if pred.matches(&rec, &mut scratch) {
                out.push((row, rec));
            }
        }
        size = size.saturating_mul(4);
    }
    Ok(out)
}

/// How many of `candidates` (rows of one time run) at the sort edge lie beyond the page's edge bound: after
/// the range's end or at or after the cursor for `latest`, before the range's start or at or before the cursor
/// for `earliest`. Those rows are all in the edge minute (the span ends there) and, the run being in (`timestamp`,
/// `uuid`) order, they are the minute's edge-most candidates, so they are counted from that minute's `timestamp`
/// and `uuid` alone and skipped without reading their other columns. A deep page of one busy minute then reads
/// its own rows, not every newer row of the minute again.
fn edge_skip(
    scanner: &mut Scanner<'_>,
    file: &DataFile,
    pred: &Predicate,
    (run, candidates): (&quarry_index::TimeRun, &quarry_index::RoaringBitmap),
    latest: bool,
) -> Result<u64> {
    let Some((start, end)) = paging_bounds(pred, latest) else {
        return Ok(0);
    };
    let cursor = pred.cursor.as_ref().map(|(c, _)| (c.timestamp, c.uuid));
    let bound = if latest { end } else { start };
    if cursor.is_none() && bound.rem_euclid(NANOS_PER_MINUTE) == 0 {
        return Ok(0);
    }
    let (range_start, range_end) = (pred.range.start, pred.range.end);
    let beyond = |ts: i64, uuid: [u8; 16]| {
        if latest {
            ts >= range_end || cursor.is_some_and(|c| (ts, uuid) >= c)
        } else {
            ts < range_start || cursor.is_some_and(|c| (ts, uuid) <= c)
        }
    };
    let minute = if latest { end - 1 } else { start }.div_euclid(NANOS_PER_MINUTE);
    let Some(span) = scanner
        .postings(file)
        .map(|index| index.run_minute_span(run, minute, minute))
    else {
        return Ok(0);
    };
    let mut rows = quarry_index::RoaringBitmap::new();
    rows.insert_range(span);
    rows &= candidates;
    if rows.is_empty() {
        return Ok(0);
    }
    let rows: Vec<u32> = rows.iter().collect();
    let projection: BTreeSet<&'static str> = [columns::TIMESTAMP, columns::UUID].into();
    let mut skip = 0u64;
    scanner.read(file, &projection, Some(&rows), &mut |batch, ids| {
        let cols = crate::row::Columns::new(batch);
        for i in 0..ids.len() {
            let r = cols.row(i);
            skip += u64::from(beyond(r.timestamp(), r.uuid()));
        }
        Ok(())
    })?;
    Ok(skip)
}

/// `POST logs/query` (spec §3.1).
pub fn query(
    snapshot: &Snapshot,
    ctx: &Context,
    q: &LogsQuery,
    options: PlanOptions,
) -> Result<QueryResponse> {
    let started = Instant::now();
    let requested = q.requested_limit();
    let page = page(snapshot, ctx, q, requested, options)?;
    let checkpoint = live_checkpoint(snapshot);
    let results = page
        .records
        .iter()
        .map(|r| row_json(r, q, checkpoint.as_deref()))
        .collect();
    let mut echoed = q.raw.clone();
    echoed.insert("limit".into(), Value::from(requested + 1));
    let columns = (!q.custom_columns.is_empty()).then(|| {
        q.custom_columns
            .iter()
            .map(|c| c.alias().to_owned())
            .collect()
    });
    Ok(QueryResponse {
        query: Value::Object(echoed),
        results,
        has_more: page.has_more,
        next_cursor: page.next_cursor.map(|c| c.encode()),
        max_exportable_logs: quarry_api::MAX_EXPORTABLE_LOGS,
        columns,
        quarry_stats: q.explain.then(|| finish(page.scanner, started)),
    })
}

fn finish(mut scanner: Scanner<'_>, started: Instant) -> quarry_api::response::QuarryStats {
    let s = &mut scanner.stats;
    // `rollup`, `index` and `scan`, joined with `+` in that order; `catalog` when no file or row was needed.
    let used: Vec<&str> = ["rollup", "index", "scan"]
        .into_iter()
        .filter(|p| scanner.used.contains(p))
        .collect();
    s.path = if used.is_empty() {
        "catalog".to_owned()
    } else {
        used.join("+")
    };
    s.elapsed_us = started.elapsed().as_micros() as u64;
    scanner.stats
}

/// The live-tail checkpoint (spec §3.1): the snapshot's ingest watermark, the newest observation time of any
/// visible row (see `Snapshot::observed_through`), whether that row is in the memtable or already flushed.
fn live_checkpoint(snapshot: &Snapshot) -> Option<String> {
    snapshot
        .observed_through()
        .map(quarry_core::time::format_iso)
}

fn attrs_json(attrs: &quarry_core::Attributes) -> Value {
    Value::Object(
        attrs
            .iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
            .collect(),
    )
}

/// One result row of `query` (spec §3.1).
pub(crate) fn row_json(
    rec: &LogRecord,
    q: &LogsQuery,
    checkpoint: Option<&str>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("uuid".into(), rec.uuid_string().into());
    m.insert("trace_id".into(), to_upper_hex(&rec.trace_id).into());
    m.insert("span_id".into(), to_upper_hex(&rec.span_id).into());
    m.insert("body".into(), rec.body.clone().into());
    let empty = quarry_core::Attributes::new();
    let (a, ra) = if q.exclude_attributes {
        (&empty, &empty)
    } else {
        (&rec.attributes, &rec.resource_attributes)
    };
    m.insert("attributes".into(), attrs_json(a));
    m.insert(
        "timestamp".into(),
        quarry_core::time::format_iso(rec.timestamp).into(),
    );
    m.insert(
        "observed_timestamp".into(),
        quarry_core::time::format_iso(rec.observed_timestamp).into(),
    );
    m.insert("severity_text".into(), rec.severity_text.as_str().into());
    m.insert("severity_number".into(), rec.severity_number.into());
    m.insert("level".into(), rec.severity_text.as_str().into());
    m.insert("resource_attributes".into(), attrs_json(ra));
    m.insert(
        "resource_fingerprint".into(),
        rec.resource_fingerprint.to_string().into(),
    );
    m.insert(
        "instrumentation_scope".into(),
        rec.instrumentation_scope.clone().into(),
    );
    m.insert("event_name".into(), rec.event_name.clone().into());
    m.insert(
        "live_logs_checkpoint".into(),
        checkpoint.map_or(Value::Null, |c| Value::String(c.to_owned())),
    );
    for c in &q.custom_columns {
        m.insert(c.alias().to_owned(), custom_value(rec, c));
    }
    m
}

fn custom_value(rec: &LogRecord, c: &CustomColumn) -> Value {
    let text = match c {
        CustomColumn::Attribute { key, .. } => {
            quarry_core::record::attribute(&rec.attributes, key).map(str::to_owned)
        }
        CustomColumn::ResourceAttribute { key, .. } => {
            quarry_core::record::attribute(&rec.resource_attributes, key).map(str::to_owned)
        }
        CustomColumn::BodyPath { path, .. } => {
            let Ok(mut v) = serde_json::from_str::<Value>(&rec.body) else {
                return Value::Null;
            };
            for seg in path {
                v = match v {
                    Value::Object(mut o) => match o.remove(seg) {
                        Some(x) => x,
                        None => return Value::Null,
                    },
                    Value::Array(mut a) => match seg.parse::<usize>() {
                        Ok(i) if i < a.len() => a.swap_remove(i),
                        _ => return Value::Null,
                    },
                    _ => return Value::Null,
                };
            }
            match v {
                Value::Null => None,
                Value::String(s) => Some(s),
                other => Some(other.to_string()),
            }
        }
    };
    text.map_or(Value::Null, Value::String)
}

/// Whole minutes `first..end` (minutes since the epoch, `end` exclusive) of a file that the range cuts, which a
/// sidecar's minute rollup may answer; `None` means the whole file (it lies inside the range).
type MinuteWindow = Option<(i64, i64)>;

/// A partial result of [`count_rows`]: one per file, computed in parallel, merged in file order.
trait Partial: Default + Send {
    fn merge(&mut self, other: Self);
}

impl Partial for u64 {
    fn merge(&mut self, other: u64) {
        *self += other;
    }
}

impl Partial for BTreeMap<i64, u64> {
    fn merge(&mut self, other: Self) {
        for (k, n) in other {
            *self.entry(k).or_default() += n;
        }
    }
}

/// Counts matching rows of `range` into a [`Partial`]: `on_row` adds a row, except where a file's sidecar
/// answers instead: `on_index` receives the sidecar and the part of the file it should count (see
/// [`MinuteWindow`]) and returns whether it did.
///
/// When the filters are only time, service and severity, a file inside the range is answered by its sidecar
/// alone, and a file the range cuts by its minute rollup for the minutes wholly inside the range plus the rows
/// of the (at most two) partial minutes at the range's ends, located through [`quarry_index::FileIndex::
/// rows_in_minutes`]; when the sidecar may not answer (buckets finer than a minute, rollups off), only the rows
/// of the range's minutes are read. Every row read is still tested against the full predicate.
///
/// Files are independent, so they are counted on rayon's pool when there is per-file work worth a thread hop
/// (rows to read, or minute rollups to fold), each into its own partial result and its own `quarry_stats`,
/// merged afterwards; the memtable is counted last, on the caller's thread. A count that only adds bitmap
/// cardinalities stays on the caller's thread: the hop would cost more than the work (3 µs against 28 µs over
/// 33 files).
fn count_rows<A: Partial>(
    scanner: &mut Scanner<'_>,
    pred: &Predicate,
    extra: &[&'static str],
    on_row: &(dyn Fn(&mut A, &dyn Row) + Sync),
    on_index: &(dyn Fn(&mut A, &quarry_index::FileIndex, MinuteWindow) -> bool + Sync),
    index_path: &'static str,
    parallel: bool,
) -> Result<A> {
    use rayon::prelude::*;
    let mut projection = BTreeSet::new();
    pred.columns(&mut projection);
    projection.extend(extra.iter().copied());
    let hours = scanner.hours(pred.range);
    let files: Vec<&Arc<DataFile>> = hours.iter().flat_map(|h| h.files.iter().copied()).collect();
    let sidecar_ok = pred.only_time_service_severity() && scanner.options.use_index;
    let (snapshot, team, options) = (scanner.snapshot, scanner.team, scanner.options);
    let per_file = |f: &Arc<DataFile>| -> Result<(A, Scanner<'_>)> {
        let mut sub = Scanner::new(snapshot, team, options);
        let mut acc = A::default();
        if sidecar_ok {
            match f.postings() {
                Ok(index) => {
                    let covered = pred
                        .range
                        .covers_closed(f.meta.min_timestamp, f.meta.max_timestamp);
                    if covered && on_index(&mut acc, &index, None) {
                        sub.stats.files_from_index += 1;
                        sub.used.insert(index_path);
                        return Ok((acc, sub));
                    }
                    if !covered {
                        let rows = cut_file_rows(&sub, &index, pred, &mut |index, window| {
                            on_index(&mut acc, index, window)
                        });
                        if let Some((rows, answered)) = rows {
                            if answered {
                                sub.stats.files_from_index += 1;
                                sub.used.insert(index_path);
                            }
                            if !rows.is_empty() {
                                sub.used.insert("index");
                                sub.scan_rows(f, pred, &projection, Some(rows), &mut |r, _| {
                                    on_row(&mut acc, r)
                                })?;
                            }
                            return Ok((acc, sub));
                        }
                    }
                }
                Err(_) => sub.stats.sidecars_unreadable += 1,
            }
        }
        sub.scan_file(f, pred, &projection, &mut |r, _| on_row(&mut acc, r))?;
        Ok((acc, sub))
    };
    let partials: Vec<Result<(A, Scanner<'_>)>> = if parallel && files.len() > 1 {
        files.par_iter().map(|f| per_file(f)).collect()
    } else {
        files.iter().map(|f| per_file(f)).collect()
    };
    let mut out = A::default();
    for partial in partials {
        let (acc, sub) = partial?;
        out.merge(acc);
        scanner.absorb(sub);
    }
    for hour in &hours {
        scanner.scan_mem(&hour.mem, pred, &mut |r| on_row(&mut out, r));
    }
    Ok(out)
}

/// The minute rollup entries of `pred`'s services and severities, inside `window` when one is given (the whole
/// minutes of a range that cuts the file, see [`cut_file_rows`]).
fn minutes_in<'a>(
    index: &'a quarry_index::FileIndex,
    pred: &'a Predicate,
    window: MinuteWindow,
) -> impl Iterator<Item = &'a quarry_index::MinuteCount> + 'a {
    index
        .minutes_of(pred.services.as_ref(), pred.severities.as_ref())
        .map(|(_, m)| m)
        .filter(move |m| window.is_none_or(|(first, end)| (first..end).contains(&m.minute)))
}

/// For a file that `pred.range` cuts: the rows still to read, and whether `on_index` counted the minutes
/// wholly inside the range (then only the partial minutes at the range's ends are left to read). `None` when
/// the sidecar cannot locate rows by minute (the whole file must be read).
fn cut_file_rows(
    scanner: &Scanner<'_>,
    index: &quarry_index::FileIndex,
    pred: &Predicate,
    on_index: &mut dyn FnMut(&quarry_index::FileIndex, MinuteWindow) -> bool,
) -> Option<(quarry_index::RoaringBitmap, bool)> {
    let range = pred.range;
    if range.start >= range.end {
        return Some((quarry_index::RoaringBitmap::new(), false));
    }
    let (services, severities) = (pred.services.as_ref(), pred.severities.as_ref());
    let first = range.start.div_euclid(NANOS_PER_MINUTE);
    let last = (range.end - 1).div_euclid(NANOS_PER_MINUTE);
    // Minutes wholly inside [start, end): from the first minute starting at or after `start` to the last one
    // ending at or before `end`.
    let whole_first = first + i64::from(range.start.rem_euclid(NANOS_PER_MINUTE) != 0);
    let whole_end = range.end.div_euclid(NANOS_PER_MINUTE);
    if scanner.options.use_rollups && whole_first < whole_end {
        let mut edges = quarry_index::RoaringBitmap::new();
        if first < whole_first {
            edges |= index.rows_in_minutes(services, severities, first, first)?;
        }
        if last >= whole_end {
            edges |= index.rows_in_minutes(services, severities, last, last)?;
        }
        if on_index(index, Some((whole_first, whole_end))) {
            return Some((edges, true));
        }
    }
    Some((
        index.rows_in_minutes(services, severities, first, last)?,
        false,
    ))
}

/// Rows of a sidecar matching the services and severities of `pred` (exact for a file inside the range).
fn index_count(index: &quarry_index::FileIndex, pred: &Predicate) -> u64 {
    index
        .select(pred.services.as_ref(), pred.severities.as_ref())
        .map_or(index.rows, |b| b.len())
}

/// `POST logs/count` (spec §3.2).
pub fn count(
    snapshot: &Snapshot,
    ctx: &Context,
    q: &LogsQuery,
    options: PlanOptions,
) -> Result<CountResponse> {
    let started = Instant::now();
    let range = q.time_range(ctx.now)?;
    let pred = query_predicate(q, range, false);
    let mut scanner = Scanner::new(snapshot, ctx.team, options);
    let n: u64 = count_rows(
        &mut scanner,
        &pred,
        &[],
        &|n, _| *n += 1,
        &|n, index, window| {
            *n += match window {
                None => index_count(index, &pred),
                Some(_) => minutes_in(index, &pred, window).map(|m| m.count).sum(),
            };
            true
        },
        "index",
        !pred.only_time_service_severity(),
    )?;
    scanner.stats.rows_matched = n;
    Ok(CountResponse {
        count: n,
        quarry_stats: q.explain.then(|| finish(scanner, started)),
    })
}

/// `POST logs/count-ranges` (spec §3.3): epoch-aligned buckets of the picked width, empty ones omitted; counts
/// are of rows inside `[from, to)`, so they add up to `count`.
pub fn count_ranges(
    snapshot: &Snapshot,
    ctx: &Context,
    q: &LogsQuery,
    options: PlanOptions,
) -> Result<CountRangesResponse> {
    let started = Instant::now();
    let range = q.time_range(ctx.now)?;
    let interval = quarry_agg::pick_interval(range.len_nanos(), q.target_buckets);
    let pred = query_predicate(q, range, false);
    let mut scanner = Scanner::new(snapshot, ctx.team, options);
    // Minute rollups answer a file inside the range when buckets are whole minutes (every candidate width of a
    // minute or more is a multiple of 60 s, and buckets are epoch-aligned, so a minute never straddles two).
    let rollups = options.use_rollups && interval.nanos() % NANOS_PER_MINUTE == 0;
    let buckets: BTreeMap<i64, u64> = count_rows(
        &mut scanner,
        &pred,
        &[],
        &|buckets: &mut BTreeMap<i64, u64>, r| {
            *buckets
                .entry(interval.bucket_start(r.timestamp()))
                .or_default() += 1
        },
        &|buckets, index, window| {
            if !rollups {
                return false;
            }
            for m in minutes_in(index, &pred, window) {
                *buckets
                    .entry(interval.bucket_start(m.minute * NANOS_PER_MINUTE))
                    .or_default() += m.count;
            }
            true
        },
        "rollup",
        true,
    )?;
    let ranges: Vec<CountRange> = buckets
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(start, count)| CountRange {
            date_from: format_iso_micros(start),
            date_to: format_iso_micros(start.saturating_add(interval.nanos())),
            count,
        })
        .collect();
    scanner.stats.rows_matched = ranges.iter().map(|r| r.count).sum();
    Ok(CountRangesResponse {
        ranges,
        interval: interval.label(),
        quarry_stats: q.explain.then(|| finish(scanner, started)),
    })
}

/// `GET logs/has_logs` (spec §3.8): whether the team has any row, in files or in the memtable.
pub fn has_logs(snapshot: &Snapshot, ctx: &Context) -> HasLogsResponse {
    HasLogsResponse {
        has_logs: snapshot.row_count(ctx.team) > 0,
    }
}

/// The predicate of a GET endpoint: range, `serviceNames`, `filterGroup`.
fn common_predicate(c: &CommonParams, now: i64) -> Result<Predicate> {
    Ok(Predicate::range(c.time_range(now)?)
        .with_services(&c.service_names)
        .with_filter(&c.filter_group))
}

/// Whether an attribute pair is counted by `values`/`attributes`: as in PostHog's `log_attributes` (spec §1.3),
/// log attribute keys or values of `max_len` bytes or more are not (resource attributes always are).
fn counted(kind: AttributeType, k: &str, v: &str, max_len: usize) -> bool {
    kind == AttributeType::Resource || (k.len() < max_len && v.len() < max_len)
}

/// Visits the counted attribute pairs of every matching row, as `(key, value, rows)`.
///
/// A file entirely inside the range is answered from its sidecar's attribute rollup when the predicate is only
/// time and service (the rollup is split by service) and `rollup_ok` accepts the sidecar (callers refuse sidecars
/// whose high-cardinality keys lack the values they need); `value` is `None` only for such keys. Other files
/// and the memtable are scanned, with `rows` = 1 per pair.
fn scan_attributes(
    scanner: &mut Scanner<'_>,
    pred: &Predicate,
    kind: AttributeType,
    rollup_ok: &dyn Fn(&quarry_index::FileIndex, quarry_index::AttrKind) -> bool,
    visit: &mut dyn FnMut(&str, Option<&str>, u64),
) -> Result<()> {
    let mut projection = BTreeSet::new();
    pred.columns(&mut projection);
    let resource = kind == AttributeType::Resource;
    let index_kind = if resource {
        quarry_index::AttrKind::Resource
    } else {
        quarry_index::AttrKind::Log
    };
    projection.insert(if resource {
        columns::RESOURCE_ATTRIBUTES
    } else {
        columns::ATTRIBUTES
    });
    let max_len = scanner.options.max_attr_len;
    let use_rollups = scanner.options.use_rollups
        && pred.severities.is_none()
        && pred.only_time_service_severity();
    let hours = scanner.hours(pred.range);
    for hour in &hours {
        for f in &hour.files {
            if use_rollups
                && pred
                    .range
                    .covers_closed(f.meta.min_timestamp, f.meta.max_timestamp)
            {
                // Whole-file totals (cached on the file handle): the file is inside the range, so its buckets,
                // severities (not filtered here) and resources need not be told apart.
                match f.attr_totals() {
                    Ok(index) if rollup_ok(&index, index_kind) => {
                        scanner.stats.files_from_index += 1;
                        scanner.used.insert("rollup");
                        let wanted: Option<BTreeSet<u32>> = pred.services.as_ref().map(|names| {
                            index
                                .services
                                .iter()
                                .enumerate()
                                .filter(|(_, (n, _))| names.contains(n))
                                .map(|(i, _)| i as u32)
                                .collect()
                        });
                        // Totals are split by severity, which is not asked here: entries of one (key, value,
                        // service) are adjacent (sorted), so each run is visited once with its sum.
                        let mut run: Option<(u32, Option<u32>, u64)> = None;
                        let mut flush = |run: Option<(u32, Option<u32>, u64)>| {
                            if let Some((key, value, count)) = run {
                                let value = value.map(|v| index.strings[v as usize].as_str());
                                visit(&index.strings[key as usize], value, count);
                            }
                        };
                        for a in index.attrs.iter().filter(|a| a.kind == index_kind) {
                            if wanted.as_ref().is_some_and(|w| !w.contains(&a.service)) {
                                continue;
                            }
                            match &mut run {
                                Some((key, value, count)) if (*key, *value) == (a.key, a.value) => {
                                    *count += a.count;
                                }
                                _ => flush(run.replace((a.key, a.value, a.count))),
                            }
                        }
                        flush(run);
                        continue;
                    }
                    Ok(_) => {}
                    Err(_) => scanner.stats.sidecars_unreadable += 1,
                }
            }
            scanner.scan_file(f, pred, &projection, &mut |r, _| {
                r.for_each_attribute(resource, &mut |k, v| {
                    if counted(kind, k, v, max_len) {
                        visit(k, Some(v), 1);
                    }
                })
            })?;
        }
        scanner.scan_mem(&hour.mem, pred, &mut |r| {
            r.for_each_attribute(resource, &mut |k, v| {
                if counted(kind, k, v, max_len) {
                    visit(k, Some(v), 1);
                }
            })
        });
    }
    Ok(())
}

/// Whether `key` is high-cardinality (values not rolled up) in the sidecar.
fn is_high_cardinality(
    index: &quarry_index::FileIndex,
    kind: quarry_index::AttrKind,
    key: &str,
) -> bool {
    index
        .high_cardinality_keys
        .iter()
        .any(|(k, i)| *k == kind && index.strings.get(*i as usize).is_some_and(|s| s == key))
}

/// `GET logs/values` (spec §3.6): the values of one key among matching rows of the range, with the number of rows
/// carrying each; `value` keeps those containing it (case-insensitive, literal); ordered by count descending then
/// value; `offset`, then `limit`.
pub fn values(
    snapshot: &Snapshot,
    ctx: &Context,
    p: &ValuesParams,
    options: PlanOptions,
) -> Result<ValuesResponse> {
    let started = Instant::now();
    let pred = common_predicate(&p.common, ctx.now)?;
    let mut scanner = Scanner::new(snapshot, ctx.team, options);
    let needle = p.value.as_deref().map(str::to_lowercase);
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut scratch = Vec::new();
    let rollup_ok =
        |index: &quarry_index::FileIndex, kind| !is_high_cardinality(index, kind, &p.key);
    scan_attributes(
        &mut scanner,
        &pred,
        p.common.attribute_type,
        &rollup_ok,
        &mut |k, v, n| {
            let Some(v) = v else { return };
            if k == p.key
                && needle
                    .as_deref()
                    .is_none_or(|needle| contains_ci(v, needle, &mut scratch))
            {
                match counts.get_mut(v) {
                    Some(c) => *c += n,
                    None => {
                        counts.insert(v.to_owned(), n);
                    }
                }
            }
        },
    )?;
    let mut all: Vec<(String, u64)> = counts.into_iter().collect();
    all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let results = all
        .into_iter()
        .skip(p.common.offset)
        .take(p.common.limit)
        .map(|(v, count)| ValueItem {
            id: v.clone(),
            name: v,
            count,
        })
        .collect();
    Ok(ValuesResponse {
        results,
        refreshing: false,
        quarry_stats: p.common.explain.then(|| finish(scanner, started)),
    })
}

/// Whether some lowercase token of `key` (split on non-alphanumeric characters) equals `search` (lowercase).
fn token_match(key: &str, search_lower: &str) -> bool {
    key.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .any(|t| !t.is_empty() && t == search_lower)
}

/// `GET logs/attributes` (spec §3.7).
///
/// Key mode: keys containing `search` (case-insensitive, literal), ranked exact match first, then keys with a
/// token equal to `search`, then by the number of rows carrying the key (descending), then by key; `count` is the
/// number of matching keys. Value-search mode (`search_values` and `search` of 4+ characters): keys whose name
/// matches come first (`matchedOn: "key"`), then keys with a value containing `search` (`matchedOn: "value"`,
/// `matchedValue` = that value with the most rows, ties to the smaller value), each part ranked as above; `count`
/// is `offset + page length`, as PostHog.
pub fn attributes(
    snapshot: &Snapshot,
    ctx: &Context,
    p: &AttributesParams,
    options: PlanOptions,
) -> Result<AttributesResponse> {
    let started = Instant::now();
    let pred = common_predicate(&p.common, ctx.now)?;
    let mut scanner = Scanner::new(snapshot, ctx.team, options);
    let search = p.search.to_lowercase();
    let value_mode = p.search_values && p.search.chars().count() >= 4;
    let allowed: Option<BTreeSet<&str>> = p
        .keys
        .as_ref()
        .map(|k| k.iter().map(String::as_str).collect());
    let mut key_counts: HashMap<String, u64> = HashMap::new();
    // Value mode: per key whose name does not match, the count of each matching value.
    let mut value_hits: HashMap<String, HashMap<String, u64>> = HashMap::new();
    let mut scratch = Vec::new();
    // Key mode needs key counts only, which high-cardinality keys keep; value search needs every value.
    let rollup_ok = |index: &quarry_index::FileIndex, kind| {
        !value_mode || !index.high_cardinality_keys.iter().any(|(k, _)| *k == kind)
    };
    scan_attributes(
        &mut scanner,
        &pred,
        p.common.attribute_type,
        &rollup_ok,
        &mut |k, v, n| {
            if allowed.as_ref().is_some_and(|a| !a.contains(k)) {
                return;
            }
            let key_matches = contains_ci(k, &search, &mut scratch);
            if key_matches {
                match key_counts.get_mut(k) {
                    Some(c) => *c += n,
                    None => {
                        key_counts.insert(k.to_owned(), n);
                    }
                }
            } else if value_mode
                && let Some(v) = v
                && contains_ci(v, &search, &mut scratch)
            {
                *value_hits
                    .entry(k.to_owned())
                    .or_default()
                    .entry(v.to_owned())
                    .or_default() += n;
            }
        },
    )?;
    let rank = |items: &mut Vec<(String, u64)>| {
        items.sort_unstable_by(|a, b| {
            let ea = a.0.to_lowercase() == search;
            let eb = b.0.to_lowercase() == search;
            let ta = token_match(&a.0, &search);
            let tb = token_match(&b.0, &search);
            eb.cmp(&ea)
                .then(tb.cmp(&ta))
                .then(b.1.cmp(&a.1))
                .then_with(|| a.0.cmp(&b.0))
        });
    };
    let kind = p.common.attribute_type;
    let mut keys: Vec<(String, u64)> = key_counts.into_iter().collect();
    rank(&mut keys);
    let mut items: Vec<AttributeItem> = keys
        .iter()
        .map(|(k, _)| AttributeItem {
            name: k.clone(),
            property_filter_type: kind.property_filter_type().into(),
            matched_on: "key".into(),
            matched_value: None,
        })
        .collect();
    let total_keys = items.len();
    if value_mode {
        let mut by_value: Vec<(String, u64)> = Vec::new();
        let mut best_value: HashMap<String, String> = HashMap::new();
        for (k, vals) in value_hits {
            let total: u64 = vals.values().sum();
            let best = vals
                .into_iter()
                .min_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)))
                .map(|(v, _)| v)
                .unwrap_or_default();
            best_value.insert(k.clone(), best);
            by_value.push((k, total));
        }
        rank(&mut by_value);
        items.extend(by_value.into_iter().map(|(k, _)| AttributeItem {
            matched_value: best_value.remove(&k),
            name: k,
            property_filter_type: kind.property_filter_type().into(),
            matched_on: "value".into(),
        }));
    }
    let page: Vec<AttributeItem> = items
        .into_iter()
        .skip(p.common.offset)
        .take(p.common.limit)
        .collect();
    let count = if value_mode {
        p.common.offset + page.len()
    } else {
        total_keys
    };
    Ok(AttributesResponse {
        results: page,
        count,
        quarry_stats: p.common.explain.then(|| finish(scanner, started)),
    })
}

/// The rows of an export (spec §3.9): the query's rows in its order, at most `cap`, fetched page by page.
pub fn export_records(
    snapshot: &Snapshot,
    ctx: &Context,
    q: &LogsQuery,
    cap: usize,
    options: PlanOptions,
) -> Result<Vec<LogRecord>> {
    let mut out = Vec::new();
    for_each_page(snapshot, ctx, q, cap, options, &mut |page| {
        out.extend_from_slice(page);
        Ok(())
    })?;
    Ok(out)
}

/// Walks the query's rows in its order, at most `cap`, one page (at most 2,000 rows) at a time, following the
/// cursor; returns the number of rows passed to `on_page`.
pub(crate) fn for_each_page(
    snapshot: &Snapshot,
    ctx: &Context,
    q: &LogsQuery,
    cap: usize,
    options: PlanOptions,
    on_page: &mut dyn FnMut(&[LogRecord]) -> Result<()>,
) -> Result<usize> {
    let mut q = q.clone();
    let mut done = 0usize;
    while done < cap {
        let want = (cap - done).min(quarry_api::MAX_QUERY_LIMIT);
        let p = page(snapshot, ctx, &q, want, options)?;
        done += p.records.len();
        on_page(&p.records)?;
        match p.next_cursor {
            Some(c) if p.has_more => q.after = Some(c),
            _ => break,
        }
    }
    Ok(done)
}

/// Rows and bytes per (bucket start, service, severity). Service names are interned once per request, so adding
/// a row or a rollup entry allocates nothing once its service was seen.
/// (The keys are small integers: FxHash, not SipHash, which was half the time of a 24-hour sparkline.)
#[derive(Debug, Default)]
struct BucketCounts {
    names: Vec<String>,
    ids: rustc_hash::FxHashMap<String, u32>,
    cells: rustc_hash::FxHashMap<(i64, u32, Severity), (u64, u64)>,
}

impl BucketCounts {
    /// The id of `service`, added if new.
    fn intern(&mut self, service: &str) -> u32 {
        match self.ids.get(service) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.names.push(service.to_owned());
                self.ids.insert(service.to_owned(), id);
                id
            }
        }
    }

    fn add(&mut self, bucket: i64, service: &str, severity: Severity, rows: u64, bytes: u64) {
        let id = self.intern(service);
        self.add_id(bucket, id, severity, rows, bytes);
    }

    fn add_id(&mut self, bucket: i64, id: u32, severity: Severity, rows: u64, bytes: u64) {
        let e = self.cells.entry((bucket, id, severity)).or_default();
        e.0 += rows;
        e.1 += bytes;
    }

    /// (bucket, service, severity, rows, bytes) of every cell.
    fn iter(&self) -> impl Iterator<Item = (i64, &str, Severity, u64, u64)> + '_ {
        self.cells
            .iter()
            .map(|(&(b, id, sev), &(c, by))| (b, self.names[id as usize].as_str(), sev, c, by))
    }

    fn rows(&self) -> u64 {
        self.cells.values().map(|c| c.0).sum()
    }
}

impl Partial for BucketCounts {
    fn merge(&mut self, other: BucketCounts) {
        // Renumber `other`'s services once, then add its cells.
        let ids: Vec<u32> = other.names.iter().map(|n| self.intern(n)).collect();
        for ((b, id, sev), (c, by)) in other.cells {
            self.add_id(b, ids[id as usize], sev, c, by);
        }
    }
}

/// Rows and bytes per (bucket, service, severity) of the matching rows of `pred.range`: whole files inside the
/// range from their per-minute rollups when the buckets are whole minutes and the filters are time, service and
/// severity only; everything else from rows. `service_search` keeps services whose name contains it
/// (case-insensitive), before anything is counted.
fn bucket_counts(
    scanner: &mut Scanner<'_>,
    pred: &Predicate,
    interval: quarry_agg::Interval,
    service_search: Option<&str>,
) -> Result<BucketCounts> {
    let rollups = scanner.options.use_rollups && interval.nanos() % NANOS_PER_MINUTE == 0;
    let mut out: BucketCounts = count_rows(
        scanner,
        pred,
        &[
            columns::SERVICE_NAME,
            columns::SEVERITY_TEXT,
            columns::BYTES_UNCOMPRESSED,
        ],
        &|out: &mut BucketCounts, r| {
            let sev = Severity::from_canonical(r.severity_text()).unwrap_or(Severity::Unknown);
            out.add(
                interval.bucket_start(r.timestamp()),
                r.service_name(),
                sev,
                1,
                r.bytes_uncompressed(),
            );
        },
        &|out, index, window| {
            if !rollups {
                return false;
            }
            // The file's service numbers to this request's, once per file rather than once per entry.
            let ids: Vec<u32> = index
                .services
                .iter()
                .map(|(name, _)| out.intern(name))
                .collect();
            for m in minutes_in(index, pred, window) {
                out.add_id(
                    interval.bucket_start(m.minute * NANOS_PER_MINUTE),
                    ids[m.service as usize],
                    m.severity,
                    m.count,
                    m.bytes,
                );
            }
            true
        },
        "rollup",
        true,
    )?;
    if let Some(search) = service_search {
        let needle = search.to_lowercase();
        let mut scratch = Vec::new();
        let keep: Vec<bool> = out
            .names
            .iter()
            .map(|s| contains_ci(s, &needle, &mut scratch))
            .collect();
        out.cells.retain(|(_, id, _), _| keep[*id as usize]);
    }
    Ok(out)
}

/// `POST logs/sparkline` (spec §3.4): rows and bytes per bucket (picked for 50 buckets) and per severity or
/// service, top 10 values plus "other", zero-filled spine. Unlike PostHog, only rows inside `[from, to)` count,
/// so the counts add up to `count` for the same filters (the first and last buckets are partial).
pub fn sparkline(
    snapshot: &Snapshot,
    ctx: &Context,
    q: &LogsQuery,
    options: PlanOptions,
) -> Result<SparklineResponse> {
    let started = Instant::now();
    let range = q.time_range(ctx.now)?;
    let interval = quarry_agg::pick_interval(range.len_nanos(), 50);
    let pred = query_predicate(q, range, false);
    let mut scanner = Scanner::new(snapshot, ctx.team, options);
    let counts = bucket_counts(&mut scanner, &pred, interval, None)?;
    let by_service = q.sparkline_breakdown_by == quarry_api::BreakdownBy::Service;
    let first = interval.bucket_start(range.start);
    let last = interval
        .bucket_start(range.end.saturating_sub(1))
        .max(first);
    let input = quarry_agg::SparklineInput {
        first,
        last,
        width: interval.nanos(),
        rank_by: match q.sparkline_rank_by {
            quarry_api::RankBy::Count => quarry_agg::RankBy::Count,
            quarry_api::RankBy::Bytes => quarry_agg::RankBy::Bytes,
        },
        limit: 1000,
    };
    let parts = counts.iter().map(|(b, s, sev, c, by)| {
        let v: &str = if by_service { s } else { sev.as_str() };
        (b, v, c, by)
    });
    let key = if by_service { "service" } else { "severity" };
    let points: Vec<Map<String, Value>> = quarry_agg::sparkline(input, parts)
        .into_iter()
        .map(|p| {
            let mut m = Map::new();
            m.insert("time".into(), format_iso_micros(p.time).into());
            m.insert(key.into(), p.value.into());
            m.insert("count".into(), p.count.into());
            m.insert("bytes_uncompressed".into(), p.bytes.into());
            m
        })
        .collect();
    scanner.stats.rows_matched = counts.rows();
    Ok(SparklineResponse {
        points,
        quarry_stats: q.explain.then(|| finish(scanner, started)),
    })
}

/// The most services `services` returns (PostHog's newest contract).
pub const MAX_SERVICES: usize = 10_000;

/// `POST logs/services` (spec §3.5): per service rows, errors, error rate, severity breakdown and volume share,
/// the top five's share, the number of services, and a per-service sparkline (50 buckets, no zero fill).
pub fn services(
    snapshot: &Snapshot,
    ctx: &Context,
    q: &LogsQuery,
    options: PlanOptions,
) -> Result<ServicesResponse> {
    let started = Instant::now();
    let range = q.time_range(ctx.now)?;
    let interval = quarry_agg::pick_interval(range.len_nanos(), 50);
    let pred = query_predicate(q, range, false);
    let mut scanner = Scanner::new(snapshot, ctx.team, options);
    let counts = bucket_counts(
        &mut scanner,
        &pred,
        interval,
        q.service_name_search.as_deref(),
    )?;
    let overview = quarry_agg::services(
        counts.iter().map(|(_, s, sev, c, _)| (s, sev, c)),
        MAX_SERVICES,
    );
    let returned: BTreeSet<&str> = overview
        .services
        .iter()
        .map(|s| s.service_name.as_str())
        .collect();
    // Each service's label once (the kernel names the empty service), if the service is returned.
    let labels: Vec<Option<&str>> = counts
        .names
        .iter()
        .map(|s| {
            let label = if s.is_empty() {
                quarry_agg::NO_SERVICE
            } else {
                s.as_str()
            };
            returned.contains(label).then_some(label)
        })
        .collect();
    let mut spark: BTreeMap<(i64, &str), u64> = BTreeMap::new();
    for (&(b, id, _), &(c, _)) in &counts.cells {
        if let Some(label) = labels[id as usize] {
            *spark.entry((b, label)).or_default() += c;
        }
    }
    let sparkline = spark
        .into_iter()
        .filter(|(_, c)| *c > 0)
        .take(10_000)
        .map(|((t, service_name), count)| ServiceSparkPoint {
            time: format_iso_micros(t),
            service_name: service_name.to_owned(),
            count,
        })
        .collect();
    scanner.stats.rows_matched = counts.rows();
    Ok(ServicesResponse {
        services: overview
            .services
            .into_iter()
            .map(|s| ServiceItem {
                service_name: s.service_name,
                log_count: s.log_count,
                error_count: s.error_count,
                error_rate: s.error_rate,
                severity_breakdown: SeverityBreakdown {
                    debug: s.severity_breakdown.debug,
                    info: s.severity_breakdown.info,
                    warn: s.severity_breakdown.warn,
                    error: s.severity_breakdown.error,
                },
                volume_share_pct: s.volume_share_pct,
                active_rules: Vec::new(),
            })
            .collect(),
        sparkline,
        summary: ServicesSummary {
            top_services_count: overview.summary.top_services_count,
            top_services_volume_share_pct: overview.summary.top_services_volume_share_pct,
        },
        total_services: overview.total_services,
        quarry_stats: q.explain.then(|| finish(scanner, started)),
    })
}
