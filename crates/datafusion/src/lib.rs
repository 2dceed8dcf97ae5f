//! quarry-datafusion: one team's logs in a quarry [`Snapshot`] as an Apache DataFusion table.
//!
//! **Inputs**: a storage [`Snapshot`] and a [`TeamId`]. **Outputs**: a [`TableProvider`] ([`LogsTable`]) whose
//! schema is quarry's log schema ([`quarry_core::schema::log_schema`]), for SQL engines built on DataFusion and
//! for distributed execution (Ballista 55 runs DataFusion 55 plans). **Main type**: [`LogsTable`].
//!
//! The quarry endpoints do not go through this crate (see `ARCHITECTURE.md`: they use a purpose-built scan); this
//! is the bridge for ad-hoc SQL and dataframe work over the same data, with the same pruning:
//!
//! * **Time**: conjuncts `timestamp {>, >=, <, <=, =, BETWEEN} <timestamp literal>` narrow the range; only the
//!   team's files whose catalog bounds overlap it are scanned, and memtable rows outside it are not copied.
//! * **Service and severity**: conjuncts `service_name = 'x'` / `IN (...)` and `severity_text = 'x'` / `IN (...)`
//!   select rows through each file's sidecar bitmaps, handed to DataFusion's Parquet reader as a file-level
//!   `RowSelection` (a [`ParquetRowSelection`] extension, which DataFusion's Parquet opener splits into the file's
//!   `ParquetAccessPlan`: row groups without a selected row are skipped, the others read only the selected rows);
//!   files without a selected row are not opened.
//! * **Limit**: a limit DataFusion pushes into a scan without filters stops each input after that many rows.
//! * **Damage**: each file is checked against the catalog's checksum before DataFusion reads it.
//!
//! Every filter is reported as [`TableProviderFilterPushDown::Inexact`]: the pruning only removes rows that cannot
//! match, and DataFusion applies the filters to what remains, so an expression this crate does not understand is
//! still evaluated exactly. A sidecar that cannot be read makes its file scan in full.

#![warn(missing_docs)]

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::object_store::ObjectStoreUrl;
use datafusion::datasource::physical_plan::parquet::ParquetRowSelection;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{
    BinaryExpr, Expr, Operator, TableProviderFilterPushDown, TableType,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::union::UnionExec;
use parquet::arrow::arrow_reader::{RowSelection, RowSelector};
use quarry_core::schema::columns;
use quarry_core::{Severity, TeamId, TimeRange};
use quarry_index::RoaringBitmap;
use quarry_storage::{DataFile, Snapshot};

/// One team's rows of a snapshot (Parquet files and memtable) as a DataFusion table.
#[derive(Debug, Clone)]
pub struct LogsTable {
    snapshot: Snapshot,
    team: TeamId,
    use_index: bool,
}

impl LogsTable {
    /// The table of `team` in `snapshot`.
    pub fn new(snapshot: Snapshot, team: TeamId) -> LogsTable {
        LogsTable {
            snapshot,
            team,
            use_index: true,
        }
    }

    /// Turns the sidecar bitmaps off (time pruning stays): for tests that compare both ways.
    pub fn without_index(mut self) -> LogsTable {
        self.use_index = false;
        self
    }
}

/// What the filters tell about which rows can match.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pruning {
    range: TimeRange,
    services: Option<BTreeSet<String>>,
    severities: Option<BTreeSet<Severity>>,
}

fn column_name(e: &Expr) -> Option<&str> {
    match e {
        Expr::Column(c) => Some(c.name.as_str()),
        Expr::Cast(c) => column_name(&c.expr),
        _ => None,
    }
}

fn timestamp_literal(e: &Expr) -> Option<i64> {
    match e {
        Expr::Literal(ScalarValue::TimestampNanosecond(Some(v), _), _) => Some(*v),
        Expr::Literal(ScalarValue::TimestampMicrosecond(Some(v), _), _) => v.checked_mul(1_000),
        Expr::Literal(ScalarValue::TimestampMillisecond(Some(v), _), _) => v.checked_mul(1_000_000),
        Expr::Literal(ScalarValue::TimestampSecond(Some(v), _), _) => v.checked_mul(1_000_000_000),
        _ => None,
    }
}

fn string_literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Literal(
            ScalarValue::Utf8(Some(s))
            | ScalarValue::LargeUtf8(Some(s))
            | ScalarValue::Utf8View(Some(s)),
            _,
        ) => Some(s.as_str()),
        _ => None,
    }
}

