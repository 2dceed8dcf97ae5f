//! A shared dataset: generated rows of two teams, partly in Parquet files (two overlapping flushes), partly in
//! the memtable, with many equal timestamps.

use std::sync::{Arc, OnceLock};

use quarry_core::{IngestOptions, LogRecord, ManualClock, Stamper, TeamId};
use quarry_storage::{Snapshot, Storage, StorageOptions};
use quarry_testkit::{Generator, GeneratorConfig};

/// 2026-11-01T00:00:00Z, the generator's default start.
pub(crate) const START: i64 = 1_793_491_200 * 1_000_000_000;
/// The data spans three hours.
pub(crate) const SPAN: i64 = 3 * 3_600 * 1_000_000_000;

pub(crate) struct Dataset {
    _dir: tempfile::TempDir,
    pub(crate) storage: Storage,
    /// Team 1's rows (the oracle's input).
    pub(crate) rows: Vec<LogRecord>,
    /// Team 2's rows: other records, in the same hours.
    pub(crate) team2: Vec<LogRecord>,
}

/// Team 3 holds exact copies of team 1's rows (same ids, bodies and timestamps, written in other files): a leak
/// between the two shows up as doubled counts or repeated rows.
pub(crate) const TWIN: TeamId = TeamId(3);

pub(crate) fn stamp(logs: Vec<quarry_core::DecodedLog>, seed: u64) -> Vec<LogRecord> {
    let mut stamper = Stamper::new(seed, IngestOptions::default());
    logs.into_iter()
        .enumerate()
        // Distinct observation times, so that live-tail checkpoints select something.
        .map(|(i, l)| stamper.stamp(l, START + SPAN + i as i64 * 1_000_000))
        .collect()
}

/// `rows` generated logs of `seed` (the generator's default day), for a test to place in time.
pub(crate) fn generated_logs(seed: u64, rows: u64) -> Vec<quarry_core::DecodedLog> {
    Generator::new(GeneratorConfig {
        seed,
        rows,
        ..GeneratorConfig::default()
    })
    .collect()
}

/// A storage in `dir` with row groups of `row_group_rows`, its clock at [`START`].
pub(crate) fn open_storage(dir: &std::path::Path, row_group_rows: usize) -> Storage {
    let options = StorageOptions {
        row_group_rows,
        ..StorageOptions::default()
    };
    Storage::open(dir, options, Arc::new(ManualClock::new(START))).expect("opens")
}

fn generate(seed: u64, rows: u64) -> Vec<LogRecord> {
    let mut logs: Vec<_> = Generator::new(GeneratorConfig {
        seed,
        rows,
        span: SPAN,
        ..GeneratorConfig::default()
    })
    .collect();
    // Every third row on a whole second: thousands of equal timestamps for the cursor and tie-breaking.
    for (i, l) in logs.iter_mut().enumerate() {
        if i % 3 == 0
            && let Some(ts) = l.timestamp.as_mut()
        {
            *ts -= ts.rem_euclid(1_000_000_000);
        }
        // A date-valued attribute on every fourth row (some on equal instants), so that the is_date_* operators
        // select and reject rows.
        if i % 4 == 0 {
            let at = START + ((i as i64 * 7_919) % 97) * 111_000_000_000;
            l.attributes
                .insert("deployed_at", &quarry_core::time::format_iso(at));
        }
    }
    stamp(logs, seed)
}

/// The shared dataset (seed 11 for team 1, 12 for team 2).
pub(crate) fn dataset() -> &'static Dataset {
    datasets(0)
}

/// One of three datasets of different generator seeds and sizes; `dataset_for(k)` picks dataset `k % 3`, so
/// that a property test draws its records as well as its requests.
pub(crate) fn dataset_for(k: u64) -> &'static Dataset {
    datasets((k % 3) as usize)
}

fn datasets(k: usize) -> &'static Dataset {
    static DATA: [OnceLock<Dataset>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let (seed, rows) = [(11, 4_000), (21, 2_500), (31, 5_000)][k];
    DATA[k].get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = StorageOptions {
            row_group_rows: 400,
            ..StorageOptions::default()
        };
        let storage = Storage::open(
            dir.path(),
            options,
            Arc::new(ManualClock::new(START + SPAN)),
        )
        .expect("opens");
        let rows = generate(seed, rows);
        let other = generate(seed + 1, 1_500);
        // Rows go to three groups at random: two flushes (overlapping files in the same hours) and the memtable.
        let mut groups: [Vec<LogRecord>; 3] = Default::default();
        for (i, r) in rows.iter().enumerate() {
            groups[(i * 7 + i / 5) % 3].push(r.clone());
        }
        let [a, b, c] = groups;
        storage.append(TeamId(1), a.clone()).expect("append");
        storage
            .append(TeamId(2), other[..1000].to_vec())
            .expect("append");
        storage.append(TWIN, b.clone()).expect("append");
        storage.flush().expect("flush");
        storage.append(TeamId(1), b).expect("append");
        storage.append(TWIN, c.clone()).expect("append");
        storage.flush().expect("flush");
        storage.append(TeamId(1), c).expect("append");
        storage
            .append(TeamId(2), other[1000..].to_vec())
            .expect("append");
        storage.append(TWIN, a).expect("append");
        Dataset {
            _dir: dir,
            storage,
            rows,
            team2: other,
        }
    })
}

impl Dataset {
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.storage.snapshot()
    }

    /// The rows a team holds (teams 1, 2 and [`TWIN`]; none for any other).
    pub(crate) fn rows_of(&self, team: TeamId) -> &[LogRecord] {
        match team.0 {
            1 | 3 => &self.rows,
            2 => &self.team2,
            _ => &[],
        }
    }
}

/// SplitMix64, for building random requests from a proptest seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}
