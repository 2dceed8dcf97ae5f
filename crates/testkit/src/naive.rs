//! A naive row-at-a-time store: the oracle that indexed and rolled-up answers are compared with.

use quarry_core::{LogRecord, TeamId};

/// Every row, in insertion order, with its team. Answers by scanning everything, every time.
#[derive(Debug, Default, Clone)]
pub struct NaiveStore {
    rows: Vec<(TeamId, LogRecord)>,
}

impl NaiveStore {
    /// An empty store.
    pub fn new() -> Self {
        NaiveStore::default()
    }

    /// Adds rows of `team`.
    pub fn insert(&mut self, team: TeamId, records: impl IntoIterator<Item = LogRecord>) {
        self.rows.extend(records.into_iter().map(|r| (team, r)));
    }

    /// Rows of `team` in insertion order.
    pub fn rows(&self, team: TeamId) -> impl Iterator<Item = &LogRecord> {
        self.rows
            .iter()
            .filter(move |(t, _)| *t == team)
            .map(|(_, r)| r)
    }

    /// Rows of `team` matching `pred`.
    pub fn filter(&self, team: TeamId, pred: impl Fn(&LogRecord) -> bool) -> Vec<&LogRecord> {
        self.rows(team).filter(|r| pred(r)).collect()
    }

    /// Rows of `team` with `from <= timestamp < to`, sorted by (timestamp, uuid) descending: the order of
    /// PostHog's default `latest` listing.
    pub fn latest(&self, team: TeamId, from: i64, to: i64) -> Vec<&LogRecord> {
        let mut out = self.filter(team, |r| r.timestamp >= from && r.timestamp < to);
        out.sort_by_key(|r| std::cmp::Reverse((r.timestamp, r.uuid)));
        out
    }

    /// Number of rows of `team`.
    pub fn len(&self, team: TeamId) -> usize {
        self.rows(team).count()
    }

    /// Whether the store has no rows at all.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}