fn intersect<T: Ord + Clone>(slot: &mut Option<BTreeSet<T>>, values: BTreeSet<T>) {
    *slot = Some(match slot.take() {
        None => values,
        Some(prev) => prev.intersection(&values).cloned().collect(),
    });
}

impl Pruning {
    fn from_filters(filters: &[Expr]) -> Pruning {
        let mut p = Pruning {
            range: TimeRange::ALL,
            services: None,
            severities: None,
        };
        for f in filters {
            for c in split_conjunction(f) {
                p.add(c);
            }
        }
        p
    }

    fn add(&mut self, e: &Expr) {
        match e {
            Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                // Normalise to `column op literal`.
                let (col, op, lit) = match (column_name(left), column_name(right)) {
                    (Some(c), None) => (c, *op, right.as_ref()),
                    (None, Some(c)) => match op.swap() {
                        Some(swapped) => (c, swapped, left.as_ref()),
                        None => return,
                    },
                    _ => return,
                };
                if col == columns::TIMESTAMP
                    && let Some(t) = timestamp_literal(lit)
                {
                    let r = &mut self.range;
                    match op {
                        Operator::Gt => r.start = r.start.max(t.saturating_add(1)),
                        Operator::GtEq => r.start = r.start.max(t),
                        Operator::Lt => r.end = r.end.min(t),
                        Operator::LtEq => r.end = r.end.min(t.saturating_add(1)),
                        Operator::Eq => {
                            r.start = r.start.max(t);
                            r.end = r.end.min(t.saturating_add(1));
                        }
                        _ => {}
                    }
                } else if op == Operator::Eq
                    && let Some(s) = string_literal(lit)
                {
                    self.add_values(col, [s]);
                }
            }
            Expr::Between(b) if !b.negated => {
                if column_name(&b.expr) == Some(columns::TIMESTAMP)
                    && let (Some(lo), Some(hi)) =
                        (timestamp_literal(&b.low), timestamp_literal(&b.high))
                {
                    self.range.start = self.range.start.max(lo);
                    self.range.end = self.range.end.min(hi.saturating_add(1));
                }
            }
            Expr::InList(l) if !l.negated => {
                if let Some(col) = column_name(&l.expr) {
                    let values: Option<Vec<&str>> = l.list.iter().map(string_literal).collect();
                    if let Some(values) = values {
                        self.add_values(col, values);
                    }
                }
            }
            _ => {}
        }
    }

    fn add_values<'a>(&mut self, col: &str, values: impl IntoIterator<Item = &'a str>) {
        if col == columns::SERVICE_NAME {
            intersect(
                &mut self.services,
                values.into_iter().map(str::to_owned).collect(),
            );
        } else if col == columns::SEVERITY_TEXT {
            // A text that is no stored severity matches nothing: the empty set says so.
            intersect(
                &mut self.severities,
                values
                    .into_iter()
                    .filter_map(Severity::from_canonical)
                    .collect(),
            );
        }
    }

    /// Candidate rows of a file by its sidecar; `None` = every row (no bitmap filter, or no readable sidecar).
    fn selection(&self, file: &DataFile) -> Option<RoaringBitmap> {
        if self.services.is_none() && self.severities.is_none() {
            return None;
        }
        file.postings()
            .ok()?
            .select(self.services.as_ref(), self.severities.as_ref())
    }
}

/// A `RowSelection` of exactly the rows of `bitmap` out of `total`.
fn row_selection(bitmap: &RoaringBitmap, total: u64) -> RowSelection {
    let mut selectors = Vec::new();
    let mut at = 0u64;
    let mut iter = bitmap.iter().peekable();
    while let Some(start) = iter.next() {
        let start = u64::from(start);
        let mut end = start + 1;
        while iter.peek().is_some_and(|&n| u64::from(n) == end) {
            iter.next();
            end += 1;
        }
        if start > at {
            selectors.push(RowSelector::skip((start - at) as usize));
        }
        selectors.push(RowSelector::select((end - start) as usize));
        at = end;
    }
    if total > at {
        selectors.push(RowSelector::skip((total - at) as usize));
    }
    RowSelection::from(selectors)
}

#[async_trait]
impl TableProvider for LogsTable {
    fn schema(&self) -> SchemaRef {
        quarry_core::schema::log_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let schema = self.schema();
        let pruning = Pruning::from_filters(filters);
        let mut plans: Vec<Arc<dyn ExecutionPlan>> = Vec::new();

        let mut files = Vec::new();
        for f in self.snapshot.team_files(self.team) {
            if !pruning
                .range
                .overlaps_closed(f.meta.min_timestamp, f.meta.max_timestamp)
            {
                continue;
            }
            // As the endpoints do: no page of a file whose bytes fail the catalog's checksum is decoded.
            f.verify()
                .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
            let size = std::fs::metadata(&f.path)
                .map(|m| m.len())
                .unwrap_or(f.meta.bytes);
            let mut pf = PartitionedFile::new(f.path.to_string_lossy().into_owned(), size);
            if self.use_index
                && let Some(sel) = pruning.selection(f)
            {
                if sel.is_empty() {
                    continue;
                }
                pf = pf.with_extension(ParquetRowSelection::new(row_selection(&sel, f.meta.rows)));
            }
            files.push(pf);
        }
        if !files.is_empty() {
            let source = Arc::new(ParquetSource::new(Arc::clone(&schema)));
            let config = FileScanConfigBuilder::new(ObjectStoreUrl::local_filesystem(), source)
                .with_projection_indices(projection.cloned())?
                .with_file_group(FileGroup::new(files))
                // A limit stops the scan only when no filter was handed to it: DataFusion keeps an Inexact filter
                // above the scan (and the limit above that) today, but a filter ever reported Exact would make
                // an early stop cut matching rows.
                .with_limit(filters.is_empty().then_some(limit).flatten())
                .build();
            plans.push(DataSourceExec::from_data_source(config));
        }

        // Memtable rows: copied into one Arrow batch per request (they are at most a few flushes' worth).
        let mem: Vec<&quarry_core::LogRecord> = self
            .snapshot
            .memtable()
            .iter()
            .filter(|b| b.team == self.team)
            .flat_map(|b| b.records.iter())
            .filter(|r| pruning.range.contains(r.timestamp))
            .take(
                filters
                    .is_empty()
                    .then_some(limit)
                    .flatten()
                    .unwrap_or(usize::MAX),
            )
            .collect();
        if !mem.is_empty() {
            let batch = quarry_core::schema::records_to_batch(&mem)?;
            plans.push(MemorySourceConfig::try_new_exec(
                &[vec![batch]],
                Arc::clone(&schema),
                projection.cloned(),
            )?);
        }
        if plans.is_empty() {
            let projected = match projection {
                Some(p) => Arc::new(schema.project(p)?),
                None => schema,
            };
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        UnionExec::try_new(plans)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::logical_expr::{col, lit};

    use super::*;

    fn ts(v: i64) -> Expr {
        lit(ScalarValue::TimestampNanosecond(
            Some(v),
            Some("UTC".into()),
        ))
    }

    #[test]
    fn pruning_reads_conjunctions_and_ignores_the_rest() {
        let f = col("timestamp")
            .gt_eq(ts(100))
            .and(col("timestamp").lt(ts(200)))
            .and(col("service_name").in_list(vec![lit("a"), lit("b")], false))
            .and(col("service_name").eq(lit("b")))
            .and(col("severity_text").eq(lit("error")))
            .and(col("body").like(lit("%x%")));
        let p = Pruning::from_filters(&[f, ts(150).gt(col("timestamp"))]);
        assert_eq!(p.range, TimeRange::new(100, 150));
        assert_eq!(p.services, Some(["b".to_owned()].into()));
        assert_eq!(p.severities, Some([Severity::Error].into()));
        // OR is not a conjunction: nothing is pruned.
        let p = Pruning::from_filters(&[col("service_name")
            .eq(lit("a"))
            .or(col("service_name").eq(lit("b")))]);
        assert_eq!(p.services, None);
        assert_eq!(p.range, TimeRange::ALL);
        // An unknown severity text matches no row.
        let p = Pruning::from_filters(&[col("severity_text").eq(lit("warning"))]);
        assert_eq!(p.severities, Some(BTreeSet::new()));
    }

    #[test]
    fn row_selection_covers_exactly_the_bitmap() {
        let b: RoaringBitmap = [0u32, 1, 2, 7, 9, 10].into_iter().collect();
        let s = row_selection(&b, 12);
        assert_eq!(s.row_count(), 6);
        let selectors: Vec<RowSelector> = s.into();
        assert_eq!(
            selectors,
            vec![
                RowSelector::select(3),
                RowSelector::skip(4),
                RowSelector::select(1),
                RowSelector::skip(1),
                RowSelector::select(2),
                RowSelector::skip(1)
            ]
        );
    }
}
